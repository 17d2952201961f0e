package hw

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/plinth-storage/plinth/hw/enclosure"
	"github.com/plinth-storage/plinth/io/dev"
)

// WriteTable writes drives as aligned columns, one drive per line:
//
//	NAME  SIZE   MODEL  SERIAL  ROT  ZONED  ZONES  LBS  STATUS
//
// SIZE is in decimal units (18.0T is 18×10¹² bytes, as on the drive's
// label), ZONES is "-" for a conventional drive, LBS is the logical block
// size, and STATUS is "ok" or "refused: " followed by the reasons separated
// by "; ". Unknown identity fields print as "-".
func WriteTable(w io.Writer, drives []Drive) error {
	return WriteTableWithSlots(w, drives, nil)
}

// WriteTableWithSlots is WriteTable with an ENCL/SLOT column after NAME
// when slots (from EnclosureSlots) places any of the drives: enclosure ID
// and slot number, and the drawer when the enclosure has drawers; "-" for
// a drive in no slot. Without such a drive the table is WriteTable's.
func WriteTableWithSlots(w io.Writer, drives []Drive, slots map[string]enclosure.Location) error {
	located := false
	for _, d := range drives {
		_, ok := slots[d.Name]
		located = located || ok
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "NAME\t"
	if located {
		head += "ENCL/SLOT\t"
	}
	fmt.Fprintln(tw, head+"SIZE\tMODEL\tSERIAL\tROT\tZONED\tZONES\tLBS\tSTATUS")
	for _, d := range drives {
		name := cell(d.Name)
		if located {
			where := "-"
			if l, ok := slots[d.Name]; ok {
				where = l.String()
			}
			name += "\t" + cell(where)
		}
		zones := "-"
		if d.Zoned != dev.ZoneModelNone {
			zones = strconv.Itoa(d.NrZones)
		}
		rot := "no"
		if d.Rotational {
			rot = "yes"
		}
		status := "ok"
		if !d.Usable() {
			status = "refused: " + strings.Join(d.Refused, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n",
			name, humanSize(d.Size), cell(d.Model), cell(d.Serial),
			rot, d.Zoned, zones, d.LogicalBlockSize, cell(status))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write drive table: %w", err)
	}
	return nil
}

// cell makes s safe for one table cell: "-" when empty, control characters
// (tabs, newlines from a mount point) shown as "?".
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// humanSize renders bytes with one decimal in powers of 1000: 512B, 1.9T,
// 18.0T.
func humanSize(b int64) string {
	if b < 1000 {
		return fmt.Sprintf("%dB", b)
	}
	const units = "KMGTPE"
	v, i := float64(b)/1000, 0
	for v >= 999.95 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return fmt.Sprintf("%.1f%c", v, units[i])
}
