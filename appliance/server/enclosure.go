package server

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/appliance/console"
	"github.com/plinth-storage/plinth/hw/biolat"
	"github.com/plinth-storage/plinth/hw/enclosure"
)

// sysEnclosures is the console's view of the drive enclosures (package
// hw/enclosure, the kernel's SES driver): the slot each drive sits in and
// its locate LED. Only a drive that is a block device can sit in a bay: an
// emulated drive (a file) has none, whatever disk holds its file.
type sysEnclosures struct {
	sysRoot string
	// diskOf names the disk a drive path is ("sdb"); false: not a block
	// device (tests replace it).
	diskOf func(path string) (string, bool)

	mu     sync.Mutex
	encls  []enclosure.Enclosure
	mapped time.Time
}

func newSysEnclosures(sysRoot string) *sysEnclosures {
	return &sysEnclosures{sysRoot: sysRoot, diskOf: func(path string) (string, bool) {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
			return "", false
		}
		_, name, err := biolat.DiskOf(path, sysRoot)
		return name, err == nil
	}}
}

// enclosures maps the enclosures, at most every few seconds (drives lists
// every drive's slot).
func (e *sysEnclosures) enclosures() ([]enclosure.Enclosure, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.encls != nil && time.Since(e.mapped) < 5*time.Second {
		return e.encls, nil
	}
	encls, err := enclosure.Map(e.sysRoot)
	if err != nil {
		return nil, err
	}
	e.encls, e.mapped = encls, time.Now()
	return encls, nil
}

func (e *sysEnclosures) find(d console.DriveRef) (enclosure.Enclosure, enclosure.Slot, error) {
	disk, ok := e.diskOf(d.Path)
	if !ok {
		return enclosure.Enclosure{}, enclosure.Slot{}, fmt.Errorf("%w: %s is not a block device (an emulated drive sits in no bay)", console.ErrNoEnclosure, d.Path)
	}
	encls, err := e.enclosures()
	if err != nil {
		return enclosure.Enclosure{}, enclosure.Slot{}, err
	}
	en, sl, ok := enclosure.SlotOf(encls, disk)
	if !ok {
		return en, sl, fmt.Errorf("%w: disk %s is in no slot of an enclosure under %s", console.ErrNoEnclosure, disk, filepath.Join(e.sysRoot, "class/enclosure"))
	}
	return en, sl, nil
}

// Slot returns where a drive sits.
func (e *sysEnclosures) Slot(d console.DriveRef) (console.Slot, bool) {
	en, sl, err := e.find(d)
	if err != nil {
		return console.Slot{}, false
	}
	loc := enclosure.Location{Enclosure: en.ID, Drawer: sl.Drawer, Slot: sl.Number, Name: sl.Name}
	return console.Slot{Enclosure: en.ID, Slot: sl.Number, Drawer: sl.Drawer, Name: sl.Name, Label: loc.String()}, true
}

// Locate turns a drive's locate LED on or off.
func (e *sysEnclosures) Locate(d console.DriveRef, on bool) error {
	_, sl, err := e.find(d)
	if err != nil {
		return err
	}
	return sl.SetLocate(on)
}
