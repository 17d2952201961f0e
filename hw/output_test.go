package hw

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./hw -run %s -update rewrites it):\ngot:\n%s\nwant:\n%s", path, t.Name(), got, want)
	}
}

// fixtureInventory inventories the fixture machine. The golden files show
// its temporary device root as /dev.
func fixtureInventory(t *testing.T) (drives []Drive, devRoot string) {
	t.Helper()
	devRoot = fixtureDevRoot(t)
	drives, err := Inventory(fixtureOptions(devRoot))
	if err != nil {
		t.Fatal(err)
	}
	return drives, devRoot
}

func TestWriteTable(t *testing.T) {
	drives, devRoot := fixtureInventory(t)
	var b bytes.Buffer
	if err := WriteTable(&b, drives); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.golden", bytes.ReplaceAll(b.Bytes(), []byte(devRoot), []byte("/dev")))

	// The rows an operator looks for, whitespace collapsed.
	rows := map[string]bool{}
	for _, l := range strings.Split(b.String(), "\n") {
		rows[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, want := range []string{
		"NAME SIZE MODEL SERIAL ROT ZONED ZONES LBS STATUS",
		"sda 18.0T ST18000NM000J-2T ZR5ABC12 yes none - 512 ok",
		"sdb 14.0T HSH721414ALN6M0 9RGABCDE yes host-managed 52156 4096 ok",
		"nvme0n2 7.9T WZS4C8T4TDSP303 A0B1C2D3E4F5 no host-managed 3688 4096 ok",
		"loop1 1.1G - - no none - 512 ok",
		"sdc 1.9T Micron_5300_MTFDDAK1T9TDS 2001ABCDEF01 no none - 512 refused: mounted at /srv/data pool (xfs), /mnt/bind (xfs); signature: XFS filesystem at byte 0",
		"sde 8.0T ST8000NM0055-1RM112 ZA1EEEE1 yes none - 512 refused: held by md127; signature: Linux md RAID superblock v1.2 at byte 4096",
		"sdh 18.0T ST18000NM004J ZR5SAS01 yes none - 4096 refused: belongs to another Plinth node: " + nodeB.String(),
		"sdi 12.0T HUH721212AL5200 8DHIIII1 yes none - 4096 ok",
	} {
		if !rows[want] {
			t.Errorf("table has no row %q:\n%s", want, b.String())
		}
	}
	// Aligned: every row starts its SIZE column where the header does.
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	col := strings.Index(lines[0], "SIZE")
	for _, l := range lines[1:] {
		if l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("row not aligned on SIZE: %q", l)
		}
	}
}

func TestWriteTableEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(b.String()), " "); got != "NAME SIZE MODEL SERIAL ROT ZONED ZONES LBS STATUS" {
		t.Errorf("empty table = %q", b.String())
	}
}

func TestWriteJSON(t *testing.T) {
	drives, devRoot := fixtureInventory(t)
	var b bytes.Buffer
	if err := WriteJSON(&b, drives); err != nil {
		t.Fatal(err)
	}
	golden(t, "inventory.golden.json", bytes.ReplaceAll(b.Bytes(), []byte(devRoot), []byte("/dev")))

	// It reads back into the same drives.
	var back []Drive
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	diffDrives(t, back, drives)

	// Field by field for one drive, so that a renamed field cannot slip
	// through an -update.
	var raw []map[string]any
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]any{}
	for _, d := range raw {
		byName[d["name"].(string)] = d
	}
	nvme := byName["nvme0n2"]
	want := map[string]any{
		"name": "nvme0n2", "path": devRoot + "/nvme0n2",
		"model": "WZS4C8T4TDSP303", "serial": "A0B1C2D3E4F5", "wwn": "eui.0014ee8300000002", "transport": "nvme",
		"size_bytes": float64(15468593152 * 512), "rotational": false,
		"zoned": "host-managed", "zone_size_bytes": float64(2 << 30), "nr_zones": float64(3688),
		"max_open_zones": float64(14), "max_active_zones": float64(14),
		"logical_block_size": float64(4096), "physical_block_size": float64(4096), "optimal_io_size": float64(65536),
		"plinth_node": "", "usable": true, "refused": []any{},
	}
	if len(nvme) != len(want) {
		t.Errorf("nvme0n2 has %d fields, want %d: %v", len(nvme), len(want), nvme)
	}
	for k, w := range want {
		if g, ok := nvme[k]; !ok || !jsonEqual(g, w) {
			t.Errorf("nvme0n2 %s = %#v, want %#v", k, g, w)
		}
	}

	// A labelled drive has the label fields too, position 0 included.
	sdi := byName["sdi"]
	if len(sdi) != len(want)+2 {
		t.Errorf("sdi has %d fields, want %d: %v", len(sdi), len(want)+2, sdi)
	}
	for k, w := range map[string]any{
		"plinth_node": nodeA.String(), "plinth_drive": driveI.String(), "plinth_position": float64(0),
	} {
		if g, ok := sdi[k]; !ok || !jsonEqual(g, w) {
			t.Errorf("sdi %s = %#v, want %#v", k, g, w)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestWriteJSONEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[]\n" {
		t.Errorf("empty JSON = %q", b.String())
	}
}

func TestUnmarshalBadZoneModel(t *testing.T) {
	var d Drive
	err := json.Unmarshal([]byte(`{"name":"sdq","zoned":"sideways"}`), &d)
	if err == nil || !strings.Contains(err.Error(), `drive "sdq"`) {
		t.Errorf("err = %v", err)
	}
}

func TestHumanSize(t *testing.T) {
	for in, want := range map[int64]string{
		0:                  "0B",
		512:                "512B",
		999:                "999B",
		1000:               "1.0K",
		999_949:            "999.9K",
		999_950:            "1.0M",
		1_073_741_824:      "1.1G",
		18_000_207_937_536: "18.0T",
		1 << 62:            "4.6E",
	} {
		if got := humanSize(in); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", in, got, want)
		}
	}
}
