package zonemu

import (
	"errors"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/direct"
)

// CreateFile creates (or extends, sparsely) the regular file at path to
// NrZones*ZoneSize + MetadataSize(cfg) bytes and formats it with Create.
// An existing file is reformatted; if it is larger, the metadata goes at
// its end.
func CreateFile(path string, cfg Config) (*Device, error) {
	if cfg.ZoneCapacity == 0 {
		cfg.ZoneCapacity = cfg.ZoneSize
	}
	if err := cfg.validate(); err != nil {
		return nil, &dev.OpError{Op: "zonemu-create", Path: path, Err: err}
	}
	// The size is a multiple of 4096 so that OpenFile, which first opens
	// the file with 4096-byte blocks, sees the same end of file.
	size := dev.RoundUp(cfg.zoneArea()+MetadataSize(cfg), blockSize)
	under, err := direct.Open(path, direct.Options{Create: true, Size: size, BlockSize: cfg.LogicalBlockSize})
	if err != nil {
		return nil, err
	}
	d, err := Create(under, cfg)
	if err != nil {
		return nil, errors.Join(err, under.Close())
	}
	return d, nil
}

// OpenFile reopens a file formatted by CreateFile. The file is opened with
// 4096-byte blocks to read the metadata, and again with the emulated
// drive's logical block size if that is smaller.
func OpenFile(path string) (*Device, error) {
	under, err := direct.Open(path, direct.Options{BlockSize: blockSize})
	if err != nil {
		return nil, err
	}
	if img, _, err := load(under); err == nil && img.cfg.LogicalBlockSize != blockSize {
		if err := under.Close(); err != nil {
			return nil, err
		}
		under, err = direct.Open(path, direct.Options{BlockSize: img.cfg.LogicalBlockSize})
		if err != nil {
			return nil, err
		}
	}
	d, err := Open(under)
	if err != nil {
		return nil, errors.Join(err, under.Close())
	}
	return d, nil
}
