package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// The bundle's entries, in their order.
const (
	entryManifest  = "manifest.json"
	entrySignature = "manifest.sig"
	entryKernel    = "kernel"
	entryInitramfs = "initramfs"
)

// maxManifestSize bounds manifest.json (a manifest with a few hundred
// parts is tens of KiB).
const maxManifestSize = 1 << 20

// writeBundle writes the bundle's tar to w (see the package comment).
func writeBundle(w io.Writer, manifest, sig []byte, kernel, initramfs *os.File, mtime int64) error {
	tw := tar.NewWriter(w)
	entry := func(name string, size int64, r io.Reader) error {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name,
			Mode:     0o644,
			Size:     size,
			ModTime:  time.Unix(mtime, 0),
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("writing the bundle's %s: %w", name, err)
		}
		if n, err := io.Copy(tw, r); err != nil || n != size {
			return fmt.Errorf("writing the bundle's %s: %d of %d bytes: %v", name, n, size, err)
		}
		return nil
	}
	sized := func(f *os.File) (int64, error) {
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		return st.Size(), nil
	}
	if err := entry(entryManifest, int64(len(manifest)), bytes.NewReader(manifest)); err != nil {
		return err
	}
	if err := entry(entrySignature, int64(len(sig)), bytes.NewReader(sig)); err != nil {
		return err
	}
	for _, e := range []struct {
		name string
		f    *os.File
	}{{entryKernel, kernel}, {entryInitramfs, initramfs}} {
		size, err := sized(e.f)
		if err != nil {
			return fmt.Errorf("writing the bundle's %s: %w", e.name, err)
		}
		if err := entry(e.name, size, e.f); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("writing the bundle: %w", err)
	}
	return nil
}

// Bundle is an open bundle file whose structure has been checked; nothing
// in it is trusted until Verify says so.
type Bundle struct {
	path         string
	f            *os.File
	manifestJSON []byte
	signature    []byte
	kernel       *io.SectionReader
	initramfs    *io.SectionReader
}

// Open opens a bundle and checks its structure: the four entries, in order,
// and nothing else (ErrFormat otherwise).
func Open(bundlePath string) (*Bundle, error) {
	f, err := os.Open(bundlePath)
	if err != nil {
		return nil, fmt.Errorf("opening the bundle: %w", err)
	}
	b := &Bundle{path: bundlePath, f: f}
	if err := b.read(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", bundlePath, err)
	}
	return b, nil
}

func (b *Bundle) read() error {
	r := &offsetReader{f: b.f}
	tr := tar.NewReader(r)
	next := func(want string) (*tar.Header, error) {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: the bundle ends before its %s", ErrFormat, want)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading the bundle's tar: %v", ErrFormat, err)
		}
		if h.Name != want || h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: entry %q (type %q) where %s should be", ErrFormat, h.Name, h.Typeflag, want)
		}
		return h, nil
	}
	small := func(want string, limit int64) ([]byte, error) {
		h, err := next(want)
		if err != nil {
			return nil, err
		}
		if h.Size > limit {
			return nil, fmt.Errorf("%w: %s is %d bytes, over %d", ErrFormat, want, h.Size, limit)
		}
		data := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrFormat, want, err)
		}
		return data, nil
	}
	// The data of an entry starts right after its header: where the tar
	// reader stands once Next returns (ustar headers are one block each).
	section := func(want string) (*io.SectionReader, error) {
		h, err := next(want)
		if err != nil {
			return nil, err
		}
		return io.NewSectionReader(b.f, r.off, h.Size), nil
	}
	var err error
	if b.manifestJSON, err = small(entryManifest, maxManifestSize); err != nil {
		return err
	}
	if b.signature, err = small(entrySignature, 64); err != nil {
		return err
	}
	if len(b.signature) != 64 {
		return fmt.Errorf("%w: manifest.sig is %d bytes, an ed25519 signature is 64", ErrFormat, len(b.signature))
	}
	if b.kernel, err = section(entryKernel); err != nil {
		return err
	}
	if b.initramfs, err = section(entryInitramfs); err != nil {
		return err
	}
	if h, err := tr.Next(); err != io.EOF {
		if err != nil {
			return fmt.Errorf("%w: after the initramfs: %v", ErrFormat, err)
		}
		return fmt.Errorf("%w: an extra entry %q after the initramfs", ErrFormat, h.Name)
	}
	return nil
}

// Close closes the bundle file.
func (b *Bundle) Close() error { return b.f.Close() }

// Path is the bundle's file name.
func (b *Bundle) Path() string { return b.path }

// ManifestJSON is manifest.json's exact bytes (what the signature signs).
func (b *Bundle) ManifestJSON() []byte { return b.manifestJSON }

// Signature is manifest.sig.
func (b *Bundle) Signature() []byte { return b.signature }

// Manifest parses manifest.json without checking the signature: use
// Verify before trusting it.
func (b *Bundle) Manifest() (*Manifest, error) { return ParseManifest(b.manifestJSON) }

// Kernel reads the kernel image (for QEMU's -kernel, or a slot).
func (b *Bundle) Kernel() *io.SectionReader { return io.NewSectionReader(b.kernel, 0, b.kernel.Size()) }

// Initramfs reads the compressed initramfs (for QEMU's -initrd).
func (b *Bundle) Initramfs() *io.SectionReader {
	return io.NewSectionReader(b.initramfs, 0, b.initramfs.Size())
}

// ExtractKernel writes the kernel image to dst.
func (b *Bundle) ExtractKernel(dst string) error { return extract(b.Kernel(), dst) }

// ExtractInitramfs writes the compressed initramfs to dst.
func (b *Bundle) ExtractInitramfs(dst string) error { return extract(b.Initramfs(), dst) }

// extract writes r to dst, which is never seen half written.
func extract(r io.Reader, dst string) error {
	return writeFileAtomic(dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	}, nil)
}

// offsetReader reads a file from a position it tracks (so the position
// is known after every tar header) and seeks, so the tar reader skips an
// entry's data without reading it.
type offsetReader struct {
	f   *os.File
	off int64
}

func (r *offsetReader) Read(p []byte) (int, error) {
	n, err := r.f.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (r *offsetReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		st, err := r.f.Stat()
		if err != nil {
			return 0, err
		}
		offset += st.Size()
	default:
		return 0, errors.New("offsetReader: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("offsetReader: negative position")
	}
	r.off = offset
	return offset, nil
}
