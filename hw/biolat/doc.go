// Package biolat measures each drive's block-IO latency in the kernel,
// with eBPF probes on the block layer's tracepoints, and says where its
// figures come from when it cannot.
//
// # What the probes keep
//
// For each drive (keyed by the kernel's device number, major<<20 | minor,
// of the whole disk), for each class of request (read, write, flush,
// other), two log2 histograms of microseconds, 32 buckets each (bucket i
// counts latencies in [2^i, 2^(i+1)) us; bucket 0 also takes < 1 us):
// issue to completion (the drive's own time, block_rq_issue to
// block_rq_complete) and insert to completion (with the time the request
// waited in the scheduler, from block_rq_insert; requests that bypass the
// scheduler have none). Also the number of requests in flight on each
// drive, and each request slower than a threshold as an event on a ring
// buffer. The drives are filtered in the kernel to the ones the loader
// names.
//
// # How they attach
//
// BTF-typed tracepoints (tp_btf) where the kernel has BTF and supports
// them, raw tracepoints otherwise. block_rq_issue and block_rq_insert took
// (queue, request) before Linux 5.11 and take (request) since; the loader
// reads the argument count from the kernel's BTF (the typedef
// btf_trace_block_rq_issue), not from the kernel version, and loads the
// matching programs. The programs read kernel structures through CO-RE, so
// they need the kernel's BTF (/sys/kernel/btf/vmlinux) either way.
//
// # When BPF is not there
//
// Load returns an error wrapping ErrUnavailable that says why (no BTF, not
// permitted, a verifier refusal). The node then keeps to the histograms of
// its own IO path (io/iostat, always on) and the kernel's per-disk
// counters in /sys/block/DEV/stat (SysStat), and says which source is
// active and why (Source).
//
// The C source is c/biolat.bpf.c (in a directory of its own: a .c file beside Go files needs cgo); the generated probes_bpfel.go and
// probes_bpfel.o are committed (see gen.go), so building Plinth needs no
// clang.
package biolat
