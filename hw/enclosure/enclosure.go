package enclosure

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Enclosure is one physical enclosure, however many SES paths show it.
type Enclosure struct {
	// ID identifies the enclosure: its logical identifier from id
	// ("0x500c0ff0abcdef3c"), else the SAS address of its SES device
	// (device/sas_address), else, when neither is known, the name of its
	// one path.
	ID     string
	Vendor string // of the SES device (device/vendor), "" unknown
	Model  string // of the SES device (device/model), "" unknown
	// Paths are the enclosure devices (class/enclosure/H:C:T:L) that show
	// this enclosure, one per SES path, in kernel order.
	Paths []string
	// Drawers is the number of drawers the slots are in (2 for a 5U84),
	// 0 when the enclosure has none.
	Drawers int
	// Slots are sorted by drawer, then number, then name.
	Slots []Slot
}

// Slot is one drive bay of an enclosure: a device or array device element
// of its SES configuration, which the kernel shows as a component.
type Slot struct {
	Number int    // the slot attribute: the enclosure's own slot number
	Drawer int    // 1-based drawer; 0 when the enclosure has no drawers
	Name   string // the component's name on the first path: "Slot 01", "DISK001", "7"
	// Disk is the kernel name of the block device in the slot ("sdb"),
	// "" when none is linked: the bay is empty, or the drive in it is not
	// (yet) a block device on this machine.
	Disk string
	// Disks are all the block devices the paths link to the slot, Disk
	// first: a dual-ported drive reached over two SES paths can show as
	// one device per path.
	Disks []string
	// Status is the element status as the kernel prints it ("OK",
	// "not installed" for an empty bay, "critical", "unknown", ...); ""
	// when not read (Map) or no path could read it.
	Status string
	Fault  bool // the fault LED is on (not read by Map)
	Locate bool // the locate LED is on (not read by Map)
	// Components are the slot's component directories, one per path that
	// has the slot, in path order: where the LED files are written.
	Components []string
}

// classDir is where the kernel lists enclosures, relative to sysfs.
const classDir = "class/enclosure"

// Scan lists the enclosures under sysRoot (normally /sys), with every
// slot's status and LEDs. Reading status, fault and locate makes the kernel
// ask the enclosure (one SCSI command each, for every slot); Map skips
// them. A machine without enclosures (no class/enclosure) has none, which
// is not an error.
func Scan(sysRoot string) ([]Enclosure, error) {
	return scan(sysRoot, true)
}

// Map is Scan without the slots' status and LEDs: it only maps drives to
// slots, from attributes the kernel keeps in memory.
func Map(sysRoot string) ([]Enclosure, error) {
	return scan(sysRoot, false)
}

// path is one enclosure device: one SES path to an enclosure.
type path struct {
	name                 string // H:C:T:L
	dir                  string
	key                  string // what identifies the enclosure
	vendor, model        string
	comps                []component
	slotNumbersAreUnique bool
}

// component is one slot as one path shows it.
type component struct {
	name   string
	dir    string
	number int
	disk   string
}

func scan(sysRoot string, withState bool) ([]Enclosure, error) {
	dir := filepath.Join(sysRoot, classDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list enclosures: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Slice(names, func(i, j int) bool { return lessHCTL(names[i], names[j]) })

	var paths []path
	for _, name := range names {
		p, ok, err := readPath(name, filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("enclosure %s: %w", name, err)
		}
		if ok {
			paths = append(paths, p)
		}
	}

	// Group the paths by enclosure, in the order their first path comes.
	var encls []Enclosure
	groups := map[string][]path{}
	var keys []string
	for _, p := range paths {
		if _, seen := groups[p.key]; !seen {
			keys = append(keys, p.key)
		}
		groups[p.key] = append(groups[p.key], p)
	}
	for _, k := range keys {
		e := merge(k, groups[k])
		if withState {
			for i := range e.Slots {
				readState(&e.Slots[i])
			}
		}
		encls = append(encls, e)
	}
	return encls, nil
}

// readPath reads one enclosure device. ok is false when it vanished while
// we looked (the SES device was removed).
func readPath(name, dir string) (p path, ok bool, err error) {
	defer func() {
		if err == nil {
			return
		}
		if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
			p, ok, err = path{}, false, nil
		}
	}()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return path{}, false, fmt.Errorf("list components: %w", err)
	}
	p = path{
		name:   name,
		dir:    dir,
		vendor: bestEffort(filepath.Join(dir, "device/vendor")),
		model:  bestEffort(filepath.Join(dir, "device/model")),
	}
	p.key = identifier(bestEffort(filepath.Join(dir, "id")))
	if p.key == "" {
		p.key = identifier(bestEffort(filepath.Join(dir, "device/sas_address")))
	}
	if p.key == "" {
		p.key = name
	}
	numbers := map[int]bool{}
	p.slotNumbersAreUnique = true
	for _, e := range entries {
		// Components are the real directories with a slot or type file;
		// power/ has neither, device and subsystem are links.
		if !e.IsDir() {
			continue
		}
		cdir := filepath.Join(dir, e.Name())
		if !exists(filepath.Join(cdir, "slot")) && !exists(filepath.Join(cdir, "type")) {
			continue
		}
		c, err := readComponent(e.Name(), cdir)
		if err != nil {
			return path{}, false, err
		}
		if numbers[c.number] {
			p.slotNumbersAreUnique = false
		}
		numbers[c.number] = true
		p.comps = append(p.comps, c)
	}
	return p, true, nil
}

// readComponent reads a component's slot number and the block device linked
// to it. A component without a slot file (kernels before 4.5) takes the
// number at the end of its name, or -1.
func readComponent(name, dir string) (component, error) {
	c := component{name: name, dir: dir, number: -1}
	n, ok, err := number(filepath.Join(dir, "slot"))
	switch {
	case err != nil:
		return component{}, err
	case ok:
		c.number = n
	default:
		if n, ok := trailingNumber(name); ok {
			c.number = n
		}
	}
	c.disk, err = linkedDisk(dir)
	if err != nil {
		return component{}, fmt.Errorf("component %q: %w", name, err)
	}
	return c, nil
}

// linkedDisk follows the component's device link to the SCSI device in the
// slot and returns the name in its block directory; "" when the slot links
// no device, or the device is not a block device.
func linkedDisk(dir string) (string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "device", "block"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the linked device's block directory: %w", err)
	}
	for _, e := range entries {
		return e.Name(), nil // ReadDir sorts; a SCSI disk has one
	}
	return "", nil
}

// merge makes one enclosure of the paths that show it. Slots are matched
// across paths by slot number, or by component name when a path repeats a
// slot number (an enclosure that numbers the slots of each drawer from 0).
func merge(key string, paths []path) Enclosure {
	e := Enclosure{ID: key}
	byNumber := true
	for _, p := range paths {
		e.Paths = append(e.Paths, p.name)
		if e.Vendor == "" {
			e.Vendor = p.vendor
		}
		if e.Model == "" {
			e.Model = p.model
		}
		byNumber = byNumber && p.slotNumbersAreUnique
	}
	index := map[string]int{}
	for _, p := range paths {
		for _, c := range p.comps {
			k := c.name
			if byNumber {
				k = fmt.Sprint(c.number)
			}
			i, ok := index[k]
			if !ok {
				i = len(e.Slots)
				index[k] = i
				e.Slots = append(e.Slots, Slot{Number: c.number, Name: c.name})
			}
			s := &e.Slots[i]
			s.Components = append(s.Components, c.dir)
			if c.disk != "" && !contains(s.Disks, c.disk) {
				s.Disks = append(s.Disks, c.disk)
			}
			if len(s.Disks) > 0 {
				s.Disk = s.Disks[0]
			}
		}
	}
	e.Drawers = assignDrawers(e.Slots)
	sort.SliceStable(e.Slots, func(i, j int) bool {
		a, b := e.Slots[i], e.Slots[j]
		if a.Drawer != b.Drawer {
			return a.Drawer < b.Drawer
		}
		if a.Number != b.Number {
			return a.Number < b.Number
		}
		return a.Name < b.Name
	})
	return e
}

// readState reads status, fault and locate from the first path that can
// answer all three; it leaves them unknown when none can.
func readState(s *Slot) {
	for _, dir := range s.Components {
		status, err := attr(filepath.Join(dir, "status"))
		if err != nil {
			continue
		}
		fault, _, err := number(filepath.Join(dir, "fault"))
		if err != nil {
			continue
		}
		locate, _, err := number(filepath.Join(dir, "locate"))
		if err != nil {
			continue
		}
		s.Status, s.Fault, s.Locate = status, fault != 0, locate != 0
		return
	}
}

// SlotOf finds the slot holding disk, a kernel name ("sdb") or its device
// node ("/dev/sdb"), among any of the slot's Disks.
func SlotOf(encls []Enclosure, disk string) (Enclosure, Slot, bool) {
	disk = strings.TrimPrefix(disk, "/dev/")
	if disk == "" {
		return Enclosure{}, Slot{}, false
	}
	for _, e := range encls {
		for _, s := range e.Slots {
			if contains(s.Disks, disk) {
				return e, s, true
			}
		}
	}
	return Enclosure{}, Slot{}, false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
