package pool

import (
	"fmt"
	"strings"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/internal/human"
)

// FSStat is a pool's space: its data (the allocator's figures) and the
// metadata store it keeps its index in.
type FSStat struct {
	Pool string       `json:"pool"`
	Data alloc.FSStat `json:"data"`
	// Metadata is the node's metadata store, which every pool shares.
	Metadata MetadataStat `json:"metadata"`
	// WriteProtected says why writes are refused, when they are.
	WriteProtected string `json:"write_protected,omitempty"`
}

// MetadataStat is the metadata store's space.
type MetadataStat struct {
	CapacityBytes int64 `json:"capacity_bytes"` // its segments (on each mirror)
	UsedBytes     int64 `json:"used_bytes"`     // live in the last checkpoint
	DirtyBytes    int64 `json:"dirty_bytes"`    // changes not checkpointed yet
	// ReservedBytes is kept free so checkpoints can go on: the largest
	// checkpoint and two segments. Write-protect starts when used, dirty
	// and reserved reach ProtectAt of the capacity.
	ReservedBytes int64   `json:"reserved_bytes"`
	ProtectAt     float64 `json:"protect_at"`
}

// FSStat returns the pool's space. It costs counters only.
func (p *Pool) FSStat() FSStat {
	sp := p.st.Space()
	_, why := p.protect.get()
	return FSStat{
		Pool: p.name,
		Data: p.al.FSStat(),
		Metadata: MetadataStat{
			CapacityBytes: sp.Capacity(), UsedBytes: sp.LiveBytes, DirtyBytes: sp.DirtyBytes,
			ReservedBytes: sp.Reserve(), ProtectAt: p.opts.ProtectAt,
		},
		WriteProtected: why,
	}
}

func (f FSStat) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pool %s: %v\n", f.Pool, f.Data)
	m := f.Metadata
	fmt.Fprintf(&b, "  metadata     %s used, %s of changes, %s reserved, of %s (write-protect at %.0f%%)",
		human.IBytes(m.UsedBytes), human.IBytes(m.DirtyBytes), human.IBytes(m.ReservedBytes), human.IBytes(m.CapacityBytes), m.ProtectAt*100)
	if f.WriteProtected != "" {
		fmt.Fprintf(&b, "\n  WRITE-PROTECTED: %s", f.WriteProtected)
	}
	return b.String()
}
