package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/plinth-storage/plinth/tools/torture"
)

func init() {
	var (
		seeds, first, seed uint64
		ops, parallel      int
		faults, keep       string
		exceed, asJSON, v  bool
		shrink             time.Duration
	)
	register(&command{
		name:    "torture",
		summary: "run the whole-node torture harness: seeded operations and faults against a model",
		usage:   "",
		help: `Runs seeds of the whole-node torture harness (package tools/torture): each
seed formats a node of eight in-memory drives (pool 4+2, metadata mirrored
three ways), runs a seeded list of object, versioned and key-value
operations, checkpoints, cleaning, scrubs and rebuilds against it while
injecting faults, and compares everything the node says with a model. After
every power cut the node is reopened and checked whole. Nothing touches real
drives.

Faults (--faults): all, none, or a list of kinds with optional rates (the
chance per operation): powercut, loss, eio, latency, bitflip, misdirect;
e.g. --faults powercut=0.05,bitflip. Faults damage at most two drives, one
of them a metadata mirror, which the layout survives; --exceed lets them
damage three, two of them mirrors: the node may then lose data but must
fail cleanly (errors, never wrong bytes).

A failing seed prints its failures and a shortened reproduction (a
--seed ... --keep ... command that runs only the operations that matter).
The figures at the end: seeds, operations, power cuts, faults by kind,
acknowledged writes lost, wrong reads, checker failures. Exit status 1
when a seed failed.

Examples:
  plinth torture --seeds 1000
  plinth torture --seeds 200 --faults powercut,bitflip=0.1 --ops 300
  plinth torture --seed 17 --keep 3-5,9 -v`,
		flags: func(fs *flag.FlagSet) {
			fs.Uint64Var(&seeds, "seeds", 100, "how many seeds to run")
			fs.Uint64Var(&first, "first", 1, "the first seed")
			fs.Uint64Var(&seed, "seed", 0, "run only this seed (with -v: trace every operation)")
			fs.IntVar(&ops, "ops", 100, "operations per seed")
			fs.StringVar(&faults, "faults", "all", "fault kinds and rates: all, none, or e.g. powercut=0.05,eio,bitflip")
			fs.BoolVar(&exceed, "exceed", false, "let faults exceed what the layout promises to survive")
			fs.StringVar(&keep, "keep", "", "run only these operations of the seed (a reproduction's list, e.g. 3-5,9)")
			fs.IntVar(&parallel, "parallel", min(runtime.GOMAXPROCS(0), 4), "seeds run at once (each holds about 450 MiB)")
			fs.DurationVar(&shrink, "shrink", 2*time.Minute, "time each failing seed may spend shortening its reproduction (0: none)")
			fs.BoolVar(&asJSON, "json", false, "print the figures as JSON")
			fs.BoolVar(&v, "v", false, "with --seed: trace every operation")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			if fs.NArg() > 0 {
				return usageError("unexpected arguments %q", fs.Args())
			}
			f, err := torture.ParseFaults(faults)
			if err != nil {
				return usageError("--faults: %v", err)
			}
			if ops <= 0 || parallel <= 0 {
				return usageError("--ops and --parallel must be positive")
			}
			cfg := torture.Config{Ops: ops, Faults: f, Exceed: exceed}
			if keep != "" {
				if seed == 0 {
					return usageError("--keep needs --seed")
				}
				if cfg.Keep, err = torture.ParseKeep(keep); err != nil {
					return usageError("--keep: %v", err)
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			var tot torture.Totals
			if seed != 0 {
				cfg.Seed = seed
				if v {
					cfg.Trace = stderr
				}
				res := torture.Run(cfg)
				tot.Add(res)
				if res.Failed() {
					fmt.Fprintf(stdout, "FAILED: seed %d, after operation %d of the run:\n", seed, res.FailedAt)
					for _, f := range res.Failures {
						fmt.Fprintf(stdout, "  %s\n", f)
					}
					fmt.Fprint(stdout, torture.Reproduction(cfg, cfg.Keep))
				}
			} else {
				tot = torture.Campaign(ctx, torture.CampaignOptions{
					First: first, Seeds: seeds, Config: cfg, Parallel: parallel, Shrink: shrink,
					Progress: stderr, Failures: stdout,
				})
			}
			if asJSON {
				if err := writeJSON(stdout, tot); err != nil {
					return err
				}
			} else {
				tot.Write(stdout)
			}
			if len(tot.FailedSeeds) > 0 {
				return fmt.Errorf("%d of %d seeds failed: %v", len(tot.FailedSeeds), tot.Seeds, tot.FailedSeeds)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted after %d seeds", tot.Seeds)
			}
			return nil
		},
	})
}
