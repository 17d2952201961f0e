package enclosure_test

import (
	"errors"
	fx "github.com/plinth-storage/plinth/hw/enclosure/enclosuretest"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/plinth-storage/plinth/hw/enclosure"
)

func TestLEDsOnePath(t *testing.T) {
	p := fx.JBOD12()
	root := fx.BuildTemp(t, p)
	led := func(slot, file string) string { return fx.ReadFile(t, filepath.Join(fx.CompDir(root, p, slot), file)) }

	if err := enclosure.Locate(root, "sdc", true); err != nil {
		t.Fatal(err)
	}
	if err := enclosure.Fault(root, "/dev/sdh", true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ slot, file, want string }{
		{"Slot 02", "locate", "1\n"}, // sdc
		{"Slot 02", "fault", "0\n"},
		{"Slot 07", "fault", "1\n"}, // sdh
		{"Slot 07", "locate", "0\n"},
		{"Slot 01", "locate", "0\n"},
		{"Slot 03", "locate", "0\n"},
	} {
		if got := led(c.slot, c.file); got != c.want {
			t.Errorf("%s/%s = %q, want %q", c.slot, c.file, got, c.want)
		}
	}
	// Scan reads back what was written.
	_, s, _ := enclosure.SlotOf(scan(t, root), "sdc")
	if !s.Locate || s.Fault {
		t.Errorf("sdc's slot after Locate on: locate %v fault %v", s.Locate, s.Fault)
	}

	// Off again; the fault of slot 3 (sdd) clears.
	if err := enclosure.Locate(root, "sdc", false); err != nil {
		t.Fatal(err)
	}
	if err := enclosure.Fault(root, "sdd", false); err != nil {
		t.Fatal(err)
	}
	if got := led("Slot 02", "locate"); got != "0\n" {
		t.Errorf("Slot 02/locate = %q after off", got)
	}
	if got := led("Slot 03", "fault"); got != "0\n" {
		t.Errorf("Slot 03/fault = %q after off", got)
	}

	// An empty bay can be located: where the new drive goes.
	e := scan(t, root)[0]
	empty := e.Slots[11]
	if empty.Disk != "" || empty.Name != "Slot 12" {
		t.Fatalf("slot 12 = %+v", empty)
	}
	if err := empty.SetLocate(true); err != nil {
		t.Fatal(err)
	}
	if got := led("Slot 12", "locate"); got != "1\n" {
		t.Errorf("Slot 12/locate = %q", got)
	}
	if err := empty.SetFault(true); err != nil {
		t.Fatal(err)
	}
	if got := led("Slot 12", "fault"); got != "1\n" {
		t.Errorf("Slot 12/fault = %q", got)
	}
}

// With two paths the write goes to one: the first.
func TestLEDsTwoPaths(t *testing.T) {
	a, b := fx.Pair()
	root := fx.BuildTemp(t, a, b)
	if err := enclosure.Locate(root, "sdx", true); err != nil { // linked on the second path only
		t.Fatal(err)
	}
	for _, c := range []struct {
		p          fx.Path
		comp, want string
	}{
		{a, "ArrayDevice02", "1\n"},
		{b, "ArrayDevice02", "0\n"}, // untouched: one path is enough
		{a, "ArrayDevice01", "0\n"},
		{a, "ArrayDevice03", "0\n"},
	} {
		f := filepath.Join(fx.CompDir(root, c.p, c.comp), "locate")
		if got := fx.ReadFile(t, f); got != c.want {
			t.Errorf("%s = %q, want %q", f, got, c.want)
		}
	}

	// The first path's file is gone: the second path takes the write.
	if err := os.Remove(filepath.Join(fx.CompDir(root, a, "ArrayDevice04"), "fault")); err != nil {
		t.Fatal(err)
	}
	if err := enclosure.Fault(root, "sdy", true); err != nil {
		t.Fatal(err)
	}
	if got := fx.ReadFile(t, filepath.Join(fx.CompDir(root, b, "ArrayDevice04"), "fault")); got != "1\n" {
		t.Errorf("second path's ArrayDevice04/fault = %q, want 1", got)
	}
}

func TestLEDErrors(t *testing.T) {
	t.Run("not in a slot", func(t *testing.T) {
		root := fx.BuildTemp(t, fx.JBOD12())
		err := enclosure.Locate(root, "sdz", true)
		wantErr(t, err, "locate LED of sdz", "no enclosure slot", filepath.Join(root, "class/enclosure"))
	})
	t.Run("missing on every path", func(t *testing.T) {
		a, b := fx.Pair()
		root := fx.BuildTemp(t, a, b)
		files := []string{
			filepath.Join(fx.CompDir(root, a, "ArrayDevice01"), "locate"),
			filepath.Join(fx.CompDir(root, b, "ArrayDevice01"), "locate"),
		}
		for _, f := range files {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		err := enclosure.Locate(root, "sdw", true)
		wantErr(t, err, "locate LED of slot 1 (ArrayDevice01)", "write "+files[0], "write "+files[1])
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v is not fs.ErrNotExist", err)
		}
		for _, f := range files {
			if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s was created: %v", f, err)
			}
		}
	})
	t.Run("not writable", func(t *testing.T) {
		p := fx.JBOD12()
		root := fx.BuildTemp(t, p)
		// A directory cannot be written, by root either.
		f := filepath.Join(fx.CompDir(root, p, "Slot 04"), "fault")
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(f, 0o755); err != nil {
			t.Fatal(err)
		}
		err := enclosure.Fault(root, "sde", true)
		wantErr(t, err, "fault LED of slot 4 (Slot 04)", "write "+f)
		if !errors.Is(err, syscall.EISDIR) {
			t.Errorf("error %v is not EISDIR", err)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes read-only files; the directory case covers the error path")
		}
		p := fx.JBOD12()
		root := fx.BuildTemp(t, p)
		f := filepath.Join(fx.CompDir(root, p, "Slot 06"), "locate")
		if err := os.Chmod(f, 0o444); err != nil {
			t.Fatal(err)
		}
		err := enclosure.Locate(root, "sdg", true)
		wantErr(t, err, "locate LED of slot 6 (Slot 06)", "write "+f)
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("error %v is not fs.ErrPermission", err)
		}
		if got := fx.ReadFile(t, f); got != "0\n" {
			t.Errorf("%s = %q", f, got)
		}
	})
	t.Run("slot without component", func(t *testing.T) {
		err := enclosure.Slot{Number: 3, Name: "Slot 03"}.SetLocate(true)
		wantErr(t, err, "locate LED of slot 3 (Slot 03)", "no component directory")
	})
	t.Run("scan fails", func(t *testing.T) {
		p := fx.JBOD12()
		p.Comps[0].Slot = "?"
		root := fx.BuildTemp(t, p)
		err := enclosure.Fault(root, "sdb", true)
		wantErr(t, err, "fault LED of sdb", "slot")
	})
}
