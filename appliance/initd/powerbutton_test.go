package initd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func inputEvent(typ, code uint16, value int32) []byte {
	b := make([]byte, inputEventSize)
	binary.NativeEndian.PutUint16(b[16:], typ)
	binary.NativeEndian.PutUint16(b[18:], code)
	binary.NativeEndian.PutUint32(b[20:], uint32(value))
	return b
}

// A press of the power key ends the wait; its release, other keys, other
// event types and autorepeat do not; a stream that ends first is an
// error.
func TestWaitPowerPress(t *testing.T) {
	var s bytes.Buffer
	s.Write(inputEvent(0, 0, 0))            // EV_SYN
	s.Write(inputEvent(evKey, 28, 1))       // Enter
	s.Write(inputEvent(evKey, keyPower, 0)) // release
	s.Write(inputEvent(evKey, keyPower, 2)) // autorepeat
	r := bytes.NewReader(append(s.Bytes(), inputEvent(evKey, keyPower, 1)...))
	if err := WaitPowerPress(r); err != nil {
		t.Fatalf("a press: %v", err)
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes left after the press", r.Len())
	}
	if err := WaitPowerPress(bytes.NewReader(s.Bytes())); !errors.Is(err, io.EOF) {
		t.Fatalf("no press before the end: %v", err)
	}
	if err := WaitPowerPress(bytes.NewReader(inputEvent(evKey, keyPower, 1)[:10])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a torn event: %v", err)
	}
}

func TestPowerButtons(t *testing.T) {
	dir := t.TempDir()
	for ev, name := range map[string]string{"event0": "AT Translated Set 2 keyboard\n", "event1": "Power Button\n", "event3": "Power Button\n", "mouse0": "Power Button\n"} {
		if err := os.MkdirAll(filepath.Join(dir, ev, "device"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ev, "device", "name"), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "event7"), 0o755); err != nil { // no device/name
		t.Fatal(err)
	}
	got, err := PowerButtons(dir)
	if err != nil || !slices.Equal(got, []string{"/dev/input/event1", "/dev/input/event3"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := PowerButtons(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing /sys/class/input gave no error")
	}
}
