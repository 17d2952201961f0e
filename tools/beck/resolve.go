package beck

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/plinth-storage/plinth/pool"
)

// outcome is what an owner's records give: the version its index entry
// gets, or why none can be restored.
type outcome struct {
	version uint64
	tomb    bool
	tombRec pool.RecordLoc
	data    bool
	size    int64
	attrs   []byte
	exts    []pool.RestoredExtent
	noAttrs bool // the version's attrs record is not in the log
	older   bool // a newer version was found and could not be restored
	skipped string
}

// resolve replays one owner's records, all versions, in the order the
// staging tree gives them (newest version first; in a version,
// tombstones, then attrs, then data by offset). The newest version wins,
// a tombstone winning a tie, as in the pool; a data version wins only if
// its records cover its bytes: [0, size) when its attrs record gives the
// size, else from 0 to the end of its last record without a gap. A
// version that does not (an interrupted write, or records lost with
// damaged stripes) gives way to the next older one, which is said; an
// owner none of whose versions can be restored is lost.
func resolve(owner []byte, recs []staged) outcome {
	var skipped []string
	for i := 0; i < len(recs); {
		j := i
		for j < len(recs) && recs[j].version == recs[i].version {
			j++
		}
		o := resolveVersion(owner, recs[i:j])
		if o.skipped == "" {
			o.older = len(skipped) > 0
			if o.older {
				o.skipped = fmt.Sprintf("newer versions incomplete in the log: %s", strings.Join(skipped, "; "))
			}
			return o
		}
		skipped = append(skipped, fmt.Sprintf("version %d %s", recs[i].version, o.skipped))
		i = j
	}
	return outcome{version: recs[0].version, skipped: strings.Join(skipped, "; ")}
}

// resolveVersion decides one version; skipped says why it cannot be
// restored.
func resolveVersion(owner []byte, recs []staged) outcome {
	v := recs[0].version
	var tombs, chunks, data []staged
	damaged := 0
	for _, r := range recs {
		switch r.rank {
		case rankTombstone:
			tombs = append(tombs, r)
		case rankAttrs:
			chunks = append(chunks, r)
		case rankDamaged:
			damaged++
		default:
			data = append(data, r)
		}
	}
	hl := pool.RecordHeaderLen(len(owner))
	if len(tombs) > 0 {
		// Copies of a tombstone (the cleaner moves them): the newest set's.
		best := tombs[0]
		for _, t := range tombs[1:] {
			if t.rec.Set > best.rec.Set {
				best = t
			}
		}
		if best.rec.Len != hl {
			return outcome{version: v, skipped: fmt.Sprintf("has a tombstone record of %d bytes", best.rec.Len)}
		}
		return outcome{version: v, tomb: true, tombRec: best.rec}
	}
	size, attrs, haveAttrs := attrsOf(chunks)
	exts, why := cover(owner, data, size, haveAttrs)
	if why != "" {
		if damaged > 0 {
			why += fmt.Sprintf(" (%d of its records are in a stripe damaged beyond repair)", damaged)
		}
		return outcome{version: v, skipped: why}
	}
	if !haveAttrs {
		size = 0
		for _, e := range exts {
			size += e.Payload
		}
	}
	return outcome{version: v, data: true, size: size, attrs: attrs, exts: exts, noAttrs: !haveAttrs}
}

// attrsOf puts a version's attrs payload together from its chunks; ok is
// false when it is not whole.
func attrsOf(chunks []staged) (size int64, attrs []byte, ok bool) {
	if len(chunks) == 0 {
		return 0, nil, false
	}
	slices.SortFunc(chunks, func(a, b staged) int { return cmp.Compare(a.offset, b.offset) })
	var buf []byte
	for _, c := range chunks {
		switch {
		case c.offset == int64(len(buf)):
			buf = append(buf, c.chunk...)
		case c.offset < int64(len(buf)):
			// a copy of a chunk already taken
		default:
			return 0, nil, false
		}
	}
	if n := pool.AttrsPayloadLen(buf); n < 0 || len(buf) != n {
		return 0, nil, false
	}
	size, a, err := pool.DecodeAttrsPayload(buf)
	if err != nil {
		return 0, nil, false
	}
	return size, a, true
}

// cover picks data records of one version that cover its bytes in order,
// each once: [0, size) when known, else as far from 0 as the records go
// without a gap (and no record past it). Several copies of a record (the
// cleaner's, split differently) may be found: the newest set's are
// preferred. why says what is missing.
func cover(owner []byte, data []staged, size int64, known bool) (exts []pool.RestoredExtent, why string) {
	hl := pool.RecordHeaderLen(len(owner))
	var cands []staged
	for _, d := range data {
		if d.rec.Len == hl+d.payload && d.rec.Set != 0 {
			cands = append(cands, d)
		}
	}
	ext := func(d staged) pool.RestoredExtent {
		return pool.RestoredExtent{Offset: d.offset, Rec: d.rec, Payload: d.payload, Checksum: d.checksum}
	}
	// An owner of no bytes is one record of no payload at offset 0.
	empty := func() ([]pool.RestoredExtent, string) {
		for _, d := range cands {
			if d.offset == 0 && d.payload == 0 {
				return []pool.RestoredExtent{ext(d)}, ""
			}
		}
		return nil, "has no data record"
	}
	if known && size == 0 {
		return empty()
	}
	slices.SortFunc(cands, func(a, b staged) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(b.payload, a.payload), cmp.Compare(b.rec.Set, a.rec.Set))
	})
	reach := map[int64]int{0: -1} // an end position: the record that reaches it
	far, maxEnd := int64(0), int64(0)
	for i, d := range cands {
		if d.payload == 0 {
			continue
		}
		maxEnd = max(maxEnd, d.end())
		if _, ok := reach[d.offset]; !ok {
			continue
		}
		if _, ok := reach[d.end()]; !ok {
			reach[d.end()] = i
			far = max(far, d.end())
		}
	}
	target := size
	if !known {
		if maxEnd == 0 {
			return empty()
		}
		target = far
		if maxEnd > far {
			return nil, fmt.Sprintf("has records up to byte %d and none for the bytes from %d", maxEnd, far)
		}
	}
	if _, ok := reach[target]; !ok || target == 0 {
		got := int64(0)
		for end := range reach {
			if end <= target {
				got = max(got, end)
			}
		}
		return nil, fmt.Sprintf("is missing bytes from %d of %d", got, target)
	}
	for at := target; at > 0; {
		d := cands[reach[at]]
		exts = append(exts, ext(d))
		at = d.offset
	}
	slices.Reverse(exts)
	return exts, ""
}
