package btree

import "testing"

func TestVerify(t *testing.T) {
	b, sum, err := leaf(7, 3, 40).Encode(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(b, sum) {
		t.Fatal("a good node does not verify")
	}
	if !Verify(append(b, 0, 0, 0), sum) {
		t.Fatal("bytes after the node must not matter")
	}
	if Verify(b, sum+1) {
		t.Fatal("verified against the wrong checksum")
	}
	if Verify(b[:len(b)-1], sum) || Verify(b[:10], sum) || Verify(nil, sum) {
		t.Fatal("a short node verified")
	}
	flipped := append([]byte(nil), b...)
	flipped[len(flipped)/2] ^= 1
	if Verify(flipped, sum) {
		t.Fatal("a flipped bit verified")
	}
	other, osum, _ := leaf(7, 3, 41).Encode(nil, nil)
	if Verify(other, sum) || !Verify(other, osum) {
		t.Fatal("another node verified as this one")
	}
}
