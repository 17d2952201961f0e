package hw

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// signature is an on-disk structure recognised on a device.
type signature struct {
	Name   string // "ext4 filesystem"
	Offset int64  // byte offset of the magic
}

func (s signature) String() string { return fmt.Sprintf("%s at byte %d", s.Name, s.Offset) }

// The probes look at the first headLen and the last tailLen bytes of a
// device: every signature this package knows lives there (the furthest from
// an end are ZFS's uberblocks, up to 512 KiB from the start and 768 KiB
// from the end).
const (
	headLen = 512 << 10
	tailLen = 768 << 10
)

// image is what was read of a device node.
type image struct {
	size    int64  // the node's size
	head    []byte // from offset 0
	tailOff int64
	tail    []byte // from tailOff
}

// at returns the n bytes at off, or nil when they were not read (they lie
// beyond the end of the device).
func (im *image) at(off int64, n int) []byte {
	if off < 0 || n < 0 {
		return nil
	}
	end := off + int64(n)
	if end <= int64(len(im.head)) {
		return im.head[off:end]
	}
	if off >= im.tailOff && end <= im.tailOff+int64(len(im.tail)) {
		return im.tail[off-im.tailOff : end-im.tailOff]
	}
	return nil
}

// signatures reads the device node f (opened from path) and returns the
// signatures on it. The node is opened read-only and not exclusively: it may
// be in use, and a read-only open neither disturbs the owner nor makes udev
// rescan the disk. lbs is the logical block size, which places the GPT
// header.
func signatures(f *os.File, path string, lbs int) ([]signature, error) {
	im, err := readImage(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return probe(im, lbs), nil
}

func readImage(f io.ReadSeeker) (*image, error) {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("find the size: %w", err)
	}
	r, ok := f.(io.ReaderAt)
	if !ok {
		return nil, errors.New("cannot read at an offset")
	}
	im := &image{size: size}
	if im.head, err = readAt(r, 0, min(size, headLen)); err != nil {
		return nil, err
	}
	if size > headLen {
		im.tailOff = max(headLen, size-tailLen)
		if im.tail, err = readAt(r, im.tailOff, size-im.tailOff); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// readAt reads n bytes at off; a device that turns out shorter than it said
// yields what there is.
func readAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	b := make([]byte, n)
	k, err := r.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %d bytes at %d: %w", n, off, err)
	}
	return b[:k], nil
}

// probe runs every probe of magic.go over im.
func probe(im *image, lbs int) []signature {
	var found []signature
	add := func(s signature, ok bool) {
		if ok {
			found = append(found, s)
		}
	}
	add(probeExt(im))
	add(probeXFS(im))
	add(probeBtrfs(im))
	add(probeLVM(im))
	add(probeMD(im))
	gpt, isGPT := probeGPT(im, lbs)
	add(gpt, isGPT)
	add(probeMBR(im, isGPT))
	add(probeSwap(im))
	add(probeLUKS(im))
	add(probeZFS(im))
	return found
}
