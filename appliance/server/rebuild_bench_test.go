package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
)

// BenchmarkRebuild: one drive of a node of 6, 12 and 24 emulated zoned
// drives (files) fails and is rebuilt, beside the raw sequential read
// bandwidth of as many files of the same filesystem measured in the same
// run. The pool is 2+1 so that every size leaves room to rebuild. It
// reports the rebuild's rate (bytes written to new members per second),
// the IO it causes (N reads and one write per rebuilt unit) and that IO
// against the raw read bandwidth.
//
//	go test -run - -bench Rebuild -benchtime 1x ./appliance/server/
func BenchmarkRebuild(b *testing.B) {
	for _, drives := range []int{6, 12, 24} {
		b.Run(fmt.Sprintf("drives=%d", drives), func(b *testing.B) {
			for range b.N {
				benchRebuild(b, drives)
			}
		})
	}
}

func benchRebuild(b *testing.B, drives int) {
	dir := b.TempDir()
	const total = 384 << 20 // object bytes in the pool, whatever the drive count
	// Zones of 16 MiB: a 2+1 set holds 32 MiB, so the data spreads over
	// enough sets that every drive count rebuilds many members at once.
	d := appliance.DefaultOptions{Drives: drives, Config: zonemu.Config{ZoneSize: 16 << 20, ZoneCapacity: 16 << 20, NrZones: 256, NrConventional: 2,
		MaxOpenZones: 16, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}}
	cfg := Config{DataDir: filepath.Join(dir, "node"), Listen: "127.0.0.1:0", Pools: []PoolConfig{{Name: "p", Layout: "2+1"}}}
	s, err := Open(cfg, Options{Default: d, Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Objects().CreateBucket(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	const size = 4 << 20
	for i := range total / size {
		if _, err := s.Objects().Put(ctx, "bench", fmt.Sprint(i), &zeroReader{n: size}, objects.PutOptions{Size: size}); err != nil {
			b.Fatal(err)
		}
	}
	p := s.pools[0]
	// The drive with the most members fails.
	victim, most := uint32(0), 0
	for pos := range uint32(drives) {
		ids, err := p.Allocator().SetsOn(ctx, pos)
		if err != nil {
			b.Fatal(err)
		}
		if len(ids) > most {
			victim, most = pos, len(ids)
		}
	}
	// Raw: as many files beside the node, each holding what a drive of
	// the node holds, read sequentially, all at once.
	perDrive := int64(total) * 3 / 2 / int64(drives)
	perDrive = (perDrive + 1<<20 - 1) &^ (1<<20 - 1)
	rawRead := rawBandwidth(b, filepath.Join(dir, "raw"), drives, perDrive)
	if err := p.Allocator().SetHealth(victim, alloc.Out); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	res, err := p.Rebuild(ctx, pool.RebuildOptions{Rate: 1 << 40, Parallel: max(4, drives/2)})
	el := time.Since(start)
	if err != nil || len(res.Errors) > 0 || res.MembersDone != most {
		b.Fatalf("rebuild: %+v %v (%d members to rebuild)", res, err, most)
	}
	rate := float64(res.Bytes) / el.Seconds()
	l := p.Layout()
	io := rate * float64(l.N+1)
	b.ReportMetric(rate/1e6, "rebuild-MB/s")
	b.ReportMetric(io/1e6, "rebuild-io-MB/s")
	b.ReportMetric(rawRead/1e6, "raw-read-MB/s")
	b.ReportMetric(io/rawRead, "io/raw")
	b.ReportMetric(float64(most), "members")
	b.Logf("%d drives: %d members (%d MB) rebuilt in %v: %.0f MB/s written, %.0f MB/s of IO; raw read %.0f MB/s",
		drives, res.MembersDone, res.Bytes>>20, el.Round(time.Millisecond), rate/1e6, io/1e6, rawRead/1e6)
}

// rawBandwidth writes n files of size bytes and reads them back with
// O_DIRECT, 1 MiB requests, two in flight per file, all files at once,
// and returns the read bandwidth.
func rawBandwidth(b *testing.B, dir string, n int, size int64) float64 {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	devs := make([]dev.Device, n)
	for i := range devs {
		path := filepath.Join(dir, fmt.Sprintf("raw-%d", i))
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Truncate(path, size); err != nil {
			b.Fatal(err)
		}
		d, err := direct.Open(path, direct.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		devs[i] = d
	}
	pass := func(write bool) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for _, d := range devs {
			for q := range int64(2) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := dev.AlignedBuffer(1 << 20)
					for off := q << 20; off < size; off += 2 << 20 {
						var err error
						if write {
							_, err = d.WriteAt(buf, off)
						} else {
							_, err = d.ReadAt(buf, off)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		return time.Since(start)
	}
	pass(true)
	for _, d := range devs {
		if err := d.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	el := pass(false)
	return float64(size) * float64(n) / el.Seconds()
}
