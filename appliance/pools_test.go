package appliance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/stripe"
)

func TestDefaultLayout(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
		warn bool
	}{{84, "4+2", false}, {6, "4+2", false}, {5, "2+2", false}, {4, "2+2", false}, {3, "1+2", false}, {2, "1+0", true}, {1, "1+0", true}} {
		l, w, err := DefaultLayout(c.n)
		if err != nil || l.String() != c.want+" unit 128KiB" && !strings.HasPrefix(l.String(), c.want) || (w != "") != c.warn {
			t.Fatalf("%d drives: %v %q %v", c.n, l, w, err)
		}
	}
	if _, _, err := DefaultLayout(0); err == nil {
		t.Fatal("no drives")
	}
}

// The node's pool is created on first open, keeps its layout, and what is
// written through it survives a restart.
func TestNodePool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := smallZoned()
	cfg.NrZones = 24
	paths, _, err := EnsureDefault(dir, DefaultOptions{Drives: 4, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	open := func() (*Node, *store.Store, *pool.Pool) {
		n, err := OpenNode(paths)
		if err != nil {
			t.Fatal(err)
		}
		st, err := n.OpenStore(store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ps, err := n.OpenPools(ctx, st, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}, func(w string) { t.Errorf("warning %q", w) })
		if err != nil {
			t.Fatal(err)
		}
		return n, st, ps[0]
	}
	n, st, p := open()
	if l := p.Layout(); l.N != 2 || l.K != 2 {
		t.Fatalf("layout %v for 4 drives", l)
	}
	data := bytes.Repeat([]byte("plinth"), 100000)
	if _, err := p.Put(ctx, []byte("b/k"), 1, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	fs := FSStat([]*pool.Pool{p})
	if fs.Total.UsedBytes < int64(len(data)) || len(fs.Pools) != 1 {
		t.Fatalf("fsstat %+v", fs)
	}
	p.Close()
	st.Close()
	n.Close()
	n, st, p = open()
	defer func() { p.Close(); st.Close(); n.Close() }()
	got := make([]byte, len(data)+1)
	k, _, err := p.ReadAt(ctx, []byte("b/k"), got, 0)
	if err != io.EOF || !bytes.Equal(got[:k], data) {
		t.Fatalf("after restart: %d bytes, %v", k, err)
	}
	if err := p.Check(ctx, pool.CheckOptions{Deep: true}); err != nil {
		t.Fatal(err)
	}
}

// Pools of a subset of the drives: created from specs, recorded, reopened
// without specs; overlapping drives, changed layouts and bad names are
// refused with errors that say so.
func TestPoolSpecs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := smallZoned()
	cfg.NrZones = 24
	paths, _, err := EnsureDefault(dir, DefaultOptions{Drives: 6, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n, err := OpenNode(paths)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	st, err := n.OpenStore(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	popts := pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}
	var warnings []string
	warn := func(w string) { warnings = append(warnings, w) }
	for _, c := range []struct {
		specs []PoolSpec
		want  string
	}{
		{[]PoolSpec{{Name: "a", Drives: []int{0, 1, 2}}, {Name: "b", Drives: []int{2, 3, 4}}}, "drive 2 would be in pools"},
		{[]PoolSpec{{Name: "a", Drives: []int{0, 1, 9}}}, "positions 0 to 5"},
		{[]PoolSpec{{Name: "a", Drives: []int{0, 0, 1}}}, "listed twice"},
		{[]PoolSpec{{Name: "Bad"}}, "pool name"},
		{[]PoolSpec{{Name: "a", Drives: []int{0, 1}, Layout: stripe.Layout{N: 2, K: 1}}}, "needs 3 drives"},
		{[]PoolSpec{{Name: "a"}, {Name: "a"}}, "configured twice"},
		{[]PoolSpec{{Name: "a", Drives: []int{0, 1, 2}}, {Name: "b"}}, "would be in pools"},
	} {
		if _, err := n.OpenPoolSpecs(ctx, st, c.specs, popts, warn); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.specs, err, c.want)
		}
	}
	specs := []PoolSpec{{Name: "fast", Drives: []int{0, 1, 2}}, {Name: "bulk", Drives: []int{3, 4, 5}, Layout: stripe.Layout{N: 2, K: 1, Unit: 64 << 10}}}
	ps, err := n.OpenPoolSpecs(ctx, st, specs, popts, warn)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Name() != "bulk" || ps[0].Layout().N != 2 || ps[0].Layout().Unit != 64<<10 || ps[1].Name() != "fast" || ps[1].Layout().N != 1 || ps[1].Layout().K != 2 {
		t.Fatalf("pools %v %v", ps[0].Layout(), ps[1].Layout())
	}
	for i, p := range ps {
		if _, err := p.Put(ctx, []byte("k"), 1, bytes.NewReader([]byte{byte(i)})); err != nil {
			t.Fatal(err)
		}
		if got := len(p.Allocator().Drives()); got != 3 {
			t.Fatalf("pool %s has %d drives", p.Name(), got)
		}
		p.Close()
	}
	// Reopened from the records alone; a spec that contradicts them fails.
	ps, err = n.OpenPools(ctx, st, popts, warn)
	if err != nil || len(ps) != 2 {
		t.Fatalf("reopen: %d pools, %v", len(ps), err)
	}
	for _, p := range ps {
		if err := p.Check(ctx, pool.CheckOptions{Deep: true}); err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	for _, bad := range [][]PoolSpec{
		{{Name: "fast", Drives: []int{0, 1}}},
		{{Name: "bulk", Layout: stripe.Layout{N: 1, K: 2}}},
		{{Name: "bulk", Layout: stripe.Layout{N: 2, K: 1, Unit: 4096}}},
	} {
		if _, err := n.OpenPoolSpecs(ctx, st, bad, popts, warn); err == nil || !strings.Contains(err.Error(), "does not change") && !strings.Contains(err.Error(), "created with") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	warnings = nil
	ps, err = n.OpenPoolSpecs(ctx, st, specs[:1], popts, warn)
	if err != nil || len(ps) != 2 || len(warnings) != 1 || !strings.Contains(warnings[0], `"bulk" exists`) {
		t.Fatalf("a recorded pool left out of the specs: %d pools, %v, warnings %q", len(ps), err, warnings)
	}
	for _, p := range ps {
		p.Close()
	}
}

func TestPoolRecordCodec(t *testing.T) {
	for _, r := range []poolRecord{
		{layout: stripe.Layout{N: 4, K: 2, Unit: 1 << 17}},
		{layout: stripe.Layout{N: 1, K: 2, Unit: 1 << 16}, drives: []int{0, 3, 7}},
	} {
		got, err := decodePoolRecord(encodePoolRecord(r))
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("%+v: %+v, %v", r, got, err)
		}
	}
	good := encodePoolRecord(poolRecord{layout: stripe.Layout{N: 1, K: 2, Unit: 1 << 16}, drives: []int{1, 2}})
	for i, b := range [][]byte{nil, good[:9], good[:len(good)-1], append(bytes.Clone(good), 0),
		encodePoolRecord(poolRecord{layout: stripe.Layout{N: 1, K: 2, Unit: 1 << 16}, drives: []int{2, 1}})} {
		if _, err := decodePoolRecord(b); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("bad record %d: %v", i, err)
		}
	}
}
