package server

import (
	"context"

	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// emit journals an event, counts it and logs what is worse than info.
func (s *Server) emit(e events.Event) {
	if s.events != nil {
		s.events.Emit(e)
	}
	if s.metrics != nil {
		s.metrics.Events(e.Kind, e.Severity)
	}
}

// poolEvent takes a pool's event.
func (s *Server) poolEvent(pe pool.Event) {
	e := events.FromPool(pe)
	if pe.Kind == pool.EventDriveFailed && pe.HasDrive && s.rebuild != nil {
		// Recorded (so it holds across a restart) and rebuilt, off the
		// pool's goroutine.
		go func() {
			if err := s.SetDriveState(context.Background(), int(pe.Drive), "faulty", "node"); err != nil {
				s.log.Error("record a failed drive", "drive", pe.Drive, "err", err)
			}
		}()
	}
	if events.SeverityRank(e.Severity) >= events.SeverityRank(events.Warning) {
		s.log.Warn("pool event", "pool", pe.Pool, "kind", pe.Kind, "set", pe.Set, "detail", pe.Detail)
	}
	s.emit(e)
}

// storeEvent takes the metadata store's event; checkpoints, which come
// every few seconds under load, are counted but not journaled.
func (s *Server) storeEvent(se store.Event) {
	e := events.FromStore(se)
	if se.Kind == "checkpoint" {
		if s.metrics != nil {
			s.metrics.Events(e.Kind, e.Severity)
		}
		return
	}
	if events.SeverityRank(e.Severity) >= events.SeverityRank(events.Warning) {
		s.log.Warn("metadata event", "kind", se.Kind, "mirror", se.Mirror, "detail", se.Detail)
	}
	s.emit(e)
}
