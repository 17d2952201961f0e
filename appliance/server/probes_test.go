package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/appliance/events"
)

// A serving node names its latency source in its status and /metrics;
// with the probes loaded (root, BTF, drives on a block device), requests
// slower than slow_io reach the events journal.
func TestLatencySource(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := Config{DataDir: dir, Listen: "127.0.0.1:0", SlowIO: Duration(time.Nanosecond)}
	s, err := Open(cfg, Options{Default: smallDefault()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, time.Second) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.probes.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	src := s.Status().LatencySource
	t.Logf("source: %+v", src)
	if src.Kind != "ebpf" && src.Kind != "iopath" || src.Detail == "" {
		t.Fatalf("source %+v", src)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `plinth_latency_source{detail=`) || !strings.Contains(string(b), `kind="`+src.Kind+`"`) {
		t.Fatalf("/metrics does not name the latency source")
	}
	if src.Kind != "ebpf" {
		if os.Getenv("CI") != "" && os.Geteuid() == 0 && !strings.Contains(src.Detail, "no drive has a block device") {
			t.Fatalf("CI runs as root with BPF, yet: %s", src.Detail)
		}
		return
	}
	if _, err := s.Objects().CreateBucket(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Objects().Put(ctx, "slow", "k", bytes.NewReader(make([]byte, 1<<20)), objectsPut()); err != nil {
		t.Fatal(err)
	}
	for {
		evs, err := s.events.Query(events.Filter{Kinds: []string{"slow-io"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 0 {
			if !strings.Contains(evs[0].Detail, "took") || evs[0].Drive == "" {
				t.Fatalf("slow-io event %+v", evs[0])
			}
			return
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("no slow-io event with a 1ns threshold")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
