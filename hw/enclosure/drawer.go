package enclosure

import (
	"regexp"
	"strconv"
)

// The 5U84: 84 slots in two drawers of 42.
const (
	slots5U84      = 84
	slotsPerDrawer = 42
)

// drawerName finds a drawer number in a component name: "Drawer 2 Slot 05",
// "DRAWER1_SLOT03", "Drw2-Disk07".
var drawerName = regexp.MustCompile(`(?i)(?:drawer|drw)[ _-]*0*([0-9]+)`)

// assignDrawers sets each slot's Drawer and returns the number of drawers:
//
//   - when every component name names a drawer, the names say (numbered
//     from 1; names that count from 0 are shifted);
//   - else, for an 84-slot enclosure with distinct slot numbers base..base+83
//     (base 0 or 1, as the enclosure counts), the 5U84's layout: the first
//     42 slots are drawer 1, the next 42 drawer 2;
//   - else the enclosure has no drawers and every Drawer stays 0.
func assignDrawers(slots []Slot) int {
	if len(slots) == 0 {
		return 0
	}
	if n := drawersFromNames(slots); n > 0 {
		return n
	}
	if len(slots) != slots5U84 {
		return 0
	}
	base, seen := slots[0].Number, map[int]bool{}
	for _, s := range slots {
		base = min(base, s.Number)
		seen[s.Number] = true
	}
	if (base != 0 && base != 1) || len(seen) != slots5U84 {
		return 0
	}
	for i := range slots {
		off := slots[i].Number - base
		if off < 0 || off >= slots5U84 {
			return 0 // not base..base+83 after all; leave drawers unknown
		}
	}
	for i := range slots {
		slots[i].Drawer = (slots[i].Number-base)/slotsPerDrawer + 1
	}
	return slots5U84 / slotsPerDrawer
}

func drawersFromNames(slots []Slot) int {
	drawers := make([]int, len(slots))
	lowest := -1
	for i, s := range slots {
		m := drawerName.FindStringSubmatch(s.Name)
		if m == nil {
			return 0
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return 0
		}
		drawers[i] = n
		if lowest < 0 || n < lowest {
			lowest = n
		}
	}
	shift := 0
	if lowest == 0 {
		shift = 1
	}
	distinct := map[int]bool{}
	for i := range slots {
		slots[i].Drawer = drawers[i] + shift
		distinct[slots[i].Drawer] = true
	}
	return len(distinct)
}
