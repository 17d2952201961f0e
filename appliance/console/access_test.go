package console_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance/api"
	"github.com/plinth-storage/plinth/appliance/console"
	"github.com/plinth-storage/plinth/appliance/server"
)

// TestSocket: the socket is mode 0600 in the data directory; a peer that
// is neither root nor the node's user is refused (and the refusal is in
// the events); the socket goes when the node stops.
func TestSocket(t *testing.T) {
	n := startNode(t, nil)
	sock := n.s.ConsoleSocket()
	if sock != filepath.Join(n.dir, console.SocketName) {
		t.Fatalf("socket %s", sock)
	}
	st, err := os.Stat(sock)
	if err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", st.Mode(), err)
	}
	restore := console.FakePeerUID(54321)
	c, err := console.DialUnix(sock, time.Second)
	if err != nil {
		restore()
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), console.Request{Cmd: "status"}, nil)
	c.Close()
	restore()
	var ce *console.Error
	if !errors.As(err, &ce) || ce.Code != console.CodeForbidden || !strings.Contains(ce.Message, "uid 54321") {
		t.Fatalf("a stranger: %v", err)
	}
	ok := n.dial()
	// The refusal is emitted before the reply, but the events journal
	// writes it from its own queue: on a busy machine a query may come
	// first (seen once with the machine loaded).
	var evs console.EventsResult
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		do(t, ok, "events", map[string]any{"kind": "console-refused"}, &evs)
		if len(evs.Events) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(evs.Events) != 1 || !strings.Contains(evs.Events[0].Detail, "uid 54321") {
		t.Fatalf("refusal events: %+v", evs.Events)
	}
	// A second node on the same directory would find the socket answered.
	if _, err := console.Start(console.Config{Dir: n.dir, Node: &console.Node{}}); err == nil || !strings.Contains(err.Error(), "another process answers") {
		t.Fatalf("a second console on the socket: %v", err)
	}
}

// pki is a test CA and the certificates it signs.
type pki struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	n    int64
}

func newPKI(t *testing.T, name string) *pki {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &pki{t: t, dir: t.TempDir(), cert: cert, key: key, n: 1}
	p.write(name+"-ca.crt", "CERTIFICATE", der)
	return p
}

func (p *pki) write(name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

func (p *pki) caPath() string { return filepath.Join(p.dir, p.cert.Subject.CommonName+"-ca.crt") }

// issue signs a certificate for cn (a server's for 127.0.0.1, or a
// client's) and returns its files.
func (p *pki) issue(cn string, server bool) (certPath, keyPath string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	p.n++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.n), Subject: pkix.Name{CommonName: cn, Organization: []string{"support"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.write(cn+".crt", "CERTIFICATE", der), p.write(cn+".key", "EC PRIVATE KEY", kb)
}

func (p *pki) clientTLS(cn string) *tls.Config {
	cp, kp := p.issue(cn, false)
	cert, err := tls.LoadX509KeyPair(cp, kp)
	if err != nil {
		p.t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// TestRemote: the TCP listener takes a client whose certificate the
// configured CA signed (and names it by its subject in the audit), and
// refuses one signed by another CA and one with no certificate.
func TestRemote(t *testing.T) {
	nodes := newPKI(t, "nodes")
	support := newPKI(t, "support")
	other := newPKI(t, "other")
	sc, sk := nodes.issue("node1", true)
	n := startNode(t, func(c *server.Config) {
		c.Console = &server.ConsoleConfig{Listen: "127.0.0.1:0", Cert: sc, Key: sk, ClientCA: support.caPath()}
	})
	addr := n.s.ConsoleRemote()
	if addr == "" {
		t.Fatal("no remote listener")
	}
	roots := x509.NewCertPool()
	roots.AddCert(nodes.cert)

	good := support.clientTLS("alice")
	good.RootCAs = roots
	c, err := console.DialTLS(addr, good, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var who map[string]string
	do(t, c, "whoami", nil, &who)
	if !strings.Contains(who["peer"], "CN=alice") {
		t.Fatalf("whoami: %v", who)
	}
	do(t, c, "scrub stop", nil, nil)
	var evs console.EventsResult
	do(t, c, "events", map[string]any{"kind": "console-command"}, &evs)
	if len(evs.Events) != 1 || !strings.Contains(evs.Events[0].Actor, "CN=alice") {
		t.Fatalf("audit of a remote command: %+v", evs.Events)
	}

	for name, cfg := range map[string]*tls.Config{
		"another CA's certificate": other.clientTLS("mallory"),
		"no certificate":           {MinVersion: tls.VersionTLS12},
	} {
		cfg.RootCAs = roots
		c, err := console.DialTLS(addr, cfg, 5*time.Second)
		if err == nil {
			// TLS 1.3: the client learns of the refusal on its first read.
			_, err = c.Do(context.Background(), console.Request{Cmd: "whoami"}, nil)
			c.Close()
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	waitFor(t, "the refusals in the events", func() bool {
		do(t, n.dial(), "events", map[string]any{"kind": "console-refused"}, &evs)
		return len(evs.Events) == 2
	})

	// A remote console without a CA is a configuration error.
	if err := (server.Config{Console: &server.ConsoleConfig{Listen: "127.0.0.1:0", Cert: sc, Key: sk}}).Validate(); err == nil {
		t.Fatal("a remote console without client_ca validated")
	}
}

// slowBody is a request body that sends nothing until released.
type slowBody struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newSlowBody() *slowBody {
	r, w := io.Pipe()
	return &slowBody{r: r, w: w}
}

// TestAPISaturatedAndPaused: with every request slot taken by slow uploads
// and the queue full, the console answers at once and lists them; paused,
// new requests are held (listed as held) until resume, or refused with
// reject; a pause lifts itself after its timeout; hold also stops the
// requests under way.
func TestAPISaturatedAndPaused(t *testing.T) {
	n := startNode(t, func(c *server.Config) {
		c.Limits = server.LimitsConfig{MaxConcurrent: 2, MaxQueue: 2, QueueWait: server.Duration(time.Minute)}
	})
	c := n.dial()
	if resp, err := n.api("PUT", "/v1/buckets/slow", nil); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create bucket: %v %v", resp, err)
	}
	var wg sync.WaitGroup
	var bodies []*slowBody
	status := make(chan int, 8)
	for i := range 4 {
		b := newSlowBody()
		bodies = append(bodies, b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := n.api("PUT", "/v1/buckets/slow/k"+string(rune('0'+i)), b.r)
			if err != nil {
				status <- -1
				return
			}
			resp.Body.Close()
			status <- resp.StatusCode
		}()
	}
	var reqs console.RequestsResult
	waitFor(t, "two requests running and two queued", func() bool {
		do(t, c, "requests", nil, &reqs)
		return reqs.API.Running == 2 && reqs.API.Queued == 2
	})
	// Saturated: the console still answers, quickly.
	start := time.Now()
	do(t, c, "status", nil, nil)
	do(t, c, "drives", nil, nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the console took %v with the API saturated", d)
	}
	if len(reqs.Requests) != 4 || reqs.Requests[0].Op != "put" || reqs.Requests[0].Client == "" || reqs.Requests[0].AgeUS <= 0 ||
		reqs.Requests[0].Method != "PUT" || !strings.HasPrefix(reqs.Requests[0].Path, "/v1/buckets/slow/k") {
		t.Errorf("requests: %+v", reqs.Requests)
	}
	do(t, c, "requests", map[string]any{"state": "queued"}, &reqs)
	if len(reqs.Requests) != 2 || reqs.Requests[0].State != "queued" {
		t.Errorf("requests state=queued: %+v", reqs.Requests)
	}
	// A fifth is refused: slots and queue are full.
	if resp, err := n.api("GET", "/v1/buckets", nil); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a request past the queue: %v %v", resp, err)
	}
	for _, b := range bodies {
		b.w.Write([]byte("data"))
		b.w.Close()
	}
	wg.Wait()
	for range 4 {
		if s := <-status; s != 200 {
			t.Errorf("a slow upload ended %d", s)
		}
	}

	// Paused: a new request is held, the console lists it, resume lets it
	// through.
	var ps api.PauseState
	do(t, c, "pause", map[string]any{"timeout": "1m"}, &ps)
	if !ps.Paused || ps.Reject || !strings.HasPrefix(ps.By, "console: uid ") || ps.Until.Before(time.Now().Add(50*time.Second)) {
		t.Fatalf("pause: %+v", ps)
	}
	held := make(chan int, 1)
	go func() {
		resp, err := n.api("GET", "/v1/buckets", nil)
		if err != nil {
			held <- -1
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	waitFor(t, "a held request", func() bool {
		do(t, c, "requests", map[string]any{"state": "held"}, &reqs)
		return len(reqs.Requests) == 1 && reqs.API.Held == 1 && reqs.API.Pause.Held == 1
	})
	// Status, metrics and events are never paused.
	if resp, err := n.api("GET", "/v1/status", nil); err != nil || resp.StatusCode != 200 {
		t.Errorf("status while paused: %v %v", resp, err)
	}
	select {
	case s := <-held:
		t.Fatalf("a held request ended (%d) while paused", s)
	case <-time.After(200 * time.Millisecond):
	}
	do(t, c, "resume", nil, &ps)
	if ps.Paused || !strings.Contains(ps.LastResumeWhy, "resumed by console") {
		t.Fatalf("resume: %+v", ps)
	}
	if s := <-held; s != 200 {
		t.Fatalf("the held request ended %d", s)
	}

	// reject: refused at once.
	do(t, c, "pause", map[string]any{"reject": true}, &ps)
	if resp, err := n.api("GET", "/v1/buckets", nil); err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a request while paused with reject: %v %v", resp, err)
	}
	do(t, c, "resume", nil, nil)

	// The safety timeout lifts a pause.
	do(t, c, "pause", map[string]any{"timeout": "200ms"}, &ps)
	waitFor(t, "the pause to lift itself", func() bool {
		do(t, c, "requests", nil, &reqs)
		return !reqs.API.Pause.Paused
	})
	if !strings.Contains(reqs.API.Pause.LastResumeWhy, "safety timeout") {
		t.Errorf("lifted: %+v", reqs.API.Pause)
	}
	fails(t, c, "pause", map[string]any{"timeout": "2h"}, console.CodeBadArgs)

	// hold: an upload under way stops moving until resume.
	b := newSlowBody()
	up := make(chan int, 1)
	go func() {
		resp, err := n.api("PUT", "/v1/buckets/slow/held", b.r)
		if err != nil {
			up <- -1
			return
		}
		resp.Body.Close()
		up <- resp.StatusCode
	}()
	b.w.Write([]byte("first"))
	waitFor(t, "the upload to run", func() bool {
		do(t, c, "requests", map[string]any{"state": "running"}, &reqs)
		return len(reqs.Requests) == 1
	})
	do(t, c, "pause", map[string]any{"hold": true}, &ps)
	if !ps.HoldInFlight {
		t.Fatalf("pause hold: %+v", ps)
	}
	go func() {
		b.w.Write([]byte("second"))
		b.w.Close()
	}()
	// The body is all sent, but the handler reads no more of it (nor
	// answers) while the pause holds it.
	select {
	case s := <-up:
		t.Fatalf("a held upload finished (%d) while paused", s)
	case <-time.After(300 * time.Millisecond):
	}
	do(t, c, "requests", map[string]any{"state": "running"}, &reqs)
	if len(reqs.Requests) != 1 || reqs.Requests[0].Path != "/v1/buckets/slow/held" {
		t.Errorf("the held upload is not listed: %+v", reqs.Requests)
	}
	do(t, c, "resume", nil, nil)
	if s := <-up; s != 200 {
		t.Fatalf("the held upload ended %d", s)
	}
	if got := n.get("slow", "held"); string(got) != "firstsecond" {
		t.Fatalf("the held upload stored %q", got)
	}
	// Every pause and resume is audited.
	var evs console.EventsResult
	do(t, c, "events", map[string]any{"kind": "console-command"}, &evs)
	if len(evs.Events) != 7 {
		t.Errorf("audit: %d records, want 7 (pause and resume three times, one refused pause is not)", len(evs.Events))
	}
}
