package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/hw"
	"github.com/plinth-storage/plinth/internal/human"
	"github.com/plinth-storage/plinth/io/dev"
)

func init() {
	var force bool
	var segSize string
	register(&command{
		name:    "mkfs",
		summary: "format drives as a new node",
		usage:   "DRIVE...",
		help: `Formats the given drives as the drives of one new node, in the order given
(the first is position 0). Each drive gets a label in its two superblock
areas; data zones are reset (zoned drives) or discarded (conventional drives).

A DRIVE is a whole block device (/dev/sdb, /dev/nvme0n2, /dev/disk/by-id/...)
or a regular file (make one with 'truncate -s 4G drive.img'); emulated zoned
drives made by 'plinth serve' are files too.

mkfs refuses, before writing anything:
  - a block device the drive inventory refuses (mounted, partitioned, held by
    md/dm, or carrying a filesystem or RAID signature): clear it first, e.g.
    with 'wipefs -a', after making sure nothing on it is needed;
  - a drive that carries a Plinth label, unless --force.`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&force, "force", false, "format drives that carry a Plinth label, destroying the node they belong to")
			fs.StringVar(&segSize, "segment-size", "256MiB", "segment size on conventional drives (on zoned drives a segment is a zone)")
		},
		run: func(fs *flag.FlagSet, stdout, _ io.Writer) error {
			paths := fs.Args()
			if len(paths) == 0 {
				return usageError("name the drives to format")
			}
			seg, err := human.ParseBytes(segSize)
			if err != nil {
				return usageError("--segment-size: %v", err)
			}
			if err := checkInventory(paths); err != nil {
				return err
			}
			var devs []dev.Device
			defer func() {
				for _, d := range devs {
					d.Close()
				}
			}()
			for _, p := range paths {
				d, err := appliance.OpenDevice(p)
				if err != nil {
					return err
				}
				devs = append(devs, d)
			}
			id, err := appliance.FormatNode(devs, appliance.FormatOptions{Force: force, SegmentSize: seg, Progress: stdout})
			if err != nil {
				return err
			}
			for _, d := range devs {
				d.Close()
			}
			devs = nil
			fmt.Fprintf(stdout, "formatted node %s\n", id)
			node, err := appliance.OpenNode(paths)
			if err != nil {
				return fmt.Errorf("reading back the new labels: %w", err)
			}
			defer node.Close()
			return node.WriteReport(stdout)
		},
	})
}

// checkInventory refuses block devices that the drive inventory refuses.
// Labels are not the inventory's business here: FormatNode checks them,
// with --force to override.
func checkInventory(paths []string) error {
	var blockNames []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0 {
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				return err
			}
			blockNames = append(blockNames, filepath.Base(real))
		}
	}
	if len(blockNames) == 0 {
		return nil
	}
	drives, err := hw.Inventory(hw.Options{SkipLabels: true})
	if err != nil {
		return fmt.Errorf("drive inventory: %w", err)
	}
	byName := map[string]hw.Drive{}
	for _, d := range drives {
		byName[d.Name] = d
	}
	var refused []string
	for _, name := range blockNames {
		d, ok := byName[name]
		switch {
		case !ok:
			refused = append(refused, fmt.Sprintf("/dev/%s: not a whole drive in the inventory (a partition? Plinth owns whole drives)", name))
		case !d.Usable():
			refused = append(refused, fmt.Sprintf("%s: %s", d.Path, strings.Join(d.Refused, "; ")))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("refusing to format:\n  %s", strings.Join(refused, "\n  "))
	}
	return nil
}
