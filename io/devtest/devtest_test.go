package devtest

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// --- an in-memory device, correct unless told to be broken ---

// flaws are the bugs a memDevice can be told to have.
type flaws struct {
	ignoreMisalign   bool // IO alignment is not checked
	truncateAtEnd    bool // IO past the end is cut short, no error
	ignoreClosed     bool // IO after Close works
	notExclusive     bool // a second Open succeeds
	busyNoHolder     bool // busy error is not a *dev.BusyError
	zeroLengthError  bool // zero-length IO fails
	dropOnReopen     bool // Open loses the data (as if Flush did nothing)
	discardAnyAlign  bool // Discard does not check alignment
	closeNotIdempot  bool // a second Close panics
	ignoreWP         bool // writes anywhere in a sequential zone
	resetKeepsData   bool // ResetZone leaves the old data readable
	ignoreLimits     bool // no open/active zone limits
	wpNotPersisted   bool // Open forgets the write pointers
	badCapacity      bool // report says capacity > length
	finishNoop       bool // FinishZone does nothing
	convZoneOps      bool // zone operations on conventional zones succeed
	wpOffByOneBlock  bool // a write advances the write pointer by one block extra
	sharedStaging    bool // writes go through one staging buffer, locked per step, not per write
	geometryUnstable bool // Geometry changes across Open
}

// String names the flaws that are set.
func (f flaws) String() string {
	v := reflect.ValueOf(f)
	var names []string
	for i := range v.NumField() {
		if v.Field(i).Bool() {
			names = append(names, v.Type().Field(i).Name)
		}
	}
	return strings.Join(names, "+")
}

type memConfig struct {
	size      int64
	lbs       int
	zoned     bool
	zoneSize  int64
	zoneCap   int64
	nConv     int
	maxOpen   int
	maxActive int
	// zoneMethods: a conventional device that still has the zone methods
	// (as a wrapper would); they fail with dev.ErrNotZoned.
	zoneMethods bool
	// noImplicitClose: at the open limit a write fails rather than close
	// an implicitly open zone (ZNS without auto-transition).
	noImplicitClose bool
	flaws           flaws
}

type memZone struct {
	typ  dev.ZoneType
	cond dev.ZoneCond
	wp   int64
}

type memStore struct {
	cfg     memConfig
	name    string
	mu      sync.RWMutex
	data    []byte
	zones   []memZone
	held    bool
	opened  int
	staging []byte // sharedStaging
}

func newMemStore(name string, cfg memConfig) *memStore {
	st := &memStore{cfg: cfg, name: name, data: make([]byte, cfg.size)}
	if cfg.zoned {
		for i := range int(cfg.size / cfg.zoneSize) {
			z := memZone{typ: dev.ZoneTypeSeqWriteRequired, cond: dev.ZoneCondEmpty, wp: int64(i) * cfg.zoneSize}
			if i < cfg.nConv {
				z.typ, z.cond = dev.ZoneTypeConventional, dev.ZoneCondNotWP
			}
			st.zones = append(st.zones, z)
		}
	}
	return st
}

func (st *memStore) geometry() dev.Geometry {
	c := st.cfg
	g := dev.Geometry{
		Size: c.size, LogicalBlockSize: c.lbs, PhysicalBlockSize: c.lbs, MemAlign: c.lbs, DirectIO: true,
	}
	if c.zoned {
		g.Zoned = dev.ZoneModelHostManaged
		g.ZoneSize = c.zoneSize
		g.NrZones = len(st.zones)
		g.MaxOpenZones = c.maxOpen
		g.MaxActiveZones = c.maxActive
		g.ZoneWriteGranularity = c.lbs
	}
	if c.flaws.geometryUnstable {
		g.OptimalIOSize = st.opened * c.lbs
	}
	return g
}

func (st *memStore) open() (dev.Device, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f := st.cfg.flaws
	if st.held && !f.notExclusive {
		if f.busyNoHolder {
			return nil, fmt.Errorf("mem:%s: %w", st.name, dev.ErrBusy)
		}
		return nil, &dev.BusyError{Path: "mem:" + st.name, Holder: "the memDevice test handle"}
	}
	st.held = true
	st.opened++
	if st.opened > 1 {
		if f.dropOnReopen {
			clear(st.data)
		}
		if f.wpNotPersisted {
			for i := range st.zones {
				if z := &st.zones[i]; z.typ != dev.ZoneTypeConventional {
					z.wp, z.cond = int64(i)*st.cfg.zoneSize, dev.ZoneCondEmpty
				}
			}
		}
	}
	d := &memDevice{st: st, g: st.geometry()}
	if st.cfg.zoned || st.cfg.zoneMethods {
		return d, nil
	}
	return plainMem{d}, nil
}

// plainMem hides the zone methods of a conventional memDevice.
type plainMem struct{ d *memDevice }

func (p plainMem) ReadAt(b []byte, off int64) (int, error)  { return p.d.ReadAt(b, off) }
func (p plainMem) WriteAt(b []byte, off int64) (int, error) { return p.d.WriteAt(b, off) }
func (p plainMem) Flush() error                             { return p.d.Flush() }
func (p plainMem) Discard(off, n int64) error               { return p.d.Discard(off, n) }
func (p plainMem) Geometry() dev.Geometry                   { return p.d.Geometry() }
func (p plainMem) Path() string                             { return p.d.Path() }
func (p plainMem) Close() error                             { return p.d.Close() }

type memDevice struct {
	st     *memStore
	g      dev.Geometry
	closed atomic.Bool
}

func (d *memDevice) Path() string           { return "mem:" + d.st.name }
func (d *memDevice) Geometry() dev.Geometry { return d.g }

func (d *memDevice) opErr(op string, off, n int64, err error) error {
	return &dev.OpError{Op: op, Path: d.Path(), Offset: off, Length: n, Err: err}
}

func (d *memDevice) isClosed() bool { return d.closed.Load() && !d.st.cfg.flaws.ignoreClosed }

func (d *memDevice) checkIO(p []byte, off int64) error {
	g := d.g
	f := d.st.cfg.flaws
	if f.ignoreMisalign {
		g.LogicalBlockSize, g.MemAlign = 1, 1
	}
	if f.truncateAtEnd {
		g.Size = math.MaxInt64
	}
	return dev.CheckIO(g, p, off)
}

func (d *memDevice) ReadAt(p []byte, off int64) (int, error) {
	if d.isClosed() {
		return 0, d.opErr("read", off, int64(len(p)), dev.ErrClosed)
	}
	if err := d.checkIO(p, off); err != nil {
		return 0, d.opErr("read", off, int64(len(p)), err)
	}
	if len(p) == 0 && d.st.cfg.flaws.zeroLengthError {
		return 0, d.opErr("read", off, 0, errors.New("zero-length read"))
	}
	d.st.mu.RLock()
	defer d.st.mu.RUnlock()
	if off >= int64(len(d.st.data)) {
		return 0, nil
	}
	return copy(p, d.st.data[off:]), nil
}

func (d *memDevice) WriteAt(p []byte, off int64) (int, error) {
	st := d.st
	f := st.cfg.flaws
	n := int64(len(p))
	if d.isClosed() {
		return 0, d.opErr("write", off, n, dev.ErrClosed)
	}
	if err := d.checkIO(p, off); err != nil {
		return 0, d.opErr("write", off, n, err)
	}
	if n == 0 {
		if f.zeroLengthError {
			return 0, d.opErr("write", off, 0, errors.New("zero-length write"))
		}
		return 0, nil
	}
	if f.sharedStaging {
		// Each step is locked, the write as a whole is not: concurrent
		// writers overwrite each other's staged data (a bug the race
		// detector cannot see).
		st.mu.Lock()
		if len(st.staging) < len(p) {
			st.staging = make([]byte, len(p))
		}
		copy(st.staging, p)
		st.mu.Unlock()
		runtime.Gosched()
		st.mu.Lock()
		defer st.mu.Unlock()
		return copy(st.data[off:], st.staging[:len(p)]), nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cfg.zoned {
		if err := st.zoneWrite(off, n); err != nil {
			return 0, d.opErr("write", off, n, err)
		}
	}
	if off >= int64(len(st.data)) {
		return 0, nil
	}
	return copy(st.data[off:], p), nil
}

// zoneWrite applies the zone rules to a write of n bytes at off; st.mu is
// held.
func (st *memStore) zoneWrite(off, n int64) error {
	zs := st.cfg.zoneSize
	first, last := int(off/zs), int((off+n-1)/zs)
	if last >= len(st.zones) {
		return nil // past the end: truncateAtEnd
	}
	seq := -1
	for i := first; i <= last; i++ {
		if st.zones[i].typ != dev.ZoneTypeConventional {
			seq = i
			break
		}
	}
	if seq < 0 {
		return nil
	}
	f := st.cfg.flaws
	if f.ignoreWP {
		return nil
	}
	z := &st.zones[seq]
	start := int64(seq) * zs
	switch {
	case z.cond == dev.ZoneCondFull:
		return dev.ErrZoneFull
	case off != z.wp:
		return fmt.Errorf("%w at %d", dev.ErrNotAtWritePointer, z.wp)
	case off+n > start+st.cfg.zoneCap:
		return dev.ErrZoneFull
	}
	if err := st.acquire(seq, false); err != nil {
		return err
	}
	z.wp += n
	if f.wpOffByOneBlock {
		z.wp += int64(st.cfg.lbs)
	}
	if z.wp >= start+st.cfg.zoneCap {
		z.wp, z.cond = start+st.cfg.zoneCap, dev.ZoneCondFull
	}
	return nil
}

// acquire makes zone i open (explicitly or implicitly) within the limits.
func (st *memStore) acquire(i int, explicit bool) error {
	z := &st.zones[i]
	if z.cond.IsOpen() {
		if explicit {
			z.cond = dev.ZoneCondExpOpen
		}
		return nil
	}
	if !st.cfg.flaws.ignoreLimits {
		open, active := 0, 0
		imp := -1
		for j, o := range st.zones {
			if o.cond.IsOpen() {
				open++
			}
			if o.cond.IsActive() {
				active++
			}
			if o.cond == dev.ZoneCondImpOpen && imp < 0 {
				imp = j
			}
		}
		if z.cond == dev.ZoneCondEmpty && st.cfg.maxActive > 0 && active >= st.cfg.maxActive {
			return dev.ErrTooManyActiveZones
		}
		if st.cfg.maxOpen > 0 && open >= st.cfg.maxOpen {
			if imp < 0 || st.cfg.noImplicitClose {
				return dev.ErrTooManyOpenZones
			}
			st.zones[imp].cond = dev.ZoneCondClosed
		}
	}
	z.cond = dev.ZoneCondImpOpen
	if explicit {
		z.cond = dev.ZoneCondExpOpen
	}
	return nil
}

func (d *memDevice) Flush() error {
	if d.isClosed() {
		return d.opErr("flush", 0, 0, dev.ErrClosed)
	}
	return nil
}

func (d *memDevice) Discard(off, n int64) error {
	if d.isClosed() {
		return d.opErr("discard", off, n, dev.ErrClosed)
	}
	g := d.g
	if d.st.cfg.flaws.discardAnyAlign {
		g.LogicalBlockSize = 1
	}
	if err := dev.CheckRange(g, off, n); err != nil {
		return d.opErr("discard", off, n, err)
	}
	d.st.mu.Lock()
	defer d.st.mu.Unlock()
	if !d.st.cfg.zoned {
		clear(d.st.data[off : off+n])
	}
	return nil
}

func (d *memDevice) Close() error {
	if d.closed.Swap(true) {
		if d.st.cfg.flaws.closeNotIdempot {
			panic("close of closed memDevice")
		}
		return d.opErr("close", 0, 0, dev.ErrClosed)
	}
	d.st.mu.Lock()
	d.st.held = false
	d.st.mu.Unlock()
	return nil
}

func (d *memDevice) ReportZones(off int64, max int) ([]dev.Zone, error) {
	if d.isClosed() {
		return nil, d.opErr("report-zones", off, 0, dev.ErrClosed)
	}
	if !d.st.cfg.zoned {
		return nil, d.opErr("report-zones", off, 0, dev.ErrNotZoned)
	}
	if off < 0 || off >= d.g.Size {
		return nil, d.opErr("report-zones", off, 0, dev.ErrOutOfRange)
	}
	st := d.st
	st.mu.RLock()
	defer st.mu.RUnlock()
	var out []dev.Zone
	for i := int(off / st.cfg.zoneSize); i < len(st.zones) && (max <= 0 || len(out) < max); i++ {
		z := st.zones[i]
		start := int64(i) * st.cfg.zoneSize
		zn := dev.Zone{Start: start, Len: st.cfg.zoneSize, Capacity: st.cfg.zoneCap, WritePointer: z.wp, Type: z.typ, Cond: z.cond}
		if z.typ == dev.ZoneTypeConventional {
			zn.Capacity, zn.WritePointer = st.cfg.zoneSize, start
		}
		if st.cfg.flaws.badCapacity {
			zn.Capacity = zn.Len + int64(st.cfg.lbs)
		}
		out = append(out, zn)
	}
	return out, nil
}

// zoneOp validates a zone operation on the zone starting at off and runs fn
// on it with st.mu held.
func (d *memDevice) zoneOp(op string, off int64, fn func(i int, z *memZone, start int64) error) error {
	if d.isClosed() {
		return d.opErr(op, off, 0, dev.ErrClosed)
	}
	st := d.st
	switch {
	case !st.cfg.zoned:
		return d.opErr(op, off, 0, dev.ErrNotZoned)
	case off < 0 || off%st.cfg.zoneSize != 0:
		return d.opErr(op, off, 0, fmt.Errorf("%w: %d is not a zone start", dev.ErrMisaligned, off))
	case off >= d.g.Size:
		return d.opErr(op, off, 0, dev.ErrOutOfRange)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	i := int(off / st.cfg.zoneSize)
	z := &st.zones[i]
	if z.typ == dev.ZoneTypeConventional {
		if st.cfg.flaws.convZoneOps {
			return nil
		}
		return d.opErr(op, off, 0, fmt.Errorf("%w: conventional zone", dev.ErrZoneOp))
	}
	if err := fn(i, z, off); err != nil {
		return d.opErr(op, off, 0, err)
	}
	return nil
}

func (d *memDevice) ResetZone(off int64) error {
	return d.zoneOp("reset-zone", off, func(_ int, z *memZone, start int64) error {
		if !d.st.cfg.flaws.resetKeepsData {
			clear(d.st.data[start : start+d.st.cfg.zoneSize])
		}
		z.wp, z.cond = start, dev.ZoneCondEmpty
		return nil
	})
}

func (d *memDevice) OpenZone(off int64) error {
	return d.zoneOp("open-zone", off, func(i int, z *memZone, _ int64) error {
		if z.cond == dev.ZoneCondFull {
			return fmt.Errorf("%w: zone is full", dev.ErrZoneOp)
		}
		return d.st.acquire(i, true)
	})
}

func (d *memDevice) CloseZone(off int64) error {
	return d.zoneOp("close-zone", off, func(_ int, z *memZone, start int64) error {
		switch {
		case z.cond == dev.ZoneCondFull:
			return fmt.Errorf("%w: zone is full", dev.ErrZoneOp)
		case !z.cond.IsOpen():
			return nil
		case z.wp == start:
			z.cond = dev.ZoneCondEmpty
		default:
			z.cond = dev.ZoneCondClosed
		}
		return nil
	})
}

func (d *memDevice) FinishZone(off int64) error {
	return d.zoneOp("finish-zone", off, func(_ int, z *memZone, start int64) error {
		if !d.st.cfg.flaws.finishNoop {
			z.wp, z.cond = start+d.st.cfg.zoneCap, dev.ZoneCondFull
		}
		return nil
	})
}

func (c memConfig) name() string {
	if !c.zoned {
		return fmt.Sprintf("plain-%d", c.lbs)
	}
	return fmt.Sprintf("zoned-%d-conv%d-cap%d-open%d-active%d", c.lbs, c.nConv, c.zoneCap>>10, c.maxOpen, c.maxActive)
}

// memTarget returns a Target over a fresh in-memory store.
func memTarget(name string, cfg memConfig, exclusive, strict bool) Target {
	var st *memStore
	return Target{
		Name: name,
		Open: func(testing.TB) (dev.Device, error) {
			if st == nil {
				st = newMemStore(name, cfg)
			}
			return st.open()
		},
		Exclusive:    exclusive,
		StrictErrors: strict,
	}
}

var (
	plain512  = memConfig{size: 4 << 20, lbs: 512}
	plain4k   = memConfig{size: 8 << 20, lbs: 4096}
	wrapper   = memConfig{size: 4 << 20, lbs: 4096, zoneMethods: true}
	smrLike   = memConfig{size: 32 << 20, lbs: 4096, zoned: true, zoneSize: 1 << 20, zoneCap: 1 << 20, nConv: 4, maxOpen: 4}
	znsLike   = memConfig{size: 16 << 20, lbs: 4096, zoned: true, zoneSize: 1 << 20, zoneCap: 768 << 10, nConv: 2, maxOpen: 3, maxActive: 5}
	znsStrict = memConfig{size: 16 << 20, lbs: 4096, zoned: true, zoneSize: 1 << 20, zoneCap: 512 << 10, nConv: 1, maxOpen: 2, maxActive: 4, noImplicitClose: true}
	znsNoConv = memConfig{size: 8 << 20, lbs: 512, zoned: true, zoneSize: 512 << 10, zoneCap: 384 << 10, maxOpen: 2, maxActive: 2}
)

// TestMemoryDevices runs the whole suite against correct devices: it must
// pass.
func TestMemoryDevices(t *testing.T) {
	for _, c := range []struct {
		name              string
		cfg               memConfig
		exclusive, strict bool
	}{
		{"plain-512", plain512, true, true},
		{"plain-4k", plain4k, true, true},
		{"plain-shared", plain4k, false, false},
		{"plain-with-zone-methods", wrapper, true, true},
		{"smr-like", smrLike, true, true},
		{"zns-like", znsLike, true, true},
		{"zns-no-conventional", znsNoConv, true, true},
		{"zns-no-implicit-close", znsStrict, true, true},
		{"zns-lenient", znsLike, true, false},
	} {
		t.Run(c.name, func(t *testing.T) { Run(t, memTarget(c.name, c.cfg, c.exclusive, c.strict)) })
	}
}

// --- running a check against a fake testing.TB to watch it fail ---

// fakeTB records failures instead of failing the real test. FailNow and
// SkipNow end the check's goroutine like the testing package does.
type fakeTB struct {
	testing.TB // the real test, for anything not overridden
	mu         sync.Mutex
	failed     bool
	skipped    bool
	logs       []string
	cleanups   []func()
}

func (f *fakeTB) record(failed, skipped bool, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = f.failed || failed
	f.skipped = f.skipped || skipped
	if msg != "" {
		f.logs = append(f.logs, msg)
	}
}

func (f *fakeTB) Helper()         {}
func (f *fakeTB) Log(args ...any) { f.record(false, false, fmt.Sprint(args...)) }
func (f *fakeTB) Logf(format string, args ...any) {
	f.record(false, false, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Error(args ...any) { f.record(true, false, fmt.Sprint(args...)) }
func (f *fakeTB) Errorf(format string, args ...any) {
	f.record(true, false, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fail()                             { f.record(true, false, "") }
func (f *fakeTB) FailNow()                          { f.Fail(); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any)                 { f.Error(args...); runtime.Goexit() }
func (f *fakeTB) Fatalf(format string, args ...any) { f.Errorf(format, args...); runtime.Goexit() }
func (f *fakeTB) SkipNow()                          { f.record(false, true, ""); runtime.Goexit() }
func (f *fakeTB) Skip(args ...any)                  { f.record(false, true, fmt.Sprint(args...)); runtime.Goexit() }
func (f *fakeTB) Skipf(format string, args ...any) {
	f.record(false, true, fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}
func (f *fakeTB) Skipped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.skipped
}
func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// runFake runs fn with a fakeTB on its own goroutine, then its cleanups.
func runFake(t *testing.T, fn func(testing.TB)) *fakeTB {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.cleanups[i]()
		}()
		<-done
	}
	return f
}

// runCheck runs the named check against a fresh store of cfg with a fake
// TB.
func runCheck(t *testing.T, name string, cfg memConfig, exclusive, strict bool) *fakeTB {
	t.Helper()
	tgt := memTarget(name, cfg, exclusive, strict)
	var s *suite
	if f := runFake(t, func(tb testing.TB) { s = newSuite(tb, tgt) }); f.Failed() {
		return f // the suite refused the device before any check
	}
	var c *check
	list := blockChecks
	if zn, ok := strings.CutPrefix(name, "Zones/"); ok {
		name, list = zn, zoneChecks
	}
	for i := range list {
		if list[i].name == name {
			c = &list[i]
		}
	}
	if c == nil {
		t.Fatalf("no check named %q", name)
	}
	return runFake(t, func(tb testing.TB) { c.fn(tb, s) })
}

func withFlaws(cfg memConfig, f flaws) memConfig {
	cfg.flaws = f
	return cfg
}

// TestSuiteCatchesBrokenDevices runs single checks against devices with
// one bug each: the check must fail, and pass on the same device without
// the bug.
func TestSuiteCatchesBrokenDevices(t *testing.T) {
	for _, c := range []struct {
		check  string
		cfg    memConfig
		flaws  flaws
		strict bool
		want   string // a piece of the failure message
	}{
		{"Misaligned", plain4k, flaws{ignoreMisalign: true}, true, "misaligned offset"},
		{"Misaligned", znsNoConv, flaws{ignoreMisalign: true}, true, "misaligned"},
		{"OutOfRange", plain512, flaws{truncateAtEnd: true}, true, "want errors.Is dev.ErrOutOfRange"},
		{"Closed", plain4k, flaws{ignoreClosed: true}, true, "after Close: succeeded"},
		{"Closed", plain4k, flaws{closeNotIdempot: true}, true, "panicked"},
		{"Closed", smrLike, flaws{ignoreClosed: true}, true, "ReportZones after Close"},
		{"Exclusive", plain4k, flaws{notExclusive: true}, true, "succeeded; want dev.ErrBusy"},
		{"Exclusive", plain4k, flaws{busyNoHolder: true}, true, "not a *dev.BusyError"},
		{"ZeroLength", plain4k, flaws{zeroLengthError: true}, true, "zero-length"},
		{"Persistence", plain4k, flaws{dropOnReopen: true}, true, "not what was written"},
		{"Persistence", znsNoConv, flaws{dropOnReopen: true}, true, "not what was written"},
		{"Discard", plain4k, flaws{discardAnyAlign: true}, true, "Discard at a misaligned offset: succeeded"},
		{"Geometry", plain4k, flaws{geometryUnstable: true}, true, "geometry changed across Open"},
		{"Concurrent", plain4k, flaws{sharedStaging: true}, true, "not what was written"},
		{"Zones/WriteNotAtWritePointer", znsLike, flaws{ignoreWP: true}, false, "ahead of the write pointer"},
		{"Zones/WriteAdvancesWritePointer", smrLike, flaws{wpOffByOneBlock: true}, true, "want implicit-open with the write pointer"},
		{"Zones/Reset", znsLike, flaws{resetKeepsData: true}, true, "is not zero"},
		{"Zones/Limits", znsLike, flaws{ignoreLimits: true}, false, "succeeded; want an error"},
		{"Zones/Limits", smrLike, flaws{ignoreLimits: true}, true, "want errors.Is dev.ErrTooManyOpenZones"},
		{"Zones/Persistence", znsLike, flaws{wpNotPersisted: true}, true, "after Flush, Close and Open"},
		{"Zones/Report", znsLike, flaws{badCapacity: true}, true, "capacity"},
		{"Zones/OpenCloseFinish", znsLike, flaws{finishNoop: true}, true, "want full"},
		{"Zones/ConventionalZoneOps", smrLike, flaws{convZoneOps: true}, true, "of a conventional zone: succeeded"},
		{"Zones/FillToCapacity", znsLike, flaws{ignoreWP: true}, true, "full zone"},
	} {
		t.Run(c.check+"/"+c.flaws.String()+"/"+c.cfg.name(), func(t *testing.T) {
			good := runCheck(t, c.check, c.cfg, true, c.strict)
			if good.Failed() || good.Skipped() {
				t.Fatalf("%s fails or skips on the correct device (failed %v, skipped %v):\n%s", c.check, good.Failed(), good.Skipped(), strings.Join(good.logs, "\n"))
			}
			bad := runCheck(t, c.check, withFlaws(c.cfg, c.flaws), true, c.strict)
			if !bad.Failed() {
				t.Fatalf("%s passes on a device with %+v:\n%s", c.check, c.flaws, strings.Join(bad.logs, "\n"))
			}
			if all := strings.Join(bad.logs, "\n"); !strings.Contains(all, c.want) {
				t.Errorf("%s failed, but no message mentions %q:\n%s", c.check, c.want, all)
			}
		})
	}
}

// TestSuiteRefusesBrokenGeometry: geometry the suite cannot work with stops
// it at once.
func TestSuiteRefusesBrokenGeometry(t *testing.T) {
	for _, c := range []struct {
		name string
		tgt  Target
		want string
	}{
		{"open fails", Target{Name: "x", Open: func(testing.TB) (dev.Device, error) { return nil, errors.New("no such device") }}, "no such device"},
		{"tiny", memTarget("tiny", memConfig{size: 8192, lbs: 512}, true, true), "too small"},
		{"zoned without zone methods", Target{Name: "z", Open: func(testing.TB) (dev.Device, error) {
			d, err := newMemStore("z", znsLike).open()
			return plainMem{d.(*memDevice)}, err
		}}, "does not implement dev.ZonedDevice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := runFake(t, func(tb testing.TB) { newSuite(tb, c.tgt) })
			if !f.Failed() {
				t.Fatalf("newSuite accepted it")
			}
			if all := strings.Join(f.logs, "\n"); !strings.Contains(all, c.want) {
				t.Errorf("no message mentions %q:\n%s", c.want, all)
			}
		})
	}
}

// TestFakeTB checks the harness itself: a failing check is seen as failed,
// Fatal stops it, a skip is a skip.
func TestFakeTB(t *testing.T) {
	reached := false
	f := runFake(t, func(tb testing.TB) {
		tb.Fatalf("boom")
		reached = true
	})
	if !f.Failed() || reached {
		t.Errorf("Fatalf: failed %v, continued %v", f.Failed(), reached)
	}
	f = runFake(t, func(tb testing.TB) { tb.Skipf("later") })
	if f.Failed() || !f.Skipped() {
		t.Errorf("Skipf: failed %v, skipped %v", f.Failed(), f.Skipped())
	}
	ran := false
	f = runFake(t, func(tb testing.TB) { tb.Cleanup(func() { ran = true }) })
	if f.Failed() || !ran {
		t.Errorf("Cleanup: failed %v, ran %v", f.Failed(), ran)
	}
}
