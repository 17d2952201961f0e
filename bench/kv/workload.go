package main

import (
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"syscall"
	"time"
)

// Result is what one engine did at one key count. A child process produces
// one and writes it to its stdout as JSON; the parent reports it.
type Result struct {
	Engine     string `json:"engine"`
	Keys       int    `json:"keys"`
	CacheBytes int64  `json:"cache_bytes"`

	Insert100  *InsertResult `json:"insert_batch_100,omitempty"`
	Insert1000 *InsertResult `json:"insert_batch_1000,omitempty"`
	WarmGets   *OpsResult    `json:"warm_gets,omitempty"`
	Scans      *ScanResult   `json:"scans,omitempty"`
	Mem        *MemResult    `json:"mem_after_warm_gets,omitempty"`
	// DiskBytes is the space the loaded store occupies (allocated blocks),
	// measured after closing it.
	DiskBytes     int64      `json:"disk_bytes,omitempty"`
	ReopenSeconds float64    `json:"reopen_seconds,omitempty"`
	ColdGets      *OpsResult `json:"cold_gets,omitempty"`
	// MemNote is the engine's own account of its memory at the same moment
	// as Mem, if it gives one.
	MemNote string `json:"mem_note,omitempty"`
	// ColdMethod says how the cache was made cold (page cache dropped or not).
	ColdMethod string `json:"cold_method,omitempty"`

	// Set by the parent: the child's CPU time (all phases), and the CPU
	// time the rest of the machine used meanwhile (other processes, kernel
	// threads, interrupts, and time the hypervisor stole), which shows
	// whether something competed with the engine.
	CPUUserSeconds   float64 `json:"cpu_user_seconds,omitempty"`
	CPUSystemSeconds float64 `json:"cpu_system_seconds,omitempty"`
	OtherCPUSeconds  float64 `json:"other_cpu_seconds"`
	WallSeconds      float64 `json:"wall_seconds"`

	Error string `json:"error,omitempty"`
}

// InsertResult is a fill of an empty store with durable batches.
type InsertResult struct {
	Batch         int     `json:"batch"`
	Batches       int     `json:"batches"`
	Seconds       float64 `json:"seconds"` // time inside PutBatch, summed
	KeysPerSec    float64 `json:"keys_per_sec"`
	BatchesPerSec float64 `json:"batches_per_sec"`
	P50Millis     float64 `json:"commit_p50_ms"`
	P99Millis     float64 `json:"commit_p99_ms"`
	MaxMillis     float64 `json:"commit_max_ms"`
}

// OpsResult is a timed run of point gets.
type OpsResult struct {
	Ops       int     `json:"ops"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
}

// ScanResult is a timed run of seeks, each followed by up to scanLen entries.
type ScanResult struct {
	Scans         int     `json:"scans"`
	Entries       int     `json:"entries"`
	Seconds       float64 `json:"seconds"`
	EntriesPerSec float64 `json:"entries_per_sec"`
}

const scanLen = 100

// Sample streams: each phase draws its own keys.
const (
	streamWarmGets = 1 + iota
	streamScans
	streamColdGets
)

// benchSpec is what a child runs: one engine at one key count.
type benchSpec struct {
	engine string
	keys   int
	dir    string // the child's own directory, created by the parent
	cache  int64
	gets   int
	scans  int
	seed   uint64
}

// runBench runs every workload on one engine in order: fill with batches of
// 100 (a throwaway store), fill with batches of 1000 (the store the reads
// use), warm gets, memory, scans, then close, drop the page cache, reopen
// and cold gets. A failure stops the run; what was measured is kept.
func runBench(s benchSpec, logf func(string, ...any)) (*Result, error) {
	r := &Result{Engine: s.engine, Keys: s.keys, CacheBytes: s.cache}
	g := keyGen{seed: s.seed}

	// Batches of 100: a fresh store filled from empty, then thrown away, so
	// both insert figures describe the same thing (an empty store growing
	// to -keys) and differ only in the batch size.
	dir100 := filepath.Join(s.dir, "batch100")
	ins, err := fillStore(s, g, dir100, 100, logf)
	if err != nil {
		return r, err
	}
	r.Insert100 = ins
	if err := os.RemoveAll(dir100); err != nil {
		return r, fmt.Errorf("remove %s: %w", dir100, err)
	}

	// Batches of 1000: the load for the read phases.
	dir := filepath.Join(s.dir, "store")
	e, err := newEngine(s.engine)
	if err != nil {
		return r, err
	}
	if err := openIn(e, dir, s.cache); err != nil {
		return r, err
	}
	defer e.Close() // after an error; the normal path closes explicitly
	if r.Insert1000, err = fill(e, g, s.keys, 1000, logf); err != nil {
		return r, err
	}

	// Warm gets: the sample is read once untimed (in reverse, so the timed
	// pass does not follow the warm-up's order), then timed.
	warm := newSample(g, s.keys, s.gets, streamWarmGets)
	logf("warm-up: %d gets", warm.len())
	if _, err := getAll(e, warm, true); err != nil {
		return r, fmt.Errorf("warm-up gets: %w", err)
	}
	logf("warm gets: %d", warm.len())
	if r.WarmGets, err = getAll(e, warm, false); err != nil {
		return r, fmt.Errorf("warm gets: %w", err)
	}

	// Memory after the warm gets, with free Go heap handed back to the OS
	// (the sample is dead from here, so it is freed too), so RSS is what the
	// engine holds rather than garbage waiting for the scavenger.
	debug.FreeOSMemory()
	if r.Mem, err = readMem(); err != nil {
		return r, err
	}
	if d, ok := e.(memDescriber); ok {
		r.MemNote = d.MemNote()
	}

	logf("scans: %d × %d entries", s.scans, scanLen)
	if r.Scans, err = scanAll(e, newSample(g, s.keys, s.scans, streamScans)); err != nil {
		return r, err
	}
	// Printing what the scans touched makes the reads observable, so no
	// compiler may drop them.
	logf("scans: %d entries read (touched bytes xor %#02x)", r.Scans.Entries, sink)

	// Cold gets: close, drop the page cache, reopen, read keys never read.
	cold := newSample(g, s.keys, s.gets, streamColdGets)
	if err := e.Close(); err != nil {
		return r, err
	}
	if r.DiskBytes, err = diskUsage(dir); err != nil {
		return r, err
	}
	r.ColdMethod = dropPageCache()
	logf("%s", r.ColdMethod)
	t0 := time.Now()
	if err := openIn(e, dir, s.cache); err != nil {
		return r, fmt.Errorf("reopen: %w", err)
	}
	r.ReopenSeconds = time.Since(t0).Seconds()
	logf("cold gets: %d", cold.len())
	if r.ColdGets, err = getAll(e, cold, false); err != nil {
		return r, fmt.Errorf("cold gets: %w", err)
	}
	if err := e.Close(); err != nil {
		return r, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return r, fmt.Errorf("remove %s: %w", dir, err)
	}
	return r, nil
}

func openIn(e Engine, dir string, cache int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return e.Open(dir, cache)
}

// fillStore fills a fresh store in dir and closes it.
func fillStore(s benchSpec, g keyGen, dir string, batch int, logf func(string, ...any)) (*InsertResult, error) {
	e, err := newEngine(s.engine)
	if err != nil {
		return nil, err
	}
	if err := openIn(e, dir, s.cache); err != nil {
		return nil, err
	}
	ins, err := fill(e, g, s.keys, batch, logf)
	if cerr := e.Close(); err == nil {
		err = cerr
	}
	return ins, err
}

// fill inserts keys 0..n-1 (a random key order, see keyGen.Key) in durable
// batches. Only PutBatch is timed: generating the next batch is the
// benchmark's work, not the engine's. Work an engine defers past its commits
// (pebble's compactions) is not in the figure; its cost shows in the later
// phases and in the disk size.
func fill(e Engine, g keyGen, n, batch int, logf func(string, ...any)) (*InsertResult, error) {
	keys := make([][]byte, batch)
	vals := make([][]byte, batch)
	lat := make([]time.Duration, 0, (n+batch-1)/batch)
	var total time.Duration
	lastLog := time.Now()
	logf("insert: %d keys in batches of %d", n, batch)
	for start := 0; start < n; start += batch {
		m := min(batch, n-start)
		for j := range m {
			i := uint64(start + j)
			keys[j] = g.Key(keys[j][:0], i)
			vals[j] = g.Value(vals[j][:0], i)
		}
		t0 := time.Now()
		err := e.PutBatch(keys[:m], vals[:m])
		d := time.Since(t0)
		if err != nil {
			return nil, fmt.Errorf("insert batch at key %d: %w", start, err)
		}
		total += d
		lat = append(lat, d)
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			logf("insert: %d/%d keys, %.0f keys/s so far", start+m, n, float64(start+m)/total.Seconds())
		}
	}
	slices.Sort(lat)
	sec := total.Seconds()
	return &InsertResult{
		Batch:         batch,
		Batches:       len(lat),
		Seconds:       sec,
		KeysPerSec:    float64(n) / sec,
		BatchesPerSec: float64(len(lat)) / sec,
		P50Millis:     millis(percentile(lat, 0.50)),
		P99Millis:     millis(percentile(lat, 0.99)),
		MaxMillis:     millis(lat[len(lat)-1]),
	}, nil
}

// getAll gets every key of the sample (backwards if reverse) and checks that
// each is found with the value of its key; the check reads 8 bytes and
// costs every engine the same.
func getAll(e Engine, s *sample, reverse bool) (*OpsResult, error) {
	n := s.len()
	t0 := time.Now()
	for j := range n {
		if reverse {
			j = n - 1 - j
		}
		k := s.key(j)
		v, ok, err := e.Get(k)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("key %q not found", k)
		}
		if len(v) != valueLen || binary.LittleEndian.Uint64(v) != s.want[j] {
			return nil, fmt.Errorf("key %q: wrong value (%d bytes)", k, len(v))
		}
	}
	sec := time.Since(t0).Seconds()
	return &OpsResult{Ops: n, Seconds: sec, OpsPerSec: float64(n) / sec}, nil
}

// scanAll seeks to each key of the sample and reads scanLen entries on.
func scanAll(e Engine, s *sample) (*ScanResult, error) {
	entries := 0
	t0 := time.Now()
	for j := range s.len() {
		got, err := e.Scan(s.key(j), scanLen)
		if err != nil {
			return nil, err
		}
		// The start key exists, so a short scan means the engine lost
		// entries, unless it ran into the end of the key space.
		if got == 0 {
			return nil, fmt.Errorf("scan from %q: no entries", s.key(j))
		}
		entries += got
	}
	sec := time.Since(t0).Seconds()
	return &ScanResult{Scans: s.len(), Entries: entries, Seconds: sec, EntriesPerSec: float64(entries) / sec}, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func millis(d time.Duration) float64 { return d.Seconds() * 1000 }

// diskUsage is the space the files under dir occupy on the device
// (allocated blocks, so preallocated and sparse files count what they use).
func diskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += allocated(info)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return total, nil
}

// allocated is the space a file occupies on the device: blocks, not length,
// so a preallocated WAL or a sparse file counts what it really uses.
func allocated(info os.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}

// newChildLogger prefixes the child's progress lines with engine and size.
func newChildLogger(engine string, keys int) func(string, ...any) {
	l := log.New(os.Stderr, fmt.Sprintf("[%s %d] ", engine, keys), log.Ltime)
	return l.Printf
}
