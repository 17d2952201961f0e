package beck

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/stripe"
	"github.com/plinth-storage/plinth/tools/internal/benchrig"
)

// BenchmarkRebuildIndex rebuilds the index of a node of six file drives
// (4+2) holding BECK_BENCH_OBJECTS objects (default 2000) of 1 KiB to
// BECK_BENCH_MAX bytes (default 256 KiB) with attributes, written by
// BECK_BENCH_WRITERS writers at once (default 16; more writers share
// commits, so small objects pad fewer stripes), every metadata copy wiped
// before each rebuild. BECK_BENCH_DRIVE_MB sizes the (sparse) drive files
// when the default, from the objects' sizes, leaves too little metadata
// space (a drive's metadata segments are a 32nd of it). It reports the scan's rate (stream bytes read per second),
// the raw sequential read rate of the same drives through the same IO
// path measured in the same run, just before each rebuild (rawRead),
// and their ratio, the raw rate counted for the data members only (the
// scan reads no parity unless a member is missing):
//
//	go test -run - -bench RebuildIndex ./tools/beck/
func BenchmarkRebuildIndex(b *testing.B) {
	count, err := benchrig.EnvInt("BECK_BENCH_OBJECTS", 2000, 1)
	if err != nil {
		b.Fatal(err)
	}
	maxSize, err := benchrig.EnvInt("BECK_BENCH_MAX", 256<<10, 2<<10)
	if err != nil {
		b.Fatal(err)
	}
	writers, err := benchrig.EnvInt("BECK_BENCH_WRITERS", 16, 1)
	if err != nil {
		b.Fatal(err)
	}
	driveMB, err := benchrig.EnvInt("BECK_BENCH_DRIVE_MB", 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	t := &testing.T{}
	n := &testNode{t: t, objects: map[string]object{}, deleted: map[string]bool{}, buckets: map[string]bool{}}
	driveBytes := max(int64(count)*int64(maxSize+8<<10)*3/4, 256<<20, int64(driveMB)<<20)
	if n.paths, err = benchrig.FormatFiles(b.TempDir(), testDrives, driveBytes, 16<<20); err != nil {
		b.Fatal(err)
	}
	var written int64
	n.run(func(obj *objects.Store) {
		if _, err := obj.CreateBucket(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for i := w; i < count; i += writers {
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

// rawRead is the raw sequential read rate of the node's data segments
// (benchrig.DataSegments), in bytes per second.
func rawRead(b *testing.B, paths []string) float64 {
	b.Helper()
	_, rate, err := benchrig.DataSegments(paths)
	if err != nil {
		b.Fatal(err)
	}
	return rate
}

// phaseTimes lists how long each phase of a rebuild took.
func phaseTimes(r Report) string {
	var parts []string
	for _, p := range r.Phases {
		parts = append(parts, fmt.Sprintf("%s %.2fs", p.Phase, p.Seconds))
	}
	return strings.Join(parts, ", ")
}
