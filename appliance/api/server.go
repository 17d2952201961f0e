package api

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/appliance/kv"
	"github.com/plinth-storage/plinth/appliance/objects"
)

// Observer receives the figures of every request (package metrics's
// Metrics is one).
type Observer interface {
	ObserveRequest(api, op string, status int, d time.Duration, bytesIn, bytesOut int64)
	InFlight(delta int)
	Rejected(reason string)
}

// Limits bound what a request may ask. Zero values mean the defaults.
type Limits struct {
	MaxConcurrent int           // requests running at once (default 64)
	MaxQueue      int           // requests waiting for a slot (default 256)
	QueueWait     time.Duration // how long one waits (default 10s)
	MaxValue      int64         // a key-value body (default kv's limit)
	MaxBatch      int64         // a batch's JSON body (default 8 MiB)
	MaxBundle     int64         // a firmware bundle (default DefaultMaxBundle, 1 GiB)
}

// Config is what the API serves.
type Config struct {
	Objects *objects.Store
	KV      *kv.KV
	Events  *events.Journal // nil: /v1/events answers 404
	// Token is the bearer token every request must carry.
	Token string
	// Status returns the node's status document for /v1/status.
	Status func() any
	// Scrub starts a scrub pass of every pool now (POST /v1/scrub; nil:
	// 404).
	Scrub func()
	// Rebuild starts a rebuild (and rebalance) round now (POST
	// /v1/rebuild; nil: 404).
	Rebuild func()
	// Drives lists the drives and their states (GET /v1/drives).
	Drives func() (any, error)
	// SetDriveState moves a drive to a state (POST /v1/drives/POS?state=).
	SetDriveState func(ctx context.Context, pos int, state, actor string) error
	// Firmware updates the node's firmware (/v1/firmware, firmware.go;
	// nil: 404).
	Firmware Firmware
	// Metrics serves /metrics (nil: 404).
	Metrics http.Handler
	// Observer receives request figures (nil: none).
	Observer Observer
	Limits   Limits
	Log      *slog.Logger
}

// Server is the HTTP API. It is an http.Handler.
type Server struct {
	cfg    Config
	token  []byte
	slots  chan struct{}
	queued atomic.Int64
	nextID atomic.Uint64

	mu       sync.Mutex
	inflight map[uint64]*Request

	pause pauser // see pause.go
}

// Request is a request under way (for the console's request list).
type Request struct {
	ID     string    `json:"id"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Client string    `json:"client"`
	Op     string    `json:"op"`
	Start  time.Time `json:"start"`
	Queued bool      `json:"queued"`
	Held   bool      `json:"held,omitempty"` // waiting for a pause to end (pause.go)
}

// New returns the API server.
func New(cfg Config) (*Server, error) {
	if cfg.Objects == nil || cfg.KV == nil {
		return nil, fmt.Errorf("api: objects and kv are required")
	}
	if len(cfg.Token) < 16 {
		return nil, fmt.Errorf("api: the bearer token must be at least 16 characters")
	}
	l := &cfg.Limits
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = 64
	}
	if l.MaxQueue <= 0 {
		l.MaxQueue = 256
	}
	if l.QueueWait <= 0 {
		l.QueueWait = 10 * time.Second
	}
	if l.MaxBatch <= 0 {
		l.MaxBatch = 8 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, token: []byte(cfg.Token), slots: make(chan struct{}, l.MaxConcurrent), inflight: map[uint64]*Request{}}, nil
}

// Requests lists the requests under way, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, 0, len(s.inflight))
	for _, r := range s.inflight {
		out = append(out, *r)
	}
	sortRequests(out)
	return out
}

// ServeHTTP authenticates, admits and routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := s.nextID.Add(1)
	rw := &responseWriter{ResponseWriter: w, status: http.StatusOK}
	rw.Header().Set("X-Request-Id", fmt.Sprint(id))
	start := time.Now()
	rt := route(r)
	defer func() {
		d := time.Since(start)
		var in int64
		if cr, ok := r.Body.(*countingBody); ok {
			in = cr.n
		}
		if s.cfg.Observer != nil {
			s.cfg.Observer.ObserveRequest(rt.api, rt.op, rw.status, d, in, rw.written)
		}
		lvl := slog.LevelDebug
		if rw.status >= 500 {
			lvl = slog.LevelWarn
		}
		s.cfg.Log.Log(r.Context(), lvl, "request", "id", id, "method", r.Method, "path", r.URL.EscapedPath(), "op", rt.op,
			"status", rw.status, "duration", d, "in", in, "out", rw.written, "client", r.RemoteAddr)
	}()
	if !s.authorized(r) {
		rw.Header().Set("WWW-Authenticate", `Bearer realm="plinth"`)
		writeError(rw, r, http.StatusUnauthorized, "Unauthorized", "missing or wrong bearer token")
		return
	}
	if rt.handler == nil {
		writeError(rw, r, rt.status, rt.code, rt.message)
		return
	}
	req := &Request{ID: fmt.Sprint(id), Method: r.Method, Path: r.URL.EscapedPath(), Client: r.RemoteAddr, Op: rt.op, Start: start, Queued: true}
	s.mu.Lock()
	s.inflight[id] = req
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inflight, id)
		s.mu.Unlock()
	}()
	if !rt.unlimited {
		if !s.pauseGate(rw, r, req) {
			return
		}
		release, ok := s.admit(rw, r)
		if !ok {
			return
		}
		defer release()
	}
	s.mu.Lock()
	req.Queued = false
	s.mu.Unlock()
	if s.cfg.Observer != nil {
		s.cfg.Observer.InFlight(1)
		defer s.cfg.Observer.InFlight(-1)
	}
	if !rt.unlimited {
		r.Body = &heldBody{ReadCloser: r.Body, s: s, ctx: r.Context()}
		rw.hold = func() { s.holdInFlight(r.Context()) }
	}
	r.Body = &countingBody{ReadCloser: r.Body}
	rt.handler(s, rw, r, rt)
}

// authorized checks the bearer token in constant time.
func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), s.token) == 1
}

// admit takes a slot, waiting in a bounded queue for one; it answers 503
// itself when it cannot.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (func(), bool) {
	release := func() { <-s.slots }
	select {
	case s.slots <- struct{}{}:
		return release, true
	default:
	}
	if s.queued.Add(1) > int64(s.cfg.Limits.MaxQueue) {
		s.queued.Add(-1)
		s.reject(w, r, "queue-full", fmt.Sprintf("the node is busy: %d requests running and %d waiting", s.cfg.Limits.MaxConcurrent, s.cfg.Limits.MaxQueue))
		return nil, false
	}
	defer s.queued.Add(-1)
	t := time.NewTimer(s.cfg.Limits.QueueWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return release, true
	case <-t.C:
		s.reject(w, r, "queue-timeout", fmt.Sprintf("the node is busy: no request slot within %v", s.cfg.Limits.QueueWait))
	case <-r.Context().Done():
		s.reject(w, r, "client-gone", "the client went away while the request waited")
	}
	return nil, false
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, reason, msg string) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.Rejected(reason)
	}
	w.Header().Set("Retry-After", "1")
	writeError(w, r, http.StatusServiceUnavailable, "SlowDown", msg)
}

// responseWriter records the status and the bytes written.
type responseWriter struct {
	http.ResponseWriter
	status      int
	written     int64
	wroteHeader bool
	hold        func() // waits while the API holds requests in flight (nil: never)
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.hold != nil {
		w.hold()
	}
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// Flush lets streaming handlers (events follow) push what they wrote.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
