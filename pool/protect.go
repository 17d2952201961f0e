package pool

import (
	"errors"
	"fmt"
	"sync"

	"github.com/plinth-storage/plinth/btree/store"
)

// protectState is the write-protect mode: on when metadata space runs out.
type protectState struct {
	mu     sync.Mutex
	on     bool
	reason string
}

func (s *protectState) get() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.on, s.reason
}

// set switches the mode and says whether it changed.
func (s *protectState) set(on bool, reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.on != on
	s.on, s.reason = on, reason
	return changed
}

// writeAllowed refuses writes in write-protect mode. It measures the
// metadata space each time (cheap: counters): what the store needs to go
// on checkpointing (store.Space.Needed: live bytes, changes, and the room a
// checkpoint writes into before it frees anything), entering the mode at
// Options.ProtectAt of the capacity and leaving it 5 points below, so a
// pool hovering at the threshold does not flap.
func (p *Pool) writeAllowed() error {
	sp := p.st.Space()
	used := sp.Used()
	on, _ := p.protect.get()
	switch {
	case !on && used >= p.opts.ProtectAt:
		p.enterProtect(fmt.Sprintf("metadata space %.0f%% needed (%.1f MiB live, %.1f MiB of changes, %.1f MiB kept free for checkpoints, of %.1f MiB; write-protect at %.0f%%)",
			used*100, mib(sp.LiveBytes), mib(sp.DirtyBytes), mib(sp.Reserve()), mib(sp.Capacity()), p.opts.ProtectAt*100))
	case on && used < p.opts.ProtectAt-0.05 && !errors.Is(sp.LastCheckpointErr, store.ErrMetadataFull):
		if p.protect.set(false, "") {
			p.event(Event{Kind: EventWriteProtectOff, Detail: fmt.Sprintf("metadata space %.0f%% used", used*100)})
		}
	}
	if on, reason := p.protect.get(); on {
		return fmt.Errorf("pool %s: %w: %s; reads and deletes continue; delete data to make room", p.name, ErrWriteProtected, reason)
	}
	return nil
}

func (p *Pool) enterProtect(reason string) {
	if p.protect.set(true, reason) {
		p.event(Event{Kind: EventWriteProtect, Detail: reason})
	}
}

// commitFailed enters write-protect mode when a commit failed for want of
// metadata space.
func (p *Pool) commitFailed(err error) {
	if errors.Is(err, store.ErrMetadataFull) {
		p.enterProtect("a metadata commit failed: " + err.Error())
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
