package wal

// The crash simulation: seeded runs of a node with three mirrors (faultdev
// over memdev, on some seeds the ring segments are sequential zones of a
// zonemu emulator over the faultdev), concurrent committers, a
// checkpointer, and power cuts at random points on every mirror at once.
// After each cut the journal is reopened and its replay checked against
// what the test knows was acknowledged.
//
//	go test ./wal/ -run Crash                        200 seeds (50 with -race, 20 with -short)
//	go test ./wal/ -run Crash -wal.seeds=5000        thousands
//	go test ./wal/ -run 'TestCrashSimulation$' -wal.seed=17 -v   one seed
//
// A seed fixes the node's configuration and every random decision of the
// test (sizes, cut points, modes, faults); the interleaving of the
// goroutines is the scheduler's, so a failure that depends on it may need
// a few reruns of its seed (-count=20).

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/internal/simtest"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/seg"
)

var seeds = simtest.Flags("./wal/", "wal", 200)

func lessGC(t *testing.T) { simtest.LessGC(t) }

// forEachSeed runs fn as a parallel subtest per seed (see simtest).
func forEachSeed(t *testing.T, def, short int, fn func(t *testing.T, seed uint64)) {
	seeds.Run(t, def, short, fn)
}

// ---- the node: mirrors on fault-injecting drives sharing one power rail

// rail is the power supply the drives of one node share: when one of them
// loses power, all of them do.
type rail struct {
	mu       sync.Mutex
	faults   []*faultdev.Device
	mode     faultdev.CutMode
	tripped  bool
	separate bool // each drive has its own supply: a cut cuts only the drive armed
}

func (r *rail) trip() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tripped = true
	if r.separate {
		return
	}
	for _, f := range r.faults {
		_ = f.PowerCut(r.mode) // a drive already off stays as it is
	}
}

func (r *rail) isTripped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tripped
}

func (r *rail) setMode(m faultdev.CutMode) {
	r.mu.Lock()
	r.mode = m
	r.mu.Unlock()
}

// railDev is a drive on the rail: the first operation that meets a power
// cut (armed by PowerCutAfter on any drive) cuts the power of all of them
// before it returns.
type railDev struct {
	*faultdev.Device
	rail *rail
}

func (d railDev) saw(err error) error {
	if errors.Is(err, dev.ErrPowerCut) {
		d.rail.trip()
	}
	return err
}

func (d railDev) WriteAt(p []byte, off int64) (int, error) {
	n, err := d.Device.WriteAt(p, off)
	return n, d.saw(err)
}

func (d railDev) ReadAt(p []byte, off int64) (int, error) {
	n, err := d.Device.ReadAt(p, off)
	return n, d.saw(err)
}

func (d railDev) Flush() error               { return d.saw(d.Device.Flush()) }
func (d railDev) Discard(off, n int64) error { return d.saw(d.Device.Discard(off, n)) }

// nodeConfig describes a simulated node.
type nodeConfig struct {
	mirrors   int // 3 when 0
	ring      int
	segSize   int64
	zoned     bool
	conv      int   // zoned: conventional zones before the ring
	capGap    int64 // zoned: zone size minus zone capacity
	maxOpen   int
	maxActive int
	behavior  zonemu.Behavior
}

func (c nodeConfig) String() string {
	s := fmt.Sprintf("ring %d x %d KiB", c.ring, c.segSize>>10)
	if c.zoned {
		s += fmt.Sprintf(", zoned (%s, capacity %d KiB, %d conventional, max open %d, max active %d)",
			c.behavior, (c.segSize-c.capGap)>>10, c.conv, c.maxOpen, c.maxActive)
	}
	return s
}

// randomConfig draws a node: a ring of 4-6 segments of 64-256 KiB,
// sequential zones of an emulated drive on a third of the seeds.
func randomConfig(rng *rand.Rand) nodeConfig {
	c := nodeConfig{ring: 4 + rng.IntN(3), segSize: int64(16+rng.IntN(49)) * 4096}
	if rng.IntN(3) == 0 {
		c.zoned = true
		c.conv = rng.IntN(2)
		if c.segSize >= 96<<10 {
			c.capGap = int64(rng.IntN(4)) * 4096
		}
		lim := [][2]int{{0, 0}, {2, 2}, {2, 2}, {2, 3}, {3, 4}}[rng.IntN(5)]
		c.maxOpen, c.maxActive = lim[0], lim[1]
		c.behavior = zonemu.Behavior(rng.IntN(2))
	}
	return c
}

func (c nodeConfig) zoneConfig() zonemu.Config {
	return zonemu.Config{
		ZoneSize: c.segSize, ZoneCapacity: c.segSize - c.capGap,
		NrZones: c.conv + c.ring, NrConventional: c.conv,
		MaxOpenZones: c.maxOpen, MaxActiveZones: c.maxActive,
		LogicalBlockSize: 4096, Behavior: c.behavior,
	}
}

// simNode is the drives of a node and the journal's mirrors on them.
type simNode struct {
	cfg     nodeConfig
	mems    []*memdev.Device
	faults  []*faultdev.Device
	rail    *rail
	devs    []dev.Device // what the rings live on: a railDev, or an emulator over it
	drives  []uuid.UUID
	mirrors []Mirror
	ev      *eventLog
}

func newSimNode(t testing.TB, seed uint64, cfg nodeConfig) *simNode {
	t.Helper()
	if cfg.mirrors == 0 {
		cfg.mirrors = 3
	}
	n := &simNode{cfg: cfg, rail: &rail{}, ev: &eventLog{}}
	rng := rand.New(rand.NewPCG(seed, 0xd1b54a32d192ed03))
	for m := 0; m < cfg.mirrors; m++ {
		size := int64(cfg.ring) * cfg.segSize
		if cfg.zoned {
			zc := cfg.zoneConfig()
			size = int64(zc.NrZones)*zc.ZoneSize + zonemu.MetadataSize(zc)
		}
		mem := memdev.New(fmt.Sprintf("drive%d", m), size, 4096)
		f := faultdev.New(mem, seed*16+uint64(m))
		rd := railDev{Device: f, rail: n.rail}
		var d dev.Device = rd
		if cfg.zoned {
			zd, err := zonemu.Create(rd, cfg.zoneConfig())
			if err != nil {
				t.Fatalf("seed %d: zonemu.Create: %v", seed, err)
			}
			d = zd
		}
		var id uuid.UUID
		binary.LittleEndian.PutUint64(id[:], rng.Uint64())
		binary.LittleEndian.PutUint64(id[8:], rng.Uint64())
		n.mems = append(n.mems, mem)
		n.faults = append(n.faults, f)
		n.devs = append(n.devs, d)
		n.drives = append(n.drives, id)
	}
	n.rail.faults = n.faults
	n.buildMirrors()
	return n
}

func (n *simNode) buildMirrors() {
	n.mirrors = nil
	for m, d := range n.devs {
		mir := Mirror{Name: fmt.Sprintf("mirror%d", m), Node: testNode, Drive: n.drives[m]}
		for i := 0; i < n.cfg.ring; i++ {
			loc := seg.Location{Dev: d, Index: uint32(i), Start: int64(i) * n.cfg.segSize, Capacity: n.cfg.segSize}
			if n.cfg.zoned {
				z := n.cfg.conv + i
				loc = seg.Location{Dev: d, Index: uint32(z), Start: int64(z) * n.cfg.segSize,
					Capacity: n.cfg.segSize - n.cfg.capGap, Sequential: true}
			}
			mir.Ring = append(mir.Ring, loc)
		}
		n.mirrors = append(n.mirrors, mir)
	}
}

func (n *simNode) options() Options {
	return Options{Mirrors: n.mirrors, Events: n.ev.add, FullWait: 20 * time.Second}
}

// disarm cancels the power cuts still armed.
func (n *simNode) disarm() {
	for _, f := range n.faults {
		f.PowerCutAfter(1<<50, faultdev.CutDrop)
	}
}

// restart turns the power back on and reopens the emulated drives, as a
// node does after a power cycle.
func (n *simNode) restart(t testing.TB) {
	t.Helper()
	n.rail.mu.Lock()
	n.rail.tripped = false
	n.rail.mu.Unlock()
	for _, f := range n.faults {
		f.Restart()
	}
	if !n.cfg.zoned {
		return
	}
	for m, f := range n.faults {
		zd, err := zonemu.Open(railDev{Device: f, rail: n.rail})
		if err != nil {
			t.Fatalf("reopen the emulated drive of mirror %d: %v", m, err)
		}
		n.devs[m] = zd
	}
	n.buildMirrors()
}

// eventLog collects the journal's events since the last reset, and the
// recent history of the node for failure messages.
type eventLog struct {
	simtest.History
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
	l.Add(fmt.Sprintf("%s %s: %s", e.Kind, e.Mirror, e.Detail))
}

// mark notes a step of the test in the history.
func (l *eventLog) mark(format string, args ...any) { l.Mark(format, args...) }

func (l *eventLog) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.evs)
}

func (l *eventLog) reset() {
	l.mu.Lock()
	l.evs = nil
	l.mu.Unlock()
}

// count counts events of kind k about mirror ("*": any).
func (l *eventLog) count(k EventKind, mirror string) int {
	n := 0
	for _, e := range l.all() {
		if e.Kind == k && (mirror == "*" || e.Mirror == mirror) {
			n++
		}
	}
	return n
}

func (l *eventLog) String() string {
	var b strings.Builder
	for _, e := range l.all() {
		fmt.Fprintf(&b, "\n\t%s %s: %s", e.Kind, e.Mirror, e.Detail)
	}
	return b.String()
}

// ---- transactions

// payload is transaction id's content: the id (little endian, truncated
// when the transaction is shorter than 8 bytes), then bytes drawn from it,
// so that a transaction is recognised and verified byte for byte.
func payload(id uint64, size int) []byte {
	b := make([]byte, size+8)
	binary.LittleEndian.PutUint64(b, id)
	s := id*0x9e3779b97f4a7c15 ^ uint64(size)
	for i := 8; i < size; i += 8 {
		s += 0x9e3779b97f4a7c15
		z := (s ^ s>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		binary.LittleEndian.PutUint64(b[i:], z^z>>31)
	}
	return b[:size:size]
}

// txnSize draws a transaction size from 1 byte to 20 KiB.
func txnSize(rng *rand.Rand) int {
	switch r := rng.IntN(100); {
	case r < 4:
		return 1 + rng.IntN(7)
	case r < 45:
		return 8 + rng.IntN(249)
	case r < 85:
		return 257 + rng.IntN(3840)
	default:
		return 4097 + rng.IntN(20<<10-4096)
	}
}

type txnRef struct {
	id   uint64
	size int
}

// ledger is what the test knows: the acknowledged transactions by LSN, the
// ones in doubt (their Commit failed or never returned), the ones lost for
// good (in doubt at a crash and not replayed by the next open), and the
// checkpoint the layer above made durable.
type ledger struct {
	mu       sync.Mutex
	acked    map[LSN]txnRef
	maxAcked LSN
	minAck   LSN // an acknowledgment below it is a reused LSN
	inDoubt  map[uint64]int
	lost     map[uint64]bool
	ckpt     LSN
	problems []string
}

func newLedger() *ledger {
	return &ledger{acked: map[LSN]txnRef{}, inDoubt: map[uint64]int{}, lost: map[uint64]bool{}, minAck: 1}
}

func (l *ledger) begin(id uint64, size int) {
	l.mu.Lock()
	l.inDoubt[id] = size
	l.mu.Unlock()
}

func (l *ledger) ack(lsn LSN, id uint64, size int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.inDoubt, id)
	if old, dup := l.acked[lsn]; dup {
		l.problems = append(l.problems, fmt.Sprintf("LSN %d acknowledged twice: transactions %d and %d", lsn, old.id, id))
	}
	if lsn < l.minAck {
		l.problems = append(l.problems, fmt.Sprintf("LSN %d acknowledged for transaction %d, but the journal reopened at LSN %d", lsn, id, l.minAck))
	}
	l.acked[lsn] = txnRef{id, size}
	l.maxAcked = max(l.maxAcked, lsn)
}

// pickCheckpoint chooses an acknowledged LSN past the checkpoint and
// records it as the durable checkpoint (the layer above persists it before
// telling the journal). 0: none. lag keeps that many LSNs unchecked.
func (l *ledger) pickCheckpoint(rng *rand.Rand, lag LSN) LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	top := l.maxAcked
	if top <= lag {
		return 0
	}
	top -= lag
	if top <= l.ckpt {
		return 0
	}
	c := top
	if rng.IntN(3) == 0 {
		c = l.ckpt + 1 + LSN(rng.Uint64N(top-l.ckpt))
		if _, ok := l.acked[c]; !ok {
			c = top
		}
	}
	if _, ok := l.acked[c]; !ok {
		return 0
	}
	l.ckpt = c
	return c
}

func (l *ledger) checkpoint() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ckpt
}

func (l *ledger) takeProblems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.problems
	l.problems = nil
	return p
}

type replayed struct {
	lsn LSN
	txn []byte
}

func describe(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%d bytes %x...", len(b), b[:16])
	}
	return fmt.Sprintf("%d bytes %x", len(b), b)
}

// verify checks a replay from checkpoint ckpt: consecutive LSNs from
// ckpt+1; every acknowledged transaction after ckpt at its LSN with its
// exact bytes; anything else a complete transaction that was in doubt,
// at most once. It returns the in-doubt transactions replayed.
func (l *ledger) verify(ckpt LSN, got []replayed) (map[LSN]txnRef, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := ckpt + 1
	seen := map[uint64]LSN{}
	doubtful := map[LSN]txnRef{}
	for _, r := range got {
		if r.lsn != next {
			return nil, fmt.Errorf("replay gave LSN %d after %d: LSNs are not consecutive from the checkpoint %d", r.lsn, next-1, ckpt)
		}
		next++
		var ref txnRef
		if a, ok := l.acked[r.lsn]; ok {
			if want := payload(a.id, a.size); !bytes.Equal(r.txn, want) {
				return nil, fmt.Errorf("LSN %d: replayed %s, but transaction %d (%d bytes) was acknowledged at this LSN", r.lsn, describe(r.txn), a.id, a.size)
			}
			ref = a
		} else {
			var ok bool
			ref, ok = l.matchInDoubt(r.txn, seen)
			if !ok {
				if len(r.txn) >= 8 {
					if id := binary.LittleEndian.Uint64(r.txn); l.lost[id] {
						return nil, fmt.Errorf("LSN %d: transaction %d was in doubt at an earlier crash and not replayed then, yet it is replayed now", r.lsn, id)
					}
				}
				return nil, fmt.Errorf("LSN %d: replayed %s, which is neither acknowledged at this LSN nor a complete transaction in doubt", r.lsn, describe(r.txn))
			}
			doubtful[r.lsn] = ref
		}
		if at, dup := seen[ref.id]; dup {
			return nil, fmt.Errorf("transaction %d replayed twice, at LSNs %d and %d", ref.id, at, r.lsn)
		}
		seen[ref.id] = r.lsn
	}
	var missing []LSN
	for lsn := range l.acked {
		if lsn > ckpt && lsn >= next {
			missing = append(missing, lsn)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		a := l.acked[missing[0]]
		return nil, fmt.Errorf("%d acknowledged transactions lost: LSN %d (transaction %d, %d bytes) and more up to LSN %d; replay ended at LSN %d",
			len(missing), missing[0], a.id, a.size, missing[len(missing)-1], next-1)
	}
	return doubtful, nil
}

// matchInDoubt finds the in-doubt transaction whose bytes txn is. Called
// with l.mu held.
func (l *ledger) matchInDoubt(txn []byte, seen map[uint64]LSN) (txnRef, bool) {
	if len(txn) >= 8 {
		id := binary.LittleEndian.Uint64(txn)
		size, ok := l.inDoubt[id]
		if ok && size == len(txn) && bytes.Equal(txn, payload(id, size)) {
			return txnRef{id, size}, true
		}
		return txnRef{}, false
	}
	for id, size := range l.inDoubt {
		if _, dup := seen[id]; !dup && size == len(txn) && bytes.Equal(txn, payload(id, size)) {
			return txnRef{id, size}, true
		}
	}
	return txnRef{}, false
}

// settle records the outcome of an open: the in-doubt transactions it
// replayed become acknowledged when the open made them durable on every
// healthy mirror (durable), the others are lost for good; acknowledgments
// before next are reused LSNs from now on.
func (l *ledger) settle(ckpt LSN, doubtful map[LSN]txnRef, durable bool, next LSN) {
	l.mu.Lock()
	defer l.mu.Unlock()
	replayed := map[uint64]bool{}
	for lsn, ref := range doubtful {
		replayed[ref.id] = true
		if durable {
			l.acked[lsn] = ref
			l.maxAcked = max(l.maxAcked, lsn)
			delete(l.inDoubt, ref.id)
		}
	}
	for id := range l.inDoubt {
		if !replayed[id] {
			l.lost[id] = true
			delete(l.inDoubt, id)
		}
	}
	for lsn := range l.acked {
		if lsn <= ckpt {
			delete(l.acked, lsn)
		}
	}
	l.minAck = next
}

// ---- a simulation: a node, its journal, the ledger

type sim struct {
	t    *testing.T
	seed uint64
	rng  *rand.Rand
	n    *simNode
	l    *ledger
	ids  atomic.Uint64
	w    *WAL
}

func newSim(t *testing.T, seed uint64, cfg nodeConfig) *sim {
	s := &sim{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d)), l: newLedger()}
	s.n = newSimNode(t, seed, cfg)
	w, err := Create(s.n.options())
	if err != nil {
		t.Fatalf("seed %d (%s): Create: %v", seed, cfg, err)
	}
	s.w = w
	return s
}

func (s *sim) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Logf("history of seed %d:%s", s.seed, s.n.ev.History.String())
	s.t.Fatalf("seed %d (%s): %s", s.seed, s.n.cfg, fmt.Sprintf(format, args...))
}

// load is committers and a checkpointer running against the journal.
type load struct {
	stop  atomic.Bool
	acks  atomic.Int64
	done  chan struct{} // closed when the committers and the checkpointer are done
	mu    sync.Mutex
	errs  []error
	probs []string
}

func (ld *load) fail(err error) {
	ld.mu.Lock()
	ld.errs = append(ld.errs, err)
	ld.mu.Unlock()
}

// startLoad starts committers committing transactions of 1 byte to 20 KiB,
// each stopping at its first error, and a checkpointer that checkpoints
// acknowledged LSNs every pause or so, keeping lag LSNs unchecked.
func (s *sim) startLoad(committers int, pause time.Duration, lag LSN) *load {
	ld := &load{done: make(chan struct{})}
	w := s.w
	var cwg sync.WaitGroup
	for c := 0; c < committers; c++ {
		rng := rand.New(rand.NewPCG(s.rng.Uint64(), uint64(c)))
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			for !ld.stop.Load() {
				id := s.ids.Add(1)
				size := txnSize(rng)
				s.l.begin(id, size)
				lsn, err := w.Commit(context.Background(), payload(id, size))
				if err != nil {
					ld.fail(err)
					return
				}
				s.l.ack(lsn, id, size)
				ld.acks.Add(1)
			}
		}()
	}
	committed := make(chan struct{})
	go func() {
		cwg.Wait()
		close(committed)
	}()
	crng := rand.New(rand.NewPCG(s.rng.Uint64(), 99))
	go func() {
		defer close(ld.done)
		timer := time.NewTimer(pause)
		defer timer.Stop()
		for {
			timer.Reset(time.Duration(crng.Int64N(int64(2*pause) + 1)))
			select {
			case <-committed:
				return
			case <-timer.C:
			}
			lagNow := lag
			if w.Stats().Waiting {
				lagNow = 0 // the journal is full: release what can be
			}
			if c := s.l.pickCheckpoint(crng, lagNow); c != 0 {
				if err := w.Checkpoint(c); err != nil {
					ld.mu.Lock()
					ld.probs = append(ld.probs, fmt.Sprintf("Checkpoint(%d) of an acknowledged LSN: %v", c, err))
					ld.mu.Unlock()
				}
			}
		}
	}()
	return ld
}

// wait waits for the load to end and fails on what went wrong in it.
func (s *sim) wait(ld *load) []error {
	s.t.Helper()
	<-ld.done
	if p := append(s.l.takeProblems(), ld.probs...); len(p) > 0 {
		s.fatalf("%s", strings.Join(p, "; "))
	}
	return ld.errs
}

// waitAcks waits until the load has n acknowledgments or has ended.
func waitAcks(ld *load, n int64) bool {
	for ld.acks.Load() < n {
		select {
		case <-ld.done:
			return false
		case <-time.After(50 * time.Microsecond):
		}
	}
	return true
}

// armCut arms a power cut on every drive at a random point within opsMax
// mutating operations; the first to fire cuts them all.
func (s *sim) armCut(opsMax int) faultdev.CutMode {
	mode := faultdev.CutMode(s.rng.IntN(2))
	s.n.rail.setMode(mode)
	for _, f := range s.n.faults {
		f.PowerCutAfter(s.rng.IntN(opsMax+1), mode)
	}
	return mode
}

// crash closes the journal after a power cut (its errors are expected) and
// power-cycles the node.
func (s *sim) crash() {
	st := s.w.Stats()
	s.n.ev.mark("power cut (%s) at LSN %d, checkpoint %d, %d healthy", s.n.rail.mode, st.NextLSN-1, s.l.checkpoint(), st.Healthy)
	s.w.Close()
	s.n.disarm()
	s.n.restart(s.t)
}

// open opens the journal from the durable checkpoint and checks the
// replay. wantHealthy, when not nil, says whether the mirror count after
// an open that no power cut interrupted is right.
func (s *sim) open(what string, wantHealthy func(int) bool) Stats {
	s.t.Helper()
	ckpt := s.l.checkpoint()
	var got []replayed
	s.n.ev.reset()
	s.n.ev.mark("%s: Open from checkpoint %d", what, ckpt)
	w, err := Open(s.n.options(), ckpt, func(lsn LSN, txn []byte) error {
		got = append(got, replayed{lsn, bytes.Clone(txn)})
		return nil
	})
	if err != nil {
		s.fatalf("%s: Open from checkpoint %d: %v; events:%s", what, ckpt, err, s.n.ev)
	}
	s.w = w
	doubtful, err := s.l.verify(ckpt, got)
	if err != nil {
		s.fatalf("%s: replay from checkpoint %d: %v; events:%s", what, ckpt, err, s.n.ev)
	}
	st := w.Stats()
	end := ckpt + LSN(len(got))
	if st.NextLSN != end+1 {
		s.fatalf("%s: replay ended at LSN %d but the journal goes on at %d", what, end, st.NextLSN)
	}
	cut := s.n.rail.isTripped()
	s.n.ev.mark("%s: replayed %d..%d, %d healthy, read-only %v, power cut during open %v", what, ckpt+1, end, st.Healthy, st.ReadOnly, cut)
	if !cut && wantHealthy != nil && (st.ReadOnly || !wantHealthy(st.Healthy)) {
		s.fatalf("%s: after open %d mirrors healthy, read-only %v; events:%s", what, st.Healthy, st.ReadOnly, s.n.ev)
	}
	s.l.settle(ckpt, doubtful, !cut && !st.ReadOnly, st.NextLSN)
	return st
}

// cycle runs committers until a power cut at a random point, then
// power-cycles the node and reopens the journal, sometimes with a second
// cut during the recovery itself.
func (s *sim) cycle(what string, wantHealthy func(int) bool) {
	s.t.Helper()
	s.armCut(30 + s.rng.IntN(300))
	ld := s.startLoad(1+s.rng.IntN(4), time.Duration(20+s.rng.IntN(400))*time.Microsecond, LSN(s.rng.IntN(3)*20))
	errs := s.wait(ld)
	if !s.n.rail.isTripped() {
		s.fatalf("%s: commits stopped without a power cut: %v", what, errs)
	}
	for _, err := range errs {
		if !errors.Is(err, ErrReadOnly) {
			s.fatalf("%s: a commit failed with %v, want ErrReadOnly after the power cut", what, err)
		}
	}
	s.crash()
	if s.rng.IntN(6) == 0 {
		// A second cut, during recovery: the catch-up of lagging
		// mirrors, the sealing of the newest segment, the start of the
		// next one.
		s.armCut(12)
		s.open(what+", open cut short", wantHealthy)
		if !s.n.rail.isTripped() {
			s.n.disarm()
			return
		}
		s.crash()
	}
	s.open(what+", open", wantHealthy)
}

// finish stops a load cleanly, closes the journal and checks that a clean
// reopen replays exactly what was acknowledged.
func (s *sim) finish(what string, wantHealthy func(int) bool) {
	s.t.Helper()
	ld := s.startLoad(1+s.rng.IntN(4), 200*time.Microsecond, 0)
	waitAcks(ld, 20)
	ld.stop.Store(true)
	if errs := s.wait(ld); len(errs) > 0 {
		s.fatalf("%s: commits failed: %v; events:%s", what, errs, s.n.ev)
	}
	s.w.Close()
	s.open(what+", clean reopen", wantHealthy)
	s.l.mu.Lock()
	doubt := len(s.l.inDoubt)
	s.l.mu.Unlock()
	if doubt != 0 {
		s.fatalf("%s: %d transactions in doubt after a clean close", what, doubt)
	}
	s.w.Close()
}

func allHealthy(n int) bool { return n == 3 }

// TestCrashSimulation: power cuts (drop and tear) at random points on all
// mirrors at once, several per seed, each followed by a reopen whose
// replay must hold every acknowledged transaction exactly once, in LSN
// order, with its bytes and LSN, and nothing partial or unknown; the
// journal must come back with every mirror and keep committing.
func TestCrashSimulation(t *testing.T) {
	forEachSeed(t, 200, 20, func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 1))
		s := newSim(t, seed, randomConfig(rng))
		cycles := 3 + s.rng.IntN(3)
		for c := 0; c < cycles; c++ {
			s.cycle(fmt.Sprintf("cycle %d", c), allHealthy)
		}
		s.finish("end", allHealthy)
	})
}

// TestCrashSimulationMirrorFails: one mirror's drive fails (every write)
// mid-run; commits go on with the other two; then a power cut and a
// reopen with the failed drive still failing or healed. Acknowledged
// transactions survive, and only the failed drive is left out.
func TestCrashSimulationMirrorFails(t *testing.T) {
	forEachSeed(t, 60, 8, func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 2))
		s := newSim(t, seed, randomConfig(rng))
		bad := s.rng.IntN(3)
		badName := fmt.Sprintf("mirror%d", bad)
		ld := s.startLoad(1+s.rng.IntN(4), 100*time.Microsecond, 0)
		if !waitAcks(ld, int64(5+s.rng.IntN(200))) {
			s.fatalf("commits stopped before the drive failure: %v", s.wait(ld))
		}
		s.n.faults[bad].FailRate(faultdev.OpWrite, 1)
		at := ld.acks.Load()
		if !waitAcks(ld, at+int64(20+s.rng.IntN(100))) {
			s.fatalf("commits stopped after %s failed: %v; events:%s", badName, s.wait(ld), s.n.ev)
		}
		if n := s.n.ev.count(EventMirrorFailed, badName); n != 1 {
			s.fatalf("%d mirror-failed events for %s; events:%s", n, badName, s.n.ev)
		}
		if st := s.w.Stats(); st.Healthy != 2 || st.ReadOnly {
			s.fatalf("with %s failed: %d healthy, read-only %v", badName, st.Healthy, st.ReadOnly)
		}
		// Power cut on the others.
		s.n.rail.setMode(faultdev.CutMode(s.rng.IntN(2)))
		for m, f := range s.n.faults {
			if m != bad {
				f.PowerCutAfter(s.rng.IntN(60), s.n.rail.mode)
			}
		}
		for _, err := range s.wait(ld) {
			if !errors.Is(err, ErrReadOnly) {
				s.fatalf("a commit failed with %v, want ErrReadOnly after the power cut", err)
			}
		}
		s.crash()
		healed := s.rng.IntN(2) == 0
		if healed {
			s.n.faults[bad].ClearFaults()
		}
		onlyBadOut := func(h int) bool {
			for _, k := range []EventKind{EventMirrorFailed, EventMirrorBehind} {
				if s.n.ev.count(k, "*") != s.n.ev.count(k, badName) {
					return false
				}
			}
			if healed {
				return h >= 2
			}
			return h == 2
		}
		s.open(fmt.Sprintf("reopen with %s healed %v", badName, healed), onlyBadOut)
		for c := 0; c < 2; c++ {
			s.cycle(fmt.Sprintf("cycle %d with %s healed %v", c, badName, healed), func(h int) bool { return h >= 2 })
		}
		s.finish("end", func(h int) bool { return h >= 2 })
	})
}

// TestCrashSimulationBadCopy: a bit flips inside an acknowledged record on
// one mirror (after a power cut or a clean close); the reopen replays
// everything, reading that record from another mirror, and reports an
// EventBadCopy naming the damaged mirror.
func TestCrashSimulationBadCopy(t *testing.T) {
	forEachSeed(t, 60, 8, func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 3))
		s := newSim(t, seed, randomConfig(rng))
		damaged := map[string]bool{} // mirrors with a damaged copy left from an earlier round
		for round := 0; round < 2; round++ {
			what := fmt.Sprintf("round %d", round)
			// Commit with a checkpointer that lags, so that many
			// acknowledged records are after the checkpoint.
			clean := s.rng.IntN(2) == 0
			if !clean {
				s.armCut(30 + s.rng.IntN(300))
			}
			ld := s.startLoad(1+s.rng.IntN(4), 200*time.Microsecond, 30)
			if clean {
				waitAcks(ld, int64(20+s.rng.IntN(200)))
				ld.stop.Store(true)
			}
			errs := s.wait(ld)
			if clean && len(errs) > 0 {
				s.fatalf("%s: commits failed: %v", what, errs)
			}
			if clean {
				s.w.Close()
			} else {
				s.crash()
			}
			// Damage an acknowledged record after the checkpoint on
			// one mirror: a bit of its header or payload, wherever a
			// copy of it lies on that drive.
			victim := s.rng.IntN(3)
			lsn, positions := s.corruptAcked(victim)
			if len(positions) == 0 {
				s.open(what+", open (nothing to damage)", allHealthy)
				continue
			}
			name := fmt.Sprintf("mirror%d", victim)
			damaged[name] = true
			s.open(fmt.Sprintf("%s, open with LSN %d damaged on %s", what, lsn, name), allHealthy)
			// The damaged copy is reported: read from another mirror,
			// or (at the tail of the newest segment, where damage looks
			// like a torn write) replaced by a copy from another mirror.
			reported := false
			for _, e := range s.n.ev.all() {
				if e.Kind != EventBadCopy {
					continue
				}
				for _, pos := range positions {
					reported = reported || e.Mirror == name && strings.HasPrefix(e.Detail, fmt.Sprintf("journal segment %d ", pos))
				}
				if (strings.Contains(e.Detail, "damaged") || strings.Contains(e.Detail, "unreadable")) && !damaged[e.Mirror] {
					s.fatalf("%s: a bad-copy event names %s, which nothing damaged; events:%s", what, e.Mirror, s.n.ev)
				}
			}
			if !reported {
				s.fatalf("%s: LSN %d damaged on %s in ring position %v, but no bad-copy event reports it; events:%s", what, lsn, name, positions, s.n.ev)
			}
		}
		s.cycle("cycle after the damage", allHealthy)
		s.finish("end", allHealthy)
	})
}

// corruptAcked flips a bit inside a random acknowledged record after the
// checkpoint on mirror m, in every copy of it on the drive. It returns the
// record's LSN and the ring positions of the copies damaged.
func (s *sim) corruptAcked(m int) (LSN, []int) {
	s.l.mu.Lock()
	var cands []LSN
	for lsn, ref := range s.l.acked {
		if lsn > s.l.ckpt && ref.size >= 16 {
			cands = append(cands, lsn)
		}
	}
	s.l.mu.Unlock()
	slices.Sort(cands)
	s.rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	for _, lsn := range cands {
		s.l.mu.Lock()
		ref := s.l.acked[lsn]
		s.l.mu.Unlock()
		p := payload(ref.id, ref.size)
		media := s.n.mems[m].Bytes()
		var offs []int
		for from := 0; ; {
			i := bytes.Index(media[from:], p)
			if i < 0 {
				break
			}
			offs = append(offs, from+i)
			from += i + 1
		}
		if len(offs) == 0 {
			continue // this mirror missed it (to be caught up at open)
		}
		rel := s.rng.IntN(seg.RecordHeaderSize+ref.size) - seg.RecordHeaderSize
		var positions []int
		for _, off := range offs {
			s.n.faults[m].CorruptAt(int64(off + rel))
			positions = append(positions, int(int64(off)/s.n.cfg.segSize)-s.n.cfg.conv)
		}
		return lsn, positions
	}
	return 0, nil
}

// TestCrashSimulationReadOnly: with two of three mirrors failing the
// journal refuses commits with ErrReadOnly and one EventReadOnly; it opens
// read-only while they still fail, replaying everything, and writable
// once they are healed.
func TestCrashSimulationReadOnly(t *testing.T) {
	forEachSeed(t, 40, 6, func(t *testing.T, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 4))
		s := newSim(t, seed, randomConfig(rng))
		ld := s.startLoad(1+s.rng.IntN(4), 100*time.Microsecond, 0)
		perm := s.rng.Perm(3)
		a, b := perm[0], perm[1]
		ops := []faultdev.Op{faultdev.OpWrite, faultdev.OpFlush}
		if !waitAcks(ld, int64(5+s.rng.IntN(150))) {
			s.fatalf("commits stopped early: %v", s.wait(ld))
		}
		s.n.faults[a].FailRate(ops[s.rng.IntN(2)], 1)
		if !waitAcks(ld, ld.acks.Load()+int64(10+s.rng.IntN(100))) {
			s.fatalf("commits stopped after one mirror failed: %v; events:%s", s.wait(ld), s.n.ev)
		}
		s.n.faults[b].FailRate(ops[s.rng.IntN(2)], 1)
		for _, err := range s.wait(ld) {
			if !errors.Is(err, ErrReadOnly) {
				s.fatalf("with two mirrors failed a commit returned %v, want ErrReadOnly", err)
			}
		}
		if _, err := s.w.Commit(context.Background(), []byte("refused")); !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "1 of 3") {
			s.fatalf("commit on the read-only journal: %v", err)
		}
		if st := s.w.Stats(); !st.ReadOnly || st.Healthy != 1 {
			s.fatalf("stats of the read-only journal: %+v", st)
		}
		if n := s.n.ev.count(EventReadOnly, ""); n != 1 {
			s.fatalf("%d read-only events, want 1; events:%s", n, s.n.ev)
		}
		for _, m := range []int{a, b} {
			if s.n.ev.count(EventMirrorFailed, fmt.Sprintf("mirror%d", m)) != 1 {
				s.fatalf("no mirror-failed event for mirror%d; events:%s", m, s.n.ev)
			}
		}
		if s.rng.IntN(2) == 0 {
			s.armCut(0)
			s.n.rail.trip()
			s.crash()
		} else {
			s.w.Close()
		}
		// Still failing: everything is replayed, and the journal is
		// read-only.
		st := s.open("reopen with two mirrors failing", nil)
		if !st.ReadOnly || s.n.ev.count(EventReadOnly, "") != 1 {
			s.fatalf("reopened with two mirrors failing: %+v; events:%s", st, s.n.ev)
		}
		if _, err := s.w.Commit(context.Background(), []byte("refused")); !errors.Is(err, ErrReadOnly) {
			s.fatalf("commit after reopening with two mirrors failing: %v", err)
		}
		s.w.Close()
		// Healed: writable again.
		for _, f := range s.n.faults {
			f.ClearFaults()
		}
		s.open("reopen healed", func(h int) bool { return h >= 2 })
		s.cycle("cycle after healing", func(h int) bool { return h >= 2 })
		s.finish("end", func(h int) bool { return h >= 2 })
	})
}

// TestCrashAtEveryOp cuts the power at every mutating operation of a
// fixed sequential workload (the mirrors take turns being the drive the
// cut hits first, and the cut modes alternate), on conventional and zoned
// (ZNS, two open and active zones) rings.
// After each cut the journal must reopen with every acknowledged
// transaction and all three mirrors, and commit.
func TestCrashAtEveryOp(t *testing.T) {
	cfgs := map[string]nodeConfig{
		"conventional": {ring: 4, segSize: 64 << 10},
		"zoned":        {ring: 4, segSize: 64 << 10, zoned: true, maxOpen: 2, maxActive: 2, behavior: zonemu.BehaviorZNS},
	}
	lessGC(t)
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Count the workload's operations on an uncut run.
			s := newSim(t, 1, cfg)
			start := s.n.faults[0].Ops()
			everyOpWorkload(s)
			total := s.n.faults[0].Ops() - start
			s.w.Close()
			step := 1
			if testing.Short() || simtest.RaceEnabled {
				step = 4
			}
			for cut := 0; cut <= total; cut += step {
				m := cut % 3
				mode := faultdev.CutMode(cut / 3 % 2)
				s := newSim(t, 1, cfg)
				s.n.rail.setMode(mode)
				s.n.faults[m].PowerCutAfter(cut, mode)
				everyOpWorkload(s)
				s.crash()
				s.open(fmt.Sprintf("cut at operation %d of %d on mirror%d (%s)", cut, total, m, mode), allHealthy)
				if _, err := s.w.Commit(context.Background(), []byte("after the cut")); err != nil {
					s.fatalf("cut at operation %d on mirror%d: commit after reopening: %v", cut, m, err)
				}
				s.w.Close()
			}
		})
	}
}

// everyOpWorkload commits 24 transactions one at a time (several segment
// switches, the ring wrapping), checkpointing every seventh, until a
// commit fails.
func everyOpWorkload(s *sim) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 24; i++ {
		id := s.ids.Add(1)
		size := txnSize(rng)
		s.l.begin(id, size)
		lsn, err := s.w.Commit(context.Background(), payload(id, size))
		if err != nil {
			if !errors.Is(err, ErrReadOnly) {
				s.fatalf("commit: %v", err)
			}
			return
		}
		s.l.ack(lsn, id, size)
		if i%7 == 6 {
			c := s.l.pickCheckpoint(rng, 3)
			if c != 0 {
				if err := s.w.Checkpoint(c); err != nil {
					s.fatalf("checkpoint %d: %v", c, err)
				}
			}
		}
	}
	if p := s.l.takeProblems(); len(p) > 0 {
		s.fatalf("%s", strings.Join(p, "; "))
	}
}
