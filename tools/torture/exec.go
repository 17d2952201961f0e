package torture

import (
	"math/rand/v2"
	"time"

	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/io/faultdev"
)

// exec runs one operation against the node and the model.
func (ru *runner) exec(o Op) {
	switch o.Kind {
	case OpCreateBucket:
		ru.createBucket(o)
	case OpDeleteBucket:
		ru.deleteBucket(o)
	case OpPut:
		ru.put(o)
	case OpGet:
		ru.get(o)
	case OpDelete:
		ru.deleteObject(o)
	case OpList:
		ru.list(o)
	case OpReplay:
		ru.replay(o)
	case OpStale:
		ru.stale(o)
	case OpTieDelete:
		ru.tieDelete(o)
	case OpCreateIndex:
		ru.createIndex(o)
	case OpDropIndex:
		ru.dropIndex(o)
	case OpBatch:
		ru.batch(o)
	case OpKVGet:
		ru.kvGet(o)
	case OpRange:
		ru.rangeCheck(o)
	case OpKVReplay:
		ru.kvReplay(o)
	case OpCheckpoint:
		ru.background("checkpoint", ru.r.srv.Checkpoint())
	case OpClean:
		_, err := ru.r.srv.CleanNow(bg, 4)
		ru.background("clean", err)
	case OpScrub:
		ru.scrub()
	case OpRebuild:
		ru.r.srv.HealthNow()
		for _, st := range ru.r.srv.RebuildNow(bg) {
			if st.LastError != "" {
				ru.tracef("     rebuild of %s: %s", st.Pool, st.LastError)
			}
		}
	case OpRestart:
		ru.reboot(false)
	default:
		ru.fault(o)
	}
}

// background work may fail under faults; that is not a broken promise
// (what it protects is checked by the reads and the checkers).
func (ru *runner) background(what string, err error) {
	if err != nil && !ru.powerOff(err) {
		ru.tracef("     %s: %v", what, err)
	}
}

func (ru *runner) scrub() {
	for _, st := range ru.r.srv.ScrubNow(bg) {
		if st.LastError != "" {
			ru.tracef("     scrub of %s: %s", st.Pool, st.LastError)
		}
		if st.Unrecoverable > 0 && !ru.cfg.Exceed && !ru.r.rail.peek() {
			ru.res.fail("scrub of %s found %d unrecoverable stripes within the layout's promise", st.Pool, st.Unrecoverable)
		}
	}
	ru.background("repair", ru.r.srv.RepairNow(bg))
}

// list pages through a bucket and compares it with the model.
func (ru *runner) list(o Op) {
	bname := bucketName(o.Bucket)
	ok, _ := ru.bucketUsable(bname)
	if !ok {
		return
	}
	got, err := ru.listAll(bname, o.Count)
	if err != nil {
		ru.readError("list "+bname, err)
		return
	}
	ru.compareListing("bucket "+bname, ru.m.bucket(bname), got)
}

func (ru *runner) listAll(bname string, page int) ([]string, error) {
	var got []string
	opts := objects.ListOptions{Limit: page}
	for range 10000 {
		res, err := ru.r.srv.Objects().List(bg, bname, opts)
		if err != nil {
			return nil, err
		}
		for _, oi := range res.Objects {
			got = append(got, oi.Key)
		}
		if !res.Truncated {
			return got, nil
		}
		opts.Token = res.NextToken
	}
	ru.res.fail("listing %s does not end", bname)
	return got, nil
}

// fault injects a fault.
func (ru *runner) fault(o Op) {
	r := ru.r
	victim := func() *drive { return r.drives[ru.victims[o.Drive%len(ru.victims)]] }
	switch o.Kind {
	case OpPowerCut:
		// Counted when it strikes (a later arming replaces it).
		r.rail.arm(o.Count, faultdev.CutMode(o.Mode&1))
	case OpLoseDrive:
		d := victim()
		if d.lost {
			return
		}
		ru.res.Faults[DriveLoss]++
		d.lost = true
		d.apply()
	case OpEIO:
		ru.res.Faults[EIO]++
		d := victim()
		d.eio = o.Rate
		d.apply()
	case OpMisdirect:
		ru.res.Faults[Misdirect]++
		d := victim()
		d.misdirect = o.Rate
		d.apply()
	case OpLatency:
		ru.res.Faults[Latency]++
		d := r.drives[o.Drive%len(r.drives)]
		d.slow = time.Duration(100+o.Drive%3*200) * time.Microsecond
		d.apply()
	case OpBitFlip:
		ru.res.Faults[BitFlip]++
		rng := rand.New(rand.NewPCG(ru.cfg.Seed, uint64(ru.idx)))
		r.flip(rng, ru.victims[o.Drive%len(ru.victims)], o.At, o.Count)
	case OpHeal:
		for _, d := range r.drives {
			d.eio, d.misdirect, d.slow = 0, 0, 0
			d.apply()
		}
	}
}
