package faultdev

import "fmt"

// Op is a kind of operation faults can be armed for.
type Op uint8

const (
	// OpRead is ReadAt.
	OpRead Op = iota
	// OpWrite is WriteAt.
	OpWrite
	// OpFlush is Flush. For FailRange a flush covers the whole device.
	OpFlush
	// OpDiscard is Discard.
	OpDiscard
	// OpZone is every zone operation: ResetZone, OpenZone, CloseZone,
	// FinishZone and ReportZones. For FailRange a zone operation covers
	// the zone it names; a report covers the device from its offset on.
	OpZone

	numOps
)

func (o Op) valid() bool { return o < numOps }

func (o Op) String() string {
	switch o {
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	case OpFlush:
		return "flush"
	case OpDiscard:
		return "discard"
	case OpZone:
		return "zone"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// CutMode says what a power cut does to the writes no Flush covered.
type CutMode uint8

const (
	// CutDrop undoes every unflushed write: the media holds exactly what
	// the last completed Flush covered.
	CutDrop CutMode = iota
	// CutTear keeps, for each unflushed write independently, a random
	// subset of its logical blocks and undoes the rest.
	CutTear
)

func (m CutMode) valid() bool { return m == CutDrop || m == CutTear }

func (m CutMode) String() string {
	switch m {
	case CutDrop:
		return "drop"
	case CutTear:
		return "tear"
	}
	return fmt.Sprintf("CutMode(%d)", uint8(m))
}
