package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
	"github.com/plinth-storage/plinth/io/faultdev"
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
//	go test -run - -bench 'Rebuild$' -benchtime 1x ./appliance/server/
func BenchmarkRebuild(b *testing.B) {
	for _, drives := range []int{6, 12, 24} {
		b.Run(fmt.Sprintf("drives=%d", drives), func(b *testing.B) {
			for range b.N {
				// Zones of 16 MiB: a 2+1 set holds 32 MiB, so the data
				// spreads over enough sets that every drive count
				// rebuilds many members at once.
				benchRebuild(b, drives, rebuildBench{total: 384 << 20, zoneSize: 16 << 20})
			}
		})
	}
}

// BenchmarkRebuildDeclustered is BenchmarkRebuild with every drive capped
// at its own media bandwidth (faultdev's Bandwidth, PLINTH_BENCH_DRIVE_MBPS
// MB/s each, 12 by default), as real drives are: the files all lie on one
// disk, whose bandwidth the uncapped benchmark shares among however many
// drives there are, while the caps add up with the drive count as long as
// their sum stays under the disk's. The raw bandwidth is that of as many
// files behind the same cap, read in the same way, for all the drives
// (io/raw) and for the survivors, the drives the rebuild may use
// (io/raw-survivors). The objects are written before the caps are switched
// on.
//
//	go test -run - -bench RebuildDeclustered -benchtime 1x ./appliance/server/
func BenchmarkRebuildDeclustered(b *testing.B) {
	mbps := 12.0
	if v := os.Getenv("PLINTH_BENCH_DRIVE_MBPS"); v != "" {
		var err error
		if mbps, err = strconv.ParseFloat(v, 64); err != nil || mbps <= 0 {
			b.Fatalf("PLINTH_BENCH_DRIVE_MBPS=%q: want a positive number of MB/s", v)
		}
	}
	perDrive := int64(384) // MiB of data and parity on every drive
	if v := os.Getenv("PLINTH_BENCH_DRIVE_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 64 {
			b.Fatalf("PLINTH_BENCH_DRIVE_MIB=%q: want at least 64 (MiB on every drive)", v)
		}
		perDrive = n
	}
	for _, drives := range []int{6, 12, 24} {
		b.Run(fmt.Sprintf("drives=%d", drives), func(b *testing.B) {
			for range b.N {
				// Every drive holds the same (PLINTH_BENCH_DRIVE_MIB,
				// 384 MiB by default: 48 zones of 8 MiB), as drives of
				// a node do, whatever their number: the failed one
				// holds about 48 members, more than what 24 drives
				// rebuild at once, so that the last sets' tail is not
				// all of the rebuild (on a real drive of thousands of
				// zones it is nothing). Members of 8 MiB make a
				// member's fixed costs (two metadata commits, a flush,
				// a zone finish) small beside its transfer, as on real
				// drives with zones of 256 MiB, while the capped drives
				// still move the data in seconds.
				benchRebuild(b, drives, rebuildBench{total: int64(drives) * perDrive << 20 * 2 / 3, zoneSize: 8 << 20, driveBW: int64(mbps * 1e6)})
			}
		})
	}
}

// rebuildBench is what a rebuild benchmark's node holds and how fast its
// drives are.
type rebuildBench struct {
	total    int64 // object bytes in the pool, whatever the drive count
	zoneSize int64 // bytes in a zone (a segment), 2 of which a 2+1 set holds
	driveBW  int64 // bytes/s each drive moves (faultdev's Bandwidth); 0: uncapped
}

func benchRebuild(b *testing.B, drives int, o rebuildBench) {
	dir := b.TempDir()
	perDrive := o.total * 3 / 2 / int64(drives) // what a drive holds
	d := appliance.DefaultOptions{Drives: drives, Config: zonemu.Config{ZoneSize: o.zoneSize, ZoneCapacity: o.zoneSize, NrZones: 256, NrConventional: 2,
		MaxOpenZones: 16, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}}
	cfg := Config{DataDir: filepath.Join(dir, "node"), Listen: "127.0.0.1:0", Pools: []PoolConfig{{Name: "p", Layout: "2+1"}}}
	opts := Options{Default: d, Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}}
	// Capped: every drive behind a fault injector whose bandwidth is
	// switched on once the objects are written.
	var fds []*faultdev.Device
	if o.driveBW > 0 {
		opts.OpenDrive = func(path string) (dev.Device, error) {
			dv, err := appliance.OpenDevice(path)
			if err != nil {
				return dv, err
			}
			fd := faultdev.New(dv, uint64(len(fds)+1))
			fds = append(fds, fd)
			return fd, nil
		}
	}
	s, err := Open(cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Objects().CreateBucket(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	const size = 4 << 20
	for i := range o.total / size {
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
	perDrive = (perDrive + 1<<20 - 1) &^ (1<<20 - 1)
	if o.driveBW > 0 {
		// Capped drives move at their cap whatever they hold: 64 MiB
		// each measure it as well as more, in a few seconds.
		perDrive = min(perDrive, 64<<20)
	}
	rawRead := rawBandwidth(b, filepath.Join(dir, "raw"), drives, perDrive, o.driveBW)
	var rawSurvivors float64
	if o.driveBW > 0 {
		// And the survivors: the drives the rebuild reads and writes.
		rawSurvivors = rawBandwidth(b, filepath.Join(dir, "raw-survivors"), drives-1, perDrive, o.driveBW)
		for _, fd := range fds {
			fd.Bandwidth(o.driveBW)
		}
	}
	if err := p.Allocator().SetHealth(victim, alloc.Out); err != nil {
		b.Fatal(err)
	}
	parallel := rebuildParallel(drives, p.Layout().Members())
	busy := make([]time.Duration, len(fds))
	for i, fd := range fds {
		busy[i] = fd.Stats().Busy
	}
	start := time.Now()
	res, err := p.Rebuild(ctx, pool.RebuildOptions{Rate: 1 << 40, Parallel: parallel})
	el := time.Since(start)
	// Each drive's utilisation during the rebuild: the share of the time
	// its media channel was busy.
	var util []float64
	for i, fd := range fds {
		util = append(util, float64(fd.Stats().Busy-busy[i])/float64(el))
	}
	slices.Sort(util)
	if err != nil || len(res.Errors) > 0 || res.MembersDone != most {
		b.Fatalf("rebuild: %+v %v (%d members to rebuild)", res, err, most)
	}
	rate := float64(res.Bytes) / el.Seconds()
	l := p.Layout()
	io := rate * float64(l.N+1)
	b.ReportMetric(rate/1e6, "rebuild-MB/s")
	b.ReportMetric(io/1e6, "rebuild-io-MB/s")
	if o.driveBW == 0 {
		b.ReportMetric(rawRead/1e6, "raw-read-MB/s")
		b.ReportMetric(io/rawRead, "io/raw")
		b.ReportMetric(float64(most), "members")
		b.Logf("%d drives: %d members (%d MB) rebuilt in %v: %.0f MB/s written, %.0f MB/s of IO; raw read %.0f MB/s",
			drives, res.MembersDone, res.Bytes>>20, el.Round(time.Millisecond), rate/1e6, io/1e6, rawRead/1e6)
		return
	}
	b.ReportMetric(rawRead/1e6, "raw-MB/s")
	b.ReportMetric(rawSurvivors/1e6, "raw-survivors-MB/s")
	b.ReportMetric(io/rawRead, "io/raw")
	b.ReportMetric(io/rawSurvivors, "io/raw-survivors")
	b.ReportMetric(float64(most), "members")
	b.ReportMetric(float64(res.Bytes)/1e6, "MB")
	b.Logf("%d drives at %.1f MB/s each: %d members (%d MiB, %.0f MB) rebuilt %d sets at once in %v: %.1f MB/s written, %.1f MB/s of IO; raw read %.1f MB/s (all), %.1f MB/s (%d survivors): IO/raw %.2f (all), %.2f (survivors)",
		drives, float64(o.driveBW)/1e6, res.MembersDone, res.Bytes>>20, float64(res.Bytes)/1e6, parallel, el.Round(time.Millisecond), rate/1e6, io/1e6,
		rawRead/1e6, rawSurvivors/1e6, drives-1, io/rawRead, io/rawSurvivors)
	if len(util) > 1 {
		util = util[1:] // the failed drive's, nothing
		b.Logf("survivors' utilisation: least %.2f, median %.2f, most %.2f", util[0], util[len(util)/2], util[len(util)-1])
	}
}

// rawBandwidth writes n files of size bytes and reads them back with
// O_DIRECT, 1 MiB requests, two in flight per file, all files at once,
// and returns the read bandwidth. With bw > 0 each file is read behind a
// faultdev capped at bw bytes/s, as the capped benchmark's drives are (the
// files are written uncapped).
func rawBandwidth(b *testing.B, dir string, n int, size, bw int64) float64 {
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
	for i, d := range devs {
		if err := d.Flush(); err != nil {
			b.Fatal(err)
		}
		if bw > 0 {
			fd := faultdev.New(d, uint64(i+1))
			fd.Bandwidth(bw)
			devs[i] = fd
		}
	}
	el := pass(false)
	return float64(size) * float64(n) / el.Seconds()
}
