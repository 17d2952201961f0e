package keyhash

import (
	"bytes"
	"testing"

	"github.com/minio/highwayhash"
)

func TestSum64(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	h := New64(key)
	a, b := []byte("plinth "), []byte("keyed sums")
	want := highwayhash.Sum64(append(append([]byte(nil), a...), b...), key)
	for range 3 { // recycled states are reset
		if got := h.Sum64(a, b); got != want {
			t.Fatalf("Sum64 %#x, want %#x", got, want)
		}
	}
	if h.Sum64() != highwayhash.Sum64(nil, key) {
		t.Fatal("the sum of nothing")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a 5-byte key was accepted")
		}
	}()
	New64([]byte("short"))
}
