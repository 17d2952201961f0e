package images

import "errors"

// Sentinel errors; the errors returned wrap them with the details, so check
// them with errors.Is.
var (
	// ErrFormat: the bundle or its manifest is not a format-1 bundle (wrong
	// entries, a malformed manifest, an unknown format number).
	ErrFormat = errors.New("not a valid firmware bundle")
	// ErrSignature: the manifest's signature does not verify with the key.
	ErrSignature = errors.New("the bundle's signature does not verify with this key")
	// ErrHash: a part's size or sha256 is not the one the manifest records.
	ErrHash = errors.New("a part of the bundle does not match its manifest")
	// ErrIncompatible: the bundle is for another product, or the running
	// version is older than the bundle's min_update_from.
	ErrIncompatible = errors.New("the bundle is not compatible with this node")
	// ErrDowngrade: the bundle's version is older than the running one.
	ErrDowngrade = errors.New("the bundle is older than the running firmware")
	// ErrNotStatic: the plinth binary is not a static ELF executable for
	// the target architecture.
	ErrNotStatic = errors.New("not a static executable")
	// ErrNoModule: a requested kernel module is neither in modules.dep nor
	// built into the kernel.
	ErrNoModule = errors.New("no such kernel module")
	// ErrKernelMismatch: the kernel image's version is not the version of
	// the modules directory.
	ErrKernelMismatch = errors.New("the kernel image does not match the modules")
	// ErrSlotBusy: the slot an update would overwrite is the one being
	// tried (running, not yet marked good).
	ErrSlotBusy = errors.New("the inactive slot is being tried")
	// ErrNoFirmware: no slot holds firmware that can be booted.
	ErrNoFirmware = errors.New("no firmware installed")
)
