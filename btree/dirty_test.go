package btree

import (
	"fmt"
	"testing"
)

func TestDirtyBytes(t *testing.T) {
	store := newMemStore()
	tr := New(1, nil, store)
	if tr.DirtyBytes() != 0 {
		t.Fatal("an empty tree is dirty")
	}
	for i := range 5000 {
		if err := tr.Put(fmt.Appendf(nil, "key-%06d", i), make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	full := tr.DirtyBytes()
	if enc := int64(tr.Stats().Bytes); full < enc {
		t.Fatalf("dirty %d bytes for %d bytes of entries", full, enc)
	}
	if _, err := tr.Flush(store, 1); err != nil {
		t.Fatal(err)
	}
	if d := tr.DirtyBytes(); d != 0 {
		t.Fatalf("%d dirty bytes after a flush", d)
	}
	if err := tr.Put([]byte("key-000100"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if d := tr.DirtyBytes(); d <= 0 || d > full/4 {
		t.Fatalf("one put dirtied %d bytes (a full tree is %d)", d, full)
	}
}
