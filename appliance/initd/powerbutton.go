package initd

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The power button. A BMC's "graceful shutdown" and QEMU's system_powerdown
// press the ACPI power button; the kernel's button driver (module button)
// reports it as a key on an input device named "Power Button", read
// through evdev (/dev/input/eventN). Nothing else in the image listens for
// it (there is no acpid), so init does: a press powers the node off the
// way SIGPWR does.
//
// struct input_event on 64-bit Linux, 24 bytes, host byte order:
//
//	offset  size  field
//	     0    16  time (struct timeval: seconds, microseconds)
//	    16     2  type   (EV_KEY = 1)
//	    18     2  code   (KEY_POWER = 116)
//	    20     4  value  (1 press, 0 release, 2 autorepeat)
const (
	inputEventSize = 24
	evKey          = 1
	keyPower       = 116
)

// PowerButtons lists the event devices (/dev/input/eventN) whose input
// device is a power button, from sysClassInput (/sys/class/input).
func PowerButtons(sysClassInput string) ([]string, error) {
	entries, err := os.ReadDir(sysClassInput)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "event") {
			continue
		}
		name, err := os.ReadFile(filepath.Join(sysClassInput, e.Name(), "device", "name"))
		if err != nil {
			continue
		}
		if strings.TrimSpace(string(name)) == "Power Button" {
			out = append(out, "/dev/input/"+e.Name())
		}
	}
	return out, nil
}

// WaitPowerPress reads input events from r until a press of the power
// key, and returns nil then, or the read error that ended it.
func WaitPowerPress(r io.Reader) error {
	var ev [inputEventSize]byte
	for {
		if _, err := io.ReadFull(r, ev[:]); err != nil {
			return err
		}
		typ := binary.NativeEndian.Uint16(ev[16:])
		code := binary.NativeEndian.Uint16(ev[18:])
		value := int32(binary.NativeEndian.Uint32(ev[20:]))
		if typ == evKey && code == keyPower && value == 1 {
			return nil
		}
	}
}

// watchPowerButtons makes every power button found power the node off
// (press is called once per press; it sends init the power-off signal).
func (ip *initProc) watchPowerButtons(press func()) {
	buttons, err := PowerButtons("/sys/class/input")
	if err != nil || len(buttons) == 0 {
		why := "none found"
		if err != nil {
			why = err.Error()
		}
		ip.log.Printf("power button: %s (the ACPI button and evdev modules make one); shut down with Ctrl-Alt-Del or kill -USR2 1", why)
		return
	}
	for _, b := range buttons {
		f, err := os.Open(b)
		if err != nil {
			ip.log.Printf("power button %s: %v", b, err)
			continue
		}
		ip.log.Printf("power button: %s (a press powers the node off cleanly)", b)
		go ip.guard("power button", func() {
			defer f.Close()
			for {
				if err := WaitPowerPress(f); err != nil {
					ip.log.Printf("power button %s: %v; no longer watched", b, fmt.Errorf("read: %w", err))
					return
				}
				ip.log.Printf("power button pressed")
				press()
			}
		})
	}
}
