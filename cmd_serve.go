package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

func init() {
	var dataDir string
	var once bool
	register(&command{
		name:    "serve",
		summary: "run the node: open (and on first start create) its drives",
		usage:   "[DRIVE...]",
		help: `Runs the node. With no DRIVE arguments it uses the embedded default: six
emulated host-managed SMR drives (sparse files of 16 GiB each) in the data
directory, created and formatted on first start. With DRIVE arguments it
opens those drives (block devices or files formatted by 'plinth mkfs').

It opens every drive exclusively, checks that their labels describe one node,
opens the metadata store and the node's pool (created on first start with
the layout the drive count calls for: 6 or more drives 4+2, 4-5 2+2, 3 a
3-way mirror, fewer a single copy, with a warning), prints the node, its
drives and the pool's space, and holds the drives until interrupted (Ctrl-C
or SIGTERM), then closes the pool and takes a final metadata checkpoint.
This build serves no data over the network yet: the object and key-value
API is not part of it.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dataDir, "data", appliance.DefaultDataDir, "data directory of the embedded default")
			fs.BoolVar(&once, "once", false, "report the node and exit instead of holding the drives")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			paths := fs.Args()
			if len(paths) == 0 {
				var created bool
				var err error
				paths, created, err = appliance.EnsureDefault(dataDir, appliance.DefaultOptions{Progress: stdout})
				if err != nil {
					return err
				}
				if created {
					fmt.Fprintf(stdout, "created the embedded default node in %s\n", dataDir)
				}
			}
			node, err := appliance.OpenNode(paths)
			if err != nil {
				return err
			}
			defer node.Close()
			if err := node.WriteReport(stdout); err != nil {
				return err
			}
			on, err := openPools(node, store.Options{Events: func(e store.Event) {
				if e.Kind != "checkpoint" {
					fmt.Fprintln(stderr, "metadata:", e)
				}
			}}, pool.Options{Events: func(e pool.Event) {
				fmt.Fprintln(stderr, "pool:", e)
			}}, stderr)
			if err != nil {
				return err
			}
			st := on.meta.Stats()
			fmt.Fprintf(stdout, "metadata: %d mirrors, checkpoint %d, journal replayed to LSN %d, %d trees\n",
				st.Journal.Healthy, st.CheckpointGen, st.AppliedLSN, st.Trees)
			for _, f := range appliance.FSStat(on.pools).Pools {
				fmt.Fprintln(stdout, f)
			}
			if !once {
				fmt.Fprintf(stdout, "holding %d drives (pid %d); this build serves no data yet. Ctrl-C to stop.\n", len(node.Drives), os.Getpid())
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				<-ctx.Done()
				fmt.Fprintln(stdout, "stopping: final checkpoint, releasing the drives")
			}
			return on.close()
		},
	})
}
