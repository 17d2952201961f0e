package images

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Verify opens a bundle and checks it (see Bundle.Verify).
func Verify(bundlePath string, pub ed25519.PublicKey, product, running string) (*Manifest, error) {
	b, err := Open(bundlePath)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	m, err := b.Verify(pub, product, running)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", bundlePath, err)
	}
	return m, nil
}

// Verify checks, in this order: the signature of manifest.json with pub
// (ErrSignature); that the manifest is a well-formed format-1 one
// (ErrFormat); that its product is product (ErrIncompatible; product ""
// skips this); when running is not "", that the bundle's version is not
// older than running (ErrDowngrade) and running is not older than its
// min_update_from (ErrIncompatible); then the size and sha256 of the kernel,
// of the initramfs and of every file inside the initramfs, and that the
// initramfs holds no file the manifest does not list (ErrHash).
func (b *Bundle) Verify(pub ed25519.PublicKey, product, running string) (*Manifest, error) {
	m, err := b.verifiedManifest(pub)
	if err != nil {
		return nil, err
	}
	if err := CheckUpdate(m, product, running); err != nil {
		return nil, err
	}
	if err := checkPart(m.Part(PartKernel), b.Kernel()); err != nil {
		return nil, err
	}
	if err := checkPart(m.Part(PartInitramfs), b.Initramfs()); err != nil {
		return nil, err
	}
	files, err := ReadInitramfs(b.Initramfs())
	if err != nil {
		return nil, err
	}
	if err := checkInitramfs(m, files); err != nil {
		return nil, err
	}
	return m, nil
}

// verifiedManifest checks the signature, then parses the manifest.
func (b *Bundle) verifiedManifest(pub ed25519.PublicKey) (*Manifest, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: the public key is %d bytes, not %d", ErrSignature, len(pub), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(pub, b.manifestJSON, b.signature) {
		return nil, fmt.Errorf("%w: it was signed with another key, or changed after signing", ErrSignature)
	}
	return ParseManifest(b.manifestJSON)
}

// CheckUpdate checks that a node of product running version running may
// install m (see Bundle.Verify; "" skips a check).
func CheckUpdate(m *Manifest, product, running string) error {
	if product != "" && m.Product != product {
		return fmt.Errorf("%w: the bundle is for %q, this node is %q", ErrIncompatible, m.Product, product)
	}
	if running == "" {
		return nil
	}
	run, err := ParseVersion(running)
	if err != nil {
		return fmt.Errorf("the running version: %w", err)
	}
	v, _ := ParseVersion(m.Version) // ParseManifest checked both
	oldest, _ := ParseVersion(m.MinUpdateFrom)
	if v.Compare(run) < 0 {
		return fmt.Errorf("%w: the bundle is version %s, the node runs %s", ErrDowngrade, m.Version, running)
	}
	if run.Compare(oldest) < 0 {
		return fmt.Errorf("%w: version %s updates only from %s or later, the node runs %s: install an intermediate version first",
			ErrIncompatible, m.Version, m.MinUpdateFrom, running)
	}
	return nil
}

// checkPart compares r's size and sha256 with p's.
func checkPart(p *Part, r io.Reader) error {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Errorf("reading the %s: %w", p.Name, err)
	}
	if n != p.Size {
		return fmt.Errorf("%w: the %s is %d bytes, the manifest says %d", ErrHash, p.Name, n, p.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != p.SHA256 {
		return fmt.Errorf("%w: the %s's sha256 is %s, the manifest says %s", ErrHash, p.Name, sum, p.SHA256)
	}
	return nil
}

// checkInitramfs matches the initramfs's regular files with the manifest's
// initramfs: parts, both ways, and checks it can boot: /init leads to
// /bin/plinth.
func checkInitramfs(m *Manifest, files []InitramfsFile) error {
	byPath := map[string]InitramfsFile{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	listed := map[string]bool{}
	for _, p := range m.Parts {
		inner, ok := strings.CutPrefix(p.Path, initramfsPath)
		if !ok {
			continue
		}
		listed[inner] = true
		f, ok := byPath[inner]
		switch {
		case !ok || !f.Mode.IsRegular():
			return fmt.Errorf("%w: the manifest lists %s (%s), the initramfs has no such file", ErrHash, inner, p.Name)
		case f.Size != p.Size:
			return fmt.Errorf("%w: %s in the initramfs is %d bytes, the manifest says %d", ErrHash, inner, f.Size, p.Size)
		case f.SHA256 != p.SHA256:
			return fmt.Errorf("%w: %s in the initramfs has sha256 %s, the manifest says %s", ErrHash, inner, f.SHA256, p.SHA256)
		}
	}
	for _, f := range files {
		if f.Mode.IsRegular() && !listed[f.Path] {
			return fmt.Errorf("%w: the initramfs holds %s, which the manifest does not list", ErrHash, f.Path)
		}
	}
	if f, ok := byPath["/init"]; !ok || f.Target != "bin/plinth" {
		return fmt.Errorf("%w: the initramfs has no /init symlink to bin/plinth", ErrFormat)
	}
	if p := m.Part(PartPlinth); p == nil || p.Path != initramfsPath+"/bin/plinth" {
		return fmt.Errorf("%w: the manifest has no plinth part at initramfs:/bin/plinth", ErrFormat)
	}
	return nil
}
