package appliance

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
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
