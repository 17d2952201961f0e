// Package benchrig is what the tests and benchmarks of the offline tools
// (fsck, the beck) share: a node formatted on file drives, settings from
// the environment, and what the benchmarks compare themselves with, the
// raw sequential read rate of a node's drives
// through the drives' own IO path (appliance.OpenDevice: direct IO), over
// the segments that hold data (the ones a deep scan or an index rebuild
// reads), all drives at once, in 1 MiB reads, one reader per drive.
// On a drive that is a sparse file only the allocated parts of those
// segments are read (SEEK_DATA and SEEK_HOLE): a hole is read without any
// IO, so timing the holes past a set's frontier would make the drives
// look several times faster than they are.
package benchrig

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/superblock"
)

// DataSegments reads every written data segment of the drives at paths
// (a stopped node's) and returns the bytes read and the rate in bytes
// per second.
func DataSegments(paths []string) (bytes int64, perSecond float64, err error) {
	type span struct{ off, n int64 }
	spans := make([][]span, len(paths))
	devs := make([]dev.Device, len(paths))
	defer func() {
		for _, d := range devs {
			if d != nil {
				d.Close()
			}
		}
	}()
	for i, p := range paths {
		d, err := appliance.OpenDevice(p)
		if err != nil {
			return 0, 0, err
		}
		devs[i] = d
		lg, err := superblock.Open(d)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", p, err)
		}
		l := lg.Label()
		for s := uint32(0); s < l.NrSegments; s++ {
			if s >= l.RingFirst && s < l.RingFirst+l.RingCount || s >= l.SegFirst && s < l.SegFirst+l.SegCount {
				continue // the journal ring and the metadata segments
			}
			loc, err := seg.Locate(d, l.Layout, s)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: segment %d: %w", p, s, err)
			}
			if _, err := seg.Scan(loc, seg.Expect{Kind: seg.KindData}); err != nil {
				continue
			}
			allocated, err := dataRanges(p, loc.Start, loc.Capacity)
			if err != nil {
				return 0, 0, err
			}
			for _, r := range allocated {
				spans[i] = append(spans[i], span{r[0], r[1]})
			}
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	start := time.Now()
	for i, d := range devs {
		wg.Go(func() {
			buf := dev.AlignedBuffer(1 << 20)
			var n int64
			for _, sp := range spans[i] {
				for off := sp.off; off < sp.off+sp.n; off += int64(len(buf)) {
					k := min(int64(len(buf)), sp.off+sp.n-off)
					if _, err := d.ReadAt(buf[:k], off); err != nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, fmt.Errorf("%s at %d: %w", paths[i], off, err))
						mu.Unlock()
						return
					}
					n += k
				}
			}
			mu.Lock()
			bytes += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	return bytes, float64(bytes) / time.Since(start).Seconds(), nil
}

// dataRanges returns the allocated ranges [off, off+n) of [start,
// start+length) of the file at path, aligned out to 1 MiB; the whole range
// when path is not a regular file or cannot say where its holes are.
func dataRanges(path string, start, length int64) ([][2]int64, error) {
	whole := [][2]int64{{start, length}}
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return whole, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const align = 1 << 20
	var out [][2]int64
	end := start + length
	for off := start; off < end; {
		data, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, unix.ENXIO) { // no data after off
				break
			}
			return whole, nil // the filesystem cannot say
		}
		if data >= end {
			break
		}
		hole, err := unix.Seek(int(f.Fd()), data, unix.SEEK_HOLE)
		if err != nil {
			return whole, nil
		}
		from := max(start, data/align*align)
		to := min(end, (hole+align-1)/align*align)
		if n := len(out); n > 0 && out[n-1][0]+out[n-1][1] >= from {
			out[n-1][1] = max(out[n-1][1], to-out[n-1][0])
		} else {
			out = append(out, [2]int64{from, to - from})
		}
		off = to
	}
	return out, nil
}

func cmpErr(have, next error) error {
	if have != nil {
		return have
	}
	return next
}
