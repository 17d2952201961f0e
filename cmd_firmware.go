package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/plinth-storage/plinth/images"
	"github.com/plinth-storage/plinth/internal/human"
)

// firmwareSub is a subcommand of plinth firmware.
type firmwareSub struct {
	name, usage, summary, help string
	flags                      func(fs *flag.FlagSet)
	run                        func(fs *flag.FlagSet, stdout, stderr io.Writer) error
}

func init() {
	register(&command{
		name:    "firmware",
		summary: "build, sign, verify and install firmware bundles (A/B slots, boot once, rollback)",
		usage:   "SUBCOMMAND [flags] [arguments]",
		help:    firmwareHelp(),
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			return runFirmware(fs.Args(), stdout, stderr)
		},
	})
}

func firmwareHelp() string {
	var b strings.Builder
	b.WriteString(`Builds a node's firmware bundle on a build host, and checks and installs
bundles on a node. A bundle is one file: the static plinth binary in an
initramfs with the kernel modules it needs, a kernel, and a manifest with
the sha256 of every part, signed with ed25519. The same inputs give the same
bundle, byte for byte.

A node has two firmware slots, a and b. 'apply' installs a bundle into the
inactive slot and has the next boot try it once; 'plinth init' marks it good
after a healthy start, making it the active slot; a trial boot that never
marks good is not repeated: the boot after it goes back to the active slot.

subcommands:
`)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, s := range firmwareSubs() {
		fmt.Fprintf(tw, "  %s\t%s\n", s.name, s.summary)
	}
	tw.Flush()
	b.WriteString("\nRun 'plinth firmware SUBCOMMAND -h' for a subcommand's flags.")
	return b.String()
}

func runFirmware(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError("name a subcommand: build, keygen, verify, apply, status, boot or mark-good")
	}
	for _, s := range firmwareSubs() {
		if s.name != args[0] {
			continue
		}
		fs := flag.NewFlagSet("plinth firmware "+s.name, flag.ContinueOnError)
		fs.SetOutput(stderr)
		s.flags(fs)
		fs.Usage = func() {
			fmt.Fprintf(stderr, "usage: %s\n\n%s\n\nflags:\n", strings.TrimSpace("plinth firmware "+s.name+" [flags] "+s.usage), strings.TrimSpace(s.help))
			fs.PrintDefaults()
		}
		if err := fs.Parse(args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return &exitError{code: 2, err: fmt.Errorf("%s: %w", s.name, err)}
		}
		if err := s.run(fs, stdout, stderr); err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				return &exitError{code: ee.code, err: fmt.Errorf("%s: %w", s.name, ee.err)}
			}
			return fmt.Errorf("%s: %w", s.name, withHint(err))
		}
		return nil
	}
	return usageError("no subcommand %q: the subcommands are build, keygen, verify, apply, status, boot and mark-good", args[0])
}

// withHint adds what to do to the errors people meet most.
func withHint(err error) error {
	switch {
	case errors.Is(err, images.ErrSignature):
		return fmt.Errorf("%w\n  --pub must be the public half of the key the bundle was signed with (plinth firmware keygen wrote both)", err)
	case errors.Is(err, images.ErrHash):
		return fmt.Errorf("%w\n  the bundle is damaged: copy it again from where it was built", err)
	case errors.Is(err, images.ErrNoModule):
		return fmt.Errorf("%w\n  drop it with --no-default-modules and your own --module list, or use the kernel it belongs to", err)
	}
	return err
}

func firmwareSubs() []*firmwareSub {
	return []*firmwareSub{buildSub(), keygenSub(), verifySub(), applySub(), statusSub(), bootSub(), markGoodSub()}
}

func buildSub() *firmwareSub {
	var (
		o                images.BuildOptions
		modules, files   stringList
		key              string
		epoch            int64
		noDefaultModules bool
	)
	return &firmwareSub{
		name:    "build",
		usage:   "",
		summary: "build and sign a bundle (on a build host)",
		help: `Builds a bundle into -o: plinth built from --source (default: the plinth
source tree the current directory is in) with CGO_ENABLED=0, -trimpath and
the build time set from the source date, or the static binary --binary; the
kernel image --kernel; the modules of --modules-dir (/lib/modules/KVER of that
kernel) that plinth needs, with their dependencies from modules.dep, loaded
at boot in dependency order; the extra files of --file; and the manifest,
signed with --key (from 'plinth firmware keygen').

The default modules are virtio_pci, virtio_blk, virtio_net, nvme, sd_mod,
and, when the kernel has them, ahci, mpt3sas, ses, enclosure, button and
evdev (the ACPI power button, which plinth init reads), crc32c_generic and
ext4 (the slots partition); scsi_debug is shipped but not loaded unless a
--module names it. --module adds a module
or sets a default one's parameters:
  --module 'scsi_debug zbc=host-managed dev_size_mb=256'
A --file is SRC:DST[:MODE], e.g. --file node.json:/etc/plinth/config.json or
--file token:/etc/plinth/token:0600 (default mode 0755 when SRC is
executable, else 0644).

Every timestamp in the bundle is the source date: --source-date-epoch,
else $SOURCE_DATE_EPOCH, else the time of the source's git commit. The
same inputs (and Go toolchain) give the same bundle, byte for byte.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.Kernel, "kernel", "", "the kernel image, e.g. /boot/vmlinuz-6.1.0-56-amd64 (required)")
			fs.StringVar(&o.ModulesDir, "modules-dir", "", "that kernel's modules, e.g. /lib/modules/6.1.0-56-amd64 (required)")
			fs.StringVar(&o.KernelVersion, "kernel-version", "", "the kernel's release (default: the base name of --modules-dir)")
			fs.Var(&modules, "module", "'NAME [param=value ...]': a module to load at boot, with parameters (repeat)")
			fs.BoolVar(&noDefaultModules, "no-default-modules", false, "only the --module modules")
			fs.Var(&files, "file", "SRC:DST[:MODE]: an extra file in the initramfs (repeat)")
			fs.StringVar(&key, "key", "", "the private signing key (PEM; required)")
			fs.StringVar(&o.Product, "product", "", "the product the bundle is for, e.g. "+images.DefaultProduct+" (required)")
			fs.StringVar(&o.Version, "version", "", "the firmware version, e.g. 1.2.3 (required)")
			fs.StringVar(&o.MinUpdateFrom, "min-update-from", "", "the oldest version that may update to this one (default: any)")
			fs.StringVar(&o.Source, "source", "", "the plinth source tree to build (default: the one the current directory is in)")
			fs.StringVar(&o.Binary, "binary", "", "a prebuilt static plinth binary instead of building one")
			fs.StringVar(&o.Cmdline, "cmdline", "", "the default kernel command line (default \""+images.DefaultCmdline+"\")")
			fs.Int64Var(&epoch, "source-date-epoch", -1, "the source date, seconds since 1970 (default $SOURCE_DATE_EPOCH or the git commit time)")
			fs.StringVar(&o.Output, "o", "", "the bundle file to write (required)")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			if fs.NArg() > 0 {
				return usageError("unexpected arguments %q (the bundle goes to -o)", fs.Args())
			}
			for _, req := range []struct{ v, flag string }{
				{o.Kernel, "--kernel"}, {o.ModulesDir, "--modules-dir"}, {key, "--key"},
				{o.Product, "--product"}, {o.Version, "--version"}, {o.Output, "-o"},
			} {
				if req.v == "" {
					return usageError("%s is required", req.flag)
				}
			}
			if o.Source != "" && o.Binary != "" {
				return usageError("give --source or --binary, not both")
			}
			if o.Source == "" && o.Binary == "" {
				if o.Source = images.FindModuleRoot("."); o.Source == "" {
					return usageError("the current directory is not in a plinth source tree: give --source DIR or --binary PATH")
				}
			}
			var base []images.ModuleSpec
			if !noDefaultModules {
				base = images.DefaultModules()
			}
			var extra []images.ModuleSpec
			for _, s := range modules {
				m, err := images.ParseModuleSpec(s)
				if err != nil {
					return usageError("--module: %v", err)
				}
				extra = append(extra, m)
			}
			o.Modules = images.MergeModules(base, extra)
			for _, s := range files {
				f, err := images.ParseFile(s)
				if err != nil {
					return usageError("%v", err)
				}
				o.Files = append(o.Files, f)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var err error
			if o.SourceDateEpoch, err = sourceDateEpoch(ctx, epoch, o.Source); err != nil {
				return err
			}
			if o.Key, err = images.LoadPrivateKey(key); err != nil {
				return err
			}
			o.Progress = stderr
			m, err := images.Build(ctx, o)
			if err != nil {
				return err
			}
			sum, err := fileSHA256(o.Output)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "bundle %s: %s %s, kernel %s, %d parts\nsha256 %s\n", o.Output, m.Product, m.Version, m.Kernel.Version, len(m.Parts), sum)
			return nil
		},
	}
}

// sourceDateEpoch is --source-date-epoch, else $SOURCE_DATE_EPOCH, else the
// commit time of the source tree (or of the current directory's checkout).
func sourceDateEpoch(ctx context.Context, flagValue int64, source string) (int64, error) {
	if flagValue >= 0 {
		return flagValue, nil
	}
	if env := os.Getenv("SOURCE_DATE_EPOCH"); env != "" {
		v, err := strconv.ParseInt(env, 10, 64)
		if err != nil || v < 0 {
			return 0, usageError("$SOURCE_DATE_EPOCH %q: want seconds since 1970", env)
		}
		return v, nil
	}
	dir := source
	if dir == "" {
		dir = "."
	}
	t, err := images.GitCommitTime(ctx, dir)
	if err != nil {
		return 0, usageError("no source date: give --source-date-epoch or $SOURCE_DATE_EPOCH (%v)", err)
	}
	return t, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func keygenSub() *firmwareSub {
	var out string
	return &firmwareSub{
		name:    "keygen",
		summary: "make an ed25519 signing key pair",
		help: `Writes a new ed25519 key pair: PREFIX.key, the private key that signs
bundles (PEM PKCS #8, mode 0600: keep it secret, off the nodes), and
PREFIX.pub, the public key nodes verify bundles with (PEM PKIX). It never
overwrites a key.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "out", "", "PREFIX of the two files (required)")
		},
		run: func(fs *flag.FlagSet, stdout, _ io.Writer) error {
			if out == "" || fs.NArg() > 0 {
				return usageError("give --out PREFIX and nothing else")
			}
			if _, err := images.GenerateKey(out+".key", out+".pub"); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s.key (the private key: keep it secret) and %s.pub (the public key, for nodes)\n", out, out)
			return nil
		},
	}
}

func verifySub() *firmwareSub {
	var pub, product, running string
	return &firmwareSub{
		name:    "verify",
		usage:   "BUNDLE",
		summary: "check a bundle's signature, hashes and compatibility",
		help: `Checks BUNDLE: the manifest's signature with --pub, the size and sha256 of
the kernel, the initramfs and every file in it, and, when given, that it is
for --product and may update a node running --running (not older, and
--running not older than its min_update_from). Prints the manifest; exits 1
with the reason when a check fails.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&pub, "pub", "", "the public key (PEM; required)")
			fs.StringVar(&product, "product", "", "the product the bundle must be for (default: any)")
			fs.StringVar(&running, "running", "", "the version the node runs (default: no update check)")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			if pub == "" || fs.NArg() != 1 {
				return usageError("give --pub PUB and one BUNDLE")
			}
			key, err := images.LoadPublicKey(pub)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "verifying %s\n", fs.Arg(0))
			m, err := images.Verify(fs.Arg(0), key, product, running)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: signature and every hash good\n", fs.Arg(0))
			printManifest(stdout, m)
			return nil
		},
	}
}

func printManifest(w io.Writer, m *images.Manifest) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "product:\t%s\n", m.Product)
	fmt.Fprintf(tw, "version:\t%s (updates nodes running %s or later)\n", m.Version, m.MinUpdateFrom)
	fmt.Fprintf(tw, "kernel:\t%s, command line %q\n", m.Kernel.Version, m.Kernel.Cmdline)
	rev := m.Build.SourceRevision
	if rev == "" {
		rev = "unknown"
	}
	fmt.Fprintf(tw, "built:\t%s, source %s, dated %s\n", m.Build.GoVersion, rev,
		time.Unix(m.Build.SourceDateEpoch, 0).UTC().Format(time.RFC3339))
	tw.Flush()
	fmt.Fprintf(w, "parts:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range m.Parts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Name, p.Path, human.IBytes(p.Size), p.SHA256)
	}
	tw.Flush()
}

// slotsFlag is the --slots flag's help.
const slotsFlag = "the slots: the slots partition (a block device such as /dev/sda2) or a directory (required)"

// slotsHelp is what the slot subcommands' help says of --slots.
const slotsHelp = `--slots is the slots partition (an ext4 filesystem: mkfs.ext4 -L
plinth-slots DEVICE makes an empty one) or, for tests and development, a
directory. A partition is used where it is mounted (plinth init mounts it on
/run/plinth-slots); one not mounted is mounted on a temporary directory for
the command, which takes root.`

// openedSlots are the slots --slots names.
type openedSlots struct {
	*images.Slots
	dir  *images.DirStore
	part *images.PartitionStore // when --slots is a block device
}

// openSlots opens --slots: a block device is the slots partition, used
// where it is mounted or mounted for the command; anything else is a
// directory (created if missing), except a missing path under /dev: a
// mistyped device must not become a directory on devtmpfs.
// keyAndSlots loads the public key at pub and opens the slots at
// slotsPath, for the subcommands that check firmware against the key.
func keyAndSlots(pub, slotsPath string, stderr io.Writer) (ed25519.PublicKey, *openedSlots, error) {
	key, err := images.LoadPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	slots, err := openSlots(slotsPath, stderr)
	if err != nil {
		return nil, nil, err
	}
	return key, slots, nil
}

func openSlots(path string, stderr io.Writer) (*openedSlots, error) {
	if images.IsBlockDevice(path) {
		p, err := images.OpenPartition(path)
		if err != nil {
			return nil, err
		}
		if p.Mounted() {
			fmt.Fprintf(stderr, "mounted the slots partition %s on %s for this command\n", path, p.Dir())
		} else {
			fmt.Fprintf(stderr, "the slots partition %s is mounted on %s\n", path, p.Dir())
		}
		return &openedSlots{Slots: images.NewSlots(p), dir: p.DirStore, part: p}, nil
	}
	if strings.HasPrefix(filepath.Clean(path), "/dev/") {
		return nil, fmt.Errorf("--slots %s: not a block device (the slots partition is one; a directory of slots does not belong in /dev)", path)
	}
	d, err := images.NewDirStore(path)
	if err != nil {
		return nil, err
	}
	return &openedSlots{Slots: images.NewSlots(d), dir: d}, nil
}

// slotsOnly opens the slots of a subcommand that takes --slots and no
// arguments.
func slotsOnly(path string, fs *flag.FlagSet, stderr io.Writer) (*openedSlots, error) {
	if path == "" || fs.NArg() > 0 {
		return nil, usageError("give --slots PARTITION|DIR and nothing else")
	}
	return openSlots(path, stderr)
}

// close unmounts a partition mounted for the command; err is the
// command's error, returned unless it is nil and the unmount failed.
func (o *openedSlots) close(err *error) {
	if o.part == nil {
		return
	}
	if cerr := o.part.Close(); *err == nil {
		*err = cerr
	}
}

// where names a file of a slot: its path, or, on a partition mounted only
// for this command, its path in the partition's filesystem (what a boot
// loader's configuration names).
func (o *openedSlots) where(slot, name string) string {
	if o.part != nil && o.part.Mounted() {
		return fmt.Sprintf("/%s/%s on %s", slot, name, o.part.Device())
	}
	return o.dir.Path(slot, name)
}

func applySub() *firmwareSub {
	var pub, slotsPath, product string
	return &firmwareSub{
		name:    "apply",
		usage:   "BUNDLE",
		summary: "verify a bundle and install it into the inactive slot, to boot once",
		help: `Verifies BUNDLE (as verify does) and installs it into the inactive slot of
--slots; the next boot boots it once. It must be for the product of the
active slot (or --product) and may not be older than the active slot's
version. After a healthy start plinth init marks it good, which makes it the
active slot; if it never does, the boot after goes back to the active slot.
Nothing changes when a check fails. Refused while the inactive slot is
being tried (booted, not yet marked good).

` + slotsHelp,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&pub, "pub", "", "the public key (PEM; required)")
			fs.StringVar(&slotsPath, "slots", "", slotsFlag)
			fs.StringVar(&product, "product", "", "the product (default: the active slot's; any for the first install)")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) (err error) {
			if pub == "" || slotsPath == "" || fs.NArg() != 1 {
				return usageError("give --pub PUB, --slots PARTITION|DIR and one BUNDLE")
			}
			key, slots, err := keyAndSlots(pub, slotsPath, stderr)
			if err != nil {
				return err
			}
			defer slots.close(&err)
			fmt.Fprintf(stderr, "verifying and installing %s\n", fs.Arg(0))
			in, err := slots.Apply(fs.Arg(0), key, product)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "installed %s %s into slot %s: the next boot tries it once; a healthy start marks it good and active, otherwise the node goes back to the other slot\n",
				in.Manifest.Product, in.Manifest.Version, in.Slot)
			return nil
		},
	}
}

func statusSub() *firmwareSub {
	var slotsPath string
	var asJSON bool
	return &firmwareSub{
		name:    "status",
		summary: "show the slots: what each holds, which is active, good, tried, next",
		help: `Shows the two slots of --slots: the firmware each holds and the boot state.

` + slotsHelp,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&slotsPath, "slots", "", slotsFlag)
			fs.BoolVar(&asJSON, "json", false, "print JSON")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) (err error) {
			slots, err := slotsOnly(slotsPath, fs, stderr)
			if err != nil {
				return err
			}
			defer slots.close(&err)
			st, err := slots.Status()
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, st)
			}
			failed := "failed last time"
			if st.State.LastFailedReason != "" {
				failed += ": " + st.State.LastFailedReason
			}
			for _, s := range st.Slots {
				var what []string
				for _, f := range []struct {
					on   bool
					word string
				}{{s.Active, "active"}, {s.Good, "good"}, {s.NextOnce, "boots once next"}, {s.Tried, "being tried"}, {st.State.LastFailed == s.Name, failed}} {
					if f.on {
						what = append(what, f.word)
					}
				}
				content := "empty"
				switch {
				case s.Error != "":
					content = "unreadable: " + s.Error
				case s.Installed:
					content = fmt.Sprintf("%s %s, kernel %s", s.Product, s.Version, s.Kernel)
				}
				flags := ""
				if len(what) > 0 {
					flags = " (" + strings.Join(what, ", ") + ")"
				}
				fmt.Fprintf(stdout, "slot %s%s: %s\n", s.Name, flags, content)
			}
			return nil
		},
	}
}

func bootSub() *firmwareSub {
	var pub, slotsPath string
	return &firmwareSub{
		name:    "boot",
		summary: "what the boot loader boots now: checks the slot's files (consumes a boot-once)",
		help: `Does what the boot loader does at a boot and prints it: the slot to boot
once, if any (forgetting it, so a failed trial is not repeated), otherwise
the active slot. A trial that was never marked good is rolled back here.
The slot's files are checked first, as verify checks a bundle (the
manifest's signature with --pub, the sha256 of the kernel, the initramfs
and every file in it): a slot to boot once that fails is not tried; an
active slot that fails gives way to the other slot when that one is good
and passes (it becomes the active slot). Every slot passed over is printed
with why, and recorded (plinth firmware status shows it). Prints the slot,
its kernel, initramfs and kernel command line; exits 1 when no slot can be
booted.

` + slotsHelp,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&pub, "pub", "", "the public key the slots' firmware is signed with (PEM; required)")
			fs.StringVar(&slotsPath, "slots", "", slotsFlag)
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) (err error) {
			if pub == "" || slotsPath == "" || fs.NArg() > 0 {
				return usageError("give --pub PUB, --slots PARTITION|DIR and nothing else")
			}
			key, slots, err := keyAndSlots(pub, slotsPath, stderr)
			if err != nil {
				return err
			}
			defer slots.close(&err)
			c, err := slots.Boot(key)
			if c.RolledBack != "" {
				fmt.Fprintf(stdout, "slot %s was tried and never marked good: rolled back\n", c.RolledBack)
			}
			if err != nil {
				return err
			}
			for _, r := range c.Refused {
				fmt.Fprintf(stdout, "not booting %v\n", r.Err)
			}
			if c.FellBack != "" {
				fmt.Fprintf(stdout, "slot %s, the active slot, failed its check: slot %s, good and checked, is the active slot now\n", c.FellBack, c.Slot)
			}
			once := ""
			if c.Once {
				once = " (once: trying a new install)"
			}
			fmt.Fprintf(stdout, "boot slot %s%s: %s %s, checked\nkernel:    %s\ninitramfs: %s\ncmdline:   %s\n", c.Slot, once, c.Manifest.Product, c.Manifest.Version,
				slots.where(c.Slot, images.SlotKernel), slots.where(c.Slot, images.SlotInitramfs), c.Manifest.Kernel.Cmdline)
			return nil
		},
	}
}

func markGoodSub() *firmwareSub {
	var slotsPath string
	return &firmwareSub{
		name:    "mark-good",
		summary: "mark the booted slot good (plinth init does, after a healthy start)",
		help: `Marks the booted slot good: a slot being tried becomes the active slot.
plinth init calls this after a healthy start.

` + slotsHelp,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&slotsPath, "slots", "", slotsFlag)
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) (err error) {
			slots, err := slotsOnly(slotsPath, fs, stderr)
			if err != nil {
				return err
			}
			defer slots.close(&err)
			active, promoted, err := slots.MarkGood()
			if err != nil {
				return err
			}
			if promoted {
				fmt.Fprintf(stdout, "slot %s is good and now the active slot\n", active)
			} else {
				fmt.Fprintf(stdout, "slot %s (active) is good\n", active)
			}
			return nil
		},
	}
}
