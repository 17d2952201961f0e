package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/server"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func init() {
	var (
		dataDir, configPath, listen, logLevel string
		slotsPath, firmwareKey                string
		drives                                stringList
		logJSON, once                         bool
		drain                                 time.Duration
		defaultDrives                         int
	)
	register(&command{
		name:    "serve",
		summary: "run the node: its drives, pools, objects, key-value indexes and HTTP API",
		usage:   "[DRIVE...]",
		help: `Runs the node. With no drives it uses the embedded default: six emulated
host-managed SMR drives (sparse files of 16 GiB each) in the data directory,
created and formatted on first start. With --drive (or DRIVE arguments, or
"drives" in --config) it opens those drives (block devices or files
formatted by 'plinth mkfs').

It opens every drive exclusively, checks that their labels describe one node,
opens the metadata store, the hybrid clock, the pools (created on first start:
the default pool spans every drive with the layout the drive count calls for,
6 or more drives 4+2, 4-5 2+2, 3 a 3-way mirror, fewer a single copy with a
warning; --config can define several pools on subsets of the drives), the
object store and the key-value indexes, then serves the HTTP API (loopback
by default) with the bearer token kept in DATA/token (generated on first
start, mode 0600). Logs are structured (log/slog) on stderr; events go to the
journal in DATA/events and to GET /v1/events. The support console
(plinth console) is served on DATA/console.sock (mode 0600: root and the
node's user), and on TCP with mutual TLS when "console" is configured.

SIGTERM or SIGINT stops it gracefully: no new requests, those under way get
--drain to finish, then the pools close and the metadata store takes a final
checkpoint.

The configuration file is JSON; every field is optional:

  {"data_dir": "/var/lib/plinth", "drives": ["/dev/sdb", "/dev/sdc", "/dev/sdd"],
   "listen": "127.0.0.1:8350", "tls": {"cert": "node.crt", "key": "node.key"},
   "pools": [{"name": "fast", "drives": [0, 1, 2], "layout": "1+2", "unit": 131072}],
   "pool_selection": "round-robin", "max_object_size": 5497558138880,
   "tombstone_horizon": "168h", "gc_interval": "10m", "drive_error_threshold": 10,
   "scrub_interval": "168h", "rebuild_rate": 268435456,
   "limits": {"max_concurrent": 64, "max_queue": 256, "queue_wait": "10s",
              "max_header_bytes": 65536, "max_key": 900, "max_metadata": 2048},
   "log_level": "info",
   "console": {"listen": "0.0.0.0:8351", "cert": "node.crt", "key": "node.key",
               "client_ca": "support-ca.crt"},
   "firmware": {"slots": "/run/plinth-slots", "public_key": "/etc/plinth/firmware.pub",
                "max_bundle_size": 1073741824}}

With the firmware slots (--slots) and the key bundles are signed with
(--firmware-key), PUT /v1/firmware installs a bundle into the inactive slot
to boot once, GET /v1/firmware shows the slots, and POST
/v1/firmware/reboot asks plinth init to reboot (only when it runs serve).
plinth init passes both when the image has them.

Flags given on the command line override the file.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dataDir, "data", "", "data directory (default "+appliance.DefaultDataDir+")")
			fs.StringVar(&configPath, "config", "", "configuration file (JSON)")
			fs.Var(&drives, "drive", "a drive of the node (repeat for each)")
			fs.StringVar(&listen, "listen", "", "API address (default "+server.DefaultListen+")")
			fs.StringVar(&logLevel, "log-level", "", "debug, info, warn or error (default info)")
			fs.BoolVar(&logJSON, "log-json", false, "write logs as JSON lines")
			fs.DurationVar(&drain, "drain", 30*time.Second, "how long requests under way get to finish at shutdown")
			fs.StringVar(&slotsPath, "slots", "", "the firmware slots, for updates through the API: the slots partition (a block device) or a directory")
			fs.StringVar(&firmwareKey, "firmware-key", "", "the public key firmware bundles must be signed with (PEM), for updates through the API")
			fs.BoolVar(&once, "once", false, "open the node, print where it listens, and stop (a start-up check)")
			fs.IntVar(&defaultDrives, "default-drives", appliance.DefaultDrives, "emulated drives the embedded default is created with (first start only; more than 6 leaves room to rebuild a failed drive)")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			var cfg server.Config
			if configPath != "" {
				var err error
				if cfg, err = server.LoadConfig(configPath); err != nil {
					return err
				}
			}
			if dataDir != "" {
				cfg.DataDir = dataDir
			}
			if len(drives)+fs.NArg() > 0 {
				cfg.Drives = append(append([]string(nil), drives...), fs.Args()...)
			}
			if listen != "" {
				cfg.Listen = listen
			}
			if logLevel != "" {
				cfg.LogLevel = logLevel
			}
			if slotsPath != "" {
				cfg.Firmware.Slots = slotsPath
			}
			if firmwareKey != "" {
				cfg.Firmware.PublicKey = firmwareKey
			}
			log, err := server.NewLogger(stderr, cfg.LogLevel, logJSON)
			if err != nil {
				return err
			}
			if defaultDrives < 1 || defaultDrives > 64 {
				return usageError("--default-drives %d: want 1 to 64", defaultDrives)
			}
			// Catch SIGTERM before Open prints the API address: a supervisor
			// (plinth init, a test) may signal as soon as it reads that line,
			// and a signal taken then must stop the node cleanly, not kill it.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			srv, err := server.Open(cfg, server.Options{Out: stdout, Log: log, Default: appliance.DefaultOptions{Drives: defaultDrives}})
			if err != nil {
				return err
			}
			if once {
				return srv.Close()
			}
			fmt.Fprintf(stdout, "serving (pid %d); Ctrl-C or SIGTERM stops it\n", os.Getpid())
			err = srv.Serve(ctx, drain)
			if err == nil {
				fmt.Fprintln(stdout, "stopped: final checkpoint taken, drives released")
			}
			return err
		},
	})
}
