package objects

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/minio/highwayhash"

	"github.com/plinth-storage/plinth/pool"
)

// PutOptions are a PUT's optional parts.
type PutOptions struct {
	// Version is the client's version; 0: the node assigns one.
	Version uint64
	// Size is the size the client declared (Content-Length); -1 unknown.
	// A body that ends before it fails with ErrIncomplete; one that goes
	// past it with ErrInvalid.
	Size        int64
	ContentType string
	Metadata    map[string]string
}

// Put stores the body as bucket/key. It streams (memory is a stripe,
// whatever the size) and returns once the object is durable. A version not
// newer than the object's current one (or its tombstone's) fails with
// ErrSuperseded and changes nothing.
func (s *Store) Put(ctx context.Context, bucket, key string, body io.Reader, o PutOptions) (ObjectInfo, error) {
	if err := checkKey(key, s.opts.MaxKey); err != nil {
		return ObjectInfo{}, err
	}
	meta, err := checkMetadata(o.ContentType, o.Metadata, s.opts.MaxMetadata)
	if err != nil {
		return ObjectInfo{}, err
	}
	if o.Size > s.opts.MaxObjectSize {
		return ObjectInfo{}, fmt.Errorf("%w: object of %d bytes (at most %d)", ErrTooLarge, o.Size, s.opts.MaxObjectSize)
	}
	b, err := s.begin(bucket)
	if err != nil {
		return ObjectInfo{}, err
	}
	defer s.end(b)
	version, err := s.version(o.Version)
	if err != nil {
		return ObjectInfo{}, err
	}
	h, _ := highwayhash.New128(ETagKey) // the key is 32 bytes: no error
	src := &bodyReader{r: body, h: h, declared: o.Size, max: s.opts.MaxObjectSize}
	a := attrs{contentType: o.ContentType, meta: meta}
	pi, err := b.pool.PutWith(ctx, ownerOf(bucket, key), version, src, pool.PutOptions{Attrs: func(size int64) ([]byte, error) {
		if err := src.finish(); err != nil {
			return nil, err
		}
		copy(a.etag[:], h.Sum(nil))
		a.modified = s.opts.Now().UTC()
		return a.encode(), nil
	}})
	if err != nil {
		var se *sizeError
		if errors.As(err, &se) {
			return ObjectInfo{}, se.err
		}
		return ObjectInfo{}, fmt.Errorf("put %s/%s: %w", bucket, key, mapErr(err))
	}
	return info(bucket, key, pi.Version, pi.Size, pi.Attrs)
}

// bodyReader hashes the body as it streams and holds it to its declared
// size and the size limit.
type bodyReader struct {
	r        io.Reader
	h        hash.Hash
	n        int64
	declared int64 // -1: unknown
	max      int64
}

// sizeError is a body of the wrong size; err is what the client is told.
type sizeError struct{ err error }

func (e *sizeError) Error() string { return e.err.Error() }

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	switch {
	case b.n > b.max:
		return n, &sizeError{fmt.Errorf("%w: the body passed %d bytes (the object size limit)", ErrTooLarge, b.max)}
	case b.declared >= 0 && b.n > b.declared:
		return n, &sizeError{fmt.Errorf("%w: the body is longer than the declared %d bytes", ErrInvalid, b.declared)}
	case err == io.EOF && b.declared >= 0 && b.n < b.declared:
		return n, &sizeError{fmt.Errorf("%w: %d of %d bytes", ErrIncomplete, b.n, b.declared)}
	case err != nil && err != io.EOF:
		if errors.Is(err, io.ErrUnexpectedEOF) {
			// net/http's body cut off before its Content-Length.
			return n, &sizeError{fmt.Errorf("%w: the connection ended after %d bytes", ErrIncomplete, b.n)}
		}
		return n, fmt.Errorf("read the body after %d bytes: %w", b.n, err)
	}
	return n, err
}

// finish checks the body once it ended.
func (b *bodyReader) finish() error {
	if b.declared >= 0 && b.n != b.declared {
		return &sizeError{fmt.Errorf("%w: %d of %d bytes", ErrIncomplete, b.n, b.declared)}
	}
	return nil
}

// Delete deletes bucket/key at a version (0: the node assigns one),
// leaving a tombstone that beats any write of the same or an older
// version. Deleting a key that has no object still leaves the tombstone
// (a write of an older version may still arrive). It returns the version.
func (s *Store) Delete(ctx context.Context, bucket, key string, version uint64) (uint64, error) {
	if err := checkKey(key, s.opts.MaxKey); err != nil {
		return 0, err
	}
	b, err := s.begin(bucket)
	if err != nil {
		return 0, err
	}
	defer s.end(b)
	v, err := s.version(version)
	if err != nil {
		return 0, err
	}
	if err := b.pool.Delete(ctx, ownerOf(bucket, key), v); err != nil {
		return 0, fmt.Errorf("delete %s/%s: %w", bucket, key, mapErr(err))
	}
	return v, nil
}
