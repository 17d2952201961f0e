package zonemu

import (
	"bytes"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

func TestSequentialWriteAtWritePointer(t *testing.T) {
	d, _ := create(t, smallCfg())
	z := 3
	a := mustWrite(t, d, zstart(z), 2*tLBS, 1)
	wantZone(t, d, z, dev.ZoneCondImpOpen, 2*tLBS)
	b := mustWrite(t, d, zstart(z)+2*tLBS, tLBS, 2)
	wantZone(t, d, z, dev.ZoneCondImpOpen, 3*tLBS)
	wantData(t, d, zstart(z), append(append([]byte{}, a...), b...))
}

func TestSequentialWriteErrors(t *testing.T) {
	cfg := smallCfg()
	cfg.ZoneCapacity = 12 * tLBS
	d, _ := create(t, cfg)
	z := 2
	mustWrite(t, d, zstart(z), tLBS, 1)
	cases := []struct {
		name string
		off  int64
		n    int
		want error
	}{
		{"behind the write pointer", zstart(z), tLBS, dev.ErrNotAtWritePointer},
		{"ahead of the write pointer", zstart(z) + 2*tLBS, tLBS, dev.ErrNotAtWritePointer},
		{"past the capacity", zstart(z) + tLBS, 12 * tLBS, dev.ErrZoneFull},
		{"into the gap past the capacity", zstart(z) + 12*tLBS, tLBS, dev.ErrZoneFull},
		{"into the next zone", zstart(z) + tLBS, tZone, dev.ErrZoneFull},
		{"misaligned offset", zstart(z) + tLBS + 512, tLBS, dev.ErrMisaligned},
		{"misaligned length", zstart(z) + tLBS, 512, dev.ErrMisaligned},
		{"past the device", zstart(8), tLBS, dev.ErrOutOfRange},
		{"into a later empty zone", zstart(z+1) + tLBS, tLBS, dev.ErrNotAtWritePointer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := d.WriteAt(pattern(c.n, 9), c.off)
			if n != 0 {
				t.Errorf("wrote %d bytes", n)
			}
			wantErr(t, err, c.want)
		})
	}
	wantZone(t, d, z, dev.ZoneCondImpOpen, tLBS)
	wantZone(t, d, z+1, dev.ZoneCondEmpty, 0)
}

func TestWriteToCapacityMakesFull(t *testing.T) {
	cfg := smallCfg()
	cfg.ZoneCapacity = 4 * tLBS
	d, _ := create(t, cfg)
	z := 4
	mustWrite(t, d, zstart(z), 3*tLBS, 1)
	mustWrite(t, d, zstart(z)+3*tLBS, tLBS, 2)
	got := zone(t, d, z)
	if got.Cond != dev.ZoneCondFull || got.Capacity != 4*tLBS || got.Len != tZone || got.WritePointer != got.Start+got.Len {
		t.Fatalf("zone after filling its capacity: %v", got)
	}
	if got.Written() != 4*tLBS {
		t.Fatalf("Written() = %d", got.Written())
	}
	_, err := d.WriteAt(pattern(tLBS, 3), zstart(z)+4*tLBS)
	wantErr(t, err, dev.ErrZoneFull)
	if o, a := counts(t, d); o != 0 || a != 0 {
		t.Fatalf("a full zone holds resources: %d open, %d active", o, a)
	}
}

func TestConventionalWrites(t *testing.T) {
	d, _ := create(t, smallCfg())
	// Anywhere, in any order, over again, and across the two zones.
	mustWrite(t, d, 5*tLBS, tLBS, 1)
	mustWrite(t, d, tLBS, tLBS, 2)
	a := mustWrite(t, d, tZone-2*tLBS, 4*tLBS, 3)
	wantData(t, d, tZone-2*tLBS, a)
	b := mustWrite(t, d, 0, tLBS, 4)
	wantData(t, d, 0, b)
	wantData(t, d, tZone-2*tLBS, a)
	wantZone(t, d, 0, dev.ZoneCondNotWP, tZone)
	// Not into the first sequential zone.
	_, err := d.WriteAt(pattern(2*tLBS, 5), zstart(2)-tLBS)
	wantErr(t, err, dev.ErrOutOfRange)
	wantZone(t, d, 2, dev.ZoneCondEmpty, 0)
}

func TestZeroLengthIO(t *testing.T) {
	d, _ := create(t, smallCfg())
	if n, err := d.WriteAt(nil, zstart(3)+tLBS); n != 0 || err != nil {
		t.Fatalf("zero-length write = %d, %v", n, err)
	}
	if n, err := d.ReadAt(nil, zstart(3)); n != 0 || err != nil {
		t.Fatalf("zero-length read = %d, %v", n, err)
	}
	wantZone(t, d, 3, dev.ZoneCondEmpty, 0)
}

func TestFailedWriteLeavesZoneAlone(t *testing.T) {
	d, m := create(t, smallCfg())
	m.fail = func(op string, off, n int64) error {
		if op == "write" {
			return dev.ErrIO
		}
		return nil
	}
	_, err := d.WriteAt(pattern(tLBS, 1), zstart(3))
	wantErr(t, err, dev.ErrIO)
	wantZone(t, d, 3, dev.ZoneCondEmpty, 0)
	m.fail = nil
	mustWrite(t, d, zstart(3), tLBS, 1)
	m.fail = func(op string, off, n int64) error {
		if op == "write" {
			return dev.ErrIO
		}
		return nil
	}
	_, err = d.WriteAt(pattern(tLBS, 1), zstart(3)+tLBS)
	wantErr(t, err, dev.ErrIO)
	wantZone(t, d, 3, dev.ZoneCondImpOpen, tLBS)
}

func TestDiscard(t *testing.T) {
	d, m := create(t, smallCfg())
	a := mustWrite(t, d, 0, 2*tLBS, 1)
	mustOK(t, d.Discard(0, tLBS))
	if b := m.Bytes(); !bytes.Equal(b[:tLBS], bytes.Repeat([]byte{discardFill}, tLBS)) || !bytes.Equal(b[tLBS:2*tLBS], a[tLBS:]) {
		t.Fatalf("conventional discard of [0, %d) did not reach the backing device, or went past it", tLBS)
	}
	wantErr(t, d.Discard(tZone, 2*tZone), dev.ErrZoneOp)
	wantErr(t, d.Discard(zstart(4), tLBS), dev.ErrZoneOp)
	wantErr(t, d.Discard(100, tLBS), dev.ErrMisaligned)
	mustOK(t, d.Discard(zstart(4), 0))
}

func TestClosedDevice(t *testing.T) {
	d, _ := create(t, smallCfg())
	mustOK(t, d.Close())
	wantErr(t, d.Close(), dev.ErrClosed)
	_, err := d.WriteAt(pattern(tLBS, 1), 0)
	wantErr(t, err, dev.ErrClosed)
	_, err = d.ReadAt(dev.AlignedBuffer(tLBS), zstart(5))
	wantErr(t, err, dev.ErrClosed)
	wantErr(t, d.Flush(), dev.ErrClosed)
	wantErr(t, d.ResetZone(zstart(3)), dev.ErrClosed)
	_, err = d.ReportZones(0, 0)
	wantErr(t, err, dev.ErrClosed)
	wantErr(t, d.Discard(0, tLBS), dev.ErrClosed)
}
