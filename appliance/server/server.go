package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/api"
	"github.com/plinth-storage/plinth/appliance/console"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/appliance/kv"
	"github.com/plinth-storage/plinth/appliance/metrics"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/iostat"
	"github.com/plinth-storage/plinth/pool"
)

// Options are what the caller of Open provides besides the configuration.
type Options struct {
	// Out receives what an operator starting the node reads: the node,
	// where the API listens, the token and how to use it.
	Out io.Writer
	// Log receives the structured logs (a discarding logger when nil).
	Log *slog.Logger
	// Default is the embedded default's drive layout (tests make it
	// small); zero: appliance's default.
	Default appliance.DefaultOptions
	// Pool tunes the pools (tests turn the cleaner to manual); Events is
	// set by the server.
	Pool pool.Options
	// Store tunes the metadata store (cache, checkpoints); Mirrors and
	// Events are set by the server.
	Store store.Options
	// OpenDrive, when set, opens each configured drive path instead of
	// appliance.OpenDevice (the torture harness's in-memory drives).
	OpenDrive func(path string) (dev.Device, error)
	// UnderInit says whether plinth init runs this serve, so that POST
	// /v1/firmware/reboot may ask it to reboot (an error wrapping
	// api.ErrNotUnderInit when not); nil: serve's parent is PID 1 running
	// this same binary (firmware.go).
	UnderInit func() error
	// SignalInit sends a signal to plinth init (SIGTERM: reboot); nil:
	// kill(1, sig). Tests observe the reboot here.
	SignalInit func(os.Signal) error
}

// Server is a running node.
type Server struct {
	cfg   Config
	log   *slog.Logger
	out   io.Writer
	start time.Time

	drives  []*iostat.Device
	node    *appliance.Node
	meta    *store.Store
	clock   *hlc.Clock
	pools   []*pool.Pool
	objects *objects.Store
	kv      *kv.KV
	events  *events.Journal
	metrics *metrics.Metrics
	api     *api.Server
	token   string

	firmware *firmware // the API's firmware updates (firmware.go)

	ln   net.Listener
	http *http.Server

	console     *console.Server
	consoleOnce sync.Once
	logs        *console.LogRing

	health  *healthMonitor
	slow    *slowMonitor
	probes  atomic.Pointer[latencyProbes]
	scrub   *scrubber
	rebuild *rebuilder
	bg      sync.WaitGroup
	stop    chan struct{}
}

// Open opens the node the configuration describes and binds the API's
// listener. Serve runs it. On error everything opened is closed again.
func Open(cfg Config, o Options) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: o.Log, out: o.Out, start: time.Now(), stop: make(chan struct{})}
	s.tapLogs()
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if s.events, err = events.Open(filepath.Join(cfg.DataDir, "events"), events.Options{}); err != nil {
		return nil, err
	}
	closers = append(closers, s.events.Close)
	var created bool
	if s.token, created, err = ensureToken(cfg.DataDir); err != nil {
		return nil, err
	}
	paths := cfg.Drives
	if len(paths) == 0 {
		d := o.Default
		d.Progress = o.Out
		var made bool
		if paths, made, err = appliance.EnsureDefault(cfg.DataDir, d); err != nil {
			return nil, err
		}
		if made {
			fmt.Fprintf(o.Out, "created the embedded default node in %s\n", cfg.DataDir)
			s.emit(events.Event{Severity: events.Info, Kind: "node-created", Source: "node", Detail: fmt.Sprintf("embedded default: %d emulated drives in %s", len(paths), cfg.DataDir)})
		}
	}
	s.node, err = appliance.OpenNodeWith(paths, appliance.NodeOptions{Open: o.OpenDrive, Wrap: func(d dev.Device) dev.Device {
		w := iostat.Wrap(d)
		s.drives = append(s.drives, w)
		return w
	}})
	if err != nil {
		return nil, err
	}
	closers = append(closers, s.node.Close)
	for _, u := range s.node.Unreadable {
		w := fmt.Sprintf("WARNING: drive %s is left out: its label cannot be read (%v); the node runs without it", u.Path, u.Err)
		fmt.Fprintln(o.Out, w)
		s.log.Warn(w)
		s.emit(events.Event{Severity: events.Error, Kind: "drive-unreadable", Source: "drive", Drive: u.Path, Detail: w})
	}
	sopts := o.Store
	sopts.Events = s.storeEvent
	// Serve resilvers partial mirrors with the other background work,
	// once the node is set up (its events need the journal and metrics).
	sopts.ManualResilver = true
	if s.meta, err = s.node.OpenStore(sopts); err != nil {
		return nil, err
	}
	closers = append(closers, s.meta.Close)
	ctx := context.Background()
	if s.clock, err = openClock(ctx, s.meta); err != nil {
		return nil, err
	}
	specs, err := cfg.poolSpecs()
	if err != nil {
		return nil, err
	}
	// The fail-slow monitor gives the pools their hedged-read deadlines.
	s.slow = newSlowMonitor(s, cfg.SlowFactor, time.Duration(cfg.SlowWindow))
	popts := o.Pool
	popts.Events = s.poolEvent
	if popts.Hedge == nil {
		popts.Hedge = s.slow.hedge
	}
	s.pools, err = s.node.OpenPoolSpecs(ctx, s.meta, specs, popts, func(w string) {
		fmt.Fprintln(o.Out, w)
		s.log.Warn(w)
		s.emit(events.Event{Severity: events.Warning, Kind: "config-warning", Source: "node", Detail: w})
	})
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() error {
		var errs []error
		for _, p := range s.pools {
			errs = append(errs, p.Close())
		}
		return errors.Join(errs...)
	})
	s.objects, err = objects.Open(ctx, s.meta, objects.Options{
		Clock: s.clock, Pools: s.pools, Selection: cfg.PoolSelection, MaxObjectSize: cfg.MaxObjectSize,
		MaxKey: cfg.Limits.MaxKey, MaxMetadata: cfg.Limits.MaxMetadata,
	})
	if err != nil {
		return nil, err
	}
	if len(s.pools) == 0 {
		return nil, fmt.Errorf("node %s has no pool: the key-value indexes and objects need one", s.node.ID)
	}
	// The key-value indexes are logged in the first pool's data log, so
	// that an index rebuilt from the logs has them (package kv).
	if s.kv, err = kv.Open(ctx, s.meta, kv.Options{Clock: s.clock, Log: s.pools[0]}); err != nil {
		return nil, err
	}
	s.metrics = metrics.New(metrics.Sources{
		Drives:    s.driveStats,
		Pools:     func() []pool.FSStat { return appliance.FSStat(s.pools).Pools },
		PoolStats: s.poolStats,
		Store:     s.meta.Stats,
		Background: func() []metrics.Background {
			return s.background()
		},
	})
	if s.firmware, err = newFirmware(cfg.Firmware, cfg.DataDir, o, s.emit, s.log); err != nil {
		return nil, err
	}
	s.api, err = api.New(api.Config{
		Objects: s.objects, KV: s.kv, Events: s.events, Token: s.token,
		Status: func() any { return s.Status() }, Metrics: s.metrics.Handler(), Observer: s.metrics,
		Scrub:   func() { s.scrub.Kick() },
		Rebuild: func() { s.rebuild.Kick() },
		Drives:  func() (any, error) { return s.Drives() },
		SetDriveState: func(ctx context.Context, pos int, state, actor string) error {
			return s.SetDriveState(ctx, pos, state, actorOf(actor))
		},
		Firmware: s.firmware,
		Limits: api.Limits{MaxConcurrent: cfg.Limits.MaxConcurrent, MaxQueue: cfg.Limits.MaxQueue, QueueWait: time.Duration(cfg.Limits.QueueWait),
			MaxBundle: cfg.Firmware.MaxBundleSize},
		Log: s.log,
	})
	if err != nil {
		return nil, err
	}
	if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s: %w (set another address with --listen or \"listen\" in the config)", cfg.Listen, err)
	}
	closers = append(closers, s.ln.Close)
	s.http = &http.Server{
		Handler:           s.api,
		MaxHeaderBytes:    cfg.Limits.MaxHeaderBytes,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if cfg.TLS != nil {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.health = newHealthMonitor(s, cfg.DriveErrorThreshold, 10*time.Minute, time.Duration(cfg.DriveTimeout))
	s.scrub = newScrubber(s, time.Duration(cfg.ScrubInterval))
	s.rebuild = newRebuilder(s, cfg.RebuildRate)
	if err := s.applyDriveStates(ctx); err != nil {
		return nil, err
	}
	if err := s.openConsole(); err != nil {
		return nil, err
	}
	closers = append(closers, s.closeConsole)
	s.report(created)
	return s, nil
}

// URL is where the API listens.
func (s *Server) URL() string {
	scheme := "http"
	if s.cfg.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

// Token is the API's bearer token.
func (s *Server) Token() string { return s.token }

// Objects is the node's object store (for in-process benchmarks).
func (s *Server) Objects() *objects.Store { return s.objects }

// report prints the node and how to reach it.
func (s *Server) report(tokenCreated bool) {
	w := s.out
	s.node.WriteReport(w)
	st := s.meta.Stats()
	fmt.Fprintf(w, "metadata: %d mirrors, checkpoint %d, journal replayed to LSN %d, %d trees\n",
		st.Journal.Healthy, st.CheckpointGen, st.AppliedLSN, st.Trees)
	for _, f := range appliance.FSStat(s.pools).Pools {
		fmt.Fprintln(w, f)
	}
	tokenPath := filepath.Join(s.cfg.DataDir, TokenFile)
	if tokenCreated {
		fmt.Fprintf(w, "generated the API token in %s (mode 0600)\n", tokenPath)
	}
	fmt.Fprintf(w, "API: %s\n", s.URL())
	fmt.Fprintf(w, "  export PLINTH_TOKEN=$(cat %s)\n", tokenPath)
	fmt.Fprintf(w, "  curl -H \"Authorization: Bearer $PLINTH_TOKEN\" %s/v1/status\n", s.URL())
}

// Serve serves the API until ctx is done, then shuts down: the listener
// closes, requests under way get up to drain to finish, background work
// stops, the pools close and the metadata store takes its final
// checkpoint. It returns the first error of all that.
func (s *Server) Serve(ctx context.Context, drain time.Duration) error {
	s.emit(events.Event{Severity: events.Info, Kind: "node-started", Source: "node", Detail: fmt.Sprintf("serving %s with %d drives, %d pools", s.URL(), len(s.node.Drives), len(s.pools))})
	s.log.Info("serving", "url", s.URL(), "drives", len(s.node.Drives), "pools", len(s.pools), "pid", os.Getpid())
	s.startProbes(time.Duration(s.cfg.SlowIO))
	s.bg.Add(5)
	go s.gcLoop()
	go s.health.run(s.stop, &s.bg)
	go s.scrub.run(s.stop, &s.bg)
	go s.rebuild.run(s.stop, &s.bg)
	go s.resilver()
	errc := make(chan error, 1)
	go func() {
		var err error
		if s.cfg.TLS != nil {
			err = s.http.ServeTLS(s.ln, "", "")
		} else {
			err = s.http.Serve(s.ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.log.Info("stopping: no new requests; draining", "timeout", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		s.log.Warn("requests still running at the drain timeout were cut", "err", err)
		s.http.Close()
	}
	return errors.Join(serveErr, s.Close())
}

// Close stops everything and releases the drives (Serve calls it).
func (s *Server) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	s.closeConsole()
	s.bg.Wait()
	s.stopProbes()
	var errs []error
	for _, p := range s.pools {
		errs = append(errs, p.Close())
	}
	if err := s.meta.Close(); err != nil {
		errs = append(errs, fmt.Errorf("final checkpoint: %w", err))
	}
	errs = append(errs, s.node.Close())
	s.ln.Close()
	err := errors.Join(errs...)
	if err != nil {
		s.emit(events.Event{Severity: events.Error, Kind: "node-stopped", Source: "node", Detail: "stopped with errors: " + err.Error()})
	} else {
		s.emit(events.Event{Severity: events.Info, Kind: "node-stopped", Source: "node", Detail: "clean stop: final checkpoint taken"})
	}
	return errors.Join(err, s.events.Close())
}

// gcLoop collects tombstones past the horizon every GCInterval.
func (s *Server) gcLoop() {
	defer s.bg.Done()
	t := time.NewTicker(time.Duration(s.cfg.GCInterval))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx := context.Background()
		horizon := time.Duration(s.cfg.TombstoneHorizon)
		n, err := s.objects.CollectTombstones(ctx, horizon, time.Now())
		m, kerr := s.kv.CollectTombstones(ctx, horizon, time.Now())
		if err := errors.Join(err, kerr); err != nil {
			s.log.Warn("tombstone collection failed", "err", err)
			s.emit(events.Event{Severity: events.Warning, Kind: "gc-failed", Source: "node", Detail: err.Error()})
		}
		if n+m > 0 {
			s.log.Info("tombstones collected", "objects", n, "kv", m, "horizon", horizon)
		}
	}
}

// poolOf returns the pool a drive belongs to (nil: none).
func (s *Server) poolOf(pos uint32) *pool.Pool {
	for _, p := range s.pools {
		for _, d := range p.Allocator().Drives() {
			if d.Position == pos {
				return p
			}
		}
	}
	return nil
}

// Check verifies the node online: the metadata store (store.Check) and
// every pool, deeply (pool.Check: every referenced record read back).
func (s *Server) Check(ctx context.Context) error {
	if err := s.meta.Check(); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	for _, p := range s.pools {
		if err := p.Check(ctx, pool.CheckOptions{Deep: true}); err != nil {
			return fmt.Errorf("pool %s: %w", p.Name(), err)
		}
	}
	return nil
}

// resilver rebuilds the metadata mirrors the store found partial from the
// others (store.Store.KeepResilvering) until they are whole or the node
// stops.
func (s *Server) resilver() {
	defer s.bg.Done()
	s.meta.KeepResilvering(s.stop)
}
