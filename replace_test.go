package main

import (
	"bytes"
	"context"
	"fmt"
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

// replaceRig is a node of eight emulated drives holding objs objects,
// for the replace-drive tests.
type replaceRig struct {
	dir  string
	cfg  server.Config
	opts server.Options
}

const replaceObjects = 40

func replaceContent(i int) []byte { return bytes.Repeat([]byte{byte(i), 3}, 600_000+i*77) }
func replaceKey(i int) string     { return "k" + string(rune('a'+i)) }

func newReplaceRig(t *testing.T) *replaceRig {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	d := appliance.DefaultOptions{Drives: 8, Config: zonemu.Config{ZoneSize: 1 << 20, ZoneCapacity: 1 << 20, NrZones: 48, NrConventional: 2,
		MaxOpenZones: 8, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}}
	r := &replaceRig{dir: dir, cfg: server.Config{DataDir: dir, Listen: "127.0.0.1:0"},
		opts: server.Options{Default: d, Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}}}
	s := r.open(t)
	ctx := context.Background()
	if _, err := s.Objects().CreateBucket(ctx, "keep"); err != nil {
		t.Fatal(err)
	}
	for i := range replaceObjects {
		if _, err := s.Objects().Put(ctx, "keep", replaceKey(i), bytes.NewReader(replaceContent(i)), objects.PutOptions{Size: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *replaceRig) open(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.Open(r.cfg, r.opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *replaceRig) drive(pos int) string {
	return filepath.Join(r.dir, "drives", fmt.Sprintf("drive-%d.zdev", pos))
}

// pull takes drive pos's file away from the stopped node.
func (r *replaceRig) pull(t *testing.T, pos int) {
	t.Helper()
	if err := os.Rename(r.drive(pos), filepath.Join(r.dir, fmt.Sprintf("pulled-%d.zdev", pos))); err != nil {
		t.Fatal(err)
	}
}

// serveUntil runs the node until ok says so (or a minute passes), then
// stops it.
func (r *replaceRig) serveUntil(t *testing.T, s *server.Server, what string, ok func() (bool, string)) {
	t.Helper()
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx, time.Second) }()
	deadline := time.Now().Add(time.Minute)
	for {
		good, state := ok()
		if good {
			t.Logf("%s: %s", what, state)
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("%s: not within a minute: %s", what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// rebuilt says whether drive pos holds no member and a rebuild has run.
func rebuilt(s *server.Server, pos int) func() (bool, string) {
	return func() (bool, string) {
		list, err := s.Drives()
		st := s.Status().Rebuild
		return err == nil && list[pos].Sets == 0 && !st[0].LastDone.IsZero(), fmt.Sprintf("%+v %v", st, err)
	}
}

// intact reads every object back.
func intact(t *testing.T, s *server.Server) {
	t.Helper()
	for i := range replaceObjects {
		rd, err := s.Objects().Open(context.Background(), "keep", replaceKey(i), 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rd)
		rd.Close()
		if err != nil || !bytes.Equal(got, replaceContent(i)) {
			t.Fatalf("object %d: %d bytes, %v", i, len(got), err)
		}
	}
}

// TestReplaceDrive: a drive is pulled from a stopped node; the node runs
// without it and rebuilds its members; replace-drive refuses while members
// remain and formats a new drive once they are gone; the node then starts
// with every drive online, data intact, and new data reaches the new drive.
func TestReplaceDrive(t *testing.T) {
	r := newReplaceRig(t)
	s := r.open(t)
	if list, err := s.Drives(); err != nil || list[6].Sets == 0 {
		t.Fatalf("drive 6 holds no member (%v): the test needs more data", err)
	}
	s.Close()
	dir, old := r.dir, r.drive(6)
	r.pull(t, 6)
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
	s = r.open(t)
	r.serveUntil(t, s, "rebuild", rebuilt(s, 6))
	code, out, errOut := run(t, "replace-drive", "--data", dir, "--create", "6", old)
	if code != 0 || !strings.Contains(out, "as drive 6") || strings.Contains(out, "metadata") {
		t.Fatalf("replace-drive: %d %s %s", code, out, errOut)
	}
	// The node starts with the new drive online and empty, and moves
	// members onto it in the background.
	s = r.open(t)
	list, err := s.Drives()
	if err != nil || len(list) != 8 || list[6].Health != "online" || list[6].Path != old || list[6].Sets != 0 {
		t.Fatalf("drives after the replacement: %+v %v", list, err)
	}
	r.serveUntil(t, s, "rebalanced", func() (bool, string) {
		list, err := s.Drives()
		st := s.Status().Rebuild[0]
		return err == nil && list[6].Sets > 0 && !st.Rebalancing, fmt.Sprintf("%+v %+v", list, st)
	})
	s = r.open(t)
	defer s.Close()
	intact(t, s)
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestReplaceMetadataDrive: a metadata mirror is pulled; the node runs on
// the other two and rebuilds the drive's data members; replace-drive
// formats a new drive there and rebuilds the metadata onto it (a
// resilver). The proof that it holds the whole store: the node then opens
// with the other two metadata drives pulled, the new one its only mirror,
// and every object reads back.
func TestReplaceMetadataDrive(t *testing.T) {
	r := newReplaceRig(t)
	dir, old := r.dir, r.drive(1)
	r.pull(t, 1)
	s := r.open(t)
	// Metadata changes while the mirror is gone.
	if _, err := s.Objects().CreateBucket(context.Background(), "later"); err != nil {
		t.Fatal(err)
	}
	r.serveUntil(t, s, "rebuild", rebuilt(s, 1))
	code, out, errOut := run(t, "replace-drive", "--data", dir, "--create", "1", old)
	if code != 0 || !strings.Contains(out, "as drive 1") || !strings.Contains(out, "rebuilt the metadata of drive 1 from the other mirrors") {
		t.Fatalf("replace-drive: %d %s %s", code, out, errOut)
	}
	t.Log(strings.TrimSpace(out))

	// The new drive alone: drives 0 and 2 (the other mirrors) pulled.
	r.pull(t, 0)
	r.pull(t, 2)
	s = r.open(t)
	defer s.Close()
	st := s.Status()
	if m := st.Metadata.MirrorDrives; len(m) != 1 || m[0].Drive != old || m[0].Partial || !m[0].Healthy {
		t.Fatalf("metadata mirrors with drives 0 and 2 pulled: %+v", m)
	}
	intact(t, s)
	if _, err := s.Objects().Bucket("later"); err != nil {
		t.Fatalf("the bucket made while the mirror was gone: %v", err)
	}
}
