package main

import (
	"fmt"
	"sort"
)

// Engine is what the benchmark drives. Every engine gets the same calls from
// one client goroutine, so the figures compare the engines, not the harness.
type Engine interface {
	Name() string
	// Open creates or reopens the store in dir with a cache of cacheBytes.
	Open(dir string, cacheBytes int64) error
	// PutBatch stores the pairs atomically and durably (returns after fdatasync).
	PutBatch(keys, values [][]byte) error
	// Get returns the value of key. The value is read-only and must stay valid
	// until the next call on the engine: an engine copies it only if its own
	// API requires that (bbolt's slices die with the transaction, pebble's with
	// the closer), so none pays for a copy another one does not need.
	Get(key []byte) (value []byte, found bool, err error)
	// Scan reads up to n entries from the first key >= start, returns how many.
	// It reads every key and value it passes (see touch), so an engine that
	// loads values lazily pays for them as the others do.
	Scan(start []byte, n int) (int, error)
	// Close closes the store; Open may follow (the cold phase reopens the
	// same Engine), and a second Close does nothing.
	Close() error
}

// engineInfo describes an engine for the report: how a commit reaches stable
// media and what the cache budget buys, since neither is visible in a figure.
type engineInfo struct {
	new        func() Engine
	durability string
	cache      string
	// budget is the table's "cache budget" cell for -cache bytes.
	budget func(cacheBytes int64) string
}

var registry = map[string]engineInfo{}

// register is called from the init of each engine file, so an engine behind a
// build tag (plinth) is simply absent when the tag is off.
func register(name string, info engineInfo) {
	if _, dup := registry[name]; dup {
		panic("engine registered twice: " + name)
	}
	registry[name] = info
}

// defaultEngineOrder is the column order of the report when -engines is not
// given; engines that are not built in are skipped.
var defaultEngineOrder = []string{"plinth", "pebble", "bbolt"}

func defaultEngines() []string {
	var names []string
	for _, n := range defaultEngineOrder {
		if _, ok := registry[n]; ok {
			names = append(names, n)
		}
	}
	return names
}

func newEngine(name string) (Engine, error) {
	info, ok := registry[name]
	if !ok {
		return nil, unknownEngine(name)
	}
	return info.new(), nil
}

func unknownEngine(name string) error {
	known := make([]string, 0, len(registry))
	for n := range registry {
		known = append(known, n)
	}
	sort.Strings(known)
	return fmt.Errorf("unknown engine %q (built in: %v)", name, known)
}

// memDescriber is an engine that can say where its memory goes, in its own
// terms; the report prints the sentence under the table, next to the RSS it
// helps to explain.
type memDescriber interface {
	MemNote() string
}

// sink receives a byte of every key and value a scan passes, so that neither
// the compiler nor a lazily-loading engine can skip reading them.
var sink byte

func touch(k, v []byte) {
	if len(k) > 0 {
		sink ^= k[len(k)-1]
	}
	if len(v) > 0 {
		sink ^= v[len(v)-1]
	}
}
