package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/console"
)

// consoleStdin is where the console reads commands when it is given none
// with -c (tests replace it).
var consoleStdin io.Reader = os.Stdin

// consoleOptions are plinth console's flags.
type consoleOptions struct {
	dataDir, socket string
	remotes         stringList
	cert, key, ca   string
	commands        string
	asJSON, yes     bool
	out             string
	timeout         time.Duration
	stdout, stderr  io.Writer
	interactive     *term.Terminal // set in interactive mode
	fd              int
	rawState        *term.State
	failures        atomic.Int32
	mu              sync.Mutex // output of several nodes
}

func init() {
	var o consoleOptions
	register(&command{
		name:    "console",
		summary: "the support console of a running node: inspect and fix it live (interactive or scripted)",
		usage:   "[-c 'CMD; CMD']",
		help: `Connects to the console of a running node: the unix socket in its data
directory (DATA/console.sock; root or the node's user only), or with
--remote the TCP listener of one or more nodes (mutual TLS: --cert and --key
are your certificate, --ca the CA that signed the nodes'). Several --remote
run each command on every node at once, each output line prefixed by its
node ("fleet-wide" commands).

Without -c, and when standard input is a terminal, it is interactive: line
editing, history (~/.plinth_console_history), and Tab completion of
commands, argument names and values (trees, drives, buckets, choices).
Otherwise it runs the commands of -c ('status; drives'), or those read from
standard input, one or more per line; it exits 1 if any failed.

Type 'help' for the commands ('help CMD' for one). Arguments are positional
or NAME=VALUE; keys and values are text, hex:... or b64:.... Metadata edits
(btree put, btree del) show what they would do and ask before doing it;
--yes does them without asking (scripts). Every command that changes the
node is recorded in the node's events with who ran it.

--json prints one JSON line per reply, {"node", "cmd", "ok", "result" |
"error"}, and one per streamed item, {"node", "cmd", "stream"}; the result
shapes are documented in 'go doc ./appliance/console'. support-bundle writes
the tarball to --out (the current directory by default).`,
		flags: func(fs *flag.FlagSet) {
			o = consoleOptions{}
			fs.StringVar(&o.dataDir, "data", appliance.DefaultDataDir, "data directory of the local node (its console socket)")
			fs.StringVar(&o.socket, "socket", "", "the console socket (default DATA/console.sock)")
			fs.Var(&o.remotes, "remote", "HOST:PORT of a node's remote console (repeat for several nodes)")
			fs.StringVar(&o.cert, "cert", "", "your client certificate (PEM), for --remote")
			fs.StringVar(&o.key, "key", "", "its private key (PEM)")
			fs.StringVar(&o.ca, "ca", "", "the CA certificate(s) that signed the nodes' certificates (PEM)")
			fs.StringVar(&o.commands, "c", "", "run these commands (separated by ';') and exit")
			fs.BoolVar(&o.asJSON, "json", false, "print JSON lines")
			fs.BoolVar(&o.yes, "yes", false, "do metadata edits without asking")
			fs.StringVar(&o.out, "out", ".", "directory support bundles are written to")
			fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "connection timeout")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			if fs.NArg() > 0 {
				return usageError("unexpected arguments %q: give commands with -c 'CMD; CMD' or on standard input", fs.Args())
			}
			o.stdout, o.stderr = stdout, stderr
			return o.run()
		},
	})
}

func (o *consoleOptions) run() error {
	clients, err := o.connect()
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	cmds, err := clients[0].Help(context.Background())
	if err != nil {
		return fmt.Errorf("%s: %w", clients[0].Name, err)
	}
	s := &session{o: o, clients: clients, cmds: cmds}
	switch {
	case o.commands != "":
		s.script(strings.NewReader(o.commands))
	case consoleStdin == os.Stdin && term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())) && o.stdout == os.Stdout:
		if err := s.interactive(); err != nil {
			return err
		}
	default:
		s.script(consoleStdin)
	}
	if n := o.failures.Load(); n > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d command(s) failed", n)}
	}
	return nil
}

// connect dials the local socket, or every --remote.
func (o *consoleOptions) connect() ([]*console.Client, error) {
	if len(o.remotes) == 0 {
		if o.cert != "" || o.key != "" || o.ca != "" {
			return nil, usageError("--cert, --key and --ca are for --remote")
		}
		path := o.socket
		if path == "" {
			path = filepath.Join(o.dataDir, console.SocketName)
		}
		c, err := console.DialUnix(path, o.timeout)
		if err != nil {
			return nil, err
		}
		return []*console.Client{c}, nil
	}
	if o.cert == "" || o.key == "" || o.ca == "" {
		return nil, usageError("--remote needs --cert, --key (your certificate) and --ca (the nodes' CA)")
	}
	cert, err := tls.LoadX509KeyPair(o.cert, o.key)
	if err != nil {
		return nil, fmt.Errorf("--cert/--key: %w", err)
	}
	pem, err := os.ReadFile(o.ca)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca: %s holds no PEM certificate", o.ca)
	}
	var out []*console.Client
	for _, addr := range o.remotes {
		c, err := console.DialTLS(addr, &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}, o.timeout)
		if err != nil {
			for _, c := range out {
				c.Close()
			}
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// session runs command lines on the nodes.
type session struct {
	o       *consoleOptions
	clients []*console.Client
	cmds    []console.Command

	cacheMu sync.Mutex
	cache   map[string][]string
	cacheAt map[string]time.Time
}

// script runs the command lines read from r.
func (s *session) script(r io.Reader) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), console.MaxLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, c := range console.SplitCommands(line) {
			if ctx.Err() != nil {
				return
			}
			s.line(ctx, c, s.o.stdout)
		}
	}
	if err := sc.Err(); err != nil {
		s.fail(s.o.stderr, fmt.Errorf("read the commands: %w", err))
	}
}

// fail reports a command's failure on w (a node's output, or stderr).
func (s *session) fail(w io.Writer, err error) {
	s.o.failures.Add(1)
	if _, ok := w.(*nodeWriter); !ok {
		s.o.mu.Lock()
		defer s.o.mu.Unlock()
	}
	fmt.Fprintf(w, "error: %v\n", err)
}

// line runs one command line on every node.
func (s *session) line(ctx context.Context, line string, w io.Writer) {
	words, err := console.Words(line)
	if err != nil {
		s.fail(s.o.stderr, err)
		return
	}
	switch {
	case len(words) == 0:
		return
	case len(words) > 1 && words[0] == "help":
		c, _, err := console.FindCommand(words[1:], s.cmds)
		if err != nil {
			s.fail(s.o.stderr, err)
			return
		}
		s.describe(w, *c)
		return
	}
	req, err := console.ParseLine(line, s.cmds)
	if err != nil {
		s.fail(s.o.stderr, err)
		return
	}
	var cmd console.Command
	for _, c := range s.cmds {
		if c.Name == req.Cmd {
			cmd = c
		}
	}
	if len(s.clients) == 1 || cmd.Confirm {
		for _, c := range s.clients {
			s.on(ctx, c, cmd, req, w)
		}
		return
	}
	var wg sync.WaitGroup
	for _, c := range s.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.on(ctx, c, cmd, req, w)
		}()
	}
	wg.Wait()
}

// describe prints a command's help.
func (s *session) describe(w io.Writer, c console.Command) {
	fmt.Fprintf(w, "%s\n  %s", console.Usage(c), c.Summary)
	if c.Mutating {
		fmt.Fprint(w, " (changes the node; recorded in its events with your name)")
	}
	fmt.Fprintln(w)
	for _, a := range c.Args {
		req := ""
		if a.Required {
			req = ", required"
		}
		fmt.Fprintf(w, "  %-10s %s%s: %s\n", a.Name, a.Type, req, a.Help)
	}
}

// nodeWriter writes whole lines, prefixed with the node's name when there
// are several nodes.
type nodeWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    bytes.Buffer
}

func (n *nodeWriter) Write(p []byte) (int, error) {
	n.buf.Write(p)
	for {
		i := bytes.IndexByte(n.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := n.buf.Next(i + 1)
		n.mu.Lock()
		_, err := fmt.Fprintf(n.w, "%s%s", n.prefix, line)
		n.mu.Unlock()
		if err != nil {
			return len(p), err
		}
	}
}

func (n *nodeWriter) flush() {
	if n.buf.Len() > 0 {
		n.Write([]byte("\n"))
	}
}

// on runs a request on one node and prints its reply.
func (s *session) on(ctx context.Context, c *console.Client, cmd console.Command, req console.Request, w io.Writer) {
	nw := &nodeWriter{mu: &s.o.mu, w: w}
	if len(s.clients) > 1 {
		nw.prefix = "[" + c.Name + "] "
	}
	defer nw.flush()
	item := func(b json.RawMessage) {
		if s.o.asJSON {
			s.printJSON(nw, c.Name, req.Cmd, map[string]any{"stream": b})
			return
		}
		if err := console.RenderItem(nw, req.Cmd, b); err != nil {
			fmt.Fprintf(nw, "(%v)\n", err)
		}
	}
	res, err := c.Do(ctx, req, item)
	var ce *console.Error
	if errors.As(err, &ce) && ce.Code == console.CodeConfirmRequired && ce.Preview != nil {
		if s.confirm(nw, c, req.Cmd, ce.Preview) {
			again := console.Request{Cmd: req.Cmd, Args: map[string]any{}}
			for k, v := range req.Args {
				again.Args[k] = v
			}
			var p struct {
				Expect string `json:"expect"`
			}
			json.Unmarshal(ce.Preview, &p)
			if _, given := again.Args["expect"]; !given && p.Expect != "" {
				again.Args["expect"] = p.Expect
			}
			again.Args["confirm"] = true
			res, err = c.Do(ctx, again, item)
		} else if !s.o.asJSON {
			err = fmt.Errorf("%s: not done (confirm it, or give --yes)", req.Cmd)
		}
	}
	if err != nil {
		if s.o.asJSON {
			e := map[string]any{"ok": false, "error": err}
			if !errors.As(err, &ce) {
				e["error"] = console.Error{Code: "connection", Message: err.Error()}
			}
			s.printJSON(nw, c.Name, req.Cmd, e)
			s.o.failures.Add(1)
			return
		}
		s.fail(nw, err)
		return
	}
	if req.Cmd == "support-bundle" {
		if res, err = s.saveBundle(res); err != nil {
			s.fail(nw, err)
			return
		}
	}
	if s.o.asJSON {
		s.printJSON(nw, c.Name, req.Cmd, map[string]any{"ok": true, "result": res})
		return
	}
	if err := console.Render(nw, req.Cmd, res); err != nil {
		s.fail(nw, err)
	}
	if req.Cmd == "support-bundle" {
		var b struct {
			File string `json:"file"`
		}
		json.Unmarshal(res, &b)
		fmt.Fprintf(nw, "written to %s\n", b.File)
	}
}

// printJSON prints one JSON line.
func (s *session) printJSON(w io.Writer, node, cmd string, fields map[string]any) {
	fields["node"], fields["cmd"] = node, cmd
	b, err := json.Marshal(fields)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"node": node, "cmd": cmd, "ok": false, "error": console.Error{Code: "client", Message: err.Error()}})
	}
	w.Write(append(b, '\n'))
}

// saveBundle writes a support bundle's tarball to --out and returns the
// result with the file's path instead of the data.
func (s *session) saveBundle(res json.RawMessage) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(res, &m); err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(fmt.Sprint(m["data"]))
	if err != nil {
		return nil, fmt.Errorf("support bundle: %w", err)
	}
	name := filepath.Base(fmt.Sprint(m["name"]))
	if name == "." || name == "/" || !strings.HasSuffix(name, ".tar.gz") {
		return nil, fmt.Errorf("support bundle: odd name %q", name)
	}
	path := filepath.Join(s.o.out, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("support bundle: %w", err)
	}
	delete(m, "data")
	m["file"] = path
	return json.Marshal(m)
}

// confirm asks whether to make an edit the node previewed.
func (s *session) confirm(w io.Writer, c *console.Client, cmd string, preview json.RawMessage) bool {
	if s.o.yes {
		return true
	}
	if s.o.interactive == nil {
		if !s.o.asJSON {
			console.RenderPreview(w, cmd, preview)
		}
		return false
	}
	console.RenderPreview(w, cmd, preview)
	where := ""
	if len(s.clients) > 1 {
		where = " on " + c.Name
	}
	fmt.Fprintf(s.o.stdout, "do it%s? [y/N] ", where)
	answer := readLineRaw(os.Stdin)
	return strings.EqualFold(strings.TrimSpace(answer), "y") || strings.EqualFold(strings.TrimSpace(answer), "yes")
}

// readLineRaw reads one line byte by byte (no read-ahead, so the
// terminal's own reader loses nothing).
func readLineRaw(r io.Reader) string {
	var b []byte
	one := make([]byte, 1)
	for {
		n, err := r.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
		}
		if err != nil {
			break
		}
	}
	return string(b)
}

// interactive reads commands at a prompt with line editing, history and
// completion.
func (s *session) interactive() error {
	o := s.o
	o.fd = int(os.Stdin.Fd())
	st, err := term.MakeRaw(o.fd)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	o.rawState = st
	defer term.Restore(o.fd, st)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{os.Stdin, os.Stdout}, "plinth> ")
	o.interactive = t
	if w, h, err := term.GetSize(o.fd); err == nil {
		t.SetSize(w, h)
	}
	hist := loadHistory()
	t.History = hist
	t.AutoCompleteCallback = func(line string, pos int, key rune) (string, int, bool) {
		if key != '\t' {
			return "", 0, false
		}
		return s.complete(t, line, pos)
	}
	name := s.clients[0].Name
	if len(s.clients) > 1 {
		name = fmt.Sprintf("%d nodes", len(s.clients))
	}
	fmt.Fprintf(t, "plinth console (%s): 'help' lists the commands, Tab completes, Ctrl-D quits\n", name)
	for {
		line, err := t.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				fmt.Fprintln(t)
				return nil
			}
			return fmt.Errorf("terminal: %w", err)
		}
		line = strings.TrimSpace(line)
		if line == "quit" || line == "exit" {
			return nil
		}
		if line == "" {
			continue
		}
		// Commands run with the terminal back in its normal mode, so that
		// Ctrl-C interrupts them (it ends an events follow).
		term.Restore(o.fd, st)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		for _, c := range console.SplitCommands(line) {
			if ctx.Err() != nil {
				break
			}
			s.line(ctx, c, os.Stdout)
		}
		stop()
		o.failures.Store(0) // interactive mistakes do not set the exit status
		if _, err := term.MakeRaw(o.fd); err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
	}
}

// complete completes the word before the cursor.
func (s *session) complete(t *term.Terminal, line string, pos int) (string, int, bool) {
	head, tail := line[:pos], line[pos:]
	cands := console.Complete(head, s.cmds, s.values)
	start := strings.LastIndexAny(head, " \t") + 1
	word := head[start:]
	switch len(cands) {
	case 0:
		return "", 0, false
	case 1:
		repl := cands[0]
		if !strings.HasSuffix(repl, "=") && !strings.HasSuffix(repl, "/") {
			repl += " "
		}
		nh := head[:start] + repl
		return nh + tail, len(nh), true
	}
	lcp := cands[0]
	for _, c := range cands[1:] {
		for !strings.HasPrefix(c, lcp) {
			lcp = lcp[:len(lcp)-1]
		}
	}
	if len(lcp) > len(word) {
		nh := head[:start] + lcp
		return nh + tail, len(nh), true
	}
	fmt.Fprintln(t, strings.Join(cands, "  "))
	return "", 0, false
}

// values are the completions of an argument kind, from the first node,
// kept for ten seconds.
func (s *session) values(kind string) []string {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.cache == nil {
		s.cache, s.cacheAt = map[string][]string{}, map[string]time.Time{}
	}
	if v, ok := s.cache[kind]; ok && time.Since(s.cacheAt[kind]) < 10*time.Second {
		return v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var out []string
	switch kind {
	case "tree":
		var ts []console.TreeInfo
		if res, err := s.clients[0].Do(ctx, console.Request{Cmd: "btree list"}, nil); err == nil && json.Unmarshal(res, &ts) == nil {
			for _, t := range ts {
				out = append(out, t.Name)
			}
		}
	case "drive":
		var ds []console.DriveInfo
		if res, err := s.clients[0].Do(ctx, console.Request{Cmd: "drives"}, nil); err == nil && json.Unmarshal(res, &ds) == nil {
			for _, d := range ds {
				out = append(out, fmt.Sprint(d.Position))
			}
		}
	case "bucket":
		var bs []struct {
			Name string `json:"name"`
		}
		if res, err := s.clients[0].Do(ctx, console.Request{Cmd: "buckets"}, nil); err == nil && json.Unmarshal(res, &bs) == nil {
			for _, b := range bs {
				out = append(out, b.Name+"/")
			}
		}
	}
	slices.Sort(out)
	s.cache[kind], s.cacheAt[kind] = out, time.Now()
	return out
}

// history is the interactive history, kept in ~/.plinth_console_history.
type history struct {
	entries []string // oldest first
	path    string
}

const historyMax = 1000

func loadHistory() *history {
	h := &history{}
	home, err := os.UserHomeDir()
	if err != nil {
		return h
	}
	h.path = filepath.Join(home, ".plinth_console_history")
	if b, err := os.ReadFile(h.path); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				h.entries = append(h.entries, l)
			}
		}
		if len(h.entries) > historyMax {
			h.entries = h.entries[len(h.entries)-historyMax:]
		}
	}
	return h
}

func (h *history) Add(e string) {
	e = strings.TrimSpace(e)
	if e == "" || len(h.entries) > 0 && h.entries[len(h.entries)-1] == e {
		return
	}
	h.entries = append(h.entries, e)
	if len(h.entries) > historyMax {
		h.entries = h.entries[len(h.entries)-historyMax:]
	}
	if h.path != "" {
		if f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
			fmt.Fprintln(f, e)
			f.Close()
		}
	}
}

func (h *history) Len() int { return len(h.entries) }

func (h *history) At(i int) string { return h.entries[len(h.entries)-1-i] }
