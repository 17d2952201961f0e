// Command kv compares key-value engines on this machine with the same
// durability (a commit returns once its data is on stable media), the same
// data and the same cache budget, and reports absolute figures and ratios.
// Each engine runs in a child process of its own (the binary re-executed
// with a hidden flag), so its memory figures are its own. See ../README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

type options struct {
	dir          string
	keys         []int
	engines      []string
	cache        int64
	gets, scans  int
	seed         uint64
	json         bool
	out          string
	rawMiB       int
	pebbleNewest bool
	keep         bool

	// Set only in a child, by the parent.
	childEngine string
	childKeys   int
}

// childFlagPrefix marks the flags the parent passes to its children; usage
// does not list them.
const childFlagPrefix = "child-"

func parseFlags() (*options, error) {
	o := &options{}
	var keys, engines string
	flag.StringVar(&o.dir, "dir", "", "directory under which the stores and the raw-device file are created, in a fresh subdirectory removed at the end (default: one under /var/tmp)")
	flag.StringVar(&keys, "keys", "1000000", "comma-separated key counts, one table each (e.g. 1000000,10000000; 20000 for a smoke run)")
	flag.StringVar(&engines, "engines", strings.Join(defaultEngines(), ","), "comma-separated engines, in column order")
	flag.Int64Var(&o.cache, "cache", 64<<20, "cache budget in bytes, the same for every engine (pebble: block cache; bbolt has none, it reads through mmap and the page cache)")
	flag.IntVar(&o.gets, "gets", 100000, "point gets per get phase (warm and cold)")
	flag.IntVar(&o.scans, "scans", 10000, fmt.Sprintf("range scans of %d entries", scanLen))
	flag.Uint64Var(&o.seed, "seed", 1, "seed of keys, values and samples; the same seed stores the same data")
	flag.BoolVar(&o.json, "json", false, "print the results as JSON instead of markdown")
	flag.StringVar(&o.out, "out", "", "append the markdown report to this file")
	flag.IntVar(&o.rawMiB, "raw-mib", 1024, "size of the raw-device reference file in MiB (0: skip the reference)")
	flag.BoolVar(&o.pebbleNewest, "pebble-newest", false, "create pebble stores in pebble.FormatNewest instead of its default (oldest supported) format")
	flag.BoolVar(&o.keep, "keep", false, "keep the run directory")
	flag.StringVar(&o.childEngine, childFlagPrefix+"engine", "", "internal: run this engine as a child")
	flag.IntVar(&o.childKeys, childFlagPrefix+"keys", 0, "internal: the child's key count")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", flag.Args())
	}

	for _, s := range strings.Split(keys, ",") {
		n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(s), "_", ""))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-keys: %q is not a positive count", s)
		}
		o.keys = append(o.keys, n)
	}
	for _, name := range strings.Split(engines, ",") {
		name = strings.TrimSpace(name)
		if _, err := newEngine(name); err != nil {
			return nil, fmt.Errorf("-engines: %w", err)
		}
		o.engines = append(o.engines, name)
	}
	switch {
	case o.cache < 1<<20:
		return nil, fmt.Errorf("-cache %d: at least 1 MiB", o.cache)
	case o.gets < 1 || o.scans < 1:
		return nil, errors.New("-gets and -scans must be at least 1")
	case o.rawMiB < 0:
		return nil, errors.New("-raw-mib must be 0 or more")
	}
	return o, nil
}

func usage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "usage: kv [flags]\n\nCompares key-value engines with durable commits; see bench/README.md.\n\n")
	flag.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Name, childFlagPrefix) {
			return
		}
		fmt.Fprintf(out, "  -%s\n    \t%s", f.Name, f.Usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(out, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(out)
	})
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kv:", err)
		os.Exit(2)
	}
	pebbleNewestFormat = o.pebbleNewest
	if o.childEngine != "" {
		os.Exit(childMain(o))
	}
	if err := parentMain(o); err != nil {
		fmt.Fprintln(os.Stderr, "kv:", err)
		os.Exit(1)
	}
}

// parentMain measures the device, runs one child per engine and key count,
// and writes the report.
func parentMain(o *options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := log.New(os.Stderr, "[kv] ", log.Ltime).Printf

	base := o.dir
	if base == "" {
		base = "/var/tmp"
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return fmt.Errorf("create -dir: %w", err)
	}
	runDir, err := os.MkdirTemp(base, "plinth-bench-")
	if err != nil {
		return fmt.Errorf("create the run directory in %s: %w", base, err)
	}
	if o.keep {
		logf("run directory %s (kept)", runDir)
	} else {
		defer os.RemoveAll(runDir)
	}

	rep := &Report{
		Env:        collectEnv(runDir),
		Engines:    o.engines,
		Subject:    ratioSubject(o.engines),
		CacheBytes: o.cache,
		Gets:       o.gets,
		Scans:      o.scans,
		Seed:       o.seed,
		PebbleFmt:  "default",
	}
	if o.pebbleNewest {
		rep.PebbleFmt = "newest"
	}
	if o.rawMiB > 0 {
		raw, err := runRaw(runDir, o.rawMiB, o.seed, logf)
		if err != nil {
			logf("%v", err)
			raw = &RawResult{FileMiB: o.rawMiB, Error: err.Error()}
		}
		rep.Raw = raw
	}
	for _, n := range o.keys {
		run := Run{Keys: n}
		for _, name := range o.engines {
			if ctx.Err() != nil {
				return errors.New("interrupted")
			}
			dir := filepath.Join(runDir, fmt.Sprintf("%s-%d", name, n))
			if err := os.Mkdir(dir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			logf("%s, %d keys", name, n)
			run.Results = append(run.Results, runChild(ctx, o, name, n, dir))
			if !o.keep {
				os.RemoveAll(dir)
			}
		}
		rep.Runs = append(rep.Runs, run)
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}

	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
	} else {
		writeMarkdown(os.Stdout, rep)
	}
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("-out: %w", err)
		}
		writeMarkdown(f, rep)
		fmt.Fprintln(f)
		if err := f.Close(); err != nil {
			return fmt.Errorf("-out: %w", err)
		}
	}
	return nil
}

// ratioSubject is the engine the ratio columns divide by the others: plinth,
// the engine under test, when it runs; otherwise the first column.
func ratioSubject(engines []string) string {
	for _, e := range engines {
		if e == "plinth" {
			return e
		}
	}
	return engines[0]
}
