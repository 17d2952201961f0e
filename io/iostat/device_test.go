package iostat

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
)

const block = 4096

// stepClock returns t on a start and t plus the next latency on the
// completion: each operation takes exactly lat. Sequential use only.
type stepClock struct {
	t     time.Duration
	lat   time.Duration
	start bool
}

func (c *stepClock) now() time.Duration {
	c.start = !c.start
	if !c.start {
		c.t += c.lat
	}
	return c.t
}

func TestForwardsData(t *testing.T) {
	d := Wrap(memdev.New("m", 16*block, block))
	defer d.Close()
	w := dev.AlignedBuffer(2 * block)
	for i := range w {
		w[i] = byte(i * 7)
	}
	if n, err := d.WriteAt(w, block); err != nil || n != len(w) {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	r := dev.AlignedBuffer(2 * block)
	if n, err := d.ReadAt(r, block); err != nil || n != len(r) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.Equal(r, w) {
		t.Fatal("read back differs from what was written")
	}
	if err := d.Discard(0, block); err != nil {
		t.Fatal(err)
	}
	if d.Path() != "m" || d.Geometry() != d.Inner().Geometry() {
		t.Fatalf("path %q / geometry %+v not the inner device's", d.Path(), d.Geometry())
	}
	s := d.Snapshot()
	want := [NumKinds][2]int64{Read: {1, 2 * block}, Write: {1, 2 * block}, Flush: {1, 0}, Other: {1, 0}}
	for k, o := range s.Ops {
		if o.Count != want[k][0] || o.Bytes != want[k][1] || o.Errors != 0 || o.InFlight != 0 {
			t.Errorf("%s: %+v, want count %d bytes %d", Kind(k), o, want[k][0], want[k][1])
		}
		if o.Total() != o.Count {
			t.Errorf("%s: histogram holds %d operations, count %d", Kind(k), o.Total(), o.Count)
		}
	}
	if s.Path != "m" {
		t.Errorf("snapshot path %q", s.Path)
	}
}

func TestForwardsErrors(t *testing.T) {
	fd := faultdev.New(memdev.New("m", 16*block, block), 1)
	fd.FailRange(faultdev.OpRead, 0, block)
	fd.FailRange(faultdev.OpWrite, 4*block, block)
	fd.FailRange(faultdev.OpFlush, 0, 16*block)
	d := Wrap(fd)
	buf := dev.AlignedBuffer(block)

	_, err := d.ReadAt(buf, 0)
	var oe *dev.OpError
	if !errors.Is(err, dev.ErrIO) || !errors.As(err, &oe) || oe.Op != "read" || oe.Offset != 0 {
		t.Fatalf("ReadAt error = %v, want the injected *dev.OpError wrapping dev.ErrIO", err)
	}
	if _, err := d.WriteAt(buf, 4*block); !errors.Is(err, dev.ErrIO) {
		t.Fatalf("WriteAt error = %v, want dev.ErrIO", err)
	}
	if err := d.Flush(); !errors.Is(err, dev.ErrIO) {
		t.Fatalf("Flush error = %v, want dev.ErrIO", err)
	}
	if _, err := d.ReadAt(buf, block); err != nil {
		t.Fatalf("ReadAt outside the bad range: %v", err)
	}
	// A misaligned request fails in the inner device, and is counted.
	if _, err := d.WriteAt(buf[:100], 0); !errors.Is(err, dev.ErrMisaligned) {
		t.Fatalf("misaligned WriteAt error = %v", err)
	}
	s := d.Snapshot()
	if r := s.Ops[Read]; r.Count != 2 || r.Errors != 1 || r.Bytes != block {
		t.Errorf("read: %+v, want 2 ops, 1 error, %d bytes", r, block)
	}
	if w := s.Ops[Write]; w.Count != 2 || w.Errors != 2 || w.Bytes != 0 {
		t.Errorf("write: %+v, want 2 ops, 2 errors, 0 bytes", w)
	}
	if f := s.Ops[Flush]; f.Count != 1 || f.Errors != 1 {
		t.Errorf("flush: %+v, want 1 op, 1 error", f)
	}
}

func TestZonedPreserved(t *testing.T) {
	plain := Wrap(memdev.New("m", 16*block, block))
	if _, ok := dev.AsZoned(plain); ok {
		t.Fatal("a wrapped conventional device reports zoned")
	}
	if err := plain.ResetZone(0); !errors.Is(err, dev.ErrNotZoned) {
		t.Fatalf("ResetZone on a conventional device = %v, want dev.ErrNotZoned", err)
	}
	if _, err := plain.ReportZones(0, 0); !errors.Is(err, dev.ErrNotZoned) {
		t.Fatalf("ReportZones on a conventional device = %v, want dev.ErrNotZoned", err)
	}
	if o := plain.Snapshot().Ops[Other]; o.Count != 0 {
		t.Fatalf("refused zone operations were counted: %+v", o)
	}

	const zone = 16 * block
	cfg := zonemu.Config{ZoneSize: zone, ZoneCapacity: zone, NrZones: 4, NrConventional: 1, LogicalBlockSize: block, Behavior: zonemu.BehaviorZNS}
	zd, err := zonemu.Create(memdev.New("z", 4*zone+zonemu.MetadataSize(cfg), block), cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := Wrap(zd)
	z, ok := dev.AsZoned(d)
	if !ok {
		t.Fatal("a wrapped zoned device does not report zoned")
	}
	buf := dev.AlignedBuffer(block)
	if _, err := z.WriteAt(buf, zone); err != nil {
		t.Fatal(err)
	}
	zs, err := z.ReportZones(zone, 1)
	if err != nil || len(zs) != 1 || zs[0].WritePointer != zone+block {
		t.Fatalf("ReportZones = %+v, %v; want the write pointer one block in", zs, err)
	}
	for _, op := range []func(int64) error{z.FinishZone, z.ResetZone, z.OpenZone, z.CloseZone} {
		if err := op(zone); err != nil {
			t.Fatal(err)
		}
	}
	// A write off the write pointer fails in the emulator, unchanged.
	if _, err := z.WriteAt(buf, zone+block); !errors.Is(err, dev.ErrNotAtWritePointer) {
		t.Fatalf("write off the write pointer = %v, want dev.ErrNotAtWritePointer", err)
	}
	s := d.Snapshot()
	if o := s.Ops[Other]; o.Count != 5 || o.Errors != 0 {
		t.Errorf("other: %+v, want 5 zone operations", o)
	}
	if w := s.Ops[Write]; w.Count != 2 || w.Errors != 1 {
		t.Errorf("write: %+v, want 2 ops, 1 error", w)
	}
}

func TestBucketPlacement(t *testing.T) {
	for _, c := range []struct {
		lat    time.Duration
		bucket int
	}{
		{0, 0},
		{500 * time.Nanosecond, 0},
		{time.Microsecond, 0},
		{1999 * time.Nanosecond, 0},
		{2 * time.Microsecond, 1},
		{3 * time.Microsecond, 1},
		{4 * time.Microsecond, 2},
		{1023 * time.Microsecond, 9},
		{1024 * time.Microsecond, 10},
		{10 * time.Millisecond, 13}, // 10000 µs: [8192, 16384)
		{time.Second, 19},           // 10^6 µs: [524288, 1048576)
		{time.Hour, NumBuckets - 1}, // past the last bound
		{-time.Second, 0},           // a clock step backwards
	} {
		clk := &stepClock{t: time.Hour, lat: c.lat}
		d := wrapClock(memdev.New("m", 4*block, block), clk.now)
		if err := d.Flush(); err != nil {
			t.Fatal(err)
		}
		o := d.Snapshot().Ops[Flush]
		for i, n := range o.Buckets {
			if want := int64(0); i == c.bucket {
				want = 1
				if n != want {
					t.Errorf("latency %v: bucket %d holds %d, want 1", c.lat, i, n)
				}
			} else if n != want {
				t.Errorf("latency %v: bucket %d holds %d, want it in bucket %d", c.lat, i, n, c.bucket)
			}
		}
		if want := max(c.lat.Microseconds(), 0); o.SumMicros != want {
			t.Errorf("latency %v: sum %d µs, want %d", c.lat, o.SumMicros, want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var o OpStats
	if o.Percentile(99) != 0 {
		t.Fatal("percentile of an empty histogram is not 0")
	}
	o.Buckets[0] = 90 // < 2 µs
	o.Buckets[3] = 9  // [8, 16) µs
	o.Buckets[10] = 1 // [1024, 2048) µs
	o.Count = 100
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{
		{0, 2 * time.Microsecond},
		{50, 2 * time.Microsecond},
		{90, 2 * time.Microsecond},
		{90.5, 16 * time.Microsecond},
		{99, 16 * time.Microsecond},
		{99.1, 2048 * time.Microsecond},
		{100, 2048 * time.Microsecond},
		{250, 2048 * time.Microsecond},
		{-3, 2 * time.Microsecond},
	} {
		if got := o.Percentile(c.p); got != c.want {
			t.Errorf("Percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	var top OpStats
	top.Buckets[NumBuckets-1] = 1
	if got, want := top.Percentile(50), time.Duration(1<<32)*time.Microsecond; got != want {
		t.Errorf("last bucket percentile = %v, want %v", got, want)
	}
	o.SumMicros = 5000
	if o.Mean() != 50*time.Microsecond {
		t.Errorf("Mean = %v", o.Mean())
	}
	d := o.Sub(OpStats{Count: 40, Buckets: [NumBuckets]int64{0: 40}, SumMicros: 1000})
	if d.Count != 60 || d.Buckets[0] != 50 || d.SumMicros != 4000 || d.Percentile(90) != 16*time.Microsecond {
		t.Errorf("Sub = %+v", d)
	}
}

func TestKindNames(t *testing.T) {
	want := []string{"read", "write", "flush", "other"}
	for i, k := range Kinds() {
		if k.String() != want[i] {
			t.Errorf("Kind(%d) = %q, want %q", i, k, want[i])
		}
	}
	if Kind(9).String() != "unknown" {
		t.Error("an out-of-range kind has a name")
	}
}

// blockingDev holds every read until released, so in-flight is visible.
type blockingDev struct {
	dev.Device
	entered chan struct{}
	release chan struct{}
}

func (b *blockingDev) ReadAt(p []byte, off int64) (int, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Device.ReadAt(p, off)
}

func TestInFlight(t *testing.T) {
	b := &blockingDev{Device: memdev.New("m", 4*block, block), entered: make(chan struct{}), release: make(chan struct{})}
	d := Wrap(b)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := d.ReadAt(dev.AlignedBuffer(block), 0); err != nil {
				t.Error(err)
			}
		})
	}
	for range 3 {
		<-b.entered
	}
	if n := d.Snapshot().Ops[Read].InFlight; n != 3 {
		t.Errorf("in flight = %d, want 3", n)
	}
	close(b.release)
	wg.Wait()
	if o := d.Snapshot().Ops[Read]; o.InFlight != 0 || o.Count != 3 {
		t.Errorf("after completion: %+v", o)
	}
}

func TestConcurrent(t *testing.T) {
	d := Wrap(memdev.New("m", 64*block, block))
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			buf := dev.AlignedBuffer(block)
			off := int64(w) * block
			for i := range each {
				var err error
				switch i % 4 {
				case 0:
					_, err = d.WriteAt(buf, off)
				case 1:
					_, err = d.ReadAt(buf, off)
				case 2:
					err = d.Flush()
				case 3:
					err = d.Discard(off, block)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { // snapshots race with the IO
		for {
			select {
			case <-done:
				return
			default:
				_ = d.Snapshot()
			}
		}
	}()
	wg.Wait()
	close(done)
	for k, o := range d.Snapshot().Ops {
		if o.Count != workers*each/4 || o.Total() != o.Count || o.InFlight != 0 || o.Errors != 0 {
			t.Errorf("%s: %+v, want %d operations", Kind(k), o, workers*each/4)
		}
	}
}

// TestStalled: a device with reads under way and none completing stalls
// for as long as the clock runs; a completion resets it, and an idle
// device is not stalled.
func TestStalled(t *testing.T) {
	b := &blockingDev{Device: memdev.New("m", 4*block, block), entered: make(chan struct{}), release: make(chan struct{}, 2)}
	d := Wrap(b)
	var now time.Duration
	var mu sync.Mutex
	d.clock = func() time.Duration { mu.Lock(); defer mu.Unlock(); return now }
	tick := func(by time.Duration) { mu.Lock(); now += by; mu.Unlock() }
	tick(time.Hour) // the clock does not start at 0
	if s := d.Stalled(); s != 0 {
		t.Fatalf("idle device stalled %v", s)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := d.ReadAt(dev.AlignedBuffer(block), 0); err != nil {
				t.Error(err)
			}
		})
	}
	<-b.entered
	<-b.entered
	tick(40 * time.Second)
	if s := d.Stalled(); s != 40*time.Second {
		t.Fatalf("stalled %v, want 40s", s)
	}
	b.release <- struct{}{} // one completes: progress
	deadline := time.Now().Add(5 * time.Second)
	for d.Snapshot().Ops[Read].Count != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	tick(time.Second)
	if s := d.Stalled(); s != time.Second {
		t.Fatalf("after a completion stalled %v, want 1s", s)
	}
	b.release <- struct{}{}
	wg.Wait()
	if s := d.Stalled(); s != 0 {
		t.Fatalf("all done, stalled %v", s)
	}
}
