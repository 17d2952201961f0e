package appliance

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/plinth-storage/plinth/btree/store"
)

// A formatted node carries its metadata store on the first three drives
// (emulated SMR zones): trees made there survive closing and reopening
// the node.
func TestNodeMetadataStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := smallZoned()
	cfg.NrZones = 16
	paths, _, err := EnsureDefault(dir, DefaultOptions{Drives: 4, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	n, err := OpenNode(paths)
	if err != nil {
		t.Fatal(err)
	}
	holders := 0
	for _, d := range n.Drives {
		if d.Label.Label().Meta.Holds() {
			holders++
		}
	}
	if holders != MetadataMirrors {
		t.Fatalf("%d drives hold metadata, want %d", holders, MetadataMirrors)
	}
	s, err := n.OpenStore(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.CreateTree(ctx, "objects", ""); err != nil {
		t.Fatal(err)
	}
	b := store.NewBatch()
	b.Put("objects", []byte("bucket/key"), []byte("extent"))
	if _, err := s.Commit(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	n.Close()

	n, err = OpenNode(paths)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	s, err = n.OpenStore(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, ok, err := s.Get("objects", []byte("bucket/key")); err != nil || !ok || string(v) != "extent" {
		t.Fatalf("after reopening the node: %q %v %v", v, ok, err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestMetadataLayout(t *testing.T) {
	for _, c := range []struct {
		n          uint32
		ring, segs uint32
		fail       bool
	}{
		{n: 4, fail: true},
		{n: 6, ring: 2, segs: 2},
		{n: 31, ring: 2, segs: 7},
		{n: 62, ring: 4, segs: 8},
		{n: 64, ring: 4, segs: 8},
		{n: 1000, ring: 4, segs: 31},
		{n: 150000, ring: 4, segs: 1024},
	} {
		m, err := MetadataLayout(c.n)
		if c.fail != (err != nil) || !c.fail && (m.RingCount != c.ring || m.SegCount != c.segs || m.SegFirst != m.RingCount) {
			t.Errorf("%d segments: %+v %v", c.n, m, err)
		}
	}
}
