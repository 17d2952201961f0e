package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
)

// rawIO is the request size of the raw sequential passes, and the size of
// the raw random reads.
const (
	rawIO       = 1 << 20
	rawRandSize = 256 << 10
)

// rawDrives are plain files beside the node's drives (same directory,
// same filesystem, same disk), one per node drive, driven with O_DIRECT
// through io/direct: the baseline the node's figures are divided by.
type rawDrives struct {
	devs   []dev.Device
	region int64 // bytes of each file a write pass may use
	depth  int   // requests in flight per drive
	direct bool  // every file was opened with O_DIRECT

	// written is how much of each file the last write pass left (reads
	// stay inside it: a hole reads without touching the disk); readPos
	// is where the sequential reads go on, so that two read passes do
	// not reread the same blocks (a cache under the VM would serve them).
	written int64
	readPos []atomic.Int64
}

func openRaw(dir string, drives int, region int64, depth int) (*rawDrives, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	r := &rawDrives{region: region / rawIO * rawIO, depth: depth, direct: true, readPos: make([]atomic.Int64, drives)}
	if r.region < rawIO {
		return nil, fmt.Errorf("raw region %d: at least 1 MiB", region)
	}
	for i := range drives {
		d, err := direct.Open(filepath.Join(dir, fmt.Sprintf("raw-%d.img", i)), direct.Options{Create: true, Size: r.region})
		if err != nil {
			r.close()
			return nil, fmt.Errorf("raw drive: %w", err)
		}
		r.devs = append(r.devs, d)
		if !d.Geometry().DirectIO {
			r.direct = false
		}
	}
	return r, nil
}

func (r *rawDrives) close() error {
	var errs []error
	for _, d := range r.devs {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// write writes every drive sequentially in 1 MiB requests, depth in
// flight per drive, for d (wrapping inside the region if it is reached),
// then flushes them. The files are emptied (holes punched) first, so that
// the writes allocate fresh blocks as the node's writes to reset zones do.
// It returns the bytes written and the time taken, the flush included.
func (r *rawDrives) write(ctx context.Context, d time.Duration) (int64, time.Duration, error) {
	for _, dv := range r.devs {
		if err := dv.Discard(0, r.region); err != nil {
			return 0, 0, err
		}
	}
	if err := r.flush(); err != nil {
		return 0, 0, err
	}
	buf := dev.AlignedBuffer(rawIO)
	for i := range buf {
		buf[i] = byte(i*7 + i>>12)
	}
	next := make([]atomic.Int64, len(r.devs))
	var total atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	err := r.each(func(i int) error {
		for time.Now().Before(deadline) && ctx.Err() == nil {
			n := next[i].Add(rawIO) - rawIO
			if _, err := r.devs[i].WriteAt(buf, n%r.region); err != nil {
				return err
			}
			total.Add(rawIO)
		}
		return nil
	})
	if err == nil {
		err = r.flush()
	}
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	var least int64 = r.region
	for i := range next {
		least = min(least, next[i].Load())
	}
	r.written = least / rawIO * rawIO
	for i := range r.readPos {
		r.readPos[i].Store(0)
	}
	return total.Load(), elapsed, ctx.Err()
}

// read reads every drive sequentially in 1 MiB requests, depth in flight
// per drive, for d, inside what the last write pass wrote.
func (r *rawDrives) read(ctx context.Context, d time.Duration) (int64, time.Duration, error) {
	if r.written < rawIO {
		return 0, 0, errors.New("raw read: nothing written")
	}
	var total atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	err := r.each(func(i int) error {
		buf := dev.AlignedBuffer(rawIO)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			n := r.readPos[i].Add(rawIO) - rawIO
			if _, err := r.devs[i].ReadAt(buf, n%r.written); err != nil {
				return err
			}
			total.Add(rawIO)
		}
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	return total.Load(), elapsed, ctx.Err()
}

// randomReads reads 256 KiB at random aligned offsets of what the last
// write pass wrote, one request at a time per drive (an idle disk's
// latency), for d, and returns every read's duration.
func (r *rawDrives) randomReads(ctx context.Context, d time.Duration) ([]time.Duration, error) {
	if r.written < rawRandSize {
		return nil, errors.New("raw random read: nothing written")
	}
	slots := r.written / rawRandSize
	lat := make([][]time.Duration, len(r.devs))
	deadline := time.Now().Add(d)
	err := r.eachDrive(func(i int) error {
		buf := dev.AlignedBuffer(rawRandSize)
		rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
		for time.Now().Before(deadline) && ctx.Err() == nil {
			off := rng.Int64N(slots) * rawRandSize
			t := time.Now()
			if _, err := r.devs[i].ReadAt(buf, off); err != nil {
				return err
			}
			lat[i] = append(lat[i], time.Since(t))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	return all, ctx.Err()
}

// each runs f for every drive, depth goroutines per drive, and returns the
// first error.
func (r *rawDrives) each(f func(drive int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(r.devs)*r.depth)
	for i := range r.devs {
		for k := range r.depth {
			wg.Go(func() { errs[i*r.depth+k] = f(i) })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// eachDrive runs f once per drive, concurrently.
func (r *rawDrives) eachDrive(f func(drive int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(r.devs))
	for i := range r.devs {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *rawDrives) flush() error {
	var errs []error
	for _, d := range r.devs {
		errs = append(errs, d.Flush())
	}
	return errors.Join(errs...)
}
