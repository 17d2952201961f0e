package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// runChild runs one engine at one key count in a child process: the binary
// re-executed with the hidden -child-* flags. A process per engine keeps its
// RSS, peak RSS and Go heap apart from the other engines' and from the
// parent's. The child's progress goes to our stderr; its result comes back as
// JSON on its stdout. A failed child still yields a Result that says why.
func runChild(ctx context.Context, o *options, engine string, keys int, dir string) *Result {
	fail := func(err error) *Result {
		return &Result{Engine: engine, Keys: keys, CacheBytes: o.cache, Error: err.Error()}
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(fmt.Errorf("find own executable to re-run as a child: %w", err))
	}
	cmd := exec.CommandContext(ctx, exe,
		"-"+childFlagPrefix+"engine", engine,
		"-"+childFlagPrefix+"keys", strconv.Itoa(keys),
		"-dir", dir,
		"-cache", strconv.FormatInt(o.cache, 10),
		"-gets", strconv.Itoa(o.gets),
		"-scans", strconv.Itoa(o.scans),
		"-seed", strconv.FormatUint(o.seed, 10),
		"-pebble-newest="+strconv.FormatBool(o.pebbleNewest),
	)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	busyBefore := machineBusy()
	t0 := time.Now()
	runErr := cmd.Run()
	wall := time.Since(t0).Seconds()
	busy := machineBusy() - busyBefore

	// The result is the last line of stdout, in case a library printed
	// something before it.
	out := bytes.TrimSpace(stdout.Bytes())
	if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	r := &Result{}
	if err := json.Unmarshal(out, r); err != nil {
		if runErr != nil {
			r = fail(fmt.Errorf("child: %w", runErr))
		} else {
			r = fail(fmt.Errorf("child printed no result: %w", err))
		}
	} else if runErr != nil && r.Error == "" {
		r.Error = fmt.Sprintf("child: %v", runErr)
	}
	r.WallSeconds = wall
	if ps := cmd.ProcessState; ps != nil {
		r.CPUUserSeconds = ps.UserTime().Seconds()
		r.CPUSystemSeconds = ps.SystemTime().Seconds()
		r.OtherCPUSeconds = max(0, busy-r.CPUUserSeconds-r.CPUSystemSeconds)
	}
	return r
}

// machineBusy is the CPU time, in seconds, all CPUs have spent not idle
// since boot (the first line of /proc/stat: user, nice, system, irq,
// softirq and steal; not idle or iowait), or 0 if unknown.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system [idle iowait] irq softirq steal
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return 0
		}
		busy += v
	}
	return busy / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// childMain is the child's side: run the benchmark, print the result (also
// a partial one, with the error) as one JSON line.
func childMain(o *options) int {
	logf := newChildLogger(o.childEngine, o.childKeys)
	r, err := runBench(benchSpec{
		engine: o.childEngine,
		keys:   o.childKeys,
		dir:    o.dir,
		cache:  o.cache,
		gets:   o.gets,
		scans:  o.scans,
		seed:   o.seed,
	}, logf)
	code := 0
	if err != nil {
		logf("failed: %v", err)
		r.Error = err.Error()
		code = 1
	}
	b, err := json.Marshal(r)
	if err != nil {
		logf("encode result: %v", err)
		return 1
	}
	os.Stdout.Write(append(b, '\n'))
	return code
}
