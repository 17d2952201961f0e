package datalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/faultdev"
	"github.com/plinth-storage/plinth/stripe"
)

// readSeq reads q to its end or first error with reads of random sizes,
// checking that no Read returns more than asked or bytes with an error.
func readSeq(t *testing.T, q *Sequential, rng *rand.Rand) ([]byte, error) {
	t.Helper()
	var got []byte
	for {
		var p []byte
		switch rng.IntN(4) {
		case 0:
			p = make([]byte, 1+rng.IntN(16))
		case 1:
			p = make([]byte, 1+rng.IntN(3*BlockPayload))
		case 2:
			p = make([]byte, 1+rng.IntN(256<<10))
		default:
			p = make([]byte, 1<<20)
		}
		n, err := q.Read(p)
		if n < 0 || n > len(p) {
			t.Fatalf("Read returned %d of %d", n, len(p))
		}
		if n > 0 && err != nil {
			t.Fatalf("Read returned %d bytes and %v", n, err)
		}
		got = append(got, p[:n]...)
		if err != nil {
			return got, err
		}
		if n == 0 {
			t.Fatal("Read returned 0, nil")
		}
	}
}

// checkSeq reads [off, off+n) sequentially and compares it with the
// stream and the Report with ReadAt's for the same range.
func checkSeq(t *testing.T, r *Reader, stream []byte, off, n int64, depth int, rng *rand.Rand) stripe.Report {
	t.Helper()
	q := r.NewSequential(off, n, SeqOptions{Depth: depth})
	defer q.Close()
	got, err := readSeq(t, q, rng)
	if err != io.EOF {
		t.Fatalf("sequential [%d, %d) depth %d: %v after %d bytes (report %v)", off, off+n, depth, err, len(got), q.Report())
	}
	if !bytes.Equal(got, stream[off:off+n]) {
		t.Fatalf("sequential [%d, %d) depth %d: wrong data (%d bytes)", off, off+n, depth, len(got))
	}
	if n2, err := q.Read(make([]byte, 10)); n2 != 0 || err != io.EOF {
		t.Fatalf("read after the end: %d, %v", n2, err)
	}
	rep := q.Report()
	want := check(t, r, stream, off, n)
	if !sameReport(rep, want) {
		t.Fatalf("sequential [%d, %d): report %v, ReadAt's %v", off, off+n, rep, want)
	}
	return rep
}

func sameReport(a, b stripe.Report) bool {
	return slices.Equal(a.Missing, b.Missing) && slices.Equal(a.Corrupt, b.Corrupt) &&
		slices.Equal(a.Rebuilt, b.Rebuilt) && slices.Equal(a.Mismatch, b.Mismatch)
}

// seqRange picks a range biased to stripe and unit boundaries and to the
// stream's ends.
func seqRange(rng *rand.Rand, l stripe.Layout, size int64) (int64, int64) {
	pick := func() int64 {
		ub := int64(l.Unit/BlockSize) * BlockPayload
		switch rng.IntN(5) {
		case 0:
			return rng.Int64N(size/StripeBytes(l)+1) * StripeBytes(l)
		case 1:
			return rng.Int64N(size/ub+1)*ub + rng.Int64N(3) - 1
		case 2:
			return rng.Int64N(size/BlockPayload+1)*BlockPayload + rng.Int64N(3) - 1
		default:
			return rng.Int64N(size + 1)
		}
	}
	a, b := min(max(pick(), 0), size), min(max(pick(), 0), size)
	if a > b {
		a, b = b, a
	}
	return a, b - a
}

func TestSequential(t *testing.T) {
	for li, l := range layouts {
		t.Run(l.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(li), 31))
			segSize := int64(4096 + 12*l.Unit + 4096)
			set, _ := testSet(t, l, segSize, 1, uint64(li))
			stream := write(t, set, rng, 12*StripeBytes(l))
			// The stream ends mid-stripe (and mid-block) as often as not.
			end := int64(len(stream))
			if rng.IntN(2) == 0 {
				end -= 1 + rng.Int64N(StripeBytes(l)-1)
			}
			stream = stream[:end]
			r := Open(set, end)
			for _, depth := range []int{0, 1, 2, 3, 8} {
				if rep := checkSeq(t, r, stream, 0, end, depth, rng); !isClean(rep) {
					t.Fatalf("clean read reported %v", rep)
				}
			}
			for range 100 {
				off, n := seqRange(rng, l, end)
				if rep := checkSeq(t, r, stream, off, n, rng.IntN(10), rng); !isClean(rep) {
					t.Fatalf("clean read reported %v", rep)
				}
			}
			// io.ReadAll, io.Copy and a reader left unread to the end.
			q := r.NewSequential(1, end-1, SeqOptions{})
			got, err := io.ReadAll(q)
			if err != nil || !bytes.Equal(got, stream[1:]) {
				t.Fatalf("ReadAll: %d bytes, %v", len(got), err)
			}
			q.Close()
			q = r.NewSequential(0, end, SeqOptions{Depth: 4})
			p := make([]byte, min(end, 5000))
			if _, err := io.ReadFull(q, p); err != nil || !bytes.Equal(p, stream[:len(p)]) {
				t.Fatalf("ReadFull: %v", err)
			}
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSequentialRange(t *testing.T) {
	l := stripe.Layout{N: 2, K: 1, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(32, 32))
	set, _ := testSet(t, l, int64(4096+4*l.Unit), 1, 32)
	stream := write(t, set, rng, 4*StripeBytes(l))
	end := int64(len(stream)) - 100
	r := Open(set, end)
	for _, c := range []struct{ off, n int64 }{{-1, 10}, {0, end + 1}, {end - 5, 6}, {end + 1, 0}, {5, -1}} {
		q := r.NewSequential(c.off, c.n, SeqOptions{})
		if n, err := q.Read(make([]byte, 10)); n != 0 || !errors.Is(err, ErrRange) {
			t.Fatalf("[%d, +%d): %d, %v", c.off, c.n, n, err)
		}
		q.Close()
	}
	for _, off := range []int64{0, 7, end} {
		q := r.NewSequential(off, 0, SeqOptions{})
		if n, err := q.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("empty range at %d: %d, %v", off, n, err)
		}
		q.Close()
	}
	q := r.NewSequential(end-5, 5, SeqOptions{})
	if n, err := q.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil): %d, %v", n, err)
	}
	q.Close()
	q = Open(set, 1<<40).NewSequential(0, 10, SeqOptions{})
	if _, err := q.Read(make([]byte, 10)); !errors.Is(err, ErrSet) {
		t.Fatalf("invalid set: %v", err)
	}
	q.Close()
}

func TestSequentialFailedMember(t *testing.T) {
	for li, l := range layouts[:3] {
		for bad := range l.Members() {
			for _, how := range []string{"rate", "nil"} {
				t.Run(fmt.Sprintf("%s/member%d/%s", l, bad, how), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(li), uint64(bad)+33))
					set, fds := testSet(t, l, int64(4096+6*l.Unit), 3, uint64(li))
					stream := write(t, set, rng, 5*StripeBytes(l))
					end := int64(len(stream)) - rng.Int64N(StripeBytes(l))
					stream = stream[:end]
					rset := set
					switch how {
					case "rate":
						fds[bad].FailRate(faultdev.OpRead, 1)
					case "nil":
						rset.Members = slices.Clone(set.Members)
						rset.Members[bad].Loc.Dev = nil
					}
					r := Open(rset, end)
					rep := checkSeq(t, r, stream, 0, end, 0, rng)
					if bad < l.N {
						if !slices.Equal(rep.Missing, []int{bad}) || !slices.Equal(rep.Rebuilt, []int{bad}) || len(rep.Corrupt) != 0 {
							t.Fatalf("report %v, want member %d missing and rebuilt", rep, bad)
						}
					} else if !isClean(rep) {
						t.Fatalf("report %v, want clean", rep)
					}
					for range 20 {
						off, n := seqRange(rng, l, end)
						checkSeq(t, r, stream, off, n, rng.IntN(6), rng)
					}
				})
			}
		}
	}
}

func TestSequentialBitRot(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(34, 34))
	set, fds := testSet(t, l, int64(4096+8*l.Unit), 1, 34)
	stream := write(t, set, rng, 8*StripeBytes(l))
	r := Open(set, int64(len(stream)))
	for range 30 {
		s := rng.Int64N(8)
		d := rng.IntN(l.N)
		j := rng.IntN(l.Unit / BlockSize)
		fds[d].CorruptAt(unitDevOffset(set, d, s) + int64(j)*BlockSize + rng.Int64N(BlockSize))
		if rng.IntN(2) == 0 { // and a parity unit of the same stripe
			fds[4].CorruptAt(unitDevOffset(set, 4, s) + rng.Int64N(int64(l.Unit)))
		}
		b := (s*int64(l.N)+int64(d))*int64(l.Unit/BlockSize) + int64(j)
		lo := max(0, b*BlockPayload-rng.Int64N(3*StripeBytes(l)))
		hi := min(int64(len(stream)), (b+1)*BlockPayload+rng.Int64N(3*StripeBytes(l)))
		rep := checkSeq(t, r, stream, lo, hi-lo, rng.IntN(6), rng)
		if !slices.Contains(rep.Corrupt, d) || !slices.Equal(rep.Rebuilt, []int{d}) {
			t.Fatalf("report %v, want member %d corrupt and rebuilt", rep, d)
		}
		// Repair, as a scrub would.
		rewrite(t, set, stream)
	}
	// Flips on every read of member 2: each read is rebuilt.
	fds[2].FlipOnReadRate(1)
	rep := checkSeq(t, r, stream, 0, int64(len(stream)), 0, rng)
	if !slices.Equal(rep.Corrupt, []int{2}) || !slices.Equal(rep.Rebuilt, []int{2}) {
		t.Fatalf("report %v, want member 2 corrupt and rebuilt", rep)
	}
}

// TestSequentialUnrecoverable: K+1 bad data units in one stripe fail the
// read at the first of them, after every byte before it, correct.
func TestSequentialUnrecoverable(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(35, 35))
	set, fds := testSet(t, l, int64(4096+6*l.Unit), 1, 35)
	stream := write(t, set, rng, 6*StripeBytes(l))
	end := int64(len(stream)) - 1000
	stream = stream[:end]
	const s = 3
	ds := []int{1, 2, 3} // data unit 0 of stripe 3 is intact
	for _, d := range ds {
		fds[d].CorruptAt(unitDevOffset(set, d, s) + rng.Int64N(int64(l.Unit)))
	}
	ub := int64(l.Unit/BlockSize) * BlockPayload
	failAt := s*StripeBytes(l) + ub // where data unit 1 of stripe 3 starts
	r := Open(set, end)
	for i := range 30 {
		off := rng.Int64N(failAt)
		if i == 0 {
			off = 0
		}
		n := failAt - off + 1 + rng.Int64N(end-failAt)
		q := r.NewSequential(off, n, SeqOptions{Depth: rng.IntN(12)})
		got, err := readSeq(t, q, rng)
		if !errors.Is(err, stripe.ErrUnrecoverable) {
			t.Fatalf("[%d, %d): %v after %d bytes", off, off+n, err, len(got))
		}
		if off+int64(len(got)) != failAt || !bytes.Equal(got, stream[off:failAt]) {
			t.Fatalf("[%d, %d): %d bytes before the error, want %d, correct", off, off+n, len(got), failAt-off)
		}
		if _, err2 := q.Read(make([]byte, 10)); !errors.Is(err2, stripe.ErrUnrecoverable) {
			t.Fatalf("read after the error: %v", err2)
		}
		if rep := q.Report(); !slices.Equal(rep.Corrupt, ds) {
			t.Fatalf("report %v, want members %v corrupt", rep, ds)
		}
		q.Close()
	}
	// A range past the bad stripe reads.
	checkSeq(t, r, stream, (s+1)*StripeBytes(l), end-(s+1)*StripeBytes(l), 0, rng)
	// K+1 members gone: the first read fails.
	for i := 0; i <= l.K; i++ {
		fds[i*2].FailRate(faultdev.OpRead, 1)
	}
	q := r.NewSequential(10, 100, SeqOptions{})
	if n, err := q.Read(make([]byte, 100)); n != 0 || !errors.Is(err, stripe.ErrUnrecoverable) {
		t.Fatalf("read with %d members failing: %d, %v", l.K+1, n, err)
	}
	q.Close()
}

// gate counts the reads of a set's devices and holds each at a device
// offset from from on until it gets a permit.
type gate struct {
	permits chan struct{}
	from    int64
	mu      sync.Mutex
	started int
	active  int
	peak    int
}

type gatedDev struct {
	dev.Device
	g *gate
}

func (d gatedDev) ReadAt(p []byte, off int64) (int, error) {
	g := d.g
	g.mu.Lock()
	g.started++
	g.active++
	g.peak = max(g.peak, g.active)
	g.mu.Unlock()
	if off >= g.from {
		<-g.permits
	}
	defer func() {
		g.mu.Lock()
		g.active--
		g.mu.Unlock()
	}()
	return d.Device.ReadAt(p, off)
}

func (g *gate) counts() (started, active, peak int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started, g.active, g.peak
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func gatedSet(set Set, g *gate) Set {
	set.Members = slices.Clone(set.Members)
	for i := range set.Members {
		set.Members[i].Loc.Dev = gatedDev{set.Members[i].Loc.Dev, g}
	}
	return set
}

// TestSequentialDepth: the read-ahead fills to Depth reads and never
// passes it.
func TestSequentialDepth(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(36, 36))
	set, _ := testSet(t, l, int64(4096+8*l.Unit), 1, 36)
	stream := write(t, set, rng, 8*StripeBytes(l))
	for _, depth := range []int{1, 3, 6, 13} {
		g := &gate{permits: make(chan struct{}, 1000)}
		r := Open(gatedSet(set, g), int64(len(stream)))
		q := r.NewSequential(0, int64(len(stream)), SeqOptions{Depth: depth})
		waitFor(t, "the read-ahead", func() bool { s, _, _ := g.counts(); return s == depth })
		time.Sleep(10 * time.Millisecond)
		if s, _, _ := g.counts(); s != depth {
			t.Fatalf("depth %d: %d reads started", depth, s)
		}
		for range 1000 {
			g.permits <- struct{}{}
		}
		got, err := io.ReadAll(q)
		if err != nil || !bytes.Equal(got, stream) {
			t.Fatalf("depth %d: %d bytes, %v", depth, len(got), err)
		}
		if s, _, peak := g.counts(); peak > depth || s != 8*l.N {
			t.Fatalf("depth %d: peak %d reads in flight, %d reads", depth, peak, s)
		}
		q.Close()
	}
}

// TestSequentialWindow: with nothing consumed, reads stop when the
// window is full; each consumed read makes room for one more.
func TestSequentialWindow(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(38, 38))
	set, _ := testSet(t, l, int64(4096+8*l.Unit), 1, 38)
	stream := write(t, set, rng, 8*StripeBytes(l))
	for _, c := range []struct{ depth, window, want int }{{2, 5, 5}, {3, 0, 6}, {4, 3, 8}, {0, 0, 2 * DefaultDepth}} {
		g := &gate{permits: make(chan struct{}), from: 1 << 62}
		r := Open(gatedSet(set, g), int64(len(stream)))
		q := r.NewSequential(0, int64(len(stream)), SeqOptions{Depth: c.depth, Window: c.window})
		waitFor(t, "the window to fill", func() bool { s, _, _ := g.counts(); return s == c.want })
		time.Sleep(10 * time.Millisecond)
		if s, _, peak := g.counts(); s != c.want || peak > max(c.depth, 1) && c.depth > 0 {
			t.Fatalf("%+v: %d reads, peak %d in flight", c, s, peak)
		}
		p := make([]byte, (l.Unit/BlockSize)*BlockPayload) // one read's bytes
		if _, err := io.ReadFull(q, p); err != nil || !bytes.Equal(p, stream[:len(p)]) {
			t.Fatalf("%+v: %v", c, err)
		}
		waitFor(t, "one more read", func() bool { s, _, _ := g.counts(); return s == c.want+1 })
		q.Close()
	}
}

// TestSequentialClose: Close mid-stream, with reads in flight, waits for
// them, starts no more and leaves no goroutine behind.
func TestSequentialClose(t *testing.T) {
	l := stripe.Layout{N: 4, K: 2, Unit: 16 << 10}
	rng := rand.New(rand.NewPCG(37, 37))
	set, fds := testSet(t, l, int64(4096+8*l.Unit), 1, 37)
	stream := write(t, set, rng, 8*StripeBytes(l))
	goroutines := runtime.NumGoroutine()
	for _, degraded := range []bool{false, true} {
		// The reads of stripe 0 pass, the next ones wait.
		g := &gate{permits: make(chan struct{}, 1000), from: unitDevOffset(set, 0, 1)}
		if degraded {
			fds[1].FailRate(faultdev.OpRead, 1)
		}
		r := Open(gatedSet(set, g), int64(len(stream)))
		q := r.NewSequential(100, int64(len(stream))-200, SeqOptions{Depth: 5})
		// Consume two data units' worth, so that reads are in flight and
		// others done but not consumed.
		p := make([]byte, 2*(l.Unit/BlockSize)*BlockPayload)
		if _, err := io.ReadFull(q, p); err != nil || !bytes.Equal(p, stream[100:100+len(p)]) {
			t.Fatalf("first bytes: %v", err)
		}
		waitFor(t, "blocked reads", func() bool { _, a, _ := g.counts(); return a > 0 })
		closed := make(chan struct{})
		go func() {
			q.Close()
			close(closed)
		}()
		select {
		case <-closed:
			t.Fatal("Close returned with reads in flight")
		case <-time.After(20 * time.Millisecond):
		}
		for range 1000 {
			g.permits <- struct{}{}
		}
		<-closed
		started, active, _ := g.counts()
		if active != 0 {
			t.Fatalf("%d reads in flight after Close", active)
		}
		if n, err := q.Read(p); n != 0 || !errors.Is(err, fs.ErrClosed) {
			t.Fatalf("Read after Close: %d, %v", n, err)
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		if s, _, _ := g.counts(); s != started {
			t.Fatalf("%d reads started after Close", s-started)
		}
		fds[1].ClearFaults()
	}
	// Close with reads slowed by latency, before any Read, and after the
	// end.
	for i := range set.Members {
		fds[i].Latency(faultdev.OpRead, time.Millisecond, time.Millisecond)
	}
	r := Open(set, int64(len(stream)))
	for range 5 {
		r.NewSequential(0, int64(len(stream)), SeqOptions{Depth: 8}).Close()
	}
	q := r.NewSequential(0, 1000, SeqOptions{})
	if _, err := io.ReadAll(q); err != nil {
		t.Fatal(err)
	}
	q.Close()
	// Dropped mid-stream without Close: the read-ahead stops at the
	// window and its goroutines end.
	q = r.NewSequential(0, int64(len(stream)), SeqOptions{Depth: 3})
	if _, err := io.ReadFull(q, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutines })
}
