package beck

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
	"github.com/plinth-storage/plinth/superblock"
)

// BenchmarkRebuildIndex rebuilds the index of a node of six file drives
// (4+2) holding BECK_BENCH_OBJECTS objects (default 2000) of 1 KiB to
// BECK_BENCH_MAX bytes (default 256 KiB) with attributes, every metadata copy wiped before each
// rebuild. It reports the scan's rate (stream bytes read per second),
// the raw sequential read rate of the same drives through the same IO
// path measured in the same run, just before each rebuild (rawRead),
// and their ratio, the raw rate counted for the data members only (the
// scan reads no parity unless a member is missing):
//
//	go test -run - -bench RebuildIndex ./tools/beck/
func BenchmarkRebuildIndex(b *testing.B) {
	count := 2000
	if s := os.Getenv("BECK_BENCH_OBJECTS"); s != "" {
		var err error
		if count, err = strconv.Atoi(s); err != nil || count < 1 {
			b.Fatalf("BECK_BENCH_OBJECTS=%q", s)
		}
	}
	maxSize := 256 << 10
	if s := os.Getenv("BECK_BENCH_MAX"); s != "" {
		var err error
		if maxSize, err = strconv.Atoi(s); err != nil || maxSize < 2<<10 {
			b.Fatalf("BECK_BENCH_MAX=%q", s)
		}
	}
	t := &testing.T{}
	n := &testNode{t: t, objects: map[string]object{}, deleted: map[string]bool{}, buckets: map[string]bool{}}
	dir := b.TempDir()
	driveBytes := max(int64(count)*int64(maxSize+8<<10)*3/4, 256<<20)
	var devs []dev.Device
	for i := range testDrives {
		p := filepath.Join(dir, fmt.Sprintf("drive-%d.img", i))
		d, err := direct.Open(p, direct.Options{Create: true, Size: driveBytes})
		if err != nil {
			b.Fatal(err)
		}
		devs = append(devs, d)
		n.paths = append(n.paths, p)
	}
	if _, err := appliance.FormatNode(devs, appliance.FormatOptions{SegmentSize: 16 << 20}); err != nil {
		b.Fatal(err)
	}
	for _, d := range devs {
		d.Close()
	}
	var written int64
	n.run(func(obj *objects.Store) {
		if _, err := obj.CreateBucket(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range 16 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for i := w; i < count; i += 16 {
					data := make([]byte, 1<<10+rng.IntN(maxSize-1<<10))
					for j := range data {
						data[j] = byte(rng.Uint32())
					}
					_, err := obj.Put(ctx, "bench", fmt.Sprintf("obj-%06d", i), bytes.NewReader(data),
						objects.PutOptions{Size: int64(len(data)), ContentType: "application/octet-stream", Metadata: map[string]string{"i": strconv.Itoa(i)}})
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					written += int64(len(data))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	})
	if b.Failed() || t.Failed() {
		b.FailNow()
	}
	n.t = t
	b.ResetTimer()
	var scanned, secs, raw float64
	for range b.N {
		b.StopTimer()
		raw += rawRead(b, n.paths) / float64(b.N)
		n.wipeMetadata()
		b.StartTimer()
		r, err := Rebuild(ctx, Options{Drives: n.paths})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%d objects: %s", count, phaseTimes(r))
		if r.Counters.Objects != int64(count) || r.ExitCode != 1 {
			b.Fatalf("restored %d objects of %d, exit %d", r.Counters.Objects, count, r.ExitCode)
		}
		scanned += float64(r.Counters.BytesScanned)
		secs += r.ScanSeconds
	}
	b.StopTimer()
	l := stripe.Layout{N: 4, K: 2}
	scanRate := scanned / secs / 1e6
	b.ReportMetric(float64(count), "objects")
	b.ReportMetric(float64(written)/1e6, "MB-of-objects")
	b.ReportMetric(scanRate, "scan-MB/s")
	b.ReportMetric(raw/1e6, "raw-MB/s")
	b.ReportMetric(scanRate/(raw/1e6*float64(l.N)/float64(l.N+l.K)), "scan/raw-data")
}

// rawRead reads, on every drive at once, the data segments holding a
// set's member (those the scan reads from), in 1 MiB reads through the
// drives' own IO path (appliance.OpenDevice, direct IO), one reader per
// drive, and returns the bytes per second. Reading the drives whole
// would time the holes of sparse files too.
func rawRead(b *testing.B, paths []string) float64 {
	b.Helper()
	var total int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	type span struct{ off, n int64 }
	spans := make([][]span, len(paths))
	devs := make([]dev.Device, len(paths))
	for i, p := range paths {
		d, err := appliance.OpenDevice(p)
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		devs[i] = d
		lg, err := superblock.Open(d)
		if err != nil {
			b.Fatal(err)
		}
		l := lg.Label()
		for s := uint32(0); s < l.NrSegments; s++ {
			if s >= l.RingFirst && s < l.RingFirst+l.RingCount || s >= l.SegFirst && s < l.SegFirst+l.SegCount {
				continue
			}
			loc, err := seg.Locate(d, l.Layout, s)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := seg.Scan(loc, seg.Expect{Kind: seg.KindData}); err == nil {
				spans[i] = append(spans[i], span{loc.Start, loc.Capacity})
			}
		}
	}
	start := time.Now()
	for i, d := range devs {
		wg.Go(func() {
			buf := dev.AlignedBuffer(1 << 20)
			var n int64
			for _, sp := range spans[i] {
				for off := sp.off; off < sp.off+sp.n; off += int64(len(buf)) {
					k := min(int64(len(buf)), sp.off+sp.n-off)
					if _, err := d.ReadAt(buf[:k], off); err != nil {
						b.Error(err)
						return
					}
					n += k
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	return float64(total) / time.Since(start).Seconds()
}

// phaseTimes lists how long each phase of a rebuild took.
func phaseTimes(r Report) string {
	var parts []string
	for _, p := range r.Phases {
		parts = append(parts, fmt.Sprintf("%s %.2fs", p.Phase, p.Seconds))
	}
	return strings.Join(parts, ", ")
}
