package hw

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysDir is one device's sysfs directory, /sys/block/X.
type sysDir string

func (s sysDir) path(rel string) string { return filepath.Join(string(s), rel) }

// attr reads a text attribute with surrounding white space removed. ok is
// false when the file does not exist.
func (s sysDir) attr(rel string) (v string, ok bool, err error) {
	b, err := os.ReadFile(s.path(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read sysfs attribute: %w", err)
	}
	return strings.TrimSpace(string(b)), true, nil
}

// bestEffort reads an attribute that only serves to describe the drive:
// anything that goes wrong reads as "".
func (s sysDir) bestEffort(rel string) string {
	v, _, err := s.attr(rel)
	if err != nil {
		return ""
	}
	return v
}

// number reads a non-negative decimal attribute. A missing file is an error
// when mandatory, 0 otherwise; a malformed one is always an error.
func (s sysDir) number(rel string, mandatory bool) (int64, error) {
	v, ok, err := s.attr(rel)
	if err != nil {
		return 0, err
	}
	if !ok {
		if mandatory {
			return 0, fmt.Errorf("mandatory sysfs file %s is missing", s.path(rel))
		}
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("sysfs file %s: %q is not a non-negative number", s.path(rel), v)
	}
	return int64(n), nil
}

// smallNumber is number for values that fit an int.
func (s sysDir) smallNumber(rel string, mandatory bool) (int, error) {
	n, err := s.number(rel, mandatory)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("sysfs file %s: %d is out of range", s.path(rel), n)
	}
	return int(n), nil
}

// sectors reads an attribute counted in 512-byte sectors and returns bytes.
func (s sysDir) sectors(rel string, mandatory bool) (int64, error) {
	n, err := s.number(rel, mandatory)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt64/512 {
		return 0, fmt.Errorf("sysfs file %s: %d sectors is out of range", s.path(rel), n)
	}
	return n * 512, nil
}
