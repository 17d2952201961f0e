package seg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// The crash simulation appends to a segment on a drive with a volatile
// cache and cuts the power at random points, then checks what a scan
// finds against what was acknowledged. Every decision comes from the seed,
// and faultdev draws its faults from it too, so a failing seed replays
// exactly:
//
//	go test ./seg -run 'TestCrashSimulation' -seg.seed=N -v
//
// -seg.seeds=5000 runs thousands of seeds. The flags drive every seeded
// test of the package (TestCrashSimulation, TestMisdirectedWrites,
// TestZonedWritePointerInsideWrite, TestReadFlipDuringRecovery).
var (
	flagSeeds = flag.Int("seg.seeds", defaultSeeds(), "seeded tests: number of seeds to run, from 1")
	flagSeed  = flag.Int64("seg.seed", -1, "seeded tests: run only this seed")
)

func defaultSeeds() int {
	if raceEnabled {
		return 40
	}
	return 200
}

// simSeeds returns the seeds the seeded tests run.
func simSeeds() []uint64 {
	if *flagSeed >= 0 {
		return []uint64{uint64(*flagSeed)}
	}
	seeds := make([]uint64, *flagSeeds)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

// simCycles is the number of power cuts per seed and kind.
const simCycles = 6

// simRec is a record as the simulation appended it.
type simRec struct {
	typ     uint8
	flags   uint16
	seq     uint64
	payload []byte
}

func (r simRec) String() string {
	return fmt.Sprintf("seq %d type %d flags %#x %d bytes", r.seq, r.typ, r.flags, len(r.payload))
}

func (r simRec) matches(got Record) bool {
	return got.Seq == r.seq && got.Type == r.typ && got.Flags == r.flags && bytes.Equal(got.Payload, r.payload)
}

type simKind struct {
	name  string
	zoned bool
}

var simKinds = []simKind{{"conventional", false}, {"zoned", true}}

// sim is one seed's run on one kind of segment.
type sim struct {
	t    *testing.T
	seed uint64
	kind simKind
	rng  *rand.Rand

	mem *memdev.Device
	fd  *faultdev.Device
	loc Location

	// Faults that make the drive lie (a torn or misdirected write reports
	// success): acknowledged records may then be lost, and a scan may
	// report corruption, but a record that is not one of those appended
	// with its sequence number must never be returned.
	torn, misdirect bool

	w        *Writer // nil after a crash, until recovery
	gen      uint64
	firstSeq uint64
	acked    []simRec // durable records of generation gen, in order
	pending  []simRec // appended since the last acknowledgement
	unacked  []simRec // appended, then their flush or seal failed: on the media or not
	sealTry  bool     // a Seal failed: the segment may be sealed
	wrote    bool     // a write completed since the last recovery
	creating bool     // Create of generation gen failed: gen or gen-1 is on the media
	prev     []simRec // the records of generation gen-1 while creating
	versions map[uint64][]simRec

	trace []string
	stats simStats
}

type simStats struct {
	cycles, cuts, armedCuts, records, seals, torn, skipped, lost, corruptions int
}

func (s *sim) logf(format string, args ...any) {
	s.trace = append(s.trace, fmt.Sprintf(format, args...))
	if len(s.trace) > 60 {
		s.trace = s.trace[len(s.trace)-40:]
	}
}

func (s *sim) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d (%s): %s\nlast operations:\n  %s\nrerun: go test ./seg -run 'TestCrashSimulation/%s/seed=%d$' -seg.seed=%d -v",
		s.seed, s.kind.name, fmt.Sprintf(format, args...), strings.Join(s.trace, "\n  "), s.kind.name, s.seed, s.seed)
}

func (s *sim) strict() bool { return !s.torn && !s.misdirect }

func (s *sim) expect(gen uint64) Expect {
	return Expect{Node: testNode, Drive: testDrive, Kind: KindJournal, Generation: gen}
}

func newSim(t *testing.T, seed uint64, kind simKind) *sim {
	s := &sim{t: t, seed: seed, kind: kind, rng: rand.New(rand.NewPCG(seed, 0x5e6c7a5b)), gen: 1, firstSeq: 1000}
	segCap := []int64{256 << 10, 1 << 20}[s.rng.IntN(2)]
	if kind.zoned {
		cfg := zonemu.Config{ZoneSize: segCap, ZoneCapacity: segCap, NrZones: 2, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorZNS}
		s.mem = memdev.New("sim", 2*segCap+zonemu.MetadataSize(cfg), 4096)
		s.fd = faultdev.New(s.mem, seed)
		z, err := zonemu.Create(s.fd, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.loc = Location{Dev: z, Index: 1, Start: segCap, Capacity: segCap, Sequential: true}
	} else {
		s.mem = memdev.New("sim", segCap+2*4096, 4096)
		s.fd = faultdev.New(s.mem, seed)
		s.loc = Location{Dev: s.fd, Index: 0, Start: 4096, Capacity: segCap}
	}
	switch r := s.rng.IntN(10); {
	case r == 0:
		s.torn = true
		s.fd.TornWriteRate(0.03)
	case r == 1 && !kind.zoned:
		s.misdirect = true
		s.fd.MisdirectRate(0.03)
	}
	s.versions = map[uint64][]simRec{}
	s.logf("segment of %d bytes, torn writes %v, misdirected writes %v", segCap, s.torn, s.misdirect)
	return s
}

func (s *sim) header() Header {
	h := testHeader(s.gen)
	h.FirstSeq = s.firstSeq
	return h
}

// disarm keeps the power on until the next arm.
func (s *sim) disarm() { s.fd.PowerCutAfter(1<<40, faultdev.CutDrop) }

func (s *sim) cutMode() faultdev.CutMode {
	if s.rng.IntN(2) == 0 {
		return faultdev.CutDrop
	}
	return faultdev.CutTear
}

// crashed handles an error from the writer: only a power cut is expected.
func (s *sim) crashed(op string, err error) {
	s.t.Helper()
	if !errors.Is(err, dev.ErrPowerCut) {
		s.fatalf("%s: %v (not a power cut)", op, err)
	}
	s.logf("%s: power cut: %v", op, err)
	s.w = nil
}

// payload returns n bytes unique to this append.
func (s *sim) payload(n int) []byte { return uniquePayload(s.rng, n) }

// uniquePayload returns n bytes that no other call returns (but for
// short ones, by chance): a random tag, counted up every 8 bytes.
func uniquePayload(rng *rand.Rand, n int) []byte {
	p := make([]byte, n+7)
	tag := rng.Uint64()
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(p[i:], tag+uint64(i))
	}
	return p[:n:n]
}

func (s *sim) size() int {
	switch r := s.rng.IntN(100); {
	case r < 50:
		return s.rng.IntN(513)
	case r < 85:
		return 512 + s.rng.IntN(3585)
	default:
		return 4096 + s.rng.IntN(16*1024+1)
	}
}

// appendOne appends a record of n bytes, sealing the segment and starting
// the next generation when it is full. It returns false after a crash.
func (s *sim) appendOne(n int) bool {
	s.t.Helper()
	for {
		r := simRec{typ: TypeUser + uint8(s.rng.IntN(240)), flags: uint16(s.rng.Uint32()), payload: s.payload(n)}
		seq, err := s.w.Append(r.typ, r.flags, r.payload)
		switch {
		case err == nil:
			if want := s.firstSeq + uint64(len(s.acked)+len(s.pending)); seq != want {
				s.fatalf("append returned sequence number %d, want %d", seq, want)
			}
			r.seq = seq
			s.pending = append(s.pending, r)
			s.versions[seq] = append(s.versions[seq], r)
			s.stats.records++
			return true
		case errors.Is(err, ErrBatchFull):
			if !s.flush() {
				return false
			}
		case errors.Is(err, ErrFull):
			s.logf("segment full after %d records", len(s.acked)+len(s.pending))
			if !s.seal() || !s.create() {
				return false
			}
		default:
			s.fatalf("append of %d bytes: %v", n, err)
		}
	}
}

func (s *sim) flush() bool {
	s.t.Helper()
	if err := s.w.Flush(); err != nil {
		s.unacked = s.pending
		s.pending = nil
		s.crashed(fmt.Sprintf("flush of %d records", len(s.unacked)), err)
		return false
	}
	s.logf("flush: %d records acknowledged, written to %d", len(s.pending), s.w.Written())
	s.wrote = s.wrote || len(s.pending) > 0
	s.acked = append(s.acked, s.pending...)
	s.pending = nil
	return true
}

func (s *sim) seal() bool {
	s.t.Helper()
	f, err := s.w.Seal()
	if err != nil {
		s.unacked = s.pending
		s.pending = nil
		s.sealTry = true
		s.crashed("seal", err)
		return false
	}
	s.acked = append(s.acked, s.pending...)
	s.pending = nil
	s.stats.seals++
	s.logf("sealed generation %d: %+v", s.gen, f)
	if f.Records != uint64(len(s.acked)) {
		s.fatalf("footer %+v for %d records", f, len(s.acked))
	}
	return true
}

// create starts the next generation of the segment (the previous one is
// sealed, or lost on a drive that lied).
func (s *sim) create() bool {
	s.t.Helper()
	s.prev = s.acked
	s.firstSeq += uint64(len(s.acked))
	s.gen++
	s.acked, s.pending, s.unacked, s.sealTry = nil, nil, nil, false
	s.versions = map[uint64][]simRec{}
	w, err := Create(s.loc, s.header())
	if err != nil {
		s.creating = true
		s.crashed(fmt.Sprintf("create generation %d", s.gen), err)
		return false
	}
	s.creating = false
	s.w, s.wrote = w, true
	s.logf("created generation %d", s.gen)
	return true
}

// verify scans the running segment after a successful flush: it holds
// exactly the acknowledged records.
func (s *sim) verify() {
	s.t.Helper()
	if !s.strict() {
		return
	}
	recs, tail, err := s.scan(s.gen)
	if err != nil {
		s.fatalf("scan of the running segment: %v", err)
	}
	s.compare(recs, s.acked, nil)
	// Until the first write after a recovery the tail is the one the
	// recovery found, torn or not.
	if tail.NextSeq != s.w.NextSeq() || tail.End != s.w.Written() || (s.wrote && tail.ValidEnd != tail.End) || tail.Sealed {
		s.fatalf("tail %+v of the running segment, writer at %d, next sequence number %d", tail, s.w.Written(), s.w.NextSeq())
	}
}

func (s *sim) scan(gen uint64) ([]Record, Tail, error) {
	recs, _, tail, err := s.scanner(gen)
	return recs, tail, err
}

// scanner scans to the end and returns the scanner too, for Resume.
func (s *sim) scanner(gen uint64) ([]Record, *Scanner, Tail, error) {
	sc, err := Scan(s.loc, s.expect(gen))
	if err != nil {
		return nil, nil, Tail{}, err
	}
	var recs []Record
	for {
		r, err := sc.Next()
		if err == io.EOF {
			return recs, sc, sc.Tail(), nil
		}
		if err != nil {
			return recs, sc, Tail{}, err
		}
		r.Payload = bytes.Clone(r.Payload)
		recs = append(recs, r)
	}
}

// compare checks scanned records: the acknowledged ones, in order, then
// possibly some of maybe (written, not acknowledged), complete and in
// order. A drive that lied may have lost any of them, but whatever is
// returned must be a record appended with its sequence number.
func (s *sim) compare(recs []Record, acked, maybe []simRec) {
	s.t.Helper()
	for i, r := range recs {
		if r.Seq != s.firstSeq+uint64(i) {
			s.fatalf("record %d has sequence number %d, want %d", i, r.Seq, s.firstSeq+uint64(i))
		}
		if !s.strict() {
			ok := false
			for _, v := range s.versions[r.Seq] {
				ok = ok || v.matches(r)
			}
			if !ok {
				s.fatalf("record %d (seq %d, %d bytes at %d) was never appended", i, r.Seq, len(r.Payload), r.Offset)
			}
			continue
		}
		var want simRec
		switch {
		case i < len(acked):
			want = acked[i]
		case i < len(acked)+len(maybe):
			want = maybe[i-len(acked)]
		default:
			s.fatalf("record %d (seq %d at %d) past everything written (%d acknowledged, %d unacknowledged)", i, r.Seq, r.Offset, len(acked), len(maybe))
		}
		if !want.matches(r) {
			s.fatalf("record %d at %d: got seq %d type %d flags %#x %d bytes, want %v", i, r.Offset, r.Seq, r.Type, r.Flags, len(r.Payload), want)
		}
	}
	if s.strict() && len(recs) < len(acked) {
		s.fatalf("scan returned %d records, %d were acknowledged (first missing: %v)", len(recs), len(acked), acked[len(recs)])
	}
}

// restart turns the power back on, reopening the zoned emulator as a
// drive comes back. It returns false when the drive is unusable (only a
// drive that lied can get there).
func (s *sim) restart() bool {
	s.t.Helper()
	s.fd.Restart()
	s.disarm()
	if s.kind.zoned {
		z, err := zonemu.Open(s.fd)
		if err != nil {
			if s.torn {
				s.logf("zoned emulator lost to torn metadata writes: %v", err)
				return false
			}
			s.fatalf("reopen the zoned emulator: %v", err)
		}
		s.loc.Dev = z
	}
	return true
}

// recover scans the segment after a crash, checks it, and continues:
// Resume, or Create when it is sealed or (on a drive that lied) lost.
func (s *sim) recover() bool {
	s.t.Helper()
	if !s.restart() {
		return false
	}
	recs, sc, tail, err := s.scanner(s.gen)
	if s.creating {
		// Generation gen's Create failed: the media holds its empty
		// segment, or generation gen-1 sealed, or (zoned) an empty zone.
		switch {
		case err == nil:
			if len(recs) != 0 || tail.Sealed {
				s.fatalf("new generation %d holds %d records, tail %+v", s.gen, len(recs), tail)
			}
			s.logf("generation %d was created", s.gen)
		case errors.Is(err, ErrNotWritten) || errors.Is(err, ErrStale) || !s.strict():
			if errors.Is(err, ErrStale) && s.strict() {
				old, otail, oerr := s.scan(s.gen - 1)
				if oerr != nil || !otail.Sealed || len(old) != len(s.prev) {
					s.fatalf("generation %d not created, and generation %d reads %d records (want %d), tail %+v, %v", s.gen, s.gen-1, len(old), len(s.prev), otail, oerr)
				}
			}
			s.logf("generation %d not created: %v", s.gen, err)
			s.gen-- // create increments it again
			s.firstSeq -= uint64(len(s.prev))
			s.acked = s.prev
			return s.create()
		default:
			s.fatalf("scan after a failed create of generation %d: %v", s.gen, err)
		}
		s.creating = false
		s.acked, s.unacked = nil, nil
	} else {
		if err != nil {
			if s.strict() {
				s.fatalf("scan after a power cut: %v", err)
			}
			s.stats.lost++
			s.logf("segment lost to a lying drive: %v", err)
			return s.create()
		}
		s.compare(recs, s.acked, s.unacked)
		if !s.strict() && len(recs) < len(s.acked) {
			s.stats.lost++
			s.logf("a lying drive lost %d acknowledged records", len(s.acked)-len(recs))
		}
		s.logf("after the cut: %d records (%d acknowledged, %d not), tail %+v", len(recs), len(s.acked), len(s.unacked), tail)
	}
	if tail.Torn {
		s.stats.torn++
	}
	s.stats.skipped += len(tail.Skipped)
	// What the scan returned is what the media durably holds.
	s.acked = s.acked[:0:0]
	for _, r := range recs {
		s.acked = append(s.acked, simRec{typ: r.Type, flags: r.Flags, seq: r.Seq, payload: r.Payload})
	}
	s.unacked = nil
	if tail.NextSeq != s.firstSeq+uint64(len(recs)) {
		s.fatalf("tail %+v after %d records from %d", tail, len(recs), s.firstSeq)
	}
	s.checkFooters(tail)
	if tail.Sealed {
		if !s.sealTry && s.strict() {
			s.fatalf("segment sealed, but no seal was attempted")
		}
		s.sealTry = false
		return s.create()
	}
	s.sealTry = false
	w, err := Resume(s.loc, sc)
	if err != nil {
		if s.strict() {
			s.fatalf("resume at %+v: %v", sc.Tail(), err)
		}
		// A torn write of the zoned emulator's state can bring back a
		// zone full of the previous generation under the new header.
		s.stats.lost++
		s.logf("resume on a lying drive: %v", err)
		return s.create()
	}
	if w.NextSeq() != tail.NextSeq {
		s.fatalf("resumed at sequence number %d, the tail says %d", w.NextSeq(), tail.NextSeq)
	}
	s.w, s.wrote = w, false
	return true
}

// checkFooters: a sealed segment's footer reads back without a scan; an
// unsealed one has none.
func (s *sim) checkFooters(tail Tail) {
	s.t.Helper()
	if !s.strict() {
		return
	}
	if !tail.Sealed {
		if f, err := ReadFooter(s.loc, s.expect(s.gen), -1); err == nil {
			s.fatalf("unsealed segment (tail %+v) has a footer: %+v", tail, f)
		}
		return
	}
	f, err := ReadFooter(s.loc, s.expect(s.gen), tail.Footer.DataEnd)
	if err != nil || f != tail.Footer {
		s.fatalf("footer at %d: %+v, %v; the scan found %+v", tail.Footer.DataEnd, f, err, tail.Footer)
	}
}

// cycle runs appends, flushes and seals until the armed power cut hits,
// or cuts the power itself.
func (s *sim) cycle() {
	s.t.Helper()
	s.stats.cycles++
	if s.w == nil && !s.recover() {
		return
	}
	mode := s.cutMode()
	ops := s.rng.IntN(40)
	s.fd.PowerCutAfter(ops, mode)
	s.logf("cycle %d: power cut (%v) after %d operations", s.stats.cycles, mode, ops)
	for step := 0; step < 40 && s.w != nil; step++ {
		switch r := s.rng.IntN(100); {
		case r < 12: // many small records
			n := 10 + s.rng.IntN(120)
			for i := 0; i < n && s.w != nil; i++ {
				s.appendOne(s.rng.IntN(65))
			}
		case r < 50:
			for n := 1 + s.rng.IntN(4); n > 0 && s.w != nil; n-- {
				s.appendOne(s.size())
			}
		case r < 55: // a write of many blocks, which a cut can tear
			for n := 5 + s.rng.IntN(25); n > 0 && s.w != nil; n-- {
				s.appendOne(1024 + s.rng.IntN(8192))
			}
			if s.w != nil {
				s.flush()
			}
		case r < 90:
			if s.flush() && s.rng.IntN(16) == 0 {
				s.verify()
			}
		case r < 92:
			if s.rng.IntN(2) == 0 && !s.flush() {
				break
			}
			if s.seal() {
				s.create()
			}
		}
	}
	if s.w == nil {
		s.stats.armedCuts++
	} else {
		s.logf("power cut (%v) by the test", mode)
		if err := s.fd.PowerCut(mode); err != nil {
			s.fatalf("power cut: %v", err)
		}
		s.unacked, s.pending = s.pending, nil
		s.w = nil
	}
	s.stats.cuts++
}

// corruptBeforeTail ends a run: two acknowledged writes, a bit flipped at
// rest in the first; the scan must report corruption at that record, not
// take it for the tail.
func (s *sim) corruptBeforeTail() {
	s.t.Helper()
	if s.w == nil && !s.recover() {
		return
	}
	if s.w.Fits(64<<10) != nil {
		if !s.seal() || !s.create() {
			s.fatalf("power cut while disarmed")
		}
	}
	first := len(s.acked) + len(s.pending)
	for range 1 + s.rng.IntN(8) {
		s.appendOne(s.rng.IntN(2000))
	}
	n := len(s.acked) + len(s.pending) - first
	if !s.flush() {
		s.fatalf("power cut while disarmed")
	}
	for range 1 + s.rng.IntN(3) {
		s.appendOne(s.rng.IntN(2000))
	}
	if !s.flush() {
		s.fatalf("power cut while disarmed")
	}
	recs, _, err := s.scan(s.gen)
	if err != nil || len(recs) != len(s.acked) {
		s.fatalf("scan before corrupting: %d records, %v", len(recs), err)
	}
	// A record of the first write, or the write record itself.
	k := first + s.rng.IntN(n)
	off := recs[k].Offset
	size := RecordHeaderSize + len(recs[k].Payload)
	writeRec := s.rng.IntN(4) == 0
	if writeRec {
		k = first
		off = recs[first].Offset - int64(recordSize(writePayloadSize))
		size = RecordHeaderSize + writePayloadSize
	}
	// The scan names the damaged offset. When the damaged record is the
	// write record a recovery appended after a torn tail, naming that
	// tail, the scan can no longer step over the torn bytes: it names
	// the torn offset, where the readable data now ends.
	named := off
	if writeRec {
		w := s.mem.Bytes()[s.loc.Start+off:]
		if string(w[:4]) != RecordMagic || w[5] != typeWrite {
			s.fatalf("no write record at %d", off)
		}
		if prev := int64(binary.LittleEndian.Uint64(w[RecordHeaderSize+8:])); prev != off {
			named = prev
			for k = 0; recs[k].Offset < named; k++ {
			}
		}
	}
	s.fd.CorruptAt(s.loc.Start + off + int64(s.rng.IntN(size)))
	s.stats.corruptions++
	got, _, err := s.scan(s.gen)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("at offset %d ", named)) {
		s.fatalf("bit flipped at rest in the record at %d, before two acknowledged writes: scan error %v (want one at offset %d)", off, err, named)
	}
	if len(got) != k {
		s.fatalf("%d records before the corruption at %d, want %d", len(got), off, k)
	}
	s.compare(got, s.acked[:k], nil)
}

func (s *sim) run(cycles int) {
	s.t.Helper()
	w, err := Create(s.loc, s.header())
	if err != nil {
		s.fatalf("create: %v", err)
	}
	s.w = w
	for range cycles {
		s.cycle()
	}
	s.disarm()
	if s.strict() {
		s.corruptBeforeTail()
	}
}

func TestCrashSimulation(t *testing.T) {
	seeds := simSeeds()
	start := time.Now()
	var total simStats
	results := make(chan simStats, len(simKinds)*len(seeds))
	for _, kind := range simKinds {
		// The seeds of a kind run in parallel; t.Run returns when all
		// of them are done.
		t.Run(kind.name, func(t *testing.T) {
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					t.Parallel()
					s := newSim(t, seed, kind)
					s.run(simCycles)
					results <- s.stats
				})
			}
		})
	}
	close(results)
	for st := range results {
		total.cycles += st.cycles
		total.cuts += st.cuts
		total.armedCuts += st.armedCuts
		total.records += st.records
		total.seals += st.seals
		total.torn += st.torn
		total.skipped += st.skipped
		total.lost += st.lost
		total.corruptions += st.corruptions
	}
	t.Logf("%d seeds x %d kinds in %v: %+v", len(seeds), len(simKinds), time.Since(start).Round(time.Millisecond), total)
}
