package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// stoppedNode is a node that is not running, opened by a command (fsstat,
// replace-drive): its drives, metadata store and pools, the pools doing no
// background work.
type stoppedNode struct {
	node  *appliance.Node
	meta  *store.Store
	pools []*pool.Pool
}

// defaultDrives lists the embedded default's drive files in dataDir, all
// but except (a file a command is about to make).
func defaultDrives(dataDir, except string) ([]string, error) {
	dir := filepath.Join(dataDir, "drives")
	matches, err := filepath.Glob(filepath.Join(dir, "*.zdev"))
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, m := range matches {
		if m != except {
			paths = append(paths, m)
		}
	}
	if len(paths) == 0 {
		if _, err := os.Stat(dataDir); err != nil {
			return nil, fmt.Errorf("no node in %s: %w (start one with 'plinth serve')", dataDir, err)
		}
		return nil, fmt.Errorf("no drives in %s (name the node's drives, or --data)", dir)
	}
	return paths, nil
}

// openStopped opens the node on paths with its metadata store and pools;
// warnings go to stderr. On error everything it opened is closed again.
func openStopped(paths []string, stderr io.Writer) (*stoppedNode, error) {
	node, err := appliance.OpenNode(paths)
	if err != nil {
		return nil, err
	}
	meta, err := node.OpenStore(store.Options{ManualResilver: true})
	if err != nil {
		node.Close()
		return nil, err
	}
	pools, err := node.OpenPools(context.Background(), meta, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}},
		func(w string) { fmt.Fprintln(stderr, w) })
	if err != nil {
		meta.Close()
		node.Close()
		return nil, err
	}
	return &stoppedNode{node: node, meta: meta, pools: pools}, nil
}

// close closes the pools, then the store (its final checkpoint), then
// the drives.
func (o *stoppedNode) close() error {
	var errs []error
	for _, p := range o.pools {
		errs = append(errs, p.Close())
	}
	errs = append(errs, o.meta.Close(), o.node.Close())
	return errors.Join(errs...)
}
