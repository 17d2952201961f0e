package appliance

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/plinth-storage/plinth/internal/human"
)

// WriteReport prints the node and a row per drive: what an operator needs
// to see that the right drives are in the right places.
func (n *Node) WriteReport(w io.Writer) error {
	fmt.Fprintf(w, "node %s: %d of %d drives present\n", n.ID, len(n.Drives), n.Formatted)
	if len(n.Missing) > 0 {
		fmt.Fprintf(w, "MISSING: drive positions %v are not present; find them or replace them\n", n.Missing)
	}
	for _, u := range n.Unreadable {
		fmt.Fprintf(w, "UNREADABLE: %s is left out: %v; replace it\n", u.Path, u.Err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POS\tPATH\tDRIVE\tSIZE\tZONED\tZONES\tSEGMENTS\tSEGMENT\tFORMATTED\tLABEL SEQ")
	for _, d := range n.Drives {
		l := d.Label.Label()
		g := d.Dev.Geometry()
		zones := "-"
		if g.NrZones > 0 {
			zones = fmt.Sprintf("%d x %s", g.NrZones, human.IBytes(g.ZoneSize))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\n",
			l.Position, d.Path, l.Drive, human.IBytes(g.Size), g.Zoned, zones,
			l.NrSegments, human.IBytes(l.SegmentSize), l.Created.Format("2006-01-02 15:04"), d.Label.Seq())
	}
	return tw.Flush()
}
