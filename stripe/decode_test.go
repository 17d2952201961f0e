package stripe

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestDecodeData(t *testing.T) {
	l := Layout{N: 4, K: 2, Unit: 4096}
	c, err := New(l)
	if err != nil {
		t.Fatal(err)
	}
	units := encodedUnits(t, c, rand.New(rand.NewPCG(3, 3)))
	orig := make([][]byte, len(units))
	for i := range units {
		orig[i] = bytes.Clone(units[i])
	}
	// Two data units lost: rebuilt in place into their own capacity.
	units[1], units[3] = units[1][:0], units[3][:0]
	if err := c.DecodeData(units); err != nil {
		t.Fatal(err)
	}
	for i := range l.N {
		if !bytes.Equal(units[i], orig[i]) {
			t.Fatalf("data unit %d not rebuilt", i)
		}
	}
	// Three lost is more than K.
	units[0], units[1], units[2] = nil, nil, nil
	if err := c.DecodeData(units); !errors.Is(err, ErrUnrecoverable) {
		t.Fatalf("three lost of 4+2: %v", err)
	}
	if err := c.DecodeData(units[:3]); !errors.Is(err, ErrArgument) {
		t.Fatalf("wrong count: %v", err)
	}
	units[0] = make([]byte, 100)
	if err := c.DecodeData(units); !errors.Is(err, ErrArgument) {
		t.Fatalf("wrong size: %v", err)
	}
}

// DecodeDataPart rebuilds a byte range of the missing data units from the
// same range of the others, and refuses parts of different lengths.
func TestDecodeDataPart(t *testing.T) {
	l := Layout{N: 4, K: 2, Unit: 16384}
	c, err := New(l)
	if err != nil {
		t.Fatal(err)
	}
	units := encodedUnits(t, c, rand.New(rand.NewPCG(4, 4)))
	const a, b = 4096, 12288
	parts := make([][]byte, l.Members())
	for i := range parts {
		parts[i] = bytes.Clone(units[i][a:b])
	}
	parts[2], parts[5] = make([]byte, 0, b-a), nil // data 2 lost, parity 5 not read
	if err := c.DecodeDataPart(parts); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(parts[2], units[2][a:b]) {
		t.Fatal("the parts were not rebuilt")
	}
	parts[1] = parts[1][:100]
	parts[2] = parts[2][:0]
	if err := c.DecodeDataPart(parts); !errors.Is(err, ErrArgument) {
		t.Fatalf("parts of different lengths: %v", err)
	}
	for i := range parts {
		parts[i] = nil
	}
	parts[4] = make([]byte, 10)
	if err := c.DecodeDataPart(parts); !errors.Is(err, ErrUnrecoverable) {
		t.Fatalf("one part of six: %v", err)
	}
}

// encodedUnits is a stripe of c's layout: random data units and their
// parity.
func encodedUnits(t *testing.T, c *Codec, rng *rand.Rand) [][]byte {
	t.Helper()
	l := c.Layout()
	units := make([][]byte, l.Members())
	for i := range units {
		units[i] = make([]byte, l.Unit)
		if i < l.N {
			for j := range units[i] {
				units[i][j] = byte(rng.Uint32())
			}
		}
	}
	if err := c.Encode(units); err != nil {
		t.Fatal(err)
	}
	return units
}
