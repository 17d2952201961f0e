package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/cpio"
)

func TestBuildBundleLayout(t *testing.T) {
	m, bundle := buildTest(t, nil)
	pub := testKey(1).Public().(ed25519.PublicKey)
	if _, err := Verify(bundle, pub, DefaultProduct, "1.1.0"); err != nil {
		t.Fatalf("Verify of a fresh bundle: %v", err)
	}

	// The tar: four entries, in order, with fixed headers.
	f, err := os.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Mode != 0o644 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" ||
			!h.ModTime.Equal(time.Unix(testEpoch, 0)) || h.Typeflag != tar.TypeReg || h.Format != tar.FormatUSTAR {
			t.Errorf("tar header of %s: %+v", h.Name, h)
		}
	}
	if want := []string{"manifest.json", "manifest.sig", "kernel", "initramfs"}; !slices.Equal(names, want) {
		t.Fatalf("entries %q, want %q", names, want)
	}

	b, err := Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// The manifest is canonical: re-encoding it gives the same bytes.
	again, err := m.encodeCanonical()
	if err != nil || !bytes.Equal(again, b.ManifestJSON()) {
		t.Fatalf("manifest.json is not the canonical encoding: %v\n%s", err, b.ManifestJSON())
	}
	for _, want := range []string{"\n  \"build\": {\n", "\"format\": 1,", "\"go_version\": \"go", "\"source_date_epoch\": 1700000000"} {
		if !strings.Contains(string(b.ManifestJSON()), want) {
			t.Errorf("manifest.json lacks %q:\n%s", want, b.ManifestJSON())
		}
	}
	if !strings.HasSuffix(string(b.ManifestJSON()), "}\n") {
		t.Errorf("manifest.json does not end with a newline")
	}
	if m.Kernel.Version != testKernelVersion || m.Kernel.Cmdline != DefaultCmdline || m.MinUpdateFrom != "1.0.0" {
		t.Errorf("manifest kernel/min_update_from: %+v %q", m.Kernel, m.MinUpdateFrom)
	}

	// The kernel is the input, byte for byte.
	kernelIn, _ := os.ReadFile(testOptions(t).Kernel)
	kernelOut, _ := io.ReadAll(b.Kernel())
	if !bytes.Equal(kernelIn, kernelOut) {
		t.Fatal("the bundle's kernel is not the input kernel")
	}
	dst := filepath.Join(t.TempDir(), "bzImage")
	if err := b.ExtractKernel(dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, kernelIn) {
		t.Fatal("ExtractKernel wrote something else")
	}

	// gzip: no name, no mtime (bytes 4-7), no flags.
	gz := make([]byte, 10)
	if _, err := b.Initramfs().ReadAt(gz, 0); err != nil {
		t.Fatal(err)
	}
	if gz[0] != 0x1f || gz[1] != 0x8b || gz[3] != 0 || !bytes.Equal(gz[4:8], []byte{0, 0, 0, 0}) {
		t.Fatalf("gzip header % x", gz)
	}

	// The initramfs, read with the cpio library directly.
	zr, err := gzip.NewReader(b.Initramfs())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("070701")) {
		t.Fatalf("not a newc archive: %q", raw[:6])
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]cpio.Record{}
	var order []string
	for i, r := range recs {
		order = append(order, r.Name)
		byName[r.Name] = r
		if r.Ino != uint64(i+1) || r.UID != 0 || r.GID != 0 || r.MTime != testEpoch {
			t.Errorf("%s: ino %d uid %d gid %d mtime %d", r.Name, r.Ino, r.UID, r.GID, r.MTime)
		}
		if dir := filepath.Dir(r.Name); dir != "." {
			if d, ok := byName[dir]; !ok || d.Mode&cpio.S_IFMT != cpio.S_IFDIR {
				t.Errorf("%s comes before its directory %s", r.Name, dir)
			}
		}
	}
	if !slices.IsSorted(order) {
		t.Errorf("entries not sorted: %q", order)
	}
	content := func(name string) string {
		r, ok := byName[name]
		if !ok {
			t.Fatalf("no %s in the initramfs; it has %q", name, order)
		}
		data, err := io.ReadAll(io.NewSectionReader(r, 0, int64(r.FileSize)))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	mode := func(name string) uint64 { return byName[name].Mode }

	if mode("init") != cpio.S_IFLNK|0o777 || content("init") != "bin/plinth" {
		t.Errorf("/init: mode %o -> %q", mode("init"), content("init"))
	}
	tiny, _ := os.ReadFile(tinyBinary(t))
	if mode("bin/plinth") != cpio.S_IFREG|0o755 || content("bin/plinth") != string(tiny) {
		t.Errorf("/bin/plinth: mode %o, content differs: %v", mode("bin/plinth"), content("bin/plinth") != string(tiny))
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "var", "var/lib", "var/lib/plinth", "etc", "etc/plinth", "lib", "lib/modules", "bin", "test", "test/bin"} {
		if mode(d) != cpio.S_IFDIR|0o755 {
			t.Errorf("/%s: mode %o, want a 0755 directory", d, mode(d))
		}
	}
	if mode("tmp") != cpio.S_IFDIR|cpio.S_ISVTX|0o777 {
		t.Errorf("/tmp: mode %o", mode("tmp"))
	}
	if c := byName["dev/console"]; c.Mode != cpio.S_IFCHR|0o600 || c.Rmajor != 5 || c.Rminor != 1 {
		t.Errorf("/dev/console: %v", c.Info)
	}
	if mode("etc/plinth/token") != cpio.S_IFREG|0o600 || mode("etc/plinth/config.json") != cpio.S_IFREG|0o644 || mode("test/bin/tool") != cpio.S_IFREG|0o755 {
		t.Errorf("extra files' modes: token %o config %o tool %o", mode("etc/plinth/token"), mode("etc/plinth/config.json"), mode("test/bin/tool"))
	}

	// Modules: every dependency, decompressed, unrelated ones left out.
	mods := "lib/modules/" + testKernelVersion + "/"
	for _, p := range []string{"kernel/drivers/nvme/host/nvme.ko", "kernel/drivers/nvme/host/nvme-core.ko", "kernel/lib/crc64.ko",
		"kernel/drivers/virtio/virtio_pci.ko", "kernel/drivers/block/virtio_blk.ko", "kernel/drivers/scsi/scsi_debug.ko", "kernel/lib/crc-t10dif.ko"} {
		if got := content(mods + p); got != string(fakeModuleContent(p)) {
			t.Errorf("%s: %q", p, got)
		}
	}
	if _, ok := byName[mods+"kernel/drivers/misc/unused.ko"]; ok {
		t.Error("a module nobody needs is in the initramfs")
	}
	wantDep := `kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko kernel/lib/crc64.ko
kernel/drivers/nvme/host/nvme-core.ko: kernel/lib/crc64.ko
kernel/lib/crc64.ko:
kernel/drivers/scsi/sd_mod.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko
kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko
kernel/drivers/scsi/scsi_common.ko:
kernel/drivers/scsi/scsi_debug.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/scsi/scsi_common.ko kernel/lib/crc-t10dif.ko
kernel/lib/crc-t10dif.ko:
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
`
	if got := content(mods + "modules.dep"); got != wantDep {
		t.Errorf("modules.dep:\n%s\nwant:\n%s", got, wantDep)
	}
	p := "/" + mods
	wantOrder := p + "kernel/drivers/virtio/virtio_ring.ko\n" +
		p + "kernel/drivers/virtio/virtio.ko\n" +
		p + "kernel/drivers/virtio/virtio_pci.ko\n" +
		p + "kernel/drivers/block/virtio_blk.ko\n" +
		p + "kernel/drivers/net/virtio_net.ko\n" +
		p + "kernel/lib/crc64.ko\n" +
		p + "kernel/drivers/nvme/host/nvme-core.ko\n" +
		p + "kernel/drivers/nvme/host/nvme.ko\n" +
		p + "kernel/drivers/scsi/scsi_common.ko\n" +
		p + "kernel/drivers/scsi/scsi_mod.ko\n" +
		p + "kernel/drivers/scsi/sd_mod.ko\n" +
		p + "kernel/lib/crc-t10dif.ko\n" +
		p + "kernel/drivers/scsi/scsi_debug.ko zbc=host-managed dev_size_mb=256\n"
	if got := content("etc/plinth/modules"); got != wantOrder {
		t.Errorf("/etc/plinth/modules:\n%s\nwant:\n%s", got, wantOrder)
	}

	// Every regular file is a part, with its hash; names say what it is.
	var regular int
	for _, r := range recs {
		if r.Mode&cpio.S_IFMT != cpio.S_IFREG {
			continue
		}
		regular++
		part := findPartByPath(m, "initramfs:/"+r.Name)
		sum := sha256.Sum256([]byte(content(r.Name)))
		if part == nil || part.SHA256 != hex.EncodeToString(sum[:]) || part.Size != int64(r.FileSize) {
			t.Errorf("/%s: part %+v", r.Name, part)
		}
	}
	if len(m.Parts) != regular+2 || m.Parts[0].Name != "kernel" || m.Parts[1].Name != "initramfs" {
		t.Errorf("%d parts for %d files: %+v", len(m.Parts), regular, m.Parts)
	}
	for name, path := range map[string]string{
		"plinth":                       "initramfs:/bin/plinth",
		"module:nvme_core":             "initramfs:/" + mods + "kernel/drivers/nvme/host/nvme-core.ko",
		"module:virtio_pci":            "initramfs:/" + mods + "kernel/drivers/virtio/virtio_pci.ko",
		"modules.dep":                  "initramfs:/" + mods + "modules.dep",
		"module-order":                 "initramfs:/etc/plinth/modules",
		"file:/etc/plinth/config.json": "initramfs:/etc/plinth/config.json",
		"file:/test/bin/tool":          "initramfs:/test/bin/tool",
	} {
		if p := m.Part(name); p == nil || p.Path != path {
			t.Errorf("part %s: %+v, want path %s", name, p, path)
		}
	}

	// ReadInitramfs (what Verify uses) sees the same.
	files, err := ReadInitramfs(b.Initramfs())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(recs) || files[0].Path != "/"+recs[0].Name {
		t.Fatalf("ReadInitramfs: %d files, cpio %d", len(files), len(recs))
	}
}

func findPartByPath(m *Manifest, path string) *Part {
	for i := range m.Parts {
		if m.Parts[i].Path == path {
			return &m.Parts[i]
		}
	}
	return nil
}

func TestBuildReproducible(t *testing.T) {
	o := testOptions(t)
	build := func(out string) []byte {
		o.Output = out
		if _, err := Build(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	first := build(filepath.Join(t.TempDir(), "one.bundle"))
	// Touch the inputs: their times must not matter.
	later := time.Now().Add(time.Hour)
	filepath.WalkDir(o.ModulesDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Chtimes(p, later, later)
		}
		return nil
	})
	os.Chtimes(o.Kernel, later, later)
	second := build(filepath.Join(t.TempDir(), "two.bundle"))
	if !bytes.Equal(first, second) {
		t.Fatal("the same inputs gave different bundles")
	}
	o.SourceDateEpoch++
	if third := build(filepath.Join(t.TempDir(), "three.bundle")); bytes.Equal(first, third) {
		t.Fatal("another SOURCE_DATE_EPOCH gave the same bundle")
	}
}

func TestBuildRefuses(t *testing.T) {
	dir := t.TempDir()
	bz := filepath.Join(dir, "bzImage")
	// A bzImage header saying 6.1.0-55-amd64.
	img := make([]byte, 0x4000)
	copy(img[0x202:], "HdrS")
	img[0x20e], img[0x20f] = 0x00, 0x10 // string at 0x1000 + 0x200
	copy(img[0x1200:], "6.1.0-55-amd64 (debian-kernel@lists.debian.org) #1 SMP\x00")
	writeTestFile(t, bz, img, 0o644)
	if release, ok, err := bzImageVersion(bz); err != nil || !ok || release != "6.1.0-55-amd64" {
		t.Fatalf("bzImageVersion: %q %v %v", release, ok, err)
	}
	dynamic := ""
	for _, p := range []string{"/bin/true", "/usr/bin/true", "/bin/sh"} {
		if checkStatic(p, DefaultArch) != nil {
			dynamic = p
			break
		}
	}

	for _, c := range []struct {
		name string
		edit func(o *BuildOptions)
		is   error
		says string
	}{
		{"missing module", func(o *BuildOptions) { o.Modules = append(o.Modules, ModuleSpec{Name: "zfs"}) }, ErrNoModule, "zfs"},
		{"missing optional module", func(o *BuildOptions) { o.Modules = []ModuleSpec{{Name: "zfs", Optional: true}} }, nil, ""},
		{"built-in module", func(o *BuildOptions) { o.Modules = []ModuleSpec{{Name: "ahci", Params: []string{"x=1"}}} }, nil, ""},
		{"module twice", func(o *BuildOptions) {
			o.Modules = append(o.Modules, ModuleSpec{Name: "nvme-core"}, ModuleSpec{Name: "nvme_core"})
		}, nil, "twice"},
		{"bad module param", func(o *BuildOptions) { o.Modules = []ModuleSpec{{Name: "nvme", Params: []string{"a b"}}} }, nil, "white space"},
		{"kernel of another version", func(o *BuildOptions) { o.Kernel = bz }, ErrKernelMismatch, "6.1.0-55-amd64"},
		{"no binary", func(o *BuildOptions) { o.Binary = "" }, nil, "either"},
		{"binary and source", func(o *BuildOptions) { o.Source = "." }, nil, "either"},
		{"not an executable", func(o *BuildOptions) { o.Binary = o.Kernel }, ErrNotStatic, "not an ELF"},
		{"file over plinth", func(o *BuildOptions) { o.Files = append(o.Files, File{Src: o.Kernel, Dst: "/bin/plinth"}) }, nil, "/bin/plinth is already"},
		{"file over a directory", func(o *BuildOptions) { o.Files = append(o.Files, File{Src: o.Kernel, Dst: "/etc/plinth"}) }, nil, "directory"},
		{"file under a file", func(o *BuildOptions) { o.Files = append(o.Files, File{Src: o.Kernel, Dst: "/bin/plinth/x"}) }, nil, "not a directory"},
		{"missing file", func(o *BuildOptions) { o.Files = append(o.Files, File{Src: "/nonexistent", Dst: "/x"}) }, nil, "/nonexistent"},
		{"bad version", func(o *BuildOptions) { o.Version = "v1" }, nil, "v1"},
		{"min_update_from after version", func(o *BuildOptions) { o.MinUpdateFrom = "2.0" }, nil, "newer than"},
		{"no key", func(o *BuildOptions) { o.Key = nil }, nil, "key"},
		{"output in a missing directory", func(o *BuildOptions) { o.Output = "/nonexistent/dir/bundle" }, nil, "nonexistent"},
		{"epoch past newc", func(o *BuildOptions) { o.SourceDateEpoch = 1 << 33 }, nil, "2106"},
		{"no modules.dep", func(o *BuildOptions) { o.ModulesDir = t.TempDir() }, nil, "modules.dep"},
		{"dynamic binary", func(o *BuildOptions) {
			if dynamic == "" {
				t.Skip("no dynamically linked /bin/true or /bin/sh here")
			}
			o.Binary = dynamic
		}, ErrNotStatic, "dynamically linked"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions(t)
			c.edit(&o)
			_, err := Build(context.Background(), o)
			if c.is == nil && c.says == "" {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Build succeeded")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v, want %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
			if _, serr := os.Stat(o.Output); serr == nil {
				t.Error("a failed build left an output file")
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(o.Output), ".*tmp*")); len(left) > 0 {
				t.Errorf("temporary files left: %q", left)
			}
		})
	}
}

func TestParseFileAndModuleSpec(t *testing.T) {
	f, err := ParseFile("token:/etc/plinth/token:0600")
	if err != nil || f != (File{Src: "token", Dst: "/etc/plinth/token", Mode: 0o600}) {
		t.Fatalf("ParseFile: %+v %v", f, err)
	}
	if f, err := ParseFile("a:/b"); err != nil || f.Mode != 0 {
		t.Fatalf("ParseFile without mode: %+v %v", f, err)
	}
	for _, bad := range []string{"a", "a:b", "a:/b:999", "a:/b:0", ":/b", "a:/b/../c", "a:/", "a:/b:0644:x"} {
		if _, err := ParseFile(bad); err == nil {
			t.Errorf("ParseFile(%q) accepted", bad)
		}
	}
	m, err := ParseModuleSpec("scsi_debug  zbc=host-managed dev_size_mb=256 ")
	if err != nil || m.Name != "scsi_debug" || !slices.Equal(m.Params, []string{"zbc=host-managed", "dev_size_mb=256"}) {
		t.Fatalf("ParseModuleSpec: %+v %v", m, err)
	}
	for _, bad := range []string{"", "  ", "a/b", "nvme =x", "../x"} {
		if _, err := ParseModuleSpec(bad); err == nil {
			t.Errorf("ParseModuleSpec(%q) accepted", bad)
		}
	}
	merged := MergeModules(DefaultModules(), []ModuleSpec{{Name: "scsi-debug", Params: []string{"x=1"}}, {Name: "zram"}})
	if len(merged) != len(DefaultModules())+1 {
		t.Fatalf("merged: %+v", merged)
	}
	for _, m := range merged {
		if moduleName(m.Name) == "scsi_debug" && (m.NoAutoload || len(m.Params) != 1) {
			t.Errorf("--module scsi-debug did not replace the default: %+v", m)
		}
	}
}

func TestModuleResolution(t *testing.T) {
	dir := fakeModulesDir(t)
	md, err := readModulesDep(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := md.resolve([]ModuleSpec{{Name: "scsi_debug", NoAutoload: true}, {Name: "sd_mod"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range set.modules {
		got = append(got, m.name+map[bool]string{true: "+load", false: ""}[m.load])
	}
	// sd_mod's dependencies load; crc_t10dif, needed only by the on-demand
	// scsi_debug, is shipped but not loaded.
	want := []string{"scsi_common+load", "scsi_mod+load", "sd_mod+load", "crc_t10dif", "scsi_debug"}
	if !slices.Equal(got, want) {
		t.Fatalf("resolved %q, want %q", got, want)
	}

	// A dependency missing from modules.dep, and a cycle.
	writeTestFile(t, filepath.Join(dir, "modules.dep"), []byte("kernel/a.ko: kernel/b.ko\nkernel/c.ko: kernel/d.ko\nkernel/d.ko: kernel/c.ko\n"), 0o644)
	if md, err = readModulesDep(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := md.resolve([]ModuleSpec{{Name: "a"}}); !errors.Is(err, ErrNoModule) || !strings.Contains(err.Error(), "kernel/b.ko") {
		t.Errorf("missing dependency: %v", err)
	}
	if _, err := md.resolve([]ModuleSpec{{Name: "c"}}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
	writeTestFile(t, filepath.Join(dir, "modules.dep"), []byte("kernel/a.ko kernel/b.ko\n"), 0o644)
	if _, err := readModulesDep(dir); err == nil || !strings.Contains(err.Error(), "modules.dep:1") {
		t.Errorf("a line without ':': %v", err)
	}

	// A module file that is not what it says.
	writeTestFile(t, filepath.Join(dir, "kernel/x.ko.xz"), []byte("not xz"), 0o644)
	if _, err := readModule(dir, "kernel/x.ko.xz"); err == nil {
		t.Error("a corrupt .ko.xz was read")
	}
	writeTestFile(t, filepath.Join(dir, "kernel/y.ko"), []byte("not ELF"), 0o644)
	if _, err := readModule(dir, "kernel/y.ko"); err == nil || !strings.Contains(err.Error(), "ELF") {
		t.Errorf("a .ko that is not ELF: %v", err)
	}
}

func TestVersionCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0}, {"1.2", "1.2.0", 0}, {"1.10.0", "1.9.9", 1}, {"2", "1.99.99", 1},
		{"1.2.3-rc1", "1.2.3", -1}, {"1.2.3-rc.2", "1.2.3-rc.10", -1}, {"1.2.3-alpha", "1.2.3-1", 1},
		{"1.2.3-rc", "1.2.3-rc.1", -1}, {"0.0.0", "0.0.1", -1}, {"1.2.3.4", "1.2.3", 1},
	} {
		got, err := CompareVersions(c.a, c.b)
		if err != nil || got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, %v; want %d", c.a, c.b, got, err, c.want)
		}
		if back, _ := CompareVersions(c.b, c.a); back != -c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, not antisymmetric", c.b, c.a, back)
		}
	}
	for _, bad := range []string{"", "v1.2", "1..2", "01.2", "1.2.3.4.5", "1.2-", "1.2-a..b", "1.2+meta", "dev", "1.-1"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	if v, _ := ParseVersion("1.20.3-rc.1"); v.String() != "1.20.3-rc.1" {
		t.Errorf("String: %s", v)
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub")
	pk, err := GenerateKey(priv, pub)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(priv); st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", st.Mode())
	}
	sk, err := LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadPublicKey(pub)
	if err != nil || !loaded.Equal(pk) || !sk.Public().(ed25519.PublicKey).Equal(pk) {
		t.Fatalf("keys do not round-trip: %v", err)
	}
	if _, err := GenerateKey(priv, filepath.Join(dir, "other.pub")); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("GenerateKey over an existing key: %v", err)
	}
	if _, err := LoadPublicKey(priv); err == nil || !strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("a private key as the public one: %v", err)
	}
	if _, err := LoadPrivateKey(pub); err == nil {
		t.Error("a public key loaded as a private one")
	}
	writeTestFile(t, filepath.Join(dir, "junk"), []byte("hello"), 0o600)
	if _, err := LoadPublicKey(filepath.Join(dir, "junk")); err == nil || !strings.Contains(err.Error(), "PEM") {
		t.Errorf("junk: %v", err)
	}
}
