package faultdev

import (
	"bytes"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/memdev"
)

const (
	testBlock = 4096
	testSize  = 64 * testBlock
	testPath  = "/mem/test"
)

// newMemDev returns a zero-filled in-memory device of testSize bytes named
// testPath. Discard zeroes the range.
func newMemDev() *memdev.Device { return memdev.New(testPath, testSize, testBlock) }

// snapshot returns a copy of m's media. Callers must not race it with IO.
func snapshot(m *memdev.Device) []byte { return bytes.Clone(m.Bytes()) }

// flushCounter is a memdev that counts the flushes reaching it.
type flushCounter struct {
	*memdev.Device
	flushes int
}

func newFlushCounter() *flushCounter { return &flushCounter{Device: newMemDev()} }

func (f *flushCounter) Flush() error {
	if err := f.Device.Flush(); err != nil {
		return err
	}
	f.flushes++
	return nil
}

// zonedMemDev is a memdev that claims to be host-managed and records the
// zone operations it receives. It enforces no zone rules.
type zonedMemDev struct {
	*memdev.Device
	geo   dev.Geometry
	calls []string
}

const testZoneSize = 16 * testBlock

func newZonedMemDev() *zonedMemDev {
	m := newMemDev()
	g := m.Geometry()
	g.Zoned = dev.ZoneModelHostManaged
	g.ZoneSize = testZoneSize
	g.NrZones = testSize / testZoneSize
	g.ZoneWriteGranularity = testBlock
	return &zonedMemDev{Device: m, geo: g}
}

func (z *zonedMemDev) Geometry() dev.Geometry { return z.geo }

func (z *zonedMemDev) ReportZones(off int64, max int) ([]dev.Zone, error) {
	z.calls = append(z.calls, "report")
	var zones []dev.Zone
	for i := z.geo.ZoneIndex(off); i < z.geo.NrZones && (max <= 0 || len(zones) < max); i++ {
		s := z.geo.ZoneStart(i)
		zones = append(zones, dev.Zone{Start: s, Len: z.geo.ZoneSize, Capacity: z.geo.ZoneSize, WritePointer: s,
			Type: dev.ZoneTypeSeqWriteRequired, Cond: dev.ZoneCondEmpty})
	}
	return zones, nil
}

func (z *zonedMemDev) ResetZone(int64) error  { z.calls = append(z.calls, "reset"); return nil }
func (z *zonedMemDev) OpenZone(int64) error   { z.calls = append(z.calls, "open"); return nil }
func (z *zonedMemDev) CloseZone(int64) error  { z.calls = append(z.calls, "close"); return nil }
func (z *zonedMemDev) FinishZone(int64) error { z.calls = append(z.calls, "finish"); return nil }

// fill returns an aligned buffer of n blocks, block i filled with
// byte(tag+i).
func fill(blocks int, tag byte) []byte {
	p := dev.AlignedBuffer(blocks * testBlock)
	for i := range blocks {
		for j := range testBlock {
			p[i*testBlock+j] = tag + byte(i)
		}
	}
	return p
}

// blockOf returns block b of media.
func blockOf(media []byte, b int) []byte { return media[b*testBlock : (b+1)*testBlock] }
