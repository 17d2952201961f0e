package biolat

import (
	"fmt"
	"math"
	"time"
)

// Op is a class of block request.
type Op int

const (
	Read Op = iota
	Write
	Flush
	Other
	NrOps
)

func (o Op) String() string {
	switch o {
	case Read:
		return "read"
	case Write:
		return "write"
	case Flush:
		return "flush"
	case Other:
		return "other"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Slots is the number of log2 buckets of a histogram.
const Slots = 32

// Hist is a log2 histogram of microseconds: Counts[i] is the requests
// that took [2^i, 2^(i+1)) us (bucket 0 also those under 1 us).
type Hist struct {
	Counts [Slots]uint64
}

// Total is the number of requests counted.
func (h *Hist) Total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile is the upper edge of the bucket holding quantile q (0..1), or
// 0 for an empty histogram.
func (h *Hist) Quantile(q float64) time.Duration {
	total := h.Total()
	if total == 0 {
		return 0
	}
	want := uint64(math.Ceil(q * float64(total)))
	var n uint64
	for i, c := range h.Counts {
		n += c
		if n >= max(want, 1) {
			return time.Duration(1<<(i+1)) * time.Microsecond
		}
	}
	return time.Duration(1<<Slots) * time.Microsecond
}

// Sub is h minus an earlier snapshot (the requests in between).
func (h Hist) Sub(old Hist) Hist {
	for i := range h.Counts {
		h.Counts[i] -= min(old.Counts[i], h.Counts[i])
	}
	return h
}

// Drive is one drive's figures.
type Drive struct {
	Dev      uint32
	Issue    [NrOps]Hist // issue to completion
	Queue    [NrOps]Hist // insert to completion (requests that went through the scheduler)
	InFlight int64
}

// Histograms reads every watched drive's figures.
func (p *Probe) Histograms() (map[uint32]*Drive, error) {
	out := map[uint32]*Drive{}
	get := func(dev uint32) *Drive {
		d := out[dev]
		if d == nil {
			d = &Drive{Dev: dev}
			out[dev] = d
		}
		return d
	}
	var k probesHistKey
	var v uint64
	it := p.objs.Hist.Iterate()
	for it.Next(&k, &v) {
		if k.Op >= uint32(NrOps) || k.Slot >= Slots {
			continue
		}
		d := get(k.Dev)
		if k.Kind == 0 {
			d.Issue[k.Op].Counts[k.Slot] += v
		} else {
			d.Queue[k.Op].Counts[k.Slot] += v
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("biolat: read histograms: %w", err)
	}
	var dev uint32
	var n int32
	fl := p.objs.Inflight.Iterate()
	for fl.Next(&dev, &n) {
		get(dev).InFlight = int64(max(n, 0))
	}
	if err := fl.Err(); err != nil {
		return nil, fmt.Errorf("biolat: read in-flight counts: %w", err)
	}
	return out, nil
}
