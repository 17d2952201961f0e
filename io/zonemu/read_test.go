package zonemu

import (
	"bytes"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

// fill writes b over [off, off+n) of the backing media directly, as stale
// data left there would be.
func fill(m media, off int64, n int, b byte) {
	data := m.Bytes()
	for i := range n {
		data[off+int64(i)] = b
	}
}

func TestReadBeyondWritePointerIsZeros(t *testing.T) {
	d, m := create(t, smallCfg())
	fill(m, 0, int(d.geo.Size), 0xEE) // garbage everywhere
	a := mustWrite(t, d, zstart(3), 2*tLBS, 1)
	wantData(t, d, zstart(3), a)
	wantZeros(t, d, zstart(3)+2*tLBS, tZone-2*tLBS)
	wantZeros(t, d, zstart(4), tZone) // empty zone
	// Conventional zones show the media as it is.
	got := mustRead(t, d, 0, tLBS)
	if !bytes.Equal(got, bytes.Repeat([]byte{0xEE}, tLBS)) {
		t.Fatal("conventional zone does not read the media")
	}
}

func TestStaleDataAfterResetNeverVisible(t *testing.T) {
	d, m := create(t, smallCfg())
	mustWrite(t, d, zstart(3), tZone, 1)
	mustOK(t, d.Flush())
	mustOK(t, d.ResetZone(zstart(3)))
	// The media still holds the old bytes (put them back in case the
	// reset discarded them).
	fill(m, zstart(3), tZone, 0x5A)
	wantZeros(t, d, zstart(3), tZone)
	b := mustWrite(t, d, zstart(3), tLBS, 2)
	wantData(t, d, zstart(3), b)
	wantZeros(t, d, zstart(3)+tLBS, tZone-tLBS)
	// Also after a power cycle.
	mustOK(t, d.Flush())
	d2, m2 := reopen(t, m)
	fill(m2, zstart(3)+tLBS, tZone-tLBS, 0x5A)
	wantData(t, d2, zstart(3), b)
	wantZeros(t, d2, zstart(3)+tLBS, tZone-tLBS)
}

func TestReadAcrossZones(t *testing.T) {
	cfg := smallCfg()
	cfg.ZoneCapacity = 8 * tLBS
	d, m := create(t, cfg)
	fill(m, 0, int(d.geo.Size), 0xEE)
	c := mustWrite(t, d, zstart(2)-tLBS, tLBS, 1) // end of conventional zone 1
	a := mustWrite(t, d, zstart(2), 8*tLBS, 2)    // zone 2 full
	b := mustWrite(t, d, zstart(3), 3*tLBS, 3)
	got := mustRead(t, d, zstart(2)-tLBS, tLBS+tZone+4*tLBS)
	want := append([]byte{}, c...)
	want = append(want, a...)
	want = append(want, make([]byte, tZone-8*tLBS)...) // past the capacity
	want = append(want, b...)
	want = append(want, make([]byte, tLBS)...)
	if !bytes.Equal(got, want) {
		t.Fatal("read across zones differs")
	}
	// A read that holds no data at all does not need the media.
	m.fail = func(op string, off, n int64) error { return dev.ErrIO }
	wantZeros(t, d, zstart(5), 2*tZone)
	_, err := d.ReadAt(dev.AlignedBuffer(tLBS), zstart(2))
	wantErr(t, err, dev.ErrIO)
}

func TestReadErrors(t *testing.T) {
	d, _ := create(t, smallCfg())
	_, err := d.ReadAt(dev.AlignedBuffer(tLBS), 8*tZone)
	wantErr(t, err, dev.ErrOutOfRange)
	_, err = d.ReadAt(dev.AlignedBuffer(tLBS), 512)
	wantErr(t, err, dev.ErrMisaligned)
	_, err = d.ReadAt(dev.AlignedBuffer(2 * tLBS)[1:tLBS+1], 0)
	wantErr(t, err, dev.ErrMisaligned)
}

func TestSmallLogicalBlocks(t *testing.T) {
	// 512-byte blocks over a 512-byte backing device; the write pointer
	// sits at odd 512-byte multiples.
	cfg := Config{ZoneSize: 64 << 10, ZoneCapacity: 40 << 10, NrZones: 4, NrConventional: 1, LogicalBlockSize: 512}
	m := newMem(cfg, 512)
	d, err := Create(m, cfg)
	mustOK(t, err)
	fill(m, 0, int(d.geo.Size), 0xEE)
	z1 := cfg.ZoneSize
	a := mustWrite(t, d, z1, 512, 1)
	b := mustWrite(t, d, z1+512, 3*512, 2)
	_, err = d.WriteAt(pattern(512, 3), z1+512)
	wantErr(t, err, dev.ErrNotAtWritePointer)
	wantData(t, d, z1, append(append([]byte{}, a...), b...))
	wantZeros(t, d, z1+4*512, int(cfg.ZoneSize)-4*512)
	mustOK(t, d.Flush())
	d2, _ := reopen(t, m)
	wantZone(t, d2, 1, dev.ZoneCondClosed, 4*512)
	if d2.Config() != cfg {
		t.Fatalf("config %+v, want %+v", d2.Config(), cfg)
	}
	// A 4096-byte emulated block over 512-byte media is fine too.
	cfg.LogicalBlockSize = 4096
	_, err = Create(newMem(cfg, 512), cfg)
	mustOK(t, err)
}
