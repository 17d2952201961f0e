package main

import (
	"context"
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
	var deep, asJSON, repair, yes, dryRun, clearLostFound bool
	var rebuildIndex bool // --rebuild-index: cmd_fsck_rebuild.go
	var configPath string
	register(&command{
		name:     "fsck",
		summary:  "check a stopped node's drives offline, and repair them (--repair)",
		usage:    "[--repair [--yes | --dry-run] [--clear-lost-found]] [DRIVE... | --data DIR]",
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
report object), and the lost+found listing (objects a repair could not
recover) until it is cleared.

With --repair it then repairs what is safe, through the node's own write
paths with the drives still held exclusively: damaged label records, a
lost label (from the node's record of the drive, once the drive's
segment headers confirm it), damaged or zeroed metadata node copies
(rewritten from good mirrors), the journal's torn tail and lagging
mirrors (a checkpoint), live-byte accounting, records two index entries point at (the record's header
names its owner; the other owner goes to lost+found), corrupt data and
parity units (the stripe's live records rewritten elsewhere), objects in
stripes beyond parity's reach (to lost+found, by bucket and key) and
orphaned sets (released). It asks before each repair ("fix? [y/N]" on the
terminal); --yes answers yes to all; without a terminal and without
--yes it repairs nothing and says so. --dry-run says what it would do and
writes nothing. Every repair is checked again afterwards, and each finding
is reported as fixed or not. A missing drive is not repaired offline:
'plinth serve' rebuilds its members (or 'plinth replace-drive').
--clear-lost-found empties the lost+found listing.

Exit status, as e2fsck: 0 no errors, 1 errors found and all corrected
(--repair), 4 errors left uncorrected, 8 fsck could not run (bad
arguments, a drive that cannot be opened or is in use).`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dataDir, "data", appliance.DefaultDataDir, "data directory of the embedded default (when no DRIVE is given)")
			fs.BoolVar(&deep, "deep", false, "also read and verify every stripe (data and parity) and every live record")
			fs.BoolVar(&asJSON, "json", false, "print the report as JSON on stdout")
			fs.BoolVar(&repair, "repair", false, "repair what is safe to repair, asking before each repair")
			fs.BoolVar(&yes, "yes", false, "with --repair: answer yes to every question")
			fs.BoolVar(&dryRun, "dry-run", false, "with --repair: say what would be repaired, change nothing")
			fs.BoolVar(&clearLostFound, "clear-lost-found", false, "with --repair: also empty the lost+found listing")
			fs.BoolVar(&rebuildIndex, "rebuild-index", false, rebuildIndexHelp)
			fs.StringVar(&configPath, "config", "", "with --rebuild-index: serve's configuration file, for its pools (when the metadata that recorded them is lost)")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			paths := fs.Args()
			dataSet := false
			fs.Visit(func(f *flag.Flag) { dataSet = dataSet || f.Name == "data" })
			if len(paths) > 0 && dataSet {
				return fsckFailed(fmt.Errorf("give DRIVEs or --data, not both; run 'plinth fsck -h' for help"))
			}
			if rebuildIndex || configPath != "" {
				return fsckRebuildIndex(paths, dataDir, configPath, yes, !rebuildIndex || deep || repair || dryRun || clearLostFound, asJSON, stdout, stderr)
			}
			if (yes || dryRun || clearLostFound) && !repair {
				return fsckFailed(fmt.Errorf("--yes, --dry-run and --clear-lost-found go with --repair"))
			}
			if yes && dryRun {
				return fsckFailed(fmt.Errorf("--yes and --dry-run contradict each other: give one"))
			}
			if len(paths) == 0 {
				var err error
				if paths, err = defaultDrives(dataDir, ""); err != nil {
					return fsckFailed(err)
				}
			}
			progress := fsckProgress(stderr, asJSON)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			o := fsck.Options{Drives: paths, Deep: deep, Progress: progress}
			var r fsck.Report
			var err error
			if repair {
				r, err = fsckRepair(ctx, o, yes, dryRun, clearLostFound, stderr)
			} else {
				r, err = fsck.Check(ctx, o)
			}
			if err != nil {
				return fsckFailed(err)
			}
			if err := writeFsckReport(stdout, &r, asJSON); err != nil {
				return err
			}
			switch r.ExitCode {
			case fsck.ExitClean:
				return nil
			case fsck.ExitCorrected:
				return &exitError{code: r.ExitCode, err: fmt.Errorf("errors corrected: %d found, %d fixed, none left", r.Errors, r.Repair.Fixed)}
			}
			left := r.Errors
			if r.Repair != nil && !r.Repair.DryRun {
				left = r.Repair.Left
			}
			return &exitError{code: r.ExitCode, err: fmt.Errorf("%d errors left uncorrected", left)}
		},
	})
}

// fsckStdin is where --repair reads the answers to its questions, and
// fsckTerminal says whether a person is there to answer (tests replace
// both).
var (
	fsckStdin    io.Reader = os.Stdin
	fsckTerminal           = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
)

// fsckRepair runs fsck --repair: the questions on stderr, answered on
// stdin when it is a terminal.
func fsckRepair(ctx context.Context, o fsck.Options, yes, dryRun, clearLostFound bool, stderr io.Writer) (fsck.Report, error) {
	ro := fsck.RepairOptions{Options: o, Yes: yes, DryRun: dryRun, ClearLostFound: clearLostFound, Log: stderr}
	if !yes && !dryRun {
		if fsckTerminal() {
			ro.Confirm = fsck.Prompt(fsckStdin, stderr)
		} else {
			fmt.Fprintln(stderr, "plinth fsck: stdin is not a terminal, so nobody can be asked before a repair: nothing will be repaired; pass --yes to repair without asking, or --dry-run to see what would be done")
		}
	}
	return fsck.Repair(ctx, ro)
}

// fsckFailed is an error that kept fsck from checking: exit status 8.
func fsckFailed(err error) error { return &exitError{code: fsck.ExitOperational, err: err} }

// fsckProgress draws the phases as bars on a terminal, as lines otherwise
// (and with --json, whose report goes to stdout).
func fsckProgress(stderr io.Writer, asJSON bool) fsck.Progress {
	if f, ok := stderr.(*os.File); ok && !asJSON && term.IsTerminal(int(f.Fd())) {
		return fsck.Bars(stderr)
	}
	return fsck.Lines(stderr)
}

// writeFsckReport prints a report (fsck's or the index rebuild's) as text
// or JSON.
func writeFsckReport(stdout io.Writer, r interface{ WriteText(io.Writer) error }, asJSON bool) error {
	var err error
	if asJSON {
		err = writeJSON(stdout, r)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		return fsckFailed(fmt.Errorf("print the report: %w", err))
	}
	return nil
}
