package alloc

import "errors"

// Errors; test with errors.Is. Every error the package returns wraps one
// of them (or the store's) with what it was doing and on which set,
// segment or drive.
var (
	// ErrNoSpace: too few drives can take a member of a new set, or none
	// the target of a replacement (full, only their cleaner reserve left,
	// at their open-zone limit, faulty or out, holding the set's other
	// members); the error says which and why.
	ErrNoSpace = errors.New("no space")
	// ErrCorrupt: an entry of the allocator's trees that cannot be decoded,
	// or trees that contradict each other.
	ErrCorrupt = errors.New("corrupt allocator metadata")
	// ErrNoSet: no set has that id (never created, or released).
	ErrNoSet = errors.New("no such segment set")
	// ErrState: the set is in the wrong state for the operation (advancing
	// a sealed set, sealing twice, releasing a set with live bytes).
	ErrState = errors.New("segment set in the wrong state")
	// ErrSetOpen: a member of an open set cannot be replaced (its stream
	// still grows; a rebuild reconstructs a complete one): seal the set
	// first. It comes with ErrState.
	ErrSetOpen = errors.New("segment set is open")
	// ErrSetCleaning: a member of a set being cleaned is not replaced
	// now: retry later (once cleaned, the set is released and needs no
	// rebuild). It comes with ErrState.
	ErrSetCleaning = errors.New("segment set is being cleaned")
	// ErrSetFull: the set's stream cannot grow by that much; seal it and
	// continue in another.
	ErrSetFull = errors.New("segment set full")
	// ErrBusy: the set is staged in another batch that is not done, and
	// this batch already holds sets, so waiting could deadlock. Commit (or
	// abandon) this batch and stage the change in the next.
	ErrBusy = errors.New("segment set busy in another uncommitted batch")
	// ErrInvalid: a bad argument or configuration (a layout of no members,
	// a negative size, live bytes below zero, a pool with two drives at one
	// position).
	ErrInvalid = errors.New("invalid argument")
	// ErrPool: the pool given to Open does not match the segment table (a
	// drive with entries that is not in the pool, entries in a metadata
	// range or beyond a drive's last segment).
	ErrPool = errors.New("pool does not match the allocator's tables")
)
