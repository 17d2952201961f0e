package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// DrivesTree keeps the drive states an operator or the node set, so they
// hold across restarts: key the drive's position (4, big endian), value
// (version 1): version (1), health (1: alloc.Health), time of the change
// (8, Unix ns), who made it (the rest: "node" or the API's actor).
const DrivesTree = "node/drives"

// DriveState is a drive's state as the node keeps it.
type DriveState struct {
	Position uint32 `json:"position"`
	Path     string `json:"path"`
	Pool     string `json:"pool,omitempty"`
	Health   string `json:"state"`
	// Sets is how many segment sets have a member on the drive.
	Sets int `json:"sets"`
	// Rebuilding: the drive is faulty or out and a rebuild is moving its
	// members elsewhere now.
	Rebuilding bool      `json:"rebuilding,omitempty"`
	Changed    time.Time `json:"changed,omitzero"`
	By         string    `json:"by,omitempty"`
}

// ParseHealth reads a drive state's name.
func ParseHealth(s string) (alloc.Health, error) {
	for _, h := range []alloc.Health{alloc.Online, alloc.Slow, alloc.Faulty, alloc.Out, alloc.Spare} {
		if h.String() == s {
			return h, nil
		}
	}
	return 0, fmt.Errorf("drive state %q: want online, slow, faulty, out or spare", s)
}

func encodeDriveState(h alloc.Health, at time.Time, by string) []byte {
	b := []byte{1, byte(h)}
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	return append(b, by...)
}

func decodeDriveState(b []byte) (alloc.Health, time.Time, string, error) {
	if len(b) < 10 || b[0] != 1 {
		return 0, time.Time{}, "", fmt.Errorf("%w: drive state of %d bytes", store.ErrCorrupt, len(b))
	}
	return alloc.Health(b[1]), time.Unix(0, int64(binary.BigEndian.Uint64(b[2:]))).UTC(), string(b[10:]), nil
}

// applyDriveStates gives the pools the drive states recorded (at open).
func (s *Server) applyDriveStates(ctx context.Context) error {
	if err := s.meta.CreateTree(ctx, DrivesTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return fmt.Errorf("drive states: %w", err)
	}
	for _, d := range s.node.Drives {
		pos := d.Label.Label().Position
		v, ok, err := s.meta.Get(DrivesTree, binary.BigEndian.AppendUint32(nil, pos))
		if err != nil {
			return fmt.Errorf("drive states: %w", err)
		}
		if !ok {
			continue
		}
		h, _, _, err := decodeDriveState(v)
		if err != nil {
			return fmt.Errorf("drive %d: %w", pos, err)
		}
		if p := s.poolOf(pos); p != nil {
			if err := p.Allocator().SetHealth(pos, h); err != nil {
				return fmt.Errorf("drive %d: %w", pos, err)
			}
		}
	}
	return nil
}

// Drives lists the node's drives and their states.
func (s *Server) Drives() ([]DriveState, error) {
	var out []DriveState
	for _, d := range s.node.Drives {
		pos := d.Label.Label().Position
		ds := DriveState{Position: pos, Path: d.Path, Health: alloc.Online.String()}
		if p := s.poolOf(pos); p != nil {
			s.describe(&ds, p)
		}
		v, ok, err := s.meta.Get(DrivesTree, binary.BigEndian.AppendUint32(nil, pos))
		if err != nil {
			return nil, err
		}
		if ok {
			if _, at, by, err := decodeDriveState(v); err == nil {
				ds.Changed, ds.By = at, by
			}
		}
		out = append(out, ds)
	}
	for _, pos := range s.node.Missing {
		ds := DriveState{Position: uint32(pos), Path: "(missing)", Health: alloc.Out.String(), By: "node: the drive was not found at start"}
		if p := s.poolOf(uint32(pos)); p != nil {
			s.describe(&ds, p)
		}
		out = append(out, ds)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Position < out[j].Position })
	return out, nil
}

// SetDriveState moves a drive to a state (online, slow, faulty, out or
// spare), records it, reports it as an event naming who did it, and starts
// a rebuild when the drive can no longer be trusted with its data.
func (s *Server) SetDriveState(ctx context.Context, pos int, state, by string) error {
	h, err := ParseHealth(state)
	if err != nil {
		return err
	}
	if pos < 0 || pos >= s.node.Formatted {
		return fmt.Errorf("no drive at position %d (the node has 0 to %d)", pos, s.node.Formatted-1)
	}
	p := s.poolOf(uint32(pos))
	if p == nil {
		return fmt.Errorf("drive %d belongs to no pool", pos)
	}
	if err := p.Allocator().SetHealth(uint32(pos), h); err != nil {
		return fmt.Errorf("drive %d: %w", pos, err)
	}
	b := store.NewBatch()
	b.Put(DrivesTree, binary.BigEndian.AppendUint32(nil, uint32(pos)), encodeDriveState(h, time.Now().UTC(), by))
	if _, err := s.meta.Commit(ctx, b); err != nil {
		return fmt.Errorf("record the state of drive %d: %w", pos, err)
	}
	sev := events.Info
	if h == alloc.Faulty || h == alloc.Out {
		sev = events.Warning
	}
	s.emit(events.Event{Severity: sev, Kind: "drive-state", Source: "drive", Pool: p.Name(), Drive: s.drivePath(uint32(pos)), Actor: by,
		Detail: fmt.Sprintf("drive %d is now %s%s", pos, h, map[bool]string{true: ": its members are rebuilt elsewhere", false: ""}[h == alloc.Faulty || h == alloc.Out])})
	if h == alloc.Faulty || h == alloc.Out {
		s.rebuild.Kick()
	}
	return nil
}

// drivePath names a drive by position.
func (s *Server) drivePath(pos uint32) string {
	for _, d := range s.node.Drives {
		if d.Label.Label().Position == pos {
			return d.Path
		}
	}
	return fmt.Sprintf("position %d", pos)
}

// actorOf cleans an actor name for the record.
func actorOf(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// describe fills in what the drive's pool knows of it.
func (s *Server) describe(ds *DriveState, p *pool.Pool) {
	ds.Pool = p.Name()
	for _, di := range p.Allocator().Drives() {
		if di.Position == ds.Position {
			ds.Health = di.Health.String()
		}
	}
	if ids, err := p.Allocator().SetsOn(context.Background(), ds.Position); err == nil {
		ds.Sets = len(ids)
	}
	if ds.Sets > 0 && (ds.Health == alloc.Faulty.String() || ds.Health == alloc.Out.String()) {
		for _, st := range s.rebuild.Status() {
			if st.Pool == p.Name() && st.Running {
				ds.Rebuilding = true
			}
		}
	}
}

// ClearDriveState forgets the state recorded for a drive (a replacement
// drive starts online). The node must not be running.
func ClearDriveState(ctx context.Context, st *store.Store, pos int) error {
	if err := st.CreateTree(ctx, DrivesTree, ""); err != nil && !errors.Is(err, store.ErrExists) {
		return err
	}
	b := store.NewBatch()
	b.Delete(DrivesTree, binary.BigEndian.AppendUint32(nil, uint32(pos)))
	_, err := st.Commit(ctx, b)
	return err
}
