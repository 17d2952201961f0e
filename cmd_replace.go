package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/server"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/io/zonemu"
	"github.com/plinth-storage/plinth/superblock"
)

func init() {
	var dataDir string
	var force, create bool
	register(&command{
		name:    "replace-drive",
		summary: "format a new drive into a stopped node in place of a drive that is gone",
		usage:   "POS NEWDRIVE [DRIVE...]",
		help: `Formats NEWDRIVE as the node's drive at position POS, in place of a drive
that failed and was taken out. The node must be stopped, and opened here
without the old drive: the node's other drives are the DRIVE arguments, or
the embedded default's in --data (leave the old drive's file out of it).

It refuses unless every member the old drive held has been rebuilt onto the
other drives (start the node with the drive missing, or mark it out, and let
the rebuild finish: GET /v1/status), unless NEWDRIVE has the old drive's
geometry (segment count and size), and when NEWDRIVE carries a Plinth label
(--force destroys it). On success the drive's recorded state is cleared: at
the next start it is online and empty, new data goes to it, and the node
moves data onto it in the background (a rebalance).

A metadata drive (positions 0-2) is then rebuilt from the other metadata
mirrors before the command returns (a resilver, with progress on stderr):
every metadata node is rewritten onto all mirrors, and the new drive takes
the journal from then on. If it is interrupted, the node finishes it in the
background at its next start (GET /v1/status shows it), and until then
reads metadata only from the other mirrors.

--create makes NEWDRIVE, an emulated zoned drive file with the old drive's
zones, for the embedded default (whose drive files are in DATA/drives).`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dataDir, "data", appliance.DefaultDataDir, "data directory of the embedded default")
			fs.BoolVar(&force, "force", false, "format a NEWDRIVE that carries a Plinth label")
			fs.BoolVar(&create, "create", false, "create NEWDRIVE as an emulated zoned drive file like the one it replaces")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			if fs.NArg() < 2 {
				return usageError("name the position and the new drive")
			}
			pos, err := strconv.Atoi(fs.Arg(0))
			if err != nil || pos < 0 {
				return usageError("position %q: want a drive position (0, 1, ...)", fs.Arg(0))
			}
			newPath := fs.Arg(1)
			paths := fs.Args()[2:]
			if len(paths) == 0 {
				var err error
				if paths, err = defaultDrives(dataDir, newPath); err != nil {
					return err
				}
			}
			on, err := openStopped(paths, stderr)
			if err != nil {
				return err
			}
			node := on.node
			closed := false
			defer func() {
				if !closed {
					on.close()
				}
			}()
			ctx := context.Background()
			if err := node.CanReplace(ctx, on.pools, pos); err != nil {
				return err
			}
			if create {
				if err := createLike(on.meta, pos, newPath); err != nil {
					return err
				}
			}
			d, err := appliance.OpenDevice(newPath)
			if err != nil {
				return err
			}
			defer d.Close()
			l, err := node.ReplaceDrive(ctx, on.meta, on.pools, pos, d, force)
			if err != nil {
				return err
			}
			if err := server.ClearDriveState(ctx, on.meta, pos); err != nil {
				return fmt.Errorf("clear the state of drive %d: %w", pos, err)
			}
			closed = true
			if err := on.close(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "formatted %s as drive %d of node %s (drive %s, %d segments)\n", newPath, pos, l.Node, l.Drive, l.NrSegments)
			if l.Meta.Holds() {
				d.Close()
				if err := resilverMetadata(append(paths, newPath), pos, stdout, stderr); err != nil {
					return fmt.Errorf("%w\nthe drive is formatted into the node; start the node and it finishes the rebuild of its metadata in the background (GET /v1/status)", err)
				}
			}
			fmt.Fprintln(stdout, "start the node with it")
			return nil
		},
	})
}

// resilverMetadata opens the node on paths (the new metadata drive at
// pos among them) and rebuilds the metadata mirror there from the others,
// with a progress bar on stderr when it is a terminal.
func resilverMetadata(paths []string, pos int, stdout, stderr io.Writer) error {
	node, err := appliance.OpenNode(paths)
	if err != nil {
		return err
	}
	defer node.Close()
	st, err := node.OpenStore(store.Options{ManualResilver: true})
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription(fmt.Sprintf("rebuilding the metadata of drive %d", pos)),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
	}
	lastLine := time.Now()
	err = st.Resilver(context.Background(), func(p store.ResilverProgress) {
		if bar != nil {
			if p.Bytes > 0 {
				bar.ChangeMax64(int64(p.Bytes))
			}
			_ = bar.Set64(int64(p.BytesDone)) // drawing on a terminal: nothing to do about an error
			return
		}
		if time.Since(lastLine) >= 2*time.Second || p.Done {
			fmt.Fprintf(stderr, "rebuilding the metadata of drive %d: %d of %d metadata segments (%d of %d bytes)\n", pos, p.Rewritten, p.Segments, p.BytesDone, p.Bytes)
			lastLine = time.Now()
		}
	})
	if bar != nil {
		_ = bar.Clear()
	}
	r := st.Stats().Resilver
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rebuild the metadata of drive %d from the other mirrors: %w", pos, err)
	}
	if !r.Done {
		return fmt.Errorf("rebuild the metadata of drive %d from the other mirrors: the store did not find it partial", pos)
	}
	fmt.Fprintf(stdout, "rebuilt the metadata of drive %d from the other mirrors: %d bytes of live metadata (in %d metadata segments) rewritten onto every mirror\n", pos, r.BytesDone, r.Rewritten)
	return nil
}

// createLike makes an emulated zoned drive file with the zones of the
// drive recorded at pos.
func createLike(st *store.Store, pos int, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("--create: %s exists", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	v, ok, err := st.Get(appliance.LabelsTree, binary.BigEndian.AppendUint32(nil, uint32(pos)))
	if err != nil || !ok {
		return fmt.Errorf("--create: drive %d's description is not recorded (%v)", pos, err)
	}
	var l superblock.Label
	if err := json.Unmarshal(v, &l); err != nil {
		return fmt.Errorf("--create: %w", err)
	}
	cfg := appliance.DefaultDriveConfig()
	cfg.ZoneSize, cfg.ZoneCapacity, cfg.NrZones = l.ZoneSize, l.ZoneSize, int(l.NrZones)
	if l.ZoneSize == 0 || l.NrZones == 0 {
		return fmt.Errorf("--create: drive %d was not a zoned drive; create its replacement by hand", pos)
	}
	z, err := zonemu.CreateFile(path, cfg)
	if err != nil {
		return fmt.Errorf("--create: %w", err)
	}
	return z.Close()
}
