package pool

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// DescribeEntry decodes an entry of one of a pool's index trees
// (pool/NAME/heads, extents, repair or pending: see the package comment)
// for people: a map of its fields by name. It reports false for a tree
// that is not a pool index tree; an entry that does not decode gets a
// map holding "error".
func DescribeEntry(tree string, key, value []byte) (map[string]any, bool) {
	rest, ok := strings.CutPrefix(tree, "pool/")
	if !ok {
		return nil, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return nil, false
	}
	bad := func(err error) map[string]any { return map[string]any{"error": err.Error()} }
	switch rest[i+1:] {
	case "heads":
		h, err := decodeHead(value)
		if err != nil {
			return bad(err), true
		}
		m := map[string]any{"owner": string(key), "version": h.version}
		switch h.state {
		case stateData:
			m["state"], m["size"], m["attr_bytes"] = "data", h.size, len(h.attrs)
		default:
			m["state"] = "tombstone"
			if h.tomb.set == 0 {
				m["pending"] = true
			} else {
				m["set"], m["stream_offset"], m["record_bytes"] = uint64(h.tomb.set), h.tomb.off, h.tomb.len
			}
		}
		return m, true
	case "extents":
		owner, off, err := parseExtentKey(key)
		if err != nil {
			return bad(err), true
		}
		e, err := decodeExtent(value, off)
		if err != nil {
			return bad(err), true
		}
		return map[string]any{"owner": string(owner), "offset": off, "length": e.payload, "version": e.version,
			"set": uint64(e.rec.set), "stream_offset": e.rec.off, "record_bytes": e.rec.len, "checksum": fmt.Sprintf("%016x", e.checksum)}, true
	case "repair":
		set, st, err := parseRepairKey(key)
		if err != nil {
			return bad(err), true
		}
		members, queued, err := decodeRepair(value)
		if err != nil {
			return bad(err), true
		}
		list := []int{}
		for m := range 64 {
			if members&(1<<m) != 0 {
				list = append(list, m)
			}
		}
		return map[string]any{"set": uint64(set), "stripe": st, "members": list, "queued": time.Unix(0, queued).UTC()}, true
	case "pending":
		if len(value) != 8 {
			return bad(fmt.Errorf("%w: pending entry of %d bytes", ErrCorrupt, len(value))), true
		}
		return map[string]any{"owner": string(key), "version": binary.BigEndian.Uint64(value)}, true
	}
	return nil, false
}
