package faultdev

import (
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
)

const (
	testBlock = 4096
	testSize  = 64 * testBlock
)

// memDev is a plain in-memory dev.Device: a byte slice behind dev.CheckIO.
// Discard zeroes the range.
type memDev struct {
	mu      sync.Mutex
	geo     dev.Geometry
	data    []byte
	closed  bool
	flushes int
}

func newMemDev() *memDev {
	return &memDev{
		geo: dev.Geometry{
			Size:              testSize,
			LogicalBlockSize:  testBlock,
			PhysicalBlockSize: testBlock,
			MemAlign:          testBlock,
		},
		data: make([]byte, testSize),
	}
}

func (m *memDev) ReadAt(p []byte, off int64) (int, error) {
	if err := dev.CheckIO(m.geo, p, off); err != nil {
		return 0, &dev.OpError{Op: "read", Path: m.Path(), Offset: off, Length: int64(len(p)), Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, &dev.OpError{Op: "read", Path: m.Path(), Offset: off, Length: int64(len(p)), Err: dev.ErrClosed}
	}
	return copy(p, m.data[off:]), nil
}

func (m *memDev) WriteAt(p []byte, off int64) (int, error) {
	if err := dev.CheckIO(m.geo, p, off); err != nil {
		return 0, &dev.OpError{Op: "write", Path: m.Path(), Offset: off, Length: int64(len(p)), Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, &dev.OpError{Op: "write", Path: m.Path(), Offset: off, Length: int64(len(p)), Err: dev.ErrClosed}
	}
	return copy(m.data[off:], p), nil
}

func (m *memDev) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return &dev.OpError{Op: "flush", Path: m.Path(), Err: dev.ErrClosed}
	}
	m.flushes++
	return nil
}

func (m *memDev) Discard(off, length int64) error {
	if err := dev.CheckRange(m.geo, off, length); err != nil {
		return &dev.OpError{Op: "discard", Path: m.Path(), Offset: off, Length: length, Err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.data[off : off+length])
	return nil
}

func (m *memDev) Geometry() dev.Geometry { return m.geo }
func (m *memDev) Path() string           { return "/mem/test" }

func (m *memDev) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// snapshot returns a copy of the media.
func (m *memDev) snapshot() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.data...)
}

// zonedMemDev is a memDev that claims to be host-managed and records the
// zone operations it receives. It enforces no zone rules.
type zonedMemDev struct {
	*memDev
	calls []string
}

const testZoneSize = 16 * testBlock

func newZonedMemDev() *zonedMemDev {
	m := newMemDev()
	m.geo.Zoned = dev.ZoneModelHostManaged
	m.geo.ZoneSize = testZoneSize
	m.geo.NrZones = testSize / testZoneSize
	m.geo.ZoneWriteGranularity = testBlock
	return &zonedMemDev{memDev: m}
}

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
