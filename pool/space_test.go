package pool

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/stripe"
)

// TestCleanerChurn: overwrites and deletes far beyond the pool's size with
// the background cleaner running: space keeps coming back, the checker
// stays clean and every owner reads its last version.
func TestCleanerChurn(t *testing.T) {
	r := newRig(t, rigConfig{segs: 10, opts: Options{Cleaner: CleanerOptions{Interval: 5 * time.Millisecond, StartFree: 0.4, StopFree: 0.5}}})
	rng := rand.New(rand.NewPCG(3, 3))
	m := newModel()
	usable := r.p.al.FSStat().UsableBytes
	written := int64(0)
	for i := 1; written < 4*usable; i++ {
		owner := fmt.Sprintf("k%d", rng.IntN(40))
		v := uint64(i)
		if rng.IntN(6) == 0 {
			m.try(owner, v, -1)
			if err := r.p.Delete(ctx, []byte(owner), v); err != nil {
				t.Fatalf("op %d: delete: %v", i, err)
			}
			m.ack(owner, v, -1, true)
			continue
		}
		size := rng.IntN(2 * int(r.p.sb))
		m.try(owner, v, size)
		if _, err := r.p.Put(ctx, []byte(owner), v, bytes.NewReader(payload(owner, v, size))); err != nil {
			t.Fatalf("op %d after %d of %d usable bytes written: %v\n%v", i, written, usable, err, r.p.al.FSStat())
		}
		m.ack(owner, v, size, false)
		written += int64(size) + r.p.sb // a lone write pads its stripe
		if i%200 == 0 {
			if err := r.p.Check(ctx, CheckOptions{}); err != nil {
				t.Fatalf("op %d: %v", i, err)
			}
		}
	}
	st := r.p.Stats()
	if st.SetsCleaned == 0 || st.SetsReleased == 0 {
		t.Fatalf("stats %+v", st)
	}
	if len(r.eventsOf(EventCleanerStart)) == 0 {
		t.Fatal("no cleaner-start event")
	}
	t.Logf("%d bytes written through %d usable: %d sets cleaned, %d released, %d bytes relocated", written, usable, st.SetsCleaned, st.SetsReleased, st.BytesRelocated)
	m.verify(t, r.p, nil)
	r.check()
	r.reopen()
	m.verify(t, r.p, nil)
	r.check()
}

// TestFill: a pool filled up refuses writes with ErrNoSpace and loses
// nothing; deletes and cleaning make room again; at 90% full, churn goes on.
func TestFill(t *testing.T) {
	// Many small sets, as on a real drive: a set is the unit cleaning
	// frees, so with a handful of them 90% full leaves nothing to clean into.
	// A clock that ticks per reading makes the cleaner's choices (which
	// weigh the age of sets) repeatable.
	var tick atomic.Int64
	now := func() time.Time { return time.Unix(0, tick.Add(int64(time.Millisecond))) }
	r := newRig(t, rigConfig{segs: 128, segSize: 256 << 10, metaSegs: 32, opts: Options{Now: now, Cleaner: CleanerOptions{Manual: true, MaxUtilization: 0.97, Rate: 1 << 40}}})
	want := map[string][]byte{}
	size := 3*int(r.p.sb) - 1000
	var fillErr error
	for i := 0; ; i++ {
		owner := fmt.Sprintf("f%d", i)
		b := payload(owner, 1, size)
		if _, err := r.p.Put(ctx, []byte(owner), 1, bytes.NewReader(b)); err != nil {
			fillErr = err
			break
		}
		want[owner] = b
	}
	if !errors.Is(fillErr, ErrNoSpace) || !strings.Contains(fillErr.Error(), "no space") {
		t.Fatalf("full pool: %v", fillErr)
	}
	t.Logf("full after %d writes: %v", len(want), fillErr)
	fs := r.p.al.FSStat()
	if fs.UsedBytes < fs.UsableBytes*7/10 {
		t.Fatalf("full at %d of %d usable bytes", fs.UsedBytes, fs.UsableBytes)
	}
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
	r.check()
	// Deletes free whole sets only where nothing else is live; cleaning
	// moves the rest together.
	i := 0
	for owner := range want {
		if i%2 == 0 {
			// Each lone delete pads a stripe with its tombstone; a full
			// pool puts them in the cleaner's set, and cleaning (the
			// background cleaner's job, done here by hand) makes room.
			for attempt := 0; ; attempt++ {
				err := r.p.Delete(ctx, []byte(owner), 2)
				if err == nil {
					break
				}
				if !errors.Is(err, ErrNoSpace) || attempt > 2 {
					t.Fatalf("delete %q in a full pool: %v", owner, err)
				}
				if _, err := r.p.Clean(ctx, 2); err != nil {
					t.Fatal(err)
				}
			}
			delete(want, owner)
		}
		i++
	}
	if _, err := r.p.Clean(ctx, 100); err != nil {
		t.Fatal(err)
	}
	r.check()
	for owner, b := range want {
		r.mustGet(owner, 1, b)
	}
	// Room again: fill to 90% of what is usable (less the cleaner's
	// reserve), then churn.
	fs = r.p.al.FSStat()
	target := (fs.UsableBytes - fs.ReserveBytes*int64(r.layout.N)/int64(r.layout.Members())) * 9 / 10
	for n := 0; fs.UsedBytes < target; n++ {
		owner := fmt.Sprintf("g%d", n)
		b := payload(owner, 1, size)
		if _, err := r.p.Put(ctx, []byte(owner), 1, bytes.NewReader(b)); err != nil {
			if errors.Is(err, ErrNoSpace) {
				if c, cerr := r.p.Clean(ctx, 4); cerr != nil || c == 0 {
					t.Fatalf("refill at %d of %d: %v (cleaned %d: %v)", fs.UsedBytes, fs.UsableBytes, err, c, cerr)
				}
				n--
				fs = r.p.al.FSStat()
				continue
			}
			t.Fatal(err)
		}
		want[owner] = b
		fs = r.p.al.FSStat()
	}
	t.Logf("refilled: %v", fs)
	rng := rand.New(rand.NewPCG(1, 1))
	owners := make([]string, 0, len(want))
	for o := range want {
		owners = append(owners, o)
	}
	for i := range 200 {
		owner := owners[rng.IntN(len(owners))]
		b := payload(owner, uint64(i+10), size)
		for attempt := 0; ; attempt++ {
			_, err := r.p.Put(ctx, []byte(owner), uint64(i+10), bytes.NewReader(b))
			if err == nil {
				break
			}
			if !errors.Is(err, ErrNoSpace) || attempt > 20 {
				t.Fatalf("churn %d at 90%%: %v\n%v", i, err, r.p.al.FSStat())
			}
			if _, err := r.p.Clean(ctx, 4); err != nil {
				t.Fatal(err)
			}
		}
		want[owner] = b
	}
	r.check()
	for owner, b := range want {
		got, _, err := r.p.get(owner)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%q after churn: %v", owner, err)
		}
	}
}

// TestWriteProtect: when metadata space runs out the pool refuses writes
// with a reason, keeps serving reads and deletes, and leaves the mode once
// deletes give the space back.
func TestWriteProtect(t *testing.T) {
	r := newRig(t, rigConfig{segs: 40, metaSegs: 4, layout: stripe.Layout{N: 4, K: 2, Unit: 4096},
		opts: Options{Cleaner: CleanerOptions{Manual: true}}})
	name := func(i int) []byte { return []byte(fmt.Sprintf("%0100d", i)) }
	var protErr error
	n := 0
	for ; n < 100000; n++ {
		if _, err := r.p.Put(ctx, name(n), 1, bytes.NewReader([]byte("x"))); err != nil {
			protErr = err
			break
		}
	}
	if !errors.Is(protErr, ErrWriteProtected) || !strings.Contains(protErr.Error(), "metadata space") {
		t.Fatalf("after %d writes: %v", n, protErr)
	}
	t.Logf("write-protected after %d writes: %v", n, protErr)
	t.Logf("%+v", r.st.Space())
	if len(r.eventsOf(EventWriteProtect)) != 1 {
		t.Fatalf("events: %v", r.eventsOf(EventWriteProtect))
	}
	fs := r.p.FSStat()
	if fs.WriteProtected == "" || fs.Metadata.UsedBytes == 0 || fs.Metadata.CapacityBytes != 4<<20 || !strings.Contains(fs.String(), "WRITE-PROTECTED") {
		t.Fatalf("fsstat while write-protected: %+v\n%v", fs, fs)
	}
	// Reads go on.
	r.mustGet(string(name(0)), 1, []byte("x"))
	// Deletes go on and bring the space back.
	for i := 0; i < n; i++ {
		if err := r.p.Delete(ctx, name(i), 2); err != nil {
			t.Fatalf("delete %d in write-protect mode: %v", i, err)
		}
	}
	if err := r.st.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if err := r.st.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.p.Put(ctx, []byte("after"), 1, bytes.NewReader([]byte("y"))); err != nil {
		t.Fatalf("after deletes (%.0f%% used): %v", r.st.Space().Used()*100, err)
	}
	if len(r.eventsOf(EventWriteProtectOff)) != 1 {
		t.Fatal("no write-protect-off event")
	}
	if fs := r.p.FSStat(); fs.WriteProtected != "" {
		t.Fatalf("fsstat after: %v", fs)
	}
	r.check()
}
