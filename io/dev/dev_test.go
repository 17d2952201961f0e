package dev

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

func geo4k() Geometry {
	return Geometry{Size: 1 << 20, LogicalBlockSize: 4096, PhysicalBlockSize: 4096, MemAlign: BufferAlign}
}

func TestCheckIO(t *testing.T) {
	g := geo4k()
	buf := AlignedBuffer(8192)
	for _, c := range []struct {
		name string
		p    []byte
		off  int64
		want error
	}{
		{"ok", buf, 4096, nil},
		{"last block", buf[:4096], 1<<20 - 4096, nil},
		{"zero length at end", nil, 1 << 20, nil},
		{"offset", buf, 512, ErrMisaligned},
		{"negative", buf, -4096, ErrMisaligned},
		{"length", buf[:4000], 0, ErrMisaligned},
		{"memory", buf[1 : 4096+1], 0, ErrMisaligned},
		{"past end", buf, 1<<20 - 4096, ErrOutOfRange},
		{"far past end", buf, 1 << 40, ErrOutOfRange},
	} {
		err := CheckIO(g, c.p, c.off)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if err := CheckRange(g, 4096, 1<<20); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("range past end: %v", err)
	}
	if err := CheckRange(g, 4096, 100); !errors.Is(err, ErrMisaligned) {
		t.Errorf("misaligned range: %v", err)
	}
}

func TestGeometryValidate(t *testing.T) {
	if err := geo4k().Validate(); err != nil {
		t.Fatal(err)
	}
	zoned := geo4k()
	zoned.Zoned, zoned.ZoneSize, zoned.NrZones, zoned.ZoneWriteGranularity = ZoneModelHostManaged, 1<<18, 4, 4096
	if err := zoned.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(g *Geometry){
		func(g *Geometry) { g.LogicalBlockSize = 3000 },
		func(g *Geometry) { g.Size = 4097 },
		func(g *Geometry) { g.MemAlign = 0 },
		func(g *Geometry) { g.ZoneSize = 1000 },
		func(g *Geometry) { g.NrZones = 100 },
		func(g *Geometry) { g.ZoneWriteGranularity = 512 },
	}
	for i, mod := range bad {
		g := zoned
		mod(&g)
		if g.Validate() == nil {
			t.Errorf("bad geometry %d accepted: %+v", i, g)
		}
	}
}

func TestErrors(t *testing.T) {
	if !errors.Is(ErrIO, syscall.EIO) {
		t.Error("ErrIO does not match EIO")
	}
	op := &OpError{Op: "write", Path: "/dev/sdz", Offset: 4096, Length: 8192, Err: ErrIO}
	if !errors.Is(op, syscall.EIO) || op.Error() != "write /dev/sdz [4096, +8192): input/output error" {
		t.Errorf("OpError: %v", op)
	}
	busy := &BusyError{Path: "/dev/sdz", Holder: "process 7 (mkfs)"}
	if !errors.Is(busy, ErrBusy) || !strings.Contains(busy.Error(), "process 7") {
		t.Errorf("BusyError: %v", busy)
	}
	if !strings.Contains((&BusyError{Path: "x"}).Error(), "does not say") {
		t.Error("BusyError without a holder does not say so")
	}
}

func TestBufferPool(t *testing.T) {
	var bp BufferPool
	for _, n := range []int{1, 4096, 4097, 1 << 20, MaxPooled, MaxPooled + 1} {
		b := bp.Get(n)
		if len(b) != n || !IsAligned(b, BufferAlign) {
			t.Fatalf("Get(%d): len %d aligned %v", n, len(b), IsAligned(b, BufferAlign))
		}
		bp.Put(b)
	}
	b := bp.Get(5000)
	if cap(b) != 8192 {
		t.Fatalf("size class of 5000: cap %d", cap(b))
	}
	bp.Put(b)
	bp.Put(make([]byte, 3000)) // not from the pool: ignored
	if got := bp.Get(3000); !IsAligned(got, BufferAlign) {
		t.Fatal("pool handed out an unaligned buffer")
	}
	if bp.Get(0) != nil {
		t.Fatal("Get(0) is not nil")
	}
}

func TestZoneNames(t *testing.T) {
	for _, s := range []string{"none", "host-aware", "host-managed"} {
		m, err := ParseZoneModel(s)
		if err != nil || m.String() != s {
			t.Errorf("zone model %q: %v %v", s, m, err)
		}
	}
	if _, err := ParseZoneModel("drive-managed"); err == nil {
		t.Error("unknown zone model accepted")
	}
	z := Zone{Start: 0, Len: 100, Capacity: 80, WritePointer: 30, Type: ZoneTypeSeqWriteRequired, Cond: ZoneCondImpOpen}
	if z.Written() != 30 || !z.Sequential() || !z.Cond.IsOpen() || !z.Cond.IsActive() || ZoneCondFull.IsActive() {
		t.Errorf("zone predicates wrong for %v", z)
	}
	z.Cond = ZoneCondFull
	if z.Written() != 80 {
		t.Errorf("full zone written %d", z.Written())
	}
}

type plainDev struct{ Device }

func (plainDev) Geometry() Geometry { return Geometry{} }

func TestAsZoned(t *testing.T) {
	if _, ok := AsZoned(plainDev{}); ok {
		t.Error("a conventional device reported zoned")
	}
}
