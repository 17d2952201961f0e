package server

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// zeroReader gives n zero bytes.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// BenchmarkPut16MiB writes 16 MiB objects from 8 writers into a node on
// file-backed zoned drives, in process (the CPU and lock profile of the
// write path: go test -run - -bench Put16MiB -cpuprofile cpu.out).
func BenchmarkPut16MiB(b *testing.B) { benchPut(b, 16<<20, 8) }

// BenchmarkPut256KiB: small objects from 32 writers (group commit).
func BenchmarkPut256KiB(b *testing.B) { benchPut(b, 256<<10, 32) }

// openBenchNode opens the embedded default on file-backed zoned drives
// of 32 zones of 256 MiB; it is closed when the benchmark ends.
func openBenchNode(b *testing.B) *Server {
	dir := filepath.Join(b.TempDir(), "data")
	d := appliance.DefaultOptions{Config: zonemu.Config{ZoneSize: 256 << 20, ZoneCapacity: 256 << 20, NrZones: 32, NrConventional: 2,
		MaxOpenZones: 16, LogicalBlockSize: 4096, Behavior: zonemu.BehaviorSMR}}
	s, err := Open(Config{DataDir: dir, Listen: "127.0.0.1:0"}, Options{Default: d})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchPut(b *testing.B, size int64, writers int) {
	s := openBenchNode(b)
	ctx := context.Background()
	if _, err := s.Objects().CreateBucket(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetBytes(size)
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				key := fmt.Sprintf("w%d/%d", w, i%8)
				if _, err := s.Objects().Put(ctx, "bench", key, &zeroReader{n: size}, objects.PutOptions{Size: size}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
