package hw

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/plinth-storage/plinth/hw/enclosure"
)

// Inventory lists the drives of the machine described by opts, sorted by
// name in kernel order (sdz before sdaa, nvme0n2 before nvme0n10). Refused
// drives are listed too, with their reasons. It fails when it cannot list
// the block devices, read the mount table, or read a drive's mandatory
// sysfs files; a drive it cannot probe is refused, not an error.
func Inventory(opts Options) ([]Drive, error) {
	opts = opts.withDefaults()
	blockDir := filepath.Join(opts.SysfsRoot, "block")
	entries, err := os.ReadDir(blockDir)
	if err != nil {
		return nil, fmt.Errorf("list block devices: %w", err)
	}
	mt, err := readMountInfo(opts.MountInfo)
	if err != nil {
		return nil, err
	}
	var drives []Drive
	for _, e := range entries {
		d, keep, err := inspect(e.Name(), sysDir(filepath.Join(blockDir, e.Name())), mt, opts)
		if err != nil {
			return nil, fmt.Errorf("drive %s: %w", e.Name(), err)
		}
		if keep {
			drives = append(drives, d)
		}
	}
	sort.Slice(drives, func(i, j int) bool { return lessName(drives[i].Name, drives[j].Name) })
	return drives, nil
}

// EnclosureSlots maps drive names to their enclosure slots, from
// SysfsRoot/class/enclosure (package hw/enclosure; it reads no LED or
// status, which would query the enclosures). A machine without enclosures
// gives an empty map.
func EnclosureSlots(opts Options) (map[string]enclosure.Location, error) {
	opts = opts.withDefaults()
	encls, err := enclosure.Map(opts.SysfsRoot)
	if err != nil {
		return nil, fmt.Errorf("enclosure slots: %w", err)
	}
	return enclosure.Locations(encls), nil
}

// inspect describes one /sys/block entry; keep is false for devices the
// inventory skips.
func inspect(name string, s sysDir, mt mountTable, opts Options) (d Drive, keep bool, err error) {
	defer func() {
		// A device unplugged while we looked is gone, not broken.
		if err == nil {
			return
		}
		if _, serr := os.Stat(string(s)); errors.Is(serr, fs.ErrNotExist) {
			d, keep, err = Drive{}, false, nil
		}
	}()
	if skippedByName(name) {
		return Drive{}, false, nil
	}
	if hidden, _, _ := s.attr("hidden"); hidden == "1" {
		return Drive{}, false, nil
	}
	if skippedWhenEmpty(name) {
		size, err := s.number("size", true)
		if err != nil || size == 0 {
			return Drive{}, false, err
		}
	}

	d = Drive{Name: name, Path: filepath.Join(opts.DevRoot, name)}
	identity(&d, s)
	zoneRefusal, err := geometry(&d, s)
	if err != nil {
		return Drive{}, false, err
	}

	refused := kernelUsage(s, mt)
	if zoneRefusal != "" {
		refused = append(refused, zoneRefusal)
	}
	refused = append(refused, nodeChecks(&d, opts)...)
	if len(refused) > 0 {
		d.Refused = refused
	}
	return d, true, nil
}

// nodeChecks looks at what is on the drive: signatures, then the Plinth
// label. The node is opened once, read-only and not exclusively (see
// signatures).
func nodeChecks(d *Drive, opts Options) []string {
	if d.Size == 0 {
		return []string{"size is 0 (no medium, or the drive did not start)"}
	}
	f, err := os.Open(d.Path)
	if err != nil {
		return []string{fmt.Sprintf("cannot read device node: %v", err)}
	}
	defer f.Close()
	sigs, err := signatures(f, d.Path, d.LogicalBlockSize)
	if err != nil {
		return []string{fmt.Sprintf("cannot read device node: %v", err)}
	}
	var refused []string
	for _, sig := range sigs {
		refused = append(refused, "signature: "+sig.String())
	}
	if !opts.SkipLabels {
		if r := checkLabel(d, f, opts); r != "" {
			refused = append(refused, r)
		}
	}
	return refused
}
