package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 1000; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 500 * time.Millisecond},
		{0.99, 990 * time.Millisecond},
		{0.999, 999 * time.Millisecond},
		{1, 1000 * time.Millisecond},
		{0.0001, 1 * time.Millisecond},
	} {
		if got := Percentile(s, c.q); got != c.want {
			t.Errorf("Percentile(1..1000 ms, %v) = %v, want %v", c.q, got, c.want)
		}
	}
	// Few samples: the tail percentiles are the maximum.
	few := []time.Duration{3, 1, 2}
	l := Summarize(few)
	if l.Count != 3 || l.P50 != ms(2) || l.P99 != ms(3) || l.P999 != ms(3) || l.Max != ms(3) || l.Mean != ms(2) {
		t.Errorf("Summarize(3, 1, 2) = %+v", l)
	}
	if Percentile(nil, 0.5) != 0 || Summarize(nil) != (Latency{}) {
		t.Error("no samples: want zeros")
	}
	// One sample is every percentile.
	if l := Summarize([]time.Duration{7 * time.Millisecond}); l.P50 != 7 || l.P999 != 7 {
		t.Errorf("one sample: %+v", l)
	}
}

func TestParse(t *testing.T) {
	s, err := ParseSizes("16MiB, 256KiB,1M")
	if err != nil || !reflect.DeepEqual(s, []int64{16 << 20, 256 << 10, 1 << 20}) {
		t.Errorf("ParseSizes = %v, %v", s, err)
	}
	if _, err := ParseSizes("12 parsecs"); err == nil {
		t.Error("ParseSizes accepted a bad size")
	}
	c, err := ParseInts("1,4,16,64")
	if err != nil || !reflect.DeepEqual(c, []int{1, 4, 16, 64}) {
		t.Errorf("ParseInts = %v, %v", c, err)
	}
	if _, err := ParseInts(","); err == nil {
		t.Error("ParseInts accepted nothing")
	}
	for size, want := range map[int64]string{16 << 20: "16MiB", 256 << 10: "256KiB", 1000: "1000B", 1 << 30: "1GiB"} {
		if got := sizeName(size); got != want {
			t.Errorf("sizeName(%d) = %q, want %q", size, got, want)
		}
	}
	if n, k, err := parseLayout("4+2/128KiB"); n != 4 || k != 2 || err != nil {
		t.Errorf("parseLayout = %d, %d, %v", n, k, err)
	}
}

// The ring never gives two workers of a phase the same key.
func TestRingSlotsDisjoint(t *testing.T) {
	g := newRing("x", 1, 10)
	for _, conc := range []int{1, 3, 4, 10} {
		keys := g.phase(conc)
		owner := map[int]int{}
		for w := range conc {
			for j := range int64(20) {
				s := keys(w, j)
				if s < 0 || s >= 10 {
					t.Fatalf("conc %d: slot %d out of range", conc, s)
				}
				if o, ok := owner[s]; ok && o != w {
					t.Fatalf("conc %d: slot %d used by workers %d and %d", conc, s, o, w)
				}
				owner[s] = w
			}
		}
		g.advance(7)
	}
}

func TestDriveConfig(t *testing.T) {
	if c := driveConfig(8 << 30); c.ZoneSize != 256<<20 || c.NrZones != 32 {
		t.Errorf("8 GiB: %d zones of %d", c.NrZones, c.ZoneSize)
	}
	if c := driveConfig(256 << 20); c.ZoneSize != 8<<20 || c.NrZones != 32 {
		t.Errorf("256 MiB: %d zones of %d", c.NrZones, c.ZoneSize)
	}
}

// TestRunQuick runs the whole benchmark on tiny settings and checks that
// the report has every figure.
func TestRunQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scratch node and raw IO for about 10 seconds; skipped with -short")
	}
	dir := t.TempDir()
	o := Options{
		Dir:         dir,
		Duration:    300 * time.Millisecond,
		Rounds:      1,
		Concurrency: []int{1, 4},
		Sizes:       []int64{1 << 20, 256 << 10},
		DriveSize:   512 << 20,
		RawSize:     32 << 20,
		JSON:        true,
	}
	var out, progress bytes.Buffer
	rep, err := Run(context.Background(), o, &out, &progress)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	if !strings.Contains(progress.String(), "raw write") || !strings.Contains(progress.String(), "mixed") {
		t.Errorf("progress lacks phases:\n%s", progress.String())
	}
	// The scratch directory is gone.
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("scratch directory left behind: %v %v", ents, err)
	}

	if rep.N != 4 || rep.K != 2 || rep.Drives != 6 {
		t.Errorf("layout %s: N %d K %d drives %d", rep.Layout, rep.N, rep.K, rep.Drives)
	}
	raw := rep.Raw
	if raw.WriteMBps <= 0 || raw.ReadMBps <= 0 || raw.RandRead.Count == 0 || raw.RandRead.P99 <= 0 || len(raw.Rounds) != 2 {
		t.Errorf("raw figures: %+v", raw)
	}
	if want := 2 * 2 * 2 * 2; len(rep.Results) != want { // modes x sizes x concurrencies x ops
		t.Errorf("%d results, want %d", len(rep.Results), want)
	}
	seen := map[string]bool{}
	for _, x := range rep.Results {
		seen[x.Mode+" "+x.Op] = true
		if x.MBps <= 0 || x.OpsPerSec <= 0 || x.Ops <= 0 || x.Latency.Count == 0 || x.BaselineMBps <= 0 || x.Ratio <= 0 || len(x.Rounds) != 1 {
			t.Errorf("result %+v", x)
		}
		if math.Abs(x.Ratio-x.MBps/x.BaselineMBps) > 1e-9 {
			t.Errorf("%s %s %s: ratio %v, want %v", x.Mode, x.Op, x.SizeName, x.Ratio, x.MBps/x.BaselineMBps)
		}
		wantBase := raw.ReadMBps
		if x.Op == "PUT" {
			wantBase = raw.WriteMBps * 4 / 6
		}
		if math.Abs(x.BaselineMBps-wantBase) > 1e-9 {
			t.Errorf("%s %s: baseline %v, want %v", x.Mode, x.Op, x.BaselineMBps, wantBase)
		}
		if (x.Op == "GET") != (x.TTFB != nil) || x.TTFB != nil && (x.TTFB.Count == 0 || x.TTFB.P99 <= 0 || x.TTFB.P50 > x.TTFB.P99 || x.TTFB.P99 > x.TTFB.P999) {
			t.Errorf("%s %s %s: TTFB %+v", x.Mode, x.Op, x.SizeName, x.TTFB)
		}
	}
	for _, k := range []string{"inprocess PUT", "inprocess GET", "http PUT", "http GET"} {
		if !seen[k] {
			t.Errorf("no %s results", k)
		}
	}
	if len(rep.Mixed) != 2 {
		t.Fatalf("%d mixed results, want 2", len(rep.Mixed))
	}
	for _, m := range rep.Mixed {
		if m.TTFB.Count == 0 || m.TTFB.P99 <= 0 || m.GetMBps <= 0 || m.PutMBps <= 0 || m.Ratio <= 0 || m.ReadSize != 256<<10 || m.WriteSize != 1<<20 {
			t.Errorf("mixed %+v", m)
		}
	}
	if len(rep.Targets) != 2*(2*2+1) {
		t.Errorf("%d targets, want 10", len(rep.Targets))
	}
	for _, tg := range rep.Targets {
		if tg.Ratio <= 0 || tg.Base <= 0 || tg.Target <= 0 || tg.Verdict != verdict(tg.Pass) || tg.Pass != (tg.Cmp == ">=" && tg.Ratio >= tg.Target || tg.Cmp == "<=" && tg.Ratio <= tg.Target) {
			t.Errorf("target %+v", tg)
		}
	}

	// The JSON printed is the report, and round-trips.
	var back Report
	if err := json.Unmarshal(out.Bytes(), &back); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out.String())
	}
	if !reflect.DeepEqual(back, rep) {
		t.Errorf("JSON round trip differs:\n got %+v\nwant %+v", back, rep)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"raw baseline", "PUT", "GET", "mixed load", "targets"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if !strings.Contains(table.String(), "PASS") && !strings.Contains(table.String(), "MISS") {
		t.Errorf("table has no verdicts:\n%s", table.String())
	}
	t.Logf("table:\n%s", table.String())
}
