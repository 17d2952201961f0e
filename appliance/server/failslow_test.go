package server

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/hw/failslow"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/iostat"
	"github.com/plinth-storage/plinth/pool"
)

// One drive answering 60 ms late while its peers answer in microseconds
// is marked slow within a bounded number of windows, with an event, and
// recovers once it keeps up again.
func TestFailSlowDriveMarkedSlow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := smallDefault()
	d.Drives = 6
	// Every drive behind a fault injector; the slow one is chosen below
	// among those reads go to (a drive holding only parity is never read).
	fds := map[string]*faultdev.Device{}
	open := func(path string) (dev.Device, error) {
		dv, err := appliance.OpenDevice(path)
		if err != nil {
			return dv, err
		}
		fd := faultdev.New(dv, 1)
		fds[path] = fd
		return fd, nil
	}
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0", SlowWindow: Duration(1500 * time.Millisecond)}
	s, err := Open(cfg, Options{Default: d, OpenDrive: open, Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	obj := s.Objects()
	if _, err := obj.CreateBucket(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range 24 {
		k := "k" + string(rune('a'+i))
		if _, err := obj.Put(ctx, "slow", k, bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 200<<10)), objectsPut()); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	readAll := func(until time.Time) {
		for time.Now().Before(until) {
			for _, k := range keys {
				r, err := obj.Open(ctx, "slow", k, 0, -1)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, r)
				r.Close()
			}
		}
	}
	// The most read drive becomes the slow one.
	readAll(time.Now().Add(300 * time.Millisecond))
	var slowPath string
	var most int64
	for _, dv := range s.drives {
		if st := dv.Snapshot(); st.Ops[iostat.Read].Total() > most {
			slowPath, most = st.Path, st.Ops[iostat.Read].Total()
		}
	}
	slow := fds[slowPath]
	slowPos := uint32(99)
	for _, nd := range s.node.Drives {
		if nd.Path == slowPath {
			slowPos = nd.Label.Label().Position
		}
	}
	if slow == nil || slowPos == 99 {
		t.Fatalf("no injector for the most read drive %q", slowPath)
	}
	health := func() alloc.Health {
		for _, dr := range s.Pools()[0].Allocator().Drives() {
			if dr.Position == slowPos {
				return dr.Health
			}
		}
		return alloc.Out
	}
	s.HealthNow() // the first look only starts the windows
	slow.Latency(faultdev.OpRead, 60*time.Millisecond, 0)
	windows := 0
	for ; health() != alloc.Slow; windows++ {
		if windows >= 8 {
			t.Fatalf("drive %d not marked slow after %d windows", slowPos, windows)
		}
		readAll(time.Now().Add(1550 * time.Millisecond))
		s.HealthNow()
	}
	t.Logf("marked slow after %d windows", windows)
	evs, err := s.events.Query(events.Filter{Kinds: []string{"drive-slow"}})
	if err != nil || len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Detail, "read p99") {
		t.Fatalf("no drive-slow event: %v %v", evs, err)
	}
	slow.ClearFaults()
	for windows = 0; health() != alloc.Online; windows++ {
		if windows >= 8 {
			t.Fatalf("drive %d not back online after %d windows", slowPos, windows)
		}
		readAll(time.Now().Add(1550 * time.Millisecond))
		s.HealthNow()
	}
}

// The hedge deadline comes from the healthy drives, whatever the slow one
// does: with reads reaching only it and one peer, the deadline is the
// peer's, not the slow drive's own p99 (which made the deadline longer
// than every slow read, so nothing was hedged); with reads reaching only
// one drive, the last deadline stands (that drive may be the slow one),
// and the first such window gives one from that drive alone.
func TestHedgeDeadlineFromHealthyDrives(t *testing.T) {
	ms := time.Millisecond
	smp := func(drive uint32, lat time.Duration, req int64) failslow.Sample {
		return failslow.Sample{Drive: drive, Latency: lat, Requests: req}
	}
	for _, c := range []struct {
		name   string
		prev   time.Duration
		window []failslow.Sample
		want   time.Duration
	}{
		{"one peer and the slow drive", 0, []failslow.Sample{smp(0, 8*ms, 40), smp(1, 64*ms, 12), smp(2, 8*ms, 3)}, 16 * ms},
		{"six drives, one slow", 0, []failslow.Sample{smp(0, 8*ms, 40), smp(1, 64*ms, 40), smp(2, 4*ms, 40), smp(3, 8*ms, 40), smp(4, 16*ms, 40), smp(5, 8*ms, 40)}, 16 * ms},
		{"a new window replaces the last deadline", 16 * ms, []failslow.Sample{smp(0, 32*ms, 40), smp(1, 32*ms, 40)}, 64 * ms},
		{"drives with too few requests do not count", 0, []failslow.Sample{smp(0, 128*ms, 9), smp(1, 2*ms, 10), smp(2, 4*ms, 10)}, 4 * ms},
		{"only the slow drive read: the last deadline stands", 16 * ms, []failslow.Sample{smp(0, 64*ms, 17), smp(1, 8*ms, 2)}, 16 * ms},
		{"only one drive ever read: its own", 0, []failslow.Sample{smp(0, 8*ms, 170), smp(1, 8*ms, 2)}, 16 * ms},
		{"nothing read: the last deadline stands", 16 * ms, []failslow.Sample{smp(0, 8*ms, 2)}, 16 * ms},
		{"nothing ever read: no hedging", 0, []failslow.Sample{smp(0, 8*ms, 2), smp(1, 8*ms, 0)}, 0},
		{"at least a millisecond", 0, []failslow.Sample{smp(0, 64*time.Microsecond, 40), smp(1, 128*time.Microsecond, 40)}, ms},
	} {
		if got := hedgeDeadline(c.prev, c.window, 10); got != c.want {
			t.Errorf("%s: deadline %v, want %v", c.name, got, c.want)
		}
	}
}
