package dev

// Device is a drive owned exclusively by this process. See the package
// comment for the alignment and durability contract.
type Device interface {
	// ReadAt reads len(p) bytes at byte offset off. It returns len(p), nil
	// or a short count and an error.
	ReadAt(p []byte, off int64) (int, error)
	// WriteAt writes p at byte offset off. The data is durable only after
	// a later Flush returns nil.
	WriteAt(p []byte, off int64) (int, error)
	// Flush makes every completed write durable (drive cache flushed).
	Flush() error
	// Discard tells the device that [off, off+length) holds nothing of
	// value. Reads of a discarded range return unspecified data.
	Discard(off, length int64) error
	// Geometry describes the device. It does not change while it is open.
	Geometry() Geometry
	// Path names the device for messages (a /dev path or a file path).
	Path() string
	// Close releases the device and its exclusive ownership. It does not
	// flush; callers that need durability Flush first.
	Close() error
}

// ZonedDevice is a Device whose address space is divided into zones with the
// kernel's zone rules. All offsets are in bytes; a zone is named by the byte
// offset of its start.
type ZonedDevice interface {
	Device
	// ReportZones returns up to max zones starting with the zone that
	// contains off. max <= 0 means all remaining zones.
	ReportZones(off int64, max int) ([]Zone, error)
	// ResetZone moves the write pointer of the zone starting at off back to
	// its start and makes it empty.
	ResetZone(off int64) error
	// OpenZone explicitly opens the zone starting at off.
	OpenZone(off int64) error
	// CloseZone closes the zone starting at off, releasing its open
	// resource (it stays active if it holds data).
	CloseZone(off int64) error
	// FinishZone moves the write pointer of the zone starting at off to its
	// end and makes it full.
	FinishZone(off int64) error
}

// AsZoned returns d as a ZonedDevice when d is zoned. A wrapper type may
// implement the zone methods for any inner device, so the geometry decides.
func AsZoned(d Device) (ZonedDevice, bool) {
	if d.Geometry().Zoned == ZoneModelNone {
		return nil, false
	}
	z, ok := d.(ZonedDevice)
	return z, ok
}
