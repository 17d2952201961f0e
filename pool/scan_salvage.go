package pool

// SalvageRecords finds the records of a stripe too damaged to be read
// whole: b is its stream bytes from stream offset base, and good(lo, hi)
// says whether stream bytes [lo, hi) of the stripe (offsets in b) were
// read and verified. Records follow each other from the stripe's start,
// but where one is lost so is the way to the next: the bytes are searched
// for record headers, at every offset whose header bytes are verified (a
// header's checksum, over its owner too, keeps chance bytes from passing
// for one). A record whose payload is verified and checks is whole; one
// whose header checks and whose payload does not is damaged (returned
// without its payload): its owner, version and place are known, its bytes
// are not.
func SalvageRecords(b []byte, base int64, good func(lo, hi int64) bool) (whole, damaged []LogRecord) {
	for pos := int64(0); pos+recordHeader <= int64(len(b)); {
		k := b[pos]
		if k != kindData && k != kindTombstone && k != kindAttrs {
			pos++
			continue
		}
		if !good(pos, pos+recordHeader) {
			pos++
			continue
		}
		r, err := parseHeader(b[pos:])
		if err != nil || !good(pos, pos+headerLen(len(r.owner))) {
			pos++
			continue
		}
		end := pos + r.size()
		rec := LogRecord{Kind: RecordKind(r.kind), Format: r.format, Owner: r.owner, Version: r.version,
			Offset: int64(r.offset), At: base + pos, Len: r.size(), Checksum: r.checksum}
		switch {
		case end > int64(len(b)):
			// A header whose record would cross the stripe: not one.
			pos++
			continue
		case good(pos+headerLen(len(r.owner)), end) && payloadSum(b[pos+headerLen(len(r.owner)):end]) == r.checksum:
			rec.Payload = b[pos+headerLen(len(r.owner)) : end]
			whole = append(whole, rec)
		default:
			damaged = append(damaged, rec)
		}
		pos = end
	}
	return whole, damaged
}
