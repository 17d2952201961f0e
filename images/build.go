package images

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/plinth-storage/plinth/internal/human"
)

// DefaultCmdline is the kernel command line of a bundle built without one:
// the serial console (what QEMU and a node's BMC show), and a reboot ten
// seconds after a panic rather than a hung node.
const DefaultCmdline = "console=ttyS0,115200 panic=10"

// BuildOptions are a bundle's inputs. The same inputs give the same bundle,
// byte for byte.
type BuildOptions struct {
	// Source is a plinth source tree to build the binary from; Binary a
	// prebuilt static plinth binary. Exactly one is given.
	Source, Binary string
	Kernel         string // the kernel image (bzImage)
	ModulesDir     string // /lib/modules/KVER of that kernel
	KernelVersion  string // default: the base name of ModulesDir
	Modules        []ModuleSpec
	Files          []File // extra files for the initramfs
	Product        string
	Version        string
	MinUpdateFrom  string // default "0.0.0": from any version
	Cmdline        string // default DefaultCmdline
	// SourceDateEpoch is every timestamp in the bundle and the binary's
	// build time (seconds since 1970, UTC).
	SourceDateEpoch int64
	Key             ed25519.PrivateKey
	Output          string // the bundle file, replaced atomically
	Progress        io.Writer
	Arch            string // GOARCH of the binary; default DefaultArch
}

// File is an extra file of the initramfs.
type File struct {
	Src  string
	Dst  string      // absolute path in the initramfs
	Mode fs.FileMode // permission bits; 0: 0755 if Src is executable, else 0644
}

// ParseFile parses the builder's --file SRC:DST[:MODE] (MODE in octal).
func ParseFile(s string) (File, error) {
	f := strings.Split(s, ":")
	if len(f) < 2 || len(f) > 3 || f[0] == "" || f[1] == "" {
		return File{}, fmt.Errorf("--file %q: want SRC:DST[:MODE], e.g. config.json:/etc/plinth/config.json:0644", s)
	}
	file := File{Src: f[0], Dst: f[1]}
	if len(f) == 3 {
		m, err := strconv.ParseUint(f[2], 8, 32)
		if err != nil || m > 0o777 || m == 0 {
			return File{}, fmt.Errorf("--file %q: mode %q: want octal permissions like 0644", s, f[2])
		}
		file.Mode = fs.FileMode(m)
	}
	if !path.IsAbs(file.Dst) || path.Clean(file.Dst) != file.Dst || file.Dst == "/" {
		return File{}, fmt.Errorf("--file %q: the destination must be a clean absolute path like /etc/plinth/token", s)
	}
	return file, nil
}

func (o *BuildOptions) check() error {
	switch {
	case (o.Source == "") == (o.Binary == ""):
		return fmt.Errorf("give either a plinth source tree to build or a prebuilt binary")
	case o.Kernel == "":
		return fmt.Errorf("no kernel image")
	case o.ModulesDir == "":
		return fmt.Errorf("no modules directory (/lib/modules/KVER)")
	case o.Product == "" || strings.ContainsAny(o.Product, " \t\n"):
		return fmt.Errorf("product %q: want a name without white space, like %s", o.Product, DefaultProduct)
	case len(o.Key) != ed25519.PrivateKeySize:
		return fmt.Errorf("no ed25519 signing key")
	case o.Output == "":
		return fmt.Errorf("no output file")
	case o.SourceDateEpoch < 0 || o.SourceDateEpoch > 1<<32-1:
		return fmt.Errorf("SOURCE_DATE_EPOCH %d: want seconds since 1970 before 2106", o.SourceDateEpoch)
	case strings.ContainsAny(o.Cmdline, "\n\x00"):
		return fmt.Errorf("the kernel command line is one line")
	}
	if o.KernelVersion == "" {
		o.KernelVersion = filepath.Base(filepath.Clean(o.ModulesDir))
	}
	if o.KernelVersion == "" || strings.ContainsAny(o.KernelVersion, "/ \t\n") || o.KernelVersion == "." || o.KernelVersion == ".." {
		return fmt.Errorf("kernel version %q: want a release like 6.1.0-56-amd64", o.KernelVersion)
	}
	if o.MinUpdateFrom == "" {
		o.MinUpdateFrom = "0.0.0"
	}
	if o.Cmdline == "" {
		o.Cmdline = DefaultCmdline
	}
	if o.Arch == "" {
		o.Arch = DefaultArch
	}
	v, err := ParseVersion(o.Version)
	if err != nil {
		return err
	}
	oldest, err := ParseVersion(o.MinUpdateFrom)
	if err != nil {
		return fmt.Errorf("min_update_from: %w", err)
	}
	if oldest.Compare(v) > 0 {
		return fmt.Errorf("min_update_from %s is newer than the version %s", o.MinUpdateFrom, o.Version)
	}
	return nil
}

// Build builds a bundle (see the package comment) and returns its
// manifest. Progress, when set, gets a line per step.
func Build(ctx context.Context, opts BuildOptions) (*Manifest, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("firmware build: %w", err)
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	work, err := os.MkdirTemp("", "plinth-firmware-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	// The kernel first: a mismatch with the modules is the cheapest mistake to report.
	if release, ok, err := bzImageVersion(opts.Kernel); err != nil {
		return nil, err
	} else if ok && release != opts.KernelVersion {
		return nil, fmt.Errorf("%w: %s is %s, the modules in %s are for %s", ErrKernelMismatch, opts.Kernel, release, opts.ModulesDir, opts.KernelVersion)
	} else if !ok {
		fmt.Fprintf(progress, "kernel %s is not an x86 bzImage: its version is not checked against the modules\n", opts.Kernel)
	}
	kernel, err := os.Open(opts.Kernel)
	if err != nil {
		return nil, fmt.Errorf("reading the kernel: %w", err)
	}
	defer kernel.Close()
	kernelPart, err := hashPart(PartKernel, PartKernel, kernel)
	if err != nil {
		return nil, err
	}

	binary := opts.Binary
	revision := ""
	if opts.Source != "" {
		binary = filepath.Join(work, "plinth")
		if err := BuildBinary(ctx, opts.Source, binary, opts.Version, opts.SourceDateEpoch, opts.Arch, progress); err != nil {
			return nil, err
		}
		revision = GitRevision(ctx, opts.Source)
	} else if err := checkStatic(binary, opts.Arch); err != nil {
		return nil, err
	}
	goVersion, stamped, err := binaryInfo(binary)
	if err != nil {
		return nil, err
	}
	if revision == "" {
		revision = stamped
	}

	md, err := readModulesDep(opts.ModulesDir)
	if err != nil {
		return nil, err
	}
	set, err := md.resolve(opts.Modules)
	if err != nil {
		return nil, err
	}
	for _, n := range set.notes {
		fmt.Fprintln(progress, n)
	}
	layout, err := initramfsContents(opts, binary, md, set)
	if err != nil {
		return nil, err
	}
	loaded := 0
	for _, m := range set.modules {
		if m.load {
			loaded++
		}
	}
	fmt.Fprintf(progress, "modules: %d in the initramfs (%d loaded at boot) for %s\n", len(set.modules), loaded, opts.KernelVersion)

	initramfs, err := os.Create(filepath.Join(work, "initramfs"))
	if err != nil {
		return nil, err
	}
	defer initramfs.Close()
	fmt.Fprintf(progress, "writing the initramfs (%d entries)\n", len(layout.entries))
	inner, err := layout.write(initramfs, opts.SourceDateEpoch)
	if err != nil {
		return nil, err
	}
	if _, err := initramfs.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	initramfsPart, err := hashPart(PartInitramfs, PartInitramfs, initramfs)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "initramfs: %s compressed\n", human.IBytes(initramfsPart.Size))

	m := &Manifest{
		Format:        FormatVersion,
		Product:       opts.Product,
		Version:       opts.Version,
		MinUpdateFrom: opts.MinUpdateFrom,
		Build:         BuildInfo{GoVersion: goVersion, SourceRevision: revision, SourceDateEpoch: opts.SourceDateEpoch},
		Kernel:        KernelInfo{Version: opts.KernelVersion, Cmdline: opts.Cmdline},
		Parts:         append([]Part{kernelPart, initramfsPart}, inner...),
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("the new manifest: %w", err) // a bug here, not bad input
	}
	manifestJSON, err := m.encodeCanonical()
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(opts.Key, manifestJSON)
	// The bundle is verified as a node would before it takes the output's
	// name: an input changed during the build, or a builder bug, fails here.
	pub := opts.Key.Public().(ed25519.PublicKey)
	if err := writeFileAtomic(opts.Output, 0o644, func(w io.Writer) error {
		return writeBundle(w, manifestJSON, sig, kernel, initramfs, opts.SourceDateEpoch)
	}, func(tmp string) error {
		fmt.Fprintf(progress, "verifying the bundle\n")
		_, err := Verify(tmp, pub, opts.Product, "")
		return err
	}); err != nil {
		return nil, err
	}
	if st, err := os.Stat(opts.Output); err == nil {
		fmt.Fprintf(progress, "wrote %s (%s, %d parts, signed)\n", opts.Output, human.IBytes(st.Size()), len(m.Parts))
	}
	return m, nil
}

// initramfsContents lays out the initramfs: the fixed entries, plinth, the
// modules with modules.dep and the load order, and the extra files.
func initramfsContents(opts BuildOptions, binary string, md *modulesDep, set *moduleSet) (*initramfsLayout, error) {
	l := newInitramfsLayout()
	if err := l.file("bin/plinth", 0o755, PartPlinth, readFile(binary)); err != nil {
		return nil, err
	}
	modRoot := path.Join("lib/modules", opts.KernelVersion)
	l.dir(modRoot, 0o755)
	for _, m := range set.modules {
		if err := l.file(path.Join(modRoot, uncompressedPath(m.path)), 0o644, "module:"+m.name, func() ([]byte, error) {
			return readModule(opts.ModulesDir, m.path)
		}); err != nil {
			return nil, err
		}
	}
	dep := md.filteredDep(set)
	if err := l.file(path.Join(modRoot, "modules.dep"), 0o644, "modules.dep", constant(dep)); err != nil {
		return nil, err
	}
	if err := l.file("etc/plinth/modules", 0o644, "module-order", constant(loadOrder(set, opts.KernelVersion))); err != nil {
		return nil, err
	}
	for _, f := range opts.Files {
		st, err := os.Stat(f.Src)
		if err != nil {
			return nil, fmt.Errorf("extra file: %w", err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("extra file %s is not a regular file", f.Src)
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
			if st.Mode()&0o111 != 0 {
				mode = 0o755
			}
		}
		if err := l.file(f.Dst, mode, "file:"+f.Dst, readFile(f.Src)); err != nil {
			return nil, fmt.Errorf("extra file %s: %w", f.Src, err)
		}
	}
	return l, nil
}

func readFile(p string) func() ([]byte, error) {
	return func() ([]byte, error) {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading a file for the initramfs: %w", err)
		}
		return b, nil
	}
}

func constant(b []byte) func() ([]byte, error) { return func() ([]byte, error) { return b, nil } }

// hashPart hashes r into a part.
func hashPart(name, where string, r io.Reader) (Part, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return Part{}, fmt.Errorf("hashing the %s: %w", name, err)
	}
	return Part{Name: name, Path: where, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeFileAtomic writes path through a temporary file in its directory,
// synced, checked by check (when not nil) and renamed into place: a reader
// sees the old file or the whole new one.
func writeFileAtomic(dst string, mode os.FileMode, write func(io.Writer) error, check func(tmp string) error) error {
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil && check != nil {
		err = check(tmp.Name())
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
