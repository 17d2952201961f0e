package hw

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// The signatures, each with where its magic lives. Offsets are bytes from
// the start of the device unless said otherwise; multi-byte numbers are
// little endian unless said otherwise.

// probeExt: ext2/3/4 superblock at 1024, magic 0xEF53 at 1024+0x38 = 1080.
// The feature flags tell the versions apart the way blkid does: a journal
// (compat 0x4) makes ext3, extents, 64bit or flex_bg (incompat 0x40, 0x80,
// 0x200) make ext4.
func probeExt(im *image) (signature, bool) {
	sb := im.at(1024, 0x64)
	if sb == nil || binary.LittleEndian.Uint16(sb[0x38:]) != 0xEF53 {
		return signature{}, false
	}
	compat := binary.LittleEndian.Uint32(sb[0x5c:])
	incompat := binary.LittleEndian.Uint32(sb[0x60:])
	name := "ext2 filesystem"
	switch {
	case incompat&(0x40|0x80|0x200) != 0:
		name = "ext4 filesystem"
	case compat&0x4 != 0:
		name = "ext3 filesystem"
	}
	return signature{name, 1080}, true
}

// probeXFS: "XFSB" at 0.
func probeXFS(im *image) (signature, bool) {
	return magicAt(im, 0, "XFSB", "XFS filesystem")
}

// probeBtrfs: "_BHRfS_M" at 64 KiB + 0x40 = 65600.
func probeBtrfs(im *image) (signature, bool) {
	return magicAt(im, 65600, "_BHRfS_M", "btrfs filesystem")
}

// probeLVM: the LVM2 label "LABELONE" starts one of the sectors 0-3.
func probeLVM(im *image) (signature, bool) {
	for off := int64(0); off < 4*512; off += 512 {
		if s, ok := magicAt(im, off, "LABELONE", "LVM2 physical volume"); ok {
			return s, true
		}
	}
	return signature{}, false
}

// mdMagic is the Linux md superblock magic, 0xa92b4efc, little endian.
const mdMagic = 0xa92b4efc

// probeMD: a Linux md superblock. v1.1 at 0, v1.2 at 4 KiB, v1.0 8 to 12
// KiB from the end aligned down to 4 KiB, v0.90 64 to 128 KiB from the end
// aligned down to 64 KiB.
func probeMD(im *image) (signature, bool) {
	type place struct {
		off     int64
		version string
	}
	places := []place{{0, "v1.1"}, {4096, "v1.2"}}
	if sectors := im.size / 512; sectors >= 16 {
		places = append(places, place{((sectors - 16) &^ 7) * 512, "v1.0"})
	}
	places = append(places, place{(im.size &^ 0xffff) - 0x10000, "v0.90"})
	for _, p := range places {
		b := im.at(p.off, 4)
		if b != nil && binary.LittleEndian.Uint32(b) == mdMagic {
			return signature{"Linux md RAID superblock " + p.version, p.off}, true
		}
	}
	return signature{}, false
}

// probeGPT: the GPT header "EFI PART" starts logical block 1: byte 512, or
// byte 4096 on 4Kn drives.
func probeGPT(im *image, lbs int) (signature, bool) {
	if s, ok := magicAt(im, 512, "EFI PART", "GPT partition table"); ok {
		return s, true
	}
	if lbs > 512 {
		return magicAt(im, int64(lbs), "EFI PART", "GPT partition table")
	}
	return signature{}, false
}

// probeMBR: 0x55 0xAA at 510 and at least one used entry (non-zero type at
// byte 4 of a 16-byte entry) in the partition table at 446. A table whose
// only entries are 0xEE is the protective MBR of a GPT disk, reported only
// when the GPT header itself was not found.
func probeMBR(im *image, isGPT bool) (signature, bool) {
	b := im.at(0, 512)
	if b == nil || b[510] != 0x55 || b[511] != 0xAA {
		return signature{}, false
	}
	used, protective := 0, 0
	for i := 0; i < 4; i++ {
		switch b[446+16*i+4] {
		case 0:
		case 0xEE:
			used++
			protective++
		default:
			used++
		}
	}
	switch {
	case used == 0:
		return signature{}, false
	case used == protective && isGPT:
		return signature{}, false
	case used == protective:
		return signature{"protective MBR of a GPT disk", 510}, true
	}
	return signature{"MBR partition table", 510}, true
}

// probeSwap: "SWAPSPACE2" (or the old "SWAP-SPACE") in the last 10 bytes of
// the first page: at 4086 for 4 KiB pages, and the same place for the other
// page sizes Linux uses.
func probeSwap(im *image) (signature, bool) {
	for _, page := range []int64{4096, 8192, 16384, 65536} {
		for _, magic := range []string{"SWAPSPACE2", "SWAP-SPACE"} {
			if s, ok := magicAt(im, page-10, magic, "Linux swap"); ok {
				return s, true
			}
		}
	}
	return signature{}, false
}

// probeLUKS: "LUKS\xba\xbe" at 0 (LUKS1 and LUKS2).
func probeLUKS(im *image) (signature, bool) {
	return magicAt(im, 0, "LUKS\xba\xbe", "LUKS encrypted volume")
}

// zfsMagic is the ZFS uberblock magic, in the pool's byte order.
const zfsMagic = 0x00bab10c

// probeZFS: ZFS keeps four 256 KiB vdev labels, two at the start of the
// device (L0 at 0, L1 at 256 KiB) and two at its end (L2, L3, the device
// size aligned down to 256 KiB). The second half of each label is the
// uberblock ring, whose slots (1 KiB or more, aligned to 1 KiB) start with
// the magic in either byte order.
func probeZFS(im *image) (signature, bool) {
	const label = 256 << 10
	end := im.size &^ (label - 1)
	for i, lo := range []int64{0, label, end - 2*label, end - label} {
		if i >= 2 && lo < 2*label {
			break // the device is too small for end labels
		}
		for slot := lo + label/2; slot < lo+label; slot += 1024 {
			b := im.at(slot, 8)
			if b == nil {
				break
			}
			if binary.LittleEndian.Uint64(b) == zfsMagic || binary.BigEndian.Uint64(b) == zfsMagic {
				return signature{fmt.Sprintf("ZFS pool member (uberblock of label L%d)", i), slot}, true
			}
		}
	}
	return signature{}, false
}

func magicAt(im *image, off int64, magic, name string) (signature, bool) {
	if b := im.at(off, len(magic)); b != nil && bytes.Equal(b, []byte(magic)) {
		return signature{name, off}, true
	}
	return signature{}, false
}
