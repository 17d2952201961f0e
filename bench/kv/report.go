package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Report is everything a run produced; -json prints it as it is.
type Report struct {
	Env        *Env       `json:"env"`
	Engines    []string   `json:"engines"`
	Subject    string     `json:"ratio_subject"`
	CacheBytes int64      `json:"cache_bytes"`
	Gets       int        `json:"gets"`
	Scans      int        `json:"scans"`
	Seed       uint64     `json:"seed"`
	PebbleFmt  string     `json:"pebble_format"`
	Raw        *RawResult `json:"raw_device"`
	Runs       []Run      `json:"runs"`
}

// Run is one key count: one Result per engine, in column order.
type Run struct {
	Keys    int       `json:"keys"`
	Results []*Result `json:"results"`
}

// row is one line of a table: how to read its figure from a result, and
// whether lower is better (memory, latency, size), which the ratio header
// explains.
type row struct {
	label string
	lower bool
	value func(*Result) (float64, bool)
	fmt   func(float64) string
}

func insertRows(label string, pick func(*Result) *InsertResult) []row {
	get := func(f func(*InsertResult) float64) func(*Result) (float64, bool) {
		return func(r *Result) (float64, bool) {
			if ins := pick(r); ins != nil {
				return f(ins), true
			}
			return 0, false
		}
	}
	return []row{
		{label + " — keys/s ↑", false, get(func(i *InsertResult) float64 { return i.KeysPerSec }), fmtRate},
		{label + " — batches/s ↑", false, get(func(i *InsertResult) float64 { return i.BatchesPerSec }), fmtRate},
		{label + " — commit p50 ms ↓", true, get(func(i *InsertResult) float64 { return i.P50Millis }), fmtMillis},
		{label + " — commit p99 ms ↓", true, get(func(i *InsertResult) float64 { return i.P99Millis }), fmtMillis},
	}
}

func opsRow(label string, pick func(*Result) *OpsResult) row {
	return row{label, false, func(r *Result) (float64, bool) {
		if o := pick(r); o != nil {
			return o.OpsPerSec, true
		}
		return 0, false
	}, fmtRate}
}

func memRow(label string, pick func(*MemResult) int64) row {
	return row{label, true, func(r *Result) (float64, bool) {
		if r.Mem != nil {
			return mib(pick(r.Mem)), true
		}
		return 0, false
	}, fmtMiB}
}

var rows = slices.Concat(
	insertRows("insert, batch 100", func(r *Result) *InsertResult { return r.Insert100 }),
	insertRows("insert, batch 1000", func(r *Result) *InsertResult { return r.Insert1000 }),
	[]row{
		opsRow("get, warm — gets/s ↑", func(r *Result) *OpsResult { return r.WarmGets }),
		opsRow("get, cold — gets/s ↑", func(r *Result) *OpsResult { return r.ColdGets }),
		{"reopen before cold gets — ms ↓", true, func(r *Result) (float64, bool) {
			return r.ReopenSeconds * 1000, r.ColdGets != nil
		}, fmtMillis},
		{fmt.Sprintf("scan %d entries — entries/s ↑", scanLen), false, func(r *Result) (float64, bool) {
			if r.Scans != nil {
				return r.Scans.EntriesPerSec, true
			}
			return 0, false
		}, fmtRate},
		memRow("RSS after warm gets — MiB ↓", func(m *MemResult) int64 { return m.RSSBytes }),
		memRow("… of which anonymous — MiB ↓", func(m *MemResult) int64 { return m.RSSAnonBytes }),
		memRow("… of which file-backed (mmap) — MiB ↓", func(m *MemResult) int64 { return m.RSSFileBytes }),
		memRow("peak RSS (VmHWM, incl. fills) — MiB ↓", func(m *MemResult) int64 { return m.HWMBytes }),
		memRow("Go heap in use — MiB ↓", func(m *MemResult) int64 { return m.GoHeapInuseBytes }),
		{"on-disk size after load — MiB ↓", true, func(r *Result) (float64, bool) {
			return mib(r.DiskBytes), r.DiskBytes > 0
		}, fmtMiB},
		{"CPU time, whole run (user+sys) — s ↓", true, func(r *Result) (float64, bool) {
			return r.CPUUserSeconds + r.CPUSystemSeconds, r.Error == "" && r.CPUUserSeconds > 0
		}, fmtSeconds},
	},
)

// writeMarkdown writes the header (command, machine, durability and cache
// of each engine, device reference) and one table per key count.
func writeMarkdown(w io.Writer, rep *Report) {
	e := rep.Env
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Key-value engine benchmark\n\n")
	p("- Command: `%s` (in %s)\n", e.Command, e.WorkDir)
	p("- Go: %s, cgo %s; engines: %s\n", e.GoVersion, e.Cgo, versions(rep))
	p("- CPU: %d × %s; memory %.1f GiB\n", e.CPUs, e.CPUModel, float64(e.MemTotal)/(1<<30))
	p("- Kernel: %s\n", e.Kernel)
	p("- Directory: %s — %s\n", e.Dir, e.Filesystem)
	if e.Device != "" {
		p("- Device: %s\n", e.Device)
	}
	p("- Workload: keys of 16–32 printable bytes (random length), values of %d random bytes, "+
		"inserted in random key order into an empty store; one client goroutine; "+
		"%s gets per get phase, %s scans of %d entries; seed %d\n",
		valueLen, commas(rep.Gets), commas(rep.Scans), scanLen, rep.Seed)
	p("- Durability: every batch commit returns only when its data is on stable media (fdatasync)\n")
	p("- Cache budget: %.0f MiB per engine (-cache)\n", mib(rep.CacheBytes))
	if m := coldMethods(rep); m != "" {
		p("- %s\n", m)
	}
	p("\nPer engine:\n\n")
	for _, name := range rep.Engines {
		info := registry[name]
		p("- **%s** — durability: %s. Cache: %s.\n", name, info.durability, info.cache)
	}
	if raw := rep.Raw; raw != nil {
		p("\n## Device reference (O_DIRECT, one goroutine, a %d MiB file in the same directory)\n\n", raw.FileMiB)
		if raw.Error != "" {
			p("Not measured: %s\n", raw.Error)
		} else {
			p("| measurement | figure |\n|---|---|\n")
			p("| 1 MiB sequential write + fdatasync | %.0f MiB/s (p50 %.2f ms per write) |\n", raw.SeqWriteMiBPerSec, raw.SeqWriteP50Millis)
			p("| 4 KiB write + fdatasync (the floor of a durable commit) | %s/s (p50 %.3f ms, p99 %.3f ms) |\n",
				commas(int(raw.SyncWritePerSec)), raw.SyncWriteP50Milli, raw.SyncWriteP99Milli)
			p("| 4 KiB random read | %s/s (p50 %.0f µs, p99 %.0f µs) |\n",
				commas(int(raw.RandReadPerSec)), raw.RandReadP50Micro, raw.RandReadP99Micro)
		}
	}
	for _, run := range rep.Runs {
		writeTable(w, rep, run)
	}
}

func writeTable(w io.Writer, rep *Report, run Run) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n## %s keys\n\n", commas(run.Keys))
	subj := -1
	for i, r := range run.Results {
		if r.Engine == rep.Subject {
			subj = i
		}
	}
	var others []int
	if subj >= 0 {
		for i := range run.Results {
			if i != subj {
				others = append(others, i)
			}
		}
	}
	if len(others) > 0 {
		p("Ratios are %[1]s ÷ other. ↑ rows (throughput): higher is better, a ratio > 1 means %[1]s is faster. "+
			"↓ rows (latency, memory, size, CPU time): lower is better, a ratio < 1 means %[1]s takes less.\n\n", rep.Subject)
	}
	head := []string{"workload"}
	for _, r := range run.Results {
		head = append(head, r.Engine)
	}
	for _, o := range others {
		head = append(head, rep.Subject+"/"+run.Results[o].Engine)
	}
	p("| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))

	// textRow is a row of words, not figures: no ratios.
	textRow := func(label string, cell func(*Result) string) {
		cells := []string{label}
		for _, r := range run.Results {
			cells = append(cells, cell(r))
		}
		for range others {
			cells = append(cells, "")
		}
		p("| %s |\n", strings.Join(cells, " | "))
	}
	textRow("cache budget", cacheCell)
	for _, rw := range rows {
		cells := []string{rw.label}
		for _, r := range run.Results {
			if v, ok := rw.value(r); ok {
				cells = append(cells, rw.fmt(v))
			} else {
				cells = append(cells, "—")
			}
		}
		for _, o := range others {
			a, okA := rw.value(run.Results[subj])
			b, okB := rw.value(run.Results[o])
			if okA && okB && b != 0 {
				cells = append(cells, fmt.Sprintf("%.2f", a/b))
			} else {
				cells = append(cells, "—")
			}
		}
		p("| %s |\n", strings.Join(cells, " | "))
	}
	textRow("wall time of the child; CPU of everything else meanwhile", func(r *Result) string {
		return fmt.Sprintf("%.1f s; %.1f s", r.WallSeconds, r.OtherCPUSeconds)
	})
	for _, r := range run.Results {
		if r.MemNote != "" {
			p("\n%s after the warm gets, by its own account: %s\n", r.Engine, r.MemNote)
		}
	}
	for _, r := range run.Results {
		if r.Error != "" {
			p("\n**%s failed**: %s\n", r.Engine, r.Error)
		}
	}
}

func cacheCell(r *Result) string {
	if info, ok := registry[r.Engine]; ok && info.budget != nil {
		return info.budget(r.CacheBytes)
	}
	return fmt.Sprintf("%.0f MiB", mib(r.CacheBytes))
}

func versions(rep *Report) string {
	var parts []string
	for _, name := range rep.Engines {
		v := rep.Env.Versions[name]
		if name == "pebble" {
			v += ", " + rep.PebbleFmt + " format"
		}
		parts = append(parts, name+" "+v)
	}
	return strings.Join(parts, "; ")
}

// coldMethods lists how the children made their caches cold; normally one
// sentence for all.
func coldMethods(rep *Report) string {
	var seen []string
	for _, run := range rep.Runs {
		for _, r := range run.Results {
			if r.ColdMethod != "" && !slices.Contains(seen, r.ColdMethod) {
				seen = append(seen, r.ColdMethod)
			}
		}
	}
	return strings.Join(seen, "; ")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func fmtMiB(v float64) string     { return strconv.FormatFloat(v, 'f', 1, 64) }
func fmtMillis(v float64) string  { return strconv.FormatFloat(v, 'f', 2, 64) }
func fmtSeconds(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// fmtRate prints rates as whole numbers with thousands separators, small
// ones with the decimals that still mean something.
func fmtRate(v float64) string {
	switch {
	case v >= 100:
		return commas(int(v + 0.5))
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func commas(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
