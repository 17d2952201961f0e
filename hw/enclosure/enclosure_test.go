package enclosure_test

import (
	"fmt"
	fx "github.com/plinth-storage/plinth/hw/enclosure/enclosuretest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/hw/enclosure"
)

func scan(t *testing.T, root string) []enclosure.Enclosure {
	t.Helper()
	encls, err := enclosure.Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	return encls
}

// diffSlots reports every slot that differs, field by field.
func diffSlots(t *testing.T, got, want []enclosure.Slot) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d slots, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
		for f := 0; f < g.NumField(); f++ {
			if !reflect.DeepEqual(g.Field(f).Interface(), w.Field(f).Interface()) {
				t.Errorf("slot %d (%s): %s = %#v, want %#v", i, want[i].Name, g.Type().Field(f).Name,
					g.Field(f).Interface(), w.Field(f).Interface())
			}
		}
	}
}

func TestScanOnePath12Slots(t *testing.T) {
	p := fx.JBOD12()
	root := fx.BuildTemp(t, p)
	encls := scan(t, root)
	if len(encls) != 1 {
		t.Fatalf("%d enclosures, want 1: %+v", len(encls), encls)
	}
	e := encls[0]
	if e.ID != "0x500c0ff0abcdef3c" || e.Vendor != "DELL" || e.Model != "MD1400" ||
		!reflect.DeepEqual(e.Paths, []string{"0:0:12:0"}) || e.Drawers != 0 {
		t.Errorf("enclosure = %q %q %q %q drawers %d, want 0x500c0ff0abcdef3c DELL MD1400 [0:0:12:0] drawers 0",
			e.ID, e.Vendor, e.Model, e.Paths, e.Drawers)
	}
	var want []enclosure.Slot
	for i := 1; i <= 12; i++ {
		name := fmt.Sprintf("Slot %02d", i)
		s := enclosure.Slot{Number: i, Name: name, Status: "not installed",
			Components: []string{fx.CompDir(root, p, name)}}
		if i <= 9 {
			s.Disk = fmt.Sprintf("sd%c", 'a'+i)
			s.Disks = []string{s.Disk}
			s.Status = "OK"
		}
		switch i {
		case 3:
			s.Fault, s.Status = true, "critical"
		case 5:
			s.Locate = true
		}
		want = append(want, s)
	}
	diffSlots(t, e.Slots, want)

	// Map: the same slots, without what queries the enclosure.
	mapped, err := enclosure.Map(root)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		want[i].Status, want[i].Fault, want[i].Locate = "", false, false
	}
	diffSlots(t, mapped[0].Slots, want)

	gotE, s, ok := enclosure.SlotOf(encls, "/dev/sdd")
	if !ok || gotE.ID != e.ID || s.Number != 3 || s.Name != "Slot 03" || !s.Fault {
		t.Errorf("SlotOf(/dev/sdd) = %q slot %d %q fault %v, %v; want slot 3 \"Slot 03\" fault true",
			gotE.ID, s.Number, s.Name, s.Fault, ok)
	}
	for _, d := range []string{"sdk", "sda", "", "/dev/"} {
		if _, s, ok := enclosure.SlotOf(encls, d); ok {
			t.Errorf("SlotOf(%q) = slot %d, want none", d, s.Number)
		}
	}
}

func TestScan5U84TwoPaths(t *testing.T) {
	a, b := fx.The5U84()
	root := sharedMachine(t) // jbod12, then the 5U84
	encls := scan(t, root)
	if len(encls) != 2 || encls[0].ID != "0x500c0ff0abcdef3c" {
		t.Fatalf("%d enclosures, want the jbod12 and the 5U84's two paths merged into 1: %+v", len(encls), encls)
	}
	e := encls[1]
	if e.ID != fx.ID5U84 || e.Vendor != "SEAGATE" || e.Model != "5U84" || e.Drawers != 2 ||
		!reflect.DeepEqual(e.Paths, []string{"1:0:100:0", "2:0:100:0"}) {
		t.Errorf("enclosure = %q %q %q %q drawers %d", e.ID, e.Vendor, e.Model, e.Paths, e.Drawers)
	}
	var want []enclosure.Slot
	for n := 0; n < 84; n++ {
		name := fmt.Sprintf("ArrayDevice%02d", n)
		s := enclosure.Slot{Number: n, Drawer: n/42 + 1, Name: name, Status: "not installed",
			Components: []string{fx.CompDir(root, a, name), fx.CompDir(root, b, name)}}
		if !fx.Empty5U84(n) {
			s.Status = "OK"
			if n < 42 {
				s.Disks = append(s.Disks, fx.DiskA(n))
			}
			if n >= 30 {
				s.Disks = append(s.Disks, fx.DiskB(n))
			}
			s.Disk = s.Disks[0]
		}
		want = append(want, s)
	}
	diffSlots(t, e.Slots, want)

	// Drives are found through either path, in the right drawer.
	for _, c := range []struct {
		disk           string
		drawer, number int
	}{
		{fx.DiskA(0), 1, 0},
		{fx.DiskA(35), 1, 35}, // dual-ported: by its host 1 name
		{fx.DiskB(35), 1, 35}, // and by its host 2 name
		{fx.DiskA(41), 1, 41}, // the last slot of drawer 1
		{fx.DiskB(42), 2, 42}, // the first of drawer 2, only on host 2
		{"/dev/" + fx.DiskB(82), 2, 82},
	} {
		_, s, ok := enclosure.SlotOf(encls, c.disk)
		if !ok || s.Drawer != c.drawer || s.Number != c.number {
			t.Errorf("SlotOf(%s) = drawer %d slot %d, %v; want drawer %d slot %d",
				c.disk, s.Drawer, s.Number, ok, c.drawer, c.number)
		}
	}
	locs := enclosure.Locations(encls[1:])
	if l := locs[fx.DiskB(70)]; l.String() != fx.ID5U84+"/70 (drawer 2)" {
		t.Errorf("location of slot 70 = %q", l)
	}
	if l := locs[fx.DiskA(35)]; l != locs[fx.DiskB(35)] || l.Slot != 35 {
		t.Errorf("both names of the dual-ported drive in slot 35: %+v, %+v", l, locs[fx.DiskB(35)])
	}
	if len(locs) != 84-3+12 { // populated slots, plus the second names of 30-41
		t.Errorf("%d locations, want %d", len(locs), 84-3+12)
	}
}

// The paths are in H:C:T:L order, numerically, whatever order the paths
// were created or listed in; the first path is where slot names, status
// and LEDs come from.
func TestPathOrder(t *testing.T) {
	a, b := fx.Pair()
	a.Host, b.Host = 10, 2
	for i := range a.Comps {
		a.Comps[i].Status = "critical" // path a (host 10) must not be read first
	}
	root := fx.BuildTemp(t, a, b)
	encls := scan(t, root)
	if len(encls) != 1 {
		t.Fatalf("%d enclosures, want 1", len(encls))
	}
	e := encls[0]
	if want := []string{"2:0:50:0", "10:0:50:0"}; !reflect.DeepEqual(e.Paths, want) {
		t.Errorf("paths = %q, want %q", e.Paths, want)
	}
	s := e.Slots[1]
	if s.Status != "OK" || s.Components[0] != fx.CompDir(root, b, "ArrayDevice01") {
		t.Errorf("slot 1: status %q from %q, want OK from host 2", s.Status, s.Components)
	}
	if s.Disk != "sdw" || !reflect.DeepEqual(s.Disks, []string{"sdw", "sdc"}) {
		t.Errorf("slot 1: disk %q disks %q, want sdw first (host 2)", s.Disk, s.Disks)
	}
}

// A 5U84 that numbers its slots 1-84: 1-42 are drawer 1, 43-84 drawer 2.
func TestDrawersOneBased(t *testing.T) {
	p := fx.Path{Host: 3, Target: 7, ID: "0x5000c500aaaaaaaa"}
	for n := 1; n <= 84; n++ {
		p.Comps = append(p.Comps, fx.Comp{Name: fmt.Sprintf("DISK%03d", n), Slot: fmt.Sprint(n)})
	}
	e := scan(t, fx.BuildTemp(t, p))[0]
	if e.Drawers != 2 {
		t.Errorf("drawers = %d, want 2", e.Drawers)
	}
	for _, s := range e.Slots {
		want := 1
		if s.Number > 42 {
			want = 2
		}
		if s.Drawer != want {
			t.Errorf("slot %d (%s) in drawer %d, want %d", s.Number, s.Name, s.Drawer, want)
		}
	}
}

// An enclosure whose component names say the drawer, and which numbers
// each drawer's slots from 0: slots are matched across paths by name, and
// the drawers are the names'.
func TestDrawersFromNames(t *testing.T) {
	mk := func(host int) fx.Path {
		p := fx.Path{Host: host, Target: 40, ID: "0x5000ccab0400ab3c", Vendor: "HGST", Model: "H4102-J"}
		for d := 0; d < 2; d++ {
			for n := 0; n < 42; n++ {
				p.Comps = append(p.Comps, fx.Comp{Name: fmt.Sprintf("Drawer %d Slot %02d", d, n), Slot: fmt.Sprint(n)})
			}
		}
		return p
	}
	a, b := mk(4), mk(5)
	a.Comps[3].Disk = "sdq"  // drawer 0 slot 3, on the first path
	b.Comps[47].Disk = "sdr" // drawer 1 slot 5, on the second only
	e := scan(t, fx.BuildTemp(t, a, b))[0]
	if len(e.Slots) != 84 || e.Drawers != 2 {
		t.Fatalf("%d slots in %d drawers, want 84 in 2", len(e.Slots), e.Drawers)
	}
	for i, s := range e.Slots {
		if s.Drawer != i/42+1 || s.Number != i%42 || len(s.Components) != 2 {
			t.Errorf("slot %d: %q drawer %d number %d, %d paths", i, s.Name, s.Drawer, s.Number, len(s.Components))
		}
	}
	for disk, want := range map[string]string{"sdq": "Drawer 0 Slot 03 1 3", "sdr": "Drawer 1 Slot 05 2 5"} {
		_, s, ok := enclosure.SlotOf([]enclosure.Enclosure{e}, disk)
		if got := fmt.Sprintf("%s %d %d", s.Name, s.Drawer, s.Number); !ok || got != want {
			t.Errorf("SlotOf(%s) = %q, %v; want %q", disk, got, ok, want)
		}
	}
}

// Enclosures are told apart by id, else by the SES device's SAS address,
// else they are each their own; paths without id merge on the SAS address.
func TestIdentity(t *testing.T) {
	small := func(host int, id, sas string, disk string) fx.Path {
		return fx.Path{Host: host, Target: 9, ID: id, SASAddress: sas,
			Comps: []fx.Comp{{Name: "0", Slot: "0", Disk: disk}, {Name: "1", Slot: "1"}}}
	}
	root := fx.BuildTemp(t,
		small(0, "0", "0x500605b0000272bf", "sdb"), // id zero: the SAS address
		small(1, "", "0x500605b0000272bf", "sdc"),  // no id, same SAS address: same enclosure
		small(2, "", "", "sdd"),                    // nothing: the path's name
		small(3, "0x0", "", ""),                    // zero in another spelling
	)
	encls := scan(t, root)
	var got []string
	for _, e := range encls {
		got = append(got, fmt.Sprintf("%s %q", e.ID, e.Paths))
	}
	want := []string{
		`0x500605b0000272bf ["0:0:9:0" "1:0:9:0"]`,
		`2:0:9:0 ["2:0:9:0"]`,
		`3:0:9:0 ["3:0:9:0"]`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("enclosures = %q, want %q", got, want)
	}
	if s := encls[0].Slots[0]; !reflect.DeepEqual(s.Disks, []string{"sdb", "sdc"}) || s.Disk != "sdb" {
		t.Errorf("slot 0 of the merged enclosure: disk %q disks %q, want sdb [sdb sdc]", s.Disk, s.Disks)
	}
}

func TestNoEnclosures(t *testing.T) {
	root := t.TempDir()
	for _, dir := range []string{root, filepath.Join(root, "class/enclosure")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		encls, err := enclosure.Scan(root)
		if err != nil || len(encls) != 0 {
			t.Errorf("%s: Scan = %v, %v; want nothing, no error", dir, encls, err)
		}
	}
}

// Odd trees: what a kernel or a half-removed device can leave.
func TestOddSysfs(t *testing.T) {
	t.Run("malformed slot", func(t *testing.T) {
		p := fx.JBOD12()
		p.Comps[4].Slot = "five"
		root := fx.BuildTemp(t, p)
		_, err := enclosure.Scan(root)
		wantErr(t, err, filepath.Join(root, "class/enclosure/0:0:12:0/Slot 05/slot"), `"five" is not a number`)
	})
	t.Run("class is not a directory", func(t *testing.T) {
		root := t.TempDir()
		fx.Write(t, root, "class/enclosure", "")
		_, err := enclosure.Scan(root)
		wantErr(t, err, "list enclosures", "class/enclosure")
	})
	t.Run("removed while listed", func(t *testing.T) {
		p := fx.JBOD12()
		root := fx.BuildTemp(t, p)
		if err := os.RemoveAll(filepath.Join(root, p.EncDir())); err != nil {
			t.Fatal(err)
		}
		encls, err := enclosure.Scan(root)
		if err != nil || len(encls) != 0 {
			t.Errorf("Scan = %v, %v; want the vanished enclosure skipped", encls, err)
		}
	})
	t.Run("no slot file, dangling and non-block device links", func(t *testing.T) {
		p := fx.JBOD12()
		p.Comps[0].Slot = "" // "Slot 01" without a slot file: 1, from its name
		p.Comps[11].Slot = ""
		p.Comps[11].Name = "Bay" // and no number in the name: -1
		root := fx.BuildTemp(t, p)
		// Slot 02's drive went away: its link dangles.
		if err := os.RemoveAll(filepath.Join(root, "block/sdc")); err != nil {
			t.Fatal(err)
		}
		dev, err := filepath.EvalSymlinks(filepath.Join(root, "class/enclosure/0:0:12:0/Slot 02/device"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dev); err != nil {
			t.Fatal(err)
		}
		// Slot 04's device is not a block device (no block/).
		dev, err = filepath.EvalSymlinks(filepath.Join(root, "class/enclosure/0:0:12:0/Slot 04/device"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(dev, "block")); err != nil {
			t.Fatal(err)
		}
		e := scan(t, root)[0]
		got := map[string]string{}
		for _, s := range e.Slots {
			got[s.Name] = fmt.Sprintf("%d %q", s.Number, s.Disk)
		}
		for name, want := range map[string]string{
			"Slot 01": `1 "sdb"`, "Slot 02": `2 ""`, "Slot 04": `4 ""`, "Slot 05": `5 "sdf"`, "Bay": `-1 ""`,
		} {
			if got[name] != want {
				t.Errorf("%s: %s, want %s", name, got[name], want)
			}
		}
		if e.Slots[0].Name != "Bay" {
			t.Errorf("first slot %q, want Bay (number -1)", e.Slots[0].Name)
		}
	})
	t.Run("state unreadable on the first path", func(t *testing.T) {
		a, b := fx.Pair()
		b.Comps[1].Fault = "2"
		root := fx.BuildTemp(t, a, b)
		// Slot 1: no status on the first path; slot 2: a malformed fault;
		// slot 4: nothing to read on either.
		if err := os.Remove(filepath.Join(fx.CompDir(root, a, "ArrayDevice01"), "status")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(fx.CompDir(root, a, "ArrayDevice02"), "fault"), []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"status", "fault", "locate"} {
			for _, p := range []fx.Path{a, b} {
				if err := os.Remove(filepath.Join(fx.CompDir(root, p, "ArrayDevice04"), f)); err != nil {
					t.Fatal(err)
				}
			}
		}
		e := scan(t, root)[0]
		if s := e.Slots[1]; s.Status != "OK" || !s.Fault {
			t.Errorf("slot 1: %q fault %v, want OK and the fault from the second path", s.Status, s.Fault)
		}
		if s := e.Slots[2]; s.Status != "OK" || s.Fault {
			t.Errorf("slot 2: %q fault %v, want OK without fault from the second path", s.Status, s.Fault)
		}
		if s := e.Slots[4]; s.Status != "" || s.Fault || s.Locate || s.Disk != "sdy" {
			t.Errorf("slot 4: %q %v %v %q, want unknown state, disk sdy", s.Status, s.Fault, s.Locate, s.Disk)
		}
		if s := e.Slots[0]; s.Status != "OK" || s.Fault {
			t.Errorf("slot 0: %q fault %v, want OK from the first path", s.Status, s.Fault)
		}
	})
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}
