package btree

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func leaf(tree, gen uint64, n int) *Node {
	nd := &Node{Tree: tree, Gen: gen}
	for i := 0; i < n; i++ {
		nd.Entries = append(nd.Entries, Entry{Key: []byte(fmt.Sprintf("key-%05d", i)), Value: bytes.Repeat([]byte{byte(i)}, i%50)})
	}
	return nd
}

func internal(tree, gen uint64, level uint8, n int) *Node {
	nd := &Node{Tree: tree, Gen: gen, Level: level}
	for i := 0; i < n; i++ {
		k := []byte(fmt.Sprintf("sep-%05d", i))
		if i == 0 {
			k = nil
		}
		nd.Children = append(nd.Children, Child{Key: k, Ptr: Ptr{Addr: Addr{Set: uint32(i), Off: uint64(i) * 4096, Len: 4000}, Sum: uint64(i) * 31, Gen: gen - 1}})
	}
	return nd
}

func expectOf(n *Node, sum uint64) Expect {
	return Expect{Tree: n.Tree, Level: n.Level, Sum: sum, Gen: n.Gen}
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []*Node{leaf(7, 3, 0), leaf(7, 3, 1), leaf(7, 3, 200), internal(9, 5, 1, 1), internal(9, 5, 3, 150)} {
		b, sum, err := n.Encode(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != n.EncodedSize() {
			t.Fatalf("encoded %d bytes, EncodedSize says %d", len(b), n.EncodedSize())
		}
		got, err := Decode(b, expectOf(n, sum), nil)
		if err != nil {
			t.Fatal(err)
		}
		again, sum2, _ := got.Encode(nil, nil)
		if !bytes.Equal(again, b) || sum2 != sum {
			t.Fatalf("level %d node does not round-trip", n.Level)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	n := leaf(7, 3, 10)
	b, sum, _ := n.Encode(nil, nil)
	exp := expectOf(n, sum)
	cases := []struct {
		name string
		b    []byte
		exp  Expect
		want error
		text string
	}{
		{"short", b[:20], exp, ErrCorrupt, "shorter"},
		{"magic", append([]byte("XXXX"), b[4:]...), exp, ErrCorrupt, "magic"},
		{"version", func() []byte { c := bytes.Clone(b); c[4] = 2; return c }(), exp, ErrUnsupported, "version 2"},
		{"truncated", b[:len(b)-1], exp, ErrCorrupt, "length"},
		{"bit flip", func() []byte { c := bytes.Clone(b); c[len(c)-1] ^= 1; return c }(), exp, ErrCorrupt, "checksum"},
		{"stale pointer", b, Expect{Tree: 7, Sum: sum + 1, Gen: 3}, ErrMismatch, "misdirected"},
		{"other tree", b, Expect{Tree: 8, Sum: sum, Gen: 3}, ErrMismatch, "tree 8"},
		{"other level", b, Expect{Tree: 7, Level: 1, Sum: sum, Gen: 3}, ErrMismatch, "level"},
		{"other generation", b, Expect{Tree: 7, Sum: sum, Gen: 4}, ErrMismatch, "generation"},
	}
	for _, c := range cases {
		_, err := Decode(c.b, c.exp, nil)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: got %v, want %v with %q", c.name, err, c.want, c.text)
		}
	}
}

func TestEncodeRefusesBadNodes(t *testing.T) {
	unordered := leaf(1, 1, 3)
	unordered.Entries[2].Key = []byte("a")
	bigKey := leaf(1, 1, 1)
	bigKey.Entries[0].Key = make([]byte, MaxKey+1)
	bigValue := leaf(1, 1, 1)
	bigValue.Entries[0].Value = make([]byte, MaxValue+1)
	firstKey := internal(1, 2, 1, 2)
	firstKey.Children[0].Key = []byte("x")
	tooBig := &Node{Tree: 1}
	for i := 0; i < 20; i++ {
		tooBig.Entries = append(tooBig.Entries, Entry{Key: []byte(fmt.Sprintf("k%03d", i)), Value: make([]byte, MaxValue)})
	}
	for name, n := range map[string]*Node{"unordered": unordered, "big key": bigKey, "big value": bigValue,
		"first internal key": firstKey, "empty internal": {Level: 1}, "too big": tooBig} {
		if _, _, err := n.Encode(nil, nil); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	if err := CheckEntry(nil, nil); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("empty key: %v", err)
	}
}

func TestNonCanonicalVarintRejected(t *testing.T) {
	n := &Node{Tree: 1, Gen: 1, Entries: []Entry{{Key: []byte("k"), Value: nil}}}
	b, _, _ := n.Encode(nil, nil)
	// Re-encode the entry with the key length in two bytes (0x81 0x00).
	body := append([]byte{0x81, 0x00}, b[nodeHeaderSize+1:]...)
	c := append(bytes.Clone(b[:nodeHeaderSize]), body...)
	binary.LittleEndian.PutUint32(c[24:], uint32(len(c)))
	sum := nodeChecksum(c)
	binary.LittleEndian.PutUint64(c[32:], sum)
	if _, err := Decode(c, Expect{Tree: 1, Gen: 1, Sum: sum}, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("non-canonical varint accepted: %v", err)
	}
}

func TestComparatorOrdersNodes(t *testing.T) {
	reverse := func(a, b []byte) int { return bytes.Compare(b, a) }
	n := &Node{Tree: 2, Gen: 1, Entries: []Entry{{Key: []byte("b")}, {Key: []byte("a")}}}
	if _, _, err := n.Encode(nil, nil); err == nil {
		t.Fatal("descending keys encoded under the default order")
	}
	b, sum, err := n.Encode(nil, reverse)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b, Expect{Tree: 2, Gen: 1, Sum: sum}, reverse); err != nil {
		t.Fatalf("decode under the tree's comparator: %v", err)
	}
	if _, err := Decode(b, Expect{Tree: 2, Gen: 1, Sum: sum}, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("decode under another order: %v", err)
	}
}
