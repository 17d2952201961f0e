package dev

import "fmt"

// ZoneModel is a device's zone model, as the kernel reports it in
// /sys/block/<dev>/queue/zoned.
type ZoneModel uint8

const (
	// ZoneModelNone is a conventional device: random writes anywhere.
	ZoneModelNone ZoneModel = iota
	// ZoneModelHostAware devices accept random writes but prefer
	// sequential ones.
	ZoneModelHostAware
	// ZoneModelHostManaged devices reject writes that are not at a
	// sequential zone's write pointer (host-managed SMR, NVMe ZNS).
	ZoneModelHostManaged
)

func (m ZoneModel) String() string {
	switch m {
	case ZoneModelNone:
		return "none"
	case ZoneModelHostAware:
		return "host-aware"
	case ZoneModelHostManaged:
		return "host-managed"
	}
	return fmt.Sprintf("ZoneModel(%d)", uint8(m))
}

// ParseZoneModel parses the kernel's sysfs spelling.
func ParseZoneModel(s string) (ZoneModel, error) {
	switch s {
	case "none", "":
		return ZoneModelNone, nil
	case "host-aware":
		return ZoneModelHostAware, nil
	case "host-managed":
		return ZoneModelHostManaged, nil
	}
	return 0, fmt.Errorf("unknown zone model %q", s)
}

// ZoneType is a zone's type. The values are the kernel's BLK_ZONE_TYPE_*.
type ZoneType uint8

const (
	ZoneTypeConventional      ZoneType = 0x1
	ZoneTypeSeqWriteRequired  ZoneType = 0x2
	ZoneTypeSeqWritePreferred ZoneType = 0x3
)

func (t ZoneType) String() string {
	switch t {
	case ZoneTypeConventional:
		return "conventional"
	case ZoneTypeSeqWriteRequired:
		return "seq-write-required"
	case ZoneTypeSeqWritePreferred:
		return "seq-write-preferred"
	}
	return fmt.Sprintf("ZoneType(%#x)", uint8(t))
}

// ZoneCond is a zone's condition (its state in the zone state machine). The
// values are the kernel's BLK_ZONE_COND_*.
type ZoneCond uint8

const (
	ZoneCondNotWP    ZoneCond = 0x0 // conventional zone: no write pointer
	ZoneCondEmpty    ZoneCond = 0x1
	ZoneCondImpOpen  ZoneCond = 0x2 // opened by a write
	ZoneCondExpOpen  ZoneCond = 0x3 // opened by an explicit open
	ZoneCondClosed   ZoneCond = 0x4
	ZoneCondReadOnly ZoneCond = 0xD
	ZoneCondFull     ZoneCond = 0xE
	ZoneCondOffline  ZoneCond = 0xF
)

func (c ZoneCond) String() string {
	switch c {
	case ZoneCondNotWP:
		return "not-wp"
	case ZoneCondEmpty:
		return "empty"
	case ZoneCondImpOpen:
		return "implicit-open"
	case ZoneCondExpOpen:
		return "explicit-open"
	case ZoneCondClosed:
		return "closed"
	case ZoneCondReadOnly:
		return "read-only"
	case ZoneCondFull:
		return "full"
	case ZoneCondOffline:
		return "offline"
	}
	return fmt.Sprintf("ZoneCond(%#x)", uint8(c))
}

// IsOpen reports an implicitly or explicitly open zone: it holds an open
// resource.
func (c ZoneCond) IsOpen() bool { return c == ZoneCondImpOpen || c == ZoneCondExpOpen }

// IsActive reports a zone that holds an active resource: open or closed.
func (c ZoneCond) IsActive() bool { return c.IsOpen() || c == ZoneCondClosed }

// Zone describes one zone. All fields are bytes.
type Zone struct {
	Start        int64
	Len          int64
	Capacity     int64 // writable bytes from Start; <= Len
	WritePointer int64 // absolute offset; meaningless for conventional zones
	Type         ZoneType
	Cond         ZoneCond
}

// Sequential reports whether writes must land at the write pointer.
func (z Zone) Sequential() bool { return z.Type == ZoneTypeSeqWriteRequired }

// Written returns how many bytes of the zone hold data (for sequential
// zones, the write pointer's distance from the start).
func (z Zone) Written() int64 {
	switch {
	case z.Type == ZoneTypeConventional:
		return z.Capacity
	case z.Cond == ZoneCondFull:
		return z.Capacity
	}
	return z.WritePointer - z.Start
}

func (z Zone) String() string {
	return fmt.Sprintf("zone@%d len=%d cap=%d wp=%d %s %s", z.Start, z.Len, z.Capacity, z.WritePointer, z.Type, z.Cond)
}
