package stripe

import (
	"bytes"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// TestParityMatrixGolden pins the matrix of small layouts to the values
// the package comment shows.
func TestParityMatrixGolden(t *testing.T) {
	for _, tc := range []struct {
		n, k int
		want [][]byte
	}{
		{4, 2, [][]byte{{27, 28, 18, 20}, {28, 27, 20, 18}}},
		{2, 2, [][]byte{{3, 2}, {2, 3}}},
		{6, 1, [][]byte{{7, 6, 5, 4, 3, 2}}},
		{1, 2, [][]byte{{1}, {1}}},
		{8, 3, [][]byte{
			{26, 132, 186, 51, 231, 16, 198, 39},
			{132, 26, 51, 186, 16, 231, 39, 198},
			{186, 51, 26, 132, 198, 39, 231, 16},
		}},
		{3, 0, [][]byte{}},
	} {
		got, err := parityMatrix(tc.n, tc.k)
		if err != nil {
			t.Fatalf("%d+%d: %v", tc.n, tc.k, err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%d+%d: %d rows, want %d", tc.n, tc.k, len(got), len(tc.want))
		}
		for r := range got {
			if !bytes.Equal(got[r], tc.want[r]) {
				t.Errorf("%d+%d row %d = %v, want %v", tc.n, tc.k, r, got[r], tc.want[r])
			}
		}
	}
}

// TestParityMatrixIsLibraryDefault checks, for every layout, that the
// matrix this package builds is the one a plain reedsolomon.New(N, K)
// uses. Encoding data whose unit d is the unit vector e_d (unit d has a 1
// at byte d, zeros elsewhere) makes parity unit p equal row p of the
// matrix. If this fails after a library upgrade, the library's default
// changed: the format did not (the golden parity test says so), but the
// package comment's claim must be corrected.
func TestParityMatrixIsLibraryDefault(t *testing.T) {
	for n := 1; n <= MaxMembers; n++ {
		for k := 1; n+k <= MaxMembers; k++ {
			rows, err := parityMatrix(n, k)
			if err != nil {
				t.Fatalf("%d+%d: %v", n, k, err)
			}
			enc, err := reedsolomon.New(n, k)
			if err != nil {
				t.Fatalf("reedsolomon.New(%d, %d): %v", n, k, err)
			}
			shards := make([][]byte, n+k)
			for i := range shards {
				shards[i] = make([]byte, n)
				if i < n {
					shards[i][i] = 1
				}
			}
			if err := enc.Encode(shards); err != nil {
				t.Fatal(err)
			}
			for p := range k {
				if !bytes.Equal(shards[n+p], rows[p]) {
					t.Fatalf("%d+%d: parity row %d is %v, library default gives %v", n, k, p, rows[p], shards[n+p])
				}
			}
		}
	}
}

// TestParityMatrixMDS checks, for small layouts exhaustively, that every
// choice of N members out of N+K gives an invertible matrix: any N units
// rebuild the stripe.
func TestParityMatrixMDS(t *testing.T) {
	for n := 1; n <= 8; n++ {
		for k := 0; k <= 4; k++ {
			rows, err := parityMatrix(n, k)
			if err != nil {
				t.Fatal(err)
			}
			full := make([][]byte, n+k)
			for i := range n {
				full[i] = make([]byte, n)
				full[i][i] = 1
			}
			copy(full[n:], rows)
			for m := uint32(0); m < 1<<(n+k); m++ {
				if len(ints(m)) != n {
					continue
				}
				sub := make([][]byte, 0, n)
				for _, i := range ints(m) {
					sub = append(sub, full[i])
				}
				if _, err := invert(sub); err != nil {
					t.Fatalf("%d+%d: members %v: %v", n, k, ints(m), err)
				}
			}
		}
	}
}

func TestGF(t *testing.T) {
	for a := 1; a < 256; a++ {
		if got := gfMul(byte(a), gfInv(byte(a))); got != 1 {
			t.Fatalf("%d · 1/%d = %d", a, a, got)
		}
		// Multiplication agrees with carry-less multiplication mod 0x11D.
		for b := 0; b < 256; b += 7 {
			var p int
			x, y := a, b
			for y != 0 {
				if y&1 != 0 {
					p ^= x
				}
				x <<= 1
				if x&0x100 != 0 {
					x ^= polynomial
				}
				y >>= 1
			}
			if got := gfMul(byte(a), byte(b)); int(got) != p {
				t.Fatalf("%d · %d = %d, want %d", a, b, got, p)
			}
		}
	}
	if _, err := invert([][]byte{{1, 1}, {1, 1}}); err == nil {
		t.Fatal("inverted a singular matrix")
	}
	if _, err := parityMatrix(0, 1); err == nil {
		t.Fatal("matrix for 0+1")
	}
}
