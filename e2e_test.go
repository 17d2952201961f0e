package main

// End-to-end tests: a real `plinth serve` process (this test binary,
// re-executed as the plinth command) on the embedded default, driven over
// HTTP the way an operator's curl would.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as the plinth command when a test
// starts it as a child (PLINTH_RUN_MAIN=1).
func TestMain(m *testing.M) {
	if os.Getenv("PLINTH_RUN_MAIN") == "1" {
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// node is a `plinth serve` child process.
type node struct {
	t     *testing.T
	cmd   *exec.Cmd
	url   string
	token string
	out   *bytes.Buffer
	done  chan error
}

// startNode starts `plinth serve --data dir` and waits until it listens.
func startNode(t *testing.T, dir string, args ...string) *node {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--data", dir, "--listen", "127.0.0.1:0", "--drain", "5s"}, args...)...)
	cmd.Env = append(os.Environ(), "PLINTH_RUN_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, cmd: cmd, out: &bytes.Buffer{}, done: make(chan error, 1)}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			n.out.WriteString(line + "\n")
			if u, ok := strings.CutPrefix(line, "API: "); ok {
				ready <- u
			}
		}
		n.done <- cmd.Wait()
	}()
	select {
	case n.url = <-ready:
	case err := <-n.done:
		t.Fatalf("plinth serve exited before it listened: %v\nstderr:\n%s", err, stderr.String())
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("plinth serve did not listen within 2 minutes; stderr:\n%s", stderr.String())
	}
	tok, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	n.token = strings.TrimSpace(string(tok))
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			n.cmd.Process.Kill()
			<-n.done
		}
	})
	return n
}

// stop sends SIGTERM and waits for a clean exit.
func (n *node) stop() {
	n.t.Helper()
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.done:
		if err != nil {
			n.t.Fatalf("plinth serve exited with %v", err)
		}
	case <-time.After(time.Minute):
		n.t.Fatal("plinth serve did not stop within a minute of SIGTERM")
	}
}

// kill sends SIGKILL: no drain, no checkpoint.
func (n *node) kill() {
	n.cmd.Process.Kill()
	<-n.done
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// req sends a request with the node's token.
func (n *node) req(method, path string, body io.Reader, headers ...string) (*http.Response, []byte, error) {
	r, err := http.NewRequest(method, n.url+path, body)
	if err != nil {
		return nil, nil, err
	}
	r.Header.Set("Authorization", "Bearer "+n.token)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(r)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func (n *node) must(status int, method, path string, body io.Reader, headers ...string) (*http.Response, []byte) {
	n.t.Helper()
	resp, b, err := n.req(method, path, body, headers...)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != status {
		n.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, b)
	}
	return resp, b
}

// patterned is a reader of n deterministic bytes, so a 200 MiB body is
// streamed, never held.
type patterned struct {
	seed uint64
	n, i int64
}

func (p *patterned) Read(b []byte) (int, error) {
	if p.i >= p.n {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n-p.i)
	for j := range k {
		x := uint64(p.i+j) * (p.seed | 1)
		b[j] = byte(x>>17) ^ byte(x>>3)
	}
	p.i += k
	return int(k), nil
}

func sumOf(seed uint64, n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, &patterned{seed: seed, n: n})
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// TestE2EObjects: PUT, GET, ranges, LIST and DELETE over HTTP against a
// real serve process at every size the issue names, 200 MiB streamed; a
// restart (SIGTERM, final checkpoint) keeps everything.
func TestE2EObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts plinth serve and moves 217 MiB (-short skips it)")
	}
	dir := filepath.Join(t.TempDir(), "data")
	n := startNode(t, dir)
	n.must(201, "PUT", "/v1/buckets/e2e", nil)
	sizes := []int64{0, 1, 4 << 10, 256 << 10, 16 << 20, 200 << 20}
	for i, size := range sizes {
		key := fmt.Sprintf("size/%d", size)
		n.must(200, "PUT", "/v1/buckets/e2e/"+key, &patterned{seed: uint64(i), n: size}, "Content-Type", "application/octet-stream")
	}
	check := func() {
		for i, size := range sizes {
			key := fmt.Sprintf("size/%d", size)
			r, err := http.NewRequest("GET", n.url+"/v1/buckets/e2e/"+key, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Authorization", "Bearer "+n.token)
			resp, err := client.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			got, err := io.Copy(h, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || got != size || !bytes.Equal(h.Sum(nil), func() []byte { s := sumOf(uint64(i), size); return s[:] }()) {
				t.Fatalf("GET %s: %d, %d bytes, %v", key, resp.StatusCode, got, err)
			}
			if size > 10 {
				_, part := n.must(206, "GET", "/v1/buckets/e2e/"+key, nil, "Range", fmt.Sprintf("bytes=%d-%d", size/2, size/2+9))
				want := make([]byte, size/2+10)
				io.ReadFull(&patterned{seed: uint64(i), n: size}, want)
				if !bytes.Equal(part, want[size/2:]) {
					t.Fatalf("range of %s: %x, want %x", key, part, want[size/2:])
				}
			}
		}
		_, list := n.must(200, "GET", "/v1/buckets/e2e?prefix=size/", nil)
		var res struct {
			Objects []struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
			} `json:"objects"`
		}
		if err := json.Unmarshal(list, &res); err != nil || len(res.Objects) != len(sizes) {
			t.Fatalf("list: %v %s", err, list)
		}
	}
	check()
	n.stop()
	if !strings.Contains(n.out.String(), "stopped: final checkpoint taken") {
		t.Fatalf("no clean stop:\n%s", n.out.String())
	}
	n = startNode(t, dir)
	check()
	for _, size := range sizes {
		n.must(204, "DELETE", fmt.Sprintf("/v1/buckets/e2e/size/%d", size), nil)
	}
	n.must(404, "GET", "/v1/buckets/e2e/size/1", nil)
	n.must(204, "DELETE", "/v1/buckets/e2e", nil)
	// The events journal saw the starts and the clean stop.
	_, evs := n.must(200, "GET", "/v1/events?kind=node-started,node-stopped", nil)
	if c := strings.Count(string(evs), `"node-started"`); c != 2 || !strings.Contains(string(evs), "clean stop") {
		t.Fatalf("events: %s", evs)
	}
	_, m := n.must(200, "GET", "/metrics", nil)
	for _, want := range []string{"plinth_http_requests_total", "plinth_drive_io_latency_seconds", "plinth_pool_usable_bytes"} {
		if !strings.Contains(string(m), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
	n.stop()
}

// TestE2EBadInput: bad names, oversized headers, truncated bodies, a wrong
// token and versions out of order get clear errors, and lose nothing.
func TestE2EBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts plinth serve (-short skips it)")
	}
	n := startNode(t, filepath.Join(t.TempDir(), "data"))
	n.must(201, "PUT", "/v1/buckets/keep", nil)
	n.must(200, "PUT", "/v1/buckets/keep/k", strings.NewReader("precious"))
	_, b := n.must(400, "PUT", "/v1/buckets/NO_good", nil)
	if !strings.Contains(string(b), "bucket name") {
		t.Fatalf("bad bucket name: %s", b)
	}
	n.must(413, "PUT", "/v1/buckets/keep/"+strings.Repeat("x", 1000), strings.NewReader("x"))
	resp, _, err := n.req("GET", "/v1/buckets/keep/k", nil, "X-Huge", strings.Repeat("h", 100<<10))
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("oversized header: %v %v", resp, err)
	}
	r, _ := http.NewRequest("GET", n.url+"/v1/buckets/keep/k", nil)
	r.Header.Set("Authorization", "Bearer not-the-token")
	resp, err = client.Do(r)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("wrong token: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, _ = n.must(200, "GET", "/v1/buckets/keep/k", nil)
	v, _ := strconv.ParseUint(resp.Header.Get("X-Plinth-Version"), 10, 64)
	_, b = n.must(409, "PUT", "/v1/buckets/keep/k", strings.NewReader("older"), "X-Plinth-Version", fmt.Sprint(v-1))
	if !strings.Contains(string(b), "Superseded") {
		t.Fatalf("older version: %s", b)
	}
	// A body cut short by the client.
	conn, err := net.Dial("tcp", strings.TrimPrefix(n.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /v1/buckets/keep/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 5000000\r\n\r\n", n.token)
	conn.Write(make([]byte, 1<<20))
	conn.Close()
	time.Sleep(200 * time.Millisecond)
	_, b = n.must(200, "GET", "/v1/buckets/keep/k", nil)
	if string(b) != "precious" {
		t.Fatalf("after bad input the object holds %q", b)
	}
	n.stop()
}

// TestE2EStopDuringStartup: SIGTERM sent as soon as the node prints its
// first line (while Open is still reporting) stops it cleanly. A supervisor
// signals when it sees the API address; the node once installed its signal
// handler after printing it, and a signal in that gap killed it outright.
func TestE2EStopDuringStartup(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts plinth serve (-short skips it)")
	}
	dir := filepath.Join(t.TempDir(), "data")
	for round := range 2 { // first boot formats; the second opens
		cmd := exec.Command(os.Args[0], "serve", "--data", dir, "--listen", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), "PLINTH_RUN_MAIN=1")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr lockedBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if out.Len() == 0 {
				cmd.Process.Signal(syscall.SIGTERM)
			}
			out.WriteString(sc.Text() + "\n")
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("round %d: SIGTERM during startup: plinth serve exited with %v\nstdout:\n%s\nstderr:\n%s", round, err, out.String(), stderr.String())
		}
		if !strings.Contains(out.String(), "stopped: final checkpoint taken") {
			t.Fatalf("round %d: no clean stop reported:\n%s", round, out.String())
		}
	}
	startNode(t, dir).stop()
}

// TestE2EKillUnderLoad: concurrent writers and readers, kill -9 in the
// middle, restart: every acknowledged object is intact.
func TestE2EKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts plinth serve twice under load (-short skips it)")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PLINTH_E2E_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (PLINTH_E2E_SEED=%d reproduces the sizes and keys)", seed, seed)
	dir := filepath.Join(t.TempDir(), "data")
	n := startNode(t, dir)
	n.must(201, "PUT", "/v1/buckets/load", nil)
	type acked struct {
		key  string
		seed uint64
		size int64
	}
	var mu sync.Mutex
	var done []acked
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := 0; ctx.Err() == nil; i++ {
				size := []int64{0, 1, 4 << 10, 100 << 10, 256 << 10, 1 << 20, 3<<20 + 5}[rng.IntN(7)]
				key := fmt.Sprintf("w%d/%d", w, i)
				s := rng.Uint64()
				resp, _, err := n.req("PUT", "/v1/buckets/load/"+key, &patterned{seed: s, n: size})
				if err != nil {
					return // the node died
				}
				if resp.StatusCode == 200 {
					mu.Lock()
					done = append(done, acked{key, s, size})
					mu.Unlock()
				}
				mu.Lock()
				var a acked
				if len(done) > 0 {
					a = done[rng.IntN(len(done))]
				}
				mu.Unlock()
				if i%3 == 0 && a.key != "" {
					if resp, b, err := n.req("GET", "/v1/buckets/load/"+a.key, nil); err == nil && resp.StatusCode == 200 && sha256.Sum256(b) != sumOf(a.seed, a.size) {
						t.Errorf("live read of %s returned wrong data", a.key)
					}
				}
			}
		}()
	}
	time.Sleep(4 * time.Second)
	n.kill()
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(done) < 20 {
		t.Fatalf("only %d writes acknowledged before the kill", len(done))
	}
	n = startNode(t, dir)
	for _, a := range done {
		resp, b, err := n.req("GET", "/v1/buckets/load/"+a.key, nil)
		if err != nil || resp.StatusCode != 200 || int64(len(b)) != a.size || sha256.Sum256(b) != sumOf(a.seed, a.size) {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Fatalf("seed %d: acknowledged %s (%d bytes) after kill -9: status %d, %d bytes, %v", seed, a.key, a.size, status, len(b), err)
		}
	}
	t.Logf("%d acknowledged objects intact after kill -9", len(done))
	n.stop()
}

// TestE2ERebuildKilled: a drive is marked out, its rebuild is cut by kill
// -9 half way; the restarted node takes the rebuild up again and finishes
// it, and every acknowledged object is intact.
func TestE2ERebuildKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts plinth serve twice (-short skips it)")
	}
	work := t.TempDir()
	dir := filepath.Join(work, "data")
	slow := filepath.Join(work, "slow.json")
	if err := os.WriteFile(slow, []byte(`{"rebuild_rate": 1048576}`), 0o600); err != nil {
		t.Fatal(err)
	}
	n := startNode(t, dir, "--default-drives", "8", "--config", slow)
	n.must(201, "PUT", "/v1/buckets/rbk", nil)
	const objs = 24
	for i := range objs {
		n.must(200, "PUT", fmt.Sprintf("/v1/buckets/rbk/o%d", i), &patterned{seed: uint64(i), n: 1<<20 + int64(i)*4099})
	}
	// Mark out a drive that holds members (placement is random).
	_, dl := n.must(200, "GET", "/v1/drives", nil)
	var dlist struct {
		Drives []struct {
			Position int `json:"position"`
			Sets     int `json:"sets"`
		} `json:"drives"`
	}
	if err := json.Unmarshal(dl, &dlist); err != nil {
		t.Fatal(err)
	}
	victim := -1
	for _, d := range dlist.Drives {
		if d.Sets > 0 && d.Position >= 3 {
			victim = d.Position
		}
	}
	if victim < 0 {
		t.Fatalf("no data drive holds members: %s", dl)
	}
	n.must(200, "POST", fmt.Sprintf("/v1/drives/%d?state=out", victim), nil)
	type status struct {
		Node struct {
			Rebuild []struct {
				Running  bool      `json:"running"`
				Bytes    int64     `json:"bytes"`
				Members  int       `json:"members_rebuilt"`
				LastDone time.Time `json:"last_done"`
				Error    string    `json:"last_error"`
			} `json:"rebuild"`
		} `json:"node"`
	}
	get := func() status {
		_, b := n.must(200, "GET", "/v1/status", nil)
		var st status
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	deadline := time.Now().Add(time.Minute)
	for st := get(); !st.Node.Rebuild[0].Running; st = get() {
		if time.Now().After(deadline) {
			t.Fatalf("no rebuild started: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if st := get(); !st.Node.Rebuild[0].Running || !st.Node.Rebuild[0].LastDone.IsZero() {
		t.Fatalf("the rebuild ended before the kill (slow it down): %+v", st)
	}
	n.kill()
	n = startNode(t, dir) // the default rate: it finishes
	deadline = time.Now().Add(2 * time.Minute)
	for st := get(); st.Node.Rebuild[0].LastDone.IsZero(); st = get() {
		if time.Now().After(deadline) || st.Node.Rebuild[0].Error != "" {
			t.Fatalf("the rebuild did not finish after the restart: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, drives := n.must(200, "GET", "/v1/drives", nil)
	if !strings.Contains(string(drives), `"state": "out"`) {
		t.Fatalf("drive 6 after the restart: %s", drives)
	}
	for i := range objs {
		size := 1<<20 + int64(i)*4099
		_, b := n.must(200, "GET", fmt.Sprintf("/v1/buckets/rbk/o%d", i), nil)
		if int64(len(b)) != size || sha256.Sum256(b) != sumOf(uint64(i), size) {
			t.Fatalf("object %d after the interrupted rebuild: %d bytes", i, len(b))
		}
	}
	_, evs := n.must(200, "GET", "/v1/events?kind=rebuild-done,member-rebuilt", nil)
	if !strings.Contains(string(evs), "rebuild-done") {
		t.Fatalf("events: %s", evs)
	}
	n.stop()
}
