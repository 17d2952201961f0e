package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// openedNode is a node with its metadata store and pools open, as serve
// and fsstat use it.
type openedNode struct {
	node  *appliance.Node
	meta  *store.Store
	pools []*pool.Pool
}

// openPools opens the metadata store and the pools of an open node;
// warnings go to stderr. On error everything it opened is closed again.
func openPools(node *appliance.Node, so store.Options, po pool.Options, stderr io.Writer) (*openedNode, error) {
	meta, err := node.OpenStore(so)
	if err != nil {
		return nil, err
	}
	pools, err := node.OpenPools(context.Background(), meta, po, func(w string) { fmt.Fprintln(stderr, w) })
	if err != nil {
		meta.Close()
		return nil, err
	}
	return &openedNode{node: node, meta: meta, pools: pools}, nil
}

// close closes the pools, then the store (its final checkpoint).
func (o *openedNode) close() error {
	var errs []error
	for _, p := range o.pools {
		errs = append(errs, p.Close())
	}
	errs = append(errs, o.meta.Close())
	return errors.Join(errs...)
}
