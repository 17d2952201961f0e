package images

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ModuleSpec is a kernel module to put in the initramfs.
type ModuleSpec struct {
	Name   string   // as modprobe takes it; '-' and '_' are the same
	Params []string // NAME or NAME=VALUE, given to the module when it is loaded
	// Optional modules the kernel lacks are left out without an error.
	Optional bool
	// NoAutoload modules are in the initramfs but not in the load order
	// (/etc/plinth/modules): loaded on demand only. Their dependencies are
	// shipped too.
	NoAutoload bool
}

// DefaultModules are the modules a node needs: virtio (QEMU and clouds),
// NVMe, SCSI disks (SAS, SATA, SMR), the SATA and LSI SAS host adapters and
// the SCSI enclosure driver when the kernel has them, ext4 (the firmware
// slots partition) with the crc32c hash it needs, and scsi_debug for
// tests (shipped, not loaded: loaded, it makes fake disks; --module
// 'scsi_debug zbc=host-managed ...' loads it).
func DefaultModules() []ModuleSpec {
	return []ModuleSpec{
		{Name: "virtio_pci"},
		{Name: "virtio_blk"},
		{Name: "virtio_net"},
		{Name: "nvme"},
		{Name: "sd_mod"},
		{Name: "ahci", Optional: true},
		{Name: "mpt3sas", Optional: true},
		{Name: "ses", Optional: true},
		{Name: "enclosure", Optional: true},
		// The ACPI power button (a BMC's graceful shutdown, QEMU's
		// system_powerdown) and evdev, through which plinth init reads it.
		{Name: "button", Optional: true},
		{Name: "evdev", Optional: true},
		// The firmware slots partition (plinth.slots=DEVICE) is ext4, whose
		// metadata checksums need the crc32c hash: the kernel would ask
		// modprobe for it (a softdep), and the image has none.
		{Name: "crc32c_generic", Optional: true},
		{Name: "ext4", Optional: true},
		{Name: "scsi_debug", NoAutoload: true},
	}
}

// ParseModuleSpec parses "NAME [PARAM...]", e.g. "scsi_debug
// zbc=host-managed dev_size_mb=256" (the builder's --module flag).
func ParseModuleSpec(s string) (ModuleSpec, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ModuleSpec{}, fmt.Errorf("empty module spec: want 'NAME [param=value ...]'")
	}
	m := ModuleSpec{Name: f[0], Params: f[1:]}
	if err := m.check(); err != nil {
		return ModuleSpec{}, err
	}
	return m, nil
}

func (m ModuleSpec) check() error {
	if m.Name == "" || strings.IndexFunc(m.Name, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-')
	}) >= 0 {
		return fmt.Errorf("module name %q: want letters, digits, '_' and '-'", m.Name)
	}
	for _, p := range m.Params {
		name, _, _ := strings.Cut(p, "=")
		if name == "" || strings.ContainsAny(p, " \t\r\n") {
			return fmt.Errorf("module %s: parameter %q: want NAME or NAME=VALUE without white space", m.Name, p)
		}
	}
	return nil
}

// MergeModules returns base with every module of extra added, an entry of
// extra replacing the one of base with the same name (so --module
// 'scsi_debug zbc=host-managed' loads the default scsi_debug with those
// parameters).
func MergeModules(base, extra []ModuleSpec) []ModuleSpec {
	out := slices.Clone(base)
	for _, e := range extra {
		if i := slices.IndexFunc(out, func(b ModuleSpec) bool { return moduleName(b.Name) == moduleName(e.Name) }); i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}

// moduleName is the kernel's name of a module: '-' becomes '_'.
func moduleName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// moduleFileName strips a module file's path and suffixes: the module's
// kernel name ("kernel/drivers/nvme/host/nvme-core.ko.xz" → "nvme_core").
func moduleFileName(p string) string {
	base := path.Base(p)
	for _, s := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, s)
	}
	return moduleName(strings.TrimSuffix(base, ".ko"))
}

// uncompressedPath is a module's path without a compression suffix.
func uncompressedPath(p string) string {
	for _, s := range []string{".xz", ".zst", ".gz"} {
		if strings.HasSuffix(p, ".ko"+s) {
			return strings.TrimSuffix(p, s)
		}
	}
	return p
}

// modulesDep is a kernel's modules.dep: every module's path (relative to
// /lib/modules/KVER) and its dependencies, all of them, as depmod lists
// them.
type modulesDep struct {
	dir     string
	order   []string            // paths, in file order
	deps    map[string][]string // path -> dependency paths
	byName  map[string]string   // kernel module name -> path
	builtin map[string]bool     // kernel names of modules built into the kernel
}

func readModulesDep(dir string) (*modulesDep, error) {
	md := &modulesDep{dir: dir, deps: map[string][]string{}, byName: map[string]string{}, builtin: map[string]bool{}}
	file := filepath.Join(dir, "modules.dep")
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading the modules: %w (is %s a /lib/modules/KVER directory with depmod run?)", err, dir)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: no ':' in %q", file, n, line)
		}
		mod = md.relative(mod)
		if _, dup := md.deps[mod]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", file, n, mod)
		}
		var deps []string
		for _, d := range strings.Fields(rest) {
			deps = append(deps, md.relative(d))
		}
		md.order = append(md.order, mod)
		md.deps[mod] = deps
		md.byName[moduleFileName(mod)] = mod
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	// modules.builtin is optional: without it a built-in module is reported
	// missing, which is the safe mistake.
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for l := range strings.Lines(string(b)) {
			if l = strings.TrimSpace(l); l != "" {
				md.builtin[moduleFileName(l)] = true
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading modules.builtin: %w", err)
	}
	return md, nil
}

// relative turns the absolute paths old depmods wrote into relative ones.
func (md *modulesDep) relative(p string) string {
	return strings.TrimPrefix(p, strings.TrimSuffix(md.dir, "/")+"/")
}

// resolvedModule is a module going into the initramfs.
type resolvedModule struct {
	name   string // kernel name
	path   string // in modules.dep, relative to the modules directory
	params []string
	load   bool // in the load order
}

// moduleSet is what resolve decides: the modules to ship, dependencies
// before dependents, and notes for the build's progress.
type moduleSet struct {
	modules []resolvedModule
	notes   []string
}

// resolve finds the requested modules and everything they depend on, in
// an order that loads dependencies first. A module's dependencies are
// visited last-listed first, as modprobe loads them, so the order matches
// modprobe's on the same modules.dep.
func (md *modulesDep) resolve(specs []ModuleSpec) (*moduleSet, error) {
	set := &moduleSet{}
	seen := map[string]bool{}
	for _, s := range specs {
		if err := s.check(); err != nil {
			return nil, err
		}
		n := moduleName(s.Name)
		if seen[n] {
			return nil, fmt.Errorf("module %s is requested twice", s.Name)
		}
		seen[n] = true
	}
	params := map[string][]string{} // path -> parameters
	var roots []string
	var dormant []string
	for _, s := range specs {
		n := moduleName(s.Name)
		p, ok := md.byName[n]
		switch {
		case ok:
		case md.builtin[n]:
			set.notes = append(set.notes, fmt.Sprintf("module %s is built into the kernel", s.Name))
			if len(s.Params) > 0 {
				set.notes = append(set.notes, fmt.Sprintf("  its parameters go on the kernel command line as %s.PARAM=VALUE, not in the load order", n))
			}
			continue
		case s.Optional:
			set.notes = append(set.notes, fmt.Sprintf("module %s is not in this kernel: left out (optional)", s.Name))
			continue
		default:
			return nil, fmt.Errorf("%w: %s is not in %s (nor built into the kernel): check the name (modinfo %s) and that the modules directory is the kernel's",
				ErrNoModule, s.Name, filepath.Join(md.dir, "modules.dep"), s.Name)
		}
		params[p] = s.Params
		if s.NoAutoload {
			dormant = append(dormant, p)
		} else {
			roots = append(roots, p)
		}
	}
	placed := map[string]bool{}
	visiting := map[string]bool{}
	var visit func(p, from string, load bool) error
	visit = func(p, from string, load bool) error {
		if placed[p] {
			return nil
		}
		if visiting[p] {
			return fmt.Errorf("modules.dep has a dependency cycle through %s", p)
		}
		deps, ok := md.deps[p]
		if !ok {
			return fmt.Errorf("%w: %s (needed by %s) is not in modules.dep: run depmod %s", ErrNoModule, p, from, filepath.Base(md.dir))
		}
		visiting[p] = true
		for i := len(deps) - 1; i >= 0; i-- {
			if err := visit(deps[i], p, load); err != nil {
				return err
			}
		}
		visiting[p] = false
		placed[p] = true
		set.modules = append(set.modules, resolvedModule{name: moduleFileName(p), path: p, params: params[p], load: load})
		return nil
	}
	// Loaded modules and their dependencies first, so that a dependency of
	// both kinds is loaded; then what only the on-demand modules need.
	for _, p := range roots {
		if err := visit(p, "the request", true); err != nil {
			return nil, err
		}
	}
	for _, p := range dormant {
		if err := visit(p, "the request", false); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// filteredDep is modules.dep restricted to the shipped modules, in its
// original order, with paths as they are in the initramfs (uncompressed).
func (md *modulesDep) filteredDep(set *moduleSet) []byte {
	ship := map[string]bool{}
	for _, m := range set.modules {
		ship[m.path] = true
	}
	var b strings.Builder
	for _, p := range md.order {
		if !ship[p] {
			continue
		}
		b.WriteString(uncompressedPath(p))
		b.WriteString(":")
		for _, d := range md.deps[p] {
			b.WriteString(" ")
			b.WriteString(uncompressedPath(d))
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}

// loadOrder is /etc/plinth/modules (see the package comment).
func loadOrder(set *moduleSet, kernelVersion string) []byte {
	var b strings.Builder
	for _, m := range set.modules {
		if !m.load {
			continue
		}
		b.WriteString("/" + path.Join("lib/modules", kernelVersion, uncompressedPath(m.path)))
		for _, p := range m.params {
			b.WriteString(" " + p)
		}
		b.WriteString("\n")
	}
	return []byte(b.String())
}
