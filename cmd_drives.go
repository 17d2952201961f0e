package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/plinth-storage/plinth/hw"
)

func init() {
	var asJSON bool
	var opts hw.Options
	register(&command{
		name:    "drives",
		summary: "list this machine's drives and whether Plinth can own them",
		help: `Lists the block devices the kernel knows, with model, serial, WWN, size,
rotational flag, zone model and zone geometry, logical block size, and
whether Plinth may own the drive. A drive is refused, with the reason, when it
is mounted, partitioned, held by md/dm, carries a filesystem or RAID
signature, or belongs to another Plinth node.

--sysfs, --dev and --mountinfo point the inventory at a captured tree (a
support bundle) instead of this machine.`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
			fs.StringVar(&opts.SysfsRoot, "sysfs", "/sys", "sysfs root")
			fs.StringVar(&opts.DevRoot, "dev", "/dev", "device node directory")
			fs.StringVar(&opts.MountInfo, "mountinfo", "/proc/self/mountinfo", "mount table")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			if fs.NArg() > 0 {
				return usageError("drives takes no arguments")
			}
			drives, err := hw.Inventory(opts)
			if err != nil {
				return err
			}
			// Enclosure slots are extra detail: a failure to read them is
			// said, not fatal.
			slots, err := hw.EnclosureSlots(opts)
			if err != nil {
				fmt.Fprintf(stderr, "plinth drives: enclosure slots unknown: %v\n", err)
				slots = nil
			}
			if asJSON {
				return hw.WriteJSONWithSlots(stdout, drives, slots)
			}
			return hw.WriteTableWithSlots(stdout, drives, slots)
		},
	})
}
