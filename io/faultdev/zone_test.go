package faultdev

import (
	"errors"
	"slices"
	"syscall"
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

func TestZonedForwarding(t *testing.T) {
	z := newZonedMemDev()
	d := New(z, 1)
	if _, ok := dev.AsZoned(d); !ok {
		t.Fatal("AsZoned(faultdev over a zoned device) failed")
	}
	if d.Geometry() != z.Geometry() {
		t.Fatal("geometry differs from the inner device's")
	}
	zones, err := d.ReportZones(0, 0)
	if err != nil || len(zones) != z.geo.NrZones {
		t.Fatalf("ReportZones = %d zones, %v", len(zones), err)
	}
	for _, f := range []func(int64) error{d.ResetZone, d.OpenZone, d.CloseZone, d.FinishZone} {
		if err := f(testZoneSize); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"report", "reset", "open", "close", "finish"}; !slices.Equal(z.calls, want) {
		t.Fatalf("inner saw %v, want %v", z.calls, want)
	}
	if d.Ops() != 4 {
		t.Errorf("Ops() = %d, want 4 (reports are not mutating)", d.Ops())
	}

	d.FailRange(OpZone, testZoneSize, 1)
	if err := d.ResetZone(testZoneSize); !errors.Is(err, syscall.EIO) {
		t.Errorf("ResetZone of a failing zone: err = %v, want EIO", err)
	}
	if err := d.ResetZone(2 * testZoneSize); err != nil {
		t.Errorf("ResetZone of another zone: %v", err)
	}
}

func TestZonedPowerCut(t *testing.T) {
	z := newZonedMemDev()
	d := New(z, 1)
	mustWrite(t, d, fill(2, 'a'), 0)
	err := d.PowerCut(CutDrop)
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("PowerCut on a zoned device: err = %v, want ErrUnsupported", err)
	}
	mustWrite(t, d, fill(1, 'b'), 2*testBlock) // still on

	// An armed cut turns the device off and keeps every write.
	d.PowerCutAfter(0, CutDrop)
	if err := d.ResetZone(0); !errors.Is(err, dev.ErrPowerCut) {
		t.Fatalf("armed cut: err = %v, want ErrPowerCut", err)
	}
	if _, err := d.ReportZones(0, 1); !errors.Is(err, dev.ErrPowerCut) {
		t.Fatalf("report after the cut: err = %v, want ErrPowerCut", err)
	}
	d.Restart()
	got := mustRead(t, d, 0, 3)
	if string(got[:testBlock]) != string(fill(1, 'a')) || got[2*testBlock] != 'b' {
		t.Fatal("the cut changed the media of a zoned device")
	}
}

func TestZonedNoTornOrMisdirect(t *testing.T) {
	z := newZonedMemDev()
	d := New(z, 1)
	d.TornWriteRate(1)
	d.MisdirectRate(1)
	p := fill(4, 'a')
	mustWrite(t, d, p, 0)
	if string(snapshot(z.Device)[:len(p)]) != string(p) || d.Stats() != (Stats{}) {
		t.Fatalf("a write to a zoned device was torn or misdirected: %+v", d.Stats())
	}
}

func TestNotZoned(t *testing.T) {
	d := New(newMemDev(), 1)
	if _, ok := dev.AsZoned(d); ok {
		t.Fatal("AsZoned(faultdev over a conventional device) succeeded")
	}
	_, err := d.ReportZones(0, 0)
	for _, e := range []error{err, d.ResetZone(0), d.OpenZone(0), d.CloseZone(0), d.FinishZone(0)} {
		var oe *dev.OpError
		if !errors.Is(e, dev.ErrNotZoned) || !errors.As(e, &oe) {
			t.Errorf("zone op on a conventional device: err = %v, want a wrapped ErrNotZoned", e)
		}
	}
	if d.Ops() != 0 {
		t.Errorf("Ops() = %d, want 0", d.Ops())
	}
}
