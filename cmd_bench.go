package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/plinth-storage/plinth/internal/human"
	"github.com/plinth-storage/plinth/tools/bench"
)

func init() {
	var (
		o                              bench.Options
		concurrency, sizes, driveSize  string
		rawSize                        string
		quick, withHTTP, withInProcess bool
	)
	register(&command{
		name:    "bench",
		summary: "measure PUT, GET and time to first byte of a scratch node against its raw drives",
		help: `Builds a scratch node in a new directory (six emulated zoned drives as
sparse files, the embedded default's shape, one 4+2 pool) beside six plain
files on the same filesystem, and measures in one run:

  - the raw baseline: O_DIRECT sequential writes and reads of the six files
    (1 MiB, --raw-depth in flight per file) and the latency of 256 KiB
    random reads;
  - PUT and GET of each --sizes object at each --concurrency, in process
    and over HTTP: MB/s, ops/s, latency and GET time to first byte
    p50/p99/p99.9;
  - a mixed load: GETs of the smallest size while PUTs of the largest run,
    with the GETs' time to first byte.

Raw and node measurements are interleaved in --rounds rounds (the disk
drifts); the best round of each is reported. It prints a table (or JSON with
--json) with every figure's ratio to the baseline, the targets (16 MiB PUT
>= 0.85 x raw write x N/(N+K), 16 MiB GET >= 0.85 x raw read, 256 KiB >= 0.7
of the same, TTFB p99 under writes <= 3 x the raw 256 KiB read p99) and
PASS or MISS for each. Progress goes to stderr.

The scratch directory is removed at the end unless --keep. It never touches
an existing node.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.Dir, "dir", "", "where to make the scratch directory (default "+os.TempDir()+"); it chooses the filesystem measured")
			fs.BoolVar(&o.Keep, "keep", false, "keep the scratch directory")
			fs.DurationVar(&o.Duration, "duration", 5*time.Second, "duration of each measurement")
			fs.BoolVar(&quick, "quick", false, "a short run: 1s measurements, one round, 512 MiB raw files")
			fs.IntVar(&o.Rounds, "rounds", 2, "rounds of every measurement, interleaved with the raw passes")
			fs.StringVar(&concurrency, "concurrency", "1,4,16,64", "concurrent clients of the PUT and GET measurements")
			fs.StringVar(&sizes, "sizes", "16MiB,256KiB", "object sizes")
			fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
			fs.StringVar(&driveSize, "drive-size", "8GiB", "size of each of the scratch node's six drives (sparse)")
			fs.StringVar(&rawSize, "raw-size", "2GiB", "region of each raw file the raw writes use (sparse)")
			fs.IntVar(&o.RawDepth, "raw-depth", 2, "raw 1 MiB requests in flight per file")
			fs.IntVar(&o.MixedReaders, "mixed-readers", 4, "concurrent GETs of the mixed load")
			fs.IntVar(&o.MixedWriters, "mixed-writers", 4, "concurrent PUTs of the mixed load")
			fs.BoolVar(&withHTTP, "http", true, "measure over HTTP (--http=false leaves it out)")
			fs.BoolVar(&withInProcess, "inprocess", true, "measure in process (--inprocess=false leaves it out)")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			if fs.NArg() > 0 {
				return usageError("unexpected arguments: %s", strings.Join(fs.Args(), " "))
			}
			set := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			var err error
			if o.Concurrency, err = bench.ParseInts(concurrency); err != nil {
				return usageError("--concurrency: %v", err)
			}
			if o.Sizes, err = bench.ParseSizes(sizes); err != nil {
				return usageError("--sizes: %v", err)
			}
			if o.DriveSize, err = human.ParseBytes(driveSize); err != nil {
				return usageError("--drive-size: %v", err)
			}
			if o.RawSize, err = human.ParseBytes(rawSize); err != nil {
				return usageError("--raw-size: %v", err)
			}
			if quick {
				if !set["duration"] {
					o.Duration = time.Second
				}
				if !set["rounds"] {
					o.Rounds = 1
				}
				if !set["raw-size"] {
					o.RawSize = 512 << 20
				}
			}
			if o.Duration <= 0 || o.Rounds < 1 || o.RawDepth < 1 || o.MixedReaders < 1 || o.MixedWriters < 1 {
				return usageError("--duration, --rounds, --raw-depth and --mixed-* must be positive")
			}
			if !withHTTP && !withInProcess {
				return usageError("--http=false and --inprocess=false: nothing to measure")
			}
			o.SkipHTTP, o.SkipInProcess = !withHTTP, !withInProcess
			o.Command = "plinth bench"
			if len(os.Args) > 2 && os.Args[1] == "bench" {
				o.Command += " " + strings.Join(os.Args[2:], " ")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err = bench.Run(ctx, o, stdout, stderr)
			return err
		},
	})
}
