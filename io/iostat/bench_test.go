package iostat

import (
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/memdev"
)

// BenchmarkWrapOverhead reads one 4 KiB block from memdev, bare and wrapped:
// the difference in ns/op is what measuring costs each IO.
func BenchmarkWrapOverhead(b *testing.B) {
	for _, c := range []struct {
		name string
		wrap bool
	}{{"bare", false}, {"wrapped", true}} {
		b.Run(c.name, func(b *testing.B) {
			var d dev.Device = memdev.New("m", 64*block, block)
			if c.wrap {
				d = Wrap(d)
			}
			buf := dev.AlignedBuffer(block)
			b.SetBytes(block)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := d.ReadAt(buf, int64(i%64)*block); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"-parallel", func(b *testing.B) {
			var d dev.Device = memdev.New("m", 64*block, block)
			if c.wrap {
				d = Wrap(d)
			}
			b.SetBytes(block)
			b.RunParallel(func(pb *testing.PB) {
				buf := dev.AlignedBuffer(block)
				for i := 0; pb.Next(); i++ {
					if _, err := d.ReadAt(buf, int64(i%64)*block); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
