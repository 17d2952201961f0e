package devtest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

func checkGeometry(t testing.TB, s *suite) {
	h := s.open(t)
	defer h.close(t)
	g := h.Geometry()
	if err := g.Validate(); err != nil {
		t.Errorf("Geometry().Validate(): %v (geometry %+v)", err, g)
	}
	if g2 := h.Geometry(); g2 != g {
		t.Errorf("Geometry() changed between two calls: %+v then %+v", g, g2)
	}
	if !isPow2(g.LogicalBlockSize) || g.LogicalBlockSize < 512 {
		t.Errorf("logical block size %d is not a power of two >= 512", g.LogicalBlockSize)
	}
	if !isPow2(g.PhysicalBlockSize) || g.PhysicalBlockSize < g.LogicalBlockSize {
		t.Errorf("physical block size %d is not a power of two >= the logical block size %d", g.PhysicalBlockSize, g.LogicalBlockSize)
	}
	if g.OptimalIOSize < 0 {
		t.Errorf("optimal IO size %d is negative", g.OptimalIOSize)
	}
	if !isPow2(g.MemAlign) {
		t.Errorf("memory alignment %d is not a power of two", g.MemAlign)
	} else if g.MemAlign > dev.BufferAlign {
		t.Errorf("memory alignment %d exceeds dev.BufferAlign %d: dev.AlignedBuffer would not satisfy it", g.MemAlign, dev.BufferAlign)
	}
	if b := dev.AlignedBuffer(g.LogicalBlockSize); g.MemAlign > 0 && !dev.IsAligned(b, g.MemAlign) {
		t.Errorf("dev.AlignedBuffer(%d) is not aligned to MemAlign %d", g.LogicalBlockSize, g.MemAlign)
	}
	if h.Path() == "" {
		t.Errorf("Path() is empty; it names the device in messages")
	}
	switch g.Zoned {
	case dev.ZoneModelNone:
		if g.ZoneSize != 0 || g.NrZones != 0 || g.MaxOpenZones != 0 || g.MaxActiveZones != 0 || g.ZoneWriteGranularity != 0 {
			t.Errorf("conventional device with zone fields set: %+v", g)
		}
	case dev.ZoneModelHostAware, dev.ZoneModelHostManaged:
		if _, ok := dev.AsZoned(h.Device); !ok {
			t.Errorf("geometry says %s but %T does not implement dev.ZonedDevice", g.Zoned, h.Device)
		}
		if int64(g.NrZones)*g.ZoneSize != g.Size {
			t.Errorf("%d zones of %d bytes = %d bytes, device size %d: the zones must cover the device exactly",
				g.NrZones, g.ZoneSize, int64(g.NrZones)*g.ZoneSize, g.Size)
		}
		if g.MaxOpenZones < 0 || g.MaxActiveZones < 0 {
			t.Errorf("negative zone limits: max open %d, max active %d", g.MaxOpenZones, g.MaxActiveZones)
		}
		if g.MaxOpenZones > 0 && g.MaxActiveZones > 0 && g.MaxOpenZones > g.MaxActiveZones {
			t.Errorf("max open zones %d > max active zones %d: an open zone is active", g.MaxOpenZones, g.MaxActiveZones)
		}
		if g.ZoneWriteGranularity > 0 && g.ZoneSize%int64(g.ZoneWriteGranularity) != 0 {
			t.Errorf("zone size %d is not a multiple of the zone write granularity %d", g.ZoneSize, g.ZoneWriteGranularity)
		}
	default:
		t.Errorf("unknown zone model %s", g.Zoned)
	}
	t.Logf("%s: %+v", h.Path(), g)
}

func checkFresh(t testing.TB, s *suite) {
	for _, p := range s.fresh {
		t.Errorf("the first Open must create a zero-filled store: %s", p)
	}
}

func checkPatterns(t testing.TB, s *suite) {
	h := s.begin(t)
	defer h.close(t)
	lbs, u := s.lbs, s.u
	if lo, hi := s.randLo, s.randHi; hi > lo {
		type written struct {
			off  int64
			p    []byte
			what string
		}
		mid := lo + alignDown((hi-lo)/2, lbs) - lbs
		ws := []written{
			{lo, s.pattern(4 * u), "4 units at the start"},
			{mid, s.pattern(3 * lbs), "3 blocks across the middle"},
			{hi - 5*lbs, s.pattern(4 * lbs), "4 blocks before the last"},
			{hi - lbs, s.pattern(lbs), "the very last block"},
		}
		// A bigger write between the start and the middle.
		if room := mid - (lo + 4*u); room >= lbs {
			big := min(alignDown(1<<20, lbs), room)
			ws = append(ws, written{lo + 4*u, s.pattern(big), fmt.Sprintf("%d bytes after the start", big)})
		}
		for _, w := range ws {
			s.write(t, h, w.p, w.off, w.what)
		}
		for _, w := range ws {
			s.expect(t, h, w.off, w.p, w.what)
		}
		// Different splits than written: two blocks inside the first
		// write; the last five blocks in one read.
		s.expect(t, h, lo+lbs, ws[0].p[lbs:3*lbs], "2 blocks inside the first write")
		s.expect(t, h, hi-5*lbs, concat(ws[2].p, ws[3].p), "the last 5 blocks in one read")
		// Overwrite one block in the middle of the first write.
		ow := s.pattern(lbs)
		s.write(t, h, ow, lo+3*lbs, "overwriting the 4th block")
		want := concat(ws[0].p)
		copy(want[3*lbs:], ow)
		s.expect(t, h, lo, want, "the first write after overwriting its 4th block")
	}
	if !s.zoned {
		return
	}
	if len(s.seq) == 0 {
		t.Logf("no sequential-write-required zones")
		return
	}
	last := s.seq[len(s.seq)-1]
	fill := last.Capacity <= maxCapacityWrite
	for _, z := range s.pick3(s.seq) {
		if z.Capacity < 2*u {
			t.Logf("%v: capacity below 2 write units, not written", z)
			continue
		}
		s.resetZone(t, h, z.Start)
		p1 := s.pattern(2 * u)
		s.write(t, h, p1, z.Start, fmt.Sprintf("at the write pointer of %v", z))
		data := p1
		if z.Capacity >= 3*u {
			p2 := s.pattern(u)
			s.write(t, h, p2, z.Start+2*u, fmt.Sprintf("at the write pointer of %v", z))
			data = concat(p1, p2)
		}
		s.expect(t, h, z.Start, data, fmt.Sprintf("sequential writes to %v", z))
		s.expect(t, h, z.Start+u, data[u:2*u], fmt.Sprintf("the second unit of %v", z))
		if wp := z.Start + int64(len(data)); wp < z.Start+z.Capacity {
			s.wantZone(t, h, z.Start, dev.ZoneCondImpOpen, wp, "after writing")
		} else {
			s.wantZone(t, h, z.Start, dev.ZoneCondFull, -1, "after writing up to the capacity")
		}
		if z.Start != last.Start || !fill {
			// Release the zone's active resource for the next one.
			s.resetZone(t, h, z.Start)
			continue
		}
		// The last zone: fill it to reach the device's last block.
		cur := s.zone(t, h, z.Start)
		if cur.Cond == dev.ZoneCondFull {
			continue
		}
		lastUnit := s.fillZone(t, h, z, cur.WritePointer, z.Start+z.Capacity)
		s.wantZone(t, h, z.Start, dev.ZoneCondFull, -1, "after writing up to the capacity")
		s.expect(t, h, z.Start+z.Capacity-u, lastUnit, "the last writable unit of the last zone")
		s.expect(t, h, z.Start, data, "the first units of the last zone after filling it")
		if z.Start+z.Capacity == s.g.Size {
			t.Logf("wrote and read back the device's last block")
		}
	}
	if !fill {
		t.Logf("last zone capacity %d > %d: not filled", last.Capacity, maxCapacityWrite)
	}
}

func checkMisaligned(t testing.TB, s *suite) {
	h := s.begin(t)
	defer h.close(t)
	lbs, u := s.lbs, s.u
	offs, zones := s.spots(t, h, 4*u)
	i := len(offs) / 2
	off, z := offs[i], zones[i]
	p := s.pattern(2 * u)
	s.write(t, h, p, off, "the data the misaligned requests must not touch")
	// at is where the attempts are aimed: at the data in the random-IO
	// area, at the write pointer in a sequential zone.
	at := off
	if z != nil {
		at = off + 2*u
	}
	q := s.pattern(2 * u)

	badOffs := []int64{1, lbs / 2}
	if lbs > 512 {
		badOffs = append(badOffs, 512)
	}
	for _, d := range badOffs {
		n, err := h.WriteAt(q, at+d)
		wantIOErr(t, n, err, fmt.Sprintf("WriteAt at misaligned offset %d", at+d), dev.ErrMisaligned)
		buf := sentinel(2 * u)
		n, err = h.ReadAt(buf, off+d)
		wantIOErr(t, n, err, fmt.Sprintf("ReadAt at misaligned offset %d", off+d), dev.ErrMisaligned)
		if !untouched(buf) {
			t.Errorf("ReadAt at misaligned offset %d wrote into the buffer", off+d)
		}
	}
	badLens := []int64{1, lbs / 2, lbs + lbs/2, 2*u - 1}
	if lbs > 512 {
		badLens = append(badLens, 512)
	}
	for _, l := range badLens {
		n, err := h.WriteAt(q[:l], at)
		wantIOErr(t, n, err, fmt.Sprintf("WriteAt of misaligned length %d", l), dev.ErrMisaligned)
		buf := sentinel(l)
		n, err = h.ReadAt(buf, off)
		wantIOErr(t, n, err, fmt.Sprintf("ReadAt of misaligned length %d", l), dev.ErrMisaligned)
		if !untouched(buf) {
			t.Errorf("ReadAt of misaligned length %d wrote into the buffer", l)
		}
	}
	if s.g.MemAlign > 1 {
		raw := dev.AlignedBuffer(int(2*u) + dev.BufferAlign)
		mq := raw[1 : 1+2*u]
		copy(mq, q)
		if dev.IsAligned(mq, s.g.MemAlign) {
			t.Fatalf("test bug: buffer at +1 is aligned to %d", s.g.MemAlign)
		}
		n, err := h.WriteAt(mq, at)
		wantIOErr(t, n, err, "WriteAt from a misaligned buffer", dev.ErrMisaligned)
		for i := range mq {
			mq[i] = 0xA5
		}
		n, err = h.ReadAt(mq, off)
		wantIOErr(t, n, err, "ReadAt into a misaligned buffer", dev.ErrMisaligned)
		if !untouched(mq) {
			t.Errorf("ReadAt into a misaligned buffer wrote into it")
		}
	} else {
		t.Logf("MemAlign is 1: no misaligned buffer exists")
	}
	// Nothing moved.
	s.expect(t, h, off, p, "the data after the misaligned requests")
	if z != nil {
		s.wantWP(t, h, z.Start, at, "after the misaligned writes")
	}
	// The device still takes a proper request there.
	s.write(t, h, q, at, "an aligned write after the misaligned ones")
	s.expect(t, h, at, q, "the aligned write after the misaligned ones")
}

func checkOutOfRange(t testing.TB, s *suite) {
	h := s.begin(t)
	defer h.close(t)
	size, lbs := s.g.Size, s.lbs
	var last []byte
	if s.randHi == size {
		last = s.pattern(lbs)
		s.write(t, h, last, size-lbs, "the last block")
	}
	cases := []struct {
		off, n int64
	}{
		{size, lbs},
		{size, s.u},
		{size - lbs, 2 * lbs},
		{size - lbs, s.u + lbs},
		{size + 64*lbs, lbs},
		{s.hugeOffset(), lbs},
		{s.hugeOffset() - 4*lbs, 8 * lbs},
	}
	for _, c := range cases {
		buf := sentinel(c.n)
		n, err := h.ReadAt(buf, c.off)
		wantIOErr(t, n, err, fmt.Sprintf("ReadAt(%d bytes, %d) on a %d-byte device", c.n, c.off, size), dev.ErrOutOfRange)
		if !untouched(buf) {
			t.Errorf("ReadAt(%d bytes, %d) past the end wrote into the buffer", c.n, c.off)
		}
		n, err = h.WriteAt(s.pattern(c.n), c.off)
		wantIOErr(t, n, err, fmt.Sprintf("WriteAt(%d bytes, %d) on a %d-byte device", c.n, c.off, size), dev.ErrOutOfRange)
	}
	for _, off := range []int64{-lbs, -size} {
		n, err := h.ReadAt(sentinel(lbs), off)
		wantIOErr(t, n, err, fmt.Sprintf("ReadAt at negative offset %d", off), dev.ErrMisaligned, dev.ErrOutOfRange)
		n, err = h.WriteAt(s.pattern(lbs), off)
		wantIOErr(t, n, err, fmt.Sprintf("WriteAt at negative offset %d", off), dev.ErrMisaligned, dev.ErrOutOfRange)
	}
	if last != nil {
		s.expect(t, h, size-lbs, last, "the last block after writes past the end")
	} else if z := s.layout[len(s.layout)-1]; z.Type == dev.ZoneTypeSeqWriteRequired {
		s.wantZone(t, h, z.Start, dev.ZoneCondEmpty, z.Start, "the last zone after writes past the end")
	}
}

func checkZeroLength(t testing.TB, s *suite) {
	h := s.begin(t)
	defer h.close(t)
	size, lbs := s.g.Size, s.lbs
	empty := dev.AlignedBuffer(int(lbs))[:0]
	for _, off := range []int64{0, alignDown(size/2, lbs), size - lbs, size} {
		for _, b := range [][]byte{nil, empty} {
			if n, err := h.ReadAt(b, off); n != 0 || err != nil {
				t.Errorf("zero-length ReadAt at %d = %d, %v; want 0, nil", off, n, err)
			}
		}
	}
	offs, zones := s.spots(t, h, 2*s.u)
	for i, off := range offs {
		p := s.pattern(s.u)
		s.write(t, h, p, off, "data before zero-length writes")
		at := []int64{off, off + lbs}
		if zones[i] != nil {
			at = []int64{off + s.u} // only at the write pointer
		}
		for _, a := range at {
			for _, b := range [][]byte{nil, empty} {
				if n, err := h.WriteAt(b, a); n != 0 || err != nil {
					t.Errorf("zero-length WriteAt at %d = %d, %v; want 0, nil", a, n, err)
				}
			}
		}
		s.expect(t, h, off, p, "data after zero-length writes")
		if z := zones[i]; z != nil {
			s.wantWP(t, h, z.Start, off+s.u, "after zero-length writes")
		}
	}
}

func checkFlush(t testing.TB, s *suite) {
	h := s.begin(t)
	defer h.close(t)
	if err := h.Flush(); err != nil {
		t.Errorf("Flush with nothing written: %v", err)
	}
	offs, _ := s.spots(t, h, 2*s.u)
	p := s.pattern(2 * s.u)
	s.write(t, h, p, offs[0], "before Flush")
	if err := h.Flush(); err != nil {
		t.Errorf("Flush after a write: %v", err)
	}
	s.expect(t, h, offs[0], p, "after Flush")
	s.read(t, h, s.lbs, offs[0], "a read before Flush")
	if err := h.Flush(); err != nil {
		t.Errorf("Flush after only a read: %v", err)
	}
}

func checkPersistence(t testing.TB, s *suite) {
	h := s.begin(t)
	offs, zones := s.spots(t, h, 2*s.u)
	ps := make([][]byte, len(offs))
	for i, off := range offs {
		ps[i] = s.pattern(2 * s.u)
		s.write(t, h, ps[i], off, "before Flush and Close")
	}
	if err := h.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	h.close(t)
	h = s.open(t)
	defer h.close(t)
	for i, off := range offs {
		s.expect(t, h, off, ps[i], "after Flush, Close and Open")
		if z := zones[i]; z != nil {
			if got := s.zone(t, h, z.Start); got.WritePointer != off+2*s.u || !got.Cond.IsActive() {
				t.Errorf("after Flush, Close and Open: %v; want an active zone with the write pointer at %d", got, off+2*s.u)
			}
		}
	}
}

func checkDiscard(t testing.TB, s *suite) {
	h := s.begin(t)
	defer h.close(t)
	size, lbs := s.g.Size, s.lbs
	wantErr(t, h.Discard(size-lbs, 2*lbs), "Discard across the device end", dev.ErrOutOfRange)
	wantErr(t, h.Discard(size, lbs), "Discard past the device end", dev.ErrOutOfRange)
	wantErr(t, h.Discard(s.hugeOffset(), 2*lbs), "Discard at a huge offset", dev.ErrOutOfRange)
	if s.randHi <= s.randLo {
		if len(s.seq) > 0 {
			z := s.seq[0]
			wantErr(t, h.Discard(z.Start+1, lbs), "Discard at a misaligned offset", dev.ErrMisaligned)
			wantErr(t, h.Discard(z.Start, lbs+1), "Discard of a misaligned length", dev.ErrMisaligned)
		}
		t.Logf("no conventional zones: only the failure paths of Discard are checked")
		return
	}
	offs, _ := s.spots(t, h, 4*lbs)
	off := offs[1]
	p := s.pattern(4 * lbs)
	s.write(t, h, p, off, "the data to discard")
	wantErr(t, h.Discard(off+1, lbs), "Discard at a misaligned offset", dev.ErrMisaligned)
	wantErr(t, h.Discard(off+lbs/2, lbs), "Discard at a misaligned offset", dev.ErrMisaligned)
	wantErr(t, h.Discard(off, lbs+1), "Discard of a misaligned length", dev.ErrMisaligned)
	wantErr(t, h.Discard(off, lbs/2), "Discard of a misaligned length", dev.ErrMisaligned)
	s.expect(t, h, off, p, "the data after the misaligned Discards")
	if err := h.Discard(off+lbs, 2*lbs); err != nil {
		if !s.zoned || s.tgt.StrictErrors {
			t.Errorf("Discard(%d, %d): %v", off+lbs, 2*lbs, err)
		} else {
			t.Logf("Discard in a conventional zone of a zoned drive failed (drives need not support it): %v", err)
		}
	}
	// The neighbours are intact; the discarded blocks read as anything.
	s.expect(t, h, off, p[:lbs], "the block before the discarded range")
	s.expect(t, h, off+3*lbs, p[3*lbs:], "the block after the discarded range")
	s.read(t, h, 2*lbs, off+lbs, "the discarded range")
	q := s.pattern(2 * lbs)
	s.write(t, h, q, off+lbs, "rewriting the discarded range")
	s.expect(t, h, off, concat(p[:lbs], q, p[3*lbs:]), "the rewritten discarded range")
}

func checkClosed(t testing.TB, s *suite) {
	h := s.begin(t)
	offs, _ := s.spots(t, h, s.u)
	s.write(t, h, s.pattern(s.u), offs[0], "before Close")
	h.close(t)
	buf := dev.AlignedBuffer(int(s.u))
	n, err := h.ReadAt(buf, offs[0])
	wantIOErr(t, n, err, "ReadAt after Close", dev.ErrClosed)
	n, err = h.WriteAt(buf, offs[0])
	wantIOErr(t, n, err, "WriteAt after Close", dev.ErrClosed)
	n, err = h.ReadAt(nil, offs[0])
	wantIOErr(t, n, err, "zero-length ReadAt after Close", dev.ErrClosed)
	wantErr(t, h.Flush(), "Flush after Close", dev.ErrClosed)
	wantErr(t, h.Discard(offs[0], s.lbs), "Discard after Close", dev.ErrClosed)
	if s.zoned {
		zs, err := h.z.ReportZones(0, 0)
		wantErr(t, err, "ReportZones after Close", dev.ErrClosed)
		if len(zs) != 0 {
			t.Errorf("ReportZones after Close returned %d zones", len(zs))
		}
		start := int64(0)
		if len(s.seq) > 0 {
			start = s.seq[0].Start
		}
		wantErr(t, h.z.ResetZone(start), "ResetZone after Close", dev.ErrClosed)
		wantErr(t, h.z.OpenZone(start), "OpenZone after Close", dev.ErrClosed)
		wantErr(t, h.z.CloseZone(start), "CloseZone after Close", dev.ErrClosed)
		wantErr(t, h.z.FinishZone(start), "FinishZone after Close", dev.ErrClosed)
	}
	err = safeClose(h.Device)
	if err != nil && strings.Contains(err.Error(), "panicked") {
		t.Errorf("second Close: %v", err)
	} else {
		t.Logf("second Close: %v", err)
	}
	// The store can be opened again.
	h2 := s.open(t)
	h2.close(t)
}

func checkExclusive(t testing.TB, s *suite) {
	if !s.tgt.Exclusive {
		t.Skipf("target %s is not exclusive", s.tgt.Name)
	}
	h := s.begin(t)
	d2, err := s.tgt.Open(t)
	if err == nil {
		_ = safeClose(d2)
		h.close(t)
		t.Fatalf("second Open while %s is open succeeded; want dev.ErrBusy", h.Path())
	}
	wantErr(t, err, "second Open while the device is open", dev.ErrBusy)
	var be *dev.BusyError
	switch {
	case !errors.As(err, &be):
		t.Errorf("second Open: error %q is not a *dev.BusyError: it must say who holds the device or that the kernel does not say", err)
	case be.Holder != "" && !strings.Contains(err.Error(), be.Holder):
		t.Errorf("second Open: error %q does not name the holder %q", err, be.Holder)
	case be.Holder == "" && !strings.Contains(err.Error(), "does not say"):
		t.Errorf("second Open: error %q neither names the holder nor says the kernel does not say", err)
	default:
		t.Logf("second Open: %v", err)
	}
	// The first owner is unaffected.
	offs, _ := s.spots(t, h, s.u)
	p := s.pattern(s.u)
	s.write(t, h, p, offs[0], "by the first owner after the refused Open")
	s.expect(t, h, offs[0], p, "by the first owner after the refused Open")
	if err := h.Flush(); err != nil {
		t.Errorf("Flush: %v", err)
	}
	h.close(t)
	// After Close the device can be opened again.
	h2 := s.open(t)
	defer h2.close(t)
	s.expect(t, h2, offs[0], p, "after Close and a new Open")
}

func checkConcurrent(t testing.TB, s *suite) {
	h := s.begin(t)
	defer h.close(t)
	const rounds = 16
	type region struct {
		off, n int64 // each round writes n bytes at off (random area) or appends n bytes (zone)
		zone   *dev.Zone
		last   []byte // what the region holds at the end
	}
	var regs []*region
	workers := 8
	if lo, hi := s.randLo, s.randHi; hi > lo {
		per := alignDown((hi-lo)/int64(workers), s.lbs)
		if per < s.u {
			workers, per = int((hi-lo)/s.u), s.u
		}
		n := alignDown(min(per, 16*s.u), s.u)
		for i := range workers {
			regs = append(regs, &region{off: lo + int64(i)*per, n: n})
		}
	} else {
		if s.g.MaxOpenZones > 0 {
			workers = min(workers, s.g.MaxOpenZones)
		}
		if s.g.MaxActiveZones > 0 {
			workers = min(workers, s.g.MaxActiveZones)
		}
		workers = min(workers, len(s.seq))
		if workers == 0 {
			t.Skipf("no zone to write concurrently")
		}
		stride := len(s.seq) / workers
		for i := range workers {
			z := s.seq[i*stride]
			if z.Capacity < 2*s.u {
				t.Skipf("zone capacity %d too small", z.Capacity)
			}
			regs = append(regs, &region{off: z.Start, n: s.u, zone: &z})
		}
	}
	var wg sync.WaitGroup
	for i, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var all []byte
			for round := range rounds {
				off := r.off
				if r.zone != nil {
					off = r.zone.Start + int64(round)*r.n
					if off+r.n > r.zone.Start+r.zone.Capacity {
						break
					}
				}
				p := s.pattern(r.n)
				if n, err := h.WriteAt(p, off); err != nil || n != len(p) {
					t.Errorf("worker %d round %d: WriteAt(%d bytes, %d) = %d, %v", i, round, len(p), off, n, err)
					return
				}
				got := dev.AlignedBuffer(int(r.n))
				if n, err := h.ReadAt(got, off); err != nil || n != len(got) {
					t.Errorf("worker %d round %d: ReadAt(%d bytes, %d) = %d, %v", i, round, len(got), off, n, err)
					return
				}
				if !same(t, got, p, off, fmt.Sprintf("worker %d round %d", i, round)) {
					return
				}
				if r.zone != nil {
					all = append(all, p...)
				} else {
					all = p
				}
			}
			r.last = all
		}()
	}
	wg.Wait()
	for i, r := range regs {
		if r.last == nil {
			continue // the worker failed and said so
		}
		s.expect(t, h, r.off, concat(r.last), fmt.Sprintf("region of worker %d after all workers finished", i))
		if r.zone != nil && int64(len(r.last)) < r.zone.Capacity {
			s.wantWP(t, h, r.zone.Start, r.zone.Start+int64(len(r.last)), fmt.Sprintf("zone of worker %d", i))
		}
	}
}
