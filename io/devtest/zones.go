package devtest

import (
	"fmt"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// validateReport checks a full zone report against the geometry.
func (s *suite) validateReport(t testing.TB, zs []dev.Zone, what string) {
	t.Helper()
	g := s.g
	errs := 0
	errorf := func(format string, args ...any) {
		t.Helper()
		if errs++; errs <= 10 {
			t.Errorf(what+": "+format, args...)
		}
	}
	if len(zs) != g.NrZones {
		errorf("%d zones; the geometry says %d", len(zs), g.NrZones)
	}
	seenSeq := false
	for i, z := range zs {
		if z.Start != g.ZoneStart(i) {
			errorf("zone %d starts at %d, want %d (zones are contiguous): %v", i, z.Start, g.ZoneStart(i), z)
		}
		if z.Len != g.ZoneSize {
			errorf("zone %d: length %d, want the zone size %d: %v", i, z.Len, g.ZoneSize, z)
		}
		if z.Capacity <= 0 || z.Capacity > z.Len || z.Capacity%s.lbs != 0 {
			errorf("zone %d: capacity %d not a positive multiple of %d at most its length: %v", i, z.Capacity, s.lbs, z)
		}
		switch z.Type {
		case dev.ZoneTypeConventional:
			if seenSeq {
				errorf("zone %d is conventional after a sequential zone; conventional zones come first: %v", i, z)
			}
			if z.Cond != dev.ZoneCondNotWP {
				errorf("conventional zone %d has condition %s, want %s: %v", i, z.Cond, dev.ZoneCondNotWP, z)
			}
		case dev.ZoneTypeSeqWriteRequired, dev.ZoneTypeSeqWritePreferred:
			seenSeq = true
			switch z.Cond {
			case dev.ZoneCondEmpty:
				if z.WritePointer != z.Start {
					errorf("empty zone %d has its write pointer at %d, not its start: %v", i, z.WritePointer, z)
				}
			case dev.ZoneCondImpOpen, dev.ZoneCondExpOpen, dev.ZoneCondClosed:
				if z.WritePointer < z.Start || z.WritePointer > z.Start+z.Capacity || (z.WritePointer-z.Start)%s.lbs != 0 {
					errorf("zone %d: write pointer %d outside [start, start+capacity] or misaligned: %v", i, z.WritePointer, z)
				}
			case dev.ZoneCondFull, dev.ZoneCondReadOnly, dev.ZoneCondOffline:
				// The write pointer is undefined.
			default:
				errorf("zone %d: invalid condition %s for a sequential zone: %v", i, z.Cond, z)
			}
		default:
			errorf("zone %d: invalid type %s: %v", i, z.Type, z)
		}
	}
	if n := len(zs); n > 0 && zs[n-1].Start+zs[n-1].Len != g.Size {
		errorf("the zones end at %d, the device at %d", zs[n-1].Start+zs[n-1].Len, g.Size)
	}
	open, active := openCounts(zs)
	if g.MaxOpenZones > 0 && open > g.MaxOpenZones {
		errorf("%d open zones, the limit is %d", open, g.MaxOpenZones)
	}
	if g.MaxActiveZones > 0 && active > g.MaxActiveZones {
		errorf("%d active zones, the limit is %d", active, g.MaxActiveZones)
	}
	if errs > 10 {
		t.Errorf("%s: ... and %d more problems", what, errs-10)
	}
}

func sameZones(a, b []dev.Zone) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkReport(t testing.TB, s *suite) {
	h := s.begin(t)
	defer h.close(t)
	zs, err := h.z.ReportZones(0, 0)
	if err != nil {
		t.Fatalf("ReportZones(0, 0): %v", err)
	}
	s.validateReport(t, zs, "ReportZones(0, 0) with every zone reset")
	if all, err := h.z.ReportZones(0, -1); err != nil || !sameZones(all, zs) {
		t.Errorf("ReportZones(0, -1) = %d zones, %v; want the same as ReportZones(0, 0) (%d zones)", len(all), err, len(zs))
	}
	if one, err := h.z.ReportZones(0, 1); err != nil || len(one) != 1 || one[0] != zs[0] {
		t.Errorf("ReportZones(0, 1) = %v, %v; want [%v]", one, err, zs[0])
	}
	if g := s.g; len(s.seq) < 3 || (g.MaxActiveZones > 0 && g.MaxActiveZones < 2) || s.seq[0].Capacity < 2*s.u {
		t.Logf("not checking a report with open, closed and full zones (too few zones or resources)")
		return
	}
	a, b, c := s.seq[0], s.seq[1], s.seq[2]
	s.write(t, h, s.pattern(s.u), b.Start, "into the zone to close")
	if err := h.z.CloseZone(b.Start); err != nil {
		t.Fatalf("CloseZone(%d): %v", b.Start, err)
	}
	if err := h.z.FinishZone(c.Start); err != nil {
		t.Fatalf("FinishZone(%d): %v", c.Start, err)
	}
	s.write(t, h, s.pattern(s.u), a.Start, "into the zone to leave open")
	zs, err = h.z.ReportZones(0, 0)
	if err != nil {
		t.Fatalf("ReportZones(0, 0): %v", err)
	}
	s.validateReport(t, zs, "ReportZones(0, 0) with open, closed and full zones")
	for _, w := range []struct {
		z    dev.Zone
		cond dev.ZoneCond
		wp   int64
	}{
		{a, dev.ZoneCondImpOpen, a.Start + s.u},
		{b, dev.ZoneCondClosed, b.Start + s.u},
		{c, dev.ZoneCondFull, -1},
	} {
		i := s.g.ZoneIndex(w.z.Start)
		if i >= len(zs) {
			continue
		}
		if got := zs[i]; got.Cond != w.cond || (w.wp >= 0 && got.WritePointer != w.wp) {
			t.Errorf("report shows %v; want %s with the write pointer at %d", got, w.cond, w.wp)
		}
	}
}

func checkReportPartial(t testing.TB, s *suite) {
	h := s.begin(t)
	defer h.close(t)
	all, err := h.z.ReportZones(0, 0)
	if err != nil {
		t.Fatalf("ReportZones(0, 0): %v", err)
	}
	if len(all) == 0 {
		t.Fatalf("ReportZones(0, 0) returned no zones")
	}
	k := len(all) / 2
	mid := all[k].Start + alignDown(all[k].Len/2, s.lbs)
	cases := []struct {
		off  int64
		max  int
		want []dev.Zone
	}{
		{mid, 2, all[k:min(k+2, len(all))]},
		{mid, 1, all[k : k+1]},
		{mid, 0, all[k:]},
		{all[k].Start, 1, all[k : k+1]},
		{mid, len(all) + 10, all[k:]},
		{s.g.Size - s.lbs, 0, all[len(all)-1:]},
		{all[len(all)-1].Start + s.lbs, 5, all[len(all)-1:]},
	}
	for _, c := range cases {
		got, err := h.z.ReportZones(c.off, c.max)
		if err != nil {
			t.Errorf("ReportZones(%d, %d): %v", c.off, c.max, err)
			continue
		}
		if !sameZones(got, c.want) {
			t.Errorf("ReportZones(%d, %d) = %d zones %v; want %d zones starting with %v", c.off, c.max, len(got), head(got), len(c.want), head(c.want))
		}
	}
	// Past the end: nothing (the kernel) or an error.
	if got, err := h.z.ReportZones(s.g.Size, 0); err == nil && len(got) != 0 {
		t.Errorf("ReportZones(%d, 0) at the device end = %v; want no zones or an error", s.g.Size, head(got))
	}
}

func head(zs []dev.Zone) []dev.Zone { return zs[:min(len(zs), 3)] }

func checkWriteAdvances(t testing.TB, s *suite) {
	s.needSeq(t, 1)
	h := s.begin(t)
	defer h.close(t)
	z := s.seq[0]
	if z.Capacity < 2*s.u {
		t.Skipf("zone capacity %d below two write units", z.Capacity)
	}
	wp := z.Start
	var data []byte
	for _, n := range []int64{s.u, 3 * s.u, 2 * s.u, s.u} {
		if wp+n > z.Start+z.Capacity {
			break
		}
		p := s.pattern(n)
		s.write(t, h, p, wp, fmt.Sprintf("%d bytes at the write pointer", n))
		wp += n
		data = concat(data, p)
		if wp == z.Start+z.Capacity {
			s.wantZone(t, h, z.Start, dev.ZoneCondFull, -1, "after writing up to the capacity")
		} else {
			s.wantZone(t, h, z.Start, dev.ZoneCondImpOpen, wp, fmt.Sprintf("after writing %d bytes at the write pointer", n))
		}
	}
	s.expect(t, h, z.Start, data, "the sequential writes")
}

func checkWriteNotAtWP(t testing.TB, s *suite) {
	s.needSeq(t, 1)
	h := s.begin(t)
	defer h.close(t)
	u := s.u
	z := s.seq[len(s.seq)/2]
	if z.Capacity < 4*u {
		t.Skipf("zone capacity %d below four write units", z.Capacity)
	}
	n, err := h.WriteAt(s.pattern(u), z.Start+u)
	s.wantZoneErr(t, err, "WriteAt ahead of the write pointer of an empty zone", dev.ErrNotAtWritePointer)
	if err != nil && n != 0 {
		t.Errorf("rejected write returned n = %d", n)
	}
	s.wantZone(t, h, z.Start, dev.ZoneCondEmpty, z.Start, "after a write ahead of the write pointer")

	p := s.pattern(u)
	s.write(t, h, p, z.Start, "at the write pointer")
	wp := z.Start + u
	for _, c := range []struct {
		off, n int64
		what   string
	}{
		{wp + u, u, "WriteAt one unit ahead of the write pointer"},
		{wp + 2*u, 2 * u, "WriteAt two units ahead of the write pointer"},
		{z.Start, u, "WriteAt behind the write pointer (rewriting the zone start)"},
		{z.Start, 2 * u, "WriteAt across the write pointer from the zone start"},
		{wp - s.lbs, u, "WriteAt one block behind the write pointer"},
	} {
		n, err := h.WriteAt(s.pattern(c.n), c.off)
		s.wantZoneErr(t, err, c.what, dev.ErrNotAtWritePointer)
		if err != nil && n != 0 {
			t.Errorf("%s: returned n = %d", c.what, n)
		}
		s.wantWP(t, h, z.Start, wp, c.what)
	}
	s.expect(t, h, z.Start, p, "the data before the write pointer after the rejected writes")
	q := s.pattern(u)
	s.write(t, h, q, wp, "at the write pointer after the rejected writes")
	s.expect(t, h, z.Start, concat(p, q), "the zone after the rejected writes")
	s.wantZone(t, h, z.Start, dev.ZoneCondImpOpen, wp+u, "after writing at the write pointer")
}

func checkFillToCapacity(t testing.TB, s *suite) {
	s.needSeq(t, 1)
	h := s.begin(t)
	defer h.close(t)
	u := s.u
	z := s.seq[len(s.seq)-1]
	if z.Capacity > maxCapacityWrite {
		t.Skipf("zone capacity %d > %d: not filling a zone", z.Capacity, maxCapacityWrite)
	}
	if z.Capacity < 2*u {
		t.Skipf("zone capacity %d below two write units", z.Capacity)
	}
	end := z.Start + z.Capacity
	first := s.pattern(u)
	s.write(t, h, first, z.Start, "the first unit")
	s.fillZone(t, h, z, z.Start+u, end-u)
	wp := end - u
	s.wantZone(t, h, z.Start, dev.ZoneCondImpOpen, wp, "one unit below the capacity")

	n, err := h.WriteAt(s.pattern(2*u), wp)
	s.wantZoneErr(t, err, "WriteAt across the zone capacity", dev.ErrZoneFull, dev.ErrOutOfRange)
	if err != nil && n != 0 {
		t.Errorf("WriteAt across the zone capacity returned n = %d", n)
	}
	s.wantWP(t, h, z.Start, wp, "after a write across the capacity")
	if z.Capacity < z.Len {
		_, err := h.WriteAt(s.pattern(u), end)
		s.wantZoneErr(t, err, "WriteAt between the capacity and the zone end", dev.ErrZoneFull, dev.ErrNotAtWritePointer, dev.ErrOutOfRange)
		s.wantWP(t, h, z.Start, wp, "after a write beyond the capacity")
	}
	last := s.pattern(u)
	s.write(t, h, last, wp, "the last unit below the capacity")
	s.wantZone(t, h, z.Start, dev.ZoneCondFull, -1, "after writing up to the capacity")

	for _, off := range []int64{z.Start, end - u, end} {
		if off >= z.Start+z.Len {
			continue
		}
		n, err := h.WriteAt(s.pattern(u), off)
		s.wantZoneErr(t, err, fmt.Sprintf("WriteAt at %d into a full zone", off), dev.ErrZoneFull)
		if err != nil && n != 0 {
			t.Errorf("WriteAt into a full zone returned n = %d", n)
		}
	}
	s.wantZone(t, h, z.Start, dev.ZoneCondFull, -1, "after writes into the full zone")
	s.expect(t, h, z.Start, first, "the first unit of the full zone")
	s.expect(t, h, end-u, last, "the last unit of the full zone")
	if end == s.g.Size {
		t.Logf("wrote and read back the device's last block")
	}
}

func checkReset(t testing.TB, s *suite) {
	s.needSeq(t, 1)
	h := s.begin(t)
	defer h.close(t)
	u := s.u
	z := s.seq[min(1, len(s.seq)-1)]
	if z.Capacity < 3*u {
		t.Skipf("zone capacity %d below three write units", z.Capacity)
	}
	p := s.pattern(2 * u)
	s.write(t, h, p, z.Start, "before ResetZone")
	if err := h.z.ResetZone(z.Start); err != nil {
		t.Fatalf("ResetZone(%d) of a zone holding data: %v", z.Start, err)
	}
	s.wantZone(t, h, z.Start, dev.ZoneCondEmpty, z.Start, "after ResetZone")
	if s.tgt.StrictErrors {
		s.expectZeros(t, h, z.Start, 2*u, "the old data after ResetZone")
	}
	if err := h.z.ResetZone(z.Start); err != nil {
		t.Errorf("ResetZone(%d) of an empty zone: %v", z.Start, err)
	}
	s.wantZone(t, h, z.Start, dev.ZoneCondEmpty, z.Start, "after resetting an empty zone")

	q := s.pattern(u)
	s.write(t, h, q, z.Start, "at the zone start after ResetZone")
	s.expect(t, h, z.Start, q, "the new data after ResetZone")
	s.wantZone(t, h, z.Start, dev.ZoneCondImpOpen, z.Start+u, "after writing the reset zone")

	wantErr(t, h.z.ResetZone(z.Start+s.lbs), "ResetZone inside a zone, not at its start")
	s.wantZone(t, h, z.Start, dev.ZoneCondImpOpen, z.Start+u, "after ResetZone inside the zone")
	s.expect(t, h, z.Start, q, "the data after ResetZone inside the zone")
	s.wantZoneErr(t, h.z.ResetZone(s.g.Size), "ResetZone at the device end", dev.ErrOutOfRange)

	if err := h.z.FinishZone(z.Start); err != nil {
		t.Fatalf("FinishZone(%d): %v", z.Start, err)
	}
	if err := h.z.ResetZone(z.Start); err != nil {
		t.Errorf("ResetZone(%d) of a full zone: %v", z.Start, err)
	}
	s.wantZone(t, h, z.Start, dev.ZoneCondEmpty, z.Start, "after resetting a full zone")
}

func checkOpenCloseFinish(t testing.TB, s *suite) {
	s.needSeq(t, 1)
	h := s.begin(t)
	defer h.close(t)
	u := s.u
	z := s.seq[0]
	if z.Capacity < 3*u {
		t.Skipf("zone capacity %d below three write units", z.Capacity)
	}
	do := func(op string, fn func(int64) error, off int64) {
		t.Helper()
		if err := fn(off); err != nil {
			t.Fatalf("%s(%d): %v", op, off, err)
		}
	}
	do("OpenZone", h.z.OpenZone, z.Start)
	s.wantZone(t, h, z.Start, dev.ZoneCondExpOpen, z.Start, "after OpenZone of an empty zone")
	do("OpenZone", h.z.OpenZone, z.Start)
	s.wantZone(t, h, z.Start, dev.ZoneCondExpOpen, z.Start, "after OpenZone of an open zone")
	do("CloseZone", h.z.CloseZone, z.Start)
	if got := s.zone(t, h, z.Start); got.WritePointer != z.Start ||
		!(got.Cond == dev.ZoneCondEmpty || (!s.tgt.StrictErrors && got.Cond == dev.ZoneCondClosed)) {
		// ZBC and null_blk make it EMPTY; a ZNS drive may leave it CLOSED.
		t.Errorf("after CloseZone of an open zone holding nothing: %v; want empty with the write pointer at %d", got, z.Start)
	}

	do("OpenZone", h.z.OpenZone, z.Start)
	p := s.pattern(u)
	s.write(t, h, p, z.Start, "into an explicitly open zone")
	s.wantZone(t, h, z.Start, dev.ZoneCondExpOpen, z.Start+u, "after writing an explicitly open zone")
	for _, op := range []struct {
		name string
		fn   func(int64) error
	}{
		{"OpenZone", h.z.OpenZone}, {"CloseZone", h.z.CloseZone}, {"FinishZone", h.z.FinishZone}, {"ResetZone", h.z.ResetZone},
	} {
		wantErr(t, op.fn(z.Start+s.lbs), fmt.Sprintf("%s inside a zone, not at its start", op.name))
		s.wantZone(t, h, z.Start, dev.ZoneCondExpOpen, z.Start+u, fmt.Sprintf("after %s inside the zone", op.name))
	}
	do("CloseZone", h.z.CloseZone, z.Start)
	s.wantZone(t, h, z.Start, dev.ZoneCondClosed, z.Start+u, "after CloseZone of a zone holding data")

	q := s.pattern(u)
	s.write(t, h, q, z.Start+u, "into a closed zone")
	s.wantZone(t, h, z.Start, dev.ZoneCondImpOpen, z.Start+2*u, "after writing a closed zone")

	do("FinishZone", h.z.FinishZone, z.Start)
	s.wantZone(t, h, z.Start, dev.ZoneCondFull, -1, "after FinishZone of an open zone")
	_, err := h.WriteAt(s.pattern(u), z.Start+2*u)
	s.wantZoneErr(t, err, "WriteAt at the old write pointer of a finished zone", dev.ErrZoneFull)
	if err := h.z.FinishZone(z.Start); err != nil {
		t.Errorf("FinishZone(%d) of a full zone: %v", z.Start, err)
	}
	if s.tgt.StrictErrors {
		s.wantZoneErr(t, h.z.OpenZone(z.Start), "OpenZone of a full zone", dev.ErrZoneOp)
	}
	s.wantZone(t, h, z.Start, dev.ZoneCondFull, -1, "a finished zone")
	s.expect(t, h, z.Start, concat(p, q), "the data of the finished zone")

	do("ResetZone", h.z.ResetZone, z.Start)
	s.wantZone(t, h, z.Start, dev.ZoneCondEmpty, z.Start, "after ResetZone of a full zone")
	do("FinishZone", h.z.FinishZone, z.Start)
	s.wantZone(t, h, z.Start, dev.ZoneCondFull, -1, "after FinishZone of an empty zone")
	do("ResetZone", h.z.ResetZone, z.Start)

	// Open, Close and Finish on a closed zone.
	s.write(t, h, s.pattern(u), z.Start, "before closing")
	do("CloseZone", h.z.CloseZone, z.Start)
	do("OpenZone", h.z.OpenZone, z.Start)
	s.wantZone(t, h, z.Start, dev.ZoneCondExpOpen, z.Start+u, "after OpenZone of a closed zone")
	do("CloseZone", h.z.CloseZone, z.Start)
	do("FinishZone", h.z.FinishZone, z.Start)
	s.wantZone(t, h, z.Start, dev.ZoneCondFull, -1, "after FinishZone of a closed zone")
}

func checkConventionalZoneOps(t testing.TB, s *suite) {
	if len(s.conv) == 0 {
		t.Skipf("no conventional zones")
	}
	h := s.begin(t)
	defer h.close(t)
	c := s.conv[len(s.conv)-1]
	lbs := s.lbs
	// Random writes: later blocks first.
	b3, b1 := s.pattern(lbs), s.pattern(lbs)
	s.write(t, h, b3, c.Start+3*lbs, "block 3 of a conventional zone")
	s.write(t, h, b1, c.Start+lbs, "block 1 of a conventional zone")
	s.expect(t, h, c.Start+lbs, b1, "block 1 of a conventional zone")
	s.expect(t, h, c.Start+3*lbs, b3, "block 3 of a conventional zone")
	for _, op := range []struct {
		name string
		fn   func(int64) error
	}{
		{"ResetZone", h.z.ResetZone}, {"OpenZone", h.z.OpenZone}, {"CloseZone", h.z.CloseZone}, {"FinishZone", h.z.FinishZone},
	} {
		s.wantZoneErr(t, op.fn(c.Start), fmt.Sprintf("%s of a conventional zone", op.name), dev.ErrZoneOp)
	}
	if z := s.zone(t, h, c.Start); z.Type != dev.ZoneTypeConventional || z.Cond != dev.ZoneCondNotWP {
		t.Errorf("after zone operations: %v; want a conventional zone", z)
	}
	s.expect(t, h, c.Start+lbs, b1, "block 1 after the refused zone operations")
	s.expect(t, h, c.Start+3*lbs, b3, "block 3 after the refused zone operations")
}

// ZoneOpsOnConventionalDevice: a non-zoned device that still has the zone
// methods (a wrapper) refuses them.
func checkZoneOpsOnConventional(t testing.TB, s *suite) {
	if s.zoned {
		t.Skipf("device is zoned")
	}
	h := s.begin(t)
	defer h.close(t)
	z, ok := h.Device.(dev.ZonedDevice)
	if !ok {
		t.Skipf("%T has no zone methods", h.Device)
	}
	p := s.pattern(s.lbs)
	s.write(t, h, p, 0, "the first block")
	_, err := z.ReportZones(0, 0)
	s.wantZoneErr(t, err, "ReportZones on a conventional device", dev.ErrNotZoned)
	for _, op := range []struct {
		name string
		fn   func(int64) error
	}{
		{"ResetZone", z.ResetZone}, {"OpenZone", z.OpenZone}, {"CloseZone", z.CloseZone}, {"FinishZone", z.FinishZone},
	} {
		s.wantZoneErr(t, op.fn(0), op.name+" on a conventional device", dev.ErrNotZoned)
	}
	s.expect(t, h, 0, p, "the first block after refused zone operations")
}

func checkLimits(t testing.TB, s *suite) {
	g := s.g
	if g.MaxOpenZones == 0 && g.MaxActiveZones == 0 {
		t.Skipf("the device has no open or active zone limits")
	}
	h := s.begin(t)
	defer h.close(t)
	u := s.u
	limitErrs := func(open bool) []error {
		if open && !(g.MaxActiveZones > 0 && g.MaxActiveZones <= g.MaxOpenZones) {
			return []error{dev.ErrTooManyOpenZones}
		}
		return []error{dev.ErrTooManyOpenZones, dev.ErrTooManyActiveZones}
	}
	for _, z := range s.seq {
		if z.Capacity < 2*u {
			t.Skipf("zone capacity %d below two write units", z.Capacity)
		}
	}

	if mo := g.MaxOpenZones; mo > 0 {
		if len(s.seq) <= mo {
			t.Logf("max open %d: needs %d sequential zones, have %d", mo, mo+1, len(s.seq))
		} else {
			for i := range mo {
				if err := h.z.OpenZone(s.seq[i].Start); err != nil {
					t.Fatalf("OpenZone of zone %d of %d (max open %d): %v", i+1, mo, mo, err)
				}
			}
			extra := s.seq[mo]
			s.wantZoneErr(t, h.z.OpenZone(extra.Start), fmt.Sprintf("OpenZone of zone %d with max open %d", mo+1, mo), limitErrs(true)...)
			s.wantZone(t, h, extra.Start, dev.ZoneCondEmpty, extra.Start, "the zone that could not be opened")
			_, err := h.WriteAt(s.pattern(u), extra.Start)
			s.wantZoneErr(t, err, fmt.Sprintf("WriteAt into an empty zone with %d zones explicitly open (max open %d)", mo, mo), limitErrs(true)...)
			s.wantZone(t, h, extra.Start, dev.ZoneCondEmpty, extra.Start, "the zone that could not be written")
			zs, err := h.z.ReportZones(0, 0)
			if err != nil {
				t.Fatalf("ReportZones: %v", err)
			}
			if open, _ := openCounts(zs); open != mo {
				t.Errorf("%d zones open, want %d", open, mo)
			}
			// Closing an open zone frees its open resource. (Reset on a
			// real drive: a ZNS drive may keep an empty closed zone
			// active.)
			release, how := h.z.CloseZone, "closing"
			if !s.tgt.StrictErrors {
				release, how = h.z.ResetZone, "resetting"
			}
			if err := release(s.seq[0].Start); err != nil {
				t.Fatalf("%s an explicitly open zone: %v", how, err)
			}
			if err := h.z.OpenZone(extra.Start); err != nil {
				t.Errorf("OpenZone after %s one of %d open zones: %v", how, mo, err)
			}
			s.resetAll(t, h)

			// Implicit opens beyond the limit either close an
			// implicitly open zone (ZBC) or fail (ZNS without
			// auto-transition); the limit holds either way.
			if g.MaxActiveZones == 0 || g.MaxActiveZones > mo {
				for i := range mo + 1 {
					z := s.seq[i]
					_, err := h.WriteAt(s.pattern(u), z.Start)
					if err != nil && i < mo {
						t.Fatalf("implicitly opening zone %d of %d (max open %d): %v", i+1, mo+1, mo, err)
					}
					if err != nil {
						s.wantZoneErr(t, err, fmt.Sprintf("WriteAt implicitly opening zone %d with max open %d", mo+1, mo), dev.ErrTooManyOpenZones)
						s.wantZone(t, h, z.Start, dev.ZoneCondEmpty, z.Start, "the zone that could not be opened implicitly")
						t.Logf("implicit open beyond the limit fails: %v", err)
					} else if i == mo {
						t.Logf("implicit open beyond the limit closed an implicitly open zone")
					}
				}
				zs, err := h.z.ReportZones(0, 0)
				if err != nil {
					t.Fatalf("ReportZones: %v", err)
				}
				if open, _ := openCounts(zs); open > mo {
					t.Errorf("%d zones open after implicit opens, the limit is %d", open, mo)
				}
				for i := range mo {
					if z := zs[g.ZoneIndex(s.seq[i].Start)]; z.WritePointer != z.Start+u || !z.Cond.IsActive() {
						t.Errorf("after implicit opens: %v; want an active zone with the write pointer at %d", z, z.Start+u)
					}
				}
				s.resetAll(t, h)
			}
		}
	}

	if ma := g.MaxActiveZones; ma > 0 {
		if len(s.seq) <= ma {
			t.Logf("max active %d: needs %d sequential zones, have %d", ma, ma+1, len(s.seq))
			return
		}
		for i := range ma {
			z := s.seq[i]
			s.write(t, h, s.pattern(u), z.Start, fmt.Sprintf("activating zone %d of %d (max active %d)", i+1, ma, ma))
			if err := h.z.CloseZone(z.Start); err != nil {
				t.Fatalf("CloseZone(%d): %v", z.Start, err)
			}
		}
		extra := s.seq[ma]
		_, err := h.WriteAt(s.pattern(u), extra.Start)
		s.wantZoneErr(t, err, fmt.Sprintf("WriteAt into an empty zone with %d zones active (max active %d)", ma, ma), dev.ErrTooManyActiveZones)
		s.wantZone(t, h, extra.Start, dev.ZoneCondEmpty, extra.Start, "the zone that could not be written")
		s.wantZoneErr(t, h.z.OpenZone(extra.Start), fmt.Sprintf("OpenZone of an empty zone with %d zones active (max active %d)", ma, ma), dev.ErrTooManyActiveZones)
		s.wantZone(t, h, extra.Start, dev.ZoneCondEmpty, extra.Start, "the zone that could not be opened")
		// Finishing an active zone frees its resource.
		if err := h.z.FinishZone(s.seq[0].Start); err != nil {
			t.Fatalf("FinishZone of a closed zone: %v", err)
		}
		s.write(t, h, s.pattern(u), extra.Start, "into an empty zone after finishing an active one")
		s.resetAll(t, h)
	}
}

func checkZonePersistence(t testing.TB, s *suite) {
	s.needSeq(t, 1)
	h := s.begin(t)
	u := s.u
	type want struct {
		z    dev.Zone
		cond dev.ZoneCond // 0: any active condition
		wp   int64
		data []byte
	}
	var ws []want
	a := s.seq[0]
	if a.Capacity < 3*u {
		t.Skipf("zone capacity %d below three write units", a.Capacity)
	}
	// At most one zone is open at a time and two are active.
	if len(s.seq) >= 2 {
		b := s.seq[1]
		pb := s.pattern(u)
		s.write(t, h, pb, b.Start, "into the zone to finish")
		if err := h.z.FinishZone(b.Start); err != nil {
			t.Fatalf("FinishZone(%d): %v", b.Start, err)
		}
		ws = append(ws, want{b, dev.ZoneCondFull, -1, pb})
	}
	if len(s.seq) >= 3 && (s.g.MaxActiveZones == 0 || s.g.MaxActiveZones >= 2) {
		c := s.seq[2]
		pc := s.pattern(u)
		s.write(t, h, pc, c.Start, "into the zone to close")
		if err := h.z.CloseZone(c.Start); err != nil {
			t.Fatalf("CloseZone(%d): %v", c.Start, err)
		}
		ws = append(ws, want{c, dev.ZoneCondClosed, c.Start + u, pc})
	}
	pa := s.pattern(2 * u)
	s.write(t, h, pa, a.Start, "into the zone left open")
	ws = append(ws, want{a, 0, a.Start + 2*u, pa})
	if len(s.seq) >= 4 {
		e := s.seq[len(s.seq)-1]
		ws = append(ws, want{e, dev.ZoneCondEmpty, e.Start, nil})
	}
	if err := h.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	h.close(t)
	h = s.open(t)
	defer h.close(t)
	for _, w := range ws {
		got := s.zone(t, h, w.z.Start)
		switch {
		case w.cond == 0:
			if !got.Cond.IsActive() || got.WritePointer != w.wp {
				t.Errorf("after Flush, Close and Open: %v; want an open or closed zone with the write pointer at %d", got, w.wp)
			}
		case got.Cond != w.cond || (w.wp >= 0 && got.WritePointer != w.wp):
			t.Errorf("after Flush, Close and Open: %v; want %s with the write pointer at %d", got, w.cond, w.wp)
		}
		if w.data != nil {
			s.expect(t, h, w.z.Start, w.data, fmt.Sprintf("data of %v after Flush, Close and Open", w.z))
		}
	}
	// Writing continues at the persisted write pointer.
	q := s.pattern(u)
	s.write(t, h, q, a.Start+2*u, "at the persisted write pointer")
	s.expect(t, h, a.Start, concat(pa, q), "the zone written before and after reopening")
}
