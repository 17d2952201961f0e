package objects_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/minio/highwayhash"

	"github.com/plinth-storage/plinth/appliance/objects"
)

func body(seed uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func etagOf(b []byte) string {
	h, _ := highwayhash.New128(objects.ETagKey)
	h.Write(b)
	return `"` + hex.EncodeToString(h.Sum(nil)) + `"`
}

func (r *rig) put(bucket, key string, b []byte, o objects.PutOptions) objects.ObjectInfo {
	r.t.Helper()
	if o.Size == 0 && len(b) > 0 {
		o.Size = -1
	}
	oi, err := r.obj.Put(ctx, bucket, key, bytes.NewReader(b), o)
	if err != nil {
		r.t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return oi
}

func (r *rig) get(bucket, key string, off, n int64) ([]byte, objects.ObjectInfo, error) {
	rd, err := r.obj.Open(ctx, bucket, key, off, n)
	if err != nil {
		return nil, objects.ObjectInfo{}, err
	}
	defer rd.Close()
	var buf bytes.Buffer
	_, err = io.Copy(&buf, rd)
	return buf.Bytes(), rd.Info, err
}

func (r *rig) mustGet(bucket, key string, want []byte) objects.ObjectInfo {
	r.t.Helper()
	got, oi, err := r.get(bucket, key, 0, -1)
	if err != nil || !bytes.Equal(got, want) {
		r.t.Fatalf("get %s/%s: %d bytes (want %d), equal %v, %v", bucket, key, len(got), len(want), bytes.Equal(got, want), err)
	}
	return oi
}

// TestBuckets: names are checked, a bucket exists once, only an empty one
// is deleted, and they survive a restart.
func TestBuckets(t *testing.T) {
	r := newRig(t, objects.Options{}, false)
	for _, bad := range []string{"", "ab", strings.Repeat("a", 64), "Upper", "a_b", "-ab", "ab-", "a..b", "192.168.1.1", "a/b"} {
		if _, err := r.obj.CreateBucket(ctx, bad); !errors.Is(err, objects.ErrInvalid) {
			t.Errorf("bucket %q: %v", bad, err)
		}
	}
	if _, err := r.obj.CreateBucket(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.obj.CreateBucket(ctx, "photos"); !errors.Is(err, objects.ErrBucketExists) {
		t.Fatalf("twice: %v", err)
	}
	if _, err := r.obj.CreateBucket(ctx, "logs.2026-11"); err != nil {
		t.Fatal(err)
	}
	r.put("photos", "cat.jpg", []byte("meow"), objects.PutOptions{})
	if err := r.obj.DeleteBucket(ctx, "photos"); !errors.Is(err, objects.ErrBucketNotEmpty) {
		t.Fatalf("delete a bucket with an object: %v", err)
	}
	if _, err := r.obj.Put(ctx, "nosuch", "k", bytes.NewReader(nil), objects.PutOptions{Size: -1}); !errors.Is(err, objects.ErrNoBucket) {
		t.Fatalf("put into a missing bucket: %v", err)
	}
	if err := r.obj.DeleteBucket(ctx, "nosuch"); !errors.Is(err, objects.ErrNoBucket) {
		t.Fatalf("delete a missing bucket: %v", err)
	}
	r.reopen()
	r.clock.Add(time.Second)
	if got := fmt.Sprint(r.obj.Buckets()); !strings.Contains(got, "logs.2026-11") || !strings.Contains(got, "photos") {
		t.Fatalf("buckets after reopen: %s", got)
	}
	if _, err := r.obj.Delete(ctx, "photos", "cat.jpg", 0); err != nil {
		t.Fatal(err)
	}
	if err := r.obj.DeleteBucket(ctx, "photos"); err != nil {
		t.Fatalf("delete the emptied bucket: %v", err)
	}
	if _, err := r.obj.Head("photos", "cat.jpg"); !errors.Is(err, objects.ErrNoBucket) {
		t.Fatalf("head in a deleted bucket: %v", err)
	}
	// A new bucket of the name starts clean: the old tombstone went.
	if _, err := r.obj.CreateBucket(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	r.put("photos", "cat.jpg", []byte("again"), objects.PutOptions{Version: 5})
	r.reopen()
	if n := len(r.obj.Buckets()); n != 2 {
		t.Fatalf("%d buckets after reopen", n)
	}
	r.mustGet("photos", "cat.jpg", []byte("again"))
}

// TestPutGet: objects of awkward sizes round-trip with their attributes,
// ranges read right, and a bad range is refused.
func TestPutGet(t *testing.T) {
	r := newRig(t, objects.Options{ReadChunk: 100 << 10, ReadAhead: 3}, false)
	if _, err := r.obj.CreateBucket(ctx, "b01"); err != nil {
		t.Fatal(err)
	}
	sizes := []int{0, 1, 4096, 256 << 10, 3<<20 + 7}
	meta := map[string]string{"Owner": "ops", "purpose": "test"}
	for i, n := range sizes {
		data := body(uint64(i), n)
		oi := r.put("b01", fmt.Sprintf("dir/obj-%d", n), data, objects.PutOptions{Size: int64(n), ContentType: "application/x-test", Metadata: meta})
		if oi.Size != int64(n) || oi.ETag != etagOf(data) || oi.Version == 0 {
			t.Fatalf("put %d: %+v", n, oi)
		}
		got := r.mustGet("b01", fmt.Sprintf("dir/obj-%d", n), data)
		if got.ETag != oi.ETag || got.ContentType != "application/x-test" || got.Metadata["owner"] != "ops" || got.Metadata["purpose"] != "test" || got.Version != oi.Version {
			t.Fatalf("attributes of %d: %+v", n, got)
		}
		rng := rand.New(rand.NewPCG(9, uint64(n)))
		for range 10 {
			if n == 0 {
				break
			}
			off := rng.Int64N(int64(n))
			l := rng.Int64N(int64(n)-off) + 1
			part, _, err := r.get("b01", fmt.Sprintf("dir/obj-%d", n), off, l)
			if err != nil || !bytes.Equal(part, data[off:off+l]) {
				t.Fatalf("range %d+%d of %d: %d bytes, %v", off, l, n, len(part), err)
			}
		}
		if _, _, err := r.get("b01", fmt.Sprintf("dir/obj-%d", n), int64(n)+1, 1); !errors.Is(err, objects.ErrInvalid) {
			t.Fatalf("range past the end of %d: %v", n, err)
		}
	}
	if _, _, err := r.get("b01", "missing", 0, -1); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	for _, bad := range []string{"", strings.Repeat("k", objects.MaxKey+1), "a\x00b", "\xff\xfe"} {
		if _, err := r.obj.Put(ctx, "b01", bad, bytes.NewReader(nil), objects.PutOptions{Size: 0}); !errors.Is(err, objects.ErrInvalid) && !errors.Is(err, objects.ErrTooLarge) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	big := map[string]string{"x": strings.Repeat("v", 3000)}
	if _, err := r.obj.Put(ctx, "b01", "k", bytes.NewReader(nil), objects.PutOptions{Metadata: big}); !errors.Is(err, objects.ErrTooLarge) {
		t.Fatalf("metadata too large: %v", err)
	}
}

// TestBadBodies: a body shorter or longer than declared, or past the size
// limit, stores nothing and leaves the old version.
func TestBadBodies(t *testing.T) {
	r := newRig(t, objects.Options{MaxObjectSize: 1 << 20}, false)
	if _, err := r.obj.CreateBucket(ctx, "b01"); err != nil {
		t.Fatal(err)
	}
	old := body(1, 5000)
	r.put("b01", "k", old, objects.PutOptions{Size: 5000})
	cases := []struct {
		size int64
		n    int
		want error
	}{
		{size: 10000, n: 5000, want: objects.ErrIncomplete},
		{size: 700000, n: 600000, want: objects.ErrIncomplete},
		{size: 100, n: 5000, want: objects.ErrInvalid},
		{size: -1, n: 2 << 20, want: objects.ErrTooLarge},
		{size: 2 << 20, n: 0, want: objects.ErrTooLarge},
	}
	for _, c := range cases {
		_, err := r.obj.Put(ctx, "b01", "k", bytes.NewReader(body(2, c.n)), objects.PutOptions{Size: c.size})
		if !errors.Is(err, c.want) {
			t.Fatalf("declared %d, sent %d: %v, want %v", c.size, c.n, err, c.want)
		}
		r.mustGet("b01", "k", old)
	}
	// A connection cut mid-body (net/http gives io.ErrUnexpectedEOF).
	cut := io.MultiReader(bytes.NewReader(body(3, 300000)), errReader{io.ErrUnexpectedEOF})
	if _, err := r.obj.Put(ctx, "b01", "k", cut, objects.PutOptions{Size: -1}); !errors.Is(err, objects.ErrIncomplete) {
		t.Fatalf("cut body: %v", err)
	}
	r.mustGet("b01", "k", old)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestVersions: DTM0 order: an older version never overwrites a newer one,
// a delete's tombstone beats a put of the same or an older version, and a
// replay changes nothing; node versions keep rising.
func TestVersions(t *testing.T) {
	r := newRig(t, objects.Options{}, false)
	if _, err := r.obj.CreateBucket(ctx, "b01"); err != nil {
		t.Fatal(err)
	}
	base := uint64(r.clock.Now().UnixMilli()) << 16
	v := func(i uint64) uint64 { return base + i }
	r.put("b01", "k", []byte("ten"), objects.PutOptions{Version: v(10)})
	for _, old := range []uint64{v(10), v(9)} {
		if _, err := r.obj.Put(ctx, "b01", "k", strings.NewReader("old"), objects.PutOptions{Version: old, Size: -1}); !errors.Is(err, objects.ErrSuperseded) {
			t.Fatalf("put %d over %d: %v", old, v(10), err)
		}
	}
	r.mustGet("b01", "k", []byte("ten"))
	if _, err := r.obj.Delete(ctx, "b01", "k", v(9)); !errors.Is(err, objects.ErrSuperseded) {
		t.Fatalf("older delete: %v", err)
	}
	if _, err := r.obj.Delete(ctx, "b01", "k", v(12)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.obj.Delete(ctx, "b01", "k", v(12)); !errors.Is(err, objects.ErrSuperseded) {
		t.Fatalf("replayed delete: %v", err)
	}
	for _, late := range []uint64{v(11), v(12)} {
		if _, err := r.obj.Put(ctx, "b01", "k", strings.NewReader("late"), objects.PutOptions{Version: late, Size: -1}); !errors.Is(err, objects.ErrSuperseded) {
			t.Fatalf("put %d after the delete at %d: %v", late, v(12), err)
		}
	}
	if _, err := r.obj.Head("b01", "k"); !errors.Is(err, objects.ErrNotFound) {
		t.Fatalf("head of a deleted object: %v", err)
	}
	// A delete of a key never written leaves a tombstone too.
	if _, err := r.obj.Delete(ctx, "b01", "never", v(20)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.obj.Put(ctx, "b01", "never", strings.NewReader("x"), objects.PutOptions{Version: v(19), Size: -1}); !errors.Is(err, objects.ErrSuperseded) {
		t.Fatalf("put under a tombstone of a key never written: %v", err)
	}
	// Node-assigned versions are above every version seen.
	oi := r.put("b01", "k", []byte("new"), objects.PutOptions{})
	if oi.Version <= v(20) {
		t.Fatalf("assigned version %d not above %d", oi.Version, v(20))
	}
	// A version far ahead of the clock is refused.
	if _, err := r.obj.Put(ctx, "b01", "k", strings.NewReader("x"), objects.PutOptions{Version: base + 1<<40, Size: -1}); !errors.Is(err, objects.ErrInvalid) {
		t.Fatalf("version from the future: %v", err)
	}
}

// TestTombstoneHorizon: tombstones go after the horizon, not before.
func TestTombstoneHorizon(t *testing.T) {
	r := newRig(t, objects.Options{}, false)
	if _, err := r.obj.CreateBucket(ctx, "b01"); err != nil {
		t.Fatal(err)
	}
	r.put("b01", "k", []byte("x"), objects.PutOptions{})
	dv, err := r.obj.Delete(ctx, "b01", "k", 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.obj.CollectTombstones(ctx, time.Hour, r.clock.Now().Add(59*time.Minute)); err != nil || n != 0 {
		t.Fatalf("before the horizon: %d, %v", n, err)
	}
	if _, err := r.obj.Put(ctx, "b01", "k", strings.NewReader("late"), objects.PutOptions{Version: dv - 1, Size: -1}); !errors.Is(err, objects.ErrSuperseded) {
		t.Fatalf("late put before the horizon: %v", err)
	}
	if n, err := r.obj.CollectTombstones(ctx, time.Hour, r.clock.Now().Add(61*time.Minute)); err != nil || n != 1 {
		t.Fatalf("after the horizon: %d, %v", n, err)
	}
}

// TestReaderSeesOneVersion: an object overwritten while it is read fails
// the read with ErrChanged instead of mixing versions.
func TestReaderSeesOneVersion(t *testing.T) {
	r := newRig(t, objects.Options{ReadChunk: 64 << 10, ReadAhead: 1}, false)
	if _, err := r.obj.CreateBucket(ctx, "b01"); err != nil {
		t.Fatal(err)
	}
	first := body(1, 1<<20)
	r.put("b01", "k", first, objects.PutOptions{})
	rd, err := r.obj.Open(ctx, "b01", "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(rd, head); err != nil || !bytes.Equal(head, first[:64<<10]) {
		t.Fatalf("first chunk: %v", err)
	}
	r.clock.Add(time.Millisecond)
	r.put("b01", "k", body(2, 1<<20), objects.PutOptions{})
	_, err = io.Copy(io.Discard, rd)
	if !errors.Is(err, objects.ErrChanged) {
		t.Fatalf("read across an overwrite: %v", err)
	}
}

// TestList: listings page through prefixes, delimiters, start-after and
// continuation tokens exactly as a model of sorted keys says.
func TestList(t *testing.T) {
	r := newRig(t, objects.Options{}, false)
	if _, err := r.obj.CreateBucket(ctx, "b01"); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 5))
	parts := []string{"a", "b", "photos", "2026", "x", "é", "a/b"}
	keys := map[string]bool{}
	for len(keys) < 120 {
		n := rng.IntN(3) + 1
		var ks []string
		for range n {
			ks = append(ks, parts[rng.IntN(len(parts))])
		}
		k := strings.Join(ks, "/") + fmt.Sprint(rng.IntN(4))
		if !keys[k] {
			keys[k] = true
			r.put("b01", k, []byte(k), objects.PutOptions{})
		}
	}
	deleted := 0
	for k := range keys {
		if deleted < 10 {
			if _, err := r.obj.Delete(ctx, "b01", k, 0); err != nil {
				t.Fatal(err)
			}
			delete(keys, k)
			deleted++
		}
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	slicesSort(sorted)
	for _, q := range []objects.ListOptions{
		{}, {Prefix: "a"}, {Prefix: "a/", Delimiter: "/"}, {Delimiter: "/"}, {Prefix: "photos/", Delimiter: "/", Limit: 2},
		{StartAfter: "b"}, {Prefix: "x", StartAfter: "x/a"}, {Limit: 7}, {Delimiter: "a", Limit: 3}, {Prefix: "zzz"},
	} {
		want := model(sorted, q)
		var got []string
		page := 0
		for {
			res, err := r.obj.List(ctx, "b01", q)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				if o.Size != int64(len(o.Key)) || o.ETag != etagOf([]byte(o.Key)) {
					t.Fatalf("listed %+v", o)
				}
				got = append(got, o.Key)
			}
			for _, p := range res.CommonPrefixes {
				got = append(got, p+"(prefix)")
			}
			if q.Limit > 0 && len(res.Objects)+len(res.CommonPrefixes) > q.Limit {
				t.Fatalf("%+v: page of %d", q, len(res.Objects)+len(res.CommonPrefixes))
			}
			if !res.Truncated {
				break
			}
			q.Token = res.NextToken
			if page++; page > 200 {
				t.Fatalf("%+v: no end", q)
			}
		}
		q.Token = ""
		slicesSort(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("list %+v:\n got %v\nwant %v", q, got, want)
		}
	}
	if _, err := r.obj.List(ctx, "b01", objects.ListOptions{Token: "!!"}); !errors.Is(err, objects.ErrInvalid) {
		t.Fatalf("bad token: %v", err)
	}
}

// model lists sorted keys the way S3 does.
func model(sorted []string, q objects.ListOptions) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range sorted {
		if !strings.HasPrefix(k, q.Prefix) || k <= q.StartAfter {
			continue
		}
		if q.Delimiter != "" {
			if i := strings.Index(k[len(q.Prefix):], q.Delimiter); i >= 0 {
				cp := k[:len(q.Prefix)+i+len(q.Delimiter)]
				if !seen[cp] && cp > q.StartAfter {
					seen[cp] = true
					out = append(out, cp+"(prefix)")
				}
				continue
			}
		}
		out = append(out, k)
	}
	slicesSort(out)
	return out
}

// TestPoolSelection: buckets spread over pools round-robin, or go to the
// pool with the most free space.
func TestPoolSelection(t *testing.T) {
	r := newRig(t, objects.Options{}, true)
	var got []string
	for i := range 4 {
		bi, err := r.obj.CreateBucket(ctx, fmt.Sprintf("rr%d", i))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bi.Pool)
	}
	if fmt.Sprint(got) != "[left right left right]" {
		t.Fatalf("round-robin: %v", got)
	}
	r.put("rr0", "fill", body(1, 8<<20), objects.PutOptions{})
	r.close()
	r.opts.Selection = objects.MostFree
	r.open()
	bi, err := r.obj.CreateBucket(ctx, "free")
	if err != nil || bi.Pool != "right" {
		t.Fatalf("most free: %+v, %v", bi, err)
	}
	r.mustGet("rr0", "fill", body(1, 8<<20))
	if _, err := objects.Open(ctx, r.st, objects.Options{Clock: nil, Pools: r.pools}); !errors.Is(err, objects.ErrInvalid) {
		t.Fatalf("no clock: %v", err)
	}
	if _, err := objects.Open(ctx, r.st, objects.Options{Clock: fakeClock{}, Pools: r.pools, Selection: "random"}); !errors.Is(err, objects.ErrInvalid) {
		t.Fatalf("bad selection: %v", err)
	}
}
