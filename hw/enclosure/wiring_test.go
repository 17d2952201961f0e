package enclosure_test

import (
	"bytes"
	"encoding/json"
	fx "github.com/plinth-storage/plinth/hw/enclosure/enclosuretest"
	"strings"
	"testing"

	"github.com/plinth-storage/plinth/hw"
)

// The drive inventory's use of the package: hw.EnclosureSlots and the
// ENCL/SLOT column and enclosure object of `plinth drives`.

func inventoryDrives() []hw.Drive {
	return []hw.Drive{
		{Name: "nvme0n1", Path: "/dev/nvme0n1", Size: 960e9, LogicalBlockSize: 512},
		{Name: "sdb", Path: "/dev/sdb", Model: "ST18000NM004J", Size: 18e12, Rotational: true, LogicalBlockSize: 4096},
		{Name: fx.DiskB(70), Path: "/dev/" + fx.DiskB(70), Size: 18e12, Rotational: true, LogicalBlockSize: 4096},
	}
}

// rows collapses each line's white space.
func rows(s string) []string {
	var r []string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		r = append(r, strings.Join(strings.Fields(l), " "))
	}
	return r
}

func TestInventoryTable(t *testing.T) {
	root := sharedMachine(t)
	slots, err := hw.EnclosureSlots(hw.Options{SysfsRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := hw.WriteTableWithSlots(&got, inventoryDrives(), slots); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"NAME ENCL/SLOT SIZE MODEL SERIAL ROT ZONED ZONES LBS STATUS",
		"nvme0n1 - 960.0G - - no none - 512 ok",
		"sdb 0x500c0ff0abcdef3c/1 18.0T ST18000NM004J - yes none - 4096 ok",
		fx.DiskB(70) + " " + fx.ID5U84 + "/70 (drawer 2) 18.0T - - yes none - 4096 ok",
	}
	if g := rows(got.String()); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}

	// No enclosure: the table WriteTable writes, without the column.
	var plain, without bytes.Buffer
	if err := hw.WriteTable(&plain, inventoryDrives()); err != nil {
		t.Fatal(err)
	}
	empty, err := hw.EnclosureSlots(hw.Options{SysfsRoot: t.TempDir()})
	if err != nil || len(empty) != 0 {
		t.Fatalf("EnclosureSlots without enclosures = %v, %v", empty, err)
	}
	if err := hw.WriteTableWithSlots(&without, inventoryDrives(), empty); err != nil {
		t.Fatal(err)
	}
	if plain.String() != without.String() || strings.Contains(plain.String(), "ENCL/SLOT") {
		t.Errorf("without enclosures:\n%s\nwant:\n%s", without.String(), plain.String())
	}
}

func TestInventoryJSON(t *testing.T) {
	root := sharedMachine(t)
	slots, err := hw.EnclosureSlots(hw.Options{SysfsRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := hw.WriteJSONWithSlots(&out, inventoryDrives(), slots); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d drives", len(got))
	}
	if _, ok := got[0]["enclosure"]; ok {
		t.Errorf("nvme0n1 has an enclosure: %v", got[0])
	}
	for i, want := range []string{
		`{"drawer":0,"id":"0x500c0ff0abcdef3c","name":"Slot 01","slot":1}`,
		`{"drawer":2,"id":"` + fx.ID5U84 + `","name":"ArrayDevice70","slot":70}`,
	} {
		enc, _ := json.Marshal(got[i+1]["enclosure"])
		if string(enc) != want {
			t.Errorf("%s: enclosure %s, want %s", got[i+1]["name"], enc, want)
		}
	}

	// The drives still decode, and WriteJSON writes no enclosure.
	var drives []hw.Drive
	if err := json.Unmarshal(out.Bytes(), &drives); err != nil || len(drives) != 3 || drives[1].Name != "sdb" {
		t.Errorf("decode: %v, %+v", err, drives)
	}
	var plain bytes.Buffer
	if err := hw.WriteJSON(&plain, inventoryDrives()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "enclosure") {
		t.Errorf("WriteJSON wrote an enclosure:\n%s", plain.String())
	}
}
