package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
)

// consoleNode opens an in-process node on small emulated drives, serving
// until the test ends.
func consoleNode(t *testing.T, edit func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{DataDir: filepath.Join(t.TempDir(), "data"), Listen: "127.0.0.1:0"}
	if edit != nil {
		edit(&cfg)
	}
	d := appliance.DefaultOptions{Config: zonemu.Config{ZoneSize: 4 << 20, ZoneCapacity: 4 << 20, NrZones: 40, NrConventional: 2,
		MaxOpenZones: 8, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}}
	s, err := server.Open(cfg, server.Options{Default: d, Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

// TestConsoleCommand: plinth console runs -c commands and commands from
// standard input against a node's socket, in text or JSON, writes support
// bundles, does metadata edits with --yes and refuses them without, and
// exits 1 when a command failed.
func TestConsoleCommand(t *testing.T) {
	s := consoleNode(t, nil)
	dir := filepath.Dir(s.ConsoleSocket())
	if _, err := s.Objects().CreateBucket(context.Background(), "photos"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Objects().Put(context.Background(), "photos", "cat.jpg", strings.NewReader(strings.Repeat("meow", 1000)), objectsPutOptions()); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "console", "--data", dir, "-c", "status; drives; object locate photos/cat.jpg; btree list; latency 0")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"node ", "6 drives", "POS  SLOT", "photos/cat.jpg: pool default", "parity", "pool/default/heads", "|#"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// JSON: one line per command, each with node, cmd, ok and result.
	code, out, _ = run(t, "console", "--data", dir, "--json", "-c", "whoami; set show 999; fsstat")
	if code != 1 {
		t.Fatalf("a failed command: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("JSON lines:\n%s", out)
	}
	type reply struct {
		Node   string          `json:"node"`
		Cmd    string          `json:"cmd"`
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	var replies []reply
	for _, l := range lines {
		var one reply
		if err := json.Unmarshal([]byte(l), &one); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		replies = append(replies, one)
	}
	if replies[0].Cmd != "whoami" || !replies[0].OK || replies[0].Node != "local" || !strings.Contains(string(replies[0].Result), `"peer":"uid `) {
		t.Errorf("whoami: %+v", replies[0])
	}
	if replies[1].OK || replies[1].Error == nil || replies[1].Error.Code != "not-found" {
		t.Errorf("set show 999: %+v", replies[1])
	}
	if !replies[2].OK || !strings.Contains(string(replies[2].Result), `"pools"`) {
		t.Errorf("fsstat: %+v", replies[2])
	}

	// Commands from standard input; comments and blank lines skipped.
	consoleStdin = strings.NewReader("# a script\n\nwhoami\nbuckets; pools\n")
	code, out, _ = run(t, "console", "--data", dir)
	consoleStdin = os.Stdin
	if code != 0 || !strings.Contains(out, "peer: uid ") || !strings.Contains(out, "name: photos") || !strings.Contains(out, "pool default: 4+2") {
		t.Errorf("stdin: exit %d\n%s", code, out)
	}

	// An edit: refused (previewed) without --yes, done with it.
	put := "btree put node/drives hex:00000063 hex:01030000000000000001746573"
	code, out, errOut = run(t, "console", "--data", dir, "-c", put)
	if code != 1 || !strings.Contains(out, "now:   (none)") || !strings.Contains(out, "not done") {
		t.Errorf("an edit without --yes: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run(t, "console", "--data", dir, "--yes", "-c", put+"; btree get node/drives hex:00000063")
	if code != 0 || !strings.Contains(out, "done (journal LSN") || !strings.Contains(out, "state=out") {
		t.Errorf("an edit with --yes: exit %d\n%s", code, out)
	}

	// A support bundle lands in --out.
	outDir := t.TempDir()
	code, out, _ = run(t, "console", "--data", dir, "--out", outDir, "-c", "support-bundle")
	if code != 0 || !strings.Contains(out, "written to "+outDir) {
		t.Fatalf("support-bundle: exit %d\n%s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(outDir, "plinth-support-*.tar.gz"))
	if len(files) != 1 {
		t.Fatalf("bundles: %v", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for tr := tar.NewReader(zr); ; n++ {
		if _, err := tr.Next(); err != nil {
			break
		}
	}
	if n < 10 {
		t.Errorf("the bundle holds %d files", n)
	}

	// Usage errors.
	for _, args := range [][]string{{"console", "--data", dir, "extra"}, {"console", "--data", dir, "--cert", "x", "-c", "status"}, {"console", "--remote", "127.0.0.1:1", "-c", "status"}} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errOut := run(t, "console", "--data", t.TempDir(), "-c", "status"); code != 1 || !strings.Contains(errOut, "is the node running?") {
		t.Errorf("no node: exit %d %s", code, errOut)
	}
}

func objectsPutOptions() objects.PutOptions { return objects.PutOptions{Size: -1} }

// TestConsoleFleet: several --remote run each command on every node,
// each line prefixed by its node; a certificate the nodes' client CA did
// not sign is refused.
func TestConsoleFleet(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := testCA(t, dir, "support-ca")
	nodeCA, nodeCAKey := testCA(t, dir, "node-ca")
	var addrs []string
	for i := range 2 {
		cert, key := testCert(t, dir, "node"+string(rune('0'+i)), nodeCA, nodeCAKey, true)
		s := consoleNode(t, func(c *server.Config) {
			c.Console = &server.ConsoleConfig{Listen: "127.0.0.1:0", Cert: cert, Key: key, ClientCA: filepath.Join(dir, "support-ca.crt")}
		})
		addrs = append(addrs, s.ConsoleRemote())
	}
	cert, key := testCert(t, dir, "alice", ca, caKey, false)
	args := []string{"console", "--remote", addrs[0], "--remote", addrs[1], "--cert", cert, "--key", key, "--ca", filepath.Join(dir, "node-ca.crt")}
	code, out, errOut := run(t, append(args, "-c", "whoami; drives")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, a := range addrs {
		if !strings.Contains(out, "["+a+"] peer: cert \"CN=alice") || !strings.Contains(out, "["+a+"] POS  SLOT") {
			t.Errorf("no output from %s:\n%s", a, out)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "["+addrs[0]+"] ") && !strings.HasPrefix(l, "["+addrs[1]+"] ") {
			t.Errorf("a line without its node: %q", l)
		}
	}
	// JSON: one line per node.
	code, out, _ = run(t, append(args, "--json", "-c", "whoami")...)
	if code != 0 || strings.Count(out, `"cmd":"whoami"`) != 2 || !strings.Contains(out, `"node":"`+addrs[1]+`"`) {
		t.Errorf("fleet JSON: exit %d\n%s", code, out)
	}
	// A certificate from another CA.
	mallory, mkey := testCert(t, dir, "mallory", nodeCA, nodeCAKey, false)
	bad := []string{"console", "--remote", addrs[0], "--cert", mallory, "--key", mkey, "--ca", filepath.Join(dir, "node-ca.crt"), "-c", "whoami"}
	if code, out, errOut := run(t, bad...); code != 1 || strings.Contains(out, "peer:") {
		t.Errorf("a certificate of another CA: exit %d\n%s%s", code, out, errOut)
	}
}

func testCA(t *testing.T, dir, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func testCert(t *testing.T, dir, cn string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, server bool) (certPath, keyPath string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath = filepath.Join(dir, cn+".crt"), filepath.Join(dir, cn+".key")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certPath, keyPath
}

// TestConsoleEditSurvivesKill: a metadata edit made through the console
// of a real `plinth serve` is durable when the console reports it done:
// kill -9 right after (no drain, no checkpoint), restart, and the edit and
// its audit record are there.
func TestConsoleEditSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts plinth serve (-short skips it)")
	}
	dir := filepath.Join(t.TempDir(), "plinth-data")
	n := startNode(t, dir)
	val := "hex:01030000000000000001" + "6b696c6c" // drive 99 out, by "kill"
	code, out, errOut := run(t, "console", "--data", dir, "--yes", "-c", "btree put node/drives hex:00000063 "+val)
	if code != 0 || !strings.Contains(out, "done") {
		t.Fatalf("put: exit %d\n%s%s", code, out, errOut)
	}
	n.kill()
	n = startNode(t, dir)
	code, out, _ = run(t, "console", "--data", dir, "--json", "-c", "btree get node/drives hex:00000063; events kind=console-command")
	if code != 0 {
		t.Fatalf("after the restart: exit %d\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"found":true`) || !strings.Contains(lines[0], `"hex":"0103000000000000000`) || !strings.Contains(lines[0], `"by":"kill"`) {
		t.Fatalf("the edit did not survive kill -9:\n%s", out)
	}
	if !strings.Contains(lines[1], `btree put`) || !strings.Contains(lines[1], `"actor":"uid `) {
		t.Fatalf("the audit record did not survive kill -9:\n%s", lines[1])
	}
	n.stop()
}
