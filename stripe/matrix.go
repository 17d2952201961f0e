package stripe

import "fmt"

// The coding matrix is built here, not by the library, so that the
// on-disk format is defined by this package: reedsolomon is given the
// parity rows with WithCustomMatrix and only multiplies in the field.
// The construction is the library's default (Backblaze's) one, which a
// test checks, so the parity is also what a plain reedsolomon.New(N, K)
// computes today; should the library ever change its default, this
// package's parity does not move.

// polynomial is the field's reducing polynomial x^8+x^4+x^3+x^2+1 (0x11D),
// the one reedsolomon's tables are generated from. The generator is 2.
const polynomial = 0x11D

var (
	gfExp [2 * 255]byte // gfExp[i] = 2^i, doubled so gfMul needs no modulo
	gfLog [256]byte     // gfLog[2^i] = i; gfLog[0] is unused
)

func init() {
	x := 1
	for i := range 255 {
		gfExp[i] = byte(x)
		gfExp[i+255] = byte(x)
		gfLog[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= polynomial
		}
	}
}

func gfMul(a, b byte) byte {
	if a == 0 || b == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// gfPow returns a^n, with 0^0 = 1 as in a Vandermonde matrix.
func gfPow(a byte, n int) byte {
	if n == 0 {
		return 1
	}
	if a == 0 {
		return 0
	}
	return gfExp[int(gfLog[a])*n%255]
}

// gfInv returns 1/a for a != 0.
func gfInv(a byte) byte { return gfExp[255-int(gfLog[a])] }

// parityMatrix returns the K parity rows (N coefficients each) of the
// systematic coding matrix for n data and k parity units: take the
// (n+k)×n Vandermonde matrix V[r][c] = r^c over GF(2^8) (r read as a field
// element, 0^0 = 1), and multiply it on the right by the inverse of its top
// n×n square. The top becomes the identity (data units are stored as they
// are) and the rows below are the parity rows. Any n rows of V form a
// square Vandermonde matrix on distinct points, hence invertible, and
// multiplying by an invertible matrix keeps that: any n of the n+k units
// determine the others (the code is MDS) for every n+k <= 256.
func parityMatrix(n, k int) ([][]byte, error) {
	if n < 1 || k < 0 || n+k > 256 {
		return nil, fmt.Errorf("stripe: no coding matrix for %d+%d", n, k)
	}
	top := make([][]byte, n)
	for r := range top {
		top[r] = vandermondeRow(r, n)
	}
	inv, err := invert(top)
	if err != nil {
		return nil, fmt.Errorf("stripe: coding matrix for %d+%d: %w", n, k, err)
	}
	rows := make([][]byte, k)
	for p := range rows {
		v := vandermondeRow(n+p, n)
		row := make([]byte, n)
		for c := range n {
			var s byte
			for j := range n {
				s ^= gfMul(v[j], inv[j][c])
			}
			row[c] = s
		}
		rows[p] = row
	}
	return rows, nil
}

func vandermondeRow(r, n int) []byte {
	row := make([]byte, n)
	for c := range row {
		row[c] = gfPow(byte(r), c)
	}
	return row
}

// invert returns the inverse of the square matrix m by Gauss-Jordan
// elimination, leaving m unchanged.
func invert(m [][]byte) ([][]byte, error) {
	n := len(m)
	a := make([][]byte, n) // [m | I]
	for r := range a {
		a[r] = make([]byte, 2*n)
		copy(a[r], m[r])
		a[r][n+r] = 1
	}
	for c := range n {
		p := c
		for p < n && a[p][c] == 0 {
			p++
		}
		if p == n {
			return nil, fmt.Errorf("singular matrix")
		}
		a[c], a[p] = a[p], a[c]
		if f := a[c][c]; f != 1 {
			fi := gfInv(f)
			for j := range a[c] {
				a[c][j] = gfMul(a[c][j], fi)
			}
		}
		for r := range n {
			if f := a[r][c]; r != c && f != 0 {
				for j := range a[r] {
					a[r][j] ^= gfMul(f, a[c][j])
				}
			}
		}
	}
	inv := make([][]byte, n)
	for r := range inv {
		inv[r] = a[r][n:]
	}
	return inv, nil
}
