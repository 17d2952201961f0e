// Package initd is the mechanics of `plinth init`, the first process (PID 1)
// of the firmware image: it mounts the kernel's filesystems, reads the
// kernel command line, loads the listed modules, waits for the block
// devices, configures the network, finds and (when told) formats the
// node's drives, runs `plinth serve` and keeps it running, reaps every
// child, and on a shutdown signal stops serve cleanly and reboots or
// powers off.
//
// PID 1 must never exit (the kernel panics when it does): every step
// that fails is logged with what failed and what to do, and init carries
// on with what still makes sense or idles until a shutdown signal.
//
// # The boot sequence
//
//  1. Mounts: proc on /proc, sysfs on /sys, devtmpfs on /dev, and tmpfs on
//     /run, /tmp and the data directory /var/lib/plinth (the initramfs is
//     RAM, so the data directory, with the API token, the events journal
//     and the console socket, does not survive a reboot).
//  2. The kernel command line, /proc/cmdline (below).
//  3. Modules, from /etc/plinth/modules (below).
//  4. Block devices settle: init waits until the set of /sys/block entries
//     (RAM and loop devices aside) has been unchanged for 1 s and holds at
//     least one device, or plinth.settle has passed. Every drive found is
//     logged: name, model, size, zone model. Then the firmware slots
//     (plinth.slots): a partition is mounted (ext4, read-write, nosuid,
//     nodev, noexec) on /run/plinth-slots. When it cannot be, serve still
//     starts and nothing is marked good (a slot on trial goes back to the
//     other slot at the next boot: the safe way to fail), and the log
//     says how to repair it.
//  5. Network, from the ip= parameters.
//  6. The plinth.run hook.
//  7. Drives: a plan from the drive inventory (hw.Inventory), without the
//     disk of the firmware slots (the disk plinth.slots is, or is a
//     partition of: never a data drive, even if plinth.drives names it):
//     the labelled drives of one node (the node labelling the most
//     drives) are served, a blank drive beside them being a candidate
//     replacement left alone;
//     all-blank drives are formatted into a new node with
//     plinth.format=blank (the plinth command picks their positions: the
//     metadata mirrors need drives of one metadata layout); otherwise init
//     idles and says how to proceed.
//  8. fsck at boot when plinth.fsck says so; an exit status of 4 or more
//     (errors left, or fsck could not run) keeps serve from starting.
//  9. serve: /etc/plinth/token (when present) is copied to
//     /var/lib/plinth/token (mode 0600), then `plinth serve --data
//     /var/lib/plinth [--config /etc/plinth/config.json] [--slots DIR]
//     [--firmware-key /etc/plinth/firmware.pub] --drive D...` runs as a
//     child (--slots: the firmware slots' directory, /run/plinth-slots
//     when init mounted plinth.slots's partition; --firmware-key when the
//     image holds that key: serve then installs firmware sent to its API,
//     and asks init to reboot with SIGTERM); an unexpected exit restarts
//     it after 1 s, 2 s, 4 s ... (at most 30 s), at most 5 times in 10
//     minutes. serve's first healthy start (below) marks the booted
//     firmware slot good.
//  10. Every child is reaped (PID 1 inherits orphans).
//  11. Shutdown: Ctrl-Alt-Del is turned into SIGINT for PID 1
//     (reboot(LINUX_REBOOT_CMD_CAD_OFF)). SIGINT or SIGTERM reboots;
//     SIGUSR2 or SIGPWR powers off (busybox's conventions: `kill -TERM 1`
//     reboots, `kill -USR2 1` powers off). A press of the ACPI power button
//     (a BMC's graceful shutdown; read from the "Power Button" evdev
//     device, see powerbutton.go) powers off too. serve gets SIGTERM and up to 60 s
//     to drain and take its final checkpoint (then SIGKILL), fsck runs when
//     plinth.fsck says so, filesystems are synced, the firmware slots
//     partition and the data directory are unmounted (each logged), and
//     the machine reboots or powers off.
//
// # The console log
//
// init's standard output and error are the console the kernel opened
// (/dev/console of the initramfs; the devtmpfs one when that failed).
// Every line init writes is
//
//	plinth init: [SSSSS.mmm] MESSAGE
//
// where SSSSS.mmm is the seconds since boot (CLOCK_BOOTTIME, the kernel's
// own log clock), right-aligned in 9 characters. The output of children
// (stdout and stderr) is copied line by line with a prefix naming them:
// "serve: ", "fsck: ", "run: "; a format's progress is prefixed "format: ".
// Lines are never interleaved mid-line. serve's line "serving (pid N)"
// (printed once its API listens) is what init takes for a healthy start.
//
// # Kernel command line parameters
//
// Parsed as the kernel does (next_arg in lib/cmdline.c): parameters are
// separated by spaces; a double quote toggles quoting, so a value in
// double quotes may contain spaces (plinth.run="prog -v"); the quotes
// around a value, or around a whole parameter, are removed. A bad value is
// logged and the default used.
//
//	plinth.format=blank|never   default never. blank: when no drive carries
//	                            a Plinth label and every drive is blank (no
//	                            label, no other signature, not in use),
//	                            format them all into one new node.
//	plinth.drives=auto|P,P...   default auto: every whole drive of the
//	                            inventory except loop, RAM and optical
//	                            devices. Otherwise the listed device paths.
//	plinth.fsck=off|boot|shutdown|boot,shutdown
//	                            default off. Run `plinth fsck DRIVES` before
//	                            serve starts and/or after it stopped. At
//	                            boot, an exit status of 4 or more keeps
//	                            serve from starting.
//	plinth.run="PROG ARGS..."   run PROG (factory and test use) after the
//	                            network and before the drives are looked at;
//	                            its output is copied to the console, then
//	                            "run PROG: exit N" is logged.
//	plinth.settle=DURATION      default 3s (Go duration syntax): the longest
//	                            wait for block devices after the modules.
//	plinth.slots=DEVICE|DIR     the firmware slots. A block device is the
//	                            slots partition (ext4; see package images),
//	                            mounted on /run/plinth-slots until shutdown;
//	                            the disk it is (or is a partition of) is
//	                            never a data drive. Anything else is a
//	                            directory of slots (tests). After a healthy
//	                            start (serve listens), the booted firmware
//	                            slot is marked good there.
//	ip=CLIENT:SERVER:GW:NETMASK:HOSTNAME:DEVICE:AUTOCONF
//	                            the kernel's nfsroot syntax, static only
//	                            (AUTOCONF off, none or empty; trailing fields
//	                            may be left out; DNS and NTP fields after
//	                            AUTOCONF are ignored). CLIENT/NETMASK go on
//	                            DEVICE (default: the first non-loopback
//	                            interface; NETMASK default: the address
//	                            class's), a default route through GW when
//	                            given, HOSTNAME becomes the host name. Several
//	                            ip= parameters configure several devices.
//	                            ip=off or ip=none: loopback only. The
//	                            loopback interface is always brought up.
//
// # /etc/plinth/modules
//
// Text, one module per line, dependencies before the modules that need
// them:
//
//	PATH [PARAM=VALUE ...]
//
// PATH is the module file's absolute path in the image
// (/lib/modules/6.1.0-56-amd64/kernel/drivers/nvme/host/nvme.ko); the rest
// of the line, trimmed, is passed to the module as its parameters, as
// modprobe would (values may be double-quoted). Blank lines and lines
// starting with # are ignored. A module is loaded with finit_module(2); one
// the kernel already has (EEXIST) counts as loaded. Names ending in .xz,
// .zst or .gz are handed to the kernel to decompress
// (MODULE_INIT_COMPRESSED_FILE).
package initd
