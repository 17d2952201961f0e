package stripe

import (
	"math/rand/v2"
	"testing"
)

var benchLayouts = []Layout{
	{N: 4, K: 2, Unit: 128 << 10}, {N: 4, K: 2, Unit: 1 << 20},
	{N: 8, K: 3, Unit: 128 << 10}, {N: 8, K: 3, Unit: 1 << 20},
}

// reportCPU sets the throughput on the data bytes (parity excluded) and
// adds cpu-s/GB: CPU seconds per 10^9 data bytes. Every call runs on one
// goroutine (the codec does not split work), so elapsed time is CPU time,
// and ns per data byte is seconds per GB.
func reportCPU(b *testing.B, dataBytes int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(dataBytes), "cpu-s/GB")
}

func BenchmarkEncode(b *testing.B) {
	for _, l := range benchLayouts {
		b.Run(l.String(), func(b *testing.B) {
			s := newTestStripe(b, l, rand.New(rand.NewPCG(1, 1)))
			b.SetBytes(int64(l.N * l.Unit))
			b.ResetTimer()
			for range b.N {
				if err := s.c.Encode(s.units); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, l.N*l.Unit)
		})
	}
}

// BenchmarkReconstruct loses K data members, the worst case: it checks
// the N surviving members' sums, decodes K members and checks theirs.
func BenchmarkReconstruct(b *testing.B) {
	for _, l := range benchLayouts {
		b.Run(l.String(), func(b *testing.B) {
			s := newTestStripe(b, l, rand.New(rand.NewPCG(1, 1)))
			present := allPresent(l.Members())
			for i := range l.K {
				present[i] = false
			}
			b.SetBytes(int64(l.N * l.Unit))
			b.ResetTimer()
			for range b.N {
				if _, err := s.c.Reconstruct(s.units, s.ids, s.sums, present); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, l.N*l.Unit)
		})
	}
}

// BenchmarkSum is HighwayHash-128 over a 1 MiB unit.
func BenchmarkSum(b *testing.B) {
	unit := make([]byte, 1<<20)
	fill(unit, 1)
	id := UnitID{Set: 1, Stripe: 2, Member: 3, Generation: 4}
	b.SetBytes(int64(len(unit)))
	b.ResetTimer()
	for range b.N {
		Sum(unit, id)
	}
	reportCPU(b, len(unit))
}
