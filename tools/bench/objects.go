package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/plinth-storage/plinth/appliance/objects"
)

// target is where a load sends its PUTs and GETs: the object store in this
// process, or the node's HTTP API.
type target interface {
	mode() string
	// put stores body as key and returns once the node acknowledged it.
	put(ctx context.Context, key string, body []byte) error
	// get reads key whole, checks that it has size bytes and that its
	// first bytes are want's, and returns the time to its first byte.
	get(ctx context.Context, key string, size int64, buf, want []byte) (time.Duration, error)
}

// inProcess calls the object store directly: the node's cost without
// HTTP's.
type inProcess struct {
	store  *objects.Store
	bucket string
}

func (t *inProcess) mode() string { return ModeInProcess }

func (t *inProcess) put(ctx context.Context, key string, body []byte) error {
	_, err := t.store.Put(ctx, t.bucket, key, bytes.NewReader(body), objects.PutOptions{Size: int64(len(body)), ContentType: "application/octet-stream"})
	return err
}

// get's time to first byte runs from the call to Open until the first
// Read returns data: the lookup, the first read-ahead chunk, its checks.
func (t *inProcess) get(ctx context.Context, key string, size int64, buf, want []byte) (time.Duration, error) {
	start := time.Now()
	r, err := t.store.Open(ctx, t.bucket, key, 0, -1)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n int
	for n == 0 && err == nil {
		n, err = r.Read(buf)
	}
	ttfb := time.Since(start)
	if err != nil && (err != io.EOF || n == 0) {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	if k := min(n, len(want)); !bytes.Equal(buf[:k], want[:k]) {
		return 0, fmt.Errorf("read %s: wrong data in the first %d bytes", key, n)
	}
	m, err := r.WriteTo(io.Discard)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	if got := int64(n) + m; got != size {
		return 0, fmt.Errorf("read %s: %d bytes, want %d", key, got, size)
	}
	return ttfb, nil
}
