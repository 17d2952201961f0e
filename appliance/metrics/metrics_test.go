package metrics

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/iostat"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/wal"
)

// scrape returns the text exposition the handler serves.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s\n%s", resp.Status, b)
	}
	return string(b)
}

func hasLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			t.Errorf("exposition lacks %q", l)
		}
	}
}

// family returns the gathered family called name.
func family(t *testing.T, m *Metrics, name string) *dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f
		}
	}
	t.Fatalf("no family %s", name)
	return nil
}

// metric returns the family's metric with exactly these label values.
func metric(t *testing.T, f *dto.MetricFamily, labels ...string) *dto.Metric {
	t.Helper()
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	t.Fatalf("%s has no series %v", f.GetName(), labels)
	return nil
}

func value(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	x := metric(t, family(t, m, name), labels...)
	switch {
	case x.Counter != nil:
		return x.Counter.GetValue()
	case x.Gauge != nil:
		return x.Gauge.GetValue()
	}
	t.Fatalf("%s%v is neither a counter nor a gauge", name, labels)
	return 0
}

func TestHTTPSeries(t *testing.T) {
	m := New(Sources{})
	m.ObserveRequest("objects", "get", 200, 3*time.Millisecond, 0, 4096)
	m.ObserveRequest("objects", "get", 200, 40*time.Millisecond, 0, 1000)
	m.ObserveRequest("objects", "put", 503, time.Millisecond, 512, 0)
	m.InFlight(+1)
	m.InFlight(+1)
	m.InFlight(-1)
	m.Rejected("queue-full")
	m.Rejected("queue-full")
	m.Events("drive-failed", "error")
	text := scrape(t, m)
	hasLines(t, text,
		`plinth_http_requests_total{api="objects",code="200",op="get"} 2`,
		`plinth_http_requests_total{api="objects",code="503",op="put"} 1`,
		`plinth_http_request_duration_seconds_count{api="objects",op="get"} 2`,
		`plinth_http_request_duration_seconds_bucket{api="objects",op="get",le="0.004"} 1`,
		`plinth_http_request_duration_seconds_bucket{api="objects",op="get",le="0.064"} 2`,
		`plinth_http_response_bytes_total{api="objects",op="get"} 5096`,
		`plinth_http_request_bytes_total{api="objects",op="put"} 512`,
		`plinth_http_requests_in_flight 1`,
		`plinth_http_rejected_total{reason="queue-full"} 2`,
		`plinth_events_total{kind="drive-failed",severity="error"} 1`,
		"# TYPE plinth_http_requests_total counter",
		"# TYPE plinth_http_request_duration_seconds histogram",
	)
	h := metric(t, family(t, m, "plinth_http_request_duration_seconds"), "api", "objects", "op", "get").GetHistogram()
	if math.Abs(h.GetSampleSum()-0.043) > 1e-9 {
		t.Errorf("duration sum %v, want 0.043", h.GetSampleSum())
	}
	if strings.Contains(text, `plinth_http_request_bytes_total{api="objects",op="get"}`) {
		t.Error("a request with no body counted request bytes")
	}
}

func TestNilSources(t *testing.T) {
	text := scrape(t, New(Sources{}))
	for _, want := range []string{"go_goroutines ", "process_cpu_seconds_total "} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	for _, absent := range []string{"plinth_drive_", "plinth_pool_", "plinth_metadata_"} {
		if strings.Contains(text, absent) {
			t.Errorf("a nil source exported %s series", absent)
		}
	}
	// Sources that return nothing are fine too.
	m := New(Sources{
		Drives:    func() []iostat.Stats { return nil },
		Pools:     func() []pool.FSStat { return nil },
		PoolStats: func() map[string]pool.Stats { return nil },
		Store:     func() store.Stats { return store.Stats{} },
	})
	text = scrape(t, m)
	hasLines(t, text, "plinth_metadata_checkpoints_total 0", "plinth_metadata_checkpoint_last_timestamp_seconds 0")
}

func TestHistogramConversion(t *testing.T) {
	var o iostat.OpStats
	o.Buckets[0] = 5  // < 2 µs
	o.Buckets[3] = 2  // [8, 16) µs
	o.Buckets[10] = 1 // [1024, 2048) µs
	o.Buckets[31] = 4 // open-ended
	o.SumMicros = 3_000_000
	count, sum, buckets := histogram(o)
	if count != 12 || sum != 3 {
		t.Fatalf("count %d sum %v, want 12 and 3 s", count, sum)
	}
	if len(buckets) != iostat.NumBuckets-1 {
		t.Fatalf("%d buckets, want %d", len(buckets), iostat.NumBuckets-1)
	}
	for i := range iostat.NumBuckets - 1 {
		le := math.Ldexp(1e-6, i+1) // 2^(i+1) µs in seconds
		var want uint64
		switch {
		case i >= 10:
			want = 8
		case i >= 3:
			want = 7
		default:
			want = 5
		}
		got, ok := buckets[le]
		if !ok {
			t.Fatalf("no bucket le=%g (have %v)", le, buckets)
		}
		if got != want {
			t.Errorf("le=%g: %d, want %d", le, got, want)
		}
	}
}

func TestDriveSeries(t *testing.T) {
	d := iostat.Wrap(memdev.New("/dev/sdx", 16*4096, 4096))
	buf := dev.AlignedBuffer(8192)
	for range 3 {
		if _, err := d.WriteAt(buf, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.ReadAt(buf[:4096], 0); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadAt(buf[:100], 0); err == nil { // misaligned: an error
		t.Fatal("misaligned read succeeded")
	}
	fake := iostat.Stats{Path: "fake"}
	fake.Ops[iostat.Flush] = iostat.OpStats{Count: 3, Buckets: [iostat.NumBuckets]int64{4: 1, 12: 2}, SumMicros: 8020, InFlight: 2}
	m := New(Sources{Drives: func() []iostat.Stats { return []iostat.Stats{d.Snapshot(), fake, fake} }})
	text := scrape(t, m)
	hasLines(t, text,
		`plinth_drive_io_bytes_total{drive="/dev/sdx",op="write"} 24576`,
		`plinth_drive_io_bytes_total{drive="/dev/sdx",op="read"} 4096`,
		`plinth_drive_io_errors_total{drive="/dev/sdx",op="read"} 1`,
		`plinth_drive_io_errors_total{drive="/dev/sdx",op="write"} 0`,
		`plinth_drive_io_latency_seconds_count{drive="/dev/sdx",op="write"} 3`,
		`plinth_drive_io_latency_seconds_count{drive="/dev/sdx",op="read"} 2`,
		`plinth_drive_io_latency_seconds_bucket{drive="fake",op="flush",le="1.6e-05"} 0`,
		`plinth_drive_io_latency_seconds_bucket{drive="fake",op="flush",le="3.2e-05"} 1`,
		`plinth_drive_io_latency_seconds_bucket{drive="fake",op="flush",le="0.004096"} 1`, // 2^12 µs: below bucket 12
		`plinth_drive_io_latency_seconds_bucket{drive="fake",op="flush",le="0.008192"} 3`, // 2^13 µs: bucket 12's upper bound
		`plinth_drive_io_latency_seconds_bucket{drive="fake",op="flush",le="+Inf"} 3`,
		`plinth_drive_io_latency_seconds_sum{drive="fake",op="flush"} 0.00802`,
		`plinth_drive_io_in_flight{drive="fake",op="flush"} 2`,
		"# TYPE plinth_drive_io_latency_seconds histogram",
		"# TYPE plinth_drive_io_bytes_total counter",
	)
	if strings.Contains(text, `plinth_drive_io_bytes_total{drive="fake",op="flush"}`) {
		t.Error("flushes export bytes")
	}
	h := metric(t, family(t, m, "plinth_drive_io_latency_seconds"), "drive", "fake", "op", "flush").GetHistogram()
	if h.GetSampleCount() != 3 || len(h.GetBucket()) != iostat.NumBuckets-1 {
		t.Errorf("histogram %v", h)
	}
}

func TestSpaceAndCounters(t *testing.T) {
	fs := []pool.FSStat{
		{Pool: "p0", Data: alloc.FSStat{Drives: 6, RawBytes: 6000, UsableBytes: 4000, UsedBytes: 1000, FreeUsableBytes: 2500,
			ReclaimableBytes: 300, ReserveBytes: 100, OpenSets: 2, SealedSets: 5, CleaningSets: 1},
			Metadata: pool.MetadataStat{CapacityBytes: 900, UsedBytes: 90, DirtyBytes: 9, ReservedBytes: 99}},
		{Pool: "p1", WriteProtected: "metadata space 95% used", Metadata: pool.MetadataStat{CapacityBytes: 900}},
	}
	ps := map[string]pool.Stats{
		"p0": {Puts: 10, Deletes: 2, BytesWritten: 1 << 20, BytesRead: 1 << 10, Commits: 4, DegradedReads: 1, Repaired: 1,
			SetsCleaned: 3, SetsReleased: 5, BytesRelocated: 777, Cleaner: pool.CleanerStatus{Active: true}},
		"p1": {},
	}
	st := store.Stats{Checkpoints: 7, FailedCkpts: 1, LastDuration: 1500 * time.Millisecond, MaxCutPause: 20 * time.Millisecond,
		LastCheckpoint: time.Unix(1700000000, 0), BytesWritten: 4096, Cleaned: 2, ReadOnly: "mirrors failed",
		Cache:   btree.CacheStats{Hits: 50, Misses: 5, Evictions: 1, Bytes: 1000, Limit: 2000},
		Journal: wal.Stats{Commits: 30, Batches: 10, Bytes: 3000, Segments: 3, Healthy: 2, UsedSegs: 1, RingSize: 8, Waiting: true}}
	m := New(Sources{
		Pools:     func() []pool.FSStat { return fs },
		PoolStats: func() map[string]pool.Stats { return ps },
		Store:     func() store.Stats { return st },
	})
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"plinth_pool_raw_bytes", []string{"pool", "p0"}, 6000},
		{"plinth_pool_usable_bytes", []string{"pool", "p0"}, 4000},
		{"plinth_pool_used_bytes", []string{"pool", "p0"}, 1000},
		{"plinth_pool_free_bytes", []string{"pool", "p0"}, 2500},
		{"plinth_pool_reclaimable_bytes", []string{"pool", "p0"}, 300},
		{"plinth_pool_reserve_bytes", []string{"pool", "p0"}, 100},
		{"plinth_pool_drives", []string{"pool", "p0"}, 6},
		{"plinth_pool_sets", []string{"pool", "p0", "state", "sealed"}, 5},
		{"plinth_pool_write_protected", []string{"pool", "p0"}, 0},
		{"plinth_pool_write_protected", []string{"pool", "p1"}, 1},
		{"plinth_metadata_capacity_bytes", nil, 900},
		{"plinth_metadata_used_bytes", nil, 90},
		{"plinth_metadata_dirty_bytes", nil, 9},
		{"plinth_metadata_reserved_bytes", nil, 99},
		{"plinth_pool_puts_total", []string{"pool", "p0"}, 10},
		{"plinth_pool_deletes_total", []string{"pool", "p0"}, 2},
		{"plinth_pool_written_bytes_total", []string{"pool", "p0"}, 1 << 20},
		{"plinth_pool_read_bytes_total", []string{"pool", "p0"}, 1 << 10},
		{"plinth_pool_commits_total", []string{"pool", "p0"}, 4},
		{"plinth_pool_degraded_reads_total", []string{"pool", "p0"}, 1},
		{"plinth_pool_repaired_stripes_total", []string{"pool", "p0"}, 1},
		{"plinth_pool_sets_cleaned_total", []string{"pool", "p0"}, 3},
		{"plinth_pool_sets_released_total", []string{"pool", "p0"}, 5},
		{"plinth_pool_relocated_bytes_total", []string{"pool", "p0"}, 777},
		{"plinth_pool_cleaner_active", []string{"pool", "p0"}, 1},
		{"plinth_pool_puts_total", []string{"pool", "p1"}, 0},
		{"plinth_metadata_checkpoints_total", nil, 7},
		{"plinth_metadata_checkpoints_failed_total", nil, 1},
		{"plinth_metadata_checkpoint_duration_seconds", nil, 1.5},
		{"plinth_metadata_checkpoint_cut_pause_max_seconds", nil, 0.02},
		{"plinth_metadata_checkpoint_last_timestamp_seconds", nil, 1700000000},
		{"plinth_metadata_written_bytes_total", nil, 4096},
		{"plinth_metadata_segments_cleaned_total", nil, 2},
		{"plinth_metadata_read_only", nil, 1},
		{"plinth_metadata_cache_hits_total", nil, 50},
		{"plinth_metadata_cache_limit_bytes", nil, 2000},
		{"plinth_metadata_journal_commits_total", nil, 30},
		{"plinth_metadata_journal_batches_total", nil, 10},
		{"plinth_metadata_journal_bytes_total", nil, 3000},
		{"plinth_metadata_journal_segments_total", nil, 3},
		{"plinth_metadata_journal_healthy_mirrors", nil, 2},
		{"plinth_metadata_journal_used_segments", nil, 1},
		{"plinth_metadata_journal_ring_segments", nil, 8},
		{"plinth_metadata_journal_read_only", nil, 0},
		{"plinth_metadata_journal_waiting", nil, 1},
	} {
		if got := value(t, m, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if f := family(t, m, "plinth_metadata_capacity_bytes"); len(f.GetMetric()) != 1 {
		t.Errorf("metadata capacity exported %d times, want once", len(f.GetMetric()))
	}
	hasLines(t, scrape(t, m), `plinth_pool_used_bytes{pool="p0"} 1000`, "# TYPE plinth_pool_puts_total counter", "# TYPE plinth_pool_used_bytes gauge")
}

func TestBadSourceData(t *testing.T) {
	good := iostat.Stats{Path: "good"}
	m := New(Sources{
		Drives: func() []iostat.Stats { return []iostat.Stats{{Path: "bad\xff"}, good, good} },
		Pools:  func() []pool.FSStat { return []pool.FSStat{{Pool: "p"}, {Pool: "p"}} },
	})
	text := scrape(t, m) // a label Prometheus refuses fails its series only
	hasLines(t, text, `plinth_drive_io_errors_total{drive="good",op="read"} 0`, `plinth_pool_used_bytes{pool="p"} 0`)
	if strings.Count(text, `plinth_pool_used_bytes{pool="p"}`) != 1 || strings.Count(text, `plinth_drive_io_in_flight{drive="good",op="read"}`) != 1 {
		t.Error("a repeated drive or pool was exported twice")
	}
}

// TestBackgroundSeries: rebuild and scrub figures come out per pool, a
// pool given twice once.
func TestBackgroundSeries(t *testing.T) {
	m := New(Sources{Background: func() []Background {
		return []Background{
			{Pool: "fast", Rebuilding: true, RebuildSetsDone: 3, RebuildSetsTotal: 7, RebuildBytes: 4096, RebuildETASeconds: 12.5,
				ScrubLastCompleted: 1700000000, ScrubDamagedLast: 2},
			{Pool: "fast", RebuildSetsDone: 99},
			{Pool: "bulk", Scrubbing: true, ScrubSetsDone: 1, ScrubSetsTotal: 4},
		}
	}})
	out := scrape(t, m)
	for _, want := range []string{
		`plinth_rebuild_running{pool="fast"} 1`, `plinth_rebuild_sets_done{pool="fast"} 3`, `plinth_rebuild_sets_total{pool="fast"} 7`,
		`plinth_rebuild_written_bytes{pool="fast"} 4096`, `plinth_rebuild_eta_seconds{pool="fast"} 12.5`,
		`plinth_scrub_last_completed_timestamp_seconds{pool="fast"} 1.7e+09`, `plinth_scrub_damaged_stripes{pool="fast"} 2`,
		`plinth_scrub_running{pool="bulk"} 1`, `plinth_scrub_sets_total{pool="bulk"} 4`, `plinth_rebuild_running{pool="bulk"} 0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `plinth_rebuild_sets_done{pool="fast"} 99`) {
		t.Error("a pool given twice was exported twice")
	}
}
