package images

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpenVerify: any file given as a bundle is refused with an error, not
// a panic, and only the key's own bundles verify.
func FuzzOpenVerify(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("not a bundle"))
	f.Add(make([]byte, 2048))
	f.Add(smallBundle(f))
	tmp := f.TempDir()
	pub := testKey(1).Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(tmp, "bundle")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := Open(p)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("Open: %v is not ErrFormat", err)
			}
			return
		}
		defer b.Close()
		b.Manifest()
		b.Verify(pub, "", "1.0.0")
	})
}

// smallBundle is a valid signed bundle of a few KiB (the fuzzer is slow on
// inputs of megabytes): a tiny kernel, and an initramfs with a tiny plinth.
func smallBundle(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	l := newInitramfsLayout()
	if err := l.file("bin/plinth", 0o755, PartPlinth, constant([]byte("plinth"))); err != nil {
		t.Fatal(err)
	}
	initramfs, err := os.Create(filepath.Join(dir, "initramfs"))
	if err != nil {
		t.Fatal(err)
	}
	defer initramfs.Close()
	inner, err := l.write(initramfs, testEpoch)
	if err != nil {
		t.Fatal(err)
	}
	initramfs.Seek(0, 0)
	initramfsPart, _ := hashPart(PartInitramfs, PartInitramfs, initramfs)
	kernel, err := os.Create(filepath.Join(dir, "kernel"))
	if err != nil {
		t.Fatal(err)
	}
	defer kernel.Close()
	kernel.WriteString("a small kernel")
	kernel.Seek(0, 0)
	kernelPart, _ := hashPart(PartKernel, PartKernel, kernel)
	m := &Manifest{Format: 1, Product: "p", Version: "1.2", MinUpdateFrom: "1.0",
		Kernel: KernelInfo{Version: "6.1"}, Parts: append([]Part{kernelPart, initramfsPart}, inner...)}
	manifest, err := m.encodeCanonical()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeBundle(&out, manifest, ed25519.Sign(testKey(1), manifest), kernel, initramfs, testEpoch); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bundle")
	os.WriteFile(p, out.Bytes(), 0o644)
	if _, err := Verify(p, testKey(1).Public().(ed25519.PublicKey), "p", "1.0"); err != nil {
		t.Fatalf("the small bundle: %v", err)
	}
	return out.Bytes()
}

// FuzzParseManifest: a manifest either parses into one that passes its own
// checks and re-encodes, or is ErrFormat.
func FuzzParseManifest(f *testing.F) {
	good := `{"build":{"go_version":"go1.26","source_date_epoch":1},"format":1,"kernel":{"cmdline":"","version":"6.1"},` +
		`"min_update_from":"1.0","parts":[{"name":"kernel","path":"kernel","sha256":"` + zeros64 + `","size":1},` +
		`{"name":"initramfs","path":"initramfs","sha256":"` + zeros64 + `","size":2}],"product":"p","version":"1.2"}`
	f.Add([]byte(good))
	f.Add([]byte(`{"format":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("ParseManifest: %v is not ErrFormat", err)
			}
			return
		}
		again, err := m.encodeCanonical()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseManifest(again); err != nil {
			t.Fatalf("a parsed manifest does not parse again: %v\n%s", err, again)
		}
	})
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"

// FuzzParseVersion: parsing and printing round-trip, and comparison is an
// order (antisymmetric, reflexive).
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "1.2.3-rc.1", "0", "1.2.3.4", "1.0-alpha.beta"} {
		f.Add(s, "1.2.3")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, errA := ParseVersion(a)
		vb, errB := ParseVersion(b)
		if errA != nil || errB != nil {
			return
		}
		if va.String() != a {
			t.Fatalf("%q prints as %q", a, va.String())
		}
		if va.Compare(va) != 0 || va.Compare(vb) != -vb.Compare(va) {
			t.Fatalf("Compare(%q, %q) = %d, reverse %d", a, b, va.Compare(vb), vb.Compare(va))
		}
	})
}
