package enclosure

import "fmt"

// Location is where a drive sits: for the drive inventory.
type Location struct {
	Enclosure string // Enclosure.ID
	Drawer    int    // 1-based, 0 when the enclosure has no drawers
	Slot      int    // Slot.Number
	Name      string // Slot.Name
}

// String is the inventory's ENCL/SLOT cell: "0x500c0ff0abcdef3c/7", and
// with a drawer "0x5000c500a1b2c3d4/45 (drawer 2)".
func (l Location) String() string {
	if l.Drawer > 0 {
		return fmt.Sprintf("%s/%d (drawer %d)", l.Enclosure, l.Slot, l.Drawer)
	}
	return fmt.Sprintf("%s/%d", l.Enclosure, l.Slot)
}

// Locations maps every disk linked to a slot (each of a slot's Disks) to
// where it is.
func Locations(encls []Enclosure) map[string]Location {
	m := map[string]Location{}
	for _, e := range encls {
		for _, s := range e.Slots {
			for _, d := range s.Disks {
				if _, dup := m[d]; !dup {
					m[d] = Location{Enclosure: e.ID, Drawer: s.Drawer, Slot: s.Number, Name: s.Name}
				}
			}
		}
	}
	return m
}
