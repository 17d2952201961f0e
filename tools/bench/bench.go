package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/internal/human"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// Modes of a measurement.
const (
	ModeInProcess = "inprocess"
	ModeHTTP      = "http"
)

// Options configure a run. Zero values mean the defaults.
type Options struct {
	// Dir is where the run makes its scratch directory (default
	// os.TempDir()): a new "plinth-bench-*" directory that holds the node
	// and the raw files, removed at the end unless Keep.
	Dir  string
	Keep bool
	// Duration of each measurement (default 5s).
	Duration time.Duration
	// Rounds: every measurement is made this many times, interleaved
	// with the raw ones, and the best round is reported (default 2).
	Rounds int
	// Concurrency levels of the PUT and GET measurements (default 1, 4,
	// 16, 64).
	Concurrency []int
	// Sizes of the objects (default 16 MiB and 256 KiB).
	Sizes []int64
	// SkipHTTP and SkipInProcess leave a mode out (not both).
	SkipHTTP, SkipInProcess bool
	// DriveSize is the size of each of the node's six emulated zoned
	// drives (sparse files; default 8 GiB). Zones are the embedded
	// default's 256 MiB, halved until a drive has at least 32 of them.
	DriveSize int64
	// RawSize is the region of each raw file a raw write pass may fill
	// (default 2 GiB; sparse).
	RawSize int64
	// RawDepth is the raw passes' 1 MiB requests in flight per drive
	// (default 2).
	RawDepth int
	// MixedReaders and MixedWriters are the mixed load's concurrent
	// GETs of the smallest size and PUTs of the largest (default 4 and 4).
	MixedReaders, MixedWriters int
	// JSON makes Run print the report as JSON instead of a table.
	JSON bool
	// Command is the command line, recorded in the report.
	Command string
}

func (o *Options) defaults() error {
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Rounds <= 0 {
		o.Rounds = 2
	}
	if len(o.Concurrency) == 0 {
		o.Concurrency = []int{1, 4, 16, 64}
	}
	if len(o.Sizes) == 0 {
		o.Sizes = []int64{16 << 20, 256 << 10}
	}
	if o.DriveSize == 0 {
		o.DriveSize = 8 << 30
	}
	if o.RawSize == 0 {
		o.RawSize = 2 << 30
	}
	if o.RawDepth <= 0 {
		o.RawDepth = 2
	}
	if o.MixedReaders <= 0 {
		o.MixedReaders = 4
	}
	if o.MixedWriters <= 0 {
		o.MixedWriters = 4
	}
	o.Concurrency = dedupe(o.Concurrency)
	o.Sizes = dedupe(o.Sizes)
	if o.SkipHTTP && o.SkipInProcess {
		return errors.New("both modes skipped: nothing to measure")
	}
	for _, c := range o.Concurrency {
		if c < 1 || c > 4096 {
			return fmt.Errorf("concurrency %d: want 1 to 4096", c)
		}
	}
	for _, s := range o.Sizes {
		if s < 1 || s > 1<<30 {
			return fmt.Errorf("object size %d: want 1 byte to 1 GiB", s)
		}
	}
	if o.DriveSize < 64<<20 {
		return fmt.Errorf("drive size %s: at least 64 MiB", human.IBytes(o.DriveSize))
	}
	if o.RawSize < 8<<20 {
		return fmt.Errorf("raw size %s: at least 8 MiB", human.IBytes(o.RawSize))
	}
	return nil
}

// ParseSizes parses "16MiB,256KiB".
func ParseSizes(s string) ([]int64, error) {
	var out []int64
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := human.ParseBytes(f)
		if err != nil {
			return nil, fmt.Errorf("size %q: %w", f, err)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no sizes")
	}
	return out, nil
}

// ParseInts parses "1,4,16,64".
func ParseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q: not a number", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no values")
	}
	return out, nil
}

// driveConfig is the geometry of the scratch node's drives: the embedded
// default's, with fewer zones (and smaller ones on small drives, so that
// the journal and metadata segments leave room for data).
func driveConfig(size int64) zonemu.Config {
	c := appliance.DefaultDriveConfig()
	zs := c.ZoneSize
	for zs > 1<<20 && size/zs < 32 {
		zs /= 2
	}
	c.ZoneSize, c.ZoneCapacity, c.NrZones = zs, zs, int(size/zs)
	return c
}

// run is one Run's state.
type run struct {
	o       Options
	stderr  io.Writer
	start   time.Time
	raw     *rawDrives
	srv     *server.Server
	targets []target
	payload []byte
	rings   map[int64]*ring
	mixedW  *ring
	rep     *Report

	stopServe  func() error
	wrapWarned bool

	rawRounds []RawRound
	results   map[resultKey]*Result
	mixed     map[string]*Mixed
}

type resultKey struct {
	mode, op string
	size     int64
	conc     int
}

const bucket = "bench"

// Run measures (see the package comment), prints the report to stdout (a
// table, or JSON with Options.JSON) and progress to stderr, and returns
// the report.
func Run(ctx context.Context, o Options, stdout, stderr io.Writer) (rep Report, err error) {
	if err := o.defaults(); err != nil {
		return Report{}, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return Report{}, err
	}
	dir, err := os.MkdirTemp(o.Dir, "plinth-bench-")
	if err != nil {
		return Report{}, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return Report{}, err
	}
	defer func() {
		if o.Keep {
			fmt.Fprintf(stderr, "kept %s\n", dir)
			return
		}
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove the scratch directory: %w", rerr))
		}
	}()
	r := &run{o: o, stderr: stderr, start: time.Now(), rings: map[int64]*ring{}, results: map[resultKey]*Result{}, mixed: map[string]*Mixed{}}
	r.rep = &Report{
		Command: o.Command, Started: r.start.UTC().Truncate(time.Second), Dir: dir, Kept: o.Keep,
		GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Drives: appliance.DefaultDrives, DriveSize: o.DriveSize, ZoneSize: driveConfig(o.DriveSize).ZoneSize,
		Duration: o.Duration.String(), Rounds: o.Rounds,
	}
	if err := r.setUp(ctx, dir); err != nil {
		return Report{}, errors.Join(err, r.tearDown())
	}
	err = r.measure(ctx)
	err = errors.Join(err, r.tearDown())
	if err != nil {
		return Report{}, err
	}
	r.finish()
	rep = *r.rep
	if o.JSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	return rep, err
}

func (r *run) progress(format string, args ...any) {
	fmt.Fprintf(r.stderr, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// setUp makes the raw files and the node, starts serving, and creates the
// bucket.
func (r *run) setUp(ctx context.Context, dir string) error {
	o := r.o
	var err error
	r.progress("scratch directory %s", dir)
	if r.raw, err = openRaw(filepath.Join(dir, "raw"), appliance.DefaultDrives, o.RawSize, o.RawDepth); err != nil {
		return err
	}
	r.rep.Raw = Raw{DirectIO: r.raw.direct, Drives: len(r.raw.devs), IOSize: rawIO, Depth: o.RawDepth, RandSize: rawRandSize}
	if !r.raw.direct {
		r.rep.Warnings = append(r.rep.Warnings, fmt.Sprintf("%s does not support O_DIRECT: the raw baseline and the node use buffered IO (choose another filesystem with --dir)", dir))
	}
	cfg := driveConfig(o.DriveSize)
	r.progress("creating the node: %d emulated zoned drives of %s (%d zones of %s, sparse)", appliance.DefaultDrives, human.IBytes(o.DriveSize), cfg.NrZones, human.IBytes(cfg.ZoneSize))
	maxConc := slices.Max(o.Concurrency)
	srvCfg := server.Config{DataDir: filepath.Join(dir, "node"), Listen: "127.0.0.1:0"}
	srvCfg.Limits.MaxConcurrent = max(64, maxConc, o.MixedReaders+o.MixedWriters)
	r.srv, err = server.Open(srvCfg, server.Options{Default: appliance.DefaultOptions{Drives: appliance.DefaultDrives, Config: cfg}})
	if err != nil {
		return fmt.Errorf("open the scratch node: %w", err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.srv.Serve(serveCtx, 10*time.Second) }()
	r.stopServe = func() error {
		stop()
		return <-served
	}
	st := r.srv.Status()
	if len(st.Pools) == 0 {
		return errors.New("the scratch node has no pool")
	}
	r.rep.Layout = st.Pools[0].Layout
	if r.rep.N, r.rep.K, err = parseLayout(r.rep.Layout); err != nil {
		return err
	}
	usable := st.Space.Total.UsableBytes
	r.progress("node up at %s: pool %s, %s usable", r.srv.URL(), r.rep.Layout, human.IBytes(usable))

	if _, err := r.srv.Objects().CreateBucket(ctx, bucket); err != nil {
		return err
	}
	// Each size's objects cycle through a ring of keys: overwritten, the
	// old versions die and their sets are released, so the live data
	// stays bounded (an eighth of the usable space, at most 1 GiB, a
	// ring, but at least twice the highest concurrency's keys).
	budget := min(int64(1<<30), usable/8)
	slots := func(size int64, conc int) int {
		return int(max(int64(2*conc), budget/size))
	}
	maxSize := slices.Max(o.Sizes)
	for _, s := range o.Sizes {
		if _, ok := r.rings[s]; !ok {
			r.rings[s] = newRing(fmt.Sprintf("s%d", s), s, slots(s, maxConc))
		}
	}
	r.mixedW = newRing("mixed", maxSize, slots(maxSize, o.MixedWriters))
	r.payload = make([]byte, maxSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= len(r.payload); i += 8 {
		v := rng.Uint64()
		for k := range 8 {
			r.payload[i+k] = byte(v >> (8 * k))
		}
	}
	if !o.SkipInProcess {
		r.targets = append(r.targets, &inProcess{store: r.srv.Objects(), bucket: bucket})
	}
	if !o.SkipHTTP {
		conns := max(maxConc, o.MixedReaders+o.MixedWriters) + 4
		r.targets = append(r.targets, newHTTP(r.srv.URL(), r.srv.Token(), bucket, conns))
	}
	return nil
}

func parseLayout(s string) (n, k int, err error) {
	nk, _, _ := strings.Cut(s, "/")
	a, b, ok := strings.Cut(nk, "+")
	if ok {
		n, err = strconv.Atoi(a)
		if err == nil {
			k, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || n < 1 || k < 0 {
		return 0, 0, fmt.Errorf("pool layout %q: want N+K/unit", s)
	}
	return n, k, nil
}

func (r *run) tearDown() error {
	var errs []error
	for _, t := range r.targets {
		if h, ok := t.(*overHTTP); ok {
			h.close()
		}
	}
	if r.stopServe != nil {
		r.progress("stopping the node")
		errs = append(errs, r.stopServe())
	} else if r.srv != nil {
		errs = append(errs, r.srv.Close())
	}
	if r.raw != nil {
		errs = append(errs, r.raw.close())
	}
	return errors.Join(errs...)
}

// measure runs the rounds: in each, the raw passes, then every PUT and GET
// measurement, then the mixed loads; and the raw passes once more at the
// end, so that the raw figures bracket the node's.
func (r *run) measure(ctx context.Context) error {
	o := r.o
	for round := 1; round <= o.Rounds; round++ {
		if err := r.measureRaw(ctx, fmt.Sprintf("round %d/%d", round, o.Rounds)); err != nil {
			return err
		}
		for _, size := range o.Sizes {
			for _, conc := range o.Concurrency {
				for _, t := range r.targets {
					if err := r.measurePut(ctx, round, t, size, conc); err != nil {
						return err
					}
					if err := r.measureGet(ctx, round, t, size, conc); err != nil {
						return err
					}
				}
			}
		}
		for _, t := range r.targets {
			if err := r.measureMixed(ctx, round, t); err != nil {
				return err
			}
		}
	}
	return r.measureRaw(ctx, "closing")
}

func (r *run) measureRaw(ctx context.Context, label string) error {
	d := r.o.Duration
	var rr RawRound
	n, el, err := r.raw.write(ctx, d)
	if err != nil {
		return fmt.Errorf("raw write: %w", err)
	}
	rr.WriteMBps = mbps(n, el)
	if n > r.raw.region*int64(len(r.raw.devs)) && !r.wrapWarned {
		r.wrapWarned = true
		r.rep.Warnings = append(r.rep.Warnings, fmt.Sprintf("a raw write pass reached the end of its %s region and overwrote blocks it had allocated (faster than the node's fresh zones); raise --raw-size", human.IBytes(r.raw.region)))
	}
	r.progress("%s: raw write, %d drives x %d x 1 MiB in flight: %.0f MB/s", label, len(r.raw.devs), r.raw.depth, rr.WriteMBps)
	if n, el, err = r.raw.read(ctx, d); err != nil {
		return fmt.Errorf("raw read: %w", err)
	}
	rr.ReadMBps = mbps(n, el)
	r.progress("%s: raw read: %.0f MB/s", label, rr.ReadMBps)
	lat, err := r.raw.randomReads(ctx, d)
	if err != nil {
		return fmt.Errorf("raw random reads: %w", err)
	}
	rr.RandRead = Summarize(lat)
	r.progress("%s: raw 256 KiB random reads, 1 per drive: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms (%d reads)", label, rr.RandRead.P50, rr.RandRead.P99, rr.RandRead.P999, rr.RandRead.Count)
	r.rawRounds = append(r.rawRounds, rr)
	return nil
}

func (r *run) measurePut(ctx context.Context, round int, t target, size int64, conc int) error {
	rg := r.rings[size]
	keys := rg.phase(conc)
	res, err := runLoad(ctx, conc, r.o.Duration, func(ctx context.Context, w int, j int64, _ *rand.Rand, _ []byte) (int64, time.Duration, error) {
		slot := keys(w, j)
		if err := t.put(ctx, rg.key(slot), r.payload[:size]); err != nil {
			return 0, 0, err
		}
		rg.written[slot].Store(true)
		return size, 0, nil
	})
	rg.advance(res.ops)
	if err != nil {
		return fmt.Errorf("%s PUT %s x%d: %w", t.mode(), human.IBytes(size), conc, err)
	}
	r.record(round, t.mode(), "PUT", size, conc, res)
	return nil
}

func (r *run) measureGet(ctx context.Context, round int, t target, size int64, conc int) error {
	rg := r.rings[size]
	have := rg.writtenSlots()
	if len(have) == 0 {
		return fmt.Errorf("%s GET %s: no objects written", t.mode(), human.IBytes(size))
	}
	want := r.payload[:min(size, 64<<10)]
	res, err := runLoad(ctx, conc, r.o.Duration, func(ctx context.Context, _ int, _ int64, rng *rand.Rand, buf []byte) (int64, time.Duration, error) {
		ttfb, err := t.get(ctx, rg.key(have[rng.IntN(len(have))]), size, buf, want)
		return size, ttfb, err
	})
	if err != nil {
		return fmt.Errorf("%s GET %s x%d: %w", t.mode(), human.IBytes(size), conc, err)
	}
	r.record(round, t.mode(), "GET", size, conc, res)
	return nil
}

func (r *run) record(round int, mode, op string, size int64, conc int, res loadResult) {
	k := resultKey{mode, op, size, conc}
	x := r.results[k]
	if x == nil {
		x = &Result{Mode: mode, Op: op, Size: size, SizeName: sizeName(size), Concurrency: conc}
		r.results[k] = x
	}
	rf := RoundFigures{Round: round, MBps: mbps(res.bytes, res.elapsed), OpsPerSec: float64(res.ops) / res.elapsed.Seconds(), Ops: res.ops, Latency: Summarize(res.lat)}
	line := fmt.Sprintf("round %d/%d: %s %s %s x%d: %.1f MB/s, %.1f ops/s, latency p50 %.2f ms p99 %.2f ms", round, r.o.Rounds, mode, op, sizeName(size), conc, rf.MBps, rf.OpsPerSec, rf.Latency.P50, rf.Latency.P99)
	if op == "GET" {
		l := Summarize(res.ttfb)
		rf.TTFB = &l
		line += fmt.Sprintf(", TTFB p50 %.2f ms p99 %.2f ms", l.P50, l.P99)
	}
	x.Rounds = append(x.Rounds, rf)
	r.progress("%s", line)
}

// measureMixed runs GETs of the smallest size while PUTs of the largest
// run.
func (r *run) measureMixed(ctx context.Context, round int, t target) error {
	o := r.o
	small, large := slices.Min(o.Sizes), slices.Max(o.Sizes)
	rg := r.rings[small]
	have := rg.writtenSlots()
	if len(have) == 0 {
		return fmt.Errorf("%s mixed: no %s objects written", t.mode(), sizeName(small))
	}
	want := r.payload[:min(small, 64<<10)]
	keys := r.mixedW.phase(o.MixedWriters)
	var wg sync.WaitGroup
	var wres, rres loadResult
	var werr, rerr error
	wg.Go(func() {
		wres, werr = runLoad(ctx, o.MixedWriters, o.Duration, func(ctx context.Context, w int, j int64, _ *rand.Rand, _ []byte) (int64, time.Duration, error) {
			slot := keys(w, j)
			if err := t.put(ctx, r.mixedW.key(slot), r.payload[:large]); err != nil {
				return 0, 0, err
			}
			r.mixedW.written[slot].Store(true)
			return large, 0, nil
		})
	})
	// The readers start a moment later and stop a moment earlier, so that
	// every GET they time runs under the full write load.
	lead := min(o.Duration/10, 500*time.Millisecond)
	select {
	case <-time.After(lead):
	case <-ctx.Done():
	}
	rres, rerr = runLoad(ctx, o.MixedReaders, o.Duration-2*lead, func(ctx context.Context, _ int, _ int64, rng *rand.Rand, buf []byte) (int64, time.Duration, error) {
		ttfb, err := t.get(ctx, rg.key(have[rng.IntN(len(have))]), small, buf, want)
		return small, ttfb, err
	})
	wg.Wait()
	r.mixedW.advance(wres.ops)
	if err := errors.Join(werr, rerr); err != nil {
		return fmt.Errorf("%s mixed load: %w", t.mode(), err)
	}
	m := r.mixed[t.mode()]
	if m == nil {
		m = &Mixed{Mode: t.mode(), Readers: o.MixedReaders, Writers: o.MixedWriters, ReadSize: small, ReadSizeName: sizeName(small), WriteSize: large, WriteSizeName: sizeName(large)}
		r.mixed[t.mode()] = m
	}
	mr := MixedRound{Round: round, TTFB: Summarize(rres.ttfb), GetMBps: mbps(rres.bytes, rres.elapsed), PutMBps: mbps(wres.bytes, wres.elapsed), Gets: rres.ops, Puts: wres.ops}
	m.Rounds = append(m.Rounds, mr)
	r.progress("round %d/%d: %s mixed, %d GETs %s under %d PUTs %s: TTFB p50 %.2f ms p99 %.2f ms p99.9 %.2f ms (%d GETs); GET %.1f MB/s, PUT %.1f MB/s",
		round, o.Rounds, t.mode(), o.MixedReaders, sizeName(small), o.MixedWriters, sizeName(large), mr.TTFB.P50, mr.TTFB.P99, mr.TTFB.P999, mr.Gets, mr.GetMBps, mr.PutMBps)
	return nil
}

// loadResult is what one load measured.
type loadResult struct {
	ops, bytes int64
	elapsed    time.Duration // from the start until the last operation ended
	lat, ttfb  []time.Duration
}

// opFunc is one operation of worker w, its j-th; it returns the bytes it
// moved and, for a GET, its time to first byte.
type opFunc func(ctx context.Context, w int, j int64, rng *rand.Rand, buf []byte) (int64, time.Duration, error)

// runLoad runs conc workers that repeat op until d has passed (an
// operation under way then finishes and counts). The first error stops
// every worker and is returned.
func runLoad(ctx context.Context, conc int, d time.Duration, op opFunc) (loadResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type worker struct {
		ops, bytes int64
		lat, ttfb  []time.Duration
	}
	ws := make([]worker, conc)
	var wg sync.WaitGroup
	var failed atomic.Bool
	start := time.Now()
	deadline := start.Add(d)
	for w := range conc {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			buf := make([]byte, 256<<10)
			me := &ws[w]
			for j := int64(0); time.Now().Before(deadline) && ctx.Err() == nil; j++ {
				t := time.Now()
				n, ttfb, err := op(ctx, w, j, rng, buf)
				if err != nil {
					if !failed.Swap(true) {
						cancel(err)
					}
					return
				}
				me.lat = append(me.lat, time.Since(t))
				if ttfb > 0 {
					me.ttfb = append(me.ttfb, ttfb)
				}
				me.ops++
				me.bytes += n
			}
		})
	}
	wg.Wait()
	res := loadResult{elapsed: time.Since(start)}
	for _, w := range ws {
		res.ops += w.ops
		res.bytes += w.bytes
		res.lat = append(res.lat, w.lat...)
		res.ttfb = append(res.ttfb, w.ttfb...)
	}
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	if res.ops == 0 {
		return res, errors.New("no operation completed")
	}
	return res, nil
}

// ring is the keys of one size's objects. Each PUT measurement's workers
// overwrite them in turn, each worker its own slots (no two PUTs of one
// key run at once); the GETs read the slots written.
type ring struct {
	prefix  string
	size    int64
	slots   int
	base    int64
	written []atomic.Bool
}

func newRing(prefix string, size int64, slots int) *ring {
	return &ring{prefix: prefix, size: size, slots: slots, written: make([]atomic.Bool, slots)}
}

func (g *ring) key(slot int) string { return fmt.Sprintf("%s/%06d", g.prefix, slot) }

// phase returns the slot of worker w's j-th PUT for conc workers: worker w
// takes the slots congruent to base+w modulo conc, among the first
// slots rounded down to a multiple of conc.
func (g *ring) phase(conc int) func(w int, j int64) int {
	span := int64(g.slots / conc * conc)
	base := g.base
	return func(w int, j int64) int {
		return int((base + int64(w) + j*int64(conc)) % span)
	}
}

// advance moves the ring on past a phase's PUTs.
func (g *ring) advance(ops int64) { g.base += ops }

func (g *ring) writtenSlots() []int {
	var s []int
	for i := range g.written {
		if g.written[i].Load() {
			s = append(s, i)
		}
	}
	return s
}

func mbps(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / 1e6 / d.Seconds()
}

// sizeName is 16MiB, 256KiB, or the bytes.
func sizeName(n int64) string {
	for _, u := range []struct {
		name  string
		shift uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// dedupe drops repeated values, keeping the first of each.
func dedupe[T comparable](s []T) []T {
	var out []T
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
