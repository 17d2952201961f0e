package faultdev

import (
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
)

func mustWrite(t *testing.T, d dev.Device, p []byte, off int64) {
	t.Helper()
	if n, err := d.WriteAt(p, off); err != nil || n != len(p) {
		t.Fatalf("WriteAt(%d bytes, %d) = %d, %v", len(p), off, n, err)
	}
}

func mustRead(t *testing.T, d dev.Device, off int64, blocks int) []byte {
	t.Helper()
	p := dev.AlignedBuffer(blocks * testBlock)
	if n, err := d.ReadAt(p, off); err != nil || n != len(p) {
		t.Fatalf("ReadAt(%d bytes, %d) = %d, %v", len(p), off, n, err)
	}
	return p
}

func mustFlush(t *testing.T, d dev.Device) {
	t.Helper()
	if err := d.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// bitDiff counts the bits in which a and b differ.
func bitDiff(a, b []byte) (bits int, firstByte int) {
	firstByte = -1
	for i := range a {
		x := a[i] ^ b[i]
		for ; x != 0; x &= x - 1 {
			bits++
		}
		if a[i] != b[i] && firstByte < 0 {
			firstByte = i
		}
	}
	return bits, firstByte
}
