package fsck

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/tools/internal/benchrig"
)

// BenchmarkDeepScan runs fsck --deep on a stopped node of six file drives
// (4+2, 64 MiB segments) holding FSCK_BENCH_MB MiB of objects (default
// 1024) of 64 KiB to 8 MiB, and compares the deep phase's read rate (the
// data and parity units it read from the drives over its time) with the
// raw sequential read rate of the same drives' data segments through the
// same IO path (benchrig.DataSegments), measured just before and just after
// each check: the drives of a shared machine vary from one second to the
// next, so each check is compared with the mean of the two raw reads
// around it, and the median of those ratios is reported. Issue 9's target
// is deep/raw ≥ 0.8:
//
//	go test -run - -bench DeepScan -benchtime 5x ./tools/fsck/
func BenchmarkDeepScan(b *testing.B) {
	mib, err := benchrig.EnvInt("FSCK_BENCH_MB", 1024, 16)
	if err != nil {
		b.Fatal(err)
	}
	t := &testing.T{}
	n := &testNode{t: t, data: map[string][]byte{}}
	driveBytes := int64(mib)<<20*6/4/testDrives + 1<<30
	if n.paths, err = benchrig.FormatFiles(b.TempDir(), testDrives, driveBytes, 64<<20); err != nil {
		b.Fatal(err)
	}
	n.run(func(p *pool.Pool) {
		rng := rand.New(rand.NewPCG(9, 9))
		buf := make([]byte, 8<<20)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		for i, written := 0, int64(0); written < int64(mib)<<20; i++ {
			size := 64<<10 + rng.IntN(8<<20-64<<10)
			if _, err := p.Put(ctx, []byte(fmt.Sprintf("o/bench/obj-%06d", i)), 1, bytes.NewReader(buf[:size])); err != nil {
				b.Fatal(err)
			}
			written += int64(size)
		}
	}, nil)
	if t.Failed() {
		b.FailNow()
	}
	b.ResetTimer()
	var ratios []float64
	var read, secs float64
	rawRate := func() float64 {
		_, rate, err := benchrig.DataSegments(n.paths)
		if err != nil {
			b.Fatal(err)
		}
		return rate
	}
	for range b.N {
		b.StopTimer()
		before := rawRate()
		b.StartTimer()
		r, err := Check(ctx, Options{Drives: n.paths, Deep: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		after := rawRate()
		if r.ExitCode != ExitClean {
			b.Fatalf("exit %d: %+v", r.ExitCode, r.Findings)
		}
		for _, ph := range r.Phases {
			if ph.Phase == PhaseDeep {
				read += float64(ph.BytesRead)
				secs += ph.Seconds
				rate := float64(ph.BytesRead) / ph.Seconds
				ratios = append(ratios, rate/((before+after)/2))
				b.Logf("deep phase %.0f MB/s between raw reads of %.0f and %.0f MB/s: %s in %.2fs",
					rate/1e6, before/1e6, after/1e6, ph.Checked, ph.Seconds)
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(ratios)
	b.ReportMetric(read/secs/1e6, "deep-MB/s")
	b.ReportMetric(ratios[len(ratios)/2], "deep/raw-median")
}
