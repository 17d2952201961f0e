package dev

import (
	"errors"
	"fmt"
	"syscall"
)

// Sentinel errors. Backends wrap them with the device path and offset; test
// for them with errors.Is.
var (
	// ErrMisaligned: an offset, length or buffer violates the alignment
	// contract. Nothing was transferred.
	ErrMisaligned = errors.New("misaligned IO")
	// ErrOutOfRange: the request reaches past the end of the device or zone.
	ErrOutOfRange = errors.New("IO out of range")
	// ErrClosed: the device was closed.
	ErrClosed = errors.New("device closed")
	// ErrBusy: another owner holds the device. The error is a *BusyError
	// naming the holder when the kernel says who it is.
	ErrBusy = errors.New("device busy")
	// ErrNotZoned: a zone operation on a conventional device.
	ErrNotZoned = errors.New("device is not zoned")
	// ErrNotAtWritePointer: a write to a sequential zone that does not
	// start at the zone's write pointer.
	ErrNotAtWritePointer = errors.New("write not at the zone write pointer")
	// ErrZoneFull: a write to a full zone or past its capacity.
	ErrZoneFull = errors.New("zone full")
	// ErrZoneReadOnly: a write or zone operation on a read-only zone.
	ErrZoneReadOnly = errors.New("zone is read-only")
	// ErrZoneOffline: any IO to an offline zone.
	ErrZoneOffline = errors.New("zone is offline")
	// ErrTooManyOpenZones: opening one more zone would exceed the device's
	// max open zones and no implicitly open zone could be closed.
	ErrTooManyOpenZones = errors.New("too many open zones")
	// ErrTooManyActiveZones: activating one more zone would exceed the
	// device's max active zones.
	ErrTooManyActiveZones = errors.New("too many active zones")
	// ErrZoneOp: a zone operation the zone's type or condition does not
	// allow (resetting a conventional zone, opening a full one).
	ErrZoneOp = errors.New("invalid zone operation")
	// ErrPowerCut: a simulated power cut happened; the device is off until
	// it is reopened.
	ErrPowerCut = errors.New("power cut")
	// ErrIO is an IO error from the media. It matches syscall.EIO too.
	ErrIO = ioError{}
)

type ioError struct{}

func (ioError) Error() string { return "input/output error" }

func (ioError) Is(target error) bool { return target == syscall.EIO }

// BusyError says who holds a device Plinth wanted to own.
type BusyError struct {
	Path   string
	Holder string // "" when the kernel does not say
}

func (e *BusyError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("%s is in use by another owner (the kernel does not say which)", e.Path)
	}
	return fmt.Sprintf("%s is in use by %s", e.Path, e.Holder)
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// OpError wraps an error with the operation, device and byte range.
type OpError struct {
	Op     string // "read", "write", "flush", "discard", "reset-zone", ...
	Path   string
	Offset int64
	Length int64
	Err    error
}

func (e *OpError) Error() string {
	if e.Length == 0 && e.Offset == 0 {
		return fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Err)
	}
	return fmt.Sprintf("%s %s [%d, +%d): %v", e.Op, e.Path, e.Offset, e.Length, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }
