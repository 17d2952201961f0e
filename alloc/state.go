package alloc

import "fmt"

// State is the state of a segment or of a set. A segment is in its set's
// state; a free segment belongs to no set; a rebuilding segment is the
// target of a pending member replacement of its set (BeginReplace), not
// yet one of its members, and only segments are ever rebuilding.
type State uint8

const (
	StateFree     State = 0 // in no set; a set is free once released (its entry is deleted)
	StateOpen     State = 1 // being written
	StateSealed   State = 2 // written; its zones are finished
	StateCleaning State = 3 // the cleaner is relocating its live records
	// StateRebuilding is a segment being written with a reconstructed
	// member of its set (the target of a pending replacement). A set is
	// never in this state.
	StateRebuilding State = 4
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
	case StateRebuilding:
		return "rebuilding"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// valid reports whether s is a segment's state.
func (s State) valid() bool { return s <= StateRebuilding }

// validSet reports whether s is a state a set entry may hold.
func (s State) validSet() bool { return s >= StateOpen && s <= StateCleaning }

// Health is what the node knows of a drive. Faulty and out drives get no
// new members; slow ones only when too few online drives can take them;
// spare ones get
// rebuild targets only, and before any other drive.
type Health uint8

const (
	Online Health = iota
	Slow          // fail-slow: works, but its latency drags stripes down
	Faulty        // errors: being drained or rebuilt
	Out           // gone: removed or failed for good
	// Spare is a drive kept for rebuilds: BeginReplace puts targets on
	// spare drives first (all their free segments, no cleaner reserve);
	// NewSet never uses them.
	Spare
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
	case Spare:
		return "spare"
	}
	return fmt.Sprintf("health(%d)", uint8(h))
}

// allocatable reports whether a drive in health h may take new members.
func (h Health) allocatable() bool { return h == Online || h == Slow }

// rebuildable reports whether a drive in health h may take rebuild
// targets.
func (h Health) rebuildable() bool { return h == Online || h == Slow || h == Spare }

func (h Health) valid() bool { return h <= Spare }
