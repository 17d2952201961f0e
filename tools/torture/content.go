package torture

import (
	"encoding/binary"
	"io"
)

// The bytes of an object are a function of its content seed and offset,
// so any range can be checked without keeping the object.

func word(seed uint64, i int64) uint64 {
	z := seed + uint64(i)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// fill writes the content bytes [off, off+len(p)).
func fill(p []byte, seed uint64, off int64) {
	var w [8]byte
	for i := 0; i < len(p); {
		at := off + int64(i)
		binary.LittleEndian.PutUint64(w[:], word(seed, at/8))
		n := copy(p[i:], w[at%8:])
		i += n
	}
}

// contentReader is an object's body.
type contentReader struct {
	seed      uint64
	off, size int64
}

func (c *contentReader) Read(p []byte) (int, error) {
	if c.off >= c.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), c.size-c.off)
	fill(p[:n], c.seed, c.off)
	c.off += n
	return int(n), nil
}

// kvValue is the value a batch writes.
func kvValue(seed uint64, n int) []byte {
	p := make([]byte, n)
	fill(p, seed, 0)
	for i := range p { // printable, for messages
		p[i] = 'a' + p[i]%26
	}
	return p
}
