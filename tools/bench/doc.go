// Package bench is `plinth bench`: it measures, in one run, what a node
// makes of its drives, against the raw drives measured beside it.
//
// # What it builds
//
// A scratch directory (a new plinth-bench-* under --dir, default
// os.TempDir(); removed at the end unless --keep) holding:
//
//   - node/: a node of the embedded default's shape, six emulated host-managed
//     SMR drives as sparse files (the default's 256 MiB zones, fewer of them:
//     --drive-size, default 8 GiB a drive), one 4+2 pool, opened with
//     appliance/server.Open and served on 127.0.0.1 at a free port;
//   - raw/: six plain files on the same filesystem, the raw baseline.
//
// It never touches an existing node.
//
// # What it measures
//
//   - Raw baseline: O_DIRECT (io/direct) sequential writes, then reads, of the
//     six raw files in 1 MiB requests, one writer or reader per file keeping
//     --raw-depth requests in flight, for the measurement's duration; a write
//     pass empties the files first (holes punched), so its writes allocate
//     blocks as the node's writes to reset zones do, and ends with fdatasync
//     (a PUT is acknowledged only when durable). Then 256 KiB reads at random
//     offsets of what was written, one at a time per file: the idle drives'
//     read latency.
//   - PUT and GET of every --sizes at every --concurrency, in process (the
//     node's objects.Store: Put, Open and Read) and over HTTP (net/http with
//     the bearer token, one keep-alive connection per client): MB/s, ops/s,
//     each operation's latency and, for GETs, the time to first byte (TTFB):
//     over HTTP until the first byte of the body arrives, in process until
//     Open and the first Read have returned. The objects of a size cycle
//     through a ring of keys (each client its own keys, so no two writes of
//     one key overlap): old versions die, their sets are released, and the
//     live data stays bounded (an eighth of the usable space, at most 1 GiB,
//     but at least twice the highest concurrency's objects). GETs read random
//     objects of the ring, checking their length and first bytes.
//   - Mixed load: --mixed-readers GETs of the smallest size while
//     --mixed-writers PUTs of the largest run (on keys of their own); the GETs
//     start a tenth of the duration (at most 0.5 s) after the PUTs and stop as
//     long before them, so every GET timed runs under the full write load.
//
// The disk under a VM drifts by tens of percent within minutes, so the raw
// passes and the node's measurements are interleaved: each of --rounds rounds
// runs the raw passes, then every PUT/GET measurement, then the mixed loads;
// the raw passes run once more at the end. Every figure reported is the best
// round's, for the raw ones as for the node's (highest MB/s; lowest p99 for
// latency-bound figures), and every round's figures are in the JSON (and the
// MB/s of each round in the table), so the spread is visible.
//
// # How to read it
//
// Each PUT row's ratio is its MB/s over raw write x N/(N+K) (the most a
// pool can store when it writes N data and K parity units for every N);
// each GET row's is over raw read. The targets (issue 6): 16 MiB PUT and GET
// at least 0.85 of those limits, 256 KiB (any size below 16 MiB) at least
// 0.7; the TTFB p99 of 256 KiB GETs under the write load at most 3 x the raw
// 256 KiB random read's p99. For each mode, size and operation the target is
// checked at the concurrency with the best ratio; PASS or MISS is printed
// beside the ratio. A MISS is a finding, not a failure of the command.
//
// Latency percentiles are nearest-rank over every sample (latency.go);
// p99.9 of fewer than 1000 samples is the maximum, and the counts are
// reported.
package bench
