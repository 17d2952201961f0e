package enclosure

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Locate turns the locate (identify) LED of a slot on or off: the slot
// holding disk ("sdb" or "/dev/sdb"), or any target Find takes.
func Locate(sysRoot, disk string, on bool) error {
	return diskLED(sysRoot, disk, "locate", on)
}

// Fault turns the fault LED of the slot holding disk on or off.
func Fault(sysRoot, disk string, on bool) error {
	return diskLED(sysRoot, disk, "fault", on)
}

// SetLocate turns the slot's locate LED on or off; the slot may be empty
// (show the operator where the new drive goes).
func (s Slot) SetLocate(on bool) error { return s.setLED("locate", on) }

// SetFault turns the slot's fault LED on or off.
func (s Slot) SetFault(on bool) error { return s.setLED("fault", on) }

func diskLED(sysRoot, disk, led string, on bool) error {
	encls, err := Map(sysRoot)
	if err != nil {
		return fmt.Errorf("%s LED of %s: %w", led, disk, err)
	}
	_, s, err := Find(encls, disk)
	if err != nil {
		return fmt.Errorf("%s LED of %s (enclosures under %s): %w", led, disk, filepath.Join(sysRoot, classDir), err)
	}
	return s.setLED(led, on)
}

// setLED writes "1\n" or "0\n" to the LED file of the slot's component on
// the first path that takes it: every path reaches the same enclosure, so
// one write is enough. When every path fails, the error names each file.
func (s Slot) setLED(led string, on bool) error {
	v := "0\n"
	if on {
		v = "1\n"
	}
	if len(s.Components) == 0 {
		return fmt.Errorf("%s LED of slot %d (%s): the slot has no component directory", led, s.Number, s.Name)
	}
	var errs []error
	for _, dir := range s.Components {
		err := writeAttr(filepath.Join(dir, led), v)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("%s LED of slot %d (%s): %w", led, s.Number, s.Name, errors.Join(errs...))
}

// writeAttr writes v to an existing sysfs attribute, as `echo 1 > file`
// does; it never creates the file.
func writeAttr(path, v string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	return nil
}
