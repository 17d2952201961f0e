package initd

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Clock is the time source of Settle and of serve's restart backoff;
// tests use a fake one.
type Clock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep is time.Sleep.
func (SystemClock) Sleep(d time.Duration) { time.Sleep(d) }

// Settle timing.
const (
	// SettleQuiet is how long the set of block devices must stay the same.
	SettleQuiet = time.Second
	// SettlePoll is how often the set is listed.
	SettlePoll = 100 * time.Millisecond
)

// SettleResult says what Settle saw.
type SettleResult struct {
	Devices []string      // the last listing, sorted
	Settled bool          // false: the time ran out while devices still came or none had
	Waited  time.Duration // from the first listing to the last
}

// Settle lists block devices every poll until the listing has been the
// same for quiet and holds at least one device, or max has passed since
// the first listing. Block devices of drivers that probe asynchronously
// (NVMe namespaces, SCSI disks) appear after their module has loaded;
// waiting for a quiet second catches them without a fixed delay, and the
// "at least one" keeps a quiet second before the first disk from ending
// the wait. A listing error ends the wait with the error.
func Settle(list func() ([]string, error), clock Clock, quiet, max, poll time.Duration) (SettleResult, error) {
	start := clock.Now()
	var last []string
	var since time.Time // when the listing became last
	for {
		now := clock.Now()
		cur, err := list()
		if err != nil {
			return SettleResult{Devices: last, Waited: now.Sub(start)}, err
		}
		slices.Sort(cur)
		if since.IsZero() || !slices.Equal(cur, last) {
			last, since = cur, now
		}
		if len(last) > 0 && now.Sub(since) >= quiet {
			return SettleResult{Devices: last, Settled: true, Waited: now.Sub(start)}, nil
		}
		if now.Sub(start) >= max {
			return SettleResult{Devices: last, Waited: now.Sub(start)}, nil
		}
		clock.Sleep(min(poll, max-now.Sub(start)))
	}
}

// BlockDevices lists the entries of a /sys/block directory that could be
// drives: RAM disks and loop devices, which exist before any disk does,
// are left out so that they do not end the wait for disks.
func BlockDevices(sysBlock string) ([]string, error) {
	entries, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil, fmt.Errorf("list block devices: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") || strings.HasPrefix(n, "loop") {
			continue
		}
		names = append(names, n)
	}
	return names, nil
}
