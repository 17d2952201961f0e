package hw

import "strings"

// alwaysSkipped are the name prefixes of devices that are never drives
// Plinth could own: RAM disks, stacked devices, optical and floppy drives.
var alwaysSkipped = []string{"ram", "zram", "dm-", "md", "sr", "fd"}

// skippedByName reports devices the inventory ignores whatever their state.
func skippedByName(name string) bool {
	for _, p := range alwaysSkipped {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// skippedWhenEmpty reports devices that only exist as placeholders until
// something is attached (loop) or connected (nbd): size 0 means nothing is.
func skippedWhenEmpty(name string) bool {
	return strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "nbd")
}
