package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-storage/plinth/appliance/events"
)

func (s *Server) status(w http.ResponseWriter, r *http.Request, _ routed) {
	doc := map[string]any{"time": time.Now().UTC()}
	if s.cfg.Status != nil {
		doc["node"] = s.cfg.Status()
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) drives(w http.ResponseWriter, r *http.Request, _ routed) {
	if s.cfg.Drives == nil {
		writeError(w, r, http.StatusNotFound, "NotFound", "no drive list")
		return
	}
	d, err := s.cfg.Drives()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"drives": d})
}

// driveState moves a drive to the state ?state= names; the request's
// client is recorded as who did it.
func (s *Server) driveState(w http.ResponseWriter, r *http.Request, rt routed) {
	if s.cfg.SetDriveState == nil {
		writeError(w, r, http.StatusNotFound, "NotFound", "drive states cannot be changed here")
		return
	}
	pos, err := strconv.Atoi(rt.key)
	if err != nil || pos < 0 {
		writeError(w, r, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("drive %q: want a drive position (GET /v1/drives lists them)", rt.key))
		return
	}
	state := r.URL.Query().Get("state")
	actor := "api " + r.RemoteAddr
	if err := s.cfg.SetDriveState(r.Context(), pos, state, actor); err != nil {
		writeError(w, r, http.StatusBadRequest, "InvalidArgument", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"drive": pos, "state": state})
}

func (s *Server) startRebuild(w http.ResponseWriter, r *http.Request, _ routed) {
	kick(w, r, s.cfg.Rebuild, "rebuild", "rebuilder",
		"every pool with members on faulty or out drives is rebuilt now, then uneven drives rebalanced (progress in GET /v1/status)")
}

// kick starts a background task now (answering 202 with what happens),
// or says the node has no such task.
func kick(w http.ResponseWriter, r *http.Request, start func(), task, worker, what string) {
	if start == nil {
		writeError(w, r, http.StatusNotFound, "NotFound", "this node runs no "+worker)
		return
	}
	start()
	writeJSON(w, http.StatusAccepted, map[string]string{task: what})
}

func (s *Server) startScrub(w http.ResponseWriter, r *http.Request, _ routed) {
	kick(w, r, s.cfg.Scrub, "scrub", "scrubber", "a pass of every pool starts now (progress in GET /v1/status, results in /v1/events)")
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ routed) {
	if s.cfg.Metrics == nil {
		writeError(w, r, http.StatusNotFound, "NotFound", "metrics are not enabled")
		return
	}
	s.cfg.Metrics.ServeHTTP(w, r)
}

// events answers a query of the events journal, or with follow=1 streams
// matching events as JSON lines until the client goes away.
func (s *Server) events(w http.ResponseWriter, r *http.Request, _ routed) {
	if s.cfg.Events == nil {
		writeError(w, r, http.StatusNotFound, "NotFound", "this node keeps no events journal")
		return
	}
	q := r.URL.Query()
	var f events.Filter
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "InvalidArgument", "after: want an event sequence number")
			return
		}
		f.AfterSeq = n
	}
	if k := q.Get("kind"); k != "" {
		f.Kinds = strings.Split(k, ",")
	}
	f.MinSeverity, f.Pool, f.Drive = q.Get("severity"), q.Get("pool"), q.Get("drive")
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, r, http.StatusBadRequest, "InvalidArgument", "limit: want 1 to 10000")
			return
		}
		f.Limit = n
	}
	if q.Get("follow") == "" || q.Get("follow") == "0" {
		evs, err := s.cfg.Events.Query(f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if evs == nil {
			evs = []events.Event{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": evs})
		return
	}
	// Follow: what the query finds now, then what comes.
	evs, err := s.cfg.Events.Query(f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ch := s.cfg.Events.Follow(r.Context(), f)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	rc := http.NewResponseController(w)
	last := f.AfterSeq
	for _, e := range evs {
		enc.Encode(e)
		last = max(last, e.Seq)
	}
	rc.Flush()
	for e := range ch {
		if e.Seq <= last {
			continue
		}
		if enc.Encode(e) != nil || rc.Flush() != nil {
			return
		}
	}
}
