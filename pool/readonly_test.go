package pool

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/superblock"
)

// digest hashes every byte of every drive.
func (r *rig) digest() [][32]byte {
	r.t.Helper()
	var out [][32]byte
	for _, d := range r.devs {
		size := d.Geometry().Size
		h := sha256.New()
		buf := dev.AlignedBuffer(1 << 20)
		for off := int64(0); off < size; off += int64(len(buf)) {
			b := buf[:min(int64(len(buf)), size-off)]
			if _, err := d.ReadAt(b, off); err != nil {
				r.t.Fatal(err)
			}
			h.Write(b)
		}
		out = append(out, [32]byte(h.Sum(nil)))
	}
	return out
}

// openReadOnly stops the pool and the store and opens both read-only.
func (r *rig) openReadOnly() (*store.Store, *Pool) {
	r.t.Helper()
	r.stop()
	return r.openStopped()
}

// stop closes the pool and the store.
func (r *rig) stop() {
	r.t.Helper()
	if r.p != nil {
		if err := r.p.Close(); err != nil {
			r.t.Fatal(err)
		}
		r.p = nil
	}
	if r.st != nil {
		if err := r.st.Close(); err != nil {
			r.t.Fatal(err)
		}
		r.st = nil
	}
}

// openStopped opens the stopped pool and store read-only.
func (r *rig) openStopped() (*store.Store, *Pool) {
	r.t.Helper()
	for i := range 3 {
		lg, err := superblock.Open(r.devs[i])
		if err != nil {
			r.t.Fatal(err)
		}
		r.logs[i] = lg
	}
	st, err := store.OpenReadOnly(r.storeOptions(), store.ReadOnlyOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	p, err := OpenReadOnly(ctx, st, r.config(), Options{})
	if err != nil {
		st.Close()
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		p.Close()
		st.Close()
	})
	return st, p
}

// A pool opened read-only reads, checks and verifies without writing a
// byte, and refuses changes.
func TestOpenReadOnlyWritesNothing(t *testing.T) {
	r := newRig(t, rigConfig{segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	want := map[string][]byte{}
	for i := range 30 {
		owner := fmt.Sprintf("o%d", i)
		want[owner] = payload(owner, 1, 1+i*int(r.p.sb)/7)
		r.put(owner, 1, want[owner])
	}
	if err := r.p.Delete(ctx, []byte("o3"), 2); err != nil {
		t.Fatal(err)
	}
	delete(want, "o3")
	r.stop()
	before := r.digest()
	_, p := r.openStopped()
	for owner, b := range want {
		got, _, err := p.get(owner)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("get %q: %v", owner, err)
		}
	}
	if err := p.Check(ctx, CheckOptions{Deep: true}); err != nil {
		t.Fatal(err)
	}
	var done, total int64
	res, err := p.DeepScan(ctx, func(d, n int64) { done, total = d, n }, func(d StripeDamage) { t.Errorf("damage %+v", d) })
	if err != nil || res.Stripes == 0 || done != total || total == 0 {
		t.Fatalf("verify: %+v %v, progress %d of %d", res, err, done, total)
	}
	if err := p.CheckMembers(ctx, nil, func(m MemberProblem) { t.Errorf("member %+v", m) }); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Put(ctx, []byte("new"), 1, bytes.NewReader([]byte("x"))); err == nil {
		t.Fatal("a put into a read-only pool succeeded")
	}
	if err := p.Delete(ctx, []byte("o1"), 5); !errors.Is(err, ErrReadOnly) && !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("delete in a read-only pool: %v", err)
	}
	if after := r.digest(); !slices.Equal(before, after) {
		t.Fatal("the read-only pool changed the drives")
	}
}

// DeepScan names the set, stripe and member of a corrupt data unit and
// of a corrupt parity unit; CheckMembers a member whose header is gone.
func TestDeepScanFindsDamage(t *testing.T) {
	r := newRig(t, rigConfig{segs: 24, opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	for i := range 30 {
		owner := fmt.Sprintf("o%d", i)
		r.put(owner, 1, payload(owner, 1, 2*int(r.p.sb)))
	}
	var ids []alloc.SetID
	for s, err := range r.p.al.Sets(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	pos, off := r.unitOffset(ids[0], 1, 0)
	r.devs[pos].CorruptAt(off + 100)
	ppos, poff := r.unitOffset(ids[0], r.layout.N, 1)
	r.devs[ppos].CorruptAt(poff + 100)
	set, err := r.p.al.Lookup(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	hpos, hoff := r.unitOffset(ids[1], 2, 0)
	r.devs[hpos].CorruptAt(hoff - 4096 + 10) // member 2's segment header
	_, p := r.openReadOnly()
	var found []StripeDamage
	res, err := p.DeepScan(ctx, nil, func(d StripeDamage) { found = append(found, d) })
	if err != nil || res.Damaged != 2 {
		t.Fatalf("verify: %+v %v", res, err)
	}
	if d := found[0]; d.Set != ids[0] || d.Stripe != 0 || !slices.Equal(d.Report.Corrupt, []int{1}) || !slices.Equal(d.Report.Rebuilt, []int{1}) || !d.Live {
		t.Fatalf("data unit damage %+v", d)
	}
	if d := found[1]; d.Set != ids[0] || d.Stripe != 1 || !slices.Equal(d.Report.Corrupt, []int{r.layout.N}) || len(d.Report.Rebuilt) != 0 {
		t.Fatalf("parity unit damage %+v", d)
	}
	var members []MemberProblem
	if err := p.CheckMembers(ctx, nil, func(m MemberProblem) { members = append(members, m) }); err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || members[0].Set != ids[1] || members[0].Index != 2 || members[0].Member != set.Members[2] {
		t.Fatalf("member problems %+v", members)
	}
}
