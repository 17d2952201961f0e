package initd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// SlotsMount is where init mounts the firmware slots partition
// (plinth.slots=DEVICE), read-write, for as long as the node runs.
const SlotsMount = "/run/plinth-slots"

// slotsFSType is the slots partition's filesystem (images.SlotFSType: the
// boot loader reads it, and its journal makes the slot store's renames
// atomic). init does not import the image builder for one word.
const slotsFSType = "ext4"

// SysClassBlock is where the kernel lists block devices and partitions.
const SysClassBlock = "/sys/class/block"

// slots is init's view of plinth.slots.
type slots struct {
	param   string // plinth.slots as given ("": none)
	dir     string // where the slot store is ("": unavailable)
	device  string // the partition init mounted on SlotsMount ("": none)
	mounted bool
	disk    string // the whole disk holding it: no data drive ("": none)
}

// SlotsDisk returns the kernel name of the whole disk a block device path
// (symbolic links followed) is or is a partition of: the disk itself
// ("vdc" for /dev/vdc), or a partition's parent ("sda" for /dev/sda1), read
// from sysClassBlock (/sys/class/block/sda1 links into .../block/sda/sda1
// and has a "partition" file).
func SlotsDisk(sysClassBlock, device string) (string, error) {
	real, err := filepath.EvalSymlinks(device)
	if err != nil {
		return "", err
	}
	name := filepath.Base(real)
	entry := filepath.Join(sysClassBlock, name)
	if _, err := os.Stat(filepath.Join(entry, "partition")); errors.Is(err, fs.ErrNotExist) {
		return name, nil
	} else if err != nil {
		return "", err
	}
	target, err := filepath.EvalSymlinks(entry)
	if err != nil {
		return "", err
	}
	return filepath.Base(filepath.Dir(target)), nil
}

// isBlockDevice: path (symbolic links followed) is a block device.
func isBlockDevice(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0
}

// mountSlots is step 4b: plinth.slots naming a block device (the slots
// partition) is mounted on SlotsMount; naming anything else, it is a
// directory (tests and development). When the partition cannot be
// mounted, serve still starts (the node's data matters more than its
// firmware's bookkeeping), and nothing is marked good: a slot on trial goes
// back to the other slot at the next boot, which is the safe way to fail.
// The disk of the slots is never a data drive, mounted or not.
func (ip *initProc) mountSlots(p Params) {
	if p.Slots == "" {
		return
	}
	ip.slotsMu.Lock()
	defer ip.slotsMu.Unlock()
	ip.slots.param = p.Slots
	log := ip.log
	fix := fmt.Sprintf("Serving anyway, but the booted firmware slot will not be marked good: a slot on trial goes back to the other slot at the next boot. "+
		"To fix: check plinth.slots against the drives listed above, check the partition from a rescue system (e2fsck -f %s), or make an empty slots filesystem on it (mkfs.ext4 -L plinth-slots %s) and apply the firmware again", p.Slots, p.Slots)
	if !isBlockDevice(p.Slots) {
		if strings.HasPrefix(p.Slots, "/dev/") {
			log.Printf("firmware slots: plinth.slots=%s is not a block device here. %s", p.Slots, fix)
			return
		}
		ip.slots.dir = p.Slots
		log.Printf("firmware slots: the directory %s (plinth.slots)", p.Slots)
		return
	}
	if disk, err := SlotsDisk(SysClassBlock, p.Slots); err != nil {
		log.Printf("firmware slots: cannot tell which disk %s is on (%v): list the data drives in plinth.drives, without it", p.Slots, err)
	} else {
		ip.slots.disk = disk
	}
	if err := os.MkdirAll(SlotsMount, 0o755); err != nil {
		log.Printf("firmware slots: %v. %s", err, fix)
		return
	}
	if err := unix.Mount(p.Slots, SlotsMount, slotsFSType, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		log.Printf("firmware slots: mount %s (%s) on %s: %v. %s", p.Slots, slotsFSType, SlotsMount, err, fix)
		return
	}
	ip.slots.dir, ip.slots.device, ip.slots.mounted = SlotsMount, p.Slots, true
	log.Printf("firmware slots: mounted %s (%s) on %s", p.Slots, slotsFSType, SlotsMount)
}

// reservedDrives are the drives PlanDrives must leave alone: the disk of
// the firmware slots.
func (ip *initProc) reservedDrives() map[string]string {
	ip.slotsMu.Lock()
	defer ip.slotsMu.Unlock()
	if ip.slots.disk == "" {
		return nil
	}
	return map[string]string{ip.slots.disk: fmt.Sprintf("it holds the firmware slots (plinth.slots=%s)", ip.slots.param)}
}

// markGood marks the booted firmware slot good after serve's healthy start.
func (ip *initProc) markGood() {
	ip.slotsMu.Lock()
	defer ip.slotsMu.Unlock()
	s := ip.slots
	switch {
	case s.param == "":
		return
	case s.dir == "":
		ip.log.Printf("serve is up, but the firmware slots (plinth.slots=%s) are not available (see above): the booted slot is not marked good", s.param)
		return
	case ip.cfg.MarkGood == nil:
		ip.log.Printf("plinth.slots=%s: this build cannot mark slots good", s.param)
		return
	}
	what, err := ip.cfg.MarkGood(s.dir)
	if err != nil {
		ip.log.Printf("serve is up, but marking the firmware slot good in %s failed: %v (a slot on trial is rolled back at the next boot)", s.dir, err)
		return
	}
	ip.log.Printf("serve is up: %s", what)
}

// unmountSlots unmounts the slots partition at shutdown, after marking a
// slot good has finished (it holds slotsMu).
func (ip *initProc) unmountSlots() {
	ip.slotsMu.Lock()
	defer ip.slotsMu.Unlock()
	if !ip.slots.mounted {
		return
	}
	err := unix.Unmount(SlotsMount, 0)
	if errors.Is(err, unix.EBUSY) {
		// Something still has a file open there (every process was
		// killed: unlikely). Detaching leaves the kernel to finish the
		// unmount; the state writes were synced when made.
		ip.log.Printf("unmount %s: busy: detaching it", SlotsMount)
		err = unix.Unmount(SlotsMount, unix.MNT_DETACH)
	}
	if err != nil {
		ip.log.Printf("unmount %s: %v (its writes were synced when made)", SlotsMount, err)
		return
	}
	ip.slots.mounted = false
	ip.log.Printf("unmounted the firmware slots %s from %s", ip.slots.device, SlotsMount)
}
