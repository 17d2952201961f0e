package faultdev

import (
	"sync"
	"testing"
	"time"
)

// minTime is how long moving n bytes at bw bytes/s takes at least.
func minTime(n, bw int64) time.Duration {
	return time.Duration(float64(n) / float64(bw) * float64(time.Second))
}

// Reads and writes share the bandwidth: X bytes take at least X/B, issued
// one after another or from several goroutines at once (the transfers
// queue; they do not each get B). The upper bounds are only there to catch
// waits that pile up wrongly, and are loose.
func TestBandwidth(t *testing.T) {
	const bw = 4 << 20 // 4 MiB/s
	t.Run("sequential", func(t *testing.T) {
		d := New(newMemDev(), 1)
		d.Bandwidth(bw)
		const ios, blocks = 16, 8 // 16 IOs of 32 KiB: 512 KiB, 125 ms
		start := time.Now()
		for i := range ios {
			off := int64(i%(testSize/testBlock/blocks)) * blocks * testBlock
			if i%2 == 0 {
				mustWrite(t, d, fill(blocks, byte(i)), off)
			} else {
				mustRead(t, d, off, blocks)
			}
		}
		el := time.Since(start)
		want := minTime(ios*blocks*testBlock, bw)
		if el < want {
			t.Errorf("%d KiB took %v, want at least %v", ios*blocks*testBlock>>10, el, want)
		}
		if el > 20*want {
			t.Errorf("%d KiB took %v, want far less than %v", ios*blocks*testBlock>>10, el, 20*want)
		}
		if busy := d.Stats().Busy; busy < want-time.Millisecond || busy > want+time.Millisecond {
			t.Errorf("the channel counts %v busy for %d KiB, want %v", busy, ios*blocks*testBlock>>10, want)
		}
		t.Logf("%d KiB sequentially in %v (at least %v)", ios*blocks*testBlock>>10, el, want)
	})
	t.Run("concurrent", func(t *testing.T) {
		d := New(newMemDev(), 1)
		d.Bandwidth(bw)
		const goroutines, ios, blocks = 8, 4, 4 // 8 x 4 IOs of 16 KiB: 512 KiB, 125 ms
		start := time.Now()
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				off := int64(g) * blocks * testBlock
				for i := range ios {
					var err error
					if i%2 == 0 {
						_, err = d.WriteAt(fill(blocks, byte(g)), off)
					} else {
						_, err = d.ReadAt(fill(blocks, 0), off)
					}
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		el := time.Since(start)
		total := int64(goroutines * ios * blocks * testBlock)
		want := minTime(total, bw)
		if el < want {
			t.Errorf("%d KiB from %d goroutines took %v, want at least %v: they did not share the bandwidth", total>>10, goroutines, el, want)
		}
		if el > 20*want {
			t.Errorf("%d KiB from %d goroutines took %v, want far less than %v", total>>10, goroutines, el, 20*want)
		}
		t.Logf("%d KiB from %d goroutines in %v (at least %v)", total>>10, goroutines, el, want)
	})
}

// Bandwidth(0) and ClearFaults disable the cap; flushes, discards and
// zone operations are never delayed; the cap is not a counted fault.
func TestBandwidthDisabled(t *testing.T) {
	d := New(newMemDev(), 1)
	write := func() error { _, err := d.WriteAt(fill(4, 'a'), 0); return err }
	read := func() error { _, err := d.ReadAt(fill(4, 0), 0); return err }
	// within: op returns within a minute, where 1 byte/s would make it
	// take more than an hour.
	within := func(what string, op func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- op() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s still waiting after a minute", what)
		}
	}
	d.Bandwidth(1)
	within("flush at 1 byte/s", d.Flush)
	within("discard at 1 byte/s", func() error { return d.Discard(0, testBlock) })
	d.Bandwidth(0)
	within("write after Bandwidth(0)", write)
	within("read after Bandwidth(0)", read)
	d.Bandwidth(1)
	d.ClearFaults()
	within("write after ClearFaults", write)
	within("read after ClearFaults", read)
	d.Bandwidth(-5)
	within("read after Bandwidth(-5)", read)
	if s := d.Stats(); s != (Stats{}) {
		t.Errorf("stats = %+v, want none", s)
	}
}
