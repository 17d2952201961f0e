package faultdev

import (
	"fmt"
	"math"
	"time"

	"github.com/plinth-storage/plinth/io/dev"
)

// errInjected is the error an injected IO fault carries inside its
// *dev.OpError: it matches dev.ErrIO and syscall.EIO.
var errInjected = fmt.Errorf("%w (injected by faultdev)", dev.ErrIO)

// faultSet is every armed fault except the power state.
type faultSet struct {
	ranges    []failRange
	failRate  [numOps]float64
	latency   [numOps]latency
	bw        bandwidth
	torn      float64
	misdirect float64
	flip      float64
}

type failRange struct {
	op       Op
	off, end int64 // [off, end)
}

type latency struct {
	base, jitter time.Duration
}

// FailRange makes every operation of kind op that overlaps [off, off+length)
// fail with dev.ErrIO until ClearFaults. Ranges add up.
func (d *Device) FailRange(op Op, off, length int64) {
	if !op.valid() || length <= 0 {
		return
	}
	end := off + length
	if end < off { // overflow: up to the largest offset
		end = math.MaxInt64
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults.ranges = append(d.faults.ranges, failRange{op: op, off: off, end: end})
}

// FailRate makes each operation of kind op fail with dev.ErrIO with
// probability rate (0 disables, 1 fails every one).
func (d *Device) FailRate(op Op, rate float64) {
	if !op.valid() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults.failRate[op] = rate
}

// Latency makes each operation of kind op sleep base plus a random duration
// in [0, jitter) before it starts. Zero base and jitter disable it.
func (d *Device) Latency(op Op, base, jitter time.Duration) {
	if !op.valid() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults.latency[op] = latency{base: max(base, 0), jitter: max(jitter, 0)}
}

// TornWriteRate makes each write land only partly with probability rate: a
// random proper subset of its logical blocks is written, the rest keep their
// old contents, and the write reports success.
func (d *Device) TornWriteRate(rate float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults.torn = rate
}

// MisdirectRate makes each write land elsewhere with probability rate: at a
// random block-aligned offset of the device whose range does not overlap
// the intended one, which keeps its old contents. The write reports success.
// A write with no such place left in the device lands where it should.
func (d *Device) MisdirectRate(rate float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults.misdirect = rate
}

// FlipOnReadRate makes each read return its data with one random bit flipped
// with probability rate. The media is not changed.
func (d *Device) FlipOnReadRate(rate float64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults.flip = rate
}

// ClearFaults disarms every fault: errors, latency, bandwidth, torn and
// misdirected writes and read flips. It does not touch the power state (a
// cut device stays off, an armed PowerCutAfter stays armed) nor bits
// already flipped at rest.
func (d *Device) ClearFaults() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = faultSet{}
}

// fail decides whether an operation of kind op on [off, off+length) fails
// with an injected error, and counts it. Called with d.mu held.
func (d *Device) fail(op Op, off, length int64) bool {
	for _, r := range d.faults.ranges {
		if r.op == op && length > 0 && off < r.end && r.off < off+length {
			d.stats.countError(op)
			return true
		}
	}
	if d.chance(d.faults.failRate[op]) {
		d.stats.countError(op)
		return true
	}
	return false
}

// delay sleeps for the latency armed for op. The duration is drawn under the
// mutex; the sleep happens outside it.
func (d *Device) delay(op Op) {
	d.mu.Lock()
	l := d.faults.latency[op]
	wait := l.base
	if l.jitter > 0 {
		wait += time.Duration(d.rng.Int64N(int64(l.jitter)))
	}
	if wait > 0 {
		d.stats.Delays++
	}
	d.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait)
	}
}
