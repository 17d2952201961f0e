package enclosure

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// attr reads a text attribute with surrounding white space removed.
func attr(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, unwrapPath(err))
	}
	return strings.TrimSpace(string(b)), nil
}

// bestEffort reads an attribute that only describes: anything that goes
// wrong reads as "". Non-printable bytes are dropped, so that a table stays
// a table (SCSI identity strings are space-padded ASCII).
func bestEffort(path string) string {
	v, err := attr(path)
	if err != nil {
		return ""
	}
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, v)
	return strings.TrimSpace(v)
}

// number reads a decimal attribute; ok is false when the file does not
// exist. A malformed value is an error naming the file.
func number(path string) (n int, ok bool, err error) {
	v, err := attr(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, err = strconv.Atoi(v)
	if err != nil {
		return 0, false, fmt.Errorf("sysfs file %s: %q is not a number", path, v)
	}
	return n, true, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// unwrapPath drops the path from an *fs.PathError, for messages that name
// the file themselves.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// identifier normalises an enclosure identifier or SAS address ("0x5000…"):
// lower case, and "" for nothing or zero, which identify nothing.
func identifier(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	digits := strings.TrimLeft(strings.TrimPrefix(v, "0x"), "0")
	if digits == "" {
		return ""
	}
	return v
}

// trailingNumber is the decimal number a name ends with: 5 for
// "ArrayDevice05".
func trailingNumber(name string) (int, bool) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == len(name) {
		return 0, false
	}
	n, err := strconv.Atoi(name[i:])
	if err != nil {
		return 0, false
	}
	return n, true
}

// lessHCTL orders enclosure device names H:C:T:L numerically, field by
// field (2:0:9:0 before 10:0:1:0); other names sort after them, as strings.
func lessHCTL(a, b string) bool {
	fa, oka := hctl(a)
	fb, okb := hctl(b)
	switch {
	case oka && okb:
		for i := range fa {
			if fa[i] != fb[i] {
				return fa[i] < fb[i]
			}
		}
		return false
	case oka != okb:
		return oka
	default:
		return a < b
	}
}

func hctl(name string) ([4]uint64, bool) {
	var f [4]uint64
	parts := strings.Split(name, ":")
	if len(parts) != 4 {
		return f, false
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return f, false
		}
		f[i] = n
	}
	return f, true
}
