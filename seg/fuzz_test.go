package seg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/minio/highwayhash"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/memdev"
	"github.com/plinth-storage/plinth/io/zonemu"
)

// The fuzz targets check the decoders and the scanner against an
// independent reading of the format in doc.go: checksums are recomputed
// here from the documented salt layout with highwayhash directly, never
// with recordChecksum or MakeSalt.

const (
	fuzzIndex = 5
	// fuzzGen has high bits set, so the 32-bit generation field of a
	// record is exercised as documented (low 32 bits).
	fuzzGen = 0x1_0000_0007
)

// docSalt is the salt as doc.go spells it: drive UUID, index (LE32),
// generation (LE64).
func docSalt(drive [16]byte, index uint32, gen uint64) []byte {
	s := make([]byte, 0, 28)
	s = append(s, drive[:]...)
	s = binary.LittleEndian.AppendUint32(s, index)
	s = binary.LittleEndian.AppendUint64(s, gen)
	return s
}

// docRecordChecksum is HighwayHash-64 (ChecksumKey) of the salt, the
// record's bytes [0,24) and its payload.
func docRecordChecksum(salt []byte, hdr, payload []byte) uint64 {
	h, err := highwayhash.New64(ChecksumKey)
	if err != nil {
		panic(err)
	}
	h.Write(salt)
	h.Write(hdr[:24])
	h.Write(payload)
	return h.Sum64()
}

// checkRecordBytes verifies the record at the start of b independently:
// magic, version, the checksum over salt, header and payload, and that the
// decoded fields are the bytes'.
func checkRecordBytes(t *testing.T, b []byte, salt []byte, gen uint64, r Record) {
	t.Helper()
	if len(b) < RecordHeaderSize {
		t.Fatalf("record of %d bytes accepted", len(b))
	}
	le := binary.LittleEndian
	n := int(le.Uint32(b[8:]))
	switch {
	case string(b[:4]) != RecordMagic || b[4] != RecordVersion:
		t.Fatalf("record accepted with magic %q version %d", b[:4], b[4])
	case n > len(b)-RecordHeaderSize || n > MaxPayload:
		t.Fatalf("record accepted with payload length %d, %d bytes present", n, len(b)-RecordHeaderSize)
	case le.Uint64(b[24:]) != docRecordChecksum(salt, b, b[RecordHeaderSize:RecordHeaderSize+n]):
		t.Fatalf("record accepted whose checksum %#x is wrong (want %#x)", le.Uint64(b[24:]), docRecordChecksum(salt, b, b[RecordHeaderSize:RecordHeaderSize+n]))
	case le.Uint32(b[12:]) != uint32(gen):
		t.Fatalf("record of generation %d accepted in generation %d", le.Uint32(b[12:]), gen)
	case b[5] == 0:
		t.Fatal("record of type 0 accepted")
	case r.Type != b[5] || r.Flags != le.Uint16(b[6:]) || r.Seq != le.Uint64(b[16:]) || !bytes.Equal(r.Payload, b[RecordHeaderSize:RecordHeaderSize+n]):
		t.Fatalf("decoded %+v from header % x", r, b[:RecordHeaderSize])
	}
}

func fuzzSalt() (Salt, []byte) {
	return MakeSalt(testDrive, fuzzIndex, fuzzGen), docSalt(testDrive, fuzzIndex, fuzzGen)
}

// recordSeeds are valid encodings and mutations of them.
func recordSeeds() [][]byte {
	salt, _ := fuzzSalt()
	enc := func(typ uint8, flags uint16, gen, seq uint64, p []byte) []byte {
		b := make([]byte, recordSize(len(p)))
		encodeRecord(b, &salt, typ, flags, gen, seq, p)
		return b
	}
	valid := [][]byte{
		enc(TypeUser, 0, fuzzGen, 100, nil),
		enc(TypeUser, 7, fuzzGen, 101, []byte("hello")),
		enc(255, 0xffff, fuzzGen, 1<<63, bytes.Repeat([]byte{0xa5}, 300)),
		enc(typeWrite, 0, fuzzGen, 0, make([]byte, writePayloadSize)),
		enc(typeFooter, 0, fuzzGen, 0, make([]byte, footerPayloadSize)),
		enc(3, 0, fuzzGen, 0, []byte{1, 2, 3}),
		enc(TypeUser, 0, fuzzGen-1, 5, []byte("older generation")),
		enc(typeInvalid, 0, fuzzGen, 9, []byte("type 0")),
	}
	seeds := append([][]byte{nil, make([]byte, 31), make([]byte, 64), []byte("PLRC")}, valid...)
	for _, v := range valid[:3] {
		flip := bytes.Clone(v)
		flip[len(flip)/2] ^= 0x10
		ver := bytes.Clone(v)
		ver[4] = 2
		long := bytes.Clone(v)
		binary.LittleEndian.PutUint32(long[8:], MaxPayload+1)
		short := bytes.Clone(v)
		binary.LittleEndian.PutUint32(short[8:], uint32(len(v)))
		seeds = append(seeds, flip, ver, long, short, v[:len(v)-1], v[:RecordHeaderSize], append(bytes.Clone(v), 0xff, 0xff))
	}
	return seeds
}

func FuzzDecodeRecord(f *testing.F) {
	for i, s := range recordSeeds() {
		f.Add(s, i%2 == 0, TypeUser+uint8(i), uint16(i*977), uint64(i)<<40|uint64(i), s, uint32(i*131))
	}
	f.Fuzz(func(t *testing.T, data []byte, fix bool, typ uint8, flags uint16, seq uint64, payload []byte, flip uint32) {
		salt, dsalt := fuzzSalt()
		le := binary.LittleEndian

		// 1. Arbitrary bytes. With fix set, the checksum field is made
		// right first, so the checks behind the checksum are reached.
		b := bytes.Clone(data)
		fixed := false
		if fix && len(b) >= RecordHeaderSize {
			if n := int(le.Uint32(b[8:])); n <= len(b)-RecordHeaderSize {
				le.PutUint64(b[24:], docRecordChecksum(dsalt, b, b[RecordHeaderSize:RecordHeaderSize+n]))
				fixed = true
			}
		}
		r, size, err := decodeRecord(b, &salt, fuzzGen)
		if err == nil {
			checkRecordBytes(t, b, dsalt, fuzzGen, r)
			n := len(r.Payload)
			if size != recordSize(n) || size%RecordAlign != 0 {
				t.Fatalf("size %d for a %d-byte payload", size, n)
			}
			re := make([]byte, size)
			for i := range re {
				re[i] = 0xee
			}
			if got := encodeRecord(re, &salt, r.Type, r.Flags, fuzzGen, r.Seq, r.Payload); got != size {
				t.Fatalf("re-encoded to %d bytes, decoded size %d", got, size)
			}
			if !bytes.Equal(re[:RecordHeaderSize+n], b[:RecordHeaderSize+n]) {
				t.Fatalf("accepted record does not re-encode to its bytes:\n got % x\nwant % x", re[:RecordHeaderSize+n], b[:RecordHeaderSize+n])
			}
			if !allZero(re[RecordHeaderSize+n:]) {
				t.Fatalf("alignment padding not zeroed: % x", re[RecordHeaderSize+n:])
			}
		} else {
			switch {
			case errors.Is(err, errNoRecord):
				if !allZero(b[:min(4, len(b))]) {
					t.Fatalf("bytes % x reported as no record", b[:min(8, len(b))])
				}
			case errors.Is(err, ErrCorrupt), errors.Is(err, ErrUnsupported):
			default:
				t.Fatalf("decode error of no known kind: %v", err)
			}
		}
		if fixed {
			// With a right checksum, exactly the documented records
			// are accepted.
			want := string(b[:4]) == RecordMagic && b[4] == RecordVersion && le.Uint32(b[8:]) <= MaxPayload &&
				le.Uint32(b[12:]) == uint32(fuzzGen&0xffffffff) && b[5] != typeInvalid
			if want != (err == nil) {
				t.Fatalf("well-formed %v, decode error %v, header % x", want, err, b[:RecordHeaderSize])
			}
		}

		// 2. Encode, then decode: a round trip, and every damage is
		// caught.
		if typ < TypeUser {
			typ += TypeUser
		}
		if len(payload) > 1<<16 {
			payload = payload[:1<<16]
		}
		size = recordSize(len(payload))
		enc := make([]byte, size+64)
		for i := range enc {
			enc[i] = 0x5a
		}
		if got := encodeRecord(enc, &salt, typ, flags, fuzzGen, seq, payload); got != size {
			t.Fatalf("encodeRecord returned %d, want %d", got, size)
		}
		if !allZero(enc[RecordHeaderSize+len(payload) : size]) {
			t.Fatal("encodeRecord left the alignment padding dirty")
		}
		for _, in := range [][]byte{enc[:RecordHeaderSize+len(payload)], enc[:size], enc} {
			r, got, err := decodeRecord(in, &salt, fuzzGen)
			if err != nil || got != size || r.Type != typ || r.Flags != flags || r.Seq != seq || !bytes.Equal(r.Payload, payload) {
				t.Fatalf("round trip of type %d flags %d seq %d %d bytes: %+v size %d, %v", typ, flags, seq, len(payload), r, got, err)
			}
			checkRecordBytes(t, in, dsalt, fuzzGen, r)
		}
		if _, _, err := decodeRecord(enc, &salt, fuzzGen+1); err == nil {
			t.Fatal("record decoded with the wrong generation")
		}
		other := MakeSalt(testDrive, fuzzIndex+1, fuzzGen)
		if _, _, err := decodeRecord(enc, &other, fuzzGen); err == nil {
			t.Fatal("record decoded with another segment's salt")
		}
		bit := int(flip % uint32((RecordHeaderSize+len(payload))*8))
		bad := bytes.Clone(enc)
		bad[bit/8] ^= 1 << (bit % 8)
		if r, _, err := decodeRecord(bad, &salt, fuzzGen); err == nil {
			t.Fatalf("record with bit %d flipped accepted: %+v", bit, r)
		}
		if _, _, err := decodeRecord(enc[:RecordHeaderSize+len(payload)-1], &salt, fuzzGen); err == nil {
			t.Fatal("truncated record accepted")
		}
	})
}

// docHeaderChecksum is HighwayHash-64 (ChecksumKey) of header bytes
// [0,120).
func docHeaderChecksum(b []byte) uint64 {
	h, err := highwayhash.New64(ChecksumKey)
	if err != nil {
		panic(err)
	}
	h.Write(b[:120])
	return h.Sum64()
}

func headerSeeds() [][]byte {
	enc := func(h Header) []byte {
		if h.BlockSize == 0 {
			h.BlockSize = 4096
		}
		b := make([]byte, h.BlockSize)
		h.encode(b)
		return b
	}
	good := testHeader(7)
	good.BlockSize, good.Capacity, good.Index = 4096, 1<<20, 3
	odd := good
	odd.BlockSize, odd.Capacity, odd.Kind, odd.Set, odd.FirstSeq = 512, 3*512, KindData, 1<<63, 1<<64-1
	odd.Created = time.Unix(0, -1).UTC()
	big := good
	big.BlockSize, big.Capacity, big.Kind = 1<<20, 1<<40, KindMetadata
	bad := good
	bad.Capacity = 2 * 4096
	badKind := good
	badKind.Kind = 4
	seeds := [][]byte{nil, make([]byte, 128), []byte(HeaderMagic), enc(good), enc(odd), enc(big)[:4096], enc(bad), enc(badKind)}
	for _, v := range [][]byte{enc(good), enc(odd)} {
		for _, at := range []int{0, 8, 10, 12, 53, 60, 100, 120} {
			m := bytes.Clone(v)
			m[at] ^= 0x01
			seeds = append(seeds, m)
		}
		seeds = append(seeds, v[:127], v[:128])
	}
	return seeds
}

func FuzzDecodeHeader(f *testing.F) {
	for i, s := range headerSeeds() {
		f.Add(s, i%2 == 1)
	}
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		le := binary.LittleEndian
		b := bytes.Clone(data)
		if fix && len(b) >= headerLen {
			le.PutUint64(b[120:], docHeaderChecksum(b))
		}
		h, err := decodeHeader(b)
		if err != nil {
			switch {
			case errors.Is(err, ErrNotWritten):
				if len(b) < headerLen || !allZero(b[:headerLen]) {
					t.Fatalf("header % x reported unwritten", b[:min(16, len(b))])
				}
			case errors.Is(err, ErrCorrupt), errors.Is(err, ErrUnsupported):
			default:
				t.Fatalf("decode error of no known kind: %v", err)
			}
		}
		if fix && len(b) >= headerLen {
			// With a right checksum, exactly the documented headers
			// are accepted.
			bs := le.Uint32(b[12:])
			capacity := le.Uint64(b[88:])
			want := string(b[:8]) == HeaderMagic && le.Uint16(b[8:]) == HeaderVersion && le.Uint16(b[10:]) == headerLen &&
				bs >= 512 && bs <= 1<<20 && bs&(bs-1) == 0 &&
				capacity >= 3*uint64(bs) && capacity%uint64(bs) == 0 && capacity <= 1<<63-1 &&
				b[52] >= 1 && b[52] <= 3 && allZero(b[53:56]) && allZero(b[96:120])
			if want != (err == nil) {
				t.Fatalf("well-formed %v, decode error %v, header % x", want, err, b[:headerLen])
			}
		}
		if err != nil {
			return
		}
		if le.Uint64(b[120:]) != docHeaderChecksum(b) {
			t.Fatalf("header accepted whose checksum is wrong")
		}
		if h.BlockSize < 512 || h.BlockSize > 1<<20 || h.BlockSize&(h.BlockSize-1) != 0 ||
			h.Capacity < 3*int64(h.BlockSize) || h.Capacity%int64(h.BlockSize) != 0 || h.Kind < KindData || h.Kind > KindJournal {
			t.Fatalf("impossible header accepted: %+v", h)
		}
		re := make([]byte, h.BlockSize)
		for i := range re {
			re[i] = 0xee
		}
		h.encode(re)
		// The header is bytes [0,128); the rest of the block is not
		// covered by the checksum and is not compared.
		if !bytes.Equal(re[:headerLen], b[:headerLen]) {
			t.Fatalf("accepted header does not re-encode to its bytes:\n got % x\nwant % x", re[:headerLen], b[:headerLen])
		}
		if !allZero(re[headerLen:]) {
			t.Fatal("encode left the rest of the block dirty")
		}
		h2, err := decodeHeader(re)
		if err != nil || h2 != h {
			t.Fatalf("re-encoded header decodes to %+v, %v; want %+v", h2, err, h)
		}
	})
}

// Segment geometry of FuzzScan: a small conventional segment, so that the
// scanner's look-ahead covers all of it.
const (
	fuzzBS      = 4096
	fuzzSegSize = 16 * fuzzBS
	fuzzStart   = fuzzBS
)

// segBuilder assembles segment contents from a fuzz input: besides raw
// bytes it emits records with right checksums (write records with any
// length, count and previous end, user records with any sequence number,
// footers consistent or not, records of an earlier generation, torn blocks),
// so the fuzzer reaches what lies behind the checksums.
type segBuilder struct {
	in    []byte
	img   []byte // the segment, from offset 0; the header block is not touched
	pos   int
	salt  Salt
	stale Salt
	seq   uint64
	sum   summary
	write int   // offset of the last write record
	marks []int // offsets a write record may name as the previous end
}

func (b *segBuilder) next() int {
	if len(b.in) == 0 {
		return 0
	}
	c := b.in[0]
	b.in = b.in[1:]
	return int(c)
}

func (b *segBuilder) bytes(n int) []byte {
	n = min(n, len(b.in))
	p := b.in[:n]
	b.in = b.in[n:]
	return p
}

// room reports whether n bytes fit at pos.
func (b *segBuilder) room(n int) bool { return b.pos+n <= len(b.img) }

func (b *segBuilder) align(unit int) { b.pos = (b.pos + unit - 1) / unit * unit }

func (b *segBuilder) record(salt *Salt, typ uint8, flags uint16, gen, seq uint64, p []byte) bool {
	b.align(RecordAlign)
	if !b.room(recordSize(len(p))) {
		return false
	}
	at := b.pos
	b.pos += encodeRecord(b.img[at:], salt, typ, flags, gen, seq, p)
	if typ >= TypeUser && salt == &b.salt {
		b.sum.add(seq, b.img[at+24:at+32])
	}
	return true
}

func (b *segBuilder) prevEnd(own int) uint64 {
	switch c := b.next(); c % 5 {
	case 0, 1:
		return uint64(own)
	case 2:
		if len(b.marks) > 0 {
			return uint64(b.marks[b.next()%len(b.marks)])
		}
		return uint64(own)
	case 3:
		return uint64(b.write)
	default:
		return uint64(b.next() * 8 * (1 + c/5))
	}
}

func writePayload(wlen, count int, prevEnd uint64) []byte {
	var p [writePayloadSize]byte
	binary.LittleEndian.PutUint32(p[0:], uint32(wlen))
	binary.LittleEndian.PutUint32(p[4:], uint32(count))
	binary.LittleEndian.PutUint64(p[8:], prevEnd)
	return p[:]
}

func (b *segBuilder) payload() []byte {
	n := b.next()
	if n > 200 {
		n = (n - 200) * 100 // up to 5.5 KiB: records that span blocks
	}
	p := make([]byte, n)
	copy(p, b.bytes(min(n, 16)))
	return p
}

// build runs the program in b.in until it ends or the segment is full.
func (b *segBuilder) build() {
	b.pos, b.write = fuzzBS, fuzzBS
	for len(b.in) > 0 && b.pos < len(b.img) {
		switch b.next() % 10 {
		case 0, 1, 2: // a write as a writer makes it, prev end chosen
			b.align(fuzzBS)
			start := b.pos
			prev := b.prevEnd(start)
			var recs [][]byte
			size := recordSize(writePayloadSize)
			for n := b.next() % 6; n > 0; n-- {
				recs = append(recs, b.payload())
				size += recordSize(len(recs[len(recs)-1]))
			}
			wlen := (size + fuzzBS - 1) / fuzzBS * fuzzBS
			if !b.room(wlen) {
				return
			}
			b.record(&b.salt, typeWrite, 0, fuzzGen, 0, writePayload(wlen, len(recs), prev))
			for _, p := range recs {
				b.record(&b.salt, TypeUser, 0, fuzzGen, b.seq, p)
				b.seq++
			}
			b.write, b.pos = start, start+wlen
			b.marks = append(b.marks, start)
		case 3: // a write record with arbitrary fields
			at := b.pos
			wlen := (b.next() % 6) * fuzzBS
			if b.next()%8 == 0 {
				wlen += b.next() * 8
			}
			count := b.next() % 8
			if !b.record(&b.salt, typeWrite, uint16(b.next()/250), fuzzGen, 0, writePayload(wlen, count, b.prevEnd(at))) {
				return
			}
			b.write = b.pos - recordSize(writePayloadSize)
		case 4: // a user record, its sequence number chosen
			typ := TypeUser + uint8(b.next()%3)
			if c := b.next(); c < 16 {
				typ = uint8(c)
			}
			seq := b.seq
			switch d := b.next(); {
			case d < 8:
				seq += uint64(d) - 4
			case d == 255:
				seq = 1<<64 - 1
			}
			if !b.record(&b.salt, typ, uint16(b.next()), fuzzGen, seq, b.payload()) {
				return
			}
			b.seq = seq + 1
		case 5: // a footer, consistent with what was emitted or not
			f := Footer{Records: b.sum.records, FirstSeq: b.sum.firstSeq, LastSeq: b.sum.lastSeq, DataEnd: int64(b.write), Chain: b.sum.chain}
			switch b.next() % 4 {
			case 1:
				f.Records++
			case 2:
				f.DataEnd = int64(b.next() * fuzzBS)
			case 3:
				f.Chain ^= 1
			}
			if !b.record(&b.salt, typeFooter, 0, fuzzGen, 0, f.encode()) {
				return
			}
		case 6: // raw bytes
			p := b.bytes(b.next() % 64)
			if !b.room(len(p)) {
				return
			}
			b.pos += copy(b.img[b.pos:], p)
		case 7: // a record of the previous generation
			if b.next()%2 == 0 {
				at := b.pos
				b.record(&b.stale, typeWrite, 0, fuzzGen-1, 0, writePayload(fuzzBS, 1, uint64(at)))
			} else {
				b.record(&b.stale, TypeUser, 0, fuzzGen-1, b.seq, b.payload())
			}
		case 8: // a torn block: zeros or garbage over an earlier block
			blk := 1 + b.next()%(len(b.img)/fuzzBS-1)
			fill := byte(0)
			if b.next()%2 == 1 {
				fill = byte(b.next())
			}
			for i := range fuzzBS {
				b.img[blk*fuzzBS+i] = fill
			}
			b.marks = append(b.marks, blk*fuzzBS+b.next()*8%fuzzBS)
		case 9: // move on
			if c := b.next(); c%2 == 0 {
				b.align(fuzzBS)
			} else {
				b.pos += (c % 32) * 8
			}
			b.marks = append(b.marks, b.pos)
		}
	}
}

// scanned is what a scan returned.
type scanned struct {
	recs    []Record
	tail    Tail
	err     error
	resumed int64
}

// scanWithin scans loc to the end in another goroutine and fails the test
// if the scan does not end in time: Next must terminate on any contents.
func scanWithin(t *testing.T, loc Location, expect Expect, d time.Duration) (*Scanner, scanned) {
	t.Helper()
	type result struct {
		s   *Scanner
		out scanned
	}
	done := make(chan result, 1)
	go func() {
		s, err := Scan(loc, expect)
		if err != nil {
			done <- result{nil, scanned{err: err}}
			return
		}
		var out scanned
		for calls := 0; ; calls++ {
			r, err := s.Next()
			if err != nil {
				if err != io.EOF {
					out.err = err
				}
				break
			}
			if calls > fuzzSegSize/RecordHeaderSize {
				out.err = errors.New("more records than fit the segment")
				break
			}
			r.Payload = bytes.Clone(r.Payload)
			out.recs = append(out.recs, r)
		}
		// Next keeps returning where it ended.
		if _, err := s.Next(); (out.err == nil) != (err == io.EOF) {
			out.err = errors.Join(out.err, fmt.Errorf("Next after the end returned %v", err))
		}
		out.tail, out.resumed = s.Tail(), s.resumed
		done <- result{s, out}
	}()
	select {
	case r := <-done:
		return r.s, r.out
	case <-time.After(d):
		t.Fatalf("scan did not terminate within %v", d)
		return nil, scanned{}
	}
}

// checkScanned checks what a scan of a conventional segment returned
// against the raw media: every record verifies independently, sequence
// numbers are consecutive from the header's, offsets grow, and the tail
// is consistent.
func checkScanned(t *testing.T, d *memdev.Device, loc Location, hdr Header, out scanned) {
	t.Helper()
	salt := docSalt(hdr.Drive, hdr.Index, hdr.Generation)
	bound := hdr.Capacity - int64(hdr.BlockSize)
	if loc.Sequential {
		bound = hdr.Capacity
	}
	media := d.Bytes()[loc.Start : loc.Start+loc.Capacity]
	var last int64
	for i, r := range out.recs {
		if r.Seq != hdr.FirstSeq+uint64(i) {
			t.Fatalf("record %d has sequence number %d, want %d", i, r.Seq, hdr.FirstSeq+uint64(i))
		}
		if r.Type < TypeUser {
			t.Fatalf("record %d of internal type %d returned", i, r.Type)
		}
		if r.Offset < int64(hdr.BlockSize) || r.Offset%RecordAlign != 0 || r.Offset <= last ||
			r.Offset+int64(RecordHeaderSize+len(r.Payload)) > bound {
			t.Fatalf("record %d at offset %d (previous at %d, bound %d)", i, r.Offset, last, bound)
		}
		last = r.Offset
		checkRecordBytes(t, media[r.Offset:r.Offset+int64(RecordHeaderSize+len(r.Payload))], salt, hdr.Generation, r)
	}
	if out.err != nil {
		if !errors.Is(out.err, ErrCorrupt) {
			t.Fatalf("scan error that is not ErrCorrupt: %v", out.err)
		}
		return
	}
	tl := out.tail
	if tl.NextSeq != hdr.FirstSeq+uint64(len(out.recs)) || tl.End%int64(hdr.BlockSize) != 0 || tl.End < int64(hdr.BlockSize) ||
		tl.End > bound || tl.ValidEnd > tl.End || tl.ValidEnd < last || (tl.Torn && tl.Sealed) || (!tl.Torn && !tl.Sealed && tl.ValidEnd != tl.End) {
		t.Fatalf("tail %+v after %d records (last at %d, bound %d)", tl, len(out.recs), last, bound)
	}
	if tl.Sealed {
		f := tl.Footer
		if f.Records != uint64(len(out.recs)) || (f.Records > 0 && (f.FirstSeq != hdr.FirstSeq || f.LastSeq != tl.NextSeq-1)) || f.DataEnd >= tl.End {
			t.Fatalf("footer %+v after %d records", f, len(out.recs))
		}
	}
}

func scanSeeds() [][]byte {
	return [][]byte{
		nil,
		{0},
		{0, 0, 3, 10, 20, 30}, // one write of three records
		{0, 0, 2, 10, 20, 0, 0, 1, 5, 5, 0, 2, 1, 0}, // two writes, then a footer write
		{0, 0, 4, 250, 250, 250, 250, 8, 2, 0},       // a write of large records, its second block torn
		{0, 0, 4, 250, 250, 250, 250, 8, 2, 0, 0, 2, 0, 1, 9},
		{0, 0, 1, 7, 7, 0, 0, 1, 8, 8, 8, 1, 0},  // the first write's block torn
		{3, 0, 0, 0, 0},                          // a write record of length 0
		{0, 0, 2, 1, 1, 7, 0, 7, 1, 9, 9, 9},     // leftovers of the previous generation
		{0, 0, 1, 9, 4, 16, 1, 1, 5, 0},          // a stray user record
		{0, 0, 3, 1, 1, 1, 5, 1, 6, 40, 1, 2, 3}, // footer with a wrong count, raw bytes
		bytes.Repeat([]byte{0, 0, 5, 251, 2, 3, 4, 5}, 12),
	}
}

func FuzzScan(f *testing.F) {
	for i, s := range scanSeeds() {
		f.Add(s, true, false)
		if i%2 == 0 {
			f.Add(s, true, true)
		}
	}
	hdr := testHeader(fuzzGen)
	hdr.BlockSize, hdr.Index = fuzzBS, fuzzIndex
	raw := make([]byte, fuzzSegSize)
	hdr.Capacity = fuzzSegSize
	hdr.encode(raw)
	// A real segment's bytes as raw input.
	{
		d := memdev.New("seed", fuzzStart+fuzzSegSize, fuzzBS)
		loc := Location{Dev: d, Index: fuzzIndex, Start: fuzzStart, Capacity: fuzzSegSize}
		w, err := Create(loc, testHeader(fuzzGen))
		if err != nil {
			f.Fatal(err)
		}
		appendN(f, w, 0, 20)
		w.Flush()
		appendN(f, w, 20, 3)
		w.Flush()
		img := d.Bytes()[fuzzStart+fuzzBS : fuzzStart+fuzzSegSize]
		f.Add(bytes.Clone(img[:3*fuzzBS]), false, false)
		f.Add(bytes.Clone(img[:3*fuzzBS]), false, true)
		torn := bytes.Clone(img[:3*fuzzBS])
		clear(torn[fuzzBS : 2*fuzzBS])
		f.Add(torn, false, false)
		f.Add(torn, false, true)
		flip := bytes.Clone(img[:3*fuzzBS])
		flip[100] ^= 4
		f.Add(flip, false, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, program, zoned bool) {
		// The segment's contents are assembled in img, then written to
		// a conventional segment in place, or to a sequential zone up
		// to where they end: the zone's write pointer.
		img := make([]byte, fuzzSegSize)
		copy(img, raw[:fuzzBS])
		used := fuzzBS + len(data)
		if program {
			b := &segBuilder{in: data, img: img, salt: MakeSalt(testDrive, fuzzIndex, fuzzGen),
				stale: MakeSalt(testDrive, fuzzIndex, fuzzGen-1), seq: hdr.FirstSeq}
			b.build()
			used = b.pos
		} else {
			copy(img[fuzzBS:], data)
		}
		var d *memdev.Device
		var loc Location
		if zoned {
			cfg := zonemu.Config{ZoneSize: fuzzSegSize, ZoneCapacity: fuzzSegSize, NrZones: 2, LogicalBlockSize: fuzzBS, Behavior: zonemu.BehaviorZNS}
			d = memdev.New("fuzz", 2*fuzzSegSize+zonemu.MetadataSize(cfg), fuzzBS)
			z, err := zonemu.Create(d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			loc = Location{Dev: z, Index: fuzzIndex, Start: fuzzSegSize, Capacity: fuzzSegSize, Sequential: true}
			wp := min(max(fuzzBS, (used+fuzzBS-1)/fuzzBS*fuzzBS), fuzzSegSize)
			buf := dev.AlignedBuffer(wp)
			copy(buf, img)
			if _, err := z.WriteAt(buf, loc.Start); err != nil {
				t.Fatal(err)
			}
		} else {
			d = memdev.New("fuzz", fuzzStart+fuzzSegSize+fuzzBS, fuzzBS)
			loc = Location{Dev: d, Index: fuzzIndex, Start: fuzzStart, Capacity: fuzzSegSize}
			copy(d.Bytes()[fuzzStart:], img)
		}
		expect := Expect{Node: testNode, Drive: testDrive, Kind: KindJournal, Generation: fuzzGen}
		s, out := scanWithin(t, loc, expect, 10*time.Second)
		if s == nil {
			t.Fatalf("scan of a valid header: %v", out.err)
		}
		checkScanned(t, d, loc, s.Header(), out)
		// ReadFooter never panics; what it returns is checked by the
		// unit tests.
		ReadFooter(loc, expect, -1)
		ReadFooter(loc, expect, out.tail.ValidEnd/fuzzBS*fuzzBS)

		// Recovery: after a scan that found the tail, a resumed writer's
		// records are read back after everything the scan returned. (A
		// scan that ended on a write the previous recovery appended,
		// itself not readable, is left out: only forged write records
		// or a write pointer inside a torn write produce it.)
		if out.err != nil || out.tail.Sealed || out.resumed >= 0 {
			return
		}
		w, err := Resume(loc, s)
		if errors.Is(err, ErrFull) && zoned {
			return // the contents filled the zone
		}
		if err != nil {
			t.Fatalf("resume after %+v: %v", out.tail, err)
		}
		n := len(out.recs)
		for i := range 2 {
			if _, err := w.Append(TypeUser, uint16(i), payload(n+i)); errors.Is(err, ErrFull) {
				return
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		_, again := scanWithin(t, loc, expect, 10*time.Second)
		if again.err != nil || len(again.recs) != n+2 || again.tail.NextSeq != out.tail.NextSeq+2 {
			t.Fatalf("after resuming at %+v: %d records (had %d, appended 2), tail %+v, %v", out.tail, len(again.recs), n, again.tail, again.err)
		}
		checkScanned(t, d, loc, s.Header(), again)
		for i, r := range again.recs {
			if i < n && (r.Offset != out.recs[i].Offset || !bytes.Equal(r.Payload, out.recs[i].Payload)) ||
				i >= n && !bytes.Equal(r.Payload, payload(i)) {
				t.Fatalf("record %d after resuming: %+v", i, r)
			}
		}
		if _, err := w.Seal(); err != nil {
			t.Fatal(err)
		}
		_, sealed := scanWithin(t, loc, expect, 10*time.Second)
		if sealed.err != nil || len(sealed.recs) != n+2 || !sealed.tail.Sealed {
			t.Fatalf("after sealing: %d records, tail %+v, %v", len(sealed.recs), sealed.tail, sealed.err)
		}
	})
}
