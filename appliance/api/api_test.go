package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAuth: no token or a wrong one gets 401 and nothing else, on every
// endpoint, existing or not.
func TestAuth(t *testing.T) {
	r := newRig(t, Limits{})
	for _, path := range []string{"/v1/status", "/v1/buckets", "/v1/buckets/x/y", "/nothing", "/metrics"} {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + testToken, "Bearer " + testToken + "x", "bearer " + testToken} {
			req, _ := http.NewRequest(http.MethodGet, r.ts.URL+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "Unauthorized") || strings.Contains(string(b), "bucket") || resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s with %q: %d %s", path, auth, resp.StatusCode, b)
			}
		}
	}
	resp, body := r.do("GET", "/v1/status", nil)
	r.expect(resp, body, 200, `"ok": "yes"`)
	resp, body = r.do("GET", "/nothing", nil)
	r.expect(resp, body, 404, "NotFound")
	resp, body = r.do("PATCH", "/v1/buckets/abc", nil)
	r.expect(resp, body, 405, "allowed: DELETE, GET, HEAD, PUT")
	if _, err := New(Config{Objects: r.srv.cfg.Objects, KV: r.srv.cfg.KV, Token: "short"}); err == nil {
		t.Fatal("a short token was accepted")
	}
}

// TestObjects: the object API end to end, with awkward keys, metadata,
// ranges, conditions and versions.
func TestObjects(t *testing.T) {
	r := newRig(t, Limits{})
	resp, body := r.do("PUT", "/v1/buckets/photos", nil)
	r.expect(resp, body, 201, `"pool": "default"`)
	resp, body = r.do("PUT", "/v1/buckets/photos", nil)
	r.expect(resp, body, 409, "BucketAlreadyExists")
	resp, body = r.do("PUT", "/v1/buckets/Bad_Name", nil)
	r.expect(resp, body, 400, "InvalidArgument", "bucket name")
	resp, body = r.do("HEAD", "/v1/buckets/nosuch", nil)
	r.expect(resp, body, 404)
	resp, body = r.do("GET", "/v1/buckets", nil)
	r.expect(resp, body, 200, `"name": "photos"`)

	data := make([]byte, 700_001)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	keys := []string{"a/b/c.jpg", "a//b", "../up", "sp ace", "ünï/cødé", "100%", "q?x=1#frag"}
	for _, k := range keys {
		resp, body = r.do("PUT", "/v1/buckets/photos/"+url.PathEscape(k), bytes.NewReader(data), "Content-Type", "image/jpeg", "X-Plinth-Meta-Camera", "x100", "X-Amz-Meta-Place", "oslo")
		r.expect(resp, body, 200, `"size": 700001`)
		if resp.Header.Get("ETag") == "" || resp.Header.Get("X-Plinth-Version") == "" {
			t.Fatalf("put %q: headers %v", k, resp.Header)
		}
	}
	for _, k := range keys {
		resp, body = r.do("GET", "/v1/buckets/photos/"+url.PathEscape(k), nil)
		r.expect(resp, "", 200)
		if body != string(data) || resp.Header.Get("Content-Type") != "image/jpeg" || resp.Header.Get("X-Plinth-Meta-Camera") != "x100" || resp.Header.Get("X-Plinth-Meta-Place") != "oslo" {
			t.Fatalf("get %q: %d bytes, headers %v", k, len(body), resp.Header)
		}
	}
	path := "/v1/buckets/photos/a/b/c.jpg"
	resp, _ = r.do("HEAD", path, nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Length") != "700001" || etag == "" || resp.Header.Get("Last-Modified") == "" {
		t.Fatalf("head: %d %v", resp.StatusCode, resp.Header)
	}
	for _, c := range []struct {
		rng    string
		status int
		want   []byte
	}{
		{"bytes=0-9", 206, data[:10]},
		{"bytes=699990-", 206, data[699990:]},
		{"bytes=-5", 206, data[len(data)-5:]},
		{"bytes=10-2000000", 206, data[10:]},
		{"bytes=700001-", 416, nil},
		{"bytes=5-1", 416, nil},
		{"items=0-1", 416, nil},
		{"bytes=0-1,5-6", 200, data},
	} {
		resp, body = r.do("GET", path, nil, "Range", c.rng)
		if resp.StatusCode != c.status || c.want != nil && body != string(c.want) {
			t.Fatalf("range %s: %d, %d bytes", c.rng, resp.StatusCode, len(body))
		}
		if c.status == 206 && resp.Header.Get("Content-Range") == "" || c.status == 416 && resp.Header.Get("Content-Range") != "bytes */700001" {
			t.Fatalf("range %s: Content-Range %q", c.rng, resp.Header.Get("Content-Range"))
		}
	}
	resp, body = r.do("GET", path, nil, "If-None-Match", etag)
	r.expect(resp, body, 304)
	resp, body = r.do("GET", path, nil, "If-Match", `"nope"`)
	r.expect(resp, body, 412, "PreconditionFailed")
	resp, _ = r.do("GET", path, nil, "If-Match", etag)
	r.expect(resp, "", 200)

	// Versions.
	v := resp.Header.Get("X-Plinth-Version")
	resp, body = r.do("PUT", path, strings.NewReader("older"), "X-Plinth-Version", v)
	r.expect(resp, body, 409, "Superseded")
	resp, body = r.do("PUT", path, strings.NewReader("x"), "X-Plinth-Version", "abc")
	r.expect(resp, body, 400, "X-Plinth-Version")
	resp, body = r.do("DELETE", path, nil)
	r.expect(resp, body, 204)
	dv, _ := strconv.ParseUint(resp.Header.Get("X-Plinth-Version"), 10, 64)
	resp, body = r.do("PUT", path, strings.NewReader("late"), "X-Plinth-Version", fmt.Sprint(dv))
	r.expect(resp, body, 409, "Superseded")
	resp, body = r.do("GET", path, nil)
	r.expect(resp, body, 404, "NoSuchKey")
	resp, body = r.do("HEAD", path, nil)
	r.expect(resp, body, 404)

	// Empty objects, empty keys, oversize objects and keys.
	resp, body = r.do("PUT", "/v1/buckets/photos/empty", nil)
	r.expect(resp, body, 200, `"size": 0`)
	resp, body = r.do("GET", "/v1/buckets/photos/empty", nil)
	r.expect(resp, body, 200)
	if body != "" {
		t.Fatalf("empty object: %q", body)
	}
	resp, body = r.do("PUT", "/v1/buckets/photos/", strings.NewReader("x"))
	r.expect(resp, body, 400, "InvalidKey")
	resp, body = r.do("PUT", "/v1/buckets/photos/big", bytes.NewReader(make([]byte, 9<<20)))
	r.expect(resp, body, 413, "TooLarge")
	resp, body = r.do("PUT", "/v1/buckets/photos/"+strings.Repeat("k", 1000), strings.NewReader("x"))
	r.expect(resp, body, 413, "TooLarge")
	resp, body = r.do("PUT", "/v1/buckets/nosuch/k", strings.NewReader("x"))
	r.expect(resp, body, 404, "NoSuchBucket")

	// Listing, paged.
	var got []string
	token := ""
	for page := 0; ; page++ {
		resp, body = r.do("GET", "/v1/buckets/photos?limit=2&token="+url.QueryEscape(token), nil)
		r.expect(resp, body, 200)
		var res struct {
			Objects []struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
			} `json:"objects"`
			Truncated bool   `json:"truncated"`
			NextToken string `json:"next_token"`
		}
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			got = append(got, o.Key)
		}
		if !res.Truncated {
			break
		}
		token = res.NextToken
	}
	if want := "[../up 100% a//b empty q?x=1#frag sp ace ünï/cødé]"; fmt.Sprint(got) != want {
		t.Fatalf("listing %v, want %s", got, want)
	}
	resp, body = r.do("GET", "/v1/buckets/photos?delimiter=/", nil)
	r.expect(resp, body, 200, `"common_prefixes": [`, `"a/"`, `"ünï/"`)
	resp, body = r.do("GET", "/v1/buckets/photos?limit=0", nil)
	r.expect(resp, body, 400, "limit")

	resp, body = r.do("DELETE", "/v1/buckets/photos", nil)
	r.expect(resp, body, 409, "BucketNotEmpty")
}

// TestTruncatedBody: a client that sends less than its Content-Length
// and hangs up stores nothing; the old version stays.
func TestTruncatedBody(t *testing.T) {
	r := newRig(t, Limits{})
	resp, body := r.do("PUT", "/v1/buckets/bkt", nil)
	r.expect(resp, body, 201)
	resp, body = r.do("PUT", "/v1/buckets/bkt/k", strings.NewReader("original"))
	r.expect(resp, body, 200)
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /v1/buckets/bkt/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 1000000\r\n\r\n", testToken)
	conn.Write(make([]byte, 300000))
	conn.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, nil); err == nil {
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), "IncompleteBody") {
			t.Fatalf("truncated body: %d %s", resp.StatusCode, b)
		}
	}
	conn.Close()
	resp, body = r.do("GET", "/v1/buckets/bkt/k", nil)
	r.expect(resp, body, 200)
	if body != "original" {
		t.Fatalf("after a truncated put: %q", body)
	}
}

// TestKV: the key-value API: indexes, keys, versions, ranges and batches.
func TestKV(t *testing.T) {
	r := newRig(t, Limits{})
	resp, body := r.do("PUT", "/v1/kv/users", nil)
	r.expect(resp, body, 201)
	resp, body = r.do("PUT", "/v1/kv/users", nil)
	r.expect(resp, body, 409, "IndexAlreadyExists")
	for i := range 5 {
		resp, body = r.do("PUT", fmt.Sprintf("/v1/kv/users/u%d", i), strings.NewReader(fmt.Sprintf("name %d", i)))
		r.expect(resp, body, 204)
	}
	resp, body = r.do("GET", "/v1/kv/users/u3", nil)
	r.expect(resp, body, 200)
	if body != "name 3" || resp.Header.Get("X-Plinth-Version") == "" {
		t.Fatalf("get: %q %v", body, resp.Header)
	}
	v := resp.Header.Get("X-Plinth-Version")
	resp, body = r.do("PUT", "/v1/kv/users/u3", strings.NewReader("old"), "X-Plinth-Version", v)
	r.expect(resp, body, 409, "Superseded")
	resp, body = r.do("DELETE", "/v1/kv/users/u3", nil)
	r.expect(resp, body, 204)
	resp, body = r.do("GET", "/v1/kv/users/u3", nil)
	r.expect(resp, body, 404, "deleted at version")
	resp, body = r.do("GET", "/v1/kv/users?prefix=u&limit=2", nil)
	r.expect(resp, body, 200, `"key": "u0"`, `"key": "u1"`, `"next": "u2"`, `"complete": false`)
	resp, body = r.do("GET", "/v1/kv/users?from=u2", nil)
	r.expect(resp, body, 200, `"key": "u2"`, `"key": "u4"`, `"complete": true`)
	if strings.Contains(body, `"u3"`) {
		t.Fatalf("a tombstone in a range: %s", body)
	}
	batch := `{"ops": [{"op": "put", "key": "a", "value": "1"}, {"op": "put", "key_base64": "/w==", "value_base64": "/wA="},
		{"op": "delete", "key": "u4"}, {"op": "put", "key": "u0", "value": "x", "version": 1}]}`
	resp, body = r.do("POST", "/v1/kv/users", strings.NewReader(batch))
	r.expect(resp, body, 200, `"superseded": true`)
	resp, body = r.do("GET", "/v1/kv/users", nil)
	r.expect(resp, body, 200, `"key": "a"`, `"key_base64": "/w=="`, `"value_base64": "/wA="`)
	for _, bad := range []string{`{"ops": [{"op": "frob", "key": "a"}]}`, `{"ops": [{"op": "put"}]}`, `not json`, `{"ops": [], "extra": 1}`} {
		resp, body = r.do("POST", "/v1/kv/users", strings.NewReader(bad))
		if resp.StatusCode != 400 {
			t.Fatalf("batch %s: %d %s", bad, resp.StatusCode, body)
		}
	}
	resp, body = r.do("PUT", "/v1/kv/users/big", bytes.NewReader(make([]byte, 5000)))
	r.expect(resp, body, 413, "TooLarge")
	resp, body = r.do("GET", "/v1/kv", nil)
	r.expect(resp, body, 200, `"name": "users"`)
	resp, body = r.do("DELETE", "/v1/kv/users", nil)
	r.expect(resp, body, 204)
	resp, body = r.do("GET", "/v1/kv/users/a", nil)
	r.expect(resp, body, 404, "NoSuchIndex")
}

// TestBackPressure: past the running and waiting limits a request gets
// 503 with Retry-After instead of a place in an unbounded queue.
func TestBackPressure(t *testing.T) {
	r := newRig(t, Limits{MaxConcurrent: 1, MaxQueue: 1, QueueWait: 200 * time.Millisecond})
	resp, body := r.do("PUT", "/v1/buckets/bkt", nil)
	r.expect(resp, body, 201)
	// A slow upload holds the one slot.
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, body := r.do("PUT", "/v1/buckets/bkt/slow", pr)
		if resp.StatusCode != 200 {
			t.Errorf("slow upload: %d %s", resp.StatusCode, body)
		}
	}()
	pw.Write([]byte("started"))
	deadline := time.Now().Add(5 * time.Second)
	for len(r.srv.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	resp, body = r.do("GET", "/v1/buckets", nil)
	r.expect(resp, body, 503, "SlowDown")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// Status is not held back by the slots.
	resp, body = r.do("GET", "/v1/status", nil)
	r.expect(resp, body, 200)
	pw.Close()
	wg.Wait()
	resp, body = r.do("GET", "/v1/buckets/bkt/slow", nil)
	r.expect(resp, body, 200)
	if body != "started" {
		t.Fatalf("slow upload stored %q", body)
	}
}
