package console

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/plinth-storage/plinth/appliance/events"
)

// SocketName is the console's unix socket in the data directory.
const SocketName = "console.sock"

// Config is what Start needs.
type Config struct {
	// Dir is the data directory: the socket is Dir/console.sock.
	Dir string
	// Remote, when set, is the TCP listener for remote consoles, with
	// mutual TLS.
	Remote *RemoteConfig
	Node   *Node
	Log    *slog.Logger
	// MaxConns bounds the connections served at once (default 32); more
	// are answered "busy" and closed.
	MaxConns int
}

// RemoteConfig is the console's TCP listener: every client must present
// a certificate signed by ClientCA.
type RemoteConfig struct {
	Listen   string `json:"listen"`
	Cert     string `json:"cert"`
	Key      string `json:"key"`
	ClientCA string `json:"client_ca"`
}

// Server is the console's server: its own listeners and goroutines, apart
// from the HTTP API's, so that it answers when the API is saturated,
// paused or wedged.
type Server struct {
	cfg    Config
	node   *Node
	log    *slog.Logger
	unix   net.Listener
	tcp    net.Listener
	sock   string
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Start binds the console's listeners and serves them until Close. A
// stale socket left by a node that stopped without removing it is
// replaced; one a running process answers on is not (an error).
func Start(cfg Config) (*Server, error) {
	if cfg.Node == nil {
		return nil, errors.New("console: no node")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 32
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, node: cfg.Node, log: cfg.Log, ctx: ctx, cancel: cancel, sem: make(chan struct{}, cfg.MaxConns), conns: map[net.Conn]struct{}{}}
	var err error
	if s.unix, s.sock, err = listenUnix(cfg.Dir); err != nil {
		cancel()
		return nil, err
	}
	if cfg.Remote != nil {
		tc, err := serverTLS(cfg.Remote)
		if err != nil {
			s.Close()
			return nil, err
		}
		ln, err := net.Listen("tcp", cfg.Remote.Listen)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("console: listen on %s: %w", cfg.Remote.Listen, err)
		}
		s.tcp = tls.NewListener(ln, tc)
	}
	s.wg.Add(1)
	go s.accept(s.unix, false)
	if s.tcp != nil {
		s.wg.Add(1)
		go s.accept(s.tcp, true)
	}
	return s, nil
}

// listenUnix binds dir/console.sock with mode 0600. The socket is made in
// a private directory, set to 0600 there and renamed into place, so that
// it is never reachable with looser permissions.
func listenUnix(dir string) (net.Listener, string, error) {
	path := filepath.Join(dir, SocketName)
	if len(path) > 107 {
		return nil, "", fmt.Errorf("console: socket path %s is %d bytes, longer than a unix socket address may be (107): use a shorter data directory", path, len(path))
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, "", fmt.Errorf("console: %s: another process answers on it (is another node running on this data directory?)", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("console: remove the stale socket: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, ".console-")
	if err != nil {
		return nil, "", fmt.Errorf("console: %w", err)
	}
	defer os.RemoveAll(tmp)
	tpath := filepath.Join(tmp, "s")
	ln, err := net.Listen("unix", tpath)
	if err != nil {
		return nil, "", fmt.Errorf("console: listen on %s: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(tpath, 0o600); err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("console: %w", err)
	}
	if err := os.Rename(tpath, path); err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("console: %w", err)
	}
	return ln, path, nil
}

// serverTLS is the remote listener's TLS: TLS 1.2 or later, a client
// certificate signed by the configured CA required.
func serverTLS(r *RemoteConfig) (*tls.Config, error) {
	if r.Listen == "" || r.Cert == "" || r.Key == "" || r.ClientCA == "" {
		return nil, errors.New("console: a remote listener needs listen, cert, key and client_ca")
	}
	cert, err := tls.LoadX509KeyPair(r.Cert, r.Key)
	if err != nil {
		return nil, fmt.Errorf("console: certificate: %w", err)
	}
	pool, err := loadCAs(r.ClientCA)
	if err != nil {
		return nil, fmt.Errorf("console: client_ca: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// SocketPath is the unix socket's path.
func (s *Server) SocketPath() string { return s.sock }

// RemoteAddr is the TCP listener's address ("" when there is none).
func (s *Server) RemoteAddr() string {
	if s.tcp == nil {
		return ""
	}
	return s.tcp.Addr().String()
}

// Close stops the listeners, cancels the commands under way, closes every
// connection, waits for the goroutines and removes the socket.
func (s *Server) Close() error {
	s.cancel()
	if s.unix != nil {
		s.unix.Close()
	}
	if s.tcp != nil {
		s.tcp.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.sock != "" {
		if err := os.Remove(s.sock); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("console: %w", err)
		}
	}
	return nil
}

func (s *Server) accept(ln net.Listener, remote bool) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s.log.Warn("console: accept", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c, remote)
	}
}

// refuse answers a connection with an error and closes it.
func refuse(c net.Conn, code, msg string) {
	f := false
	if b, err := encodeLine(Reply{OK: &f, Error: &Error{Code: code, Message: msg}}); err == nil {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write(b)
	}
	c.Close()
}

// serveConn authenticates a connection and serves its requests, one at a
// time, in order.
func (s *Server) serveConn(c net.Conn, remote bool) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
		s.wg.Done()
	}()
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		refuse(c, CodeBusy, fmt.Sprintf("the console serves %d connections already; try again", s.cfg.MaxConns))
		return
	}
	var who string
	var err error
	if remote {
		who, err = tlsPeer(c)
	} else {
		who, err = unixPeer(c)
	}
	if err != nil {
		s.log.Warn("console: connection refused", "err", err)
		s.emit(events.Event{Severity: events.Warning, Kind: "console-refused", Source: "console", Detail: err.Error()})
		refuse(c, CodeForbidden, err.Error())
		return
	}
	s.log.Info("console: connected", "peer", who)
	cs := &conn{s: s, c: c, who: who, w: bufio.NewWriter(c)}
	cs.serve()
}

// conn is one console connection.
type conn struct {
	s   *Server
	c   net.Conn
	who string
	wmu sync.Mutex
	w   *bufio.Writer

	mu     sync.Mutex
	cancel context.CancelFunc // the request being run
	stream bool               // it streams (canceled when the input ends)
}

// job is a request read and not yet run.
type job struct {
	req Request
	err error // the line was not a request
}

func (cs *conn) serve() {
	jobs := make(chan job, 64)
	inputDone := make(chan struct{})
	done := make(chan struct{})
	defer close(done)
	go func() {
		defer close(jobs)
		defer close(inputDone)
		r := bufio.NewReaderSize(cs.c, 64<<10)
		for {
			line, err := readLine(r)
			if len(strings.TrimSpace(string(line))) > 0 {
				req, perr := ParseRequest(line)
				if perr == nil && req.Cmd == "cancel" {
					cs.cancelRunning()
					continue
				}
				select {
				case jobs <- job{req: req, err: perr}:
				case <-done:
					return
				}
			}
			if err != nil {
				if errors.Is(err, errLineTooLong) {
					f := false
					cs.write(Reply{OK: &f, Error: &Error{Code: CodeBadRequest, Message: err.Error()}})
				}
				return
			}
		}
	}()
	go func() {
		// The input ending cancels a stream (a follower that went away);
		// other requests read before it still run.
		select {
		case <-inputDone:
			cs.mu.Lock()
			if cs.stream && cs.cancel != nil {
				cs.cancel()
			}
			cs.mu.Unlock()
		case <-done:
		}
	}()
	for j := range jobs {
		if cs.s.ctx.Err() != nil {
			return
		}
		f := false
		if j.err != nil {
			if cs.write(Reply{ID: j.req.ID, OK: &f, Error: &Error{Code: codeOf(j.err), Message: j.err.Error()}}) != nil {
				return
			}
			continue
		}
		if cs.run(j.req, inputDone) != nil {
			return
		}
	}
}

var errLineTooLong = fmt.Errorf("request line longer than %d bytes", MaxLine)

// readLine reads one line of at most MaxLine bytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		b, err := r.ReadSlice('\n')
		line = append(line, b...)
		if len(line) > MaxLine {
			return nil, errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return line, err
	}
}

func (cs *conn) cancelRunning() {
	cs.mu.Lock()
	if cs.cancel != nil {
		cs.cancel()
	}
	cs.mu.Unlock()
}

// write sends one reply line.
func (cs *conn) write(r Reply) error {
	b, err := encodeLine(r)
	if err != nil {
		f := false
		b, _ = encodeLine(Reply{ID: r.ID, OK: &f, Error: &Error{Code: CodeFailed, Message: "encode the reply: " + err.Error()}})
	}
	cs.wmu.Lock()
	defer cs.wmu.Unlock()
	cs.c.SetWriteDeadline(time.Now().Add(time.Minute))
	if _, err := cs.w.Write(b); err != nil {
		return err
	}
	return cs.w.Flush()
}

// run runs one request and writes its reply.
func (cs *conn) run(req Request, inputDone <-chan struct{}) error {
	f, t := false, true
	cmd := commands[req.Cmd]
	if cmd == nil {
		return cs.write(Reply{ID: req.ID, OK: &f, Error: &Error{Code: CodeUnknownCommand, Message: fmt.Sprintf("no command %q (help lists them)", req.Cmd)}})
	}
	ctx, cancel := context.WithCancel(cs.s.ctx)
	defer cancel()
	cs.mu.Lock()
	cs.cancel, cs.stream = cancel, cmd.Stream
	cs.mu.Unlock()
	defer func() {
		cs.mu.Lock()
		cs.cancel, cs.stream = nil, false
		cs.mu.Unlock()
	}()
	if cmd.Stream {
		select {
		case <-inputDone:
			cancel()
		default:
		}
	}
	x := &call{ctx: ctx, cmd: cmd, node: cs.s.node, srv: cs.s, args: req.Args, who: cs.who}
	if x.args == nil {
		x.args = map[string]any{}
	}
	x.item = func(v any) error {
		b, err := marshal(v)
		if err != nil {
			return err
		}
		return cs.write(Reply{ID: req.ID, Stream: b})
	}
	res, err := cs.s.execute(x)
	if err != nil {
		e := &Error{Code: codeOf(err), Message: err.Error()}
		var ce *codeError
		if errors.As(err, &ce) && ce.preview != nil {
			e.Preview, _ = marshal(ce.preview)
		}
		return cs.write(Reply{ID: req.ID, OK: &f, Error: e})
	}
	b, err := marshal(res)
	if err != nil {
		return cs.write(Reply{ID: req.ID, OK: &f, Error: &Error{Code: CodeFailed, Message: "encode the result: " + err.Error()}})
	}
	return cs.write(Reply{ID: req.ID, OK: &t, Result: b})
}

// execute checks a call's arguments, runs it (recovering from a panic in
// a command, which must not take the node down), and audits it when it
// changes the node.
func (s *Server) execute(x *call) (res any, err error) {
	if err := x.check(); err != nil {
		return nil, err
	}
	start := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("console: command panicked", "cmd", x.cmd.Name, "panic", r)
				err = fmt.Errorf("%s: internal error: %v", x.cmd.Name, r)
			}
		}()
		res, err = x.cmd.run(x)
	}()
	if code := codeOf(err); x.cmd.Mutating && code != CodeConfirmRequired && code != CodeBadArgs {
		s.audit(x, err, time.Since(start))
	}
	return res, err
}

// audit records a mutating command (one that ran: a preview or bad
// arguments change nothing and are not recorded) in the events journal, durably, with
// who ran it.
func (s *Server) audit(x *call, err error, took time.Duration) {
	args, _ := json.Marshal(x.args)
	detail := fmt.Sprintf("%s %s: ", x.cmd.Name, args)
	sev := events.Info
	if err != nil {
		detail += "failed: " + err.Error()
		sev = events.Warning
	} else {
		detail += "done in " + took.Round(time.Millisecond).String()
	}
	s.log.Info("console: command", "cmd", x.cmd.Name, "by", x.who, "err", err)
	s.emit(events.Event{Severity: sev, Kind: "console-command", Source: "console", Actor: x.who, Detail: detail})
	if s.node.Events != nil {
		if err := s.node.Events.Sync(); err != nil {
			s.log.Warn("console: audit record not synced", "err", err)
		}
	}
}

func (s *Server) emit(e events.Event) {
	if s.node.Events != nil {
		s.node.Events.Emit(e)
	}
}
