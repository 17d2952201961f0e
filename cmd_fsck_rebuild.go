package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/tools/beck"
	"github.com/plinth-storage/plinth/tools/fsck"
)

// rebuildIndexHelp is what 'plinth fsck -h' says of --rebuild-index.
const rebuildIndexHelp = "rebuild every index from the data logs, in a fresh metadata store (the last resort when the metadata is lost); " +
	"replaces a readable store only with --yes; resumes when run again after an interruption; objects and key-value indexes come back from the logs"

// fsckRebuildIndex runs 'plinth fsck --rebuild-index' (package
// tools/beck) on the DRIVEs, or the embedded default's in dataDir, with
// the pools of the configuration file when one is given.
func fsckRebuildIndex(paths []string, dataDir, configPath string, yes, others, asJSON bool, stdout, stderr io.Writer) error {
	if others {
		return fsckFailed(errors.New("--rebuild-index goes with --yes, --config, --json and the drives only"))
	}
	var pools []appliance.PoolSpec
	if configPath != "" {
		cfg, err := server.LoadConfig(configPath)
		if err != nil {
			return fsckFailed(err)
		}
		if pools, err = beck.PoolsFromConfig(cfg.Pools); err != nil {
			return fsckFailed(fmt.Errorf("config: %w", err))
		}
		if len(paths) == 0 {
			paths = cfg.Drives
		}
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
	r, err := beck.Rebuild(ctx, beck.Options{Drives: paths, Pools: pools, Yes: yes, Progress: progress})
	if errors.Is(err, context.Canceled) {
		return fsckFailed(errors.New("interrupted: run the same command again to resume the rebuild where it stopped; do not start the node before it is done"))
	}
	if err != nil {
		return fsckFailed(err)
	}
	if err := writeFsckReport(stdout, &r, asJSON); err != nil {
		return err
	}
	if r.ExitCode == fsck.ExitCorrected {
		return &exitError{code: r.ExitCode, err: errors.New("the index was rebuilt from the data logs")}
	}
	return &exitError{code: r.ExitCode, err: fmt.Errorf("the index was rebuilt; %d objects could not be restored, %d stripes were damaged", len(r.Lost), r.Counters.DamagedStripes)}
}
