package faultdev

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// undoLog models the drive's volatile write cache: the pre-image of every
// range written or discarded since the last completed Flush, oldest first.
// The inner device always holds the newest data; rolling the log back turns
// it into what the media would hold had the cache been lost.
type undoLog struct {
	entries []undoEntry
}

type undoEntry struct {
	off int64
	pre []byte // the range's contents before the write, block-aligned
}

func (u *undoLog) record(off int64, pre []byte) {
	u.entries = append(u.entries, undoEntry{off: off, pre: pre})
}

// reset forgets the log: everything written so far is durable.
func (u *undoLog) reset() { u.entries = nil }

// flipBit applies the bit flip mask at byte off to every pre-image holding
// that byte, so a flip at rest survives whatever version of the byte a
// power cut leaves.
func (u *undoLog) flipBit(off int64, mask byte) {
	for _, e := range u.entries {
		if off >= e.off && off-e.off < int64(len(e.pre)) {
			e.pre[off-e.off] ^= mask
		}
	}
}

// rollback writes pre-images back to inner, newest first. With keep nil
// every block is restored; otherwise keep is asked once per logical block of
// each entry whether that block keeps its newer contents. Restoring newest
// first leaves every block holding one of the versions it had since the
// last Flush. rollback restores all it can and reports every failure.
func (u *undoLog) rollback(inner dev.Device, g dev.Geometry, keep func() bool) error {
	lbs := g.LogicalBlockSize
	var errs []error
	for k := len(u.entries) - 1; k >= 0; k-- {
		e := u.entries[k]
		nb := len(e.pre) / lbs
		var restore []bool // nil: every block
		if keep != nil {
			restore = make([]bool, nb)
			for i := range restore {
				restore[i] = !keep()
			}
		}
		_ = runs(restore, nb, func(i, j int) error {
			at := e.off + int64(i*lbs)
			if _, err := inner.WriteAt(aligned(e.pre[i*lbs:j*lbs], g.MemAlign), at); err != nil {
				errs = append(errs, fmt.Errorf("restoring [%d, +%d): %w", at, (j-i)*lbs, err))
			}
			return nil
		})
	}
	return errors.Join(errs...)
}
