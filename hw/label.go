package hw

import "fmt"

// checkLabel reads the drive's Plinth label through opts.Label, records the
// node it names and returns a refusal reason ("" when the drive may be
// used: no label, or this node's label).
func checkLabel(d *Drive, opts Options) string {
	if opts.Label == nil {
		return ""
	}
	node, found, err := opts.Label(d.Path)
	switch {
	case err != nil:
		return fmt.Sprintf("cannot read Plinth label: %v", err)
	case !found:
		return ""
	case node == "":
		return "carries a Plinth label that names no node"
	}
	d.PlinthNode = node
	switch {
	case opts.ThisNode == "":
		return fmt.Sprintf("labelled by Plinth node %s (this node has no UUID yet)", node)
	case node != opts.ThisNode:
		return fmt.Sprintf("belongs to another Plinth node: %s", node)
	}
	return ""
}
