package initd

import (
	"fmt"
	"sort"
	"strings"

	"github.com/plinth-storage/plinth/hw"
	"github.com/plinth-storage/plinth/internal/human"
)

// Action is what init does with the drives it found.
type Action int

const (
	// Idle: nothing to serve; Plan.Reason says why and what to do.
	Idle Action = iota
	// Serve the labelled drives of Plan.Node.
	Serve
	// Format the blank drives into a new node, then serve them.
	Format
)

func (a Action) String() string {
	switch a {
	case Serve:
		return "serve"
	case Format:
		return "format"
	}
	return "idle"
}

// Plan is what init does with the drives.
type Plan struct {
	Action Action
	Node   string     // the node whose drives are served (Serve)
	Drives []hw.Drive // the drives to serve or format, in inventory order
	// Candidates are blank usable drives beside a labelled node: possible
	// replacements, left alone (plinth replace-drive takes them).
	Candidates []hw.Drive
	// Ignored are drives not taken, each with why.
	Ignored []Ignored
	// Reserved are drives kept for another use (the disk of the firmware
	// slots), each with why: never served or formatted, and, unlike
	// Ignored drives, no reason not to format the others.
	Reserved []Ignored
	// Missing are plinth.drives entries that are not in the inventory.
	Missing []string
	// Reason says, for Idle, why and what to do.
	Reason string
}

// Ignored is a drive init does not take, and why.
type Ignored struct {
	Drive  hw.Drive
	Reason string
}

// ChooseNode returns the node whose labelled drives init serves: the node
// that labels the most of drives (the lowest UUID among equals, so the
// choice does not depend on the order of discovery), or "" when no drive
// carries a label. Drives of the other nodes are left alone.
func ChooseNode(drives []hw.Drive) string {
	count := map[string]int{}
	for _, d := range drives {
		if d.PlinthNode != "" {
			count[d.PlinthNode]++
		}
	}
	best := ""
	for n, c := range count {
		if best == "" || c > count[best] || (c == count[best] && n < best) {
			best = n
		}
	}
	return best
}

// PlanDrives decides what to do with the inventory's drives, given the
// node ChooseNode picked ("" for none; the inventory must then have been
// taken with hw.Options.ThisNode set to it, so that its drives are
// usable), the kernel names plinth.drives lists (nil: all), the format
// policy and the drives reserved for another use (kernel name → why),
// which are never taken, even when plinth.drives names them. Loop
// devices, RAM disks and optical drives are never taken either.
//
//   - A node: its usable drives are served; blank usable drives are
//     candidates (never formatted beside a node); every other drive is
//     ignored with the inventory's reasons.
//   - No node, plinth.format=blank, and every drive blank and usable: all
//     are formatted (Drives in inventory order; the formatter chooses
//     their positions).
//   - Otherwise init idles, and Reason says what to do.
func PlanDrives(drives []hw.Drive, want []string, format FormatPolicy, node string, reserved map[string]string) Plan {
	var p Plan
	var pool []hw.Drive
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	found := map[string]bool{}
	for _, d := range drives {
		if neverTaken(d.Name) {
			continue
		}
		if want != nil && !wanted[d.Name] {
			continue
		}
		found[d.Name] = true
		if why, ok := reserved[d.Name]; ok {
			p.Reserved = append(p.Reserved, Ignored{Drive: d, Reason: why})
			continue
		}
		pool = append(pool, d)
	}
	for _, w := range want {
		if !found[w] {
			p.Missing = append(p.Missing, w)
		}
	}
	sort.Strings(p.Missing)

	var blank []hw.Drive
	for _, d := range pool {
		switch {
		case node != "" && d.PlinthNode == node && d.Usable():
			p.Drives = append(p.Drives, d)
		case d.PlinthNode == "" && d.Usable():
			blank = append(blank, d)
		default:
			p.Ignored = append(p.Ignored, Ignored{Drive: d, Reason: strings.Join(d.Refused, "; ")})
		}
	}
	switch {
	case node != "" && len(p.Drives) > 0:
		p.Action, p.Node, p.Candidates = Serve, node, blank
	case node != "":
		p.Reason = fmt.Sprintf("node %s has labelled drives but none is usable (see the drives above); fix them, or boot with plinth.drives= naming other drives", node)
	case len(pool) == 0 && len(p.Missing) > 0:
		p.Reason = "none of the drives plinth.drives names was found; check the names against the drives listed above"
	case len(pool) == 0:
		p.Reason = "no drives found; check that the disks are connected and that their driver is in /etc/plinth/modules"
	case format != FormatBlank:
		p.Reason = "no Plinth drives; boot with plinth.format=blank to format"
		p.Candidates = blank
	case len(p.Ignored) > 0:
		p.Reason = fmt.Sprintf("not formatting: %d of %d drives are not blank (see the drives above); clear them (wipefs -a) after making sure nothing on them is needed, or boot with plinth.drives= naming the blank ones", len(p.Ignored), len(pool))
		p.Candidates = blank
	default:
		p.Action, p.Drives = Format, blank
	}
	return p
}

// neverTaken: loop devices, RAM disks and optical drives are no drives of
// a node, whatever they hold.
func neverTaken(name string) bool {
	for _, prefix := range []string{"loop", "ram", "zram", "sr"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// Paths returns the device paths of drives.
func Paths(drives []hw.Drive) []string {
	out := make([]string, len(drives))
	for i, d := range drives {
		out[i] = d.Path
	}
	return out
}

// DriveLine describes a drive for the boot log: name, model, size, zone
// model, and the label or why the drive is refused.
func DriveLine(d hw.Drive) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", d.Name)
	if d.Model != "" {
		fmt.Fprintf(&b, "%s, ", d.Model)
	}
	fmt.Fprintf(&b, "%s, %s", human.IBytes(d.Size), d.Zoned)
	if d.ZoneSize > 0 {
		fmt.Fprintf(&b, " (%d zones of %s)", d.NrZones, human.IBytes(d.ZoneSize))
	}
	if d.PlinthNode != "" {
		fmt.Fprintf(&b, ", drive %d of node %s", d.PlinthPosition, d.PlinthNode)
	}
	if !d.Usable() {
		fmt.Fprintf(&b, ", refused: %s", strings.Join(d.Refused, "; "))
	}
	return b.String()
}
