package hlc

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/internal/simtest"
)

var epoch = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func TestFormat(t *testing.T) {
	ts := Make(epoch, 7)
	if ts.Time() != epoch || ts.Logical() != 7 || uint64(ts) != uint64(epoch.UnixMilli())<<16|7 {
		t.Fatalf("%v: %v %d", ts, ts.Time(), ts.Logical())
	}
	if ts.String() != "2026-11-21T12:00:00.000Z+7" {
		t.Fatal(ts.String())
	}
}

// Timestamps rise with the wall clock, stay rising when it stops or goes
// back, and pass what Update saw.
func TestMonotonic(t *testing.T) {
	w := simtest.NewClock(epoch)
	c := New(0, Options{Now: w.Now})
	a, _ := c.Now()
	b, _ := c.Now() // same millisecond: logical +1
	if a != Make(epoch, 0) || b != Make(epoch, 1) {
		t.Fatalf("%v %v", a, b)
	}
	w.Set(epoch.Add(-time.Hour)) // clock set back
	d, _ := c.Now()
	if d <= b {
		t.Fatalf("went back: %v after %v", d, b)
	}
	w.Set(epoch.Add(time.Second))
	e, _ := c.Now()
	if e != Make(epoch.Add(time.Second), 0) {
		t.Fatalf("did not follow the wall clock: %v", e)
	}
	remote := Make(epoch.Add(time.Minute), 3)
	if err := c.Update(remote); err != nil {
		t.Fatal(err)
	}
	if f, _ := c.Now(); f <= remote {
		t.Fatalf("%v not after the remote %v", f, remote)
	}
	if err := c.Update(Make(epoch.Add(time.Hour), 0)); !errors.Is(err, ErrDrift) {
		t.Fatalf("an hour ahead: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	c := New(0, Options{})
	const n, each = 8, 5000
	out := make(chan Timestamp, n*each)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for range each {
				ts, err := c.Now()
				if err != nil {
					t.Error(err)
					return
				}
				out <- ts
			}
		})
	}
	wg.Wait()
	close(out)
	seen := map[Timestamp]bool{}
	for ts := range out {
		if seen[ts] || ts == 0 {
			t.Fatalf("timestamp %v issued twice", ts)
		}
		seen[ts] = true
	}
}

// A restarted clock starts above the persisted ceiling, even with its
// wall clock behind; a failing persist stops issuing.
func TestCeiling(t *testing.T) {
	w := simtest.NewClock(epoch)
	var durable Timestamp
	persists := 0
	opts := Options{Now: w.Now, Window: 10 * time.Second, Persist: func(c Timestamp) error { durable = c; persists++; return nil }}
	c := New(0, opts)
	var last Timestamp
	for i := range 1000 {
		w.Set(epoch.Add(time.Duration(i) * time.Millisecond))
		last, _ = c.Now()
	}
	if persists != 1 || durable <= last {
		t.Fatalf("%d persists, ceiling %v, last %v", persists, durable, last)
	}
	w.Set(epoch.Add(-time.Hour))
	floor := durable
	c2 := New(floor, opts)
	if ts, _ := c2.Now(); ts <= last || ts <= floor {
		t.Fatalf("after restart %v, before %v (ceiling %v)", ts, last, floor)
	}
	broken := errors.New("disk gone")
	c3 := New(durable+1000, Options{Now: func() time.Time { return epoch.Add(time.Hour) }, Persist: func(Timestamp) error { return broken }})
	if _, err := c3.Now(); !errors.Is(err, ErrPersist) || !errors.Is(err, broken) {
		t.Fatalf("persist failure: %v", err)
	}
}
