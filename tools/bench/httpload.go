package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// overHTTP sends the requests to the node's API, as a client on the same
// machine would: one keep-alive connection per concurrent client.
type overHTTP struct {
	client *http.Client
	base   string // URL of the bucket, ending in "/"
	auth   string
}

func newHTTP(baseURL, token, bucket string, conns int) *overHTTP {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      256 << 10,
	}
	return &overHTTP{
		client: &http.Client{Transport: tr},
		base:   baseURL + "/v1/buckets/" + url.PathEscape(bucket) + "/",
		auth:   "Bearer " + token,
	}
}

func (t *overHTTP) mode() string { return ModeHTTP }

func (t *overHTTP) close() { t.client.CloseIdleConnections() }

func (t *overHTTP) put(ctx context.Context, key string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, t.base+url.PathEscape(key), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", t.auth)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("PUT %s: %s: %s", key, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// get's time to first byte runs from sending the request until the first
// byte of the body arrives.
func (t *overHTTP) get(ctx context.Context, key string, size int64, buf, want []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+url.PathEscape(key), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", t.auth)
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("GET %s: %s: %s", key, resp.Status, bytes.TrimSpace(msg))
	}
	var n int
	for n == 0 && err == nil {
		n, err = resp.Body.Read(buf)
	}
	ttfb := time.Since(start)
	if err != nil && (err != io.EOF || n == 0) {
		return 0, fmt.Errorf("GET %s: %w", key, err)
	}
	if k := min(n, len(want)); !bytes.Equal(buf[:k], want[:k]) {
		return 0, fmt.Errorf("GET %s: wrong data in the first %d bytes", key, n)
	}
	m, err := io.CopyBuffer(io.Discard, resp.Body, buf)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", key, err)
	}
	if got := int64(n) + m; got != size {
		return 0, fmt.Errorf("GET %s: %d bytes, want %d", key, got, size)
	}
	return ttfb, nil
}
