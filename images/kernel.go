package images

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
)

// The x86 boot protocol's setup header (Documentation/arch/x86/boot.rst):
// "HdrS" at 0x202, and at 0x20E a 16-bit pointer, relative to 0x200, to the
// NUL-terminated version string ("6.1.0-56-amd64 (debian-kernel@...) #1
// SMP ...").
const (
	bzMagicOffset   = 0x202
	bzVersionOffset = 0x20e
	bzSetupBase     = 0x200
)

// bzImageVersion returns the release (the first word of the version
// string) of a bzImage, or ok false when the file is not one: a kernel of
// another architecture, or a test's fake, is not checked.
func bzImageVersion(path string) (release string, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", false, fmt.Errorf("reading the kernel: %w", err)
	}
	defer f.Close()
	head := make([]byte, 0x10000) // setup code is at most 32 KiB; the string is inside it
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", false, fmt.Errorf("reading the kernel %s: %w", path, err)
	}
	head = head[:n]
	if len(head) < bzVersionOffset+2 || string(head[bzMagicOffset:bzMagicOffset+4]) != "HdrS" {
		return "", false, nil
	}
	off := int(binary.LittleEndian.Uint16(head[bzVersionOffset:])) + bzSetupBase
	if off >= len(head) {
		return "", false, nil
	}
	s := head[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	fields := strings.Fields(string(s))
	if len(fields) == 0 {
		return "", false, nil
	}
	return fields[0], true, nil
}
