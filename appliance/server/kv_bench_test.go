package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/plinth-storage/plinth/appliance/kv"
)

// BenchmarkKVPut puts 100-byte values from 16 writers, one key per put
// and in batches of 100, into a node on file-backed zoned drives: through
// the node's indexes, which log every write in the first pool's data log
// (logged), and through indexes on the same store without the log
// (metadata-only, what the node did before it logged them). The ratio of
// the two is the log's cost:
//
//	go test -run - -bench KVPut -benchtime 5000x ./appliance/server/
func BenchmarkKVPut(b *testing.B) {
	s := openBenchNode(b)
	ctx := context.Background()
	bare, err := kv.Open(ctx, s.meta, kv.Options{Clock: s.clock})
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 100} {
		for _, c := range []struct {
			name string
			k    *kv.KV
		}{{"logged", s.kv}, {"metadata-only", bare}} {
			b.Run(fmt.Sprintf("batch=%d/%s", batch, c.name), func(b *testing.B) {
				index := fmt.Sprintf("b%d-%s", batch, c.name)
				// The testing package calls this more than once (b.N 1 first).
				if err := c.k.Create(ctx, index); err != nil && !errors.Is(err, kv.ErrExists) {
					b.Fatal(err)
				}
				value := make([]byte, 100)
				var next atomic.Int64
				b.ResetTimer()
				var wg sync.WaitGroup
				for w := range 16 {
					wg.Go(func() {
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							ops := make([]kv.Op, batch)
							for j := range ops {
								ops[j] = kv.Op{Key: fmt.Appendf(nil, "w%02d-%08d-%03d", w, i, j), Value: value}
							}
							if _, err := c.k.Batch(ctx, index, ops); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "keys/s")
			})
		}
	}
}
