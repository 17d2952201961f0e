package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/pool"
)

// TestDriveOutRebuild: an operator marks a drive out over the API while
// clients write; the node rebuilds its members elsewhere, every object
// reads back, the state and the event name who did it, and the state
// holds across a restart.
func TestDriveOutRebuild(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := smallDefault()
	d.Drives = 8
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0"}
	opts := Options{Default: d, Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}}
	s, err := Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, time.Second) }()
	call := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, s.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+s.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	obj := s.Objects()
	if _, err := obj.CreateBucket(ctx, "rebuild"); err != nil {
		t.Fatal(err)
	}
	content := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 100_000+i*37) }
	put := func(i int) {
		if _, err := obj.Put(ctx, "rebuild", "k"+string(rune('a'+i%26))+string(rune('a'+i/26)), bytes.NewReader(content(i)), objects.PutOptions{Size: -1}); err != nil {
			t.Errorf("put %d: %v", i, err)
		}
	}
	// Enough data that drive 5 holds members (placement is random).
	for i := 0; i < 40 || !holds(t, s, 5); i++ {
		if i > 500 {
			t.Fatal("drive 5 got no member")
		}
		put(i)
	}
	if code, body := call("POST", "/v1/drives/5?state=sideways"); code != 400 || !strings.Contains(body, "want online") {
		t.Fatalf("bad state: %d %s", code, body)
	}
	if code, body := call("POST", "/v1/drives/99?state=out"); code != 400 {
		t.Fatalf("bad drive: %d %s", code, body)
	}
	if code, body := call("POST", "/v1/drives/5?state=out"); code != 200 {
		t.Fatalf("mark out: %d %s", code, body)
	}
	for i := 40; i < 60; i++ { // writes go on during the rebuild
		put(i)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := s.Status().Rebuild[0]
		on, err := s.pools[0].Allocator().SetsOn(ctx, 5)
		if err == nil && len(on) == 0 && !st.Running && st.LastError == "" && !st.LastDone.IsZero() {
			t.Logf("rebuilt: %+v", st)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebuild did not finish: %+v, sets on drive 5: %v %v", st, on, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 60 {
		rd, err := obj.Open(ctx, "rebuild", "k"+string(rune('a'+i%26))+string(rune('a'+i/26)), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rd)
		rd.Close()
		if err != nil || !bytes.Equal(got, content(i)) {
			t.Fatalf("object %d after the rebuild: %d bytes, %v", i, len(got), err)
		}
	}
	_, body := call("GET", "/v1/drives")
	var dl struct {
		Drives []DriveState `json:"drives"`
	}
	if err := json.Unmarshal([]byte(body), &dl); err != nil || dl.Drives[5].Health != "out" || !strings.HasPrefix(dl.Drives[5].By, "api ") || dl.Drives[5].Sets != 0 || dl.Drives[1].Sets+dl.Drives[2].Sets+dl.Drives[3].Sets+dl.Drives[4].Sets == 0 {
		t.Fatalf("drives: %s %v", body, err)
	}
	if _, m := call("GET", "/metrics"); !strings.Contains(m, `plinth_rebuild_sets_done{pool="default"}`) || !strings.Contains(m, `plinth_rebuild_running{pool="default"} 0`) {
		t.Fatal("no rebuild figures in /metrics")
	}
	_, evs := call("GET", "/v1/events?kind=drive-state,rebuild-done")
	if !strings.Contains(evs, `"actor": "api `) || !strings.Contains(evs, "rebuild-done") {
		t.Fatalf("events: %s", evs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s, err = Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.Drives()
	if err != nil || list[5].Health != "out" {
		t.Fatalf("after restart drive 5 is %+v (%v)", list[5], err)
	}
}

// TestMissingDrive: a drive file taken away while the node is down: the
// node starts without it, says so, serves every object through parity,
// rebuilds the drive's members onto the others, and then reads need no
// parity.
func TestMissingDrive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := smallDefault()
	d.Drives = 8
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0"}
	opts := Options{Default: d, Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}}
	s, err := Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	obj := s.Objects()
	if _, err := obj.CreateBucket(ctx, "missing"); err != nil {
		t.Fatal(err)
	}
	content := func(i int) []byte { return bytes.Repeat([]byte{byte(i), 7}, 150_000+i*101) }
	key := func(i int) string { return fmt.Sprintf("obj-%d", i) }
	n := 0
	for ; n < 20 || !holds(t, s, 6); n++ { // drive 6 must hold members
		if n > 500 {
			t.Fatal("drive 6 got no member")
		}
		if _, err := obj.Put(ctx, "missing", key(n), bytes.NewReader(content(n)), objects.PutOptions{Size: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dir, "drives", "drive-6.zdev")
	if err := os.Rename(gone, gone+".pulled"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	opts.Out = &out
	s, err = Open(cfg, opts)
	if err != nil {
		t.Fatalf("open with a drive missing: %v", err)
	}
	if !strings.Contains(out.String(), "position 6 is missing") {
		t.Fatalf("no warning:\n%s", out.String())
	}
	readAll := func() {
		for i := range n {
			rd, err := s.Objects().Open(ctx, "missing", key(i), 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rd)
			rd.Close()
			if err != nil || !bytes.Equal(got, content(i)) {
				t.Fatalf("object %d: %d bytes, %v", i, len(got), err)
			}
		}
	}
	readAll()
	list, err := s.Drives()
	if err != nil || len(list) != 8 || list[6].Path != "(missing)" || list[6].Health != "out" {
		t.Fatalf("drives: %+v %v", list, err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx, time.Second) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		on, err := s.pools[0].Allocator().SetsOn(ctx, 6)
		if st := s.Status().Rebuild[0]; err == nil && len(on) == 0 && !st.LastDone.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebuild of the missing drive: %+v", s.Status().Rebuild)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A scrub pass that started with the drive missing may still read
	// a set through parity; wait for it, then count the reads' own.
	for s.Status().Scrub[0].Running && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	before := s.pools[0].Stats().DegradedReads
	readAll()
	if after := s.pools[0].Stats().DegradedReads; after != before {
		t.Fatalf("%d reads needed parity after the rebuild", after-before)
	}
	if err := s.pools[0].Check(ctx, pool.CheckOptions{Deep: true}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// holds reports whether the drive at pos has a member of some set.
func holds(t *testing.T, s *Server, pos int) bool {
	t.Helper()
	list, err := s.Drives()
	if err != nil {
		t.Fatal(err)
	}
	return list[pos].Sets > 0
}
