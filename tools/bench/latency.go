package bench

import (
	"math"
	"slices"
	"time"
)

// Latency summarises a set of durations. Figures are milliseconds.
// Percentiles are nearest-rank over every sample (the samples of one
// measurement are few enough to keep): p99.9 of fewer than 1000 samples
// is their maximum, so Count says how much a tail figure rests on.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Summarize computes the percentiles of samples. It sorts samples in place.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	return Latency{
		Count: len(samples),
		P50:   ms(Percentile(samples, 0.50)),
		P99:   ms(Percentile(samples, 0.99)),
		P999:  ms(Percentile(samples, 0.999)),
		Max:   ms(samples[len(samples)-1]),
		Mean:  ms(sum / time.Duration(len(samples))),
	}
}

// Percentile returns the nearest-rank q-quantile (0 < q <= 1) of sorted:
// the smallest sample that at least q of the samples do not exceed.
// It returns 0 for no samples.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
