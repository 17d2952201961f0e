package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/plinth-storage/plinth/appliance"
)

func init() {
	var dataDir string
	var asJSON bool
	register(&command{
		name:    "fsstat",
		summary: "print the space of a stopped node: each pool's and the node's",
		usage:   "[DRIVE...]",
		help: `Opens a node that is not running (the embedded default in the data
directory, or the DRIVEs given) and prints, for each pool and for the node:
raw space, metadata space, usable space after redundancy, used, free,
reclaimable by cleaning, the cleaner's reserve, and the metadata store's use
and reserve, with the reason when the pool is write-protected.

Opening the node replays the metadata journal and resumes the sets that were
open, as a start would; it moves no data.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dataDir, "data", appliance.DefaultDataDir, "data directory of the embedded default")
			fs.BoolVar(&asJSON, "json", false, "print JSON")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			paths := fs.Args()
			if len(paths) == 0 {
				var err error
				if paths, err = defaultDrives(dataDir, ""); err != nil {
					return err
				}
			}
			on, err := openStopped(paths, stderr)
			if err != nil {
				return err
			}
			st := appliance.FSStat(on.pools)
			if asJSON {
				err = writeJSON(stdout, st)
			} else {
				for _, f := range st.Pools {
					fmt.Fprintln(stdout, f)
				}
				fmt.Fprintf(stdout, "node: %v\n", st.Total)
			}
			return errors.Join(err, on.close())
		},
	})
}
