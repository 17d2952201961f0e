package zonemu

import (
	"fmt"

	"github.com/plinth-storage/plinth/io/dev"
)

// Open reopens a device formatted by Create, with its persisted config and
// zone state, as a drive comes back after a power cycle: the state is the
// last one persisted (by Flush or a zone management command), so write
// pointers roll back to what was flushed, and zones that were open come
// back closed. Open uses the valid slot with the highest sequence number; a
// slot that fails its checksum (a torn or corrupt write) is skipped. Open
// fails with ErrNotFormatted when neither slot carries the magic, and with
// ErrCorrupt when no slot is valid or a slot passes its checksum yet holds
// impossible values; the error names what is wrong.
func Open(under dev.Device) (*Device, error) {
	img, k, err := load(under)
	if err != nil {
		return nil, &dev.OpError{Op: "zonemu-open", Path: under.Path(), Err: err}
	}
	if err := fits(under, img.cfg); err != nil {
		return nil, &dev.OpError{Op: "zonemu-open", Path: under.Path(), Err: fmt.Errorf("config in metadata slot %d: %w", k, err)}
	}
	for i := range img.zones {
		// A power cycle closes every open zone (validation ensured
		// that open zones hold data).
		if img.zones[i].cond.IsOpen() {
			img.zones[i].cond = dev.ZoneCondClosed
		}
	}
	d := newDevice(under, img.cfg, img.zones)
	d.durableSlot, d.durableSeq = k, img.seq
	return d, nil
}

// load reads both metadata slots and returns the one to use and its index.
func load(under dev.Device) (*slotImage, int, error) {
	fail := func(err error) (*slotImage, int, error) { return nil, 0, err }
	if err := checkUnder(under); err != nil {
		return fail(err)
	}
	size := under.Geometry().Size
	var imgs [2]*slotImage
	var errs [2]*slotError
	for k := range imgs {
		img, serr, err := readSlot(under, size, k)
		if err != nil {
			return fail(err)
		}
		if serr != nil && serr.kind == slotInvalid {
			return fail(fmt.Errorf("%w: metadata slot %d (header at %d) %v", ErrCorrupt, k, headerOff(size, k), serr))
		}
		imgs[k], errs[k] = img, serr
	}
	k := 0
	switch {
	case imgs[0] != nil && imgs[1] != nil:
		a, b := imgs[0], imgs[1]
		if a.seq == b.seq {
			return fail(fmt.Errorf("%w: both metadata slots have sequence number %d", ErrCorrupt, a.seq))
		}
		if a.cfg != b.cfg {
			return fail(fmt.Errorf("%w: the metadata slots hold different configs: %+v and %+v", ErrCorrupt, a.cfg, b.cfg))
		}
		if b.seq > a.seq {
			k = 1
		}
	case imgs[0] != nil:
		k = 0
	case imgs[1] != nil:
		k = 1
	default:
		if errs[0].kind == slotAbsent && errs[1].kind == slotAbsent {
			return fail(ErrNotFormatted)
		}
		return fail(fmt.Errorf("%w: no valid metadata slot: slot 0 (header at %d): %v; slot 1 (header at %d): %v",
			ErrCorrupt, headerOff(size, 0), errs[0], headerOff(size, 1), errs[1]))
	}
	return imgs[k], k, nil
}

// readSlot reads and decodes slot k. err is an IO error; serr says why the
// slot is unusable.
func readSlot(under dev.Device, size int64, k int) (img *slotImage, serr *slotError, err error) {
	hdr := dev.AlignedBuffer(headerSize)
	if _, err := under.ReadAt(hdr, headerOff(size, k)); err != nil {
		return nil, nil, fmt.Errorf("reading the header of metadata slot %d: %w", k, err)
	}
	n, serr := headerZones(hdr, size)
	if serr != nil {
		return nil, serr, nil
	}
	table := dev.AlignedBuffer(int(tableSize(n)))
	if _, err := under.ReadAt(table, tableOff(size, n, k)); err != nil {
		return nil, nil, fmt.Errorf("reading the zone table of metadata slot %d: %w", k, err)
	}
	img, serr = decodeSlot(hdr, table, k)
	return img, serr, nil
}
