package wal

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/plinth-storage/plinth/io/memdev"
)

// snapshot copies every mirror's bytes.
func snapshot(opts Options) [][]byte {
	var out [][]byte
	for _, m := range opts.Mirrors {
		out = append(out, bytes.Clone(m.Ring[0].Dev.(*memdev.Device).Bytes()))
	}
	return out
}

// A journal opened read-only replays what Open would, reports a torn tail
// on the mirror that has one, refuses commits, and changes no byte; Open
// afterwards recovers as usual.
func TestOpenReadOnly(t *testing.T) {
	opts := Options{Mirrors: memMirrors(3, 4, 256<<10)}
	w, err := Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := w.Commit(context.Background(), txn(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	// Mirror 1 gets garbage after its last write: a torn tail.
	var tornAt int64
	for _, tl := range mustTails(t, opts) {
		if tl.Mirror == "mirror1" {
			tornAt = opts.Mirrors[1].Ring[tl.Position].Start + tl.Tail.End
		}
	}
	dev1 := opts.Mirrors[1].Ring[0].Dev.(*memdev.Device)
	copy(dev1.Bytes()[tornAt:], bytes.Repeat([]byte{0x5a, 0xa5, 1, 2}, 1024))
	before := snapshot(opts)

	var lsns []LSN
	ro, err := OpenReadOnly(opts, 10, func(l LSN, _ []byte) error { lsns = append(lsns, l); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(lsns) != 40 || lsns[0] != 11 || lsns[39] != 50 {
		t.Fatalf("replayed %v", lsns)
	}
	if _, err := ro.Commit(context.Background(), txn(1)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("commit on a read-only journal: %v", err)
	}
	tails := ro.Tails()
	if len(tails) != 3 {
		t.Fatalf("tails %+v", tails)
	}
	for _, tl := range tails {
		if tl.Err != nil || tl.Tail.NextSeq != 51 || tl.Tail.Torn != (tl.Mirror == "mirror1") {
			t.Fatalf("tail %+v", tl)
		}
	}
	ro.Close()
	after := snapshot(opts)
	for i := range before {
		if !bytes.Equal(before[i], after[i]) {
			t.Fatalf("mirror %d changed", i)
		}
	}
	w, lsns2, _ := replayAll(t, opts, 10)
	defer w.Close()
	if len(lsns2) != 40 {
		t.Fatalf("open after the read-only open replayed %d", len(lsns2))
	}
}

// mustTails opens the journal read-only to find its tails.
func mustTails(t *testing.T, opts Options) []MirrorTail {
	t.Helper()
	ro, err := OpenReadOnly(opts, 0, func(LSN, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	return ro.Tails()
}
