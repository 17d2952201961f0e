// SPDX-License-Identifier: (MIT OR GPL-2.0)
//
// Per-drive block-IO latency: log2 histograms of issue-to-completion and
// insert-to-completion (queue) time, kept apart for reads, writes, flushes
// and everything else, keyed by the kernel's device number
// (major << 20 | minor), for the drives the loader names in `drives` (all
// drives while it is empty); per-drive in-flight counts; and IOs slower than
// `slow_ns` streamed through the `slow` ring buffer.
//
// The structures below are the few kernel fields the programs read, marked
// preserve_access_index so that CO-RE relocates them against the running
// kernel's BTF (no vmlinux.h, no kernel headers). Built by bpf2go (see
// gen.go); the generated object is committed.

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u32 u32;
typedef __u64 u64;

/* UAPI constants (linux/bpf.h), stable by ABI. */
enum {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct gendisk {
	int major;
	int first_minor;
} __attribute__((preserve_access_index));

struct request_queue {
	struct gendisk *disk;
} __attribute__((preserve_access_index));

struct request {
	struct request_queue *q;
	unsigned int cmd_flags;
	unsigned int __data_len;
	unsigned long long __sector;
} __attribute__((preserve_access_index));

struct bpf_raw_tracepoint_args {
	unsigned long long args[0];
};

#define MAX_SLOTS 32 /* log2 buckets of microseconds: up to 2^31 us */

#define OP_READ 0
#define OP_WRITE 1
#define OP_FLUSH 2
#define OP_OTHER 3
#define NR_OPS 4

#define KIND_ISSUE 0 /* issue to completion: the drive's time */
#define KIND_QUEUE 1 /* insert to completion: with the time queued */

struct hist_key {
	u32 dev;
	u32 op;
	u32 kind;
	u32 slot;
};

struct slow_io {
	u32 dev;
	u32 op;
	u64 lat_ns;
	u64 sector;
	u32 bytes;
	u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u64); /* struct request * */
	__type(value, u64);
} issued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, u64);
} inserted SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct hist_key);
	__type(value, u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, __s32);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, __u8);
} drives SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} slow SEC(".maps");

/* Keeps struct slow_io in the BTF, for bpf2go's Go type. */
const struct slow_io *unused_slow_io __attribute__((unused));

/* Set by the loader before loading. */
const volatile u32 filter = 0;  /* 1: only the drives in `drives` */
const volatile u64 slow_ns = 0; /* 0: no slow-IO events */

static __always_inline u32 dev_of(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0;
	u32 major = BPF_CORE_READ(disk, major);
	u32 minor = BPF_CORE_READ(disk, first_minor);
	return (major << 20) | minor;
}

static __always_inline int wanted(u32 dev)
{
	if (!dev)
		return 0;
	if (!filter)
		return 1;
	return bpf_map_lookup_elem(&drives, &dev) != 0;
}

static __always_inline u32 op_of(struct request *rq)
{
	u32 op = BPF_CORE_READ(rq, cmd_flags) & 0xff; /* REQ_OP_MASK */
	switch (op) {
	case 0:
		return OP_READ;
	case 1:
		return OP_WRITE;
	case 2:
		return OP_FLUSH;
	}
	return OP_OTHER;
}

static __always_inline u32 log2_slot(u64 us)
{
	u32 slot = 0;
	for (int i = 0; i < MAX_SLOTS - 1; i++) {
		if (us < 2)
			break;
		us >>= 1;
		slot++;
	}
	return slot;
}

static __always_inline void count(u32 dev, u32 op, u32 kind, u64 ns)
{
	struct hist_key key = { .dev = dev, .op = op, .kind = kind, .slot = log2_slot(ns / 1000) };
	u64 one = 1;
	u64 *v = bpf_map_lookup_elem(&hist, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&hist, &key, &one, BPF_NOEXIST);
}

static __always_inline void add_inflight(u32 dev, __s32 d)
{
	__s32 zero = 0;
	__s32 *v = bpf_map_lookup_elem(&inflight, &dev);
	if (!v) {
		bpf_map_update_elem(&inflight, &dev, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&inflight, &dev);
		if (!v)
			return;
	}
	__sync_fetch_and_add(v, d);
}

static __always_inline int on_insert(struct request *rq)
{
	if (!wanted(dev_of(rq)))
		return 0;
	u64 key = (u64)rq, ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&inserted, &key, &ts, BPF_ANY);
	return 0;
}

static __always_inline int on_issue(struct request *rq)
{
	u32 dev = dev_of(rq);
	if (!wanted(dev))
		return 0;
	u64 key = (u64)rq, ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&issued, &key, &ts, BPF_ANY) == 0)
		add_inflight(dev, 1);
	return 0;
}

static __always_inline int on_complete(struct request *rq, unsigned int nr_bytes)
{
	u32 dev = dev_of(rq);
	if (!wanted(dev))
		return 0;
	u64 key = (u64)rq, now = bpf_ktime_get_ns();
	u32 op = op_of(rq);
	u64 *ins = bpf_map_lookup_elem(&inserted, &key);
	if (ins) {
		count(dev, op, KIND_QUEUE, now - *ins);
		bpf_map_delete_elem(&inserted, &key);
	}
	u64 *iss = bpf_map_lookup_elem(&issued, &key);
	if (!iss)
		return 0; /* issued before the probes were attached */
	u64 lat = now - *iss;
	bpf_map_delete_elem(&issued, &key);
	add_inflight(dev, -1);
	count(dev, op, KIND_ISSUE, lat);
	if (slow_ns && lat >= slow_ns) {
		struct slow_io *e = bpf_ringbuf_reserve(&slow, sizeof(*e), 0);
		if (e) {
			e->dev = dev;
			e->op = op;
			e->lat_ns = lat;
			e->sector = BPF_CORE_READ(rq, __sector);
			e->bytes = nr_bytes;
			e->pad = 0;
			bpf_ringbuf_submit(e, 0);
		}
	}
	return 0;
}

/* BTF-typed tracepoints (the kernel says the arguments' types). Since
 * Linux 5.11 block_rq_issue and block_rq_insert take only the request;
 * before, the queue came first: the loader counts the arguments in the
 * kernel's BTF and loads the matching pair. */

SEC("tp_btf/block_rq_insert")
int BPF_PROG(btf_insert, struct request *rq) { return on_insert(rq); }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(btf_issue, struct request *rq) { return on_issue(rq); }

SEC("tp_btf/block_rq_insert")
int BPF_PROG(btf_insert_q, struct request_queue *q, struct request *rq) { return on_insert(rq); }

SEC("tp_btf/block_rq_issue")
int BPF_PROG(btf_issue_q, struct request_queue *q, struct request *rq) { return on_issue(rq); }

SEC("tp_btf/block_rq_complete")
int BPF_PROG(btf_complete, struct request *rq, int error, unsigned int nr_bytes) { return on_complete(rq, nr_bytes); }

/* Raw tracepoints, for kernels without BTF-typed ones. */

SEC("raw_tp/block_rq_insert")
int raw_insert(struct bpf_raw_tracepoint_args *ctx) { return on_insert((struct request *)ctx->args[0]); }

SEC("raw_tp/block_rq_issue")
int raw_issue(struct bpf_raw_tracepoint_args *ctx) { return on_issue((struct request *)ctx->args[0]); }

SEC("raw_tp/block_rq_insert")
int raw_insert_q(struct bpf_raw_tracepoint_args *ctx) { return on_insert((struct request *)ctx->args[1]); }

SEC("raw_tp/block_rq_issue")
int raw_issue_q(struct bpf_raw_tracepoint_args *ctx) { return on_issue((struct request *)ctx->args[1]); }

SEC("raw_tp/block_rq_complete")
int raw_complete(struct bpf_raw_tracepoint_args *ctx) { return on_complete((struct request *)ctx->args[0], (unsigned int)ctx->args[2]); }

char LICENSE[] SEC("license") = "Dual MIT/GPL";
