package faultdev

import (
	"sync"
	"testing"
	"time"
)

// Concurrent callers are safe (run with -race) and their delays overlap.
func TestConcurrentUse(t *testing.T) {
	d := New(newMemDev(), 11)
	d.Latency(OpRead, 10*time.Millisecond, 0)
	d.FlipOnReadRate(0.5)
	d.TornWriteRate(0.5)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			off := int64(g) * 2 * testBlock
			for range 5 {
				if _, err := d.WriteAt(fill(2, byte(g)), off); err != nil {
					t.Error(err)
				}
				if _, err := d.ReadAt(fill(2, 0), off); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if el := time.Since(start); el > 8*5*10*time.Millisecond {
		t.Errorf("40 reads of 10ms each took %v: delays did not overlap", el)
	}
	if err := d.PowerCut(CutDrop); err != nil {
		t.Fatal(err)
	}
}
