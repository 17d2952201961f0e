// Package hlc is the node's hybrid logical clock: the versions it assigns
// to writes that come without one. A timestamp orders like the wall clock
// when clocks behave, never goes backwards when they do not (a clock set
// back, a restart on a machine whose clock is behind), and moves past any
// version the node has seen, so a write made after another is never
// ordered before it.
//
// # Format
//
// A timestamp is a uint64: the high 48 bits are milliseconds since the Unix
// epoch (good until the year 10889), the low 16 bits a logical counter that
// orders timestamps issued within one millisecond. Comparing two timestamps
// as integers compares them as versions. 0 is never issued.
//
// # Durability
//
// The clock persists a ceiling: before it issues a timestamp above the last
// persisted ceiling it persists a new one, Window ahead. A restarted clock
// starts above the ceiling it finds, so it issues nothing at or below what
// the previous run may have issued, whatever the wall clock says.
package hlc

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Timestamp is a version: milliseconds << 16 | logical.
type Timestamp uint64

const logicalBits = 16

// Make returns the timestamp of wall time t with logical counter l.
func Make(t time.Time, l uint16) Timestamp {
	return Timestamp(uint64(t.UnixMilli())<<logicalBits | uint64(l))
}

// Time is the wall-clock part of ts.
func (ts Timestamp) Time() time.Time { return time.UnixMilli(int64(ts >> logicalBits)).UTC() }

// Logical is the counter part of ts.
func (ts Timestamp) Logical() uint16 { return uint16(ts) }

func (ts Timestamp) String() string {
	return fmt.Sprintf("%s+%d", ts.Time().Format("2006-01-02T15:04:05.000Z"), ts.Logical())
}

var (
	// ErrDrift: a timestamp from elsewhere is further ahead of this node's
	// wall clock than MaxDrift; taking it would drag every later version
	// into the future.
	ErrDrift = errors.New("timestamp too far ahead of the node's clock")
	// ErrPersist: the ceiling could not be made durable, so no timestamp
	// above the last durable ceiling can be issued.
	ErrPersist = errors.New("clock ceiling not persisted")
)

// Options configure a Clock. Zero values mean the defaults.
type Options struct {
	// Now is the wall clock (time.Now).
	Now func() time.Time
	// MaxDrift bounds how far ahead of the wall clock Update accepts a
	// timestamp (default 5 minutes).
	MaxDrift time.Duration
	// Window is how far ahead of the issued timestamps the persisted
	// ceiling is set (default 10 seconds): one persist per Window of
	// wall time, at most.
	Window time.Duration
	// Persist makes a ceiling durable; it is called with the clock's lock
	// held, so it should be quick. Nil: nothing is persisted (tests).
	Persist func(ceiling Timestamp) error
}

// Clock issues timestamps. It is safe for concurrent use.
type Clock struct {
	opts    Options
	mu      sync.Mutex
	last    Timestamp // the last timestamp issued or seen
	ceiling Timestamp // durable: nothing above it was issued
}

// New returns a clock that issues timestamps above floor: the ceiling the
// last run persisted (0 the first time).
func New(floor Timestamp, opts Options) *Clock {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxDrift <= 0 {
		opts.MaxDrift = 5 * time.Minute
	}
	if opts.Window <= 0 {
		opts.Window = 10 * time.Second
	}
	return &Clock{opts: opts, last: floor, ceiling: floor}
}

// Now issues a timestamp greater than every one issued or seen before.
func (c *Clock) Now() (Timestamp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := max(Make(c.opts.Now(), 0), c.last+1)
	if err := c.reserve(ts); err != nil {
		return 0, err
	}
	c.last = ts
	return ts, nil
}

// reserve persists a new ceiling when ts passes the durable one.
func (c *Clock) reserve(ts Timestamp) error {
	if ts <= c.ceiling || c.opts.Persist == nil {
		if c.opts.Persist == nil && ts > c.ceiling {
			c.ceiling = ts
		}
		return nil
	}
	next := ts + Timestamp(c.opts.Window.Milliseconds())<<logicalBits
	if err := c.opts.Persist(next); err != nil {
		return fmt.Errorf("%w: %w", ErrPersist, err)
	}
	c.ceiling = next
	return nil
}

// Update takes in a timestamp seen elsewhere (a client's version, a peer's
// message): every later Now is greater than it. A timestamp more than
// MaxDrift ahead of the wall clock is refused with ErrDrift.
func (c *Clock) Update(ts Timestamp) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := c.opts.Now()
	if limit := Make(wall.Add(c.opts.MaxDrift), 0); ts > limit {
		return fmt.Errorf("%w: %v is %v ahead of %v (at most %v)", ErrDrift, ts, ts.Time().Sub(wall).Round(time.Millisecond), wall.UTC().Format(time.RFC3339), c.opts.MaxDrift)
	}
	if ts <= c.last {
		return nil
	}
	if err := c.reserve(ts); err != nil {
		return err
	}
	c.last = ts
	return nil
}

// Last returns the last timestamp issued or seen.
func (c *Clock) Last() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
