package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Info is what the index says of an owner.
type Info struct {
	Version uint64
	Size    int64
	// Attrs are the attributes the write gave (PutOptions.Attrs); nil
	// when it gave none. They must not be modified.
	Attrs []byte
}

// PutOptions are a write's optional parts.
type PutOptions struct {
	// Attrs, when set, is called once the source is read to its end,
	// with the number of bytes it gave; what it returns (up to MaxAttrs
	// bytes) is committed in the owner's head with the bytes, atomically.
	// An error abandons the write. It is how a caller stores what it
	// learns only at the end of a stream (a checksum, an ETag).
	Attrs func(size int64) ([]byte, error)
}

// chunkPool recycles the buffers writes read their source into.
var chunkPool sync.Pool

func (p *Pool) chunk() []byte {
	if b, ok := chunkPool.Get().(*[]byte); ok && int64(cap(*b)) >= p.sb {
		return (*b)[:p.sb]
	}
	return make([]byte, p.sb)
}

func putChunk(b []byte) { chunkPool.Put(&b) }

// Put stores the bytes read from r as owner's content at version, replacing
// what the owner had. It streams: memory is one stripe's worth whatever the
// size. It returns once the bytes and the index are durable. A version not
// newer than the owner's current one (or its tombstone's) fails with
// ErrSuperseded and changes nothing; so does a version of 0.
func (p *Pool) Put(ctx context.Context, owner []byte, version uint64, r io.Reader) (Info, error) {
	return p.PutWith(ctx, owner, version, r, PutOptions{})
}

// PutWith is Put with options.
func (p *Pool) PutWith(ctx context.Context, owner []byte, version uint64, r io.Reader, o PutOptions) (Info, error) {
	if err := checkOwner(owner); err != nil {
		return Info{}, err
	}
	if version == 0 {
		return Info{}, fmt.Errorf("%w: version 0 (versions start at 1)", ErrInvalid)
	}
	if p.isClosed() {
		return Info{}, ErrClosed
	}
	if err := p.writeAllowed(); err != nil {
		return Info{}, err
	}
	if err := p.newer(owner, version, false); err != nil {
		return Info{}, err
	}
	w, err := p.writeRecords(ctx, int(p.nextSlot.Add(1)), owner, version, r, o)
	if err != nil {
		return Info{}, err
	}
	res, err := p.submit(ctx, op{kind: opPut, owner: owner, version: version, size: w.size, exts: w.exts, attrs: w.attrs})
	w.decided()
	if err != nil {
		return Info{}, fmt.Errorf("write %q: %w", owner, err)
	}
	if res[0] != nil {
		return Info{}, res[0]
	}
	p.stats.puts.Add(1)
	return Info{Version: version, Size: w.size, Attrs: w.attrs}, nil
}

// written is what writeRecords appended: the data records (exts) and the
// attrs records of one write, its size and attributes. Every record is
// pending in its stream until the commit that references it is decided.
type written struct {
	exts, attrExts []appended
	size           int64
	attrs          []byte
}

// decided is called once the commit of w's records is decided: its attrs
// records, which nothing references, stop counting as pending then, as
// the data records do when the committer is done with them.
func (w written) decided() {
	for _, a := range w.attrExts {
		a.s.pending.Add(-1)
	}
}

// writeRecords appends one write's records to the log, to the stream of
// the writers' slot: its data, and its attrs record just before the last
// data record. On an error nothing it
// appended stays pending.
func (p *Pool) writeRecords(ctx context.Context, slot int, owner []byte, version uint64, r io.Reader, o PutOptions) (written, error) {
	cur, next := p.chunk(), p.chunk()
	defer putChunk(cur)
	defer putChunk(next)
	r = sourceReader{r}
	var exts, attrExts []appended
	var size int64
	var attrs []byte
	abandon := func() {
		for _, a := range exts {
			a.s.pending.Add(-1)
		}
		for _, a := range attrExts {
			a.s.pending.Add(-1)
		}
	}
	readErr := func(n int, err error) error {
		return fmt.Errorf("write %q: read the source after %d bytes: %w", owner, size+int64(n), err)
	}
	n, rerr := io.ReadFull(r, cur)
	for first := true; ; first = false {
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			abandon()
			return written{}, readErr(n, rerr)
		}
		if err := ctx.Err(); err != nil {
			abandon()
			return written{}, err
		}
		// A full chunk is the last only if the source has nothing more:
		// read ahead one chunk to know.
		last := rerr != nil
		var nn int
		var nerr error
		if !last {
			nn, nerr = io.ReadFull(r, next)
			if nerr != nil && nerr != io.EOF && nerr != io.ErrUnexpectedEOF {
				abandon()
				return written{}, readErr(n+nn, nerr)
			}
			last = nn == 0 && nerr != nil
		}
		if last {
			// The source is read to its end: the write's size and
			// attributes are known. Their record goes to the log before
			// the last data record, so that the commit, which flushes
			// the streams of the write's data records (and every retired
			// one), makes it durable too.
			var err error
			if attrs, err = p.endAttrs(owner, size+int64(n), o); err != nil {
				abandon()
				return written{}, err
			}
			attrExts, err = p.appendAssisted(ctx, slot, kindAttrs, owner, version, 0, encodeAttrsPayload(size+int64(n), attrs), nil)
			if err != nil {
				abandon()
				return written{}, fmt.Errorf("write %q: attributes: %w", owner, err)
			}
		}
		if n > 0 || first {
			var err error
			exts, err = p.appendAssisted(ctx, slot, kindData, owner, version, size, cur[:n], exts)
			if err != nil {
				abandon()
				return written{}, fmt.Errorf("write %q: %w", owner, err)
			}
			size += int64(n)
			p.stats.bytesWritten.Add(int64(n))
		}
		if last {
			break
		}
		cur, next = next, cur
		n, rerr = nn, nerr
	}
	return written{exts: exts, attrExts: attrExts, size: size, attrs: attrs}, nil
}

// sourceReader keeps a source's own errors apart from io.ReadFull's end
// markers: a source that fails with io.ErrUnexpectedEOF (a truncated HTTP
// body does) must abandon the write, not end the content early.
type sourceReader struct{ r io.Reader }

// sourceError is a source's error other than io.EOF.
type sourceError struct{ err error }

func (e sourceError) Error() string { return e.err.Error() }
func (e sourceError) Unwrap() error { return e.err }

func (s sourceReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if err != nil && err != io.EOF {
		err = sourceError{err}
	}
	return n, err
}

// Delete deletes owner's content as of version: it writes a tombstone
// record and makes the owner's index entry a tombstone, which beats any
// write of the same or an older version. Deleting an owner that has no
// content still leaves the tombstone (a write of an older version may
// arrive later). A delete whose version is older than the owner's current
// one fails with ErrSuperseded. Deletes are allowed in write-protect mode:
// they are how space comes back.
func (p *Pool) Delete(ctx context.Context, owner []byte, version uint64) error {
	if err := checkOwner(owner); err != nil {
		return err
	}
	if version == 0 {
		return fmt.Errorf("%w: version 0 (versions start at 1)", ErrInvalid)
	}
	if p.isClosed() {
		return ErrClosed
	}
	if err := p.newer(owner, version, true); err != nil {
		return err
	}
	exts, err := p.appendRecords(ctx, false, int(p.nextSlot.Add(1)), kindTombstone, owner, version, 0, nil, nil)
	if errors.Is(err, ErrNoSpace) {
		// A full pool must still take deletes, which are how it empties:
		// the tombstone is committed pending, its record written once a
		// set has room.
		exts, err = nil, nil
	}
	if err != nil {
		for _, a := range exts {
			a.s.pending.Add(-1)
		}
		return fmt.Errorf("delete %q: %w", owner, err)
	}
	res, err := p.submit(ctx, op{kind: opDelete, owner: owner, version: version, exts: exts})
	if err != nil {
		return fmt.Errorf("delete %q: %w", owner, err)
	}
	if res[0] == nil {
		p.stats.deletes.Add(1)
	}
	return res[0]
}

// appendAssisted appends a write's records; when the pool is out of space
// but cleaning can give some back, it cleans a set itself and goes on, so
// that a full pool with dead bytes slows writes down instead of failing
// them.
func (p *Pool) appendAssisted(ctx context.Context, slot int, kind byte, owner []byte, version uint64, off int64, payload []byte, exts []appended) ([]appended, error) {
	for attempt := 0; ; attempt++ {
		before := len(exts)
		var err error
		exts, err = p.appendRecords(ctx, false, slot, kind, owner, version, off, payload, exts)
		for _, a := range exts[before:] {
			off += a.ext.payload
			payload = payload[a.ext.payload:]
		}
		if !errors.Is(err, ErrNoSpace) || attempt >= maxAssist || p.al.FSStat().ReclaimableBytes == 0 {
			return exts, err
		}
		if n, cerr := p.Clean(ctx, 1); cerr != nil || n == 0 {
			return exts, err
		}
		if len(payload) == 0 && len(exts) > before {
			return exts, nil
		}
	}
}

// endAttrs calls the write's Attrs, if any, with its size and checks
// what it returns.
func (p *Pool) endAttrs(owner []byte, size int64, o PutOptions) ([]byte, error) {
	if o.Attrs == nil {
		return nil, nil
	}
	attrs, err := o.Attrs(size)
	if err != nil {
		return nil, fmt.Errorf("write %q: %w", owner, err)
	}
	if len(attrs) > MaxAttrs {
		return nil, fmt.Errorf("%w: write %q: %d bytes of attributes (at most %d)", ErrInvalid, owner, len(attrs), MaxAttrs)
	}
	if len(attrs) == 0 {
		attrs = nil
	}
	return attrs, nil
}

// maxAssist bounds the sets one write cleans itself before it gives up
// with ErrNoSpace.
const maxAssist = 32

// newer fails with ErrSuperseded when the owner's committed version
// already wins over version (checked again at commit; this saves writing
// records that cannot win).
func (p *Pool) newer(owner []byte, version uint64, del bool) error {
	v, ok, err := p.st.Get(p.heads, owner)
	if err != nil || !ok {
		return err
	}
	h, err := decodeHead(v)
	if err != nil {
		return fmt.Errorf("head of %q: %w", owner, err)
	}
	switch {
	case !del && h.version >= version:
		return fmt.Errorf("write %q version %d: %w (%d)", owner, version, ErrSuperseded, h.version)
	case del && (h.version > version || h.state == stateTombstone && h.version == version):
		return fmt.Errorf("delete %q version %d: %w (%d)", owner, version, ErrSuperseded, h.version)
	}
	return nil
}

// Stat returns what the index says of owner: ErrNotFound when it has no
// content (never written, or deleted).
func (p *Pool) Stat(owner []byte) (Info, error) {
	if err := checkOwner(owner); err != nil {
		return Info{}, err
	}
	v, ok, err := p.st.Get(p.heads, owner)
	if err != nil {
		return Info{}, fmt.Errorf("stat %q: %w", owner, err)
	}
	if !ok {
		return Info{}, fmt.Errorf("%q: %w", owner, ErrNotFound)
	}
	h, err := decodeHead(v)
	if err != nil {
		return Info{}, fmt.Errorf("head of %q: %w", owner, err)
	}
	if h.state != stateData {
		return Info{Version: h.version}, fmt.Errorf("%q: %w (deleted at version %d)", owner, ErrNotFound, h.version)
	}
	return Info{Version: h.version, Size: h.size, Attrs: bytes.Clone(h.attrs)}, nil
}
