package torture

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"sort"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
)

// Config is one run.
type Config struct {
	Seed   uint64
	Ops    int    // operations to generate (default 100)
	Faults Faults // nil: every kind at its default rate
	// Exceed lets the faults damage more than the layout promises to
	// survive (K+1 drives, two metadata mirrors): the node must then fail
	// cleanly (errors, never wrong data, no panic), and losses are
	// counted, not failures.
	Exceed bool
	// Keep, when set, runs only the generated operations with these
	// indices (a shortened reproduction).
	Keep []int
	// Dir is the scratch directory (the node's data directory goes in a
	// subdirectory); a temporary one when empty.
	Dir string
	// Trace, when set, receives a line per operation.
	Trace io.Writer

	// lyingFlush makes every drive acknowledge flushes without flushing:
	// drives that break their contract, which the harness's own tests
	// use to show that it catches what is lost.
	lyingFlush bool
}

// Result is what a run did and found.
type Result struct {
	Seed            uint64
	Ops             int // operations run
	Acked           int // writes acknowledged
	WriteErrors     int // writes that failed (their outcome unknown until a restart)
	ReadErrors      int // reads that failed
	PowerCuts       int
	Restarts        int
	Faults          map[Fault]int
	Lost            int // acknowledged writes not found after a restart
	WrongReads      int // reads that returned data that was never written there
	CheckerFailures int
	Failures        []string // what went wrong, first ones first
	// FailedAt is the position (among the operations run) of the
	// operation after which the first failure was found (-1: none).
	FailedAt int
	Exceed   bool
}

// Failed reports whether the run broke a promise: any failure within the
// layout's promise; beyond it, wrong data or a panic.
func (r *Result) Failed() bool { return len(r.Failures) > 0 }

func (r *Result) fail(format string, args ...any) {
	if r.FailedAt < 0 {
		r.FailedAt = r.Ops - 1
	}
	if len(r.Failures) < 20 {
		r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
	}
}

// runner is a run under way.
type runner struct {
	cfg     Config
	ops     []Op
	m       *model
	r       *rig
	res     *Result
	victims []int // drives that faults may damage
	idx     int   // the operation running (its index in the generated list)
	trace   io.Writer
}

// Generate returns the operations and victims a seed's run draws.
func Generate(cfg Config) (ops []Op, victims []int) {
	cfg.defaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7047))
	victims = chooseVictims(rng, cfg.Exceed)
	return generate(rng, cfg.Ops, cfg.Faults, len(victims), nDrives), victims
}

func (c *Config) defaults() {
	if c.Ops <= 0 {
		c.Ops = 100
	}
	if c.Faults == nil {
		c.Faults = DefaultFaults()
	}
}

// chooseVictims picks the drives faults may damage: K (2) of them with at
// most one metadata mirror, which the 4+2 layout and the three-way
// metadata mirror promise to survive; K+1 with two mirrors when exceeding.
func chooseVictims(rng *rand.Rand, exceed bool) []int {
	const mirrors = 3
	n, metaMax := 2, 1
	if exceed {
		n, metaMax = 3, 2
	}
	var v []int
	meta := 0
	for _, d := range rng.Perm(nDrives) {
		if len(v) == n {
			break
		}
		if d < mirrors {
			if meta == metaMax {
				continue
			}
			meta++
		}
		v = append(v, d)
	}
	sort.Ints(v)
	return v
}

// Run runs one seed. It never panics: a panic of the node is a failure of
// the run.
func Run(cfg Config) (res Result) {
	cfg.defaults()
	res = Result{Seed: cfg.Seed, Faults: map[Fault]int{}, FailedAt: -1, Exceed: cfg.Exceed}
	ops, victims := Generate(cfg)
	// index[i] is ops[i]'s index in the generated list (what traces,
	// reproductions and the bit flips' randomness go by).
	var index []int
	if cfg.Keep != nil {
		var kept []Op
		for _, i := range cfg.Keep {
			if i >= 0 && i < len(ops) {
				kept, index = append(kept, ops[i]), append(index, i)
			}
		}
		ops = kept
	} else {
		for i := range ops {
			index = append(index, i)
		}
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "plinth-torture-")
		if err != nil {
			res.fail("scratch directory: %v", err)
			return res
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ru := &runner{cfg: cfg, ops: ops, m: newModel(), res: &res, victims: victims, trace: cfg.Trace}
	defer func() {
		if p := recover(); p != nil {
			res.fail("panic at operation %d: %v\n%s", ru.idx, p, debug.Stack())
		}
		if ru.r != nil {
			_ = ru.r.stop()
			ru.r.release()
		}
	}()
	r, err := newRig(cfg.Seed, dataDir(dir, cfg.Seed), cfg.Trace)
	if err != nil {
		res.fail("%v", err)
		return res
	}
	r.rail.lyingFlush = cfg.lyingFlush
	ru.r = r
	if err := r.start(); err != nil {
		res.fail("first start: %v", err)
		return res
	}
	// Every bucket and index exists at the start; the operations delete
	// and create them again now and then.
	for b := range nBuckets {
		ru.createBucket(Op{Kind: OpCreateBucket, Bucket: b})
	}
	for ix := range nIndexes {
		ru.createIndex(Op{Kind: OpCreateIndex, Bucket: ix})
	}
	for i, op := range ops {
		ru.idx = index[i]
		res.Ops++
		ru.tracef("%4d %v", ru.idx, op)
		ru.exec(op)
		if r.rail.hasFired() {
			ru.tracef("     power cut")
			ru.reboot(true)
		}
		if res.Failed() || r.srv == nil {
			break
		}
	}
	if !res.Failed() && r.srv != nil {
		ru.tracef("end: clean restart and full check")
		ru.reboot(false)
	}
	return res
}

func (ru *runner) tracef(format string, args ...any) {
	if ru.trace != nil {
		fmt.Fprintf(ru.trace, format+"\n", args...)
	}
}

// reboot stops the node (the power went, or a clean stop), starts it
// again and compares everything with the model.
func (ru *runner) reboot(cut bool) {
	r := ru.r
	if cut {
		ru.res.PowerCuts++
		ru.res.Faults[PowerCut]++
		r.powerCut(faultdev.CutDrop) // the rail already cut; this stops the node
	} else {
		err := r.stop()
		switch {
		case r.rail.hasFired():
			// An armed cut struck during the stop (its final checkpoint):
			// a power cut like any other.
			ru.res.PowerCuts++
			ru.res.Faults[PowerCut]++
			ru.tracef("     power cut during the stop")
		case err != nil && !ru.cfg.Exceed && !ru.anyFault():
			ru.res.fail("clean stop: %v", err)
		default:
			ru.res.Restarts++
		}
	}
	r.rail.disarm()
	if err := r.start(); err != nil {
		if ru.cfg.Exceed {
			ru.tracef("     the node refuses to start (beyond its promise): %v", err)
			return
		}
		ru.res.fail("start after %s: %v", map[bool]string{true: "a power cut", false: "a clean stop"}[cut], err)
		return
	}
	ru.verifyAll()
}

// anyFault reports whether a drive has a fault that can make a clean stop
// fail (a lost drive, IO errors).
func (ru *runner) anyFault() bool {
	for _, d := range ru.r.drives {
		if d.lost || d.eio > 0 || d.misdirect > 0 {
			return true
		}
	}
	return false
}

// powerOff reports whether the power went during the operation (its
// errors are then expected).
func (ru *runner) powerOff(err error) bool {
	return errors.Is(err, dev.ErrPowerCut) || ru.r.rail.peek()
}
