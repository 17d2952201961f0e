package pool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
)

// TestAttrs: attributes computed at the end of a stream are committed with
// the bytes, come back from Stat, ReadAt and List, go with an overwrite
// that gives none, and are bounded.
func TestAttrs(t *testing.T) {
	r := newRig(t, rigConfig{})
	body := payload("a", 1, 3*int(r.p.sb)+5)
	var sawSize int64 = -1
	info, err := r.p.PutWith(ctx, []byte("a"), 1, bytes.NewReader(body), PutOptions{Attrs: func(size int64) ([]byte, error) {
		sawSize = size
		return []byte(fmt.Sprintf("size=%d", size)), nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("size=%d", len(body))
	if sawSize != int64(len(body)) || string(info.Attrs) != want {
		t.Fatalf("attrs saw size %d, put returned %q", sawSize, info.Attrs)
	}
	st, err := r.p.Stat([]byte("a"))
	if err != nil || string(st.Attrs) != want {
		t.Fatalf("stat: %q, %v", st.Attrs, err)
	}
	_, ri, err := r.p.ReadAt(ctx, []byte("a"), make([]byte, 10), 0)
	if err != nil || string(ri.Attrs) != want || ri.Version != 1 {
		t.Fatalf("read: %+v, %v", ri, err)
	}
	r.check()
	r.reopen()
	if st, err := r.p.Stat([]byte("a")); err != nil || string(st.Attrs) != want {
		t.Fatalf("stat after reopen: %q, %v", st.Attrs, err)
	}
	// An error from Attrs abandons the write: nothing changes.
	boom := errors.New("boom")
	if _, err := r.p.PutWith(ctx, []byte("a"), 2, bytes.NewReader([]byte("x")), PutOptions{Attrs: func(int64) ([]byte, error) { return nil, boom }}); !errors.Is(err, boom) {
		t.Fatalf("attrs error: %v", err)
	}
	if _, err := r.p.PutWith(ctx, []byte("a"), 2, bytes.NewReader([]byte("x")), PutOptions{Attrs: func(int64) ([]byte, error) { return make([]byte, MaxAttrs+1), nil }}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("too many attrs: %v", err)
	}
	r.mustGet("a", 1, body)
	// An overwrite without attributes has none.
	r.put("a", 3, []byte("plain"))
	if st, err := r.p.Stat([]byte("a")); err != nil || st.Attrs != nil {
		t.Fatalf("attrs after a plain overwrite: %q, %v", st.Attrs, err)
	}
	r.check()
}

// TestHeadFormat: version 2 heads round-trip; damaged ones are refused.
func TestHeadFormat(t *testing.T) {
	h := head{state: stateData, version: 7, size: 9, attrs: []byte("ct=text/plain")}
	b := encodeHead(h)
	if b[0] != 2 || len(b) != headLen+2+len(h.attrs) {
		t.Fatalf("encoded %x", b)
	}
	back, err := decodeHead(b)
	if err != nil || back.version != 7 || back.size != 9 || !bytes.Equal(back.attrs, h.attrs) {
		t.Fatalf("decoded %+v, %v", back, err)
	}
	if b1 := encodeHead(head{state: stateData, version: 1}); b1[0] != 1 || len(b1) != headLen {
		t.Fatalf("a head without attributes is not version 1: %x", b1)
	}
	bad := [][]byte{
		b[:len(b)-1],                           // attributes cut short
		append(bytes.Clone(b), 0),              // trailing byte
		append(bytes.Clone(b[:headLen]), 0),    // version 2 without a length
		append(bytes.Clone(b[:headLen]), 0, 0), // zero attributes
		encodeHead(head{state: stateTombstone, version: 3, attrs: []byte("x")}), // tombstone with attributes
	}
	for i, x := range bad {
		if _, err := decodeHead(x); !errors.Is(err, ErrCorrupt) {
			t.Errorf("bad head %d (%x) decoded: %v", i, x, err)
		}
	}
}

// FuzzHead: no input makes the head decoder panic, and what it accepts
// encodes back to the same bytes.
func FuzzHead(f *testing.F) {
	f.Add(encodeHead(head{state: stateData, version: 1, size: 5}))
	f.Add(encodeHead(head{state: stateData, version: 1, size: 5, attrs: []byte("abc")}))
	f.Add(encodeHead(head{state: stateTombstone, version: 4, tomb: loc{set: 1, off: 4096, len: 60}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHead(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeHead(h), b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, h, encodeHead(h))
		}
	})
}

// TestList: owners come in order from the later of prefix and start,
// deleted ones skipped, and the caller can stop.
func TestList(t *testing.T) {
	r := newRig(t, rigConfig{})
	for _, o := range []string{"b/1", "b/2", "b/3", "b/4", "c/1", "a/9"} {
		r.put(o, 1, []byte(o))
	}
	if err := r.p.Delete(ctx, []byte("b/2"), 2); err != nil {
		t.Fatal(err)
	}
	list := func(prefix, from string, max int) []string {
		var got []string
		err := r.p.List(ctx, []byte(prefix), []byte(from), func(e Entry) (bool, error) {
			if e.Size != int64(len(e.Owner)) || e.Version != 1 {
				t.Fatalf("entry %+v", e)
			}
			got = append(got, string(e.Owner))
			return len(got) < max, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, c := range []struct {
		prefix, from string
		max          int
		want         string
	}{
		{"b/", "", 10, "[b/1 b/3 b/4]"},
		{"b/", "b/3", 10, "[b/3 b/4]"},
		{"b/", "a", 10, "[b/1 b/3 b/4]"},
		{"b/", "b/1", 2, "[b/1 b/3]"},
		{"", "", 100, "[a/9 b/1 b/3 b/4 c/1]"},
		{"d/", "", 10, "[]"},
	} {
		if got := fmt.Sprint(list(c.prefix, c.from, c.max)); got != c.want {
			t.Errorf("list %q from %q max %d: %s, want %s", c.prefix, c.from, c.max, got, c.want)
		}
	}
	stop := errors.New("stop")
	if err := r.p.List(ctx, nil, nil, func(Entry) (bool, error) { return true, stop }); !errors.Is(err, stop) {
		t.Fatalf("fn's error: %v", err)
	}
}

// TestCollectTombstones: tombstones below the horizon go (pending ones
// too), newer ones stay, the live bytes follow, and an older write is then
// accepted, which is what the horizon trades away.
func TestCollectTombstones(t *testing.T) {
	r := newRig(t, rigConfig{})
	for i := range 10 {
		r.put(fmt.Sprintf("t/%d", i), 1, payload("t", uint64(i), 1000))
	}
	for i := range 10 {
		if err := r.p.Delete(ctx, []byte(fmt.Sprintf("t/%d", i)), uint64(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	r.put("u/0", 1, []byte("other prefix"))
	if err := r.p.Delete(ctx, []byte("u/0"), 2); err != nil {
		t.Fatal(err)
	}
	n, err := r.p.CollectTombstones(ctx, []byte("t/"), 15)
	if err != nil || n != 5 {
		t.Fatalf("collected %d, %v; want 5", n, err)
	}
	r.check()
	// t/0..4 are gone: an older write goes in; t/5..9 still refuse it.
	for i := range 10 {
		_, err := r.p.Put(ctx, []byte(fmt.Sprintf("t/%d", i)), 3, bytes.NewReader([]byte("late")))
		if i < 5 && err != nil || i >= 5 && !errors.Is(err, ErrSuperseded) {
			t.Fatalf("late write of t/%d after collection: %v", i, err)
		}
	}
	if _, err := r.p.Put(ctx, []byte("u/0"), 1, bytes.NewReader(nil)); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("a tombstone outside the prefix was collected: %v", err)
	}
	if n, err := r.p.CollectTombstones(ctx, nil, 1<<62); err != nil || n != 6 {
		t.Fatalf("second collection: %d, %v; want 6", n, err)
	}
	r.check()
	r.reopen()
	r.check()
}

// cutReader gives some bytes, then an error.
type cutReader struct {
	left int
	err  error
}

func (f *cutReader) Read(b []byte) (int, error) {
	if f.left == 0 {
		return 0, f.err
	}
	n := min(len(b), f.left)
	f.left -= n
	return n, nil
}

// TestTruncatedSource: a source that fails, even with io.ErrUnexpectedEOF
// (what a cut-off HTTP body gives), abandons the write instead of storing
// a short content.
func TestTruncatedSource(t *testing.T) {
	r := newRig(t, rigConfig{})
	r.put("s", 1, []byte("old"))
	for _, e := range []error{io.ErrUnexpectedEOF, errors.New("connection reset")} {
		for _, n := range []int{0, 10, int(r.p.sb), int(r.p.sb) + 3} {
			_, err := r.p.Put(ctx, []byte("s"), 2, &cutReader{left: n, err: e})
			if !errors.Is(err, e) {
				t.Fatalf("source failing with %v after %d bytes: %v", e, n, err)
			}
			r.mustGet("s", 1, []byte("old"))
		}
	}
	r.check()
}
