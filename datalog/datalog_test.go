package datalog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
)

// testSet builds a set of faultdev-over-memdev members. Each member segment
// is the second of two slices of segSize bytes on its device, so segment
// offsets and device offsets differ.
func testSet(t *testing.T, l stripe.Layout, segSize int64, gen uint64, seed uint64) (Set, []*faultdev.Device) {
	t.Helper()
	set := Set{ID: 0x5e7 + seed, Layout: l}
	var fds []*faultdev.Device
	for i := range l.Members() {
		fd := faultdev.New(memdev.New(fmt.Sprintf("m%d", i), 2*segSize, 4096), seed*100+uint64(i))
		fds = append(fds, fd)
		set.Members = append(set.Members, Member{
			Loc:        seg.Location{Dev: fd, Index: 1, Start: segSize, Capacity: segSize},
			Node:       uuid.New(),
			Drive:      uuid.New(),
			Generation: gen,
		})
	}
	return set, fds
}

// withGen returns a copy of set whose members all have generation gen.
func withGen(set Set, gen uint64) Set {
	set.Members = slices.Clone(set.Members)
	for i := range set.Members {
		set.Members[i].Generation = gen
	}
	return set
}

// write appends random data to a new writer over set, with flushes in
// between, and returns the stream as it must read back (padding included).
func write(t *testing.T, set Set, rng *rand.Rand, total int64) []byte {
	t.Helper()
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	sb := StripeBytes(set.Layout)
	var stream []byte
	for int64(len(stream)) < total {
		var n int64
		switch rng.IntN(4) {
		case 0:
			n = rng.Int64N(16)
		case 1:
			n = rng.Int64N(BlockPayload * 3)
		case 2:
			n = rng.Int64N(sb)
		default:
			n = rng.Int64N(3 * sb)
		}
		n = min(n, w.Capacity()-w.End())
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		off, err := w.Append(p)
		if err != nil {
			t.Fatal(err)
		}
		if off != int64(len(stream)) {
			t.Fatalf("append at %d, want %d", off, len(stream))
		}
		stream = append(stream, p...)
		if rng.IntN(3) == 0 || int64(len(stream)) >= total || w.End() == w.Capacity() {
			end, err := w.Flush()
			if err != nil {
				t.Fatal(err)
			}
			if end%sb != 0 || end < int64(len(stream)) || end-int64(len(stream)) >= sb {
				t.Fatalf("flush: end %d for %d bytes, stripe %d", end, len(stream), sb)
			}
			stream = append(stream, make([]byte, end-int64(len(stream)))...)
			if end == w.Capacity() {
				break
			}
		}
	}
	return stream
}

// check reads [off, off+n) and compares it with the stream.
func check(t *testing.T, r *Reader, stream []byte, off, n int64) stripe.Report {
	t.Helper()
	p := make([]byte, n)
	rep, err := r.ReadAt(p, off)
	if err != nil {
		t.Fatalf("read [%d, %d): %v (report %v)", off, off+n, err, rep)
	}
	if !bytes.Equal(p, stream[off:off+n]) {
		t.Fatalf("read [%d, %d): wrong data (report %v)", off, off+n, rep)
	}
	return rep
}

func randomRange(rng *rand.Rand, size int64) (int64, int64) {
	off := rng.Int64N(size)
	n := rng.Int64N(size - off + 1)
	if rng.IntN(2) == 0 {
		n = min(n, rng.Int64N(3*BlockPayload))
	}
	return off, n
}

var layouts = []stripe.Layout{
	{N: 4, K: 2, Unit: 16 << 10},
	{N: 2, K: 1, Unit: 64 << 10},
	{N: 1, K: 2, Unit: 16 << 10},
	{N: 3, K: 0, Unit: 16 << 10},
}

func TestRoundTrip(t *testing.T) {
	for li, l := range layouts {
		t.Run(l.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(li), 1))
			segSize := int64(4096 + 12*l.Unit + 4096)
			set, _ := testSet(t, l, segSize, 1, uint64(li))
			stream := write(t, set, rng, 12*StripeBytes(l))
			if int64(len(stream)) != 12*StripeBytes(l) {
				t.Fatalf("stream %d bytes, want the whole set (%d)", len(stream), 12*StripeBytes(l))
			}
			r := Open(set, int64(len(stream)))
			if rep := check(t, r, stream, 0, int64(len(stream))); !isClean(rep) {
				t.Fatalf("clean read reported %v", rep)
			}
			for range 300 {
				off, n := randomRange(rng, int64(len(stream)))
				if rep := check(t, r, stream, off, n); !isClean(rep) {
					t.Fatalf("clean read reported %v", rep)
				}
			}
			// Out of range.
			p := make([]byte, 10)
			if _, err := r.ReadAt(p, int64(len(stream))-5); !errors.Is(err, ErrRange) {
				t.Fatalf("read past end: %v", err)
			}
			if _, err := r.ReadAt(p, -1); !errors.Is(err, ErrRange) {
				t.Fatalf("read at -1: %v", err)
			}
		})
	}
}

func isClean(r stripe.Report) bool {
	return len(r.Missing)+len(r.Corrupt)+len(r.Rebuilt)+len(r.Mismatch) == 0
}

// TestPartialStream: a stream end short of what was written.
func TestPartialStream(t *testing.T) {
	l := stripe.Layout{N: 2, K: 1, Unit: 16 << 10}
	set, _ := testSet(t, l, 1<<20, 1, 7)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("plinth"), 10000)
	if _, err := w.Append(data); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := Open(set, int64(len(data)))
	check(t, r, data, 0, int64(len(data)))
	if _, err := r.ReadAt(make([]byte, 1), int64(len(data))); !errors.Is(err, ErrRange) {
		t.Fatalf("read past end: %v", err)
	}
	// Appending after the flush starts at the next stripe.
	off, err := w.Append([]byte("x"))
	if err != nil || off%StripeBytes(l) != 0 || off < int64(len(data)) {
		t.Fatalf("append after flush at %d, %v", off, err)
	}
}

func TestFull(t *testing.T) {
	l := stripe.Layout{N: 2, K: 1, Unit: 16 << 10}
	set, _ := testSet(t, l, 4096+4*int64(l.Unit), 1, 8)
	for i := range set.Members {
		set.Members[i].Loc.Capacity = 4096 + 3*int64(l.Unit) + 100 + int64(i)*4096
	}
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	if w.Capacity() != 3*StripeBytes(l) {
		t.Fatalf("capacity %d, want %d", w.Capacity(), 3*StripeBytes(l))
	}
	if _, err := w.Append(make([]byte, w.Capacity()+1)); !errors.Is(err, ErrFull) {
		t.Fatalf("append past capacity: %v", err)
	}
	if _, err := w.Append(make([]byte, w.Capacity())); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte{1}); !errors.Is(err, ErrFull) {
		t.Fatalf("append to a full set: %v", err)
	}
}

// unitDevOffset is the device offset of member i's unit of stripe s.
func unitDevOffset(set Set, i int, s int64) int64 {
	return set.Members[i].Loc.Start + 4096 + s*int64(set.Layout.Unit)
}

func TestFailedMember(t *testing.T) {
	for li, l := range layouts[:3] {
		for bad := range l.Members() {
			for _, how := range []string{"rate", "range", "nil"} {
				t.Run(fmt.Sprintf("%s/member%d/%s", l, bad, how), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(li), uint64(bad)))
					segSize := int64(4096 + 6*l.Unit)
					set, fds := testSet(t, l, segSize, 3, uint64(li))
					stream := write(t, set, rng, 5*StripeBytes(l))
					rset := set
					switch how {
					case "rate":
						fds[bad].FailRate(faultdev.OpRead, 1)
					case "range":
						fds[bad].FailRange(faultdev.OpRead, segSize, segSize)
					case "nil":
						rset.Members = slices.Clone(set.Members)
						rset.Members[bad].Loc.Dev = nil
					}
					r := Open(rset, int64(len(stream)))
					rep := check(t, r, stream, 0, int64(len(stream)))
					if bad < l.N {
						if !slices.Equal(rep.Missing, []int{bad}) || !slices.Equal(rep.Rebuilt, []int{bad}) || len(rep.Corrupt) != 0 {
							t.Fatalf("report %v, want member %d missing and rebuilt", rep, bad)
						}
					} else if !isClean(rep) {
						// A normal read touches no parity unit.
						t.Fatalf("report %v, want clean", rep)
					}
					for range 50 {
						off, n := randomRange(rng, int64(len(stream)))
						rep := check(t, r, stream, off, n)
						if len(rep.Rebuilt) > 0 && !slices.Equal(rep.Rebuilt, []int{bad}) {
							t.Fatalf("report %v", rep)
						}
					}
				})
			}
		}
	}
}

func TestBitRotData(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(5, 5))
	segSize := int64(4096 + 8*l.Unit)
	set, fds := testSet(t, l, segSize, 1, 5)
	stream := write(t, set, rng, 8*StripeBytes(l))
	r := Open(set, int64(len(stream)))
	for range 40 {
		s := rng.Int64N(8)
		d := rng.IntN(l.N)
		j := rng.IntN(l.Unit / BlockSize)
		at := rng.IntN(BlockSize) // payload or tag
		fds[d].CorruptAt(unitDevOffset(set, d, s) + int64(j)*BlockSize + int64(at))
		b := (s*int64(l.N)+int64(d))*int64(l.Unit/BlockSize) + int64(j)
		// A read of just that block, then of a range around it.
		rep := check(t, r, stream, b*BlockPayload, BlockPayload)
		if !slices.Equal(rep.Corrupt, []int{d}) || !slices.Equal(rep.Rebuilt, []int{d}) || len(rep.Missing) != 0 {
			t.Fatalf("report %v, want member %d corrupt and rebuilt", rep, d)
		}
		lo := max(0, b*BlockPayload-int64(rng.IntN(20000)))
		hi := min(int64(len(stream)), (b+1)*BlockPayload+int64(rng.IntN(20000)))
		rep = check(t, r, stream, lo, hi-lo)
		if !slices.Contains(rep.Corrupt, d) {
			t.Fatalf("report %v, want member %d corrupt", rep, d)
		}
		// Repair in place, as a scrub would, so that flips do not pile up
		// past what the code corrects.
		rewrite(t, set, stream)
	}
}

func TestBitRotParity(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(6, 6))
	segSize := int64(4096 + 4*l.Unit)
	set, fds := testSet(t, l, segSize, 1, 6)
	stream := write(t, set, rng, 4*StripeBytes(l))
	for s := range int64(4) {
		fds[4].CorruptAt(unitDevOffset(set, 4, s) + rng.Int64N(int64(l.Unit)))
	}
	r := Open(set, int64(len(stream)))
	if rep := check(t, r, stream, 0, int64(len(stream))); !isClean(rep) {
		t.Fatalf("report %v, want clean", rep)
	}
	// With a data member gone too, the rebuild must not trust parity unit
	// 4: the first choice (unit 4) fails the tags, unit 5 works.
	fds[1].FailRate(faultdev.OpRead, 1)
	rep := check(t, r, stream, 0, int64(len(stream)))
	if !slices.Equal(rep.Missing, []int{1}) || !slices.Equal(rep.Rebuilt, []int{1}) || !slices.Equal(rep.Corrupt, []int{4}) {
		t.Fatalf("report %v, want 1 missing and rebuilt, 4 corrupt", rep)
	}
	// A third bad unit is one too many.
	fds[5].FailRate(faultdev.OpRead, 1)
	_, err := r.ReadAt(make([]byte, 100), int64(l.Unit/BlockSize)*BlockPayload+5) // in data unit 1
	if !errors.Is(err, stripe.ErrUnrecoverable) {
		t.Fatalf("read with 3 bad units: %v", err)
	}
}

func TestTooManyFailed(t *testing.T) {
	for li, l := range layouts[:3] {
		t.Run(l.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(li), 9))
			set, fds := testSet(t, l, int64(4096+4*l.Unit), 1, uint64(li))
			stream := write(t, set, rng, 4*StripeBytes(l))
			r := Open(set, int64(len(stream)))
			// Fail K+1 members, data member 0 among them.
			for i := 0; i <= l.K; i++ {
				fds[(i*2)%l.Members()].FailRate(faultdev.OpRead, 1)
			}
			for range 20 {
				s := rng.Int64N(4)
				p := make([]byte, 1+rng.IntN(3*BlockPayload))
				off := s * StripeBytes(l) // starts in data unit 0
				p = p[:min(int64(len(p)), int64(len(stream))-off)]
				got := slices.Clone(p)
				_, err := r.ReadAt(got, off)
				if !errors.Is(err, stripe.ErrUnrecoverable) {
					t.Fatalf("read with %d bad members: %v", l.K+1, err)
				}
			}
		})
	}
}

// TestCorruptBeyondK: flips in K+1 data units of one stripe are an error,
// never wrong data.
func TestCorruptBeyondK(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(10, 10))
	set, fds := testSet(t, l, int64(4096+2*l.Unit), 1, 10)
	stream := write(t, set, rng, 2*StripeBytes(l))
	for d := 0; d < 3; d++ {
		fds[d].CorruptAt(unitDevOffset(set, d, 1) + 100)
	}
	r := Open(set, int64(len(stream)))
	check(t, r, stream, 0, StripeBytes(l)) // stripe 0 is intact
	if _, err := r.ReadAt(make([]byte, StripeBytes(l)), StripeBytes(l)); !errors.Is(err, stripe.ErrUnrecoverable) {
		t.Fatalf("read of a stripe with 3 corrupt units: %v", err)
	}
}

func TestStale(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(11, 11))
	segSize := int64(4096 + 4*l.Unit)
	set1, fds := testSet(t, l, segSize, 1, 11)
	write(t, set1, rng, 4*StripeBytes(l))
	// Keep member 2's unit of stripe 1 from generation 1.
	old := make([]byte, l.Unit)
	if _, err := fds[2].ReadAt(old, unitDevOffset(set1, 2, 1)); err != nil {
		t.Fatal(err)
	}
	// Generation 2 of the same segments writes two stripes only.
	set2 := withGen(set1, 2)
	stream := write(t, set2, rng, 2*StripeBytes(l))
	if int64(len(stream)) > 2*StripeBytes(l)+StripeBytes(l) {
		t.Fatalf("stream %d", len(stream))
	}
	stream = stream[:2*StripeBytes(l)]
	// A lost write: member 2's unit of stripe 1 is still the old one.
	if _, err := fds[2].WriteAt(old, unitDevOffset(set1, 2, 1)); err != nil {
		t.Fatal(err)
	}
	r := Open(set2, int64(len(stream)))
	rep := check(t, r, stream, 0, int64(len(stream)))
	if !slices.Equal(rep.Corrupt, []int{2}) || !slices.Equal(rep.Rebuilt, []int{2}) {
		t.Fatalf("report %v, want member 2 corrupt and rebuilt", rep)
	}
	// Reading generation 1's stripes 2 and 3 as generation 2's: every unit
	// is stale; an error, never the old data.
	r = Open(set2, 4*StripeBytes(l))
	if _, err := r.ReadAt(make([]byte, 10), 3*StripeBytes(l)); !errors.Is(err, stripe.ErrUnrecoverable) {
		t.Fatalf("read of a stale stripe: %v", err)
	}
	// And generation 1 no longer reads generation 2's stripe 0.
	r = Open(set1, 4*StripeBytes(l))
	if _, err := r.ReadAt(make([]byte, 10), 0); !errors.Is(err, stripe.ErrUnrecoverable) {
		t.Fatalf("read of stripe 0 as generation 1: %v", err)
	}
}

func TestWriteFailure(t *testing.T) {
	l := stripe.Layout{N: 2, K: 1, Unit: 16 << 10}
	set, fds := testSet(t, l, int64(4096+4*l.Unit), 1, 12)
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	// K+1 members failing: one more than the stripes can do without.
	fds[1].FailRate(faultdev.OpWrite, 1)
	fds[2].FailRate(faultdev.OpWrite, 1)
	// A stripe's writes run while the next stripe fills: their failure is
	// reported by the next stripe's write or by Flush, before anything is
	// called durable.
	if _, err := w.Append(make([]byte, StripeBytes(l))); err != nil && !errors.Is(err, ErrBroken) {
		t.Fatalf("append with a failing member: %v", err)
	}
	if _, err := w.Flush(); !errors.Is(err, ErrBroken) {
		t.Fatalf("flush after a failed stripe write: %v", err)
	}
	if _, err := w.Append([]byte{1}); !errors.Is(err, ErrBroken) {
		t.Fatalf("append to a broken writer: %v", err)
	}
	fds[1].ClearFaults()
	fds[2].ClearFaults()
	fds[0].FailRate(faultdev.OpFlush, 1)
	_, err = Create(withGen(set, 2))
	if err == nil {
		t.Fatal("create with a failing flush succeeded")
	}
}

func TestInvalidSet(t *testing.T) {
	l := stripe.Layout{N: 2, K: 1, Unit: 16 << 10}
	set, _ := testSet(t, l, int64(4096+4*l.Unit), 1, 13)
	bad := set
	bad.Members = set.Members[:2]
	if _, err := Create(bad); !errors.Is(err, ErrSet) {
		t.Fatalf("create with 2 members: %v", err)
	}
	bad.Members = slices.Clone(set.Members)
	bad.Members[2].Loc.Dev = bad.Members[0].Loc.Dev
	if _, err := Create(bad); !errors.Is(err, ErrSet) {
		t.Fatalf("create with a shared device: %v", err)
	}
	bad.Members = slices.Clone(set.Members)
	bad.Members[1].Loc.Dev = nil
	if _, err := Create(bad); !errors.Is(err, ErrSet) {
		t.Fatalf("create with no device: %v", err)
	}
	if _, err := Open(set, 1<<40).ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrSet) {
		t.Fatalf("open past capacity: %v", err)
	}
}

// rewrite writes stream into set afresh (a new use of its members), as a
// repair of the whole set would.
func rewrite(t *testing.T, set Set, stream []byte) {
	t.Helper()
	w, err := Create(set)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(stream); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}
