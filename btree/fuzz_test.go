package btree

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/minio/highwayhash"
)

// FuzzDecode: the node decoder never panics, never accepts a node whose
// checksum does not match (checked independently of the decoder), and
// anything it accepts re-encodes to exactly the same bytes. With fix set,
// the fuzzer's bytes get a correct checksum first, so it explores the body
// decoder too.
func FuzzDecode(f *testing.F) {
	for _, n := range []*Node{leaf(7, 3, 0), leaf(7, 3, 5), internal(7, 3, 2, 4)} {
		b, _, err := n.Encode(nil, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte("PLBT"), true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix && len(b) >= nodeHeaderSize {
			b = bytes.Clone(b)
			binary.LittleEndian.PutUint32(b[24:], uint32(min(len(b), MaxNode)))
			binary.LittleEndian.PutUint64(b[32:], independentSum(b[:min(len(b), MaxNode)]))
		}
		exp := Expect{}
		if len(b) >= nodeHeaderSize {
			le := binary.LittleEndian
			exp = Expect{Tree: le.Uint64(b[8:]), Level: b[5], Sum: le.Uint64(b[32:]), Gen: le.Uint64(b[16:])}
		}
		n, err := Decode(b, exp, nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrMismatch) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		size := int(binary.LittleEndian.Uint32(b[24:]))
		if independentSum(b[:size]) != exp.Sum {
			t.Fatalf("accepted a node whose checksum does not match")
		}
		again, sum, err := n.Encode(nil, nil)
		if err != nil {
			t.Fatalf("accepted node does not encode: %v", err)
		}
		if !bytes.Equal(again, b[:size]) || sum != exp.Sum {
			t.Fatalf("accepted node re-encodes differently")
		}
	})
}

func independentSum(b []byte) uint64 {
	msg := append(bytes.Clone(b[:32]), b[nodeHeaderSize:]...)
	return highwayhash.Sum64(msg, ChecksumKey)
}
