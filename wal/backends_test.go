package wal

// The basic commit / replay / checkpoint round trip on every kind of
// drive the journal runs on: regular files and loop devices through
// io/direct (O_DIRECT, fdatasync), and emulated zoned drives (sequential
// ring zones, ZNS and SMR behaviour, two open and two active zones).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/devtest"
	"github.com/plinth-storage/plinth/io/direct"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/seg"
)

// drives is three drives for the mirrors: open opens them (creating them
// the first time), locate places the ring on one.
type drives struct {
	open   func(t *testing.T) []dev.Device
	locate func(d dev.Device) []seg.Location
}

// conventionalRing is ring segments of segSize from offset 0.
func conventionalRing(ring int, segSize int64) func(dev.Device) []seg.Location {
	return func(d dev.Device) []seg.Location {
		var locs []seg.Location
		for i := 0; i < ring; i++ {
			locs = append(locs, seg.Location{Dev: d, Index: uint32(i), Start: int64(i) * segSize, Capacity: segSize})
		}
		return locs
	}
}

// fileDrives is three regular files in dir of size bytes.
func fileDrives(dir string, size int64) func(t *testing.T) []dev.Device {
	return func(t *testing.T) []dev.Device {
		var ds []dev.Device
		for m := 0; m < 3; m++ {
			d, err := direct.Open(filepath.Join(dir, fmt.Sprintf("drive%d.img", m)), direct.Options{Create: true, Size: size})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			ds = append(ds, d)
		}
		return ds
	}
}

// loopDevices attaches three loop devices (direct IO) over files of size
// bytes in dir, detached when t ends. It skips t without root or losetup.
func loopDevices(t testing.TB, dir string, size int64) []string {
	t.Helper()
	var paths []string
	for m := 0; m < 3; m++ {
		file := filepath.Join(dir, fmt.Sprintf("loop%d.img", m))
		if err := writeZeros(file, size); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, devtest.LoopDevice(t, file, 0))
	}
	return paths
}

// writeZeros creates file with size bytes of written zeros (not a sparse
// hole, not unwritten extents: later writes overwrite allocated blocks).
func writeZeros(file string, size int64) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		n := min(int64(len(buf)), size-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func openPaths(paths []string) func(t *testing.T) []dev.Device {
	return func(t *testing.T) []dev.Device {
		var ds []dev.Device
		for _, p := range paths {
			d, err := direct.Open(p, direct.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			ds = append(ds, d)
		}
		return ds
	}
}

// zonedFileDrives is three emulated zoned drives on files in dir: one
// conventional zone, then the ring's sequential zones.
func zonedFileDrives(dir string, cfg zonemu.Config) drives {
	size := int64(cfg.NrZones)*cfg.ZoneSize + zonemu.MetadataSize(cfg)
	files := fileDrives(dir, size)
	created := false
	return drives{
		open: func(t *testing.T) []dev.Device {
			var ds []dev.Device
			for m, f := range files(t) {
				var zd *zonemu.Device
				var err error
				if created {
					zd, err = zonemu.Open(f)
				} else {
					zd, err = zonemu.Create(f, cfg)
				}
				if err != nil {
					t.Fatalf("drive %d: %v", m, err)
				}
				ds = append(ds, zd)
			}
			created = true
			return ds
		},
		locate: func(d dev.Device) []seg.Location {
			z, _ := dev.AsZoned(d)
			zones, err := z.ReportZones(0, 0)
			if err != nil {
				panic(err)
			}
			var locs []seg.Location
			for i, zn := range zones {
				if zn.Sequential() {
					locs = append(locs, seg.Location{Dev: d, Index: uint32(i), Start: zn.Start, Capacity: zn.Capacity, Sequential: true})
				}
			}
			return locs
		},
	}
}

var backendDrives = []uuid.UUID{
	uuid.MustParse("b0000000-0000-4000-8000-000000000000"),
	uuid.MustParse("b1111111-1111-4111-8111-111111111111"),
	uuid.MustParse("b2222222-2222-4222-8222-222222222222"),
}

// roundTrip creates a journal on the drives, commits concurrently with
// checkpoints until the ring has wrapped, closes everything, reopens the
// drives and the journal from the checkpoint, checks that the replay is
// exactly the acknowledged transactions after it, and does it twice more.
func roundTrip(t *testing.T, d drives, ring int) {
	l := newLedger()
	var ids atomic.Uint64
	options := func(ds []dev.Device) Options {
		var ms []Mirror
		for m, dv := range ds {
			ms = append(ms, Mirror{Name: fmt.Sprintf("mirror%d", m), Node: testNode, Drive: backendDrives[m], Ring: d.locate(dv)})
		}
		return Options{Mirrors: ms}
	}
	closeAll := func(ds []dev.Device) {
		for _, dv := range ds {
			if err := dv.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	ds := d.open(t)
	if n := len(options(ds).Mirrors[0].Ring); n != ring {
		t.Fatalf("ring of %d segments, want %d", n, ring)
	}
	w, err := Create(options(ds))
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		before := w.Stats()
		commitConcurrently(t, w, l, &ids, 8, 300)
		st := w.Stats()
		if st.Segments-before.Segments < uint64(ring) {
			t.Fatalf("round %d: %d segments started; the ring of %d did not wrap", round, st.Segments-before.Segments, ring)
		}
		if st.Healthy != 3 || st.ReadOnly || st.Batches >= st.Commits {
			t.Fatalf("round %d: %+v", round, st)
		}
		w.Close()
		closeAll(ds)

		ds = d.open(t)
		ckpt := l.checkpoint()
		var got []replayed
		w, err = Open(options(ds), ckpt, func(lsn LSN, txn []byte) error {
			got = append(got, replayed{lsn, append([]byte(nil), txn...)})
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: reopen from checkpoint %d: %v", round, ckpt, err)
		}
		doubtful, err := l.verify(ckpt, got)
		if err != nil {
			t.Fatalf("round %d: replay from checkpoint %d: %v", round, ckpt, err)
		}
		if len(doubtful) != 0 {
			t.Fatalf("round %d: %d transactions replayed that were never acknowledged", round, len(doubtful))
		}
		if len(got) == 0 {
			t.Fatalf("round %d: nothing after the checkpoint %d to replay", round, ckpt)
		}
		st = w.Stats()
		if st.Healthy != 3 || st.ReadOnly || st.NextLSN != ckpt+LSN(len(got))+1 {
			t.Fatalf("round %d: after reopening: %+v", round, st)
		}
		l.settle(ckpt, nil, true, st.NextLSN)
	}
	w.Close()
	closeAll(ds)
}

// commitConcurrently commits n transactions (1 byte to 20 KiB) from
// committers goroutines, checkpointing now and then an acknowledged LSN a
// little behind the newest.
func commitConcurrently(t *testing.T, w *WAL, l *ledger, ids *atomic.Uint64, committers, n int) {
	t.Helper()
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(n))
	errs := make(chan error, committers)
	for c := 0; c < committers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), ids.Load()))
			for left.Add(-1) >= 0 {
				id := ids.Add(1)
				size := txnSize(rng)
				l.begin(id, size)
				lsn, err := w.Commit(context.Background(), payload(id, size))
				if err != nil {
					errs <- err
					return
				}
				l.ack(lsn, id, size)
				if id%8 == 0 {
					if ck := l.pickCheckpoint(rng, 16); ck != 0 {
						if err := w.Checkpoint(ck); err != nil {
							errs <- err
							return
						}
					}
				}
			}
		}()
	}
	// The committers checkpoint only after their own commits; when all of
	// them wait for space at once (a small ring, a slow disk) nobody would
	// release it. A node's store checkpoints in the background by journal
	// size, and so does this goroutine, every few milliseconds.
	stop := make(chan struct{})
	background := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(uint64(committers), ids.Load()))
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				background <- nil
				return
			case <-tick.C:
				if ck := l.pickCheckpoint(rng, 16); ck != 0 {
					if err := w.Checkpoint(ck); err != nil {
						background <- err
						return
					}
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	if err := <-background; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if p := l.takeProblems(); len(p) > 0 {
		t.Fatal(strings.Join(p, "; "))
	}
}

func TestBackendFiles(t *testing.T) {
	t.Parallel()
	const ring, segSize = 4, 128 << 10
	roundTrip(t, drives{open: fileDrives(t.TempDir(), ring*segSize), locate: conventionalRing(ring, segSize)}, ring)
}

func TestBackendLoopDevices(t *testing.T) {
	t.Parallel()
	const ring, segSize = 4, 128 << 10
	paths := loopDevices(t, t.TempDir(), ring*segSize)
	roundTrip(t, drives{open: openPaths(paths), locate: conventionalRing(ring, segSize)}, ring)
}

// TestBackendZoned runs on emulated zoned drives (files underneath) whose
// ring segments are sequential zones, with ZNS (no implicit close) and
// SMR behaviour and at most two open and two active zones: the journal
// keeps one segment open per mirror and finishes the zones it seals.
func TestBackendZoned(t *testing.T) {
	for _, c := range []struct {
		name     string
		behavior zonemu.Behavior
		capacity int64
	}{
		{"zns", zonemu.BehaviorZNS, 96 << 10},
		{"smr", zonemu.BehaviorSMR, 128 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := zonemu.Config{
				ZoneSize: 128 << 10, ZoneCapacity: c.capacity,
				NrZones: 6, NrConventional: 1,
				MaxOpenZones: 2, MaxActiveZones: 2,
				LogicalBlockSize: 4096, Behavior: c.behavior,
			}
			roundTrip(t, zonedFileDrives(t.TempDir(), cfg), 5)
		})
	}
}
