package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/plinth-storage/plinth/appliance/events"
)

func (s *Server) status(w http.ResponseWriter, r *http.Request, _ routed) {
	doc := map[string]any{"time": timeNow().UTC()}
	if s.cfg.Status != nil {
		doc["node"] = s.cfg.Status()
	}
	writeJSON(w, http.StatusOK, doc)
}

func (s *Server) startScrub(w http.ResponseWriter, r *http.Request, _ routed) {
	if s.cfg.Scrub == nil {
		writeError(w, r, http.StatusNotFound, "NotFound", "this node runs no scrubber")
		return
	}
	s.cfg.Scrub()
	writeJSON(w, http.StatusAccepted, map[string]string{"scrub": "a pass of every pool starts now (progress in GET /v1/status, results in /v1/events)"})
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
