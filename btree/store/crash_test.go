package store

// The crash simulation: seeded runs of a node's metadata store on three
// mirrors (faultdev over memdev) that share one power rail. Committers
// commit random batches into several trees (created, dropped and
// recreated as the run goes), a checkpointer goroutine checkpoints and
// runs Check, another changes the schema, background checkpoints run by
// journal bytes, and readers hold views across checkpoints and verify
// that each is one consistent state. A power cut comes at a random point
// (armed on one mirror, it cuts all of them), landing in commits, in every
// phase of a checkpoint (node writes, the record's flush, between the
// labels of different mirrors, the install and the journal marker) and
// during recovery. After each cut the store is reopened and compared with
// what the test knows was acknowledged (allowing the outcomes of the
// operations in doubt), Check must pass, and the run goes on; it ends with
// a clean close and reopen. Other seeds have a mirror fail for good
// partway, or bits flip at rest in nodes and checkpoint records.
//
//	go test ./btree/store/ -run Crash                       60 seeds (15 with -short, a quarter with -race)
//	go test ./btree/store/ -run Crash -store.seeds=1000      thousands
//	go test ./btree/store/ -run '^TestCrashSimulation$' -store.seed=17 -v   one seed
//
// A seed fixes the configuration and every random decision of the test
// (sizes, batches, cut points and modes, faults); the interleaving of the
// goroutines is the scheduler's, so a failure that depends on it may need
// a few reruns of its seed (-count=20).
//
// What a batch writes makes a partial transaction visible. Committer c
// owns the keys k/c/NNNNNN of every tree, so its writes to a key are in
// the order it made them; a value is the batch's sequence number followed
// by bytes drawn from it and the key. Every batch also puts, in each tree
// it touches, the marker m/c: its sequence number, the trees it touches
// and the keys it puts and deletes there. In any state the store shows,
// the marker of c in a tree is c's last batch there, so every key it
// lists holds exactly that batch's value (or is absent if deleted), no key
// of c holds a value of a later batch, and the other trees it names show
// a marker of c at least as new (or none, when recreated since). Keys put
// with an empty value are listed apart: present, but of no known batch.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/internal/simtest"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/superblock"
)

// seeds: -store.seeds=N runs N seeds of TestCrashSimulation (default 36)
// and the other seeded tests in proportion.
var seeds = simtest.Flags("./btree/store/", "store", mainSeeds)

// mainSeeds is TestCrashSimulation's default seed count.
const mainSeeds = 36

// forEachSeed runs fn as a parallel subtest per seed (see simtest), and
// logs the totals of all seeds at the end.
func forEachSeed(t *testing.T, def, short int, fn func(t *testing.T, seed uint64, tot *crashTotals)) {
	name := t.Name()
	tot := &crashTotals{phases: map[string]int{}}
	start := time.Now()
	t.Cleanup(func() { t.Logf("%s after %v:\n%s", name, time.Since(start).Round(time.Millisecond), tot) })
	seeds.Run(t, def, short, func(t *testing.T, seed uint64) {
		fn(t, seed, tot)
		tot.seeds.Add(1)
	})
}

// ---- totals

// crashTotals is what the seeds of one test did, logged at its end.
type crashTotals struct {
	seeds, acked, doubt, doubtApplied, schemaOps atomic.Int64
	cuts, openCuts, reopens, checks, ckpts       atomic.Int64
	ckptCalls, views, viewsAcross, badCopies     atomic.Int64
	mirrorsFailed, cleaned                       atomic.Int64
	maxHeight                                    atomic.Int64

	mu     sync.Mutex
	phases map[string]int
}

func (c *crashTotals) phase(p string) {
	c.mu.Lock()
	c.phases[p]++
	c.mu.Unlock()
}

func (c *crashTotals) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\tseeds %d; commits acknowledged %d; operations in doubt at a cut %d (%d of them found applied); schema changes %d\n",
		c.seeds.Load(), c.acked.Load(), c.doubt.Load(), c.doubtApplied.Load(), c.schemaOps.Load())
	fmt.Fprintf(&b, "\tpower cuts %d (and %d more during recovery); reopens %d; checks passed %d\n",
		c.cuts.Load(), c.openCuts.Load(), c.reopens.Load(), c.checks.Load())
	fmt.Fprintf(&b, "\tcheckpoints installed %d (explicit calls that succeeded %d), metadata segments cleaned %d; views verified twice %d (%d held across a checkpoint); bad copies read around %d; mirrors failed %d; tallest tree %d levels\n",
		c.ckpts.Load(), c.ckptCalls.Load(), c.cleaned.Load(), c.views.Load(), c.viewsAcross.Load(), c.badCopies.Load(), c.mirrorsFailed.Load(), c.maxHeight.Load())
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.phases))
	for k := range c.phases {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteString("\tcuts by where they landed (the operation the cut replaced):")
	for _, k := range keys {
		fmt.Fprintf(&b, "\n\t\t%5d  %s", c.phases[k], k)
	}
	return b.String()
}

// ---- the power rail

// crashRail is the power supply the three mirrors share: when one of them
// loses power (a cut armed on it fires), all of them do.
type crashRail struct {
	mu         sync.Mutex
	faults     []*faultdev.Device
	mode       faultdev.CutMode
	tripped    bool
	trippedCh  chan struct{}
	phase      string // where the cut landed
	recovering bool   // the store is being opened
}

func newCrashRail(faults []*faultdev.Device) *crashRail {
	return &crashRail{faults: faults, trippedCh: make(chan struct{})}
}

func (r *crashRail) trip(phase string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tripped {
		return
	}
	r.tripped, r.phase = true, phase
	close(r.trippedCh)
	for _, f := range r.faults {
		_ = f.PowerCut(r.mode) // a drive already off stays as it is
	}
}

func (r *crashRail) isTripped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tripped
}

// arm arms a cut on mirror m after n mutating operations of it.
func (r *crashRail) arm(m, n int, mode faultdev.CutMode) {
	r.mu.Lock()
	r.mode = mode
	r.mu.Unlock()
	r.faults[m].PowerCutAfter(n, mode)
}

// disarm cancels the cuts still armed.
func (r *crashRail) disarm() {
	for _, f := range r.faults {
		f.PowerCutAfter(1<<50, faultdev.CutDrop)
	}
}

// restart turns the power back on.
func (r *crashRail) restart() {
	r.mu.Lock()
	r.tripped, r.phase, r.trippedCh = false, "", make(chan struct{})
	r.mu.Unlock()
	for _, f := range r.faults {
		f.Restart()
	}
}

func (r *crashRail) setRecovering(v bool) {
	r.mu.Lock()
	r.recovering = v
	r.mu.Unlock()
}

// railDev is a mirror's drive on the rail. The first operation that meets
// the cut trips the rail; it also notes which part of the drive each
// mutating operation touched, to tell where a cut landed.
type railDev struct {
	fd   *faultdev.Device
	rail *crashRail
	idx  int
	// the drive's areas: labels below ring, the journal ring below meta
	ring, meta int64

	mu   sync.Mutex
	last string // the area of the last mutating operation that succeeded
}

func (d *railDev) area(off int64) string {
	switch {
	case off < d.ring:
		return "label"
	case off < d.meta:
		return "journal"
	}
	return "meta"
}

// where names the checkpoint phase (or the commit) an operation belongs
// to, from the area it touches and the one touched before. The store
// writes the labels of the mirrors in order, 0 first.
func (d *railDev) where(op string, off int64) string {
	d.mu.Lock()
	last := d.last
	d.mu.Unlock()
	a := last
	if op != "flush" {
		a = d.area(off)
	}
	d.rail.mu.Lock()
	recovering := d.rail.recovering
	d.rail.mu.Unlock()
	switch {
	case recovering:
		return fmt.Sprintf("recovery (Open): %s of the %s area", op, a)
	case a == "meta" && op != "flush":
		return "checkpoint: node and record writes"
	case a == "meta":
		return "checkpoint: flush of nodes and record"
	case a == "label" && d.idx == 0:
		return "checkpoint: label of mirror 0 (record durable, no label yet)"
	case a == "label":
		return fmt.Sprintf("checkpoint: label of mirror %d (between label updates)", d.idx)
	case a == "journal" && last == "label":
		return "checkpoint: install (journal release, marker commit)"
	case a == "journal":
		return "commit (journal)"
	}
	return "other (" + op + ")"
}

func (d *railDev) saw(op string, off int64, err error) error {
	if errors.Is(err, dev.ErrPowerCut) {
		d.rail.trip(fmt.Sprintf("%s (%s on mirror %d)", d.where(op, off), op, d.idx))
	} else if err == nil && op != "read" && op != "flush" {
		d.mu.Lock()
		d.last = d.area(off)
		d.mu.Unlock()
	}
	return err
}

func (d *railDev) ReadAt(p []byte, off int64) (int, error) {
	n, err := d.fd.ReadAt(p, off)
	return n, d.saw("read", off, err)
}

func (d *railDev) WriteAt(p []byte, off int64) (int, error) {
	n, err := d.fd.WriteAt(p, off)
	return n, d.saw("write", off, err)
}

func (d *railDev) Flush() error { return d.saw("flush", 0, d.fd.Flush()) }

func (d *railDev) Discard(off, n int64) error { return d.saw("discard", off, d.fd.Discard(off, n)) }

func (d *railDev) Geometry() dev.Geometry { return d.fd.Geometry() }
func (d *railDev) Path() string           { return d.fd.Path() }
func (d *railDev) Close() error           { return d.fd.Close() }

// ---- events and history

// crashLog keeps the store's events since the last reset, and the recent
// history of the run (events and the test's steps) for failure messages.
type crashLog struct {
	simtest.History
	mu  sync.Mutex
	evs []Event
}

func (l *crashLog) add(e Event) {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
	l.Add(fmt.Sprintf("%s %s: %s", e.Kind, e.Mirror, e.Detail))
}

func (l *crashLog) mark(format string, args ...any) { l.Mark(format, args...) }

func (l *crashLog) reset() {
	l.mu.Lock()
	l.evs = nil
	l.mu.Unlock()
}

// find returns the events of kind about mirror ("": any) whose detail
// contains sub.
func (l *crashLog) find(kind, mirror, sub string) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.evs {
		if e.Kind == kind && (mirror == "" || e.Mirror == mirror) && strings.Contains(e.Detail, sub) {
			out = append(out, e)
		}
	}
	return out
}

// ---- keys, values and markers

// dataKey is committer c's key i: k/c/i, then pad more bytes (on some
// seeds, so that internal nodes hold fewer keys and trees grow taller).
func dataKey(c, i, pad int) string {
	k := fmt.Sprintf("k/%02d/%06d", c, i)
	if pad > 0 {
		k += "." + strings.Repeat(string(rune('a'+(c*7+i)%26)), pad-1)
	}
	return k
}

func markerKey(c int) string { return fmt.Sprintf("m/%02d", c) }

// kn is a key for messages: padding abbreviated.
func kn(k string) string {
	if len(k) > 16 {
		return fmt.Sprintf("%s…(%d bytes)", k[:14], len(k))
	}
	return k
}

// parseKey returns the committer of a key and whether it is a marker.
func parseKey(k string) (c int, isMarker bool, err error) {
	if len(k) == 4 && strings.HasPrefix(k, "m/") {
		c, err = strconv.Atoi(k[2:4])
		return c, true, err
	}
	if len(k) >= 11 && strings.HasPrefix(k, "k/") && k[4] == '/' {
		c, err = strconv.Atoi(k[2:4])
		i, err2 := strconv.Atoi(k[5:11])
		if err == nil && err2 == nil && k == dataKey(c, i, len(k)-11) {
			return c, false, nil
		}
	}
	return 0, false, fmt.Errorf("key %q is none the test writes", kn(k))
}

// valueLen draws a value size: mostly small, an eighth from 1000 to 4000
// bytes, so that leaves split and merge and trees grow levels.
func valueLen(rng *rand.Rand) int {
	switch r := rng.IntN(16); {
	case r < 2:
		return 8 + rng.IntN(8)
	case r < 14:
		return 16 + rng.IntN(240)
	default:
		return 1000 + rng.IntN(3001)
	}
}

// dataValue is the value batch seq puts into key: seq, then bytes drawn
// from seq, the key and the size.
func dataValue(seq uint64, key string, n int) []byte {
	b := make([]byte, n)
	binary.LittleEndian.PutUint64(b, seq)
	h := fnv.New64a()
	h.Write([]byte(key))
	x := seq*0x9e3779b97f4a7c15 ^ h.Sum64() ^ uint64(n)<<40
	var w [8]byte
	for i := 8; i < n; i += 8 {
		x += 0x9e3779b97f4a7c15
		z := (x ^ x>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		binary.LittleEndian.PutUint64(w[:], z^z>>31)
		copy(b[i:], w[:])
	}
	return b
}

// emptyValue stands for an empty value among the batches of keys.
const emptyValue = math.MaxUint64

// valueSeq returns the batch a value is from, checking its bytes.
func valueSeq(key string, v []byte) (uint64, bool) {
	if len(v) < 8 {
		return 0, false
	}
	seq := binary.LittleEndian.Uint64(v)
	return seq, bytes.Equal(v, dataValue(seq, key, len(v)))
}

// marker is the value of m/c in a tree: committer c's last batch there.
type marker struct {
	seq        uint64
	trees      []string // every tree the batch touches
	puts, dels []int    // the keys it puts and deletes in this tree
	empties    []int    // the keys it puts with an empty value
}

func (m marker) encode() []byte {
	b := binary.LittleEndian.AppendUint64(nil, m.seq)
	b = binary.AppendUvarint(b, uint64(len(m.trees)))
	for _, t := range m.trees {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	for _, l := range [][]int{m.puts, m.dels, m.empties} {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, i := range l {
			b = binary.AppendUvarint(b, uint64(i))
		}
	}
	return b
}

func decodeMarker(b []byte) (marker, error) {
	var m marker
	bad := errors.New("not a marker")
	if len(b) < 8 {
		return m, bad
	}
	m.seq, b = binary.LittleEndian.Uint64(b), b[8:]
	uv := func() (int, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > 1<<20 {
			return 0, false
		}
		b = b[n:]
		return int(v), true
	}
	nt, ok := uv()
	if !ok {
		return m, bad
	}
	for range nt {
		l, ok := uv()
		if !ok || l > len(b) {
			return m, bad
		}
		m.trees, b = append(m.trees, string(b[:l])), b[l:]
	}
	for _, l := range []*[]int{&m.puts, &m.dels, &m.empties} {
		n, ok := uv()
		if !ok {
			return m, bad
		}
		for range n {
			i, ok := uv()
			if !ok {
				return m, bad
			}
			*l = append(*l, i)
		}
	}
	if len(b) != 0 {
		return m, bad
	}
	return m, nil
}

func reverseOrder(a, b []byte) int { return bytes.Compare(b, a) }

func cmpOf(name string) btree.Compare {
	if name == "rev" {
		return reverseOrder
	}
	return bytes.Compare
}

// ---- the model: what was acknowledged, and what is in doubt

type modelTree struct {
	cmp string
	kv  map[string]string
}

// simBatch is one batch: per tree, the keys it puts (value) and deletes
// (nil), its markers included.
type simBatch struct {
	seq uint64
	c   int
	ops map[string]map[string][]byte
}

func (b *simBatch) trees() []string {
	var ts []string
	for t := range b.ops {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

func (b *simBatch) applyTo(trees map[string]*modelTree) {
	for t, kv := range b.ops {
		mt := trees[t]
		if mt == nil {
			continue
		}
		for k, v := range kv {
			if v == nil {
				delete(mt.kv, k)
			} else {
				mt.kv[k] = string(v)
			}
		}
	}
}

type schemaOp struct {
	create    bool
	name, cmp string
}

// crashModel is the state the store must show: the acknowledged trees,
// plus any subset of the batches in doubt (each whole or not at all), or
// the schema change in doubt.
type crashModel struct {
	mu     sync.Mutex
	trees  map[string]*modelTree
	doubts []*simBatch
	schema *schemaOp
}

func (m *crashModel) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ns []string
	for n := range m.trees {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

func (m *crashModel) ack(b *simBatch) {
	m.mu.Lock()
	b.applyTo(m.trees)
	m.mu.Unlock()
}

func (m *crashModel) doubt(b *simBatch) {
	m.mu.Lock()
	m.doubts = append(m.doubts, b)
	m.mu.Unlock()
}

func cloneTrees(ts map[string]*modelTree) map[string]*modelTree {
	c := make(map[string]*modelTree, len(ts))
	for n, t := range ts {
		kv := make(map[string]string, len(t.kv))
		for k, v := range t.kv {
			kv[k] = v
		}
		c[n] = &modelTree{cmp: t.cmp, kv: kv}
	}
	return c
}

// expect returns the state the store must show given what it shows: the
// acknowledged state with the operations in doubt that it shows applied
// (decided by a batch's marker in its first tree, and the existence of the
// tree a schema change in doubt names). Comparing the result with actual
// then checks each is whole.
func (m *crashModel) expect(actual map[string]*modelTree) (exp map[string]*modelTree, applied int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp = cloneTrees(m.trees)
	if op := m.schema; op != nil {
		_, has := actual[op.name]
		switch {
		case op.create && has:
			exp[op.name] = &modelTree{cmp: op.cmp, kv: map[string]string{}}
			applied++
		case !op.create && !has:
			delete(exp, op.name)
			applied++
		}
	}
	for _, b := range m.doubts {
		t := b.trees()[0]
		mk := markerKey(b.c)
		if at := actual[t]; at != nil && exp[t] != nil && at.kv[mk] == string(b.ops[t][mk]) {
			b.applyTo(exp)
			applied++
		}
	}
	return exp, applied
}

// settle makes exp the acknowledged state: the operations in doubt that
// it holds are durable now, the others lost for good.
func (m *crashModel) settle(exp map[string]*modelTree) {
	m.mu.Lock()
	m.trees, m.doubts, m.schema = exp, nil, nil
	m.mu.Unlock()
}

func (m *crashModel) inDoubt() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.doubts)
	if m.schema != nil {
		n++
	}
	return n
}

// compareTrees says how actual differs from exp.
func compareTrees(exp, actual map[string]*modelTree) error {
	var en, an []string
	for n := range exp {
		en = append(en, n)
	}
	for n := range actual {
		an = append(an, n)
	}
	slices.Sort(en)
	slices.Sort(an)
	if !slices.Equal(en, an) {
		return fmt.Errorf("trees %q, want %q", an, en)
	}
	for _, n := range en {
		e, a := exp[n], actual[n]
		if e.cmp != a.cmp {
			return fmt.Errorf("tree %q ordered by %q, want %q", n, a.cmp, e.cmp)
		}
		var keys []string
		for k := range e.kv {
			keys = append(keys, k)
		}
		for k := range a.kv {
			if _, ok := e.kv[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			ev, eok := e.kv[k]
			av, aok := a.kv[k]
			switch {
			case !aok:
				return fmt.Errorf("tree %q: key %q is missing (want %s)", n, kn(k), describeValue(k, ev))
			case !eok:
				return fmt.Errorf("tree %q: key %q = %s should not be there", n, kn(k), describeValue(k, av))
			case ev != av:
				return fmt.Errorf("tree %q: key %q = %s, want %s", n, kn(k), describeValue(k, av), describeValue(k, ev))
			}
		}
	}
	return nil
}

func describeValue(k, v string) string {
	if _, isMarker, _ := parseKey(k); isMarker {
		if m, err := decodeMarker([]byte(v)); err == nil {
			return fmt.Sprintf("marker of batch %d", m.seq)
		}
	}
	if v == "" {
		return "an empty value"
	}
	if seq, ok := valueSeq(k, []byte(v)); ok {
		return fmt.Sprintf("%d bytes of batch %d", len(v), seq)
	}
	return fmt.Sprintf("%d bytes %q (of no batch)", len(v), short([]byte(v)))
}

// ---- the simulation

type crashConfig struct {
	segSize    int64
	metaSegs   uint32
	ringSegs   uint32
	cacheBytes int64
	ckptBytes  int64
	committers int
	readers    int
	maxTrees   int
	maxOps     int
	keys       int // key space of a committer in a tree
	pad        int // bytes added to keys
}

func (c crashConfig) String() string {
	return fmt.Sprintf("segments of %d KiB, %d metadata, %d journal; cache %d KiB; checkpoint every %d KiB of journal; %d committers, %d readers, up to %d trees, batches of up to %d operations, %d keys of %d bytes per committer and tree",
		c.segSize>>10, c.metaSegs, c.ringSegs, c.cacheBytes>>10, c.ckptBytes>>10, c.committers, c.readers, c.maxTrees, c.maxOps, c.keys, 11+c.pad)
}

func randomCrashConfig(rng *rand.Rand) crashConfig {
	c := crashConfig{
		segSize:    int64(4+rng.IntN(13)) * 64 << 10, // 256 KiB .. 1 MiB
		metaSegs:   uint32(12 + rng.IntN(29)),
		ringSegs:   uint32(3 + rng.IntN(4)),
		cacheBytes: 4 << 20,
		committers: 1 + rng.IntN(3),
		readers:    rng.IntN(3),
		maxTrees:   2 + rng.IntN(3),
		maxOps:     4 + rng.IntN(29),
	}
	if rng.IntN(3) == 0 {
		c.cacheBytes = 64 << 10 // reads go to the media
	}
	ring := int64(c.ringSegs) * c.segSize
	if rng.IntN(2) == 0 {
		c.ckptBytes = int64(8+rng.IntN(57)) << 10 // background checkpoints run all the time
	} else {
		c.ckptBytes = ring / 3
	}
	if rng.IntN(2) == 0 {
		c.pad = 50 + rng.IntN(700)
	}
	// Live data about an eighth of the metadata space (a quarter on a
	// quarter of the seeds, where cleaning has more to do), at some 320
	// bytes a key and its padding.
	capacity := int64(c.metaSegs) * c.segSize
	share := int64(8)
	if rng.IntN(4) == 0 {
		share = 4
	}
	c.keys = int(capacity / share / int64(c.committers*c.maxTrees*(320+c.pad)))
	c.keys = min(max(c.keys, 40), 2000)
	return c
}

type crashSim struct {
	// manualResilver: Open leaves partial mirrors to an explicit Resilver.
	manualResilver bool

	t     *testing.T
	seed  uint64
	rng   *rand.Rand
	cfg   crashConfig
	r     *rig
	rail  *crashRail
	devs  []*railDev
	label []*superblock.Log
	st    *Store
	model *crashModel
	tot   *crashTotals
	ev    *crashLog
	seq   atomic.Uint64
	ckpts atomic.Int64 // checkpoint events

	// schema: schema changes hold it exclusively, commits shared, so that
	// the test knows which incarnation of a tree a batch went to.
	schema       sync.RWMutex
	failedMirror int // the mirror failing for good, -1 if none
}

func newCrashSim(t *testing.T, seed uint64, tot *crashTotals) *crashSim {
	t.Helper()
	s := &crashSim{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 0x5eed0fc4a54)), tot: tot, ev: &crashLog{}, failedMirror: -1,
		model: &crashModel{trees: map[string]*modelTree{}}}
	s.cfg = randomCrashConfig(s.rng)
	s.r = newRig(t, rigConfig{mirrors: 3, segSize: s.cfg.segSize, metaSegs: s.cfg.metaSegs, ringSegs: s.cfg.ringSegs, seed: seed})
	s.rail = newCrashRail(s.r.faults)
	l := s.r.labels[0].Label()
	for i, fd := range s.r.faults {
		s.devs = append(s.devs, &railDev{fd: fd, rail: s.rail, idx: i,
			ring: l.Layout.SegmentOffset(l.Meta.RingFirst), meta: l.Layout.SegmentOffset(l.Meta.SegFirst)})
	}
	if err := s.openLabels(); err != nil {
		t.Fatal(err)
	}
	st, err := Create(s.options())
	if err != nil {
		s.fatalf("Create: %v", err)
	}
	s.st = st
	for range 1 + s.rng.IntN(s.cfg.maxTrees) {
		name, cmp := s.newTreeName(s.rng)
		if err := st.CreateTree(ctx, name, cmp); err != nil {
			s.fatalf("CreateTree(%q): %v", name, err)
		}
		s.model.trees[name] = &modelTree{cmp: cmp, kv: map[string]string{}}
	}
	return s
}

func (s *crashSim) openLabels() error {
	s.label = s.label[:0]
	for i, d := range s.devs {
		lg, err := superblock.Open(d)
		if err != nil {
			return fmt.Errorf("label of mirror %d: %w", i, err)
		}
		s.label = append(s.label, lg)
	}
	return nil
}

func (s *crashSim) options() Options {
	o := s.r.options()
	for i := range o.Mirrors {
		o.Mirrors[i].Dev, o.Mirrors[i].Label = s.devs[i], s.label[i]
	}
	o.Events = func(e Event) {
		if e.Kind == "checkpoint" {
			s.ckpts.Add(1)
		}
		s.ev.add(e)
	}
	o.CacheBytes = s.cfg.cacheBytes
	o.CheckpointBytes = s.cfg.ckptBytes
	o.Comparators = map[string]btree.Compare{"rev": reverseOrder}
	o.Journal.FullWait = 10 * time.Second
	o.ManualResilver = s.manualResilver
	return o
}

func (s *crashSim) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Logf("history of seed %d:%s", s.seed, s.ev.History.String())
	s.t.Fatalf("seed %d (%s): %s", s.seed, s.cfg, fmt.Sprintf(format, args...))
}

// newTreeName picks a name no acknowledged tree has (t0..t7: names come
// back after drops) and a comparator.
func (s *crashSim) newTreeName(rng *rand.Rand) (string, string) {
	s.model.mu.Lock()
	defer s.model.mu.Unlock()
	for {
		n := fmt.Sprintf("t%d", rng.IntN(8))
		if s.model.trees[n] == nil {
			cmp := ""
			if rng.IntN(3) == 0 {
				cmp = "rev"
			}
			return n, cmp
		}
	}
}

// ---- the load: committers, a checkpointer, a schema changer, readers

type cutPlan struct {
	kind   string // "ops": armed at the start; "checkpoint": armed right before an explicit checkpoint; "moment": at a random time; "none"
	mirror int
	mode   faultdev.CutMode
	n      int
	after  int  // "checkpoint": at the checkpointer's after-th checkpoint (schemer's round, paused) of the cycle
	pause  bool // "checkpoint": commits wait while that checkpoint runs
	delay  time.Duration
}

func (p cutPlan) String() string {
	switch p.kind {
	case "ops":
		return fmt.Sprintf("%s cut after %d operations of mirror %d", p.mode, p.n, p.mirror)
	case "checkpoint":
		return fmt.Sprintf("%s cut after %d operations of mirror %d, armed before explicit checkpoint %d (commits paused %v)", p.mode, p.n, p.mirror, p.after, p.pause)
	case "moment":
		return fmt.Sprintf("%s cut after %v", p.mode, p.delay)
	}
	return "no cut"
}

func (s *crashSim) pickPlan() cutPlan {
	p := cutPlan{mode: faultdev.CutMode(s.rng.IntN(2))}
	for {
		p.mirror = s.rng.IntN(3)
		if p.mirror != s.failedMirror {
			break
		}
	}
	switch r := s.rng.IntN(20); {
	case r < 9:
		p.kind, p.n = "ops", s.rng.IntN(300)
	case r < 17:
		// A checkpoint makes some six operations on each mirror: the
		// write of its nodes and record, their flush, the label's write
		// and flush, the marker's write and flush; more when it fills a
		// segment.
		p.kind, p.n, p.after, p.pause = "checkpoint", s.rng.IntN(8), s.rng.IntN(4), s.rng.IntN(2) == 0
		if s.rng.IntN(4) == 0 {
			p.n = s.rng.IntN(30)
		}
	default:
		p.kind, p.delay = "moment", time.Duration(1+s.rng.IntN(60))*time.Millisecond
	}
	return p
}

type crashLoad struct {
	stop     atomic.Bool
	acks     atomic.Int64
	ckpts    atomic.Int64 // explicit checkpoints that returned nil
	wg       sync.WaitGroup
	done     chan struct{}
	mu       sync.Mutex
	problems []string
}

func (ld *crashLoad) problem(format string, args ...any) {
	ld.mu.Lock()
	ld.problems = append(ld.problems, fmt.Sprintf(format, args...))
	ld.mu.Unlock()
	ld.stop.Store(true)
}

// failed handles an operation's error: the load stops; without a power
// cut it is a problem.
func (s *crashSim) failed(ld *crashLoad, what string, err error) {
	ld.stop.Store(true)
	if !s.rail.isTripped() {
		ld.problem("%s failed with no power cut: %v", what, err)
	}
}

func (s *crashSim) startLoad(plan cutPlan) *crashLoad {
	ld := &crashLoad{done: make(chan struct{})}
	if plan.kind == "ops" {
		s.rail.arm(plan.mirror, plan.n, plan.mode)
	}
	for c := range s.cfg.committers {
		rng := rand.New(rand.NewPCG(s.rng.Uint64(), uint64(c)))
		ld.wg.Add(1)
		go s.committer(ld, c, rng)
	}
	for r := range s.cfg.readers {
		rng := rand.New(rand.NewPCG(s.rng.Uint64(), 100+uint64(r)))
		ld.wg.Add(1)
		go s.reader(ld, rng)
	}
	ld.wg.Add(2)
	go s.checkpointer(ld, rand.New(rand.NewPCG(s.rng.Uint64(), 98)), plan)
	go s.schemer(ld, rand.New(rand.NewPCG(s.rng.Uint64(), 99)), plan)
	go func() {
		ld.wg.Wait()
		close(ld.done)
	}()
	return ld
}

func (s *crashSim) committer(ld *crashLoad, c int, rng *rand.Rand) {
	defer ld.wg.Done()
	st := s.st
	for !ld.stop.Load() {
		s.schema.RLock()
		if ld.stop.Load() {
			s.schema.RUnlock()
			return
		}
		b, sb := s.makeBatch(rng, c)
		if b == nil {
			s.schema.RUnlock()
			time.Sleep(100 * time.Microsecond)
			continue
		}
		if _, err := st.Commit(ctx, b); err != nil {
			s.model.doubt(sb)
			s.failed(ld, fmt.Sprintf("commit of batch %d", sb.seq), err)
			s.schema.RUnlock()
			return
		}
		s.model.ack(sb)
		// An acknowledged batch is visible.
		t := sb.trees()[0]
		mk := markerKey(c)
		if v, ok, err := st.Get(t, []byte(mk)); err != nil {
			if !s.rail.isTripped() {
				ld.problem("Get after the commit of batch %d: %v", sb.seq, err)
			}
		} else if !ok || !bytes.Equal(v, sb.ops[t][mk]) {
			ld.problem("batch %d was acknowledged, but Get of its marker in tree %q gives %v (present %v)", sb.seq, t, describeValue(mk, string(v)), ok)
		}
		s.schema.RUnlock()
		ld.acks.Add(1)
		s.tot.acked.Add(1)
		if rng.IntN(8) == 0 {
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
		}
	}
}

// makeBatch makes committer c's next batch into one to three of the
// acknowledged trees. Called with s.schema held.
func (s *crashSim) makeBatch(rng *rand.Rand, c int) (*Batch, *simBatch) {
	names := s.model.names()
	if len(names) == 0 {
		return nil, nil
	}
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	names = names[:1+rng.IntN(min(3, len(names)))]
	slices.Sort(names)
	sb := &simBatch{seq: s.seq.Add(1), c: c, ops: map[string]map[string][]byte{}}
	b := NewBatch()
	for _, t := range names {
		ops := map[string][]byte{}
		var m marker
		m.seq, m.trees = sb.seq, names
		for range 1 + rng.IntN(max(1, s.cfg.maxOps/len(names))) {
			i := rng.IntN(s.cfg.keys)
			k := dataKey(c, i, s.cfg.pad)
			if _, dup := ops[k]; dup {
				continue
			}
			switch r := rng.IntN(64); {
			case r < 16:
				b.Delete(t, []byte(k))
				ops[k], m.dels = nil, append(m.dels, i)
			case r < 18:
				// An empty value says nothing of its batch but its
				// presence.
				b.Put(t, []byte(k), nil)
				ops[k], m.empties = []byte{}, append(m.empties, i)
			default:
				v := dataValue(sb.seq, k, valueLen(rng))
				b.Put(t, []byte(k), v)
				ops[k], m.puts = v, append(m.puts, i)
			}
		}
		mv := m.encode()
		b.Put(t, []byte(markerKey(c)), mv)
		ops[markerKey(c)] = mv
		sb.ops[t] = ops
	}
	return b, sb
}

// checkpointer checkpoints and checks the store, and arms the cut of a
// "checkpoint" plan whose commits go on. It takes no lock of the test:
// commits waiting for journal space need it to go on.
func (s *crashSim) checkpointer(ld *crashLoad, rng *rand.Rand, plan cutPlan) {
	defer ld.wg.Done()
	st := s.st
	ckpts := 0
	for !ld.stop.Load() {
		time.Sleep(time.Duration(rng.IntN(1500)) * time.Microsecond)
		if ld.stop.Load() {
			return
		}
		if plan.kind == "checkpoint" && !plan.pause && ckpts == plan.after {
			ckpts++
			s.rail.arm(plan.mirror, plan.n, plan.mode)
			if err := st.Checkpoint(); err != nil {
				s.failed(ld, "the checkpoint armed with the cut", err)
				return
			}
			continue
		}
		switch r := rng.IntN(100); {
		case r < 70:
			ckpts++
			if err := st.Checkpoint(); err != nil {
				s.failed(ld, "checkpoint", err)
				return
			}
			ld.ckpts.Add(1)
			s.tot.ckptCalls.Add(1)
		case r < 76:
			if err := st.Check(); err != nil {
				if !s.rail.isTripped() {
					ld.problem("Check during the load: %v", err)
				}
				return
			}
			s.tot.checks.Add(1)
		}
	}
}

// schemer creates and drops trees, and makes the checkpoint of a
// "checkpoint" plan with commits paused: it holds s.schema, so that no
// commit runs during the checkpoint the cut is armed before.
func (s *crashSim) schemer(ld *crashLoad, rng *rand.Rand, plan cutPlan) {
	defer ld.wg.Done()
	for round := 0; !ld.stop.Load(); round++ {
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		if ld.stop.Load() {
			return
		}
		if plan.kind == "checkpoint" && plan.pause && round == plan.after {
			s.schema.Lock()
			if ld.stop.Load() {
				s.schema.Unlock()
				return
			}
			s.rail.arm(plan.mirror, plan.n, plan.mode)
			err := s.st.Checkpoint()
			s.schema.Unlock()
			if err != nil {
				s.failed(ld, "the checkpoint armed with the cut", err)
				return
			}
			continue
		}
		switch r := rng.IntN(100); {
		case r < 30:
			if !s.schemaChange(ld, rng, true) {
				return
			}
		case r < 50:
			if !s.schemaChange(ld, rng, false) {
				return
			}
		}
	}
}

// schemaChange creates a tree (or drops one), if the tree count allows.
// It reports whether the load goes on.
func (s *crashSim) schemaChange(ld *crashLoad, rng *rand.Rand, create bool) bool {
	s.schema.Lock()
	defer s.schema.Unlock()
	if ld.stop.Load() {
		return false
	}
	names := s.model.names()
	var op schemaOp
	var err error
	switch {
	case create && len(names) < s.cfg.maxTrees:
		op.create = true
		op.name, op.cmp = s.newTreeName(rng)
		err = s.st.CreateTree(ctx, op.name, op.cmp)
	case !create && len(names) > 1:
		op.name = names[rng.IntN(len(names))]
		err = s.st.DropTree(ctx, op.name)
	default:
		return true
	}
	if err != nil {
		s.model.mu.Lock()
		s.model.schema = &op
		s.model.mu.Unlock()
		s.failed(ld, fmt.Sprintf("schema change %+v", op), err)
		return false
	}
	s.model.mu.Lock()
	if op.create {
		s.model.trees[op.name] = &modelTree{cmp: op.cmp, kv: map[string]string{}}
	} else {
		delete(s.model.trees, op.name)
	}
	s.model.mu.Unlock()
	s.tot.schemaOps.Add(1)
	return true
}

// reader takes views, verifies each, holds it across checkpoints and
// verifies it again: the same state, consistent.
func (s *crashSim) reader(ld *crashLoad, rng *rand.Rand) {
	defer ld.wg.Done()
	st := s.st
	for !ld.stop.Load() {
		v, err := st.View()
		if err != nil {
			if !s.rail.isTripped() {
				ld.problem("View: %v", err)
			}
			return
		}
		at := s.ckpts.Load()
		d1, rerr, bad := checkView(v, s.cfg.pad)
		if bad == nil && rerr == nil {
			time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
			var d2 uint64
			d2, rerr, bad = checkView(v, s.cfg.pad)
			if bad == nil && rerr == nil && d1 != d2 {
				bad = errors.New("the view changed while held")
			}
		}
		v.Close()
		if bad != nil {
			ld.problem("a view: %v", bad)
			return
		}
		if rerr != nil {
			if !s.rail.isTripped() {
				ld.problem("reading a view with no power cut: %v", rerr)
			}
			return
		}
		s.tot.views.Add(1)
		if s.ckpts.Load() > at {
			s.tot.viewsAcross.Add(1)
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	}
}

// checkView reads every tree of a view and checks the batch invariants
// (see the top of the file). It returns a digest of the view, the error
// that stopped a read, and the violation found.
func checkView(v *View, pad int) (digest uint64, readErr, bad error) {
	h := fnv.New64a()
	names := make([]string, 0, len(v.snaps))
	for n := range v.snaps {
		names = append(names, n)
	}
	slices.Sort(names)
	markers := map[string]map[int]marker{}
	data := map[string]map[string]uint64{}
	for _, name := range names {
		it, err := v.Iter(name)
		if err != nil {
			return 0, nil, err
		}
		ms, ds := map[int]marker{}, map[string]uint64{}
		markers[name], data[name] = ms, ds
		for ok := it.First(); ok; ok = it.Next() {
			k, val := string(it.Key()), it.Value()
			h.Write([]byte(name))
			h.Write(it.Key())
			h.Write(val)
			c, isMarker, err := parseKey(k)
			if err != nil {
				return 0, nil, fmt.Errorf("tree %q: %v", name, err)
			}
			if isMarker {
				m, err := decodeMarker(val)
				if err != nil {
					return 0, nil, fmt.Errorf("tree %q: marker %q: %v", name, k, err)
				}
				ms[c] = m
				continue
			}
			if len(val) == 0 {
				ds[k] = emptyValue
				continue
			}
			seq, ok := valueSeq(k, val)
			if !ok {
				return 0, nil, fmt.Errorf("tree %q: key %q holds %d bytes no batch wrote", name, kn(k), len(val))
			}
			ds[k] = seq
		}
		if err := it.Err(); err != nil {
			return 0, err, nil
		}
	}
	for _, name := range names {
		for k, seq := range data[name] {
			c, _, _ := parseKey(k)
			if seq == emptyValue {
				continue
			}
			if m, ok := markers[name][c]; !ok || m.seq < seq {
				return 0, nil, fmt.Errorf("tree %q: key %q holds batch %d, but the marker of committer %d says %d: part of a batch", name, kn(k), seq, c, m.seq)
			}
		}
		for c, m := range markers[name] {
			for _, i := range m.puts {
				if got, ok := data[name][dataKey(c, i, pad)]; !ok || got != m.seq {
					return 0, nil, fmt.Errorf("tree %q: batch %d put key %q, which holds batch %d (present %v): part of a batch", name, m.seq, kn(dataKey(c, i, pad)), got, ok)
				}
			}
			for _, i := range m.empties {
				if got, ok := data[name][dataKey(c, i, pad)]; !ok || got != emptyValue {
					return 0, nil, fmt.Errorf("tree %q: batch %d put an empty value into key %q, which holds batch %d (present %v): part of a batch", name, m.seq, kn(dataKey(c, i, pad)), got, ok)
				}
			}
			for _, i := range m.dels {
				if got, ok := data[name][dataKey(c, i, pad)]; ok {
					return 0, nil, fmt.Errorf("tree %q: batch %d deleted key %q, which holds batch %d: part of a batch", name, m.seq, kn(dataKey(c, i, pad)), got)
				}
			}
			for _, u := range m.trees {
				if u == name || markers[u] == nil {
					continue
				}
				if mu, ok := markers[u][c]; ok && mu.seq < m.seq {
					return 0, nil, fmt.Errorf("batch %d of committer %d is in tree %q, but tree %q, which it also wrote, shows batch %d: part of a batch", m.seq, c, name, u, mu.seq)
				}
			}
		}
	}
	return h.Sum64(), nil, nil
}

// waitFor waits until cond holds, the load ends, or d passes.
func waitFor(ld *crashLoad, d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ld.done:
			return cond()
		case <-time.After(200 * time.Microsecond):
		}
	}
	return true
}

// stopLoad stops the load, waits for it and fails on its problems.
func (s *crashSim) stopLoad(ld *crashLoad, what string) {
	s.t.Helper()
	ld.stop.Store(true)
	<-ld.done
	if len(ld.problems) > 0 {
		s.fatalf("%s: %s", what, strings.Join(ld.problems, "; "))
	}
}

// ---- cycles

// cycle runs the load until a power cut, then recovers.
func (s *crashSim) cycle(what string) {
	s.t.Helper()
	plan := s.pickPlan()
	s.ev.mark("%s: %s", what, plan)
	ld := s.startLoad(plan)
	s.awaitCut(ld, plan, what)
	s.stopLoad(ld, what)
	s.crash(what)
	s.recover(what)
}

// awaitCut waits for the plan's cut, tripping the rail at a random moment
// for a "moment" plan or when an armed cut does not come.
func (s *crashSim) awaitCut(ld *crashLoad, plan cutPlan, what string) {
	s.t.Helper()
	limit := 3 * time.Second
	if plan.kind == "moment" {
		limit = plan.delay
	}
	select {
	case <-s.rail.trippedCh:
	case <-ld.done:
		if !s.rail.isTripped() {
			s.stopLoad(ld, what)
			s.fatalf("%s: the load stopped with no power cut", what)
		}
	case <-time.After(limit):
		if plan.kind == "moment" {
			s.rail.trip("a random moment (no operation replaced)")
		} else {
			s.rail.trip("the armed cut did not come in time (no operation replaced)")
		}
	}
}

// crash closes the store after a cut (its errors are expected) and turns
// the power back on.
func (s *crashSim) crash(what string) {
	st := s.st.Stats()
	s.tot.ckpts.Add(int64(st.Checkpoints))
	s.tot.cleaned.Add(int64(st.Cleaned))
	s.tot.cuts.Add(1)
	s.rail.mu.Lock()
	phase := s.rail.phase
	s.rail.mu.Unlock()
	s.tot.phase(phase)
	s.tot.doubt.Add(int64(s.model.inDoubt()))
	s.ev.mark("%s: power cut (%s) at %s; checkpoint %d, applied LSN %d, %d operations in doubt", what, s.rail.mode, phase, st.CheckpointGen, st.AppliedLSN, s.model.inDoubt())
	_ = s.st.Close()
	s.rail.disarm()
	s.rail.restart()
}

// open rereads the labels and opens the store.
func (s *crashSim) open() (*Store, error) {
	if err := s.openLabels(); err != nil {
		return nil, err
	}
	return Open(s.options())
}

// recover reopens the store after a cut, sometimes with a second cut
// during the recovery itself, compares it with the model and checks it.
func (s *crashSim) recover(what string) {
	s.t.Helper()
	for attempt := 0; ; attempt++ {
		s.ev.reset()
		second := attempt == 0 && s.rng.IntN(6) == 0
		if second {
			p := s.pickPlan()
			n := s.rng.IntN(12)
			s.rail.arm(p.mirror, n, p.mode)
			s.ev.mark("%s: open with a %s cut armed after %d operations of mirror %d", what, p.mode, n, p.mirror)
		}
		s.rail.setRecovering(true)
		st, err := s.open()
		s.rail.setRecovering(false)
		s.rail.disarm()
		cut := s.rail.isTripped()
		if err != nil && !cut {
			s.fatalf("%s: open: %v", what, err)
		}
		if cut {
			s.ev.mark("%s: the power failed during open (open returned %v)", what, err)
			s.tot.openCuts.Add(1)
			s.rail.mu.Lock()
			phase := s.rail.phase
			s.rail.mu.Unlock()
			s.tot.phase(phase)
			if st != nil {
				st.Close()
			}
			s.rail.restart()
			continue
		}
		s.st = st
		break
	}
	s.tot.reopens.Add(1)
	s.verify(what)
}

// verify compares the store with the model (settling the operations in
// doubt), checks it, and its health.
func (s *crashSim) verify(what string) {
	s.t.Helper()
	actual, err := s.readAll()
	if err != nil {
		s.fatalf("%s: reading the store: %v", what, err)
	}
	exp, applied := s.model.expect(actual)
	if err := compareTrees(exp, actual); err != nil {
		s.fatalf("%s: after reopening, the store is not the acknowledged state (with %d of the %d operations in doubt applied): %v", what, applied, s.model.inDoubt(), err)
	}
	s.tot.doubtApplied.Add(int64(applied))
	s.model.settle(exp)
	if err := s.st.Check(); err != nil {
		s.fatalf("%s: Check after reopening: %v", what, err)
	}
	s.tot.checks.Add(1)
	st := s.st.Stats()
	if st.ReadOnly != "" {
		s.fatalf("%s: reopened read-only: %s", what, st.ReadOnly)
	}
	if st.Journal.Healthy < 2 {
		s.fatalf("%s: reopened with %d journal mirrors", what, st.Journal.Healthy)
	}
	for _, ti := range s.st.Trees() {
		for {
			h := s.tot.maxHeight.Load()
			if int64(ti.Stats.Height) <= h || s.tot.maxHeight.CompareAndSwap(h, int64(ti.Stats.Height)) {
				break
			}
		}
	}
	s.ev.mark("%s: reopened at checkpoint %d, LSN %d: %d trees match, %d operations in doubt were applied", what, st.CheckpointGen, st.AppliedLSN, len(actual), applied)
}

// readAll reads every tree of the store through one view, checking the
// order of its keys and the batch invariants.
func (s *crashSim) readAll() (map[string]*modelTree, error) {
	infos := s.st.Trees()
	v, err := s.st.View()
	if err != nil {
		return nil, err
	}
	defer v.Close()
	if _, rerr, bad := checkView(v, s.cfg.pad); rerr != nil || bad != nil {
		return nil, errors.Join(rerr, bad)
	}
	out := map[string]*modelTree{}
	for _, ti := range infos {
		it, err := v.Iter(ti.Name)
		if err != nil {
			return nil, err
		}
		mt := &modelTree{cmp: ti.Comparator, kv: map[string]string{}}
		cmp := cmpOf(ti.Comparator)
		var prev []byte
		for ok := it.First(); ok; ok = it.Next() {
			if prev != nil && cmp(prev, it.Key()) >= 0 {
				return nil, fmt.Errorf("tree %q: key %q after %q", ti.Name, kn(string(it.Key())), kn(string(prev)))
			}
			prev = bytes.Clone(it.Key())
			mt.kv[string(it.Key())] = string(it.Value())
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("tree %q: %w", ti.Name, err)
		}
		// Puts buffered into leaves not read yet count as new keys
		// until a checkpoint merges them (btree.Stats.Buffered).
		if n, st := uint64(len(mt.kv)), ti.Stats; n > st.Entries || n < st.Entries-st.Buffered || st.Buffered == 0 && n != st.Entries {
			return nil, fmt.Errorf("tree %q: %d entries, its stats say %d (%d buffered puts)", ti.Name, len(mt.kv), st.Entries, st.Buffered)
		}
		out[ti.Name] = mt
	}
	return out, nil
}

// finish runs a load with no cut, closes the store cleanly, reopens it and
// compares: nothing may be in doubt.
func (s *crashSim) finish(what string) {
	s.t.Helper()
	s.ev.mark("%s: load, then a clean close", what)
	ld := s.startLoad(cutPlan{kind: "none"})
	at := int64(20 + s.rng.IntN(100))
	if !waitFor(ld, 10*time.Second, func() bool { return ld.acks.Load() >= at }) {
		s.stopLoad(ld, what)
		s.fatalf("%s: %d commits acknowledged in 10s", what, ld.acks.Load())
	}
	s.stopLoad(ld, what)
	s.tot.ckpts.Add(int64(s.st.Stats().Checkpoints))
	s.tot.cleaned.Add(int64(s.st.Stats().Cleaned))
	if err := s.st.Close(); err != nil {
		s.fatalf("%s: Close: %v", what, err)
	}
	if n := s.model.inDoubt(); n != 0 {
		s.fatalf("%s: %d operations in doubt with no power cut", what, n)
	}
	s.ev.reset()
	// No background resilver: its checkpoints would put their markers
	// in the journal this reopen must find empty.
	s.manualResilver = true
	st, err := s.open()
	if err != nil {
		s.fatalf("%s: reopen after a clean close: %v", what, err)
	}
	s.st = st
	s.tot.reopens.Add(1)
	s.verify(what + ", clean reopen")
	if j := st.Stats(); j.Journal.NextLSN-1 != j.CheckpointLSN {
		s.fatalf("%s: a clean close left journal transactions %d..%d after the checkpoint", what, j.CheckpointLSN+1, j.Journal.NextLSN-1)
	}
	if err := st.Close(); err != nil {
		s.fatalf("%s: last Close: %v", what, err)
	}
}

// ---- scenarios: a mirror that fails, copies damaged at rest

// failMirror makes one mirror fail for good while the load runs: every
// write, or the writes into its metadata segments, or into its labels.
// The store must go on with the other two, and after the cut reopen with
// everything (the failed drive healed or not).
func (s *crashSim) failMirror(what string) {
	s.t.Helper()
	x := s.rng.IntN(3)
	name := fmt.Sprintf("meta%d", x)
	how := s.rng.IntN(3)
	l := s.label[x].Label()
	fd := s.r.faults[x]
	ld := s.startLoad(cutPlan{kind: "none"})
	at := int64(5 + s.rng.IntN(100))
	if !waitFor(ld, 10*time.Second, func() bool { return ld.acks.Load() >= at }) {
		s.stopLoad(ld, what)
		s.fatalf("%s: %d commits acknowledged in 10s", what, ld.acks.Load())
	}
	switch how {
	case 0:
		fd.FailRate(faultdev.OpWrite, 1)
	case 1:
		start := l.Layout.SegmentOffset(l.Meta.SegFirst)
		fd.FailRange(faultdev.OpWrite, start, int64(l.Meta.SegCount)*l.Layout.SegmentSize)
	case 2:
		fd.FailRange(faultdev.OpWrite, 0, l.Layout.SegmentOffset(0))
	}
	s.failedMirror = x
	s.tot.mirrorsFailed.Add(1)
	s.ev.mark("%s: %s fails (%s)", what, name, []string{"every write", "writes to its metadata segments", "writes to its labels"}[how])
	// Commits and checkpoints go on; the store takes the mirror out.
	at = ld.acks.Load() + int64(20+s.rng.IntN(80))
	ck := ld.ckpts.Load() + 1
	out := func() bool { return len(s.ev.find("mirror-failed", name, "")) > 0 }
	if !waitFor(ld, 10*time.Second, func() bool { return ld.acks.Load() >= at && ld.ckpts.Load() >= ck && out() }) {
		s.stopLoad(ld, what)
		s.fatalf("%s: after %s failed: %d commits, %d checkpoints, mirror-failed event %v", what, name, ld.acks.Load(), ld.ckpts.Load(), out())
	}
	st := s.st.Stats()
	if st.ReadOnly != "" || (how == 0 && st.Journal.Healthy != 2) {
		s.stopLoad(ld, what)
		s.fatalf("%s: with %s failed: read-only %q, %d journal mirrors", what, name, st.ReadOnly, st.Journal.Healthy)
	}
	for _, e := range s.ev.find("mirror-failed", "", "") {
		if e.Mirror != name {
			s.stopLoad(ld, what)
			s.fatalf("%s: %s failed, but the store failed %s: %s", what, name, e.Mirror, e.Detail)
		}
	}
	if err := s.st.Check(); err != nil {
		s.stopLoad(ld, what)
		s.fatalf("%s: Check with %s failed: %v", what, name, err)
	}
	s.tot.checks.Add(1)
	plan := s.pickPlan() // never on the failed mirror
	if plan.kind == "checkpoint" {
		plan.kind, plan.n = "ops", s.rng.IntN(40)
	}
	if plan.kind == "ops" {
		s.rail.arm(plan.mirror, plan.n, plan.mode)
	}
	s.ev.mark("%s: %s", what, plan)
	s.awaitCut(ld, plan, what)
	s.stopLoad(ld, what)
	s.crash(what)
	if s.rng.IntN(2) == 0 {
		fd.ClearFaults()
		s.failedMirror = -1
		s.ev.mark("%s: %s healed", what, name)
	}
	s.recover(what)
}

// damage closes the store (cleanly, or with a cut and a reopen), flips a
// bit at rest in some nodes of the checkpoint the next open reads — on
// mirror 0, which reads try first, and sometimes on one of the others —
// power-cycles and reopens: every damaged copy on mirror 0 must be
// reported as a bad copy once read, and the store must read everything
// right from the others.
func (s *crashSim) damage(what string) {
	s.t.Helper()
	clean := s.rng.IntN(2) == 0
	ld := s.startLoad(cutPlan{kind: "none"})
	at := int64(10 + s.rng.IntN(150))
	if !waitFor(ld, 10*time.Second, func() bool { return ld.acks.Load() >= at }) {
		s.stopLoad(ld, what)
		s.fatalf("%s: %d commits acknowledged in 10s", what, ld.acks.Load())
	}
	if !clean {
		s.rail.trip("before damage at rest (a random moment)")
	}
	s.stopLoad(ld, what)
	if clean {
		s.tot.ckpts.Add(int64(s.st.Stats().Checkpoints))
		s.tot.cleaned.Add(int64(s.st.Stats().Cleaned))
		if err := s.st.Close(); err != nil {
			s.fatalf("%s: Close: %v", what, err)
		}
	} else {
		s.crash(what)
		s.recover(what + ", before the damage")
	}
	// The nodes of the checkpoint the next open starts from, and its
	// record.
	type target struct {
		what string
		a    btree.Addr
	}
	st := s.st
	targets := []target{{"checkpoint record", st.lastRecord}}
	walk := func(name string, id uint64, cmp btree.Compare, root btree.Root) {
		if root.Empty() {
			return
		}
		t, err := btree.Open(id, cmp, st.cache, root)
		if err == nil {
			err = t.Snapshot().Walk(func(p btree.Ptr, _ uint8) error {
				targets = append(targets, target{"node", p.Addr})
				return nil
			})
		}
		if err != nil {
			s.fatalf("%s: walk tree %q: %v", what, name, err)
		}
	}
	walk("(catalogue)", catalogueID, nil, st.lastCatRoot)
	var names []string
	for n := range st.trees {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if ts := st.trees[n]; ts.inCkpt {
			walk(n, ts.id, cmpOf(ts.cmp), ts.ckptRoot)
		}
	}
	if !clean {
		// Power-cycle: the next open starts from the same checkpoint.
		s.rail.trip("after damage at rest (no load)")
		s.crash(what)
	}
	var primary []target
	for range 1 + s.rng.IntN(3) {
		tg := targets[s.rng.IntN(len(targets))]
		loc := st.sp.mirrors[0].segs[tg.a.Set]
		s.r.faults[0].CorruptAt(loc.Start + int64(tg.a.Off) + s.rng.Int64N(int64(tg.a.Len)))
		primary = append(primary, tg)
		s.ev.mark("%s: damaged the %s at metadata segment %d offset %d on meta0", what, tg.what, tg.a.Set, tg.a.Off)
	}
	if s.rng.IntN(2) == 0 {
		m := 1 + s.rng.IntN(2)
		tg := targets[s.rng.IntN(len(targets))]
		loc := st.sp.mirrors[m].segs[tg.a.Set]
		s.r.faults[m].CorruptAt(loc.Start + int64(tg.a.Off) + s.rng.Int64N(int64(tg.a.Len)))
		s.ev.mark("%s: damaged the %s at metadata segment %d offset %d on meta%d", what, tg.what, tg.a.Set, tg.a.Off, m)
	}
	s.ev.reset()
	nst, err := s.open()
	if err != nil {
		s.fatalf("%s: open with damaged copies: %v", what, err)
	}
	s.st = nst
	s.tot.reopens.Add(1)
	s.verify(what + ", open with damaged copies")
	for _, tg := range primary {
		sub := fmt.Sprintf("%s at metadata segment %d offset %d:", tg.what, tg.a.Set, tg.a.Off)
		if len(s.ev.find("bad-copy", "meta0", sub)) == 0 {
			s.fatalf("%s: the %s at metadata segment %d offset %d was damaged on meta0 and read, but no bad-copy event says so", what, tg.what, tg.a.Set, tg.a.Off)
		}
	}
	s.tot.badCopies.Add(int64(len(s.ev.find("bad-copy", "", ""))))
}

// ---- the tests

// TestCrashSimulation: power cuts at random points — in commits, in every
// phase of a checkpoint, during recovery — several per seed, each followed
// by a reopen that must show exactly the acknowledged state (plus whole
// operations in doubt), pass Check, and go on.
func TestCrashSimulation(t *testing.T) {
	forEachSeed(t, mainSeeds, 9, func(t *testing.T, seed uint64, tot *crashTotals) {
		s := newCrashSim(t, seed, tot)
		cycles := 4 + s.rng.IntN(4)
		for c := range cycles {
			s.cycle(fmt.Sprintf("cycle %d", c))
		}
		s.finish("end")
	})
}

// TestCrashSimulationMirrorFails: one mirror fails for good partway
// (every write, its metadata segments or its labels); the store goes on
// with two, survives the cuts that follow, and reopens with everything,
// the drive healed or not.
func TestCrashSimulationMirrorFails(t *testing.T) {
	forEachSeed(t, 12, 3, func(t *testing.T, seed uint64, tot *crashTotals) {
		s := newCrashSim(t, seed, tot)
		if s.rng.IntN(2) == 0 {
			s.cycle("cycle before the failure")
		}
		s.failMirror("mirror failure")
		for c := range 2 {
			s.cycle(fmt.Sprintf("cycle %d after the failure", c))
		}
		s.finish("end")
	})
}

// TestCrashSimulationBadCopy: bits flip at rest in nodes and checkpoint
// records on one mirror; reads take them from another, report the bad
// copy, and never return wrong data, through more cuts.
func TestCrashSimulationBadCopy(t *testing.T) {
	forEachSeed(t, 12, 3, func(t *testing.T, seed uint64, tot *crashTotals) {
		s := newCrashSim(t, seed, tot)
		s.cycle("cycle 0")
		s.damage("damage 0")
		s.cycle("cycle 1")
		s.damage("damage 1")
		s.cycle("cycle 2")
		s.finish("end")
	})
}
