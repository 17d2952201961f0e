package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/plinth-storage/plinth/appliance/console"
	"github.com/plinth-storage/plinth/appliance/events"
	"github.com/plinth-storage/plinth/io/iostat"
)

// The support console (package appliance/console): its unix socket in the
// data directory, and its TCP listener with mutual TLS when configured,
// served by its own goroutines from Open to Close.

// ConsoleConfig is the console's remote listener ("console" in the
// configuration): {"listen": "0.0.0.0:8351", "cert": "node.crt", "key":
// "node.key", "client_ca": "support-ca.crt"}. Every remote client must
// present a certificate client_ca signed.
type ConsoleConfig = console.RemoteConfig

// consoleLogLines is how many recent log lines the node keeps for the
// support bundle.
const consoleLogLines = 2000

func (c Config) validateConsole() error {
	if r := c.Console; r != nil && (r.Listen == "" || r.Cert == "" || r.Key == "" || r.ClientCA == "") {
		return errors.New("console: a remote console needs listen, cert, key and client_ca (the CA that signs support engineers' certificates)")
	}
	return nil
}

// tapLogs keeps the node's recent log lines for the support bundle.
func (s *Server) tapLogs() {
	s.logs = console.NewLogRing(consoleLogLines)
	s.log = slog.New(s.logs.Handler(s.log.Handler()))
}

// openConsole starts the console. A console that cannot start is an error
// when a remote one is configured (a misconfiguration); without one, the
// node runs on without its console, with a warning.
func (s *Server) openConsole() error {
	srv, err := console.Start(console.Config{Dir: s.cfg.DataDir, Remote: s.cfg.Console, Node: s.consoleNode(), Log: s.log})
	if err != nil {
		if s.cfg.Console != nil {
			return err
		}
		w := fmt.Sprintf("WARNING: the node runs without its support console: %v", err)
		fmt.Fprintln(s.out, w)
		s.log.Warn(w)
		s.emit(events.Event{Severity: events.Warning, Kind: "console-unavailable", Source: "console", Detail: err.Error()})
		return nil
	}
	s.console = srv
	fmt.Fprintf(s.out, "console: %s (plinth console --data %s)\n", srv.SocketPath(), s.cfg.DataDir)
	if a := srv.RemoteAddr(); a != "" {
		fmt.Fprintf(s.out, "remote console: %s (mutual TLS)\n", a)
	}
	return nil
}

// closeConsole stops the console (commands under way are canceled).
func (s *Server) closeConsole() error {
	s.consoleOnce.Do(func() {
		if s.console != nil {
			if err := s.console.Close(); err != nil {
				s.log.Warn("console: close", "err", err)
			}
		}
	})
	return nil
}

// ConsoleSocket is the console's unix socket ("" when it is not running).
func (s *Server) ConsoleSocket() string {
	if s.console == nil {
		return ""
	}
	return s.console.SocketPath()
}

// ConsoleRemote is the remote console's address ("" when there is none).
func (s *Server) ConsoleRemote() string {
	if s.console == nil {
		return ""
	}
	return s.console.RemoteAddr()
}

// consoleNode is what the console works on.
func (s *Server) consoleNode() *console.Node {
	return &console.Node{
		ID: s.node.ID.String(), Store: s.meta, Pools: s.pools, Objects: s.objects, Events: s.events, API: s.api,
		Status: func() any { return s.Status() },
		Drives: func() ([]console.DriveState, error) {
			ds, err := s.Drives()
			out := make([]console.DriveState, 0, len(ds))
			for _, d := range ds {
				out = append(out, console.DriveState{Position: d.Position, Path: d.Path, Pool: d.Pool, State: d.Health, Sets: d.Sets,
					Rebuilding: d.Rebuilding, Changed: d.Changed, By: d.By})
			}
			return out, err
		},
		Devices: func() []console.Device {
			var out []console.Device
			for _, d := range s.node.Drives {
				g := d.Dev.Geometry()
				cd := console.Device{Position: d.Label.Label().Position, Path: d.Path, Zoned: g.Zoned != 0, Bytes: g.Size}
				if w, ok := d.Dev.(*iostat.Device); ok {
					cd.IO = w
				}
				out = append(out, cd)
			}
			return out
		},
		SetDriveState: s.SetDriveState,
		Enclosure:     newSysEnclosures("/sys"),
		ScrubStart:    s.ScrubStart,
		ScrubStop:     s.ScrubStop,
		ScrubStatus:   func() (any, bool) { return s.scrub.Status(), s.scrub.ctl.isStopped() },
		RebuildStatus: func() any { return s.rebuild.Status() },
		Config:        func() any { return s.cfg },
		Logs:          s.logs,
		Describe:      describeEntry,
	}
}

// ScrubStart lets scrubbing run again (after ScrubStop) and starts a pass
// of every pool now.
func (s *Server) ScrubStart() {
	s.scrub.ctl.setStopped(false)
	s.scrub.Kick()
}

// ScrubStop stops the pass under way (it resumes where it stopped at the
// next start) and keeps passes from starting until ScrubStart; it reports
// whether a pass was running.
func (s *Server) ScrubStop() bool {
	return s.scrub.ctl.stop()
}

// scrubControl lets an operator stop the scrubber.
type scrubControl struct {
	mu      sync.Mutex
	stopped bool
	cancel  context.CancelFunc // the pass under way
}

// begin starts a pass unless scrubbing is stopped: the pass's context
// ends when it is stopped; done must be called when the pass ends.
func (c *scrubControl) begin(ctx context.Context) (context.Context, func(), bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, nil, false
	}
	ctx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	return ctx, func() {
		c.mu.Lock()
		c.cancel = nil
		c.mu.Unlock()
		cancel()
	}, true
}

func (c *scrubControl) stop() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.cancel != nil {
		c.cancel()
		return true
	}
	return false
}

func (c *scrubControl) setStopped(v bool) {
	c.mu.Lock()
	c.stopped = v
	c.mu.Unlock()
}

func (c *scrubControl) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// describeEntry decodes the entries of the server's own trees for the
// console's btree dump and get.
func describeEntry(tree string, key, value []byte) (map[string]any, bool) {
	bad := func(err error) (map[string]any, bool) { return map[string]any{"error": err.Error()}, true }
	switch tree {
	case DrivesTree:
		if len(key) != 4 {
			return bad(fmt.Errorf("drive state key of %d bytes", len(key)))
		}
		h, at, by, err := decodeDriveState(value)
		if err != nil {
			return bad(err)
		}
		return map[string]any{"drive": binary.BigEndian.Uint32(key), "state": h.String(), "changed": at, "by": by}, true
	case ScrubTree:
		st, err := decodeScrubState(value)
		if err != nil {
			return bad(err)
		}
		return map[string]any{"pool": string(key), "pass_started": st.started, "after_set": uint64(st.cursor), "last_completed": st.completed,
			"damaged": st.damaged, "unrecoverable": st.unrecoverable}, true
	case ClockTree:
		if len(value) != 8 {
			return bad(fmt.Errorf("clock ceiling of %d bytes", len(value)))
		}
		return map[string]any{"ceiling": binary.BigEndian.Uint64(value)}, true
	}
	return nil, false
}
