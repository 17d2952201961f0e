package images

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bundleOffsets are where a bundle's entries' data are.
func bundleOffsets(t *testing.T, path string) (manifest, sig, kernel, initramfs int64) {
	t.Helper()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, kernel, _ = b.kernel.Outer()
	_, initramfs, _ = b.initramfs.Outer()
	manifest = 512
	sig = manifest + (int64(len(b.manifestJSON))+511)/512*512 + 512
	return
}

// flipped copies a bundle with one byte changed.
func flipped(t *testing.T, path string, off int64) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0x40
	out := filepath.Join(t.TempDir(), "flipped")
	writeTestFile(t, out, data, 0o644)
	return out
}

// rewritten copies a bundle with its manifest (and optionally its
// initramfs) edited and signed again with key: a bundle a key holder made.
func rewritten(t *testing.T, path string, key ed25519.PrivateKey, edit func(m map[string]any), initramfs []byte) string {
	t.Helper()
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var m map[string]any
	if err := json.Unmarshal(b.ManifestJSON(), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kf := filepath.Join(dir, "kernel")
	if err := b.ExtractKernel(kf); err != nil {
		t.Fatal(err)
	}
	inf := filepath.Join(dir, "initramfs")
	if initramfs == nil {
		if err := b.ExtractInitramfs(inf); err != nil {
			t.Fatal(err)
		}
	} else {
		writeTestFile(t, inf, initramfs, 0o644)
	}
	k, _ := os.Open(kf)
	defer k.Close()
	in, _ := os.Open(inf)
	defer in.Close()
	out := filepath.Join(dir, "bundle")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := writeBundle(f, manifest, ed25519.Sign(key, manifest), k, in, testEpoch); err != nil {
		t.Fatal(err)
	}
	return out
}

func parts(m map[string]any) []any { return m["parts"].([]any) }

func TestVerify(t *testing.T) {
	_, bundle := buildTest(t, nil)
	key := testKey(1)
	pub := key.Public().(ed25519.PublicKey)
	manifestOff, sigOff, kernelOff, initramfsOff := bundleOffsets(t, bundle)

	m, err := Verify(bundle, pub, DefaultProduct, "")
	if err != nil {
		t.Fatalf("a good bundle: %v", err)
	}
	if m.Version != "1.2.0" || m.Product != DefaultProduct {
		t.Fatalf("manifest %+v", m)
	}
	for _, running := range []string{"1.0.0", "1.1.9", "1.2.0", "1.0"} {
		if _, err := Verify(bundle, pub, "", running); err != nil {
			t.Errorf("running %s: %v", running, err)
		}
	}

	for _, c := range []struct {
		name    string
		bundle  func() string
		pub     ed25519.PublicKey
		product string
		running string
		is      error
		says    string
	}{
		{"byte flipped in the kernel", func() string { return flipped(t, bundle, kernelOff+1000) }, pub, "", "", ErrHash, "kernel"},
		{"byte flipped in the initramfs", func() string { return flipped(t, bundle, initramfsOff+500) }, pub, "", "", ErrHash, "initramfs"},
		{"byte flipped in the manifest", func() string { return flipped(t, bundle, manifestOff+20) }, pub, "", "", ErrSignature, "signed"},
		{"byte flipped in the signature", func() string { return flipped(t, bundle, sigOff+3) }, pub, "", "", ErrSignature, ""},
		{"byte flipped in a tar header", func() string { return flipped(t, bundle, kernelOff-512+10) }, pub, "", "", ErrFormat, ""},
		{"another key", func() string { return bundle }, testKey(2).Public().(ed25519.PublicKey), "", "", ErrSignature, ""},
		{"a key of the wrong size", func() string { return bundle }, pub[:16], "", "", ErrSignature, "16 bytes"},
		{"another product", func() string { return bundle }, pub, "plinth-gateway", "", ErrIncompatible, "plinth-gateway"},
		{"running older than min_update_from", func() string { return bundle }, pub, "", "0.9.9", ErrIncompatible, "1.0.0"},
		{"a downgrade", func() string { return bundle }, pub, "", "1.2.1", ErrDowngrade, "1.2.1"},
		{"a bad running version", func() string { return bundle }, pub, "", "latest", nil, "latest"},
		{"truncated", func() string {
			data, _ := os.ReadFile(bundle)
			p := filepath.Join(t.TempDir(), "short")
			writeTestFile(t, p, data[:len(data)-3000], 0o644)
			return p
		}, pub, "", "", ErrFormat, ""},
		{"an extra entry", func() string {
			data, _ := os.ReadFile(bundle)
			var buf bytes.Buffer
			buf.Write(data[:len(data)-1024]) // without the end-of-archive blocks
			tw := tar.NewWriter(&buf)
			tw.WriteHeader(&tar.Header{Name: "evil", Mode: 0o644, Size: 1, ModTime: time.Unix(0, 0)})
			tw.Write([]byte("x"))
			tw.Close()
			p := filepath.Join(t.TempDir(), "extra")
			writeTestFile(t, p, buf.Bytes(), 0o644)
			return p
		}, pub, "", "", ErrFormat, "evil"},
		{"not a tar", func() string {
			p := filepath.Join(t.TempDir(), "junk")
			writeTestFile(t, p, bytes.Repeat([]byte("junk"), 1000), 0o644)
			return p
		}, pub, "", "", ErrFormat, ""},
		{"signed manifest of format 2", func() string {
			return rewritten(t, bundle, key, func(m map[string]any) { m["format"] = 2 }, nil)
		}, pub, "", "", ErrFormat, "format 2"},
		{"signed manifest with an unknown field", func() string {
			return rewritten(t, bundle, key, func(m map[string]any) { m["extra"] = true }, nil)
		}, pub, "", "", ErrFormat, "extra"},
		{"signed manifest without a kernel part", func() string {
			return rewritten(t, bundle, key, func(m map[string]any) { m["parts"] = parts(m)[1:] }, nil)
		}, pub, "", "", ErrFormat, "kernel"},
		{"signed manifest not listing a file", func() string {
			return rewritten(t, bundle, key, func(m map[string]any) {
				var keep []any
				for _, p := range parts(m) {
					if p.(map[string]any)["name"] != "file:/test/bin/tool" {
						keep = append(keep, p)
					}
				}
				m["parts"] = keep
			}, nil)
		}, pub, "", "", ErrHash, "/test/bin/tool"},
		{"signed manifest listing a missing file", func() string {
			return rewritten(t, bundle, key, func(m map[string]any) {
				p := parts(m)
				m["parts"] = append(p, map[string]any{"name": "file:/nope", "path": "initramfs:/nope", "size": 0,
					"sha256": strings.Repeat("0", 64)})
			}, nil)
		}, pub, "", "", ErrHash, "/nope"},
		{"signed manifest with a wrong hash inside the initramfs", func() string {
			return rewritten(t, bundle, key, func(m map[string]any) {
				for _, p := range parts(m) {
					if pm := p.(map[string]any); pm["name"] == "plinth" {
						pm["sha256"] = strings.Repeat("ab", 32)
					}
				}
			}, nil)
		}, pub, "", "", ErrHash, "/bin/plinth"},
		{"signed manifest over another initramfs", func() string {
			return rewritten(t, bundle, key, func(map[string]any) {}, []byte("\x1f\x8bnot the initramfs"))
		}, pub, "", "", ErrHash, "initramfs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(c.bundle(), c.pub, c.product, c.running)
			if err == nil {
				t.Fatal("verified")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v, want %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("error %q does not say %q", err, c.says)
			}
		})
	}
}

func TestOpenExtract(t *testing.T) {
	_, bundle := buildTest(t, nil)
	b, err := Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	initrd := filepath.Join(dir, "initrd")
	if err := b.ExtractInitramfs(initrd); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(initrd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files, err := ReadInitramfs(f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := b.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkInitramfs(m, files); err != nil {
		t.Fatalf("the extracted initramfs: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("opened a missing bundle")
	}
	// A damaged initramfs is an error, not a panic (ReadInitramfs is only
	// given verified ones, but must not crash on others).
	for _, junk := range [][]byte{nil, []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"), []byte("plain")} {
		if _, err := ReadInitramfs(bytes.NewReader(junk)); !errors.Is(err, ErrFormat) {
			t.Errorf("ReadInitramfs(%q): %v", junk, err)
		}
	}
	var short bytes.Buffer
	io.Copy(&short, io.LimitReader(b.Initramfs(), b.Initramfs().Size()/2))
	if _, err := ReadInitramfs(&short); !errors.Is(err, ErrFormat) {
		t.Errorf("ReadInitramfs of half an initramfs: %v", err)
	}
}
