package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/kv"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/hlc"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
)

const testToken = "0123456789abcdef0123456789abcdef"

// rig is an API server over a small node of six emulated drives.
type rig struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
}

func newRig(t *testing.T, limits Limits) *rig {
	cfg := zonemu.Config{ZoneSize: 4 << 20, ZoneCapacity: 4 << 20, NrZones: 40, NrConventional: 2,
		MaxOpenZones: 8, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}
	paths, _, err := appliance.EnsureDefault(filepath.Join(t.TempDir(), "data"), appliance.DefaultOptions{Drives: 6, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	node, err := appliance.OpenNode(paths)
	if err != nil {
		t.Fatal(err)
	}
	st, err := node.OpenStore(store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pools, err := node.OpenPools(ctx, st, pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := hlc.New(0, hlc.Options{})
	obj, err := objects.Open(ctx, st, objects.Options{Clock: clock, Pools: pools, MaxObjectSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	k, err := kv.Open(ctx, st, kv.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Objects: obj, KV: k, Token: testToken, Limits: limits, Status: func() any { return map[string]string{"ok": "yes"} }})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, srv: srv, ts: httptest.NewServer(srv)}
	t.Cleanup(func() {
		r.ts.Close()
		for _, p := range pools {
			if err := p.Check(ctx, pool.CheckOptions{Deep: true}); err != nil {
				t.Errorf("pool check: %v", err)
			}
			p.Close()
		}
		st.Close()
		node.Close()
	})
	return r
}

// do sends a request with the token; headers come in pairs.
func (r *rig) do(method, path string, body io.Reader, headers ...string) (*http.Response, string) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.ts.URL+path, body)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// expect checks a reply's status (and that the body holds want, if given).
func (r *rig) expect(resp *http.Response, body string, status int, want ...string) {
	r.t.Helper()
	if resp.StatusCode != status {
		r.t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			r.t.Fatalf("%s %s: body lacks %q: %s", resp.Request.Method, resp.Request.URL.Path, w, body)
		}
	}
}
