package torture

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Kind is what an operation does.
type Kind uint8

const (
	// Objects.
	OpCreateBucket Kind = iota
	OpDeleteBucket
	OpPut
	OpGet
	OpDelete
	OpList
	OpReplay    // the key's last acknowledged write again, same version
	OpStale     // a write with a version older than the key's
	OpTieDelete // a delete at the same version as the key's live value
	// Key-value indexes.
	OpCreateIndex
	OpDropIndex
	OpBatch
	OpKVGet
	OpRange
	OpKVReplay
	// Background work, run now.
	OpCheckpoint
	OpClean
	OpScrub
	OpRebuild
	OpRestart // a clean stop and start
	// Faults.
	OpPowerCut
	OpLoseDrive
	OpEIO
	OpLatency
	OpBitFlip
	OpMisdirect
	OpHeal // transient faults (EIO, latency, misdirection) stop
)

var kindNames = [...]string{
	"create-bucket", "delete-bucket", "put", "get", "delete", "list", "replay", "stale", "tie-delete",
	"create-index", "drop-index", "batch", "kv-get", "range", "kv-replay",
	"checkpoint", "clean", "scrub", "rebuild", "restart",
	"POWER-CUT", "LOSE-DRIVE", "EIO", "LATENCY", "BIT-FLIP", "MISDIRECT", "HEAL",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Op is one step of a run. Which fields matter depends on Kind. Ops are
// generated from the seed before the run starts, so that a reproduction
// can name a subset of them; what depends on the node's state (a stale
// version, whether a bucket is empty) is worked out when the op runs.
type Op struct {
	Kind    Kind
	Bucket  int    // bucket or index number
	Key     int    // key number
	Size    int64  // put: bytes
	Content uint64 // put, batch: the seed of the bytes
	Off     int64  // get: range start (fraction of the size, in 1/1024)
	Batch   []BatchOp
	Drive   int     // faults: the victim (index into the run's victims) or drive
	At      float64 // bit flip: where on the drive (fraction)
	Count   int     // bit flip: how many; power cut: IOs before the cut
	Rate    float64 // eio, misdirect: the rate
	Mode    int     // power cut: 0 drop, 1 tear
}

// BatchOp is one operation of a key-value batch.
type BatchOp struct {
	Delete bool
	Key    int
	Len    int // value length
}

func (o Op) String() string {
	var b strings.Builder
	b.WriteString(o.Kind.String())
	switch o.Kind {
	case OpCreateBucket, OpDeleteBucket:
		fmt.Fprintf(&b, " %s", bucketName(o.Bucket))
	case OpPut:
		fmt.Fprintf(&b, " %s/%s %d bytes #%x", bucketName(o.Bucket), keyName(o.Key), o.Size, o.Content)
	case OpGet:
		fmt.Fprintf(&b, " %s/%s from %d/1024", bucketName(o.Bucket), keyName(o.Key), o.Off)
	case OpDelete, OpReplay, OpStale, OpTieDelete:
		fmt.Fprintf(&b, " %s/%s", bucketName(o.Bucket), keyName(o.Key))
	case OpList:
		fmt.Fprintf(&b, " %s page %d", bucketName(o.Bucket), o.Count)
	case OpCreateIndex, OpDropIndex, OpRange:
		fmt.Fprintf(&b, " %s", indexName(o.Bucket))
	case OpKVGet, OpKVReplay:
		fmt.Fprintf(&b, " %s/%s", indexName(o.Bucket), kvKey(o.Key))
	case OpBatch:
		fmt.Fprintf(&b, " %s", indexName(o.Bucket))
		for _, bo := range o.Batch {
			if bo.Delete {
				fmt.Fprintf(&b, " -%s", kvKey(bo.Key))
			} else {
				fmt.Fprintf(&b, " +%s(%d)", kvKey(bo.Key), bo.Len)
			}
		}
	case OpPowerCut:
		fmt.Fprintf(&b, " after %d IOs (%s)", o.Count, []string{"drop", "tear"}[o.Mode&1])
	case OpLoseDrive:
		fmt.Fprintf(&b, " victim %d", o.Drive)
	case OpEIO, OpMisdirect:
		fmt.Fprintf(&b, " victim %d rate %g", o.Drive, o.Rate)
	case OpLatency:
		fmt.Fprintf(&b, " drive %d", o.Drive)
	case OpBitFlip:
		fmt.Fprintf(&b, " victim %d x%d at %.4f", o.Drive, o.Count, o.At)
	}
	return b.String()
}

// The name spaces are small, so that operations meet the same keys.
const (
	nBuckets = 3
	nKeys    = 40
	nIndexes = 2
	nKVKeys  = 48
)

func bucketName(i int) string { return fmt.Sprintf("bk%d", i) }
func indexName(i int) string  { return fmt.Sprintf("ix%d", i) }

// keyName: some keys share prefixes with a "/" so that listings with a
// delimiter have something to roll up.
func keyName(i int) string {
	if i%4 == 0 {
		return fmt.Sprintf("dir%d/k%03d", i%3, i)
	}
	return fmt.Sprintf("k%03d", i)
}

func kvKey(i int) string { return fmt.Sprintf("key%03d", i) }

// objectSize draws sizes of every class: empty, tiny, around a stripe
// unit, several stripes, up to megabytes.
func objectSize(rng *rand.Rand) int64 {
	switch r := rng.IntN(100); {
	case r < 3:
		return 0
	case r < 30:
		return 1 + rng.Int64N(4096)
	case r < 60:
		return 4096 + rng.Int64N(60<<10)
	case r < 88:
		return 64<<10 + rng.Int64N(448<<10)
	default:
		return 512<<10 + rng.Int64N(2560<<10)
	}
}

// weights of the workload operations.
var weights = []struct {
	k Kind
	w int
}{
	{OpCreateBucket, 3}, {OpDeleteBucket, 1}, {OpPut, 30}, {OpGet, 16}, {OpDelete, 8}, {OpList, 4},
	{OpReplay, 3}, {OpStale, 2}, {OpTieDelete, 1},
	{OpCreateIndex, 2}, {OpDropIndex, 1}, {OpBatch, 14}, {OpKVGet, 6}, {OpRange, 3}, {OpKVReplay, 2},
	{OpCheckpoint, 2}, {OpClean, 2}, {OpScrub, 1}, {OpRebuild, 1}, {OpRestart, 1},
}

// generate draws a run's operations.
func generate(rng *rand.Rand, n int, faults Faults, victims, drives int) []Op {
	total := 0
	for _, w := range weights {
		total += w.w
	}
	transient := faults[EIO] > 0 || faults[Latency] > 0 || faults[Misdirect] > 0
	ops := make([]Op, 0, n)
	for len(ops) < n {
		if transient && rng.IntN(40) == 0 {
			ops = append(ops, Op{Kind: OpHeal})
			continue
		}
		if f, ok := drawFault(rng, faults); ok {
			ops = append(ops, faultOp(rng, f, victims, drives))
			continue
		}
		r := rng.IntN(total)
		var k Kind
		for _, w := range weights {
			if r < w.w {
				k = w.k
				break
			}
			r -= w.w
		}
		ops = append(ops, workOp(rng, k))
	}
	return ops
}

func drawFault(rng *rand.Rand, faults Faults) (Fault, bool) {
	u := rng.Float64()
	for _, f := range AllFaults { // a fixed order: the same seed, the same run
		r, ok := faults[f]
		if !ok {
			continue
		}
		if u < r {
			return f, true
		}
		u -= r
	}
	return "", false
}

func workOp(rng *rand.Rand, k Kind) Op {
	o := Op{Kind: k, Bucket: rng.IntN(nBuckets), Key: rng.IntN(nKeys), Content: rng.Uint64()}
	switch k {
	case OpPut:
		o.Size = objectSize(rng)
	case OpGet:
		o.Off = rng.Int64N(1024)
		if rng.IntN(2) == 0 {
			o.Off = 0
		}
	case OpList:
		o.Count = 1 + rng.IntN(12)
	case OpCreateIndex, OpDropIndex, OpBatch, OpKVGet, OpRange, OpKVReplay:
		o.Bucket, o.Key = rng.IntN(nIndexes), rng.IntN(nKVKeys)
		if k == OpBatch {
			for range 1 + rng.IntN(6) {
				bo := BatchOp{Delete: rng.IntN(5) == 0, Key: rng.IntN(nKVKeys), Len: 1 + rng.IntN(200)}
				if rng.IntN(20) == 0 {
					bo.Len = 4086 // the largest value
				}
				o.Batch = append(o.Batch, bo)
			}
		}
	}
	return o
}

func faultOp(rng *rand.Rand, f Fault, victims, drives int) Op {
	v := rng.IntN(max(victims, 1))
	switch f {
	case PowerCut:
		return Op{Kind: OpPowerCut, Count: rng.IntN(400), Mode: rng.IntN(2)}
	case DriveLoss:
		return Op{Kind: OpLoseDrive, Drive: v}
	case EIO:
		return Op{Kind: OpEIO, Drive: v, Rate: []float64{0.01, 0.05, 0.2}[rng.IntN(3)]}
	case Latency:
		return Op{Kind: OpLatency, Drive: rng.IntN(drives)}
	case BitFlip:
		return Op{Kind: OpBitFlip, Drive: v, At: rng.Float64(), Count: 1 + rng.IntN(8)}
	case Misdirect:
		return Op{Kind: OpMisdirect, Drive: v, Rate: []float64{0.01, 0.05}[rng.IntN(2)]}
	}
	return Op{Kind: OpHeal}
}
