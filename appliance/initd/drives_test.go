package initd

import (
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/hw"
	"github.com/plinth-storage/plinth/io/dev"
)

const (
	nodeA = "0b4f6b1e-8e3a-4c1e-9f5e-111111111111"
	nodeB = "0b4f6b1e-8e3a-4c1e-9f5e-222222222222"
)

func blank(name string) hw.Drive { return hw.Drive{Name: name, Path: "/dev/" + name, Size: 1 << 30} }

func labelled(name, node string, pos int) hw.Drive {
	d := blank(name)
	d.PlinthNode, d.PlinthPosition = node, pos
	return d
}

func refused(d hw.Drive, why ...string) hw.Drive { d.Refused = why; return d }

func names(ds []hw.Drive) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return strings.Join(out, " ")
}

func TestChooseNode(t *testing.T) {
	if n := ChooseNode([]hw.Drive{blank("sda"), blank("sdb")}); n != "" {
		t.Fatalf("blank drives chose %q", n)
	}
	drives := []hw.Drive{labelled("sda", nodeB, 0), labelled("sdb", nodeA, 0), labelled("sdc", nodeA, 1), blank("sdd")}
	if n := ChooseNode(drives); n != nodeA {
		t.Fatalf("chose %q, want the node with most drives %s", n, nodeA)
	}
	// Equal counts: the lowest UUID, whatever the order.
	tie := []hw.Drive{labelled("sda", nodeB, 0), labelled("sdb", nodeA, 0)}
	for range 2 {
		if n := ChooseNode(tie); n != nodeA {
			t.Fatalf("tie chose %q", n)
		}
		tie[0], tie[1] = tie[1], tie[0]
	}
}

func TestPlanFormatsAllBlank(t *testing.T) {
	drives := []hw.Drive{blank("nvme0n1"), blank("sda"), blank("vda"), blank("loop0"), blank("sr0"), blank("ram0")}
	p := PlanDrives(drives, nil, FormatBlank, "", nil)
	if p.Action != Format || names(p.Drives) != "nvme0n1 sda vda" || len(p.Ignored) != 0 {
		t.Fatalf("got %+v", p)
	}
	if got := Paths(p.Drives); !reflect.DeepEqual(got, []string{"/dev/nvme0n1", "/dev/sda", "/dev/vda"}) {
		t.Fatalf("paths %v", got)
	}
}

func TestPlanNeverFormatsUnasked(t *testing.T) {
	p := PlanDrives([]hw.Drive{blank("sda"), blank("sdb")}, nil, FormatNever, "", nil)
	if p.Action != Idle || p.Reason != "no Plinth drives; boot with plinth.format=blank to format" || names(p.Candidates) != "sda sdb" {
		t.Fatalf("got %+v", p)
	}
}

func TestPlanRefusesToFormatNonBlank(t *testing.T) {
	drives := []hw.Drive{blank("sda"), refused(blank("sdb"), "signature: ext4"), blank("sdc")}
	p := PlanDrives(drives, nil, FormatBlank, "", nil)
	if p.Action != Idle || !strings.Contains(p.Reason, "1 of 3 drives are not blank") {
		t.Fatalf("got %+v", p)
	}
	if len(p.Ignored) != 1 || p.Ignored[0].Drive.Name != "sdb" || p.Ignored[0].Reason != "signature: ext4" {
		t.Fatalf("ignored %+v", p.Ignored)
	}
	// Naming only the blank drives formats them.
	p = PlanDrives(drives, []string{"sda", "sdc"}, FormatBlank, "", nil)
	if p.Action != Format || names(p.Drives) != "sda sdc" {
		t.Fatalf("with plinth.drives: %+v", p)
	}
}

func TestPlanServesLabelled(t *testing.T) {
	// The inventory was taken with ThisNode = nodeA: its drives are usable.
	drives := []hw.Drive{
		labelled("nvme0n1", nodeA, 0),
		refused(labelled("nvme0n2", nodeB, 0), "belongs to another Plinth node: "+nodeB),
		labelled("sda", nodeA, 1),
		blank("sdb"),
		refused(labelled("sdc", nodeA, 2), "mounted"),
		refused(blank("vda"), "signature: gpt"),
	}
	for _, format := range []FormatPolicy{FormatNever, FormatBlank} {
		p := PlanDrives(drives, nil, format, nodeA, nil)
		if p.Action != Serve || p.Node != nodeA || names(p.Drives) != "nvme0n1 sda" {
			t.Fatalf("format=%s: got %+v", format, p)
		}
		// A blank drive beside a node is never formatted.
		if names(p.Candidates) != "sdb" {
			t.Fatalf("candidates %s", names(p.Candidates))
		}
		var ig []string
		for _, i := range p.Ignored {
			ig = append(ig, i.Drive.Name+": "+i.Reason)
		}
		want := []string{"nvme0n2: belongs to another Plinth node: " + nodeB, "sdc: mounted", "vda: signature: gpt"}
		if !reflect.DeepEqual(ig, want) {
			t.Fatalf("ignored %q, want %q", ig, want)
		}
	}
}

func TestPlanNodeWithoutUsableDrives(t *testing.T) {
	p := PlanDrives([]hw.Drive{refused(labelled("sda", nodeA, 0), "mounted")}, nil, FormatBlank, nodeA, nil)
	if p.Action != Idle || !strings.Contains(p.Reason, "none is usable") {
		t.Fatalf("got %+v", p)
	}
}

func TestPlanDrivesList(t *testing.T) {
	drives := []hw.Drive{blank("sda"), blank("sdb"), blank("sdc")}
	p := PlanDrives(drives, []string{"sdc", "sdx", "sda"}, FormatBlank, "", nil)
	if p.Action != Format || names(p.Drives) != "sda sdc" || !reflect.DeepEqual(p.Missing, []string{"sdx"}) {
		t.Fatalf("got %+v", p)
	}
	p = PlanDrives(drives, []string{"sdx"}, FormatBlank, "", nil)
	if p.Action != Idle || !strings.Contains(p.Reason, "none of the drives plinth.drives names") {
		t.Fatalf("only missing: %+v", p)
	}
	// A listed loop device is still never taken.
	p = PlanDrives([]hw.Drive{blank("loop0")}, []string{"loop0"}, FormatBlank, "", nil)
	if p.Action != Idle {
		t.Fatalf("loop device: %+v", p)
	}
}

// The disk of the firmware slots (an ext4 signature: not blank) is neither
// formatted nor served, and does not keep the blank drives from being
// formatted; named in plinth.drives it is still not taken.
func TestPlanReservesTheSlotsDisk(t *testing.T) {
	slots := refused(blank("vdc"), "has a filesystem signature (ext4)")
	reserved := map[string]string{"vdc": "it holds the firmware slots (plinth.slots)"}
	drives := []hw.Drive{blank("vda"), blank("vdb"), slots}
	for _, want := range [][]string{nil, {"vda", "vdb", "vdc"}} {
		p := PlanDrives(drives, want, FormatBlank, "", reserved)
		if p.Action != Format || names(p.Drives) != "vda vdb" || len(p.Ignored) != 0 || len(p.Missing) != 0 ||
			len(p.Reserved) != 1 || p.Reserved[0].Drive.Name != "vdc" || p.Reserved[0].Reason != reserved["vdc"] {
			t.Fatalf("plinth.drives %v: %+v", want, p)
		}
	}
	// Without the reservation, the slots disk blocks the format.
	if p := PlanDrives(drives, nil, FormatBlank, "", nil); p.Action != Idle || !strings.Contains(p.Reason, "1 of 3 drives are not blank") {
		t.Fatalf("no reservation: %+v", p)
	}
	// A node: its drives are served, the slots disk left alone, even
	// when it is blank.
	p := PlanDrives([]hw.Drive{labelled("vda", nodeA, 0), labelled("vdb", nodeA, 1), blank("vdc")}, nil, FormatBlank, nodeA, reserved)
	if p.Action != Serve || names(p.Drives) != "vda vdb" || len(p.Candidates) != 0 || len(p.Reserved) != 1 {
		t.Fatalf("node: %+v", p)
	}
	// Only the slots disk: nothing to do.
	if p := PlanDrives([]hw.Drive{slots}, nil, FormatBlank, "", reserved); p.Action != Idle || !strings.Contains(p.Reason, "no drives found") {
		t.Fatalf("only the slots disk: %+v", p)
	}
}

func TestPlanNoDrives(t *testing.T) {
	p := PlanDrives(nil, nil, FormatBlank, "", nil)
	if p.Action != Idle || !strings.Contains(p.Reason, "no drives found") {
		t.Fatalf("got %+v", p)
	}
}

func TestDriveLine(t *testing.T) {
	d := hw.Drive{Name: "nvme0n1", Model: "QEMU NVMe Ctrl", Size: 1 << 30, Zoned: dev.ZoneModelHostManaged, ZoneSize: 16 << 20, NrZones: 64}
	if got, want := DriveLine(d), "nvme0n1: QEMU NVMe Ctrl, 1.0GiB, host-managed (64 zones of 16.0MiB)"; got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	d = refused(labelled("vda", nodeA, 2), "labelled by Plinth node "+nodeA+" (this node has no UUID yet)")
	got := DriveLine(d)
	if !strings.HasPrefix(got, "vda: 1.0GiB, none, drive 2 of node "+nodeA+", refused: labelled") {
		t.Fatalf("got %q", got)
	}
	if Action(7).String() != "idle" || Serve.String() != "serve" || Format.String() != "format" {
		t.Fatal("Action.String")
	}
}
