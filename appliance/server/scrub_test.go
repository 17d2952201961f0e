package server

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/pool"
)

func TestScrubStateCodec(t *testing.T) {
	st := scrubState{started: time.Unix(100, 5).UTC(), cursor: alloc.SetID(42), completed: time.Unix(50, 0).UTC(), damaged: 3, unrecoverable: 1}
	back, err := decodeScrubState(st.encode())
	if err != nil || back != st {
		t.Fatalf("%+v -> %+v, %v", st, back, err)
	}
	if _, err := decodeScrubState(st.encode()[:40]); err == nil {
		t.Fatal("a short record decoded")
	}
}

// TestScrubSchedule: the first start scrubs every pool, a POST /v1/scrub
// starts another pass, the results go to the events and the status, and
// the schedule's state survives a restart.
func TestScrubSchedule(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0", ScrubInterval: Duration(time.Hour)}
	opts := Options{Default: smallDefault(), Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}}
	s, err := Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, time.Second) }()
	waitFor := func(what string, cond func(ScrubStatus) bool) ScrubStatus {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if st := s.Status().Scrub[0]; cond(st) {
				return st
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("scrub: %s: %+v", what, s.Status().Scrub)
		return ScrubStatus{}
	}
	first := waitFor("first pass", func(st ScrubStatus) bool { return !st.LastCompleted.IsZero() && !st.Running })
	if !first.NextDue.After(first.LastCompleted) {
		t.Fatalf("next due %v", first)
	}
	if _, err := s.Objects().CreateBucket(ctx, "scrubbed"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.Objects().Put(ctx, "scrubbed", strings.Repeat("k", i+1), &zeroReader{n: 1 << 20}, objectsPut()); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest("POST", s.URL()+"/v1/scrub", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/scrub: %v %v", resp, err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest("POST", s.URL()+"/v1/rebuild", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/rebuild: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	second := waitFor("second pass", func(st ScrubStatus) bool { return st.LastCompleted.After(first.LastCompleted) && !st.Running })
	if second.SetsTotal == 0 || second.Damaged != 0 {
		t.Fatalf("second pass: %+v", second)
	}
	if err := s.events.Sync(); err != nil {
		t.Fatal(err)
	}
	evs, err := s.events.Query(events.Filter{Kinds: []string{"scrub-finished"}})
	if err != nil || len(evs) < 2 || !strings.Contains(evs[len(evs)-1].Detail, "0 damaged") {
		t.Fatalf("scrub events: %+v %v", evs, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The schedule survives: the next start does not scrub again (the
	// last pass is recent) but knows when it was.
	s, err = Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.scrub.load("default")
	if err != nil || !st.completed.Equal(second.LastCompleted) || !st.started.IsZero() {
		t.Fatalf("state after restart: %+v %v (want completed %v)", st, err, second.LastCompleted)
	}
}
