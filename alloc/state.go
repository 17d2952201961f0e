package alloc

import "fmt"

// State is the state of a segment or of a set. A segment is in its set's
// state; a free segment belongs to no set.
type State uint8

const (
	StateFree     State = 0 // in no set; a set is free once released (its entry is deleted)
	StateOpen     State = 1 // being written
	StateSealed   State = 2 // written; its zones are finished
	StateCleaning State = 3 // the cleaner is relocating its live records
)

func (s State) String() string {
	switch s {
	case StateFree:
		return "free"
	case StateOpen:
		return "open"
	case StateSealed:
		return "sealed"
	case StateCleaning:
		return "cleaning"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

func (s State) valid() bool { return s <= StateCleaning }

// Health is what the node knows of a drive. Faulty and out drives get no
// new members; slow ones get fewer (Options.SlowWeight).
type Health uint8

const (
	Online Health = iota
	Slow          // fail-slow: works, but its latency drags stripes down
	Faulty        // errors: being drained or rebuilt
	Out           // gone: removed or failed for good
)

func (h Health) String() string {
	switch h {
	case Online:
		return "online"
	case Slow:
		return "slow"
	case Faulty:
		return "faulty"
	case Out:
		return "out"
	}
	return fmt.Sprintf("health(%d)", uint8(h))
}

// allocatable reports whether a drive in health h may take new members.
func (h Health) allocatable() bool { return h == Online || h == Slow }
