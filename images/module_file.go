package images

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// maxModuleSize bounds a decompressed module (the largest Debian modules
// are a few MiB): a corrupt or hostile file cannot fill the build host's
// memory.
const maxModuleSize = 256 << 20

// elfMagic starts every kernel module.
var elfMagic = []byte("\x7fELF")

// readModule reads a module file of a modules directory, decompressing a
// .ko.xz, .ko.zst or .ko.gz (Debian 13 ships .ko.xz): the initramfs holds
// plain .ko files, so the kernel needs no module decompression support and
// plinth init loads them with finit_module as they are.
func readModule(dir, rel string) ([]byte, error) {
	file := filepath.Join(dir, rel)
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading module: %w", err)
	}
	defer f.Close()
	var r io.Reader
	switch {
	case strings.HasSuffix(rel, ".ko"):
		r = f
	case strings.HasSuffix(rel, ".ko.xz"):
		xr, err := xz.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", file, err)
		}
		r = xr
	case strings.HasSuffix(rel, ".ko.zst"):
		zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxModuleSize))
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", file, err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(rel, ".ko.gz"):
		gr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("decompressing %s: %w", file, err)
		}
		r = gr
	default:
		return nil, fmt.Errorf("module %s: not a .ko, .ko.xz, .ko.zst or .ko.gz file", file)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxModuleSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading module %s: %w", file, err)
	}
	if len(data) > maxModuleSize {
		return nil, fmt.Errorf("module %s: over %d MiB decompressed", file, maxModuleSize>>20)
	}
	if !bytes.HasPrefix(data, elfMagic) {
		return nil, fmt.Errorf("module %s is not an ELF object (a kernel module starts with \\x7fELF)", file)
	}
	return data, nil
}
