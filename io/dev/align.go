package dev

import (
	"fmt"
	"unsafe"
)

// CheckIO validates a read or write of p at off against g: offset and length
// multiples of the logical block size, buffer aligned to MemAlign, range
// inside the device. Every backend calls it first, so the rules are the same
// everywhere.
func CheckIO(g Geometry, p []byte, off int64) error {
	lbs := int64(g.LogicalBlockSize)
	n := int64(len(p))
	if off < 0 || off%lbs != 0 || n%lbs != 0 {
		return fmt.Errorf("%w: offset %d length %d not multiples of the %d-byte logical block", ErrMisaligned, off, n, lbs)
	}
	if n > 0 && !IsAligned(p, g.MemAlign) {
		return fmt.Errorf("%w: buffer at %p not aligned to %d bytes", ErrMisaligned, unsafe.Pointer(&p[0]), g.MemAlign)
	}
	if off > g.Size || n > g.Size-off {
		return fmt.Errorf("%w: [%d, +%d) past the device end %d", ErrOutOfRange, off, n, g.Size)
	}
	return nil
}

// CheckRange validates a discard or zone range: aligned and inside the device.
func CheckRange(g Geometry, off, length int64) error {
	lbs := int64(g.LogicalBlockSize)
	if off < 0 || length < 0 || off%lbs != 0 || length%lbs != 0 {
		return fmt.Errorf("%w: range [%d, +%d) not multiples of the %d-byte logical block", ErrMisaligned, off, length, lbs)
	}
	if off > g.Size || length > g.Size-off {
		return fmt.Errorf("%w: [%d, +%d) past the device end %d", ErrOutOfRange, off, length, g.Size)
	}
	return nil
}

// IsAligned reports whether p's first byte is aligned to align bytes.
func IsAligned(p []byte, align int) bool {
	if len(p) == 0 {
		return true
	}
	return uintptr(unsafe.Pointer(&p[0]))&uintptr(align-1) == 0
}

// RoundUp rounds n up to a multiple of unit (a power of two or not).
func RoundUp(n, unit int64) int64 { return (n + unit - 1) / unit * unit }
