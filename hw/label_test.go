package hw

import (
	"strings"
	"testing"
)

// A conventional drive whose label areas cannot be read is refused: the
// inventory cannot tell whether it is blank. A zoned drive may refuse reads
// past a zone's write pointer, so there a failed read only ends the scan.
func TestCheckLabelReadError(t *testing.T) {
	d := Drive{Name: "sdx", Path: "/dev/sdx", Size: 1 << 30}
	got := checkLabel(&d, failingNode{size: d.Size}, Options{})
	if want := "cannot read Plinth label: read 4096 bytes at 0: input/output error"; got != want {
		t.Errorf("conventional: refusal %q, want %q", got, want)
	}
	d.ZoneSize = 256 << 20
	if got := checkLabel(&d, failingNode{size: d.Size}, Options{}); got != "" {
		t.Errorf("zoned: refusal %q, want none", got)
	}
}

// A damaged slot next to a valid record is harmless: the label is read.
func TestCheckLabelDamagedOlderSlot(t *testing.T) {
	img := labelImage(t, nodeA, driveI, 0)
	copy(img[1<<20:], img[:4096]) // area 1 gets a copy of the record...
	img[1<<20+40] ^= 1            // ...damaged
	d := Drive{Name: "sdx", Path: "/dev/sdx", Size: int64(len(img))}
	got := checkLabel(&d, strings.NewReader(string(img)), Options{ThisNode: nodeA.String()})
	if got != "" || d.PlinthDrive != driveI.String() {
		t.Errorf("refusal %q, drive %q; want none, %s", got, d.PlinthDrive, driveI)
	}
}
