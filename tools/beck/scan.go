package beck

import (
	"fmt"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/datalog"
	"github.com/plinth-storage/plinth/internal/human"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// maxDamaged bounds the damaged stripes a report lists (all are counted).
const maxDamaged = 100

// scan is phase 4: every set's stream read from its start to its end,
// stripe by stripe (a sequential read keeping every data member busy;
// units that are missing or fail their tags are rebuilt from parity),
// and every record found put in its pool's staging tree. The progress
// record moves in the same commits, so an interrupted scan goes on from
// the last stripe committed.
func (b *rebuild) scan(bar fsck.Bar) (string, error) {
	if b.prog.step > stepScan {
		return "done before the interruption", nil
	}
	var total, done int64
	for i, fs := range b.sets {
		total += fs.end
		if i < b.prog.scanSet {
			done += fs.end
		}
	}
	if b.prog.scanSet < len(b.sets) {
		done += b.prog.scanOff
	}
	resumedAt := done
	bar.Update(done, total)
	start := time.Now()
	for i := b.prog.scanSet; i < len(b.sets); i++ {
		off := int64(0)
		if i == b.prog.scanSet {
			off = b.prog.scanOff
		}
		err := b.scanSet(i, off, func(n int64) {
			done += n
			bar.Update(done, total)
		})
		if err != nil {
			return "", err
		}
	}
	b.prog.step, b.prog.idxPool, b.prog.idxOwner = stepIndex, 0, nil
	if err := b.commitProgress(store.NewBatch()); err != nil {
		return "", err
	}
	secs := time.Since(start).Seconds()
	b.r.ScanSeconds = secs
	if secs > 0 {
		b.r.ScanMBps = float64(done-resumedAt) / secs / 1e6
	}
	c := b.prog.counters
	return fmt.Sprintf("%s of stream in %d sets (%.0f MB/s this run); %d records; %d stripes damaged",
		human.Bytes(total), len(b.sets), b.r.ScanMBps, c.Records, c.DamagedStripes), nil
}

// spanBytes is about how much of each data member one read of the scan
// takes (whole stripes: at least one).
const spanBytes = 2 << 20

// span is some stripes of a set as the scan's readers delivered them.
type span struct {
	first int64 // the first stripe
	p     []byte
	errs  []error // per stripe
	err   error
}

// spansAhead is how many spans the scan reads ahead of the parsing.
const spansAhead = 3

// scanSet scans set number i from stream offset off (a stripe boundary).
// Spans of stripes are read ahead of the parsing, several at once (each
// data member's share of a span in one IO: datalog ReadStripes, whose
// tag checks then overlap the next span's IO), and delivered in order,
// so that the drives stream while records are decoded and staged.
func (b *rebuild) scanSet(i int, off int64, step func(int64)) error {
	fs := b.sets[i]
	sb := datalog.StripeBytes(fs.pool.layout)
	per := max(1, int64(spanBytes/fs.pool.layout.Unit))
	tree := stagingTree(fs.pool.name)
	rd := datalog.Open(fs.dataSet(), fs.end)
	order := make(chan chan span, spansAhead)
	free := make(chan []byte, spansAhead+2)
	for range spansAhead + 2 {
		free <- make([]byte, per*sb)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(order)
		for s := off / sb; s*sb < fs.end; s += per {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			ch := make(chan span, 1)
			select {
			case order <- ch:
			case <-stop:
				return
			}
			n := min(per, fs.end/sb-s)
			go func() {
				_, errs, err := rd.ReadStripes(buf[:n*sb], s)
				ch <- span{first: s, p: buf[:n*sb], errs: errs, err: err}
			}()
		}
	}()
	spans := func(yield func(span) bool) {
		for ch := range order {
			if !yield(<-ch) {
				return
			}
		}
	}
	batch := store.NewBatch()
	staged := 0
	for sp := range spans {
		if sp.err != nil {
			return fmt.Errorf("pool %s set %d: %w", fs.pool.name, fs.id, sp.err)
		}
		for k := range sp.errs {
			if err := b.ctx.Err(); err != nil {
				return err
			}
			at := (sp.first + int64(k)) * sb
			if sp.errs[k] != nil {
				b.damaged(fs, at/sb, sp.errs[k], nil)
				n, err := b.salvageStripe(fs, rd, at/sb, batch)
				if err != nil {
					return err
				}
				staged += n
			} else {
				recs, serr := pool.ScanRecords(sp.p[int64(k)*sb:int64(k+1)*sb], at)
				for j := range recs {
					r := &recs[j]
					batch.Put(tree, stagingKey(r, fs.id), stagingValue(r, fs.id))
				}
				staged += len(recs)
				b.prog.counters.Records += int64(len(recs))
				if serr != nil {
					b.damaged(fs, at/sb, nil, serr)
				}
			}
			b.prog.counters.BytesScanned += sb
			step(sb)
			if staged >= b.o.BatchRecords {
				b.prog.scanSet, b.prog.scanOff = i, at+sb
				if err := b.commitProgress(batch); err != nil {
					return err
				}
				batch, staged = store.NewBatch(), 0
			}
		}
		free <- sp.p[:cap(sp.p)]
	}
	b.prog.scanSet, b.prog.scanOff = i+1, 0
	return b.commitProgress(batch)
}

// damaged records a stripe that could not be read whole, or whose
// records do not all decode: the records before the damage are kept.
func (b *rebuild) damaged(fs *foundSet, s int64, rerr, serr error) {
	b.prog.counters.DamagedStripes++
	why := serr
	if rerr != nil {
		why = rerr
	}
	if len(b.r.Damaged) < maxDamaged {
		b.r.Damaged = append(b.r.Damaged, Damaged{Pool: fs.pool.name, Set: fs.id, Stripe: s, Error: why.Error()})
	}
}

// salvageStripe stages what can be found of a stripe too damaged to be read
// whole: the records in its good blocks, whole, and those whose header is
// good but whose payload is not, as damaged (so that their owners are
// named lost, or restored from another copy, never silently dropped).
func (b *rebuild) salvageStripe(fs *foundSet, rd *datalog.Reader, s int64, batch *store.Batch) (int, error) {
	sb := datalog.StripeBytes(fs.pool.layout)
	p, good, err := rd.SalvageStripe(s)
	if err != nil {
		return 0, fmt.Errorf("pool %s set %d: %w", fs.pool.name, fs.id, err)
	}
	ok := func(lo, hi int64) bool {
		for blk := lo / datalog.BlockPayload; blk*datalog.BlockPayload < hi; blk++ {
			if blk >= int64(len(good)) || !good[blk] {
				return false
			}
		}
		return true
	}
	whole, damaged := pool.SalvageRecords(p, s*sb, ok)
	tree := stagingTree(fs.pool.name)
	for i := range whole {
		r := &whole[i]
		batch.Put(tree, stagingKey(r, fs.id), stagingValue(r, fs.id))
	}
	n := 0
	for i := range damaged {
		if r := &damaged[i]; r.Kind == pool.RecordData {
			batch.Put(tree, stagingKeyRank(r, fs.id, rankDamaged), stagingValue(r, fs.id))
			n++
		}
	}
	b.prog.counters.Records += int64(len(whole) + n)
	if len(b.r.Damaged) > 0 {
		d := &b.r.Damaged[len(b.r.Damaged)-1]
		if d.Set == fs.id && d.Stripe == s {
			d.Salvaged, d.DamagedRecords = len(whole), len(damaged)
		}
	}
	return len(whole) + n, nil
}
