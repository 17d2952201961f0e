package torture

import (
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
)

// rail is the power supply every drive of the node shares: a cut armed on
// it happens instead of the n-th IO (of any drive) from the arming, and
// takes every drive down at once, as a power failure does. Each drive's
// fault injector then drops or tears what no flush covered.
type rail struct {
	mu     sync.Mutex
	armed  bool
	left   int // IOs before the cut
	mode   faultdev.CutMode
	fired  bool
	drives []*faultdev.Device
	// lyingFlush: flushes succeed without flushing (a test of the
	// harness itself).
	lyingFlush bool
}

// arm cuts the power instead of the (after+1)-th IO from now.
func (r *rail) arm(after int, mode faultdev.CutMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed, r.left, r.mode = true, after, mode
}

// cutNow cuts every drive now.
func (r *rail) cutNow(mode faultdev.CutMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cutLocked(mode)
}

func (r *rail) cutLocked(mode faultdev.CutMode) {
	for _, d := range r.drives {
		_ = d.PowerCut(mode) // a closed drive has nothing to lose
	}
	r.armed, r.fired = false, true
}

// tick counts one IO; it reports whether the power went instead.
func (r *rail) tick() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.armed {
		return false
	}
	if r.left > 0 {
		r.left--
		return false
	}
	r.cutLocked(r.mode)
	return true
}

// hasFired reports whether an armed cut happened, and forgets it.
func (r *rail) hasFired() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.fired
	r.fired = false
	return f
}

// peek reports whether an armed cut happened (without forgetting it).
func (r *rail) peek() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fired
}

// disarm forgets an armed cut that did not happen.
func (r *rail) disarm() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed = false
}

// railed is a drive on the rail: every IO ticks it first. A drive whose
// power went refuses the IO itself (its injector is off).
type railed struct {
	*faultdev.Device
	r *rail
}

func (d railed) ReadAt(p []byte, off int64) (int, error) {
	d.r.tick()
	return d.Device.ReadAt(p, off)
}

func (d railed) WriteAt(p []byte, off int64) (int, error) {
	d.r.tick()
	return d.Device.WriteAt(p, off)
}

func (d railed) Flush() error {
	d.r.tick()
	if d.r.lyingFlush {
		return nil
	}
	return d.Device.Flush()
}

func (d railed) Discard(off, length int64) error {
	d.r.tick()
	return d.Device.Discard(off, length)
}

var _ dev.Device = railed{}
