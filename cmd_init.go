package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/initd"
	"github.com/plinth-storage/plinth/hw"
	"github.com/plinth-storage/plinth/images"
	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/superblock"
)

// initMarkGood marks the booted firmware slot in dir good (plinth.slots:
// the directory, or where init mounted the partition), making a slot on
// trial the active one.
func initMarkGood(dir string) (string, error) {
	slots, err := images.OpenSlots(dir)
	if err != nil {
		return "", err
	}
	active, promoted, err := slots.MarkGood()
	if err != nil {
		return "", err
	}
	if promoted {
		return fmt.Sprintf("firmware slot %s (on trial) marked good and made active, in %s", active, dir), nil
	}
	return fmt.Sprintf("firmware slot %s marked good, in %s", active, dir), nil
}

func init() {
	register(&command{
		name:    "init",
		summary: "be the firmware image's first process (PID 1): boot, serve, shut down",
		help: `Runs as PID 1 of the firmware image: the kernel starts /init, a link to
/bin/plinth, and plinth runs this command when started under the name
"init" (it then ignores its arguments). It refuses to run as any other
process: it mounts filesystems and reboots the machine.

Boot, each step logged on the console as "plinth init: [SECONDS] ...":
  1. mount proc, sysfs, devtmpfs, and tmpfs on /run, /tmp and the data
     directory /var/lib/plinth (RAM: the token, events and console socket
     there do not survive a reboot);
  2. read the kernel command line (parameters below);
  3. load the modules listed in /etc/plinth/modules ("PATH [param=value...]"
     per line, dependencies first);
  4. wait for block devices (plinth.settle) and log every drive found;
     mount the firmware slots partition (plinth.slots) on /run/plinth-slots;
  5. configure the network (ip=);
  6. run the plinth.run hook;
  7. find the node's drives: the labelled drives of one node are served (a
     blank drive beside them is a candidate replacement, left alone); when
     no drive is labelled, plinth.format=blank and every drive is blank,
     all are formatted into a new node; otherwise init idles and says what
     to do;
  8. fsck at boot (plinth.fsck); errors left uncorrected (exit 4 or more)
     keep serve from starting;
  9. copy /etc/plinth/token to /var/lib/plinth/token (mode 0600) and run
     'plinth serve --data /var/lib/plinth [--config /etc/plinth/config.json]
     --drive D...', restarting it after 1s, 2s, 4s ... (at most 30s) when it
     exits on its own, at most 5 times in 10 minutes;
 10. reap every process that exits (PID 1 inherits orphans).

Kernel command line parameters (a value in double quotes may hold spaces):
  plinth.format=blank|never   format all-blank drives on first boot
                              (default never)
  plinth.drives=auto|P,P...   the drives to use (default auto: every whole
                              drive but loop, RAM and optical devices)
  plinth.fsck=off|boot|shutdown|boot,shutdown
                              run 'plinth fsck' on the drives before serve
                              and/or after it stopped (default off)
  plinth.run="PROG ARGS..."   run PROG before the drives are looked at
                              (factory and test use); its output goes to
                              the console, then "run PROG: exit N"
  plinth.settle=DURATION      longest wait for block devices (default 3s)
  plinth.slots=DEVICE|DIR     the firmware slots: a partition (ext4, mounted
                              on /run/plinth-slots; its disk is never a data
                              drive) or a directory. Once serve is up, the
                              booted slot is marked good. When the partition
                              cannot be mounted, serve starts anyway and
                              nothing is marked good (a slot on trial goes
                              back at the next boot)
  ip=CLIENT:SERVER:GW:NETMASK:HOSTNAME:DEVICE:off
                              static address, default route and host name
                              (the kernel's nfsroot syntax; several allowed;
                              DEVICE default the first interface; ip=off:
                              loopback only)

Shutdown (busybox init's conventions): Ctrl-Alt-Del, SIGINT or SIGTERM
reboots; SIGUSR2, SIGPWR or the ACPI power button (a BMC's graceful
shutdown) powers off. serve gets SIGTERM and 60s to drain
and take its final checkpoint (then SIGKILL), fsck runs if plinth.fsck says
shutdown, filesystems are synced, the slots partition and the data
directory unmounted, and the machine reboots or powers off.`,
		run: func(fs *flag.FlagSet, stdout, _ io.Writer) error {
			if fs.NArg() > 0 {
				return usageError("init takes no arguments")
			}
			if pid := os.Getpid(); pid != 1 {
				return usageError("plinth init is the firmware image's first process (PID 1) and this is pid %d: it would mount filesystems and reboot the machine", pid)
			}
			out, ok := stdout.(*os.File)
			if !ok {
				out = os.Stdout
			}
			initd.Run(initd.Config{
				Out:      out,
				Version:  version,
				Self:     "/proc/self/exe",
				Format:   formatInitDrives,
				MarkGood: initMarkGood,
			})
			return nil // not reached: Run reboots
		},
	})
}

// formatInitDrives formats drives as one new node, as plinth mkfs does,
// and returns the node's UUID. The drives are ordered so that the first
// ones can hold the node's metadata (see metadataOrder).
func formatInitDrives(drives []hw.Drive, progress io.Writer) (string, error) {
	var devs []dev.Device
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	for _, d := range drives {
		dv, err := appliance.OpenDevice(d.Path)
		if err != nil {
			return "", err
		}
		devs = append(devs, dv)
	}
	seg := initSegmentSize(drives)
	ordered, err := metadataOrder(devs, seg)
	if err != nil {
		return "", err
	}
	id, err := appliance.FormatNode(ordered, appliance.FormatOptions{SegmentSize: seg, Progress: progress})
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// metadataOrder orders devs for formatting. The first drives (up to
// appliance.MetadataMirrors) hold the mirrored metadata, and mirrors need
// the same metadata layout, which depends on a drive's segment count: so
// the first drives are the largest set of drives sharing a layout (the
// layout with the most metadata space among equals), larger drives
// first; the rest follow, larger first. It fails, before anything is
// written, when no such set exists.
func metadataOrder(devs []dev.Device, segmentSize int64) ([]dev.Device, error) {
	type planned struct {
		d    dev.Device
		size int64
		meta superblock.Meta
		ok   bool // can hold metadata
	}
	ps := make([]planned, len(devs))
	for i, d := range devs {
		l, err := superblock.Plan(d, superblock.Label{Node: uuid.New(), Drive: uuid.New(), Position: uint32(i),
			NodeDrives: uint32(len(devs)), Created: time.Now(), Layout: superblock.Layout{SegmentSize: segmentSize}})
		if err != nil {
			return nil, err
		}
		m, err := appliance.MetadataLayout(l.NrSegments)
		ps[i] = planned{d: d, size: d.Geometry().Size, meta: m, ok: err == nil}
	}
	slices.SortStableFunc(ps, func(a, b planned) int { return cmp.Compare(b.size, a.size) })
	mirrors := min(appliance.MetadataMirrors, len(ps))
	var best *superblock.Meta
	count := map[superblock.Meta]int{}
	for _, p := range ps {
		if p.ok {
			count[p.meta]++
		}
	}
	for _, p := range ps {
		if p.ok && count[p.meta] >= mirrors && (best == nil || p.meta.SegCount > best.SegCount) {
			best = &p.meta
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no %d of these drives have the same metadata layout (the metadata is mirrored on the first %d drives of a node, and the layout grows with the drive): give drives of similar sizes", mirrors, mirrors)
	}
	var first, rest []dev.Device
	for _, p := range ps {
		if len(first) < mirrors && p.ok && p.meta == *best {
			first = append(first, p.d)
		} else {
			rest = append(rest, p.d)
		}
	}
	return append(first, rest...), nil
}

// initSegmentSize is the segment size of conventional drives formatted
// beside zoned ones: their zone size, when they all have the same, so that
// every member of a segment set is the same size (a set's members hold as
// much as its smallest one: 256 MiB conventional segments beside 16 MiB
// zones would waste most of each). 0 (the default) otherwise.
func initSegmentSize(drives []hw.Drive) int64 {
	var zone int64
	for _, d := range drives {
		if d.ZoneSize == 0 {
			continue
		}
		if zone != 0 && d.ZoneSize != zone {
			return 0
		}
		zone = d.ZoneSize
	}
	return zone
}
