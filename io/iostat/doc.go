// Package iostat measures Plinth's own IO path: a wrapper around any
// dev.Device that counts every operation, the bytes it moved, its errors and
// how many are in flight, and keeps a latency histogram per kind of
// operation.
//
// # Why
//
// Latency per drive is how an operator tells a failing-slow drive from a busy
// one. The hw layer gets it from eBPF block-layer probes where the kernel
// allows them (issue 11); where it does not (no BTF, no CAP_BPF, an emulated
// drive on a file) this package is the always-on fallback, and it is always
// there even when eBPF is: it sees the latency Plinth itself waits for,
// including the page cache and the zone emulator. The Prometheus /metrics
// endpoint (appliance/metrics) and the console's drive and latency views read
// Snapshot.
//
// # Cost
//
// Every IO goes through it, so it is lock-free: per operation it reads the
// monotonic clock (only: not the wall clock) twice and does a handful of atomic adds on counters that
// belong to the device (BenchmarkWrapOverhead measures it against the bare
// device).
//
// # Histograms
//
// Latencies are kept apart for four kinds of operation (Kind): read, write,
// flush, and other (discard and every zone operation, ReportZones included).
// Each kind has 32 buckets of whole microseconds on a log2 scale: bucket i
// counts operations that took [2^i, 2^(i+1)) µs, except that bucket 0 also
// takes operations under 1 µs and bucket 31 everything from 2^31 µs (about
// 36 minutes) up. An operation is counted when it completes, failed or not;
// failures are also counted in Errors. Bytes counts the bytes ReadAt and
// WriteAt transferred; flush and other operations move none.
//
// A Snapshot is read counter by counter while IO goes on, so its fields may
// disagree by the operations that completed during the read (Count against
// the sum of Buckets, say); Percentile uses the buckets alone.
//
// This package defines no on-disk format.
package iostat
