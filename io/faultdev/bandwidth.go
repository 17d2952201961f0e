package faultdev

import "time"

// bandwidth is the media channel armed by Bandwidth.
type bandwidth struct {
	perSec    int64     // bytes per second; 0: unlimited
	busyUntil time.Time // when the transfers queued so far are done
}

// Bandwidth caps the device's media at bytesPerSec bytes per second, shared
// by reads and writes; 0 (or less) disables it, as does ClearFaults.
//
// The device is one media channel (a disk's actuator, an SSD's channels
// taken together): a read or write of n bytes occupies it for
// n/bytesPerSec, and transfers queue behind each other in the order they
// arrive, each starting when the channel is free (or now, if it is idle).
// The caller sleeps until its transfer is done, outside the mutex, then
// performs the IO. Concurrent callers therefore share the bandwidth rather
// than each getting it, and a caller that keeps several IOs in flight
// keeps the channel busy while one that waits for each IO before issuing
// the next leaves it idle in between, as on a real drive. Flushes,
// discards and zone operations move no data and are not delayed.
//
// It stands for a drive's sustained media rate, and makes emulated drives
// that share one host disk add up as real drives do: each is capped well
// under its share of the host disk, so the sum of the caps is what the
// node can use.
func (d *Device) Bandwidth(bytesPerSec int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults.bw.perSec = max(bytesPerSec, 0)
}

// transfer occupies the media channel for a read or write of n bytes: it
// queues the transfer under the mutex and sleeps outside it until the
// transfer is done. It returns at once when no bandwidth is armed.
func (d *Device) transfer(n int64) {
	d.mu.Lock()
	bw := &d.faults.bw
	if bw.perSec <= 0 || n <= 0 {
		d.mu.Unlock()
		return
	}
	start := time.Now()
	if bw.busyUntil.After(start) {
		start = bw.busyUntil
	}
	took := time.Duration(float64(n) / float64(bw.perSec) * float64(time.Second))
	bw.busyUntil = start.Add(took)
	d.stats.Busy += took
	end := bw.busyUntil
	d.mu.Unlock()
	time.Sleep(time.Until(end))
}
