package datalog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
)

// TestZoned: members in sequential zones (written at the write pointer,
// reset by Create).
func TestZoned(t *testing.T) {
	l := stripe.Layout{N: 2, K: 1, Unit: 16 << 10}
	cfg := zonemu.Config{
		ZoneSize: 256 << 10, ZoneCapacity: 256<<10 - 8192,
		NrZones: 3, NrConventional: 1, LogicalBlockSize: 4096,
	}
	set := Set{ID: 77, Layout: l}
	for i := range l.Members() {
		mem := memdev.New(fmt.Sprintf("z%d", i), int64(cfg.NrZones)*cfg.ZoneSize+zonemu.MetadataSize(cfg), 4096)
		zd, err := zonemu.Create(mem, cfg)
		if err != nil {
			t.Fatal(err)
		}
		set.Members = append(set.Members, Member{
			Loc:   seg.Location{Dev: zd, Index: 1, Start: cfg.ZoneSize, Capacity: cfg.ZoneCapacity, Sequential: true},
			Drive: uuid.New(), Generation: 1,
		})
	}
	rng := rand.New(rand.NewPCG(30, 30))
	want := (cfg.ZoneCapacity - 4096) / int64(l.Unit) * StripeBytes(l)
	stream := write(t, set, rng, want)
	if int64(len(stream)) != want {
		t.Fatalf("stream %d bytes, want the whole set (%d)", len(stream), want)
	}
	r := Open(set, int64(len(stream)))
	check(t, r, stream, 0, int64(len(stream)))
	deg := set
	deg.Members = slices.Clone(set.Members)
	deg.Members[0].Loc.Dev = nil
	rep := check(t, Open(deg, int64(len(stream))), stream, 0, int64(len(stream)))
	if !slices.Equal(rep.Missing, []int{0}) || !slices.Equal(rep.Rebuilt, []int{0}) {
		t.Fatalf("report %v", rep)
	}
	// A new generation resets the zones: the old stream is gone, and
	// reading it is an error, never old data.
	set2 := withGen(set, 2)
	stream2 := write(t, set2, rng, StripeBytes(l))
	check(t, Open(set2, int64(len(stream2))), stream2, 0, int64(len(stream2)))
	if _, err := Open(set2, int64(len(stream))).ReadAt(make([]byte, 10), int64(len(stream))-10); !errors.Is(err, stripe.ErrUnrecoverable) {
		t.Fatalf("read past generation 2's data: %v", err)
	}
}
