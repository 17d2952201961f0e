package hw

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// mount is one line of the mount table.
type mount struct {
	Point  string // where it is mounted
	FSType string
}

// mounts are one device's mounts.
type mounts []mount

// mountTable maps a device number "major:minor" to its mounts, in table
// order.
type mountTable map[string]mounts

// readMountInfo parses a mountinfo file (proc(5)): field 3 is the mounted
// device's major:minor, field 5 the mount point, and the first field after
// the " - " separator the filesystem type.
func readMountInfo(path string) (mountTable, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	t := mountTable{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 || !strings.Contains(f[2], ":") {
			return nil, fmt.Errorf("%s line %d: not a mountinfo line: %q", path, n, line)
		}
		m := mount{Point: unescapeMount(f[4])}
		for i := 6; i < len(f)-1; i++ {
			if f[i] == "-" {
				m.FSType = f[i+1]
				break
			}
		}
		t[f[2]] = append(t[f[2]], m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mount table %s: %w", path, err)
	}
	return t, nil
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space, \011,
// \012, \134) in mount points.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// describe renders a device's mounts: "/srv/data (xfs), /mnt/bind (xfs)".
func (ms mounts) describe() string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.FSType == "" {
			parts = append(parts, m.Point)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", m.Point, m.FSType))
	}
	return strings.Join(parts, ", ")
}
