package zonemu

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// Writers append to their own zones while flushes, reports, reads and
// resets run concurrently; with an SMR open limit below the number of
// writers, zones are implicitly closed under in-flight writes. Run with
// -race.
func TestConcurrent(t *testing.T) {
	cfg := Config{ZoneSize: 32 * tLBS, ZoneCapacity: 30 * tLBS, NrZones: 12, NrConventional: 1,
		MaxOpenZones: 3, MaxActiveZones: 0, LogicalBlockSize: tLBS, Behavior: BehaviorSMR}
	d, m := create(t, cfg)
	const writers = 6
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	final := make([][]byte, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			z := 1 + w
			start := int64(z) * cfg.ZoneSize
			var data []byte
			for round := range 40 {
				if len(data) == int(cfg.ZoneCapacity) || round%15 == 14 {
					if err := d.ResetZone(start); err != nil {
						errs <- fmt.Errorf("writer %d: reset: %w", w, err)
						return
					}
					data = nil
				}
				n := tLBS * (1 + round%3)
				n = min(n, int(cfg.ZoneCapacity)-len(data))
				p := pattern(n, byte(w*40+round))
				if _, err := d.WriteAt(p, start+int64(len(data))); err != nil {
					errs <- fmt.Errorf("writer %d: write: %w", w, err)
					return
				}
				data = append(data, p...)
				got := dev.AlignedBuffer(len(data))
				if _, err := d.ReadAt(got, start); err != nil || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("writer %d: read back differs (%v)", w, err)
					return
				}
			}
			final[w] = data
		}()
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := d.Flush(); err != nil {
				errs <- fmt.Errorf("flush: %w", err)
				return
			}
		}
	}()
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			zs, err := d.ReportZones(0, 0)
			if err != nil {
				errs <- err
				return
			}
			open := 0
			for _, z := range zs {
				if z.Cond.IsOpen() {
					open++
				}
			}
			if open > cfg.MaxOpenZones {
				errs <- fmt.Errorf("%d zones open", open)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	bg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		t.Fatal(err)
	}
	mustOK(t, d.Flush())
	d2, _ := reopen(t, m)
	for w, data := range final {
		wantData(t, d2, int64(1+w)*cfg.ZoneSize, data)
	}
}
