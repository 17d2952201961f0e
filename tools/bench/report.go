package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/plinth-storage/plinth/internal/human"
)

// Report is everything one run measured. Throughputs are MB/s (10^6
// bytes per second); latencies are milliseconds.
type Report struct {
	Command    string    `json:"command,omitempty"`
	Started    time.Time `json:"started"`
	Dir        string    `json:"dir"`
	Kept       bool      `json:"kept"`
	GoVersion  string    `json:"go_version"`
	CPUs       int       `json:"cpus"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	// The scratch node: drives (sparse emulated zoned files), the pool.
	Drives    int    `json:"drives"`
	DriveSize int64  `json:"drive_size"`
	ZoneSize  int64  `json:"zone_size"`
	Layout    string `json:"layout"`
	N         int    `json:"n"`
	K         int    `json:"k"`
	// Duration of each measurement; Rounds of every measurement (the
	// best is reported, every round is kept).
	Duration string `json:"duration"`
	Rounds   int    `json:"rounds"`

	Raw      Raw      `json:"raw"`
	Results  []Result `json:"results"`
	Mixed    []Mixed  `json:"mixed"`
	Targets  []Target `json:"targets"`
	Warnings []string `json:"warnings,omitempty"`
}

// Raw is the device baseline: O_DIRECT sequential writes and reads of six
// files on the node's filesystem, Depth requests of IOSize in flight per
// file, and random reads of RandSize, one at a time per file.
type Raw struct {
	DirectIO  bool    `json:"direct_io"`
	Drives    int     `json:"drives"`
	IOSize    int     `json:"io_size"`
	Depth     int     `json:"depth"`
	RandSize  int     `json:"rand_size"`
	WriteMBps float64 `json:"write_mbps"` // best round
	ReadMBps  float64 `json:"read_mbps"`  // best round
	// RandRead is the round with the lowest p99.
	RandRead Latency    `json:"rand_read"`
	Rounds   []RawRound `json:"rounds"`
}

// RawRound is one raw pass.
type RawRound struct {
	WriteMBps float64 `json:"write_mbps"`
	ReadMBps  float64 `json:"read_mbps"`
	RandRead  Latency `json:"rand_read"`
}

// Result is one PUT or GET measurement: its best round (highest
// throughput) and every round.
type Result struct {
	Mode        string  `json:"mode"`
	Op          string  `json:"op"`
	Size        int64   `json:"size"`
	SizeName    string  `json:"size_name"`
	Concurrency int     `json:"concurrency"`
	MBps        float64 `json:"mbps"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	Ops         int64   `json:"ops"`
	// Latency is each operation's whole duration; TTFB (GETs) the time
	// to the first byte of the body.
	Latency Latency  `json:"latency"`
	TTFB    *Latency `json:"ttfb,omitempty"`
	// Baseline is what the throughput is divided by: raw write x
	// N/(N+K) for PUTs, raw read for GETs.
	Baseline     string         `json:"baseline"`
	BaselineMBps float64        `json:"baseline_mbps"`
	Ratio        float64        `json:"ratio"`
	Rounds       []RoundFigures `json:"rounds"`
}

// RoundFigures is one round of a measurement.
type RoundFigures struct {
	Round     int      `json:"round"`
	MBps      float64  `json:"mbps"`
	OpsPerSec float64  `json:"ops_per_sec"`
	Ops       int64    `json:"ops"`
	Latency   Latency  `json:"latency"`
	TTFB      *Latency `json:"ttfb,omitempty"`
}

// Mixed is the mixed load: Readers GETs of ReadSize while Writers PUTs
// of WriteSize run; its best round (lowest TTFB p99) and every round.
type Mixed struct {
	Mode          string  `json:"mode"`
	Readers       int     `json:"readers"`
	Writers       int     `json:"writers"`
	ReadSize      int64   `json:"read_size"`
	ReadSizeName  string  `json:"read_size_name"`
	WriteSize     int64   `json:"write_size"`
	WriteSizeName string  `json:"write_size_name"`
	TTFB          Latency `json:"ttfb"`
	GetMBps       float64 `json:"get_mbps"`
	PutMBps       float64 `json:"put_mbps"`
	// Ratio is TTFB p99 / the raw random read's p99.
	RawP99 float64      `json:"raw_rand_read_p99_ms"`
	Ratio  float64      `json:"ratio"`
	Rounds []MixedRound `json:"rounds"`
}

// MixedRound is one round of the mixed load.
type MixedRound struct {
	Round   int     `json:"round"`
	TTFB    Latency `json:"ttfb"`
	GetMBps float64 `json:"get_mbps"`
	PutMBps float64 `json:"put_mbps"`
	Gets    int64   `json:"gets"`
	Puts    int64   `json:"puts"`
}

// Target is one of the targets, checked.
type Target struct {
	Mode   string  `json:"mode"`
	Name   string  `json:"name"`
	At     string  `json:"at"` // which measurement gave the figure
	Value  float64 `json:"value"`
	Base   float64 `json:"baseline"`
	Ratio  float64 `json:"ratio"`
	Cmp    string  `json:"cmp"` // ">=" or "<="
	Target float64 `json:"target"`
	Pass   bool    `json:"pass"`
	// Verdict is PASS or MISS.
	Verdict string `json:"verdict"`
	Unit    string `json:"unit"` // of Value and Base
}

func verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "MISS"
}

// finish picks the best rounds, computes the ratios and checks the
// targets.
func (r *run) finish() {
	rep := r.rep
	raw := &rep.Raw
	raw.Rounds = r.rawRounds
	for i, rr := range r.rawRounds {
		raw.WriteMBps = max(raw.WriteMBps, rr.WriteMBps)
		raw.ReadMBps = max(raw.ReadMBps, rr.ReadMBps)
		if i == 0 || rr.RandRead.P99 < raw.RandRead.P99 {
			raw.RandRead = rr.RandRead
		}
	}
	eff := float64(rep.N) / float64(rep.N+rep.K)
	modeOrder := map[string]int{ModeInProcess: 0, ModeHTTP: 1}
	sizeOrder := map[int64]int{}
	for i, s := range r.o.Sizes {
		if _, ok := sizeOrder[s]; !ok {
			sizeOrder[s] = i
		}
	}
	for _, x := range r.results {
		best := x.Rounds[0]
		for _, rf := range x.Rounds[1:] {
			if rf.MBps > best.MBps {
				best = rf
			}
		}
		x.MBps, x.OpsPerSec, x.Ops, x.Latency, x.TTFB = best.MBps, best.OpsPerSec, best.Ops, best.Latency, best.TTFB
		if x.Op == "PUT" {
			x.Baseline = fmt.Sprintf("raw write x %d/%d", rep.N, rep.N+rep.K)
			x.BaselineMBps = raw.WriteMBps * eff
		} else {
			x.Baseline = "raw read"
			x.BaselineMBps = raw.ReadMBps
		}
		if x.BaselineMBps > 0 {
			x.Ratio = x.MBps / x.BaselineMBps
		}
		rep.Results = append(rep.Results, *x)
	}
	slices.SortFunc(rep.Results, func(a, b Result) int {
		if c := modeOrder[a.Mode] - modeOrder[b.Mode]; c != 0 {
			return c
		}
		if c := sizeOrder[a.Size] - sizeOrder[b.Size]; c != 0 {
			return c
		}
		if a.Op != b.Op {
			return strings.Compare(b.Op, a.Op) // PUT before GET
		}
		return a.Concurrency - b.Concurrency
	})
	for _, mode := range []string{ModeInProcess, ModeHTTP} {
		m := r.mixed[mode]
		if m == nil {
			continue
		}
		best := m.Rounds[0]
		for _, mr := range m.Rounds[1:] {
			if mr.TTFB.P99 < best.TTFB.P99 {
				best = mr
			}
		}
		m.TTFB, m.GetMBps, m.PutMBps = best.TTFB, best.GetMBps, best.PutMBps
		m.RawP99 = raw.RandRead.P99
		if m.RawP99 > 0 {
			m.Ratio = m.TTFB.P99 / m.RawP99
		}
		rep.Mixed = append(rep.Mixed, *m)
	}
	rep.Targets = targets(rep)
}

// TargetRatio is the target for objects of size: 0.85 of the
// limit for 16 MiB and larger, 0.7 for smaller ones (256 KiB).
func TargetRatio(size int64) float64 {
	if size >= 16<<20 {
		return 0.85
	}
	return 0.7
}

// TTFBTarget bounds the TTFB p99 of GETs under writes, as a multiple of
// the raw random read's p99.
const TTFBTarget = 3.0

// targets checks each mode's figures: for every size and operation the
// concurrency with the best ratio, and the mixed load's TTFB.
func targets(rep *Report) []Target {
	var out []Target
	for _, mode := range []string{ModeInProcess, ModeHTTP} {
		var sizes []int64
		for _, x := range rep.Results {
			if x.Mode == mode && !slices.Contains(sizes, x.Size) {
				sizes = append(sizes, x.Size)
			}
		}
		for _, size := range sizes {
			for _, op := range []string{"PUT", "GET"} {
				var best *Result
				for i := range rep.Results {
					x := &rep.Results[i]
					if x.Mode == mode && x.Size == size && x.Op == op && (best == nil || x.Ratio > best.Ratio) {
						best = x
					}
				}
				if best == nil {
					continue
				}
				t := Target{Mode: mode, Name: fmt.Sprintf("%s %s / %s", sizeName(size), op, best.Baseline),
					At: fmt.Sprintf("concurrency %d", best.Concurrency), Value: best.MBps, Base: best.BaselineMBps,
					Ratio: best.Ratio, Cmp: ">=", Target: TargetRatio(size), Unit: "MB/s"}
				t.Pass = t.Ratio >= t.Target
				t.Verdict = verdict(t.Pass)
				out = append(out, t)
			}
		}
		for _, m := range rep.Mixed {
			if m.Mode != mode {
				continue
			}
			t := Target{Mode: mode, Name: fmt.Sprintf("TTFB p99 of %s GETs under %s PUTs / raw %s read p99", m.ReadSizeName, m.WriteSizeName, sizeName(int64(rep.Raw.RandSize))),
				At: fmt.Sprintf("%d GETs, %d PUTs", m.Readers, m.Writers), Value: m.TTFB.P99, Base: m.RawP99,
				Ratio: m.Ratio, Cmp: "<=", Target: TTFBTarget, Unit: "ms"}
			t.Pass = m.RawP99 > 0 && t.Ratio <= t.Target
			t.Verdict = verdict(t.Pass)
			out = append(out, t)
		}
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes the report for people.
func (rep *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plinth bench")
	if rep.Command != "" {
		fmt.Fprintf(&b, " (%s)", rep.Command)
	}
	fmt.Fprintf(&b, "\n%s, %s, %d CPUs (GOMAXPROCS %d)\n", rep.Started.Format(time.RFC3339), rep.GoVersion, rep.CPUs, rep.GOMAXPROCS)
	fmt.Fprintf(&b, "node: %d emulated zoned drives of %s (zones of %s, sparse files) in %s, pool %s\n",
		rep.Drives, human.IBytes(rep.DriveSize), human.IBytes(rep.ZoneSize), rep.Dir, rep.Layout)
	fmt.Fprintf(&b, "each measurement %s, %d rounds interleaved with the raw passes; figures are the best round's (MB/s = 10^6 B/s, latencies in ms)\n", rep.Duration, rep.Rounds)
	for _, warn := range rep.Warnings {
		fmt.Fprintf(&b, "WARNING: %s\n", warn)
	}
	raw := rep.Raw
	direct := "O_DIRECT"
	if !raw.DirectIO {
		direct = "buffered (no O_DIRECT)"
	}
	fmt.Fprintf(&b, "\nraw baseline: %d files beside the node's drives, %s, %s sequential IOs, %d in flight per file\n",
		raw.Drives, direct, sizeName(int64(raw.IOSize)), raw.Depth)
	var ws, rs []string
	for _, rr := range raw.Rounds {
		ws = append(ws, fmt.Sprintf("%.0f", rr.WriteMBps))
		rs = append(rs, fmt.Sprintf("%.0f", rr.ReadMBps))
	}
	fmt.Fprintf(&b, "  write %.0f MB/s (rounds: %s)\n", raw.WriteMBps, strings.Join(ws, ", "))
	fmt.Fprintf(&b, "  read  %.0f MB/s (rounds: %s)\n", raw.ReadMBps, strings.Join(rs, ", "))
	fmt.Fprintf(&b, "  %s random reads, 1 in flight per file: p50 %.2f, p99 %.2f, p99.9 %.2f ms (%d reads)\n",
		sizeName(int64(raw.RandSize)), raw.RandRead.P50, raw.RandRead.P99, raw.RandRead.P999, raw.RandRead.Count)

	b.WriteString("\nPUT and GET (latency: whole operation; TTFB: to the first byte of the body)\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\top\tsize\tconc\tMB/s\tops/s\tlat p50\tlat p99\tTTFB p50\tTTFB p99\tTTFB p99.9\tratio\tof\trounds MB/s\t")
	for _, x := range rep.Results {
		var rounds []string
		for _, rf := range x.Rounds {
			rounds = append(rounds, fmt.Sprintf("%.0f", rf.MBps))
		}
		t50, t99, t999 := "-", "-", "-"
		if x.TTFB != nil {
			t50, t99, t999 = f2(x.TTFB.P50), f2(x.TTFB.P99), f2(x.TTFB.P999)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t\n",
			x.Mode, x.Op, x.SizeName, x.Concurrency, x.MBps, x.OpsPerSec, f2(x.Latency.P50), f2(x.Latency.P99),
			t50, t99, t999, x.Ratio, x.Baseline, strings.Join(rounds, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Mixed) > 0 {
		b.WriteString("\nmixed load: GETs while PUTs run (TTFB of the GETs)\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "mode\tGETs\tPUTs\tTTFB p50\tTTFB p99\tTTFB p99.9\tGETs timed\tGET MB/s\tPUT MB/s\tp99 / raw p99\trounds TTFB p99\t")
		for _, m := range rep.Mixed {
			var rounds []string
			var count int
			for _, mr := range m.Rounds {
				rounds = append(rounds, f2(mr.TTFB.P99))
			}
			count = m.TTFB.Count
			fmt.Fprintf(tw, "%s\t%d x %s\t%d x %s\t%s\t%s\t%s\t%d\t%.1f\t%.1f\t%.2f\t%s\t\n",
				m.Mode, m.Readers, m.ReadSizeName, m.Writers, m.WriteSizeName, f2(m.TTFB.P50), f2(m.TTFB.P99), f2(m.TTFB.P999),
				count, m.GetMBps, m.PutMBps, m.Ratio, strings.Join(rounds, ", "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	b.WriteString("\ntargets (for each size and operation, the concurrency with the best ratio)\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "mode\ttarget\tat\tvalue\tbaseline\tratio\tgoal\tverdict")
	for _, t := range rep.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f %s\t%.2f %s\t%.2f\t%s %.2f\t%s\n", t.Mode, t.Name, t.At, t.Value, t.Unit, t.Base, t.Unit, t.Ratio, t.Cmp, t.Target, t.Verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func f2(v float64) string { return fmt.Sprintf("%.2f", v) }
