package kv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/plinth-storage/plinth/btree/store"
)

func FuzzDecodeState(f *testing.F) {
	f.Add(encodeState(false, 1, []byte("value")))
	f.Add(encodeState(false, 1<<63, nil))
	f.Add(encodeState(true, 42, nil))
	f.Add([]byte{})
	f.Add([]byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{1, 3, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 7})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(b)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("error %v does not wrap store.ErrCorrupt", err)
			}
			return
		}
		if s.version == 0 || s.tomb && len(s.value) != 0 {
			t.Fatalf("accepted %x as %+v", b, s)
		}
		// A valid state encodes back to the same bytes.
		if re := encodeState(s.tomb, s.version, s.value); !bytes.Equal(re, b) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", b, s, re)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(epoch))
	f.Add([]byte{1})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("error %v does not wrap store.ErrCorrupt", err)
			}
			return
		}
		if re := encodeRecord(c); !bytes.Equal(re, b) {
			t.Fatalf("%x decodes to %v, which encodes to %x", b, c, re)
		}
	})
}

func TestStateRoundTrip(t *testing.T) {
	for _, c := range []struct {
		tomb bool
		v    uint64
		val  []byte
	}{{false, 1, nil}, {false, 99, []byte("x")}, {true, 7, nil}} {
		s, err := decodeState(encodeState(c.tomb, c.v, c.val))
		if err != nil || s.tomb != c.tomb || s.version != c.v || !bytes.Equal(s.value, c.val) {
			t.Fatalf("%+v: %+v %v", c, s, err)
		}
	}
	enc := encodeState(false, 0x0102030405060708, []byte("ab"))
	if !bytes.Equal(enc, []byte{1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 'a', 'b'}) {
		t.Fatalf("encoding %x does not follow the format", enc)
	}
	if enc := encodeState(true, 5, []byte("ignored")); !bytes.Equal(enc, []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 5}) {
		t.Fatalf("tombstone encoding %x", enc)
	}
}
