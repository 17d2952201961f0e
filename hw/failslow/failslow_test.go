package failslow

import (
	"testing"
	"time"
)

func window(lat map[uint32]time.Duration, req int64) []Sample {
	var w []Sample
	for d := uint32(0); d < uint32(len(lat)); d++ {
		w = append(w, Sample{Drive: d, Latency: lat[d], Requests: req})
	}
	return w
}

func TestSlowAfterWindowsAndRecovers(t *testing.T) {
	det := New(Config{Factor: 3, Windows: 3})
	lat := map[uint32]time.Duration{0: 5 * time.Millisecond, 1: 5 * time.Millisecond, 2: 6 * time.Millisecond, 3: 5 * time.Millisecond, 4: 40 * time.Millisecond, 5: 5 * time.Millisecond}
	for i := range 2 {
		if ch := det.Observe(window(lat, 100)); len(ch) != 0 {
			t.Fatalf("window %d: %v before 3 windows", i, ch)
		}
	}
	ch := det.Observe(window(lat, 100))
	if len(ch) != 1 || ch[0].Drive != 4 || !ch[0].Slow || !det.Slow(4) {
		t.Fatalf("third window: %v", ch)
	}
	// Still slow: no new change.
	if ch := det.Observe(window(lat, 100)); len(ch) != 0 {
		t.Fatalf("%v", ch)
	}
	// Between the thresholds (2x): stays slow.
	lat[4] = 11 * time.Millisecond
	for range 5 {
		if ch := det.Observe(window(lat, 100)); len(ch) != 0 {
			t.Fatalf("recovered between the thresholds: %v", ch)
		}
	}
	lat[4] = 6 * time.Millisecond
	det.Observe(window(lat, 100))
	det.Observe(window(lat, 100))
	ch = det.Observe(window(lat, 100))
	if len(ch) != 1 || ch[0].Slow || det.Slow(4) {
		t.Fatalf("recovery: %v", ch)
	}
}

func TestStreakBreaksAndQuietWindowsCountForNothing(t *testing.T) {
	det := New(Config{Factor: 3, Windows: 3})
	slow := map[uint32]time.Duration{0: 5 * time.Millisecond, 1: 5 * time.Millisecond, 2: 50 * time.Millisecond}
	fine := map[uint32]time.Duration{0: 5 * time.Millisecond, 1: 5 * time.Millisecond, 2: 5 * time.Millisecond}
	det.Observe(window(slow, 100))
	det.Observe(window(slow, 100))
	det.Observe(window(fine, 100)) // the streak breaks
	det.Observe(window(slow, 100))
	if ch := det.Observe(window(slow, 100)); len(ch) != 0 {
		t.Fatalf("a broken streak counted: %v", ch)
	}
	// Too few requests: no judgement either way.
	det2 := New(Config{})
	for range 10 {
		if ch := det2.Observe(window(slow, 5)); len(ch) != 0 {
			t.Fatalf("judged on 5 requests: %v", ch)
		}
	}
	// Microsecond latencies never make a drive slow.
	tiny := map[uint32]time.Duration{0: 50 * time.Microsecond, 1: 50 * time.Microsecond, 2: 900 * time.Microsecond}
	for range 10 {
		if ch := det2.Observe(window(tiny, 100)); len(ch) != 0 {
			t.Fatalf("slow under the floor: %v", ch)
		}
	}
	// One peer is no comparison.
	two := map[uint32]time.Duration{0: 5 * time.Millisecond, 1: 90 * time.Millisecond}
	for range 10 {
		if ch := det2.Observe(window(two, 100)); len(ch) != 0 {
			t.Fatalf("judged against one peer: %v", ch)
		}
	}
}

// A drive held slow recovers when its figure is one log2 bucket above its
// peers' (the percentiles are powers of two; a threshold of Factor/2 = 1.5
// would have held it slow for as long as its few probe reads landed one
// bucket up), but not when it is two buckets above.
func TestRecoversOneBucketAbovePeers(t *testing.T) {
	det := New(Config{Factor: 3, Windows: 3})
	ms := func(x float64) time.Duration { return time.Duration(x * float64(time.Millisecond)) }
	lat := map[uint32]time.Duration{0: ms(2.048), 1: ms(2.048), 2: ms(2.048), 3: ms(65.536)}
	for range 3 {
		det.Observe(window(lat, 100))
	}
	if !det.Slow(3) {
		t.Fatal("not marked slow at 32x its peers")
	}
	lat[3] = ms(8.192) // two buckets up: 4x
	for range 5 {
		if ch := det.Observe(window(lat, 100)); len(ch) != 0 {
			t.Fatalf("recovered at 4x its peers: %v", ch)
		}
	}
	lat[3] = ms(4.096) // one bucket up: 2x
	var ch []Change
	for range 3 {
		ch = det.Observe(window(lat, 100))
	}
	if len(ch) != 1 || ch[0].Slow || det.Slow(3) {
		t.Fatalf("not recovered after 3 windows one bucket above its peers: %v", ch)
	}
	// A factor under 2 recovers at the factor itself, never above it.
	if f := (Config{Factor: 1.5}).recoverFactor(); f != 1.5 {
		t.Fatalf("recover factor for Factor 1.5: %v", f)
	}
	if f := (Config{Factor: 8}).recoverFactor(); f != 4 {
		t.Fatalf("recover factor for Factor 8: %v", f)
	}
}
