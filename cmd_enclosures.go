package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/plinth-storage/plinth/hw/enclosure"
)

func init() {
	var asJSON bool
	var sysfs string
	register(&command{
		name:    "enclosures",
		summary: "list enclosure slots and their LEDs; turn a slot's locate or fault LED on or off",
		usage:   "[locate|fault on|off DISK|ENCLOSURE/SLOT]",
		help: `Without arguments, lists the SCSI enclosures (SES) this machine sees, one per
enclosure however many paths reach it, and every slot: drawer, slot number,
name, the disk in it, its status and its fault and locate LEDs. Reading
status and LEDs asks the enclosure, one command per slot and attribute.

  plinth enclosures locate on sdb
  plinth enclosures locate on 0x5000c500a1b2c3d4/45
  plinth enclosures fault off 0x5000ccab0400ab3c/2/5

turn one slot's LED on or off, named by the disk in it (sdb, /dev/sdb or a
/dev/disk/by-id link) or as ENCLOSURE/SLOT, the inventory's ENCL/SLOT
column ('plinth drives'); an empty bay can only be named the second way.
Enclosures whose slot numbers restart in every drawer need
ENCLOSURE/DRAWER/SLOT. The LED is read back after the write.

This works without a running node (a node that is down still needs its
failed drive found); on a running node the console's 'drive locate' does
the same by the node's drive position. --sysfs points it at a captured tree.`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
			fs.StringVar(&sysfs, "sysfs", "/sys", "sysfs root")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			// A machine without enclosures has no class/enclosure, which is
			// not an error; a sysfs root that is not there is.
			if _, err := os.Stat(sysfs); err != nil {
				return fmt.Errorf("sysfs root: %w", err)
			}
			switch fs.NArg() {
			case 0:
				encls, err := enclosure.Scan(sysfs)
				if err != nil {
					return err
				}
				if asJSON {
					return writeEnclosuresJSON(stdout, encls)
				}
				return writeEnclosures(stdout, encls, sysfs)
			case 3:
				return setEnclosureLED(stdout, sysfs, fs.Arg(0), fs.Arg(1), fs.Arg(2), asJSON)
			}
			return usageError("want no arguments (list), or locate|fault on|off DISK|ENCLOSURE/SLOT")
		},
	})
}

// setEnclosureLED turns led ("locate" or "fault") of target's slot on or
// off and reads it back.
func setEnclosureLED(w io.Writer, sysfs, led, state, target string, asJSON bool) error {
	if led != "locate" && led != "fault" {
		return usageError("%q: the LEDs are locate and fault", led)
	}
	if state != "on" && state != "off" {
		return usageError("%q: want on or off", state)
	}
	on := state == "on"
	encls, err := enclosure.Map(sysfs)
	if err != nil {
		return err
	}
	e, s, err := enclosure.Find(encls, target)
	if err != nil {
		return err
	}
	if led == "locate" {
		err = s.SetLocate(on)
	} else {
		err = s.SetFault(on)
	}
	if err != nil {
		return err
	}
	// Read it back: an enclosure may refuse quietly (an element without
	// that LED), and the operator in front of the rack must know.
	after, err := enclosure.Scan(sysfs)
	if err != nil {
		return fmt.Errorf("%s LED of %s was written; reading it back: %w", led, target, err)
	}
	e, s, err = enclosure.Find(after, slotTarget(e, s))
	if err != nil {
		return fmt.Errorf("%s LED of %s was written; reading it back: %w", led, target, err)
	}
	got := s.Locate
	if led == "fault" {
		got = s.Fault
	}
	if got != on {
		return fmt.Errorf("%s LED of %s: wrote %s, but the enclosure reports it %s (the element may have no such LED)", led, slotText(e, s), state, onOff(got))
	}
	if asJSON {
		return writeJSON(w, map[string]any{"enclosure": e.ID, "drawer": s.Drawer, "slot": s.Number, "name": s.Name, "disk": s.Disk, "led": led, "on": on})
	}
	fmt.Fprintf(w, "%s LED of %s: %s\n", led, slotText(e, s), state)
	return nil
}

// slotTarget names s for Find, with its drawer when it has one.
func slotTarget(e enclosure.Enclosure, s enclosure.Slot) string {
	if s.Drawer > 0 {
		return fmt.Sprintf("%s/%d/%d", e.ID, s.Drawer, s.Number)
	}
	return fmt.Sprintf("%s/%d", e.ID, s.Number)
}

// slotText says which slot: "slot 45 (ArrayDevice45) in drawer 2 of
// enclosure 0x5000c500a1b2c3d4, holding sdcbt".
func slotText(e enclosure.Enclosure, s enclosure.Slot) string {
	t := fmt.Sprintf("slot %d (%s)", s.Number, s.Name)
	if s.Drawer > 0 {
		t += fmt.Sprintf(" in drawer %d", s.Drawer)
	}
	t += " of enclosure " + e.ID
	if s.Disk != "" {
		t += ", holding " + s.Disk
	} else {
		t += ", empty"
	}
	return t
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// writeEnclosures prints each enclosure and its slots as a table.
func writeEnclosures(w io.Writer, encls []enclosure.Enclosure, sysfs string) error {
	if len(encls) == 0 {
		_, err := fmt.Fprintf(w, "no enclosures under %s/class/enclosure (no SES enclosure attached, or the ses module is not loaded)\n", strings.TrimSuffix(sysfs, "/"))
		return err
	}
	for i, e := range encls {
		if i > 0 {
			fmt.Fprintln(w)
		}
		what := strings.TrimSpace(e.Vendor + " " + e.Model)
		if what == "" {
			what = "unknown model"
		}
		fmt.Fprintf(w, "enclosure %s: %s, %d slots", e.ID, what, len(e.Slots))
		if e.Drawers > 0 {
			fmt.Fprintf(w, " in %d drawers", e.Drawers)
		}
		fmt.Fprintf(w, ", %d path(s): %s\n", len(e.Paths), strings.Join(e.Paths, ", "))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DRAWER\tSLOT\tNAME\tDISK\tSTATUS\tFAULT\tLOCATE")
		for _, s := range e.Slots {
			drawer := "-"
			if s.Drawer > 0 {
				drawer = fmt.Sprint(s.Drawer)
			}
			disk := strings.Join(s.Disks, ",")
			if disk == "" {
				disk = "-"
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", drawer, s.Number, s.Name, disk, orDash(s.Status), onOff(s.Fault), onOff(s.Locate))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// The JSON form of the listing.
type (
	jsonEnclosure struct {
		ID      string     `json:"id"`
		Vendor  string     `json:"vendor"`
		Model   string     `json:"model"`
		Paths   []string   `json:"paths"`
		Drawers int        `json:"drawers"`
		Slots   []jsonSlot `json:"slots"`
	}
	jsonSlot struct {
		Drawer int      `json:"drawer"`
		Slot   int      `json:"slot"`
		Name   string   `json:"name"`
		Disk   string   `json:"disk"`
		Disks  []string `json:"disks"`
		Status string   `json:"status"`
		Fault  bool     `json:"fault"`
		Locate bool     `json:"locate"`
	}
)

func writeEnclosuresJSON(w io.Writer, encls []enclosure.Enclosure) error {
	out := make([]jsonEnclosure, 0, len(encls))
	for _, e := range encls {
		je := jsonEnclosure{ID: e.ID, Vendor: e.Vendor, Model: e.Model, Paths: e.Paths, Drawers: e.Drawers, Slots: []jsonSlot{}}
		for _, s := range e.Slots {
			je.Slots = append(je.Slots, jsonSlot{Drawer: s.Drawer, Slot: s.Number, Name: s.Name, Disk: s.Disk,
				Disks: append([]string{}, s.Disks...), Status: s.Status, Fault: s.Fault, Locate: s.Locate})
		}
		out = append(out, je)
	}
	return writeJSON(w, out)
}
