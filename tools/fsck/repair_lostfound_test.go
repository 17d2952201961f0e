package fsck

import (
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
)

// Entries go into the lost+found tree and read back; one whose owner
// escapes to more than a B-tree value holds keeps its owner, bucket and
// key in the tree's key only, and reads back whole all the same; clearing
// drops the tree.
func TestLostFoundRoundTrip(t *testing.T) {
	st, err := store.OpenDir(t.TempDir(), store.DirOptions{Size: 64 << 20, SegmentSize: 1 << 20, Options: store.Options{CheckpointInterval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, err := readLostFound(st); err != nil || got != nil {
		t.Fatalf("no tree: %v %v", got, err)
	}
	when := time.Unix(1700000000, 0).UTC()
	big := newLostEntry("default", []byte("o/photos/"+strings.Repeat("\x01", 900)), 7, 123, strings.Repeat("why ", 500), when)
	small := newLostEntry("default", []byte("o/photos/cat.jpg"), 8, 456, "gone", when)
	other := newLostEntry("default", []byte("kv-thing"), 9, 1, "gone", when)
	if big.Bucket != "photos" || len(big.Key) != 900 || len(big.Why) > maxWhy+len("…") || other.Bucket != "" {
		t.Fatalf("entries %+v %+v", big, other)
	}
	if err := ensureLostFound(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := ensureLostFound(ctx, st); err != nil {
		t.Fatal(err)
	}
	b := store.NewBatch()
	for _, e := range []LostEntry{big, small, other} {
		if err := putLost(b, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := readLostFound(st)
	if err != nil || len(got) != 3 {
		t.Fatalf("read %+v %v", got, err)
	}
	byOwner := map[string]LostEntry{}
	for _, e := range got {
		byOwner[e.Owner] = e
	}
	if e := byOwner[big.Owner]; e.Bucket != big.Bucket || e.Key != big.Key || e.Version != 7 || e.Size != 123 || !e.Lost.Equal(when) || e.Why == "" {
		t.Fatalf("the large entry read back as %+v", e)
	}
	if e := byOwner[small.Owner]; e != small {
		t.Fatalf("read back %+v, want %+v", e, small)
	}
	if n, err := clearLostFound(ctx, st); err != nil || n != 3 || hasLostFound(st) {
		t.Fatalf("clear: %d %v", n, err)
	}
}
