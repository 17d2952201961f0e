package datalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/reedsolomon"
	"github.com/minio/highwayhash"

	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/stripe"
)

// TestFormat checks the on-disk bytes against doc.go, computed here
// independently of the package's code.
func TestFormat(t *testing.T) {
	l := stripe.Layout{N: 3, K: 2, Unit: 8192}
	set, fds := testSet(t, l, int64(4096+3*l.Unit), 0, 20)
	for i := range set.Members {
		set.Members[i].Generation = uint64(100 + i) // distinct per member
	}
	rng := rand.New(rand.NewPCG(20, 20))
	stream := write(t, set, rng, 3*StripeBytes(l))
	if got, want := StripeBytes(l), int64(3*2*4088); got != want {
		t.Fatalf("StripeBytes %d, want %d", got, want)
	}
	rs, err := reedsolomon.New(l.N, l.K)
	if err != nil {
		t.Fatal(err)
	}
	for s := range int64(3) {
		units := make([][]byte, l.Members())
		for i := range units {
			units[i] = make([]byte, l.Unit)
			if _, err := fds[i].ReadAt(units[i], set.Members[i].Loc.Start+4096+s*int64(l.Unit)); err != nil {
				t.Fatal(err)
			}
		}
		for d := 0; d < l.N; d++ {
			for j := 0; j < l.Unit/4096; j++ {
				blk := units[d][j*4096 : (j+1)*4096]
				b := (s*int64(l.N)+int64(d))*2 + int64(j)
				if !bytes.Equal(blk[:4088], stream[b*4088:(b+1)*4088]) {
					t.Fatalf("stripe %d unit %d block %d: payload is not stream block %d", s, d, j, b)
				}
				msg := make([]byte, 24, 24+4088)
				binary.LittleEndian.PutUint64(msg[0:], set.ID)
				binary.LittleEndian.PutUint64(msg[8:], set.Members[d].Generation)
				binary.LittleEndian.PutUint64(msg[16:], uint64(b))
				msg = append(msg, blk[:4088]...)
				want := highwayhash.Sum64(msg, []byte("plinth data log block tag v1...!"))
				if got := binary.LittleEndian.Uint64(blk[4088:]); got != want {
					t.Fatalf("stripe %d unit %d block %d: tag %x, want %x", s, d, j, got, want)
				}
			}
		}
		parity := make([][]byte, l.Members())
		for i := range parity {
			parity[i] = make([]byte, l.Unit)
			if i < l.N {
				copy(parity[i], units[i])
			}
		}
		if err := rs.Encode(parity); err != nil {
			t.Fatal(err)
		}
		for i := l.N; i < l.Members(); i++ {
			if !bytes.Equal(parity[i], units[i]) {
				t.Fatalf("stripe %d: parity unit %d is not RS over the data units", s, i)
			}
		}
	}
}

// TestGoldenTag pins one tag value: a change is a format change.
func TestGoldenTag(t *testing.T) {
	blk := make([]byte, BlockSize)
	for i := range BlockPayload {
		blk[i] = byte(i * 7)
	}
	got := fmt.Sprintf("%016x", tag(1, 2, 3, blk))
	const want = "62acbd5f5e4353cb"
	if got != want {
		t.Fatalf("tag %s, want %s", got, want)
	}
}

// TestFlipOnRead: transient flips on one member never surface as wrong data.
func TestFlipOnRead(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(21, 21))
	set, fds := testSet(t, l, int64(4096+4*l.Unit), 1, 21)
	stream := write(t, set, rng, 4*StripeBytes(l))
	fds[rng.IntN(l.N)].FlipOnReadRate(0.3)
	fds[l.N].FlipOnReadRate(0.3) // a parity unit too: still one data + one parity bad at most
	r := Open(set, int64(len(stream)))
	n := 200
	if testing.Short() {
		n = 50
	}
	for range n {
		off, m := randomRange(rng, int64(len(stream)))
		check(t, r, stream, off, m)
	}
}

func TestFlushFailure(t *testing.T) {
	l := stripe.Layout{N: 2, K: 1, Unit: 16 << 10}
	set, fds := testSet(t, l, int64(4096+4*l.Unit), 1, 22)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	fds[1].FailRate(faultdev.OpFlush, 1) // K+1 members
	fds[2].FailRate(faultdev.OpFlush, 1)
	if _, err := w.Flush(); !errors.Is(err, ErrBroken) {
		t.Fatalf("flush with a failing member: %v", err)
	}
	if _, err := w.Flush(); !errors.Is(err, ErrBroken) {
		t.Fatalf("flush of a broken writer: %v", err)
	}
}

// BenchmarkTag: the CPU cost of the block tags, per GB of stream, which
// every write computes and every read checks.
func BenchmarkTag(b *testing.B) {
	blk := make([]byte, BlockSize)
	b.SetBytes(BlockPayload)
	for i := range b.N {
		sealBlock(blk, 7, 1, uint64(i))
	}
	b.ReportMetric(b.Elapsed().Seconds()/(float64(b.N)*BlockPayload/1e9), "cpu-s/GB")
}
