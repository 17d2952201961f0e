package initd

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// fakeClock advances only when slept on, and runs the hooks due by then:
// devices appearing at given times.
type fakeClock struct {
	now    time.Time
	hooks  []timedHook
	sleeps int
}

type timedHook struct {
	at time.Duration // since the start
	f  func()
}

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(d time.Duration) {
	c.sleeps++
	c.now = c.now.Add(d)
	keep := c.hooks[:0]
	for _, h := range c.hooks {
		if c.now.Sub(epoch) >= h.at {
			h.f()
		} else {
			keep = append(keep, h)
		}
	}
	c.hooks = keep
}

// sysBlock is a fake /sys/block.
func sysBlock(t *testing.T, names ...string) string {
	dir := t.TempDir()
	for _, n := range names {
		addBlock(t, dir, n)
	}
	return dir
}

func addBlock(t *testing.T, dir, name string) {
	if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestBlockDevices(t *testing.T) {
	dir := sysBlock(t, "ram0", "loop0", "zram0", "vda", "nvme0n1", "sda")
	got, err := BlockDevices(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"nvme0n1", "sda", "vda"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := BlockDevices(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestSettleWaitsForLateDevices(t *testing.T) {
	dir := sysBlock(t, "loop0", "vda")
	clock := &fakeClock{now: epoch, hooks: []timedHook{
		{500 * time.Millisecond, func() { addBlock(t, dir, "vdb") }},
		// The SCSI disks come 0.8 s later: less than the quiet second
		// after vdb, so the wait goes on.
		{1300 * time.Millisecond, func() { addBlock(t, dir, "sda") }},
		{1900 * time.Millisecond, func() { addBlock(t, dir, "sdb") }},
	}}
	r, err := Settle(func() ([]string, error) { return BlockDevices(dir) }, clock, SettleQuiet, 10*time.Second, SettlePoll)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Settled || !reflect.DeepEqual(r.Devices, []string{"sda", "sdb", "vda", "vdb"}) {
		t.Fatalf("got %+v", r)
	}
	// sdb came at 1.9 s; quiet for 1 s from then.
	if r.Waited < 2900*time.Millisecond || r.Waited > 3*time.Second {
		t.Fatalf("waited %v, want 2.9s to 3s", r.Waited)
	}
}

func TestSettleNeedsADevice(t *testing.T) {
	// No disk for 2 s: a quiet empty listing does not end the wait.
	dir := sysBlock(t, "loop0", "ram0")
	clock := &fakeClock{now: epoch, hooks: []timedHook{{2 * time.Second, func() { addBlock(t, dir, "nvme0n1") }}}}
	r, err := Settle(func() ([]string, error) { return BlockDevices(dir) }, clock, SettleQuiet, 10*time.Second, SettlePoll)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Settled || !reflect.DeepEqual(r.Devices, []string{"nvme0n1"}) || r.Waited != 3*time.Second {
		t.Fatalf("got %+v", r)
	}
}

func TestSettleGivesUp(t *testing.T) {
	// Devices keep coming every 500 ms: the wait ends at the maximum.
	dir := sysBlock(t, "vda")
	clock := &fakeClock{now: epoch}
	for i := 1; i <= 20; i++ {
		name := string(rune('a'+i)) + "dev"
		clock.hooks = append(clock.hooks, timedHook{time.Duration(i) * 500 * time.Millisecond, func() { addBlock(t, dir, name) }})
	}
	r, err := Settle(func() ([]string, error) { return BlockDevices(dir) }, clock, SettleQuiet, 3*time.Second, SettlePoll)
	if err != nil {
		t.Fatal(err)
	}
	if r.Settled || r.Waited != 3*time.Second || len(r.Devices) != 7 {
		t.Fatalf("got %+v", r)
	}

	// No device at all: the maximum too, with nothing.
	empty := sysBlock(t)
	clock = &fakeClock{now: epoch}
	r, err = Settle(func() ([]string, error) { return BlockDevices(empty) }, clock, SettleQuiet, 1500*time.Millisecond, SettlePoll)
	if err != nil || r.Settled || len(r.Devices) != 0 || r.Waited != 1500*time.Millisecond {
		t.Fatalf("empty: %+v %v", r, err)
	}

	// plinth.settle=0: one look.
	one := sysBlock(t, "vda")
	clock = &fakeClock{now: epoch}
	r, err = Settle(func() ([]string, error) { return BlockDevices(one) }, clock, SettleQuiet, 0, SettlePoll)
	if err != nil || r.Settled || clock.sleeps != 0 || len(r.Devices) != 1 {
		t.Fatalf("settle=0: %+v %v, %d sleeps", r, err, clock.sleeps)
	}
}

func TestSettleListingError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	clock := &fakeClock{now: epoch}
	r, err := Settle(func() ([]string, error) {
		calls++
		if calls == 3 {
			return nil, boom
		}
		return []string{"vda"}, nil
	}, clock, SettleQuiet, 10*time.Second, SettlePoll)
	if !errors.Is(err, boom) || !reflect.DeepEqual(r.Devices, []string{"vda"}) || r.Settled {
		t.Fatalf("got %+v, %v", r, err)
	}
}
