package iostat

import (
	"math"
	"math/bits"
	"time"
)

// Kind is a kind of operation with its own counters and histogram.
type Kind int

// The kinds of operation.
const (
	Read  Kind = iota // ReadAt
	Write             // WriteAt
	Flush             // Flush
	Other             // Discard, ReportZones, ResetZone, OpenZone, CloseZone, FinishZone

	NumKinds = 4
)

// NumBuckets is the number of histogram buckets per kind.
const NumBuckets = 32

var kindNames = [NumKinds]string{"read", "write", "flush", "other"}

// String returns the kind's name: "read", "write", "flush" or "other".
func (k Kind) String() string {
	if k < 0 || int(k) >= NumKinds {
		return "unknown"
	}
	return kindNames[k]
}

// Kinds returns every kind, in index order.
func Kinds() [NumKinds]Kind { return [NumKinds]Kind{Read, Write, Flush, Other} }

// Stats is a snapshot of one device's counters.
type Stats struct {
	Path string
	Ops  [NumKinds]OpStats // indexed by Kind
}

// OpStats counts one kind of operation since the device was wrapped.
type OpStats struct {
	Count  int64 // operations completed, failed or not
	Bytes  int64 // bytes transferred (reads and writes only)
	Errors int64 // operations that returned an error
	// InFlight is the number of operations started and not yet completed
	// when the snapshot was taken.
	InFlight int64
	// Buckets[i] counts operations that took [2^i, 2^(i+1)) µs (see the
	// package comment for both ends).
	Buckets   [NumBuckets]int64
	SumMicros int64 // total latency in whole microseconds
}

// BucketUpper returns the upper bound of histogram bucket i: 2^(i+1) µs. The
// last bucket is open-ended; its nominal bound is returned all the same.
func BucketUpper(i int) time.Duration {
	i = min(max(i, 0), NumBuckets-1)
	return time.Duration(int64(1)<<(i+1)) * time.Microsecond
}

// Total returns the number of operations in the histogram.
func (o OpStats) Total() int64 {
	var n int64
	for _, b := range o.Buckets {
		n += b
	}
	return n
}

// Percentile returns the latency below which p percent of the operations in
// the histogram completed (p in [0, 100]; Percentile(99) is the p99), as the
// upper bound of the bucket that holds that operation: a value the true
// percentile does not exceed, at most twice too large. It returns 0 for an
// empty histogram; p outside [0, 100] (or NaN) is clamped.
func (o OpStats) Percentile(p float64) time.Duration {
	total := o.Total()
	if total <= 0 {
		return 0
	}
	if math.IsNaN(p) || p < 0 {
		p = 0
	}
	p = min(p, 100)
	rank := int64(math.Ceil(p / 100 * float64(total)))
	rank = min(max(rank, 1), total)
	var seen int64
	for i, b := range o.Buckets {
		seen += b
		if seen >= rank {
			return BucketUpper(i)
		}
	}
	return BucketUpper(NumBuckets - 1)
}

// Mean returns the mean latency of the completed operations, 0 when there
// are none.
func (o OpStats) Mean() time.Duration {
	if o.Count <= 0 {
		return 0
	}
	return time.Duration(o.SumMicros/o.Count) * time.Microsecond
}

// Sub returns the operations between an earlier snapshot prev of the same
// device and o: counters and buckets are differences, InFlight is o's.
func (o OpStats) Sub(prev OpStats) OpStats {
	d := OpStats{
		Count:     o.Count - prev.Count,
		Bytes:     o.Bytes - prev.Bytes,
		Errors:    o.Errors - prev.Errors,
		InFlight:  o.InFlight,
		SumMicros: o.SumMicros - prev.SumMicros,
	}
	for i := range d.Buckets {
		d.Buckets[i] = o.Buckets[i] - prev.Buckets[i]
	}
	return d
}

// Sub returns what the device did between an earlier snapshot prev and s
// (see OpStats.Sub): the rates and interval percentiles a console shows.
func (s Stats) Sub(prev Stats) Stats {
	d := Stats{Path: s.Path}
	for k := range d.Ops {
		d.Ops[k] = s.Ops[k].Sub(prev.Ops[k])
	}
	return d
}

// bucketOf returns the histogram bucket of a latency.
func bucketOf(d time.Duration) int {
	us := d.Microseconds()
	if us < 1 {
		return 0
	}
	return min(bits.Len64(uint64(us))-1, NumBuckets-1)
}
