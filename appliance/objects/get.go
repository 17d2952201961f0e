package objects

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/plinth-storage/plinth/pool"
)

// Head returns what the index says of bucket/key.
func (s *Store) Head(bucket, key string) (ObjectInfo, error) {
	oi, _, err := s.head(bucket, key)
	return oi, err
}

// head returns what the index says of bucket/key, and its bucket's pool.
func (s *Store) head(bucket, key string) (ObjectInfo, *pool.Pool, error) {
	if err := checkKey(key, s.opts.MaxKey); err != nil {
		return ObjectInfo{}, nil, err
	}
	p, err := s.lookup(bucket)
	if err != nil {
		return ObjectInfo{}, nil, err
	}
	pi, err := p.Stat(ownerOf(bucket, key))
	if err != nil {
		return ObjectInfo{}, nil, fmt.Errorf("%s/%s: %w", bucket, key, mapErr(err))
	}
	oi, err := info(bucket, key, pi.Version, pi.Size, pi.Attrs)
	return oi, p, err
}

// Reader streams part of one version of an object, reading ahead. Every
// byte is verified by the pool (and rebuilt from parity when a drive
// fails it); if the object is overwritten or deleted while it is read, the
// read fails with ErrChanged rather than mix two versions.
type Reader struct {
	Info   ObjectInfo
	Offset int64 // where the range starts
	Length int64 // the range's length

	ctx    context.Context
	cancel context.CancelFunc
	s      *Store
	read   func(ctx context.Context, buf []byte, off int64) (int, uint64, error)
	next   int64 // offset of the next chunk to start
	queue  []*chunk
	cur    *chunk
	done   int64 // bytes returned
}

// chunk is one read under way.
type chunk struct {
	off  int64
	buf  []byte
	n    int
	err  error
	done chan struct{}
}

var chunkBufs sync.Pool

// Open returns a reader of length bytes from off of bucket/key (length -1:
// to the end). A range past the end is ErrInvalid (HTTP 416). Close it.
func (s *Store) Open(ctx context.Context, bucket, key string, off, length int64) (*Reader, error) {
	oi, p, err := s.head(bucket, key)
	if err != nil {
		return nil, err
	}
	if off < 0 || off > oi.Size || off == oi.Size && oi.Size > 0 {
		return nil, fmt.Errorf("%w: range from %d of an object of %d bytes", ErrInvalid, off, oi.Size)
	}
	if length < 0 || off+length > oi.Size {
		length = oi.Size - off
	}
	owner := ownerOf(bucket, key)
	rctx, cancel := context.WithCancel(ctx)
	r := &Reader{Info: oi, Offset: off, Length: length, ctx: rctx, cancel: cancel, s: s, next: off}
	r.read = func(ctx context.Context, buf []byte, at int64) (int, uint64, error) {
		n, pi, err := p.ReadAt(ctx, owner, buf, at)
		return n, pi.Version, err
	}
	r.fill()
	return r, nil
}

// fill starts reads until ReadAhead chunks are under way.
func (r *Reader) fill() {
	end := r.Offset + r.Length
	for len(r.queue) < r.s.opts.ReadAhead && r.next < end {
		n := min(int64(r.s.opts.ReadChunk), end-r.next)
		c := &chunk{off: r.next, done: make(chan struct{})}
		if b, ok := chunkBufs.Get().(*[]byte); ok && cap(*b) >= int(n) {
			c.buf = (*b)[:n]
		} else {
			c.buf = make([]byte, n, r.s.opts.ReadChunk)
		}
		r.next += n
		r.queue = append(r.queue, c)
		go func() {
			defer close(c.done)
			n, v, err := r.read(r.ctx, c.buf, c.off)
			switch {
			case err != nil && !(errors.Is(err, io.EOF) && n == len(c.buf)):
				c.err = mapErr(err)
				if errors.Is(c.err, ErrNotFound) {
					c.err = fmt.Errorf("%w: %s/%s was deleted", ErrChanged, r.Info.Bucket, r.Info.Key)
				}
			case v != r.Info.Version:
				c.err = fmt.Errorf("%w: %s/%s is now version %d, was %d", ErrChanged, r.Info.Bucket, r.Info.Key, v, r.Info.Version)
			case n != len(c.buf):
				c.err = fmt.Errorf("%w: %s/%s ended at %d", ErrChanged, r.Info.Bucket, r.Info.Key, c.off+int64(n))
			}
			c.n = n
		}()
	}
}

// current waits for the chunk the next byte is in.
func (r *Reader) current() error {
	if r.cur != nil {
		return nil
	}
	if len(r.queue) == 0 {
		r.fill()
	}
	c := r.queue[0]
	select {
	case <-c.done:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	r.queue = r.queue[1:]
	if c.err != nil {
		r.release(c)
		return fmt.Errorf("read %s/%s at %d: %w", r.Info.Bucket, r.Info.Key, c.off, c.err)
	}
	r.cur = c
	r.fill()
	return nil
}

// consumed records n bytes of the current chunk as returned.
func (r *Reader) consumed(n int) {
	r.done += int64(n)
	if r.Offset+r.done == r.cur.off+int64(r.cur.n) {
		r.release(r.cur)
		r.cur = nil
	}
}

// Read reads the next bytes of the range.
func (r *Reader) Read(p []byte) (int, error) {
	if r.done == r.Length {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := r.current(); err != nil {
		return 0, err
	}
	n := copy(p, r.cur.buf[r.Offset+r.done-r.cur.off:r.cur.n])
	r.consumed(n)
	return n, nil
}

// WriteTo writes the rest of the range to w, chunk by chunk, without the
// copy io.Copy's buffer would cost.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.done < r.Length {
		if err := r.current(); err != nil {
			return total, err
		}
		n, err := w.Write(r.cur.buf[r.Offset+r.done-r.cur.off : r.cur.n])
		total += int64(n)
		r.consumed(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (r *Reader) release(c *chunk) {
	b := c.buf[:0]
	chunkBufs.Put(&b)
}

// Close stops the reads under way.
func (r *Reader) Close() error {
	r.cancel()
	for _, c := range r.queue {
		<-c.done
		r.release(c)
	}
	r.queue = nil
	if r.cur != nil {
		r.release(r.cur)
		r.cur = nil
	}
	return nil
}
