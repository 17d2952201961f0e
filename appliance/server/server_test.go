package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
)

func writeFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "plinth.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadConfig: a good file loads; a misspelt field, a syntax error, a
// bad layout, selection or level are refused with a message that says
// where and what.
func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig(writeFile(t, `{"data_dir": "/d", "listen": "0.0.0.0:9000", "pools": [{"name": "fast", "drives": [0,1,2], "layout": "1+2"}],
		"tombstone_horizon": "48h", "limits": {"queue_wait": "2s", "max_concurrent": 8}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/d" || time.Duration(c.TombstoneHorizon) != 48*time.Hour || time.Duration(c.Limits.QueueWait) != 2*time.Second || c.Pools[0].Layout != "1+2" {
		t.Fatalf("loaded %+v", c)
	}
	specs, err := c.poolSpecs()
	if err != nil || specs[0].Layout.N != 1 || specs[0].Layout.K != 2 || len(specs[0].Drives) != 3 {
		t.Fatalf("specs %+v %v", specs, err)
	}
	for body, want := range map[string]string{
		`{"dataa_dir": "/d"}`:                          `unknown field "dataa_dir"`,
		"{\n\"listen\": \"x\",\n}":                     "line 3",
		`{"pools": [{"name": "p", "layout": "four"}]}`: "want N+K",
		`{"pools": [{"name": "Pool"}]}`:                "pool name",
		`{"pools": [{"name": "p", "unit": 4096}]}`:     "a unit needs a layout",
		`{"pool_selection": "random"}`:                 "pool_selection",
		`{"log_level": "chatty"}`:                      "log_level",
		`{"tombstone_horizon": "soon"}`:                "duration",
		`{"tls": {"cert": "c"}}`:                       "both cert and key",
		`{"limits": {"max_concurrent": -1}}`:           "negative",
	} {
		if _, err := LoadConfig(writeFile(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

// TestToken: made once, mode 0600, kept; a readable or short one refused.
func TestToken(t *testing.T) {
	dir := t.TempDir()
	tok, created, err := ensureToken(dir)
	if err != nil || !created || len(tok) != 64 {
		t.Fatalf("%q %v %v", tok, created, err)
	}
	st, _ := os.Stat(filepath.Join(dir, TokenFile))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	again, created, err := ensureToken(dir)
	if err != nil || created || again != tok {
		t.Fatalf("second: %q %v %v", again, created, err)
	}
	os.Chmod(filepath.Join(dir, TokenFile), 0o644)
	if _, _, err := ensureToken(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("readable token: %v", err)
	}
	os.WriteFile(filepath.Join(dir, TokenFile), []byte("short\n"), 0o600)
	os.Chmod(filepath.Join(dir, TokenFile), 0o600)
	if _, _, err := ensureToken(dir); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Fatalf("short token: %v", err)
	}
}

// TestHealthCount: a drive passing the error threshold within the window
// is reported once; errors older than the window do not count.
func TestHealthCount(t *testing.T) {
	h := newHealthMonitor(nil, 5, time.Minute, 30*time.Second)
	t0 := time.Unix(1000, 0)
	if h.count("d", 3, t0) || h.count("d", 4, t0.Add(2*time.Minute)) {
		t.Fatal("under the threshold")
	}
	// 3 errors aged out: 1 + 3 = 4 within the window.
	if h.count("d", 7, t0.Add(150*time.Second)) {
		t.Fatal("aged errors counted")
	}
	if !h.count("d", 8, t0.Add(170*time.Second)) {
		t.Fatal("5 errors within a minute not reported")
	}
	if h.count("d", 20, t0.Add(171*time.Second)) {
		t.Fatal("reported twice")
	}
	if newHealthMonitor(nil, 0, time.Minute, 0).count("d", 100, t0) {
		t.Fatal("threshold 0 reported")
	}
	// A drive is marked once, whether by errors or by a stall.
	if h.markOnce("d") {
		t.Fatal("a drive marked for errors was marked again for a stall")
	}
	if !h.markOnce("e") || h.markOnce("e") {
		t.Fatal("markOnce")
	}
}

func smallDefault() appliance.DefaultOptions {
	return appliance.DefaultOptions{Config: zonemu.Config{ZoneSize: 4 << 20, ZoneCapacity: 4 << 20, NrZones: 40, NrConventional: 2,
		MaxOpenZones: 8, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}}
}

// TestServeAndStop: a node opens, serves status and metrics, versions it
// assigns keep rising across a restart (the clock's ceiling persists), and
// a second node on the same data directory is refused.
func TestServeAndStop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0"}
	var last uint64
	for round := range 2 {
		var out strings.Builder
		s, err := Open(cfg, Options{Out: &out, Default: smallDefault(), Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}})
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 && !strings.Contains(out.String(), "generated the API token") || !strings.Contains(out.String(), "API: http://127.0.0.1:") {
			t.Fatalf("report:\n%s", out.String())
		}
		if _, err := Open(cfg, Options{Default: smallDefault()}); err == nil {
			t.Fatal("a second node opened the same data directory")
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx, time.Second) }()
		get := func(path string) string {
			req, _ := http.NewRequest("GET", s.URL()+path, nil)
			req.Header.Set("Authorization", "Bearer "+s.Token())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
			}
			return string(b)
		}
		var st struct {
			Node struct {
				Drives []struct {
					Path string `json:"path"`
				} `json:"drives"`
				Pools []struct {
					Name string `json:"name"`
				} `json:"pools"`
			} `json:"node"`
		}
		if err := json.Unmarshal([]byte(get("/v1/status")), &st); err != nil || len(st.Node.Drives) != 6 || st.Node.Pools[0].Name != "default" {
			t.Fatalf("status: %+v %v", st, err)
		}
		if m := get("/metrics"); !strings.Contains(m, "plinth_drive_io_latency_seconds_bucket") {
			t.Fatal("no drive latency in /metrics")
		}
		if round == 0 {
			if _, err := s.Objects().CreateBucket(ctx, "clock"); err != nil {
				t.Fatal(err)
			}
		}
		oi, err := s.Objects().Put(ctx, "clock", "k", strings.NewReader("x"), objectsPut())
		if err != nil {
			t.Fatal(err)
		}
		if oi.Version <= last {
			t.Fatalf("round %d: version %d not above %d", round, oi.Version, last)
		}
		last = oi.Version
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
