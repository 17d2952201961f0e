package initd

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseModules(t *testing.T) {
	in := `# modules for the node, dependencies first
/lib/modules/6.1.0-56-amd64/kernel/drivers/nvme/host/nvme-core.ko

/lib/modules/6.1.0-56-amd64/kernel/drivers/nvme/host/nvme.ko
   /lib/modules/6.1.0-56-amd64/kernel/drivers/scsi/scsi_debug.ko zbc=host-managed  dev_size_mb=256	sector_size=4096  
/lib/modules/6.1.0-56-amd64/kernel/x/quoted.ko.xz	name="a  b"
`
	mods, err := ParseModules(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Module{
		{Path: "/lib/modules/6.1.0-56-amd64/kernel/drivers/nvme/host/nvme-core.ko"},
		{Path: "/lib/modules/6.1.0-56-amd64/kernel/drivers/nvme/host/nvme.ko"},
		// Parameters are passed as written: the kernel parses them.
		{Path: "/lib/modules/6.1.0-56-amd64/kernel/drivers/scsi/scsi_debug.ko", Params: "zbc=host-managed  dev_size_mb=256\tsector_size=4096"},
		{Path: "/lib/modules/6.1.0-56-amd64/kernel/x/quoted.ko.xz", Params: `name="a  b"`},
	}
	if !reflect.DeepEqual(mods, want) {
		t.Fatalf("got %#v\nwant %#v", mods, want)
	}
	names := []string{}
	for _, m := range mods {
		names = append(names, m.Name())
	}
	if got := strings.Join(names, " "); got != "nvme_core nvme scsi_debug quoted" {
		t.Fatalf("names %q", got)
	}
	if mods[2].compressed() || !mods[3].compressed() {
		t.Fatal("compressed() is wrong")
	}
}

func TestParseModulesRefuses(t *testing.T) {
	_, err := ParseModules(strings.NewReader("/a.ko\nkernel/b.ko x=1\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "kernel/b.ko") {
		t.Fatalf("relative path: %v", err)
	}
	boom := errors.New("boom")
	_, err = ParseModules(iotest.ErrReader(boom))
	if !errors.Is(err, boom) {
		t.Fatalf("read error: %v", err)
	}
	mods, err := ParseModules(strings.NewReader(""))
	if err != nil || len(mods) != 0 {
		t.Fatalf("empty list: %v %v", mods, err)
	}
}

func TestLoadModuleFailures(t *testing.T) {
	missing := Module{Path: filepath.Join(t.TempDir(), "missing.ko")}
	r := LoadModule(missing)
	if !errors.Is(r.Err, os.ErrNotExist) || !strings.Contains(r.Err.Error(), "missing.ko") {
		t.Fatalf("missing module: %+v", r)
	}
	// Not a module: the kernel refuses it (ENOEXEC as root, EPERM
	// without CAP_SYS_MODULE); either way an error naming the file.
	junk := filepath.Join(t.TempDir(), "junk.ko")
	if err := os.WriteFile(junk, []byte("not an ELF module"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = LoadModule(Module{Path: junk})
	if r.Err == nil || r.Already || !strings.Contains(r.Err.Error(), "junk.ko") {
		t.Fatalf("junk module: %+v", r)
	}
}
