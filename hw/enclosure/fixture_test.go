package enclosure_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The fixture trees live on disk; on a slow file system an 84-slot tree
// with two paths takes seconds to write, so the tests that only read share
// one machine (sharedMachine), and those that write use small enclosures.

var (
	sharedDir  string // made by TestMain, removed after the tests
	sharedOnce sync.Once
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "enclosure-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedMachine is a read-only machine with jbod12 and the5U84; tests must
// not change it.
func sharedMachine(t *testing.T) string {
	t.Helper()
	sharedOnce.Do(func() {
		a, b := the5U84()
		buildSysIn(t, sharedDir, jbod12(), a, b)
	})
	return sharedDir
}

// The fixture sysfs trees are built in a temporary directory, with the
// links the kernel makes, so that the code under test follows them as it
// does on a real machine:
//
//	class/enclosure/H:0:T:0 -> ../../devices/pci0000:00/0000:00:03.0/hostH/targetH:0:T/H:0:T:0/enclosure/H:0:T:0
//	.../H:0:T:0/enclosure/H:0:T:0/device -> ../../../H:0:T:0 (the SES device: vendor, model, sas_address)
//	.../H:0:T:0/enclosure/H:0:T:0/COMPONENT/device -> the drive's SCSI device, holding block/sdX/
//	block/sdX -> ../devices/.../block/sdX

// fxPath is one SES path: one enclosure device.
type fxPath struct {
	host, target int
	id           string // content of id; "" writes no file
	vendor       string // device/vendor, padded as SCSI pads it
	model        string
	sasAddress   string // device/sas_address; "" writes no file
	comps        []fxComp
}

// fxComp is one component (slot) of a path.
type fxComp struct {
	name string
	slot string // content of slot; "" writes no file
	// disk is the block device behind the device link; "" links nothing.
	disk string
	// status defaults to "OK" with a disk and "not installed" without.
	status        string
	fault, locate string // default "0"
}

func (p fxPath) name() string { return fmt.Sprintf("%d:0:%d:0", p.host, p.target) }

func scsiDir(host, target int) string {
	return fmt.Sprintf("devices/pci0000:00/0000:00:03.0/host%d/target%d:0:%d/%d:0:%d:0",
		host, host, target, host, target)
}

// encDir is the path's enclosure device directory, relative to the root.
func (p fxPath) encDir() string {
	return filepath.Join(scsiDir(p.host, p.target), "enclosure", p.name())
}

// compDir is where a component of p lives under the class link: the path
// Scan reports in Slot.Components.
func compDir(root string, p fxPath, comp string) string {
	return filepath.Join(root, "class/enclosure", p.name(), comp)
}

// buildSys writes the paths' tree under a new temporary directory and
// returns it, the sysfs root.
func buildSys(t *testing.T, paths ...fxPath) string {
	t.Helper()
	root := t.TempDir()
	buildSysIn(t, root, paths...)
	return root
}

func buildSysIn(t *testing.T, root string, paths ...fxPath) {
	t.Helper()
	diskDirs := map[string]string{} // disk -> its SCSI device, relative to root
	nextTarget := map[int]int{}
	for _, p := range paths {
		sdev := scsiDir(p.host, p.target)
		write(t, root, filepath.Join(sdev, "vendor"), p.vendor)
		write(t, root, filepath.Join(sdev, "model"), p.model)
		if p.sasAddress != "" {
			write(t, root, filepath.Join(sdev, "sas_address"), p.sasAddress)
		}
		enc := p.encDir()
		mkdir(t, root, filepath.Join(enc, "power"))
		write(t, root, filepath.Join(enc, "uevent"), "")
		write(t, root, filepath.Join(enc, "components"), fmt.Sprintf("%d", len(p.comps)))
		if p.id != "" {
			write(t, root, filepath.Join(enc, "id"), p.id)
		}
		link(t, root, filepath.Join(enc, "device"), sdev)
		link(t, root, filepath.Join("class/enclosure", p.name()), enc)
		for _, c := range p.comps {
			cdir := filepath.Join(enc, c.name)
			if c.slot != "" {
				write(t, root, filepath.Join(cdir, "slot"), c.slot)
			}
			status := c.status
			if status == "" {
				status = "not installed"
				if c.disk != "" {
					status = "OK"
				}
			}
			write(t, root, filepath.Join(cdir, "status"), status)
			write(t, root, filepath.Join(cdir, "fault"), or(c.fault, "0"))
			write(t, root, filepath.Join(cdir, "locate"), or(c.locate, "0"))
			write(t, root, filepath.Join(cdir, "type"), "array device")
			if c.disk == "" {
				continue
			}
			dd, ok := diskDirs[c.disk]
			if !ok {
				nextTarget[p.host]++
				dd = scsiDir(p.host, nextTarget[p.host])
				diskDirs[c.disk] = dd
				blk := filepath.Join(dd, "block", c.disk)
				write(t, root, filepath.Join(blk, "size"), "35156656128")
				link(t, root, filepath.Join("block", c.disk), blk)
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

// write creates root/rel holding v and a newline, as sysfs prints values.
func write(t *testing.T, root, rel, v string) {
	t.Helper()
	mkdir(t, root, filepath.Dir(rel))
	if err := os.WriteFile(filepath.Join(root, rel), []byte(v+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, root, rel string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
		t.Fatal(err)
	}
}

// link makes root/rel a relative symbolic link to root/target.
func link(t *testing.T, root, rel, target string) {
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

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The machines of the tests.

// jbod12 is a 12-bay enclosure on one path, slots numbered 1-12 and named
// "Slot 01".."Slot 12": bays 1-9 hold sdb..sdj, 10-12 are empty; bay 3
// shows a fault, bay 5 is being located.
func jbod12() fxPath {
	p := fxPath{host: 0, target: 12, id: "0x500C0FF0ABCDEF3C", vendor: "DELL    ",
		model: "MD1400          ", sasAddress: "0x500c0ff0abcdef3e"}
	for i := 1; i <= 12; i++ {
		c := fxComp{name: fmt.Sprintf("Slot %02d", i), slot: fmt.Sprint(i)}
		if i <= 9 {
			c.disk = fmt.Sprintf("sd%c", 'a'+i)
		}
		switch i {
		case 3:
			c.fault, c.status = "2", "critical"
		case 5:
			c.locate = "1"
		}
		p.comps = append(p.comps, c)
	}
	return p
}

const id5U84 = "0x5000c500a1b2c3d4"

// the5U84 is an 84-slot 5U84 reached through both IO modules, on hosts 1
// and 2, components "ArrayDevice00".."ArrayDevice83" with slots 0-83:
//
//   - host 1 links the drives in slots 0-41 (diskA);
//   - host 2 links slots 30-83 (diskB): the drives in 30-41 are seen on
//     both hosts, as two disks;
//   - slots 10, 50 and 83 are empty.
func the5U84() (a, b fxPath) {
	a = fxPath{host: 1, target: 100, id: id5U84, vendor: "SEAGATE ", model: "5U84            "}
	b = fxPath{host: 2, target: 100, id: id5U84, vendor: "SEAGATE ", model: "5U84            "}
	for n := 0; n < 84; n++ {
		// Both IO modules report the same element status.
		ca := fxComp{name: fmt.Sprintf("ArrayDevice%02d", n), slot: fmt.Sprint(n), status: "OK"}
		if empty5U84(n) {
			ca.status = "not installed"
		}
		cb := ca
		if !empty5U84(n) {
			if n < 42 {
				ca.disk = diskA(n)
			}
			if n >= 30 {
				cb.disk = diskB(n)
			}
		}
		a.comps = append(a.comps, ca)
		b.comps = append(b.comps, cb)
	}
	return a, b
}

func empty5U84(n int) bool { return n == 10 || n == 50 || n == 83 }

// diskA and diskB name the disk in slot n as each path sees it.
func diskA(n int) string { return fmt.Sprintf("sda%c%c", 'a'+n/26, 'a'+n%26) }
func diskB(n int) string { return fmt.Sprintf("sdc%c%c", 'a'+n/26, 'a'+n%26) }

const idPair = "0x5000c500bbbbbbbb"

// pair is a small enclosure on two paths (hosts 6 and 7), components
// "ArrayDevice00".."ArrayDevice05" with slots 0-5: slot 0 holds sdb (first
// path), slot 1 a dual-ported drive, sdc on the first path and sdw on the
// second, slot 2 sdx (second path), slot 3 nothing, slot 4 sdy (second
// path), slot 5 sdd (first path).
func pair() (a, b fxPath) {
	a = fxPath{host: 6, target: 50, id: idPair, vendor: "SEAGATE", model: "4U24"}
	b = fxPath{host: 7, target: 50, id: idPair, vendor: "SEAGATE", model: "4U24"}
	disksA := []string{"sdb", "sdc", "", "", "", "sdd"}
	disksB := []string{"", "sdw", "sdx", "", "sdy", ""}
	for n := range 6 {
		c := fxComp{name: fmt.Sprintf("ArrayDevice%02d", n), slot: fmt.Sprint(n), status: "OK"}
		if n == 3 {
			c.status = "not installed"
		}
		ca, cb := c, c
		ca.disk, cb.disk = disksA[n], disksB[n]
		a.comps = append(a.comps, ca)
		b.comps = append(b.comps, cb)
	}
	return a, b
}
