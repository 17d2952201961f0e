package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"golang.org/x/term"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/tools/fsck"
)

func init() {
	var dataDir string
	var deep, asJSON bool
	register(&command{
		name:     "fsck",
		summary:  "check a stopped node's drives offline, writing nothing",
		usage:    "[DRIVE... | --data DIR]",
		badUsage: fsck.ExitOperational,
		help: `Checks a node that is not running: the DRIVEs given (all the node's drives,
in any order), or the embedded default's in --data. It writes nothing to the
drives and refuses drives another process holds (a running node), naming
the process.

Phases, each with its progress on stderr (a bar with an estimate of the time
left on a terminal, one line per phase otherwise or with --json):
  1. labels and superblocks: both superblock areas of every drive, missing
     drives by position, the metadata mirrors' checkpoint pointers;
  2. journal: the newest checkpoint and the journal after it, replayed in
     memory only (a torn tail, which a crash leaves, is a note);
  3. B-trees: every tree's structure, checksums, key order and
     reachability, every mirror's copy of every node, the metadata space;
  4. cross-checks: the allocator's tables, the index against them (extents
     inside their sets, live bytes, no record referenced twice), member
     segment headers, orphaned space;
  5. with --deep: every stripe read whole, data and parity verified, and
     every live record read back against the index.

Prints what it found, phase by phase, with where and what to do (--json: one
report object). Exit status, as e2fsck: 0 no errors, 4 errors left
uncorrected (this version repairs nothing), 8 fsck could not run (bad
arguments, a drive that cannot be opened or is in use).`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dataDir, "data", appliance.DefaultDataDir, "data directory of the embedded default (when no DRIVE is given)")
			fs.BoolVar(&deep, "deep", false, "also read and verify every stripe (data and parity) and every live record")
			fs.BoolVar(&asJSON, "json", false, "print the report as JSON on stdout")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			paths := fs.Args()
			dataSet := false
			fs.Visit(func(f *flag.Flag) { dataSet = dataSet || f.Name == "data" })
			if len(paths) > 0 && dataSet {
				return fsckFailed(fmt.Errorf("give DRIVEs or --data, not both; run 'plinth fsck -h' for help"))
			}
			if len(paths) == 0 {
				var err error
				if paths, err = defaultDrives(dataDir, ""); err != nil {
					return fsckFailed(err)
				}
			}
			var progress fsck.Progress
			if f, ok := stderr.(*os.File); ok && !asJSON && term.IsTerminal(int(f.Fd())) {
				progress = fsck.Bars(stderr)
			} else {
				progress = fsck.Lines(stderr)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			r, err := fsck.Check(ctx, fsck.Options{Drives: paths, Deep: deep, Progress: progress})
			if err != nil {
				return fsckFailed(err)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(r)
			} else {
				err = r.WriteText(stdout)
			}
			if err != nil {
				return fsckFailed(fmt.Errorf("print the report: %w", err))
			}
			if r.ExitCode != fsck.ExitClean {
				return &exitError{code: r.ExitCode, err: fmt.Errorf("%d errors left uncorrected", r.Errors)}
			}
			return nil
		},
	})
}

// fsckFailed is an error that kept fsck from checking: exit status 8.
func fsckFailed(err error) error { return &exitError{code: fsck.ExitOperational, err: err} }
