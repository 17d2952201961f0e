package images

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// FormatVersion is the bundle format this package writes and reads.
const FormatVersion = 1

// DefaultProduct is the product string of a Plinth storage node.
const DefaultProduct = "plinth-storage-node"

// Part names and paths of the fixed parts (see the package comment).
const (
	PartKernel    = "kernel"
	PartInitramfs = "initramfs"
	PartPlinth    = "plinth"
	initramfsPath = "initramfs:" // prefix of the path of a file inside the initramfs
)

// Manifest describes a bundle; its JSON is what the bundle signs.
type Manifest struct {
	Format        int        `json:"format"`
	Product       string     `json:"product"`
	Version       string     `json:"version"`
	MinUpdateFrom string     `json:"min_update_from"`
	Build         BuildInfo  `json:"build"`
	Kernel        KernelInfo `json:"kernel"`
	Parts         []Part     `json:"parts"`
}

// BuildInfo is how the bundle was built: nothing of the build host.
type BuildInfo struct {
	GoVersion       string `json:"go_version"`
	SourceRevision  string `json:"source_revision,omitempty"`
	SourceDateEpoch int64  `json:"source_date_epoch"`
}

// KernelInfo is the kernel the bundle boots.
type KernelInfo struct {
	Version string `json:"version"`
	Cmdline string `json:"cmdline"`
}

// Part is one hashed piece of the bundle.
type Part struct {
	Name   string `json:"name"`
	Path   string `json:"path"` // "kernel", "initramfs" or "initramfs:/PATH"
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
}

// Part returns the part with this name, or nil.
func (m *Manifest) Part(name string) *Part {
	for i := range m.Parts {
		if m.Parts[i].Name == name {
			return &m.Parts[i]
		}
	}
	return nil
}

// encodeCanonical returns the manifest's canonical JSON: keys sorted at
// every level, two-space indentation, no HTML escaping, a final newline.
// Going through a generic value sorts the keys whatever the struct order.
func (m *Manifest) encodeCanonical() ([]byte, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(generic); err != nil { // Encode ends with '\n'
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	return out.Bytes(), nil
}

// ParseManifest decodes and checks a manifest (ErrFormat when it is not a
// well-formed format-1 manifest). It does not check the signature.
func ParseManifest(data []byte) (*Manifest, error) {
	var head struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrFormat, err)
	}
	if head.Format != FormatVersion {
		return nil, fmt.Errorf("%w: manifest format %d, this plinth reads format %d: update plinth first", ErrFormat, head.Format, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrFormat, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrFormat, err)
	}
	return &m, nil
}

// check is what every manifest satisfies, whoever wrote it.
func (m *Manifest) check() error {
	if m.Product == "" {
		return fmt.Errorf("no product")
	}
	v, err := ParseVersion(m.Version)
	if err != nil {
		return err
	}
	oldest, err := ParseVersion(m.MinUpdateFrom)
	if err != nil {
		return fmt.Errorf("min_update_from: %w", err)
	}
	if oldest.Compare(v) > 0 {
		return fmt.Errorf("min_update_from %s is newer than version %s", m.MinUpdateFrom, m.Version)
	}
	if m.Kernel.Version == "" {
		return fmt.Errorf("no kernel version")
	}
	names, paths := map[string]bool{}, map[string]bool{}
	for _, p := range m.Parts {
		if p.Name == "" || names[p.Name] {
			return fmt.Errorf("part name %q empty or repeated", p.Name)
		}
		if paths[p.Path] {
			return fmt.Errorf("part path %q repeated", p.Path)
		}
		names[p.Name], paths[p.Path] = true, true
		if p.Path != PartKernel && p.Path != PartInitramfs && !strings.HasPrefix(p.Path, initramfsPath+"/") {
			return fmt.Errorf("part %s: path %q is not kernel, initramfs or initramfs:/PATH", p.Name, p.Path)
		}
		if p.Size < 0 {
			return fmt.Errorf("part %s: negative size", p.Name)
		}
		if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != 32 || strings.ToLower(p.SHA256) != p.SHA256 {
			return fmt.Errorf("part %s: sha256 %q is not 64 lower-case hex digits", p.Name, p.SHA256)
		}
	}
	for _, want := range []string{PartKernel, PartInitramfs} {
		if p := m.Part(want); p == nil || p.Path != want {
			return fmt.Errorf("no %s part", want)
		}
	}
	return nil
}
