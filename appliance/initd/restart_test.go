package initd

import (
	"testing"
	"time"
)

func TestRestartsBackoffAndLimit(t *testing.T) {
	var r Restarts
	now := epoch
	var delays []time.Duration
	for {
		d, ok := r.Next(now)
		if !ok {
			break
		}
		delays = append(delays, d)
		now = now.Add(d + 5*time.Second) // serve starts, runs 5 s, dies
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
	if len(delays) != len(want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v", delays, want)
		}
	}
	// Still refused a little later, within 10 minutes of the first.
	if _, ok := r.Next(now.Add(time.Minute)); ok {
		t.Fatal("a sixth restart within 10 minutes")
	}
	// Once the window has passed, serve restarts after 1 s again.
	if d, ok := r.Next(now.Add(RestartWindow)); !ok || d != time.Second {
		t.Fatalf("after the window: %v %v", d, ok)
	}
}

func TestRestartsForgetOldCrashes(t *testing.T) {
	var r Restarts
	now := epoch
	for i := range 3 {
		d, ok := r.Next(now)
		if !ok || d != time.Second<<i {
			t.Fatalf("restart %d: %v %v", i, d, ok)
		}
		now = now.Add(4 * time.Minute) // runs 4 minutes each time
	}
	// The restart more than 10 minutes ago no longer counts: 4 s, not 8 s.
	if d, ok := r.Next(now); !ok || d != 4*time.Second {
		t.Fatalf("got %v %v, want 4s", d, ok)
	}
}
