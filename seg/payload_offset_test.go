package seg

import (
	"bytes"
	"testing"
)

// PayloadOffset names where each appended payload lands, across writes.
func TestPayloadOffset(t *testing.T) {
	d, loc := memSegment(t, 1<<20)
	w, err := Create(loc, testHeader(3))
	if err != nil {
		t.Fatal(err)
	}
	type placed struct {
		off int64
		p   []byte
	}
	var all []placed
	for i := range 30 {
		p := bytes.Repeat([]byte{byte(i + 1)}, 100+i*37)
		if err := w.Fits(len(p)); err != nil {
			t.Fatal(err)
		}
		off := w.PayloadOffset()
		if _, err := w.Append(TypeUser, 0, p); err != nil {
			t.Fatal(err)
		}
		all = append(all, placed{off, p})
		if i%7 == 6 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	img := d.Bytes()
	for i, x := range all {
		got := img[loc.Start+x.off : loc.Start+x.off+int64(len(x.p))]
		if !bytes.Equal(got, x.p) {
			t.Fatalf("record %d: bytes at offset %d are not its payload", i, x.off)
		}
	}
}
