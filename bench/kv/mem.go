package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
)

// MemResult is the child's memory at one moment. The child runs one engine,
// so everything in it is that engine's plus the benchmark's small fixed
// share (the Go runtime and a batch of keys).
type MemResult struct {
	// RSSBytes (VmRSS) is all resident memory: RSSAnonBytes (heap, caches
	// allocated by the engine) plus RSSFileBytes (mapped file pages: for
	// bbolt, the pages of its mmapped file it has touched, which the kernel
	// can reclaim at will, and the binary itself).
	RSSBytes     int64 `json:"rss_bytes"`
	RSSAnonBytes int64 `json:"rss_anon_bytes"`
	RSSFileBytes int64 `json:"rss_file_bytes"`
	// HWMBytes (VmHWM) is the peak RSS since the child started, so it
	// includes both fills.
	HWMBytes int64 `json:"hwm_bytes"`
	// GoHeapInuseBytes is runtime.MemStats.HeapInuse: the Go heap's spans in
	// use. Memory an engine allocates outside the Go heap (pebble's block
	// cache with cgo) is in RSS only.
	GoHeapInuseBytes int64 `json:"go_heap_inuse_bytes"`
}

func readMem() (*MemResult, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	fields := map[string]*int64{}
	m := &MemResult{}
	fields["VmRSS"] = &m.RSSBytes
	fields["RssAnon"] = &m.RSSAnonBytes
	fields["RssFile"] = &m.RSSFileBytes
	fields["VmHWM"] = &m.HWMBytes
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		// Lines look like "VmRSS:	   12345 kB".
		name, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		dst := fields[string(name)]
		if !ok || dst == nil {
			continue
		}
		num, unit, _ := bytes.Cut(bytes.TrimSpace(rest), []byte(" "))
		kb, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil || string(unit) != "kB" {
			return nil, fmt.Errorf("memory: /proc/self/status: cannot read %q", sc.Text())
		}
		*dst = kb << 10
		delete(fields, string(name))
	}
	if len(fields) > 0 {
		return nil, fmt.Errorf("memory: /proc/self/status lacks %v", keysOf(fields))
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.GoHeapInuseBytes = int64(ms.HeapInuse)
	return m, nil
}

func keysOf[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
