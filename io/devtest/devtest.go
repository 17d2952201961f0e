// Package devtest is the conformance suite every dev.Device backend must
// pass: plain files and block devices (io/direct), the zoned-drive emulator
// (io/zonemu), wrappers, and real zoned drives under QEMU.
//
// A backend's test describes how to open its store in a Target and calls Run:
//
//	func TestConformance(t *testing.T) {
//		path := filepath.Join(t.TempDir(), "dev.img")
//		first := true
//		devtest.Run(t, devtest.Target{
//			Name: "file",
//			Open: func(t testing.TB) (dev.Device, error) {
//				opts := direct.Options{}
//				if first {
//					first, opts = false, direct.Options{Create: true, Size: 8 << 20, BlockSize: 4096}
//				}
//				return direct.Open(path, opts)
//			},
//			Exclusive:    true,
//			StrictErrors: true,
//		})
//	}
//
// The suite asserts only what the dev package documents and, unless the
// target says its errors are strict, only what a kernel-backed device can
// guarantee: misaligned, out-of-range and closed-device requests always fail
// with Plinth's sentinel errors (every backend checks them before any byte
// moves), while zone-rule violations that reach a real drive need only fail.
//
// All sub-tests share one backing store and run one after another; each opens
// the device, and on a zoned device first resets every sequential zone that
// holds data, so the sub-tests do not depend on each other and can be
// selected with -run. Sizes are small: a whole zone is written only when its
// capacity is at most 64 MiB.
package devtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
)

// Target describes a backend under test.
type Target struct {
	Name string
	// Open opens the backing store under test; the first call creates it
	// fresh (zero-filled). Later calls reopen the same store (persistence,
	// exclusivity). Open is never called concurrently.
	Open func(t testing.TB) (dev.Device, error)
	// Exclusive: a second Open while one is open must fail with
	// errors.Is(err, dev.ErrBusy).
	Exclusive bool
	// StrictErrors: the backend returns Plinth's sentinel errors
	// (dev.ErrNotAtWritePointer, ...) rather than a kernel errno; when false
	// only "an error" is required.
	StrictErrors bool
}

// maxCapacityWrite is the largest zone capacity the suite fills completely.
const maxCapacityWrite = 64 << 20

// check is one sub-test. Checks take a testing.TB so that the suite's own
// tests can run them against broken devices and watch them fail.
type check struct {
	name string
	fn   func(t testing.TB, s *suite)
}

var blockChecks = []check{
	{"Geometry", checkGeometry},
	{"FreshStoreIsZeroFilled", checkFresh},
	{"ReadWritePatterns", checkPatterns},
	{"Misaligned", checkMisaligned},
	{"OutOfRange", checkOutOfRange},
	{"ZeroLength", checkZeroLength},
	{"Flush", checkFlush},
	{"Persistence", checkPersistence},
	{"Discard", checkDiscard},
	{"Closed", checkClosed},
	{"Exclusive", checkExclusive},
	{"Concurrent", checkConcurrent},
	{"ZoneOpsOnConventionalDevice", checkZoneOpsOnConventional},
}

var zoneChecks = []check{
	{"Report", checkReport},
	{"ReportPartial", checkReportPartial},
	{"WriteAdvancesWritePointer", checkWriteAdvances},
	{"WriteNotAtWritePointer", checkWriteNotAtWP},
	{"FillToCapacity", checkFillToCapacity},
	{"Reset", checkReset},
	{"OpenCloseFinish", checkOpenCloseFinish},
	{"ConventionalZoneOps", checkConventionalZoneOps},
	{"Limits", checkLimits},
	{"Persistence", checkZonePersistence},
}

// Run runs every applicable sub-test against tgt. The zone sub-tests (under
// "Zones") run when the device is zoned.
func Run(t *testing.T, tgt Target) {
	t.Helper()
	s := newSuite(t, tgt)
	for _, c := range blockChecks {
		t.Run(c.name, func(t *testing.T) { c.fn(t, s) })
	}
	t.Run("Zones", func(t *testing.T) {
		if !s.zoned {
			t.Skipf("%s is not zoned", tgt.Name)
		}
		for _, c := range zoneChecks {
			t.Run(c.name, func(t *testing.T) { c.fn(t, s) })
		}
	})
}

// suite is what the checks share: the target and what the first (fresh)
// Open showed.
type suite struct {
	tgt   Target
	g     dev.Geometry
	zoned bool
	lbs   int64
	// u is the write unit: the logical block, or on a zoned device the
	// zone write granularity (a multiple of it).
	u int64
	// layout is the zone report of the fresh device (types, starts,
	// capacities; the conditions are not kept up to date).
	layout []dev.Zone
	// [randLo, randHi) is where random writes are allowed: the whole
	// device, the conventional zones of a zoned one, or nothing.
	randLo, randHi int64
	seq            []dev.Zone // sequential-write-required zones
	conv           []dev.Zone // conventional zones
	fresh          []string   // how the fresh store was not zero-filled
	nonce          uint64
	ctr            atomic.Uint64
}

func newSuite(t testing.TB, tgt Target) *suite {
	t.Helper()
	if tgt.Open == nil {
		t.Fatalf("Target %q has no Open function", tgt.Name)
	}
	s := &suite{tgt: tgt, nonce: uint64(time.Now().UnixNano())}
	d, err := tgt.Open(t)
	if err != nil {
		t.Fatalf("%s: first Open: %v", tgt.Name, err)
	}
	if d == nil {
		t.Fatalf("%s: first Open returned neither a device nor an error", tgt.Name)
	}
	defer func() {
		if err := safeClose(d); err != nil {
			t.Errorf("%s: Close after the first Open: %v", tgt.Name, err)
		}
	}()
	s.g = d.Geometry()
	if err := s.g.Validate(); err != nil {
		t.Fatalf("%s: invalid geometry %+v: %v", tgt.Name, s.g, err)
	}
	s.lbs = int64(s.g.LogicalBlockSize)
	if s.lbs < 512 {
		t.Fatalf("%s: logical block size %d < 512: no device has one and the suite cannot misalign against it", tgt.Name, s.lbs)
	}
	s.u = s.lbs
	s.zoned = s.g.Zoned != dev.ZoneModelNone
	if s.zoned {
		if zwg := int64(s.g.ZoneWriteGranularity); zwg > s.u {
			s.u = zwg
		}
	}
	if s.g.Size < 64*s.u {
		t.Fatalf("%s: device of %d bytes is too small for the suite (want at least %d)", tgt.Name, s.g.Size, 64*s.u)
	}
	if !s.zoned {
		s.randHi = s.g.Size
	} else {
		z, ok := dev.AsZoned(d)
		if !ok {
			t.Fatalf("%s: geometry says %s but %T does not implement dev.ZonedDevice", tgt.Name, s.g.Zoned, d)
		}
		zs, err := z.ReportZones(0, 0)
		if err != nil {
			t.Fatalf("%s: ReportZones(0, 0) on the fresh device: %v", tgt.Name, err)
		}
		s.layout = zs
		leading := true
		for _, zn := range zs {
			switch zn.Type {
			case dev.ZoneTypeConventional:
				s.conv = append(s.conv, zn)
				if leading && zn.Start == s.randHi {
					s.randHi = zn.Start + zn.Len
				}
			case dev.ZoneTypeSeqWriteRequired:
				s.seq = append(s.seq, zn)
				leading = false
			default:
				leading = false
			}
		}
		if s.randHi < 16*s.u {
			s.randHi = 0 // too small to share out; use sequential zones
		}
	}
	s.checkFreshStore(d)
	return s
}

// checkFreshStore records where the freshly created store is not zeros.
func (s *suite) checkFreshStore(d dev.Device) {
	var offs []int64
	if s.randHi > s.randLo {
		offs = append(offs, s.randLo, s.randLo+alignDown((s.randHi-s.randLo)/2, s.lbs), s.randHi-s.lbs)
	}
	if s.tgt.StrictErrors {
		// Reads past a write pointer: only an emulator promises zeros.
		for _, z := range s.pick3(s.seq) {
			offs = append(offs, z.Start, z.Start+z.Capacity-s.lbs)
		}
		for _, z := range s.layout {
			if z.Type == dev.ZoneTypeSeqWriteRequired && z.Cond != dev.ZoneCondEmpty {
				s.fresh = append(s.fresh, fmt.Sprintf("fresh device has a non-empty zone: %v", z))
				break
			}
		}
	}
	for _, off := range offs {
		buf := dev.AlignedBuffer(int(s.lbs))
		if n, err := d.ReadAt(buf, off); err != nil || n != len(buf) {
			s.fresh = append(s.fresh, fmt.Sprintf("ReadAt(%d bytes, %d) on the fresh store = %d, %v", len(buf), off, n, err))
			continue
		}
		if i := nonZero(buf); i >= 0 {
			s.fresh = append(s.fresh, fmt.Sprintf("fresh store holds a non-zero byte at %d", off+int64(i)))
		}
	}
}

// handle is an open device under test; the test's cleanup closes it if the
// test did not.
type handle struct {
	dev.Device
	z      dev.ZonedDevice
	closed bool
}

// open opens the store and checks that the geometry did not change.
func (s *suite) open(t testing.TB) *handle {
	t.Helper()
	d, err := s.tgt.Open(t)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if d == nil {
		t.Fatalf("Open returned neither a device nor an error")
	}
	h := &handle{Device: d}
	t.Cleanup(func() {
		if !h.closed {
			h.closed = true
			_ = safeClose(d)
		}
	})
	if g := d.Geometry(); g != s.g {
		t.Errorf("geometry changed across Open:\n first %+v\n now   %+v", s.g, g)
	}
	if s.zoned {
		z, ok := dev.AsZoned(d)
		if !ok {
			t.Fatalf("geometry says %s but %T does not implement dev.ZonedDevice", s.g.Zoned, d)
		}
		h.z = z
	}
	return h
}

// begin opens the store and, on a zoned device, resets every sequential
// zone holding data so that the test starts with no open or active zone.
func (s *suite) begin(t testing.TB) *handle {
	t.Helper()
	h := s.open(t)
	if s.zoned {
		s.resetAll(t, h)
	}
	return h
}

func (h *handle) close(t testing.TB) {
	t.Helper()
	h.closed = true
	if err := safeClose(h.Device); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// safeClose closes d and turns a panic into an error.
func safeClose(d dev.Device) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("close panicked: %v", r)
		}
	}()
	return d.Close()
}

// --- data patterns ---

// pattern returns an aligned buffer of n bytes filled with data no other
// call (in this run or an earlier one) produced.
func (s *suite) pattern(n int64) []byte {
	b := dev.AlignedBuffer(int(n))
	fillPattern(b, s.nonce^(s.ctr.Add(1)*0x9E3779B97F4A7C15))
	return b
}

func fillPattern(b []byte, seed uint64) {
	x := seed | 1
	var w [8]byte
	for i := 0; i < len(b); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(w[:], x)
		copy(b[i:], w[:])
	}
}

// sentinel returns an aligned buffer of n bytes of 0xA5 (a rejected read
// must leave it so).
func sentinel(n int64) []byte {
	b := dev.AlignedBuffer(int(n))
	for i := range b {
		b[i] = 0xA5
	}
	return b
}

func untouched(b []byte) bool {
	for _, c := range b {
		if c != 0xA5 {
			return false
		}
	}
	return true
}

func nonZero(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return -1
}

func concat(bs ...[]byte) []byte {
	var n int
	for _, b := range bs {
		n += len(b)
	}
	out := dev.AlignedBuffer(n)
	n = 0
	for _, b := range bs {
		n += copy(out[n:], b)
	}
	return out
}

func alignDown(n, unit int64) int64 { return n / unit * unit }

// --- IO helpers ---

// write writes p at off and fails the test now if that does not work.
func (s *suite) write(t testing.TB, h *handle, p []byte, off int64, what string) {
	t.Helper()
	if n, err := h.WriteAt(p, off); err != nil || n != len(p) {
		t.Fatalf("%s: WriteAt(%d bytes, %d) = %d, %v; want %d, nil", what, len(p), off, n, err, len(p))
	}
}

// read reads n bytes at off and fails the test now if that does not work.
func (s *suite) read(t testing.TB, h *handle, n, off int64, what string) []byte {
	t.Helper()
	buf := dev.AlignedBuffer(int(n))
	if got, err := h.ReadAt(buf, off); err != nil || got != len(buf) {
		t.Fatalf("%s: ReadAt(%d bytes, %d) = %d, %v; want %d, nil", what, n, off, got, err, n)
	}
	return buf
}

// expect reads len(want) bytes at off and compares them with want.
func (s *suite) expect(t testing.TB, h *handle, off int64, want []byte, what string) bool {
	t.Helper()
	return same(t, s.read(t, h, int64(len(want)), off, what), want, off, what)
}

// expectZeros reads n bytes at off and checks they are zero.
func (s *suite) expectZeros(t testing.TB, h *handle, off, n int64, what string) {
	t.Helper()
	if i := nonZero(s.read(t, h, n, off, what)); i >= 0 {
		t.Errorf("%s: byte at %d is not zero", what, off+int64(i))
	}
}

// same compares data read at off with what was written there.
func same(t testing.TB, got, want []byte, off int64, what string) bool {
	t.Helper()
	if bytes.Equal(got, want) {
		return true
	}
	if len(got) != len(want) {
		t.Errorf("%s: read %d bytes at %d, want %d", what, len(got), off, len(want))
		return false
	}
	first, diff := -1, 0
	for i := range got {
		if got[i] != want[i] {
			if first < 0 {
				first = i
			}
			diff++
		}
	}
	t.Errorf("%s: data at [%d, +%d) is not what was written: %d bytes differ, the first at %d (got %#02x, want %#02x)",
		what, off, len(want), diff, off+int64(first), got[first], want[first])
	return false
}

// --- error assertions ---

var sentinelNames = map[error]string{
	dev.ErrMisaligned:         "dev.ErrMisaligned",
	dev.ErrOutOfRange:         "dev.ErrOutOfRange",
	dev.ErrClosed:             "dev.ErrClosed",
	dev.ErrBusy:               "dev.ErrBusy",
	dev.ErrNotZoned:           "dev.ErrNotZoned",
	dev.ErrNotAtWritePointer:  "dev.ErrNotAtWritePointer",
	dev.ErrZoneFull:           "dev.ErrZoneFull",
	dev.ErrZoneReadOnly:       "dev.ErrZoneReadOnly",
	dev.ErrZoneOffline:        "dev.ErrZoneOffline",
	dev.ErrTooManyOpenZones:   "dev.ErrTooManyOpenZones",
	dev.ErrTooManyActiveZones: "dev.ErrTooManyActiveZones",
	dev.ErrZoneOp:             "dev.ErrZoneOp",
}

func describe(targets []error) string {
	if len(targets) == 0 {
		return "an error"
	}
	names := make([]string, len(targets))
	for i, e := range targets {
		names[i] = sentinelNames[e]
		if names[i] == "" {
			names[i] = fmt.Sprintf("%q", e)
		}
	}
	return "errors.Is " + strings.Join(names, " or ")
}

// wantErr requires err to be non-nil and, when targets are given, to match
// one of them.
func wantErr(t testing.TB, err error, what string, targets ...error) bool {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded; want %s", what, describe(targets))
		return false
	}
	if len(targets) == 0 {
		return true
	}
	for _, tg := range targets {
		if errors.Is(err, tg) {
			return true
		}
	}
	t.Errorf("%s: got error %q; want %s", what, err, describe(targets))
	return false
}

// wantIOErr is wantErr for a rejected ReadAt or WriteAt, which moves no byte.
func wantIOErr(t testing.TB, n int, err error, what string, targets ...error) {
	t.Helper()
	wantErr(t, err, what, targets...)
	if n != 0 {
		t.Errorf("%s: returned n = %d; a rejected request transfers nothing", what, n)
	}
}

// wantZoneErr requires an error that, for a target with strict errors,
// matches one of targets.
func (s *suite) wantZoneErr(t testing.TB, err error, what string, targets ...error) bool {
	t.Helper()
	if !s.tgt.StrictErrors {
		targets = nil
	}
	return wantErr(t, err, what, targets...)
}

// --- where to write ---

// pick3 returns the first, middle and last of zs without duplicates.
func (s *suite) pick3(zs []dev.Zone) []dev.Zone {
	switch len(zs) {
	case 0, 1, 2:
		return zs
	}
	return []dev.Zone{zs[0], zs[len(zs)/2], zs[len(zs)-1]}
}

// spots returns up to three distinct offsets, at the start, in the middle
// and at the end of the random-IO area, where n fresh bytes (a multiple of
// s.u) may be written now; on a zoned device without conventional zones
// they are the starts of the first, middle and last sequential zones, reset
// here. The second result is the zone each offset is in, nil in the
// random-IO area.
func (s *suite) spots(t testing.TB, h *handle, n int64) ([]int64, []*dev.Zone) {
	t.Helper()
	if s.randHi > s.randLo {
		lo, hi := s.randLo, s.randHi
		if hi-lo < 3*n {
			t.Fatalf("random-IO area [%d, %d) too small for three writes of %d bytes", lo, hi, n)
		}
		mid := lo + alignDown((hi-lo)/2, s.lbs)
		if mid+n > hi-n {
			mid = hi - 2*n
		}
		return []int64{lo, mid, hi - n}, []*dev.Zone{nil, nil, nil}
	}
	var offs []int64
	var zones []*dev.Zone
	zs := s.pick3(s.seq)
	zs = zs[:min(len(zs), s.zoneBudget())]
	for _, z := range zs {
		if z.Capacity < n {
			t.Skipf("zone capacity %d < %d bytes the test writes", z.Capacity, n)
		}
		s.resetZone(t, h, z.Start)
		offs = append(offs, z.Start)
		zones = append(zones, &z)
	}
	if len(offs) == 0 {
		t.Skipf("zoned device with neither conventional nor sequential-write-required zones")
	}
	return offs, zones
}

// --- zone helpers ---

// zone reports the zone starting at start.
func (s *suite) zone(t testing.TB, h *handle, start int64) dev.Zone {
	t.Helper()
	zs, err := h.z.ReportZones(start, 1)
	if err != nil {
		t.Fatalf("ReportZones(%d, 1): %v", start, err)
	}
	if len(zs) != 1 || zs[0].Start != start {
		t.Fatalf("ReportZones(%d, 1) = %v; want the one zone starting at %d", start, zs, start)
	}
	return zs[0]
}

// wantZone checks the zone at start has condition cond and, when wp >= 0,
// that write pointer.
func (s *suite) wantZone(t testing.TB, h *handle, start int64, cond dev.ZoneCond, wp int64, what string) dev.Zone {
	t.Helper()
	z := s.zone(t, h, start)
	if z.Cond != cond || (wp >= 0 && z.WritePointer != wp) {
		if wp >= 0 {
			t.Errorf("%s: %v; want %s with the write pointer at %d", what, z, cond, wp)
		} else {
			t.Errorf("%s: %v; want %s", what, z, cond)
		}
	}
	return z
}

// wantWP checks the write pointer of the zone at start did not move.
func (s *suite) wantWP(t testing.TB, h *handle, start, wp int64, what string) {
	t.Helper()
	if z := s.zone(t, h, start); z.WritePointer != wp || z.Cond == dev.ZoneCondFull {
		t.Errorf("%s: %v; the write pointer should still be at %d", what, z, wp)
	}
}

func (s *suite) resetZone(t testing.TB, h *handle, start int64) {
	t.Helper()
	if err := h.z.ResetZone(start); err != nil {
		t.Fatalf("ResetZone(%d): %v", start, err)
	}
	s.wantZone(t, h, start, dev.ZoneCondEmpty, start, fmt.Sprintf("after ResetZone(%d)", start))
}

// resetAll resets every sequential zone that holds data or is open.
func (s *suite) resetAll(t testing.TB, h *handle) {
	t.Helper()
	zs, err := h.z.ReportZones(0, 0)
	if err != nil {
		t.Fatalf("ReportZones(0, 0): %v", err)
	}
	for _, z := range zs {
		if z.Type == dev.ZoneTypeConventional {
			continue
		}
		switch z.Cond {
		case dev.ZoneCondEmpty, dev.ZoneCondReadOnly, dev.ZoneCondOffline:
			continue
		}
		if err := h.z.ResetZone(z.Start); err != nil {
			t.Fatalf("resetting %v before the test: %v", z, err)
		}
	}
}

// zoneBudget is how many zones may be written without closing or finishing
// any: the smaller of the open and active zone limits.
func (s *suite) zoneBudget() int {
	n := math.MaxInt
	for _, l := range []int{s.g.MaxOpenZones, s.g.MaxActiveZones} {
		if l > 0 {
			n = min(n, l)
		}
	}
	return n
}

// needSeq skips the test unless the device has n sequential-write-required
// zones.
func (s *suite) needSeq(t testing.TB, n int) {
	t.Helper()
	if len(s.seq) < n {
		t.Skipf("needs %d sequential-write-required zones, the device has %d", n, len(s.seq))
	}
}

// fillZone writes from the write pointer wp of zone z up to end in chunks
// and returns the data of the last unit written.
func (s *suite) fillZone(t testing.TB, h *handle, z dev.Zone, wp, end int64) []byte {
	t.Helper()
	chunk := alignDown(1<<20, s.u)
	var last []byte
	for wp < end {
		n := min(chunk, end-wp)
		p := s.pattern(n)
		s.write(t, h, p, wp, fmt.Sprintf("filling %v", z))
		wp += n
		last = p[len(p)-int(s.u):]
	}
	return last
}

// openCounts counts the open and active zones of a report.
func openCounts(zs []dev.Zone) (open, active int) {
	for _, z := range zs {
		if z.Cond.IsOpen() {
			open++
		}
		if z.Cond.IsActive() {
			active++
		}
	}
	return open, active
}

// hugeOffset is the largest aligned offset: off+len overflows int64.
func (s *suite) hugeOffset() int64 { return alignDown(math.MaxInt64, s.lbs) }
