package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
)

// TestReplaceDrive: a drive is pulled from a stopped node; the node runs
// without it and rebuilds its members; replace-drive refuses while members
// remain and formats a new drive once they are gone; the node then starts
// with every drive online, data intact, and new data reaches the new drive.
func TestReplaceDrive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := appliance.DefaultOptions{Drives: 8, Config: zonemu.Config{ZoneSize: 1 << 20, ZoneCapacity: 1 << 20, NrZones: 48, NrConventional: 2,
		MaxOpenZones: 8, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}}
	cfg := server.Config{DataDir: dir, Listen: "127.0.0.1:0"}
	opts := server.Options{Default: d, Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}}
	ctx := context.Background()
	content := func(i int) []byte { return bytes.Repeat([]byte{byte(i), 3}, 600_000+i*77) }
	key := func(i int) string { return "k" + string(rune('a'+i)) }
	const objs = 40
	s, err := server.Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Objects().CreateBucket(ctx, "keep"); err != nil {
		t.Fatal(err)
	}
	for i := range objs {
		if _, err := s.Objects().Put(ctx, "keep", key(i), bytes.NewReader(content(i)), objects.PutOptions{Size: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := s.Drives(); err != nil || list[6].Sets == 0 {
		t.Fatalf("drive 6 holds no member (%v): the test needs more data", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "drives", "drive-6.zdev")
	if err := os.Rename(old, filepath.Join(dir, "pulled.zdev")); err != nil {
		t.Fatal(err)
	}
	// Not rebuilt yet: refused, and nothing is created that stays.
	code, _, errOut := run(t, "replace-drive", "--data", dir, "--create", "6", old)
	if code != 1 || !strings.Contains(errOut, "not rebuilt") {
		t.Fatalf("replace before the rebuild: %d %s", code, errOut)
	}
	if _, err := os.Stat(old); err == nil {
		t.Fatal("a refused replace-drive --create left a drive file")
	}
	code, _, errOut = run(t, "replace-drive", "--data", dir, "--create", "1", filepath.Join(dir, "x.zdev"))
	if code != 1 || !strings.Contains(errOut, "has that drive") {
		t.Fatalf("replace a drive that is there: %d %s", code, errOut)
	}
	// The node rebuilds the missing drive's members.
	s, err = server.Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx, time.Second) }()
	deadline := time.Now().Add(time.Minute)
	for {
		list, err := s.Drives()
		if err == nil && list[6].Sets == 0 && !s.Status().Rebuild[0].LastDone.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebuild: %+v %v", s.Status().Rebuild, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "replace-drive", "--data", dir, "--create", "6", old)
	if code != 0 || !strings.Contains(out, "as drive 6") {
		t.Fatalf("replace-drive: %d %s %s", code, out, errOut)
	}
	// The node starts with the new drive online and empty, and moves
	// members onto it in the background.
	s, err = server.Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.Drives()
	if err != nil || len(list) != 8 || list[6].Health != "online" || list[6].Path != old || list[6].Sets != 0 {
		t.Fatalf("drives after the replacement: %+v %v", list, err)
	}
	sctx, cancel = context.WithCancel(ctx)
	go func() { done <- s.Serve(sctx, time.Second) }()
	deadline = time.Now().Add(time.Minute)
	for {
		list, err := s.Drives()
		st := s.Status().Rebuild[0]
		if err == nil && list[6].Sets > 0 && !st.Rebalancing {
			t.Logf("rebalanced: %d sets on the new drive, %+v", list[6].Sets, st)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rebalance onto the new drive: %+v %+v", list, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range objs {
		rd, err := s.Objects().Open(ctx, "keep", key(i), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rd)
		rd.Close()
		if err != nil || !bytes.Equal(got, content(i)) {
			t.Fatalf("object %d: %d bytes, %v", i, len(got), err)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
