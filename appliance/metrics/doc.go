// Package metrics is the node's Prometheus endpoint, /metrics: what the
// HTTP API served, how every drive's IO performs, each pool's space and
// counters, the metadata store and its journal, and the events journal's
// counts, with the Go runtime and process collectors.
//
// # Series
//
// All names start with plinth_, carry their unit (_bytes, _seconds) and end
// in _total when they are counters. The HTTP API's series are kept by this
// package (ObserveRequest, InFlight, Rejected, Events); everything else is
// read from Sources at scrape time, so a scrape costs the sources' snapshot
// functions and nothing is cached. A nil source is skipped.
//
//	plinth_http_requests_total{api,op,code}            counter
//	plinth_http_request_duration_seconds{api,op}       histogram, 0.5 ms to 32 s
//	plinth_http_request_bytes_total{api,op}            counter (request bodies)
//	plinth_http_response_bytes_total{api,op}           counter (response bodies)
//	plinth_http_requests_in_flight                     gauge
//	plinth_http_rejected_total{reason}                 counter (back-pressure, limits)
//	plinth_events_total{kind,severity}                 counter
//
//	plinth_drive_io_latency_seconds{drive,op}          histogram
//	plinth_drive_io_bytes_total{drive,op}              counter
//	plinth_drive_io_errors_total{drive,op}             counter
//	plinth_drive_io_in_flight{drive,op}                gauge
//
//	plinth_pool_{raw,usable,used,free,reclaimable}_bytes{pool}   gauges
//	plinth_pool_reserve_bytes, plinth_pool_unavailable_bytes,
//	plinth_pool_drives, plinth_pool_sets{pool,state}, plinth_pool_write_protected
//	plinth_metadata_{capacity,used,dirty,reserved}_bytes         gauges
//
//	plinth_pool_puts_total, _deletes_total, _written_bytes_total,
//	_read_bytes_total, _commits_total, _degraded_reads_total,
//	_repaired_stripes_total, _sets_cleaned_total, _sets_released_total,
//	_relocated_bytes_total{pool}                       counters
//	plinth_pool_cleaner_active{pool}                   gauge
//
//	plinth_metadata_checkpoints_total, _checkpoints_failed_total,
//	_written_bytes_total, _segments_cleaned_total      counters
//	plinth_metadata_checkpoint_duration_seconds,
//	_checkpoint_cut_pause_max_seconds,
//	_checkpoint_last_timestamp_seconds, _read_only     gauges
//	plinth_metadata_cache_{hits,misses,evictions}_total, _cache_bytes,
//	_cache_limit_bytes
//	plinth_metadata_journal_{commits,batches,segments}_total,
//	_journal_bytes_total, _journal_healthy_mirrors,
//	_journal_used_segments, _journal_ring_segments,
//	_journal_read_only, _journal_waiting
//	plinth_metadata_mirrors{state}: healthy, partial (being rebuilt from the
//	others: a resilver), failed                        gauge
//	plinth_metadata_resilver_{rewritten,total}_bytes   gauges
//
// The op label of the drive series is iostat's kind: read, write, flush or
// other (discard and zone operations); drive is the device's path. Pool
// usable, used, free and reclaimable bytes count what clients can store
// (after redundancy), raw bytes count segments on the drives (see
// alloc.FSStat); free is alloc.FSStat.FreeUsableBytes. The metadata store is
// the node's, shared by every pool, so its space is exported once, without a
// pool label, from the first pool's figures.
//
// # Drive latency histograms
//
// iostat keeps 32 log2 buckets of microseconds, bucket i counting
// [2^i, 2^(i+1)) µs. They become a Prometheus histogram with the cumulative
// buckets le = 2^(i+1) µs in seconds for i = 0..30 (2 µs up to about 36
// minutes), each counting the operations of buckets 0..i; bucket 31 is open
// ended and only in +Inf (the count). The sum is iostat's SumMicros in
// seconds.
package metrics
