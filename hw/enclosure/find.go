package enclosure

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNoSlot: a target names no slot of the enclosures (test with errors.Is).
var ErrNoSlot = errors.New("no such enclosure slot")

// Find resolves an operator's target to a slot. A target is
//
//   - a disk: its kernel name ("sdb") or a device node by absolute path
//     ("/dev/sdb", or a link to one such as /dev/disk/by-id/..., resolved
//     first);
//   - ENCLOSURE/SLOT: an enclosure's ID (or a unique prefix of it, case
//     ignored) and the enclosure's own slot number, as the inventory's
//     ENCL/SLOT column prints them ("0x5000c500a1b2c3d4/45"); an empty bay
//     can be named this way;
//   - ENCLOSURE/DRAWER/SLOT, for enclosures whose slot numbers restart in
//     every drawer.
//
// A target that matches nothing, or more than one slot, is an error saying
// which; nothing is guessed.
func Find(encls []Enclosure, target string) (Enclosure, Slot, error) {
	if target == "" {
		return Enclosure{}, Slot{}, fmt.Errorf("%w: empty target (name a disk such as sdb, or ENCLOSURE/SLOT)", ErrNoSlot)
	}
	if strings.HasPrefix(target, "/") || !strings.Contains(target, "/") {
		disk := target
		if strings.HasPrefix(target, "/") {
			if resolved, err := filepath.EvalSymlinks(target); err == nil {
				disk = resolved
			}
		}
		e, s, ok := SlotOf(encls, filepath.Base(disk))
		if !ok {
			return Enclosure{}, Slot{}, fmt.Errorf("%w: disk %s is in no enclosure slot (run 'plinth enclosures' to list the slots)", ErrNoSlot, target)
		}
		return e, s, nil
	}
	parts := strings.Split(target, "/")
	if len(parts) != 2 && len(parts) != 3 {
		return Enclosure{}, Slot{}, fmt.Errorf("%w: %q: want a disk, ENCLOSURE/SLOT or ENCLOSURE/DRAWER/SLOT", ErrNoSlot, target)
	}
	e, err := findEnclosure(encls, parts[0])
	if err != nil {
		return Enclosure{}, Slot{}, err
	}
	drawer := -1 // any
	if len(parts) == 3 {
		if drawer, err = strconv.Atoi(parts[1]); err != nil || drawer < 0 {
			return Enclosure{}, Slot{}, fmt.Errorf("%w: %q: drawer %q is not a number", ErrNoSlot, target, parts[1])
		}
	}
	number, err := strconv.Atoi(parts[len(parts)-1])
	if err != nil || number < 0 {
		return Enclosure{}, Slot{}, fmt.Errorf("%w: %q: slot %q is not a number", ErrNoSlot, target, parts[len(parts)-1])
	}
	var found []Slot
	for _, s := range e.Slots {
		if s.Number == number && (drawer < 0 || s.Drawer == drawer) {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 0:
		return Enclosure{}, Slot{}, fmt.Errorf("%w: enclosure %s has no slot %d%s", ErrNoSlot, e.ID, number, drawerText(drawer))
	case len(found) > 1:
		var ds []string
		for _, s := range found {
			ds = append(ds, fmt.Sprintf("%s/%d/%d", e.ID, s.Drawer, s.Number))
		}
		return Enclosure{}, Slot{}, fmt.Errorf("%w: enclosure %s has a slot %d in several drawers: name one of %s", ErrNoSlot, e.ID, number, strings.Join(ds, ", "))
	}
	return e, found[0], nil
}

// findEnclosure finds the enclosure whose ID is id or begins with it.
func findEnclosure(encls []Enclosure, id string) (Enclosure, error) {
	var found []Enclosure
	for _, e := range encls {
		switch {
		case strings.EqualFold(e.ID, id):
			return e, nil
		case len(id) >= 4 && len(e.ID) > len(id) && strings.EqualFold(e.ID[:len(id)], id):
			found = append(found, e)
		}
	}
	var ids []string
	for _, e := range encls {
		ids = append(ids, e.ID)
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if len(ids) == 0 {
			return Enclosure{}, fmt.Errorf("%w: no enclosure %s: this machine shows no enclosures", ErrNoSlot, id)
		}
		return Enclosure{}, fmt.Errorf("%w: no enclosure %s (there are %s)", ErrNoSlot, id, strings.Join(ids, ", "))
	}
	var names []string
	for _, e := range found {
		names = append(names, e.ID)
	}
	return Enclosure{}, fmt.Errorf("%w: %s is the start of several enclosures' IDs: %s", ErrNoSlot, id, strings.Join(names, ", "))
}

func drawerText(drawer int) string {
	if drawer < 0 {
		return ""
	}
	return fmt.Sprintf(" in drawer %d", drawer)
}
