package stripe

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// goldenUnit is the unit size of the golden stripes: a few blocks, enough
// for every SIMD path's main loop and tail.
const goldenUnit = 3 * BlockSize

// goldenData returns the golden stripe of a layout: data unit d filled by
// fill(seed 1000+d), parity zero.
func goldenData(n, k int) [][]byte {
	units := make([][]byte, n+k)
	for i := range units {
		units[i] = make([]byte, goldenUnit)
		if i < n {
			fill(units[i], uint64(1000+i))
		}
	}
	return units
}

func parityHash(units [][]byte, n int) string {
	h := sha256.New()
	for _, u := range units[n:] {
		h.Write(u)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestGoldenParity pins the code: the sha256 of the parity units (in
// order) of the golden stripe of several layouts. THE PARITY IS PART OF
// THE ON-DISK FORMAT. If this fails, existing stripes would be decoded
// wrongly: do not update the constants; find what changed (the library's
// field or arithmetic, this package's matrix) and put it back. The values
// were computed by this package and, independently, by a plain textbook
// implementation of the package comment's construction (bitwise GF(2^8)
// multiplication mod 0x11D, Gauss-Jordan inversion), which agreed.
func TestGoldenParity(t *testing.T) {
	for _, tc := range []struct {
		n, k int
		want string
	}{
		{4, 2, "7ab1eef0a4ee3da69cb684764ca7d6e2d78caddce28e58918f737bf55f0c23c9"},
		{2, 2, "3e9da21f65fe5dd479c15b31cc91be2d76d5a8c4556366f540f0d568b317ae92"},
		{8, 3, "28b34a66d290d73299d73a588637311056528a8f81f91c3c963fca0336c04b2d"},
		{6, 1, "05b31589b66483a73a781c3d3884914ce840a2b7c9d729a3c4b7415938828670"},
		{3, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}, // no parity: sha256 of nothing
		{1, 2, "6a2c7fba1738bf6e2f22cd7ad4287a0de473fe18226a356622a015891766233b"},
		{10, 4, "0b5c63bf2f62881c03a7112c73f8f1731db3bbc13fe61c9e4a7cc3d94d99cfc4"},
	} {
		c, err := New(Layout{N: tc.n, K: tc.k, Unit: goldenUnit})
		if err != nil {
			t.Fatal(err)
		}
		units := goldenData(tc.n, tc.k)
		if err := c.Encode(units); err != nil {
			t.Fatal(err)
		}
		if got := parityHash(units, tc.n); got != tc.want {
			t.Errorf("%d+%d: parity sha256 %s, want %s: THE ON-DISK PARITY CHANGED", tc.n, tc.k, got, tc.want)
		}
	}
}

// TestMirror: with one data unit every parity unit is a copy of it, so
// 1+2 is a three-way mirror.
func TestMirror(t *testing.T) {
	units := goldenData(1, 2)
	c, err := New(Layout{N: 1, K: 2, Unit: goldenUnit})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Encode(units); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(units[1], units[0]) || !bytes.Equal(units[2], units[0]) {
		t.Fatal("1+2 parity is not a copy of the data")
	}
}

// TestSIMDPathsAgree encodes the golden stripes with each instruction
// set the library may pick, down to plain Go, and checks they agree with
// the codec: the parity must not depend on the CPU a node runs on.
func TestSIMDPathsAgree(t *testing.T) {
	paths := map[string][]reedsolomon.Option{
		"no-gfni":    {reedsolomon.WithGFNI(false), reedsolomon.WithAVXGFNI(false)},
		"no-avx512":  {reedsolomon.WithAVX512(false), reedsolomon.WithGFNI(false), reedsolomon.WithAVXGFNI(false)},
		"ssse3-only": {reedsolomon.WithAVX512(false), reedsolomon.WithGFNI(false), reedsolomon.WithAVXGFNI(false), reedsolomon.WithAVX2(false)},
		"plain-go": {reedsolomon.WithAVX512(false), reedsolomon.WithGFNI(false), reedsolomon.WithAVXGFNI(false),
			reedsolomon.WithAVX2(false), reedsolomon.WithSSSE3(false), reedsolomon.WithSSE2(false),
			reedsolomon.WithNEON(false), reedsolomon.WithSVE(false)},
		"goroutines": {reedsolomon.WithMaxGoroutines(8), reedsolomon.WithMinSplitSize(1024)},
	}
	for _, nk := range [][2]int{{4, 2}, {2, 2}, {8, 3}, {6, 1}, {1, 2}, {10, 4}, {16, 16}, {31, 1}} {
		n, k := nk[0], nk[1]
		c, err := New(Layout{N: n, K: k, Unit: goldenUnit})
		if err != nil {
			t.Fatal(err)
		}
		want := goldenData(n, k)
		if err := c.Encode(want); err != nil {
			t.Fatal(err)
		}
		rows, err := parityMatrix(n, k)
		if err != nil {
			t.Fatal(err)
		}
		for name, opts := range paths {
			enc, err := reedsolomon.New(n, k, append([]reedsolomon.Option{reedsolomon.WithCustomMatrix(rows)}, opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenData(n, k)
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			for p := n; p < n+k; p++ {
				if !bytes.Equal(got[p], want[p]) {
					t.Fatalf("%d+%d: %s: parity unit %d differs from the codec's", n, k, name, p)
				}
			}
		}
	}
}
