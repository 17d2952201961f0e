package datalog

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/seg"
	"github.com/plinth-storage/plinth/stripe"
)

// RebuildOptions tune RebuildMember. Zero values mean the defaults.
type RebuildOptions struct {
	// Wait, when set, is called before each batch with the bytes the batch
	// reads from the surviving members; it paces the rebuild against the
	// foreground (a rate limiter) and stops it by returning an error.
	Wait func(ctx context.Context, n int) error
	// Progress, when set, is called after each batch with the stripes
	// rebuilt so far and the stripes to rebuild.
	Progress func(done, total int64)
}

// RebuildReport says what a rebuild did and met: the stripes and bytes it
// wrote, and the members its reads found missing, corrupt or rebuilt,
// merged over every stripe (the member being rebuilt is among the
// missing: it is read as lost).
type RebuildReport struct {
	Stripes   int64
	Bytes     int64 // written to the new member
	Survivors stripe.Report
}

// RebuildMember reconstructs member i of set — lost: its device gone,
// failing or untrusted — onto target, a new segment on another drive, for
// the stripes holding the first end bytes of the stream. Each stripe is
// read from the other members and verified as a degraded read is (data
// units by their tags, rebuilt from parity where they fail); a data
// member's unit is then the verified unit itself, tags included, and a
// parity member's is the parity of the verified data. The target must
// therefore have the generation of the member it replaces, so that the
// rebuilt data units are byte for byte the lost ones and the stripes'
// parity still covers them. The target's segment is created (a zoned one
// reset), written in batches of up to 1 MiB, flushed, and its zone
// finished. A stripe that cannot be verified fails the rebuild with an
// error wrapping stripe.ErrUnrecoverable: then nothing of the target may
// be used.
func RebuildMember(ctx context.Context, set Set, i int, target Member, end int64, o RebuildOptions) (RebuildReport, error) {
	var rep RebuildReport
	if i < 0 || i >= len(set.Members) {
		return rep, fmt.Errorf("%w: rebuild member %d of a set of %d", ErrSet, i, len(set.Members))
	}
	if target.Loc.Dev == nil {
		return rep, fmt.Errorf("%w: rebuild member %d: the target has no device", ErrSet, i)
	}
	if target.Generation != set.Members[i].Generation {
		return rep, fmt.Errorf("%w: rebuild member %d: the target's generation %d is not the member's %d (its tags and the stripes' parity would not match)",
			ErrSet, i, target.Generation, set.Members[i].Generation)
	}
	// The reader sees the set without the member rebuilt.
	old := set
	old.Members = append([]Member(nil), set.Members...)
	old.Members[i].Loc.Dev = nil
	r := Open(old, end)
	if r.err != nil {
		return rep, r.err
	}
	// The target's geometry: where its units lie.
	nu := old
	nu.Members = append([]Member(nil), old.Members...)
	nu.Members[i] = target
	tg, err := newGeometry(nu, false)
	if err != nil {
		return rep, err
	}
	g := r.g
	total := (end + g.stripeBytes - 1) / g.stripeBytes
	if total > tg.stripes {
		return rep, fmt.Errorf("%w: rebuild member %d: the target holds %d stripes, the stream %d", ErrSet, i, tg.stripes, total)
	}
	if _, err := seg.Create(target.Loc, seg.Header{Node: target.Node, Drive: target.Drive, Kind: seg.KindData,
		Generation: target.Generation, Set: set.ID}); err != nil {
		return rep, fmt.Errorf("data log set %d: rebuild member %d: create the target segment: %w", set.ID, i, err)
	}
	batch := int64(max(1, batchBytes/g.unit))
	// Two buffers: batch k is written while batch k+1 is read, so the
	// survivors and the target are busy at once rather than in turn. One
	// write is in flight at a time, in order, as a zone takes them.
	bufs := [2][]byte{dev.AlignedBuffer(int(batch) * g.unit), dev.AlignedBuffer(int(batch) * g.unit)}
	var writing chan error // the write in flight, nil when none
	var wrote func()       // what to count once it is done
	waitWrite := func() error {
		if writing == nil {
			return nil
		}
		err := <-writing
		writing = nil
		if err == nil {
			wrote()
		}
		return err
	}
	defer func() { _ = waitWrite() }() // an error return leaves no write running
	var mu sync.Mutex
	for b, first := 0, int64(0); first < total; b, first = b+1, first+batch {
		n := min(batch, total-first)
		if o.Wait != nil {
			if err := o.Wait(ctx, int(n)*g.n*g.unit); err != nil {
				return rep, err
			}
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		buf := bufs[b%2]
		errs := make([]error, n)
		var wg sync.WaitGroup
		for k := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var srep stripe.Report
				u, err := r.memberUnit(first+k, i, &srep)
				if err == nil {
					copy(buf[k*int64(g.unit):(k+1)*int64(g.unit)], u)
				}
				errs[k] = err
				mu.Lock()
				mergeReport(&rep.Survivors, &srep)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return rep, fmt.Errorf("data log set %d: rebuild member %d: %w", set.ID, i, err)
		}
		if err := waitWrite(); err != nil {
			return rep, err
		}
		w := buf[:n*int64(g.unit)]
		op := fmt.Sprintf("rebuild: write stripes %d-%d", first, first+n-1)
		off := tg.unitOffset(i, first)
		writing = make(chan error, 1)
		wrote = func() {
			rep.Stripes += n
			rep.Bytes += int64(len(w))
			if o.Progress != nil {
				o.Progress(rep.Stripes, total)
			}
		}
		go func(ch chan<- error) {
			_, err := target.Loc.Dev.WriteAt(w, off)
			if err != nil {
				err = &MemberError{Set: set.ID, Member: i, Loc: target.Loc, Op: op, Err: err}
			}
			ch <- err
		}(writing)
	}
	if err := waitWrite(); err != nil {
		return rep, err
	}
	if err := target.Loc.Dev.Flush(); err != nil {
		return rep, &MemberError{Set: set.ID, Member: i, Loc: target.Loc, Op: "rebuild: flush", Err: err}
	}
	if target.Loc.Sequential {
		if z, ok := dev.AsZoned(target.Loc.Dev); ok {
			if err := z.FinishZone(target.Loc.Start); err != nil {
				return rep, &MemberError{Set: set.ID, Member: i, Loc: target.Loc, Op: "rebuild: finish zone", Err: err}
			}
		}
	}
	return rep, nil
}

// memberUnit returns member i's unit of stripe s as the stripe's verified
// data gives it: a data unit itself, or the parity computed from them.
func (r *Reader) memberUnit(s int64, i int, rep *stripe.Report) ([]byte, error) {
	data, err := r.degraded(s, rep)
	if err != nil {
		return nil, err
	}
	g := r.g
	if i < g.n {
		return data[i], nil
	}
	full := make([][]byte, g.n+g.k)
	copy(full, data)
	for j := g.n; j < len(full); j++ {
		full[j] = make([]byte, g.unit)
	}
	if err := r.codec.Encode(full); err != nil {
		return nil, fmt.Errorf("stripe %d: encode: %w", s, err)
	}
	return full[i], nil
}
