package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
)

// ClockTree holds the hybrid clock's persisted ceiling: key "ceiling",
// value 8 bytes big endian (an hlc.Timestamp).
const ClockTree = "node/clock"

var ceilingKey = ClockKey

// ClockKey is the key of the clock's ceiling in ClockTree (the index
// rebuild carries the ceiling over).
var ClockKey = []byte("ceiling")

// openClock opens the node's hybrid logical clock above the ceiling the
// last run persisted, persisting new ceilings in the metadata store.
func openClock(ctx context.Context, st *store.Store) (*hlc.Clock, error) {
	if err := st.CreateTree(ctx, ClockTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("clock: %w", err)
	}
	v, ok, err := st.Get(ClockTree, ceilingKey)
	if err != nil {
		return nil, fmt.Errorf("clock: %w", err)
	}
	var floor hlc.Timestamp
	if ok {
		if len(v) != 8 {
			return nil, fmt.Errorf("clock: %w: ceiling of %d bytes", store.ErrCorrupt, len(v))
		}
		floor = hlc.Timestamp(binary.BigEndian.Uint64(v))
	}
	return hlc.New(floor, hlc.Options{Persist: func(c hlc.Timestamp) error {
		b := store.NewBatch()
		b.Put(ClockTree, ceilingKey, binary.BigEndian.AppendUint64(nil, uint64(c)))
		_, err := st.Commit(context.Background(), b)
		return err
	}}), nil
}
