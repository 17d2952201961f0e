package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/console"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/pool"
)

// smallDefault is the embedded default on six small emulated drives (as
// the server's tests use).
func smallDefault() appliance.DefaultOptions {
	return appliance.DefaultOptions{Config: zonemu.Config{ZoneSize: 4 << 20, ZoneCapacity: 4 << 20, NrZones: 40, NrConventional: 2,
		MaxOpenZones: 8, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}}
}

// node is a running node.
type node struct {
	t   *testing.T
	s   *server.Server
	dir string
}

// startNode opens a node on small emulated drives and serves it until the
// test ends.
func startNode(t *testing.T, edit func(*server.Config)) *node {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	cfg := server.Config{DataDir: dir, Listen: "127.0.0.1:0", ScrubInterval: server.Duration(time.Hour)}
	if edit != nil {
		edit(&cfg)
	}
	s, err := server.Open(cfg, server.Options{Default: smallDefault(), Pool: pool.Options{Cleaner: pool.CleanerOptions{Manual: true}}})
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
	n := &node{t: t, s: s, dir: dir}
	// Serving once its start is in the events.
	c := n.dial()
	waitFor(t, "node-started", func() bool {
		var r console.EventsResult
		do(t, c, "events", map[string]any{"kind": "node-started"}, &r)
		return len(r.Events) > 0
	})
	return n
}

// dial connects to the node's console socket.
func (n *node) dial() *console.Client {
	n.t.Helper()
	c, err := console.DialUnix(n.s.ConsoleSocket(), 5*time.Second)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { c.Close() })
	return c
}

// put stores an object.
func (n *node) put(bucket, key string, data []byte) objects.ObjectInfo {
	n.t.Helper()
	ctx := context.Background()
	if _, err := n.s.Objects().Bucket(bucket); err != nil {
		if _, err := n.s.Objects().CreateBucket(ctx, bucket); err != nil {
			n.t.Fatal(err)
		}
	}
	oi, err := n.s.Objects().Put(ctx, bucket, key, bytes.NewReader(data), objects.PutOptions{Size: int64(len(data))})
	if err != nil {
		n.t.Fatal(err)
	}
	return oi
}

// get reads an object whole.
func (n *node) get(bucket, key string) []byte {
	n.t.Helper()
	r, err := n.s.Objects().Open(context.Background(), bucket, key, 0, -1)
	if err != nil {
		n.t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

// do runs a command that must succeed and decodes its result into out
// (when not nil); it returns the raw result.
func do(t *testing.T, c *console.Client, cmd string, args map[string]any, out any) json.RawMessage {
	t.Helper()
	res, err := c.Do(context.Background(), console.Request{Cmd: cmd, Args: args}, nil)
	if err != nil {
		t.Fatalf("%s %v: %v", cmd, args, err)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			t.Fatalf("%s: decode %s: %v", cmd, res, err)
		}
	}
	return res
}

// fails runs a command that must fail with code, and returns its error.
func fails(t *testing.T, c *console.Client, cmd string, args map[string]any, code string) *console.Error {
	t.Helper()
	_, err := c.Do(context.Background(), console.Request{Cmd: cmd, Args: args}, nil)
	var ce *console.Error
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("%s %v: %v, want code %s", cmd, args, err, code)
	}
	return ce
}

// line runs a command line, as people type it.
func line(t *testing.T, c *console.Client, cmds []console.Command, l string, out any) json.RawMessage {
	t.Helper()
	req, err := console.ParseLine(l, cmds)
	if err != nil {
		t.Fatalf("%q: %v", l, err)
	}
	return do(t, c, req.Cmd, req.Args, out)
}

// api sends an authenticated request to the node's HTTP API.
func (n *node) api(method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest(method, n.s.URL()+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+n.s.Token())
	return http.DefaultClient.Do(req)
}

// waitFor polls cond until it holds (30 s at most).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
