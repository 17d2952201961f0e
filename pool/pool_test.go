package pool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestPutGetDelete: content of every awkward size round-trips; ranges read
// right; versions order writes and deletes; the checker stays clean.
func TestPutGetDelete(t *testing.T) {
	r := newRig(t, rigConfig{})
	sb := int(r.p.sb)
	sizes := []int{0, 1, 4087, 4088, 4096, sb - 100, sb, sb + 1, 3*sb + 17}
	for i, n := range sizes {
		r.put(fmt.Sprintf("o%d", i), 1, payload("o", uint64(i), n))
	}
	r.check()
	rng := rand.New(rand.NewPCG(1, 2))
	for i, n := range sizes {
		owner := fmt.Sprintf("o%d", i)
		want := payload("o", uint64(i), n)
		r.mustGet(owner, 1, want)
		for range 20 {
			off := rng.IntN(n + 1)
			l := rng.IntN(n-off+10) + 1
			buf := make([]byte, l)
			got, _, err := r.p.ReadAt(ctx, []byte(owner), buf, int64(off))
			wantN := min(l, n-off)
			if wantN < l && !errors.Is(err, io.EOF) || wantN == l && err != nil {
				t.Fatalf("%s: read %d at %d of %d: n %d, %v", owner, l, off, n, got, err)
			}
			if got != wantN || !bytes.Equal(buf[:got], want[off:off+wantN]) {
				t.Fatalf("%s: read %d at %d of %d: %d bytes, content equal %v", owner, l, off, n, got, bytes.Equal(buf[:got], want[off:off+got]))
			}
		}
	}
	// Versions: newer wins; not newer is refused and changes nothing.
	r.put("o1", 5, []byte("five"))
	if _, err := r.p.Put(ctx, []byte("o1"), 5, bytes.NewReader([]byte("again"))); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("same version: %v", err)
	}
	if _, err := r.p.Put(ctx, []byte("o1"), 4, bytes.NewReader([]byte("four"))); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("older version: %v", err)
	}
	r.mustGet("o1", 5, []byte("five"))
	// A delete leaves a tombstone that beats a put of the same version.
	if err := r.p.Delete(ctx, []byte("o1"), 6); err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.Stat([]byte("o1")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat deleted: %v", err)
	}
	if _, _, err := r.p.ReadAt(ctx, []byte("o1"), make([]byte, 1), 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("read deleted: %v", err)
	}
	if _, err := r.p.Put(ctx, []byte("o1"), 6, bytes.NewReader([]byte("six"))); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("put at the tombstone's version: %v", err)
	}
	if err := r.p.Delete(ctx, []byte("o1"), 5); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("older delete: %v", err)
	}
	r.put("o1", 7, []byte("seven"))
	r.mustGet("o1", 7, []byte("seven"))
	// A delete of what was never written leaves a tombstone too.
	if err := r.p.Delete(ctx, []byte("never"), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.Put(ctx, []byte("never"), 2, bytes.NewReader(nil)); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("put older than a tombstone: %v", err)
	}
	r.check()
	// Bad input.
	if _, err := r.p.Put(ctx, nil, 1, bytes.NewReader(nil)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty owner: %v", err)
	}
	if _, err := r.p.Put(ctx, make([]byte, MaxOwner+1), 1, bytes.NewReader(nil)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("long owner: %v", err)
	}
	if _, err := r.p.Put(ctx, []byte("x"), 0, bytes.NewReader(nil)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("version 0: %v", err)
	}
	if _, _, err := r.p.ReadAt(ctx, []byte("o2"), make([]byte, 1), -1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative offset: %v", err)
	}
	// A source that fails mid-write changes nothing.
	_, err := r.p.Put(ctx, []byte("o2"), 9, io.MultiReader(bytes.NewReader(make([]byte, 3*sb)), failingReader{}))
	if err == nil || !errors.Is(err, errSource) {
		t.Fatalf("failing source: %v", err)
	}
	r.mustGet("o2", 1, payload("o", 2, sizes[2]))
	r.check()
	// Everything survives a restart.
	r.reopen()
	for i, n := range sizes {
		if i == 1 {
			continue
		}
		r.mustGet(fmt.Sprintf("o%d", i), 1, payload("o", uint64(i), n))
	}
	r.mustGet("o1", 7, []byte("seven"))
	r.check()
}

var errSource = errors.New("source broke")

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errSource }

// TestConcurrentWrites: many writers at once; each write is durable when
// acknowledged, and commits are shared.
func TestConcurrentWrites(t *testing.T) {
	r := newRig(t, rigConfig{segs: 32})
	const writers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range each {
				owner := fmt.Sprintf("w%d/%d", w, i%10)
				b := payload(owner, uint64(i+1), rng.IntN(3*int(r.p.sb)))
				if _, err := r.p.Put(ctx, []byte(owner), uint64(i+1), bytes.NewReader(b)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := r.p.Stats()
	if st.Puts != writers*each {
		t.Fatalf("%d puts counted", st.Puts)
	}
	t.Logf("%d puts in %d commits", st.Puts, st.Commits)
	r.check()
	for w := range writers {
		for k := range 10 {
			owner := fmt.Sprintf("w%d/%d", w, k)
			last := uint64(each - (each-1-k)%10)
			info, err := r.p.Stat([]byte(owner))
			if err != nil || info.Version != last {
				t.Fatalf("%s: %+v %v, want version %d", owner, info, err, last)
			}
		}
	}
	fs := r.p.Allocator().FSStat()
	if fs.UsedBytes == 0 {
		t.Fatalf("fsstat: %v", fs)
	}
}
