package faultdev

import "time"

// Stats counts the faults a Device injected, by kind.
type Stats struct {
	// Injected IO errors, by operation kind.
	ReadErrors    int
	WriteErrors   int
	FlushErrors   int
	DiscardErrors int
	ZoneErrors    int
	// Delays counts operations that slept for Latency.
	Delays int
	// TornWrites counts writes that landed only partly.
	TornWrites int
	// MisdirectedWrites counts writes that landed elsewhere.
	MisdirectedWrites int
	// ReadFlips counts reads returned with a flipped bit.
	ReadFlips int
	// Busy is how long the media channel armed by Bandwidth was occupied
	// by transfers (a drive's utilisation is Busy over the time taken).
	Busy time.Duration
	// Corruptions counts bits flipped at rest by CorruptAt.
	Corruptions int
	// PowerCuts counts power cuts, explicit or armed.
	PowerCuts int
}

// countError counts an injected error of kind op.
func (s *Stats) countError(op Op) {
	switch op {
	case OpRead:
		s.ReadErrors++
	case OpWrite:
		s.WriteErrors++
	case OpFlush:
		s.FlushErrors++
	case OpDiscard:
		s.DiscardErrors++
	case OpZone:
		s.ZoneErrors++
	}
}
