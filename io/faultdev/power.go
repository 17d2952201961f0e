package faultdev

import (
	"errors"
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

type powerState struct {
	off   bool
	armed bool
	at    int // the cut replaces the mutating operation that finds ops == at
	mode  CutMode
}

// PowerCut cuts the power now: every write no completed Flush covered is
// undone (CutDrop) or torn (CutTear), the inner device is flushed, and every
// operation then fails with dev.ErrPowerCut until Restart. Cutting a device
// that is already off does nothing. On a zoned inner device it returns an
// error wrapping errors.ErrUnsupported and changes nothing.
func (d *Device) PowerCut(mode CutMode) error {
	if d.zoned {
		return fmt.Errorf("faultdev: power cut on zoned device %s: unflushed writes cannot be undone on sequential zones: %w",
			d.inner.Path(), errors.ErrUnsupported)
	}
	if !mode.valid() {
		return fmt.Errorf("faultdev: power cut on %s: unknown cut mode %v", d.inner.Path(), mode)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.opErr("power-cut", 0, 0, dev.ErrClosed)
	}
	if d.power.off {
		return nil
	}
	if err := d.cut(mode); err != nil {
		return fmt.Errorf("faultdev: power cut on %s: %w", d.inner.Path(), err)
	}
	return nil
}

// PowerCutAfter arms a power cut that happens instead of the (ops+1)-th
// mutating operation (write, flush, discard, zone operation) from now; that
// operation and every later one fail with dev.ErrPowerCut until Restart.
// ops < 0 counts as 0, an unknown mode as CutDrop. Arming again replaces the
// armed cut. On a zoned inner device the cut turns the device off but keeps
// every write.
func (d *Device) PowerCutAfter(ops int, mode CutMode) {
	if !mode.valid() {
		mode = CutDrop
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.power.armed = true
	d.power.at = d.ops + max(ops, 0)
	d.power.mode = mode
}

// Restart turns the power back on: operations work again on whatever the
// media kept. A cut armed by PowerCutAfter that has not happened yet stays
// armed.
func (d *Device) Restart() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.power.off = false
}

// Ops returns the number of mutating operations performed so far. Sweeping
// PowerCutAfter over [0, Ops()) of a workload cuts the power at every point
// of it.
func (d *Device) Ops() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ops
}

// cut loses the volatile cache and turns the power off. The device is off
// even when restoring failed. Called with d.mu held.
func (d *Device) cut(mode CutMode) error {
	d.power.off = true
	d.stats.PowerCuts++
	if d.zoned {
		return nil
	}
	var keep func() bool
	if mode == CutTear {
		keep = func() bool { return d.rng.Uint64()&1 == 0 }
	}
	err := d.undo.rollback(d.inner, d.geo, keep)
	d.undo.reset()
	if ferr := d.inner.Flush(); ferr != nil {
		err = errors.Join(err, fmt.Errorf("flushing after the cut: %w", ferr))
	}
	return err
}
