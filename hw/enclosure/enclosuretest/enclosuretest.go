// Package enclosuretest builds fixture sysfs trees of SCSI enclosures
// (SES) for tests: the directories, attribute files and symbolic links the
// kernel's enclosure class makes, so that code under test follows them as
// it does on a real machine:
//
//	class/enclosure/H:0:T:0 -> ../../devices/pci0000:00/0000:00:03.0/hostH/targetH:0:T/H:0:T:0/enclosure/H:0:T:0
//	.../H:0:T:0/enclosure/H:0:T:0/device -> ../../../H:0:T:0 (the SES device: vendor, model, sas_address)
//	.../H:0:T:0/enclosure/H:0:T:0/COMPONENT/device -> the drive's SCSI device, holding block/sdX/
//	block/sdX -> ../devices/.../block/sdX
//
// It writes no on-disk format of Plinth's; the trees mimic the kernel's.
package enclosuretest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Path is one SES path: one enclosure device.
type Path struct {
	Host, Target int
	ID           string // content of id; "" writes no file
	Vendor       string // device/vendor, padded as SCSI pads it
	Model        string
	SASAddress   string // device/sas_address; "" writes no file
	Comps        []Comp
}

// Comp is one component (slot) of a path.
type Comp struct {
	Name string
	Slot string // content of slot; "" writes no file
	// Disk is the block device behind the device link; "" links nothing.
	Disk string
	// Status defaults to "OK" with a disk and "not installed" without.
	Status        string
	Fault, Locate string // default "0"
}

// Name is the path's enclosure device name, "H:0:T:0".
func (p Path) Name() string { return fmt.Sprintf("%d:0:%d:0", p.Host, p.Target) }

func scsiDir(host, target int) string {
	return fmt.Sprintf("devices/pci0000:00/0000:00:03.0/host%d/target%d:0:%d/%d:0:%d:0",
		host, host, target, host, target)
}

// EncDir is the path's enclosure device directory, relative to the root.
func (p Path) EncDir() string {
	return filepath.Join(scsiDir(p.Host, p.Target), "enclosure", p.Name())
}

// CompDir is where a component of p lives under the class link: the path
// Scan reports in Slot.Components.
func CompDir(root string, p Path, comp string) string {
	return filepath.Join(root, "class/enclosure", p.Name(), comp)
}

// BuildTemp writes the paths' tree under a new temporary directory and
// returns it, the sysfs root.
func BuildTemp(t testing.TB, paths ...Path) string {
	t.Helper()
	root := t.TempDir()
	Build(t, root, paths...)
	return root
}

// Build writes the paths' tree under root, which exists.
func Build(t testing.TB, root string, paths ...Path) {
	t.Helper()
	diskDirs := map[string]string{} // disk -> its SCSI device, relative to root
	nextTarget := map[int]int{}
	for _, p := range paths {
		sdev := scsiDir(p.Host, p.Target)
		Write(t, root, filepath.Join(sdev, "vendor"), p.Vendor)
		Write(t, root, filepath.Join(sdev, "model"), p.Model)
		if p.SASAddress != "" {
			Write(t, root, filepath.Join(sdev, "sas_address"), p.SASAddress)
		}
		enc := p.EncDir()
		mkdir(t, root, filepath.Join(enc, "power"))
		Write(t, root, filepath.Join(enc, "uevent"), "")
		Write(t, root, filepath.Join(enc, "components"), fmt.Sprintf("%d", len(p.Comps)))
		if p.ID != "" {
			Write(t, root, filepath.Join(enc, "id"), p.ID)
		}
		link(t, root, filepath.Join(enc, "device"), sdev)
		link(t, root, filepath.Join("class/enclosure", p.Name()), enc)
		for _, c := range p.Comps {
			cdir := filepath.Join(enc, c.Name)
			if c.Slot != "" {
				Write(t, root, filepath.Join(cdir, "slot"), c.Slot)
			}
			status := c.Status
			if status == "" {
				status = "not installed"
				if c.Disk != "" {
					status = "OK"
				}
			}
			Write(t, root, filepath.Join(cdir, "status"), status)
			Write(t, root, filepath.Join(cdir, "fault"), or(c.Fault, "0"))
			Write(t, root, filepath.Join(cdir, "locate"), or(c.Locate, "0"))
			Write(t, root, filepath.Join(cdir, "type"), "array device")
			if c.Disk == "" {
				continue
			}
			dd, ok := diskDirs[c.Disk]
			if !ok {
				nextTarget[p.Host]++
				dd = scsiDir(p.Host, nextTarget[p.Host])
				diskDirs[c.Disk] = dd
				blk := filepath.Join(dd, "block", c.Disk)
				Write(t, root, filepath.Join(blk, "size"), "35156656128")
				link(t, root, filepath.Join("block", c.Disk), blk)
			}
			link(t, root, filepath.Join(cdir, "device"), dd)
		}
	}
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Write creates root/rel holding v and a newline, as sysfs prints values.
func Write(t testing.TB, root, rel, v string) {
	t.Helper()
	mkdir(t, root, filepath.Dir(rel))
	if err := os.WriteFile(filepath.Join(root, rel), []byte(v+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t testing.TB, root, rel string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
		t.Fatal(err)
	}
}

// link makes root/rel a relative symbolic link to root/target.
func link(t testing.TB, root, rel, target string) {
	t.Helper()
	mkdir(t, root, filepath.Dir(rel))
	to, err := filepath.Rel(filepath.Dir(filepath.Join(root, rel)), filepath.Join(root, target))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(to, filepath.Join(root, rel)); err != nil {
		t.Fatal(err)
	}
}

// ReadFile returns the file's content.
func ReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The machines of the tests.

// JBOD12 is a 12-bay enclosure on one path, slots numbered 1-12 and named
// "Slot 01".."Slot 12": bays 1-9 hold sdb..sdj, 10-12 are empty; bay 3
// shows a fault, bay 5 is being located.
func JBOD12() Path {
	p := Path{Host: 0, Target: 12, ID: "0x500C0FF0ABCDEF3C", Vendor: "DELL    ",
		Model: "MD1400          ", SASAddress: "0x500c0ff0abcdef3e"}
	for i := 1; i <= 12; i++ {
		c := Comp{Name: fmt.Sprintf("Slot %02d", i), Slot: fmt.Sprint(i)}
		if i <= 9 {
			c.Disk = fmt.Sprintf("sd%c", 'a'+i)
		}
		switch i {
		case 3:
			c.Fault, c.Status = "2", "critical"
		case 5:
			c.Locate = "1"
		}
		p.Comps = append(p.Comps, c)
	}
	return p
}

// ID5U84 is The5U84's logical identifier.
const ID5U84 = "0x5000c500a1b2c3d4"

// The5U84 is an 84-slot 5U84 reached through both IO modules, on hosts 1
// and 2, components "ArrayDevice00".."ArrayDevice83" with slots 0-83:
//
//   - host 1 links the drives in slots 0-41 (DiskA);
//   - host 2 links slots 30-83 (DiskB): the drives in 30-41 are seen on
//     both hosts, as two disks;
//   - slots 10, 50 and 83 are empty.
func The5U84() (a, b Path) {
	a = Path{Host: 1, Target: 100, ID: ID5U84, Vendor: "SEAGATE ", Model: "5U84            "}
	b = Path{Host: 2, Target: 100, ID: ID5U84, Vendor: "SEAGATE ", Model: "5U84            "}
	for n := 0; n < 84; n++ {
		// Both IO modules report the same element status.
		ca := Comp{Name: fmt.Sprintf("ArrayDevice%02d", n), Slot: fmt.Sprint(n), Status: "OK"}
		if Empty5U84(n) {
			ca.Status = "not installed"
		}
		cb := ca
		if !Empty5U84(n) {
			if n < 42 {
				ca.Disk = DiskA(n)
			}
			if n >= 30 {
				cb.Disk = DiskB(n)
			}
		}
		a.Comps = append(a.Comps, ca)
		b.Comps = append(b.Comps, cb)
	}
	return a, b
}

// Empty5U84 says whether slot n of The5U84 is empty.
func Empty5U84(n int) bool { return n == 10 || n == 50 || n == 83 }

// DiskA and DiskB name the disk in slot n as each path sees it.
func DiskA(n int) string { return fmt.Sprintf("sda%c%c", 'a'+n/26, 'a'+n%26) }
func DiskB(n int) string { return fmt.Sprintf("sdc%c%c", 'a'+n/26, 'a'+n%26) }

// IDPair is Pair's logical identifier.
const IDPair = "0x5000c500bbbbbbbb"

// Pair is a small enclosure on two paths (hosts 6 and 7), components
// "ArrayDevice00".."ArrayDevice05" with slots 0-5: slot 0 holds sdb (first
// path), slot 1 a dual-ported drive, sdc on the first path and sdw on the
// second, slot 2 sdx (second path), slot 3 nothing, slot 4 sdy (second
// path), slot 5 sdd (first path).
func Pair() (a, b Path) {
	a = Path{Host: 6, Target: 50, ID: IDPair, Vendor: "SEAGATE", Model: "4U24"}
	b = Path{Host: 7, Target: 50, ID: IDPair, Vendor: "SEAGATE", Model: "4U24"}
	disksA := []string{"sdb", "sdc", "", "", "", "sdd"}
	disksB := []string{"", "sdw", "sdx", "", "sdy", ""}
	for n := range 6 {
		c := Comp{Name: fmt.Sprintf("ArrayDevice%02d", n), Slot: fmt.Sprint(n), Status: "OK"}
		if n == 3 {
			c.Status = "not installed"
		}
		ca, cb := c, c
		ca.Disk, cb.Disk = disksA[n], disksB[n]
		a.Comps = append(a.Comps, ca)
		b.Comps = append(b.Comps, cb)
	}
	return a, b
}
