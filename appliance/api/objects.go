package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/plinth-storage/plinth/appliance/objects"
)

// version reads the client's X-Plinth-Version (0 when absent).
func version(r *http.Request) (uint64, error) {
	h := r.Header.Get("X-Plinth-Version")
	if h == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(h, 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%w: X-Plinth-Version %q is not a positive decimal integer", objects.ErrInvalid, h)
	}
	return v, nil
}

func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request, _ routed) {
	writeJSON(w, http.StatusOK, map[string]any{"buckets": s.cfg.Objects.Buckets()})
}

func (s *Server) createBucket(w http.ResponseWriter, r *http.Request, rt routed) {
	bi, err := s.cfg.Objects.CreateBucket(r.Context(), rt.bucket)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, bi)
}

func (s *Server) headBucket(w http.ResponseWriter, r *http.Request, rt routed) {
	if _, err := s.cfg.Objects.Bucket(rt.bucket); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) deleteBucket(w http.ResponseWriter, r *http.Request, rt routed) {
	if err := s.cfg.Objects.DeleteBucket(r.Context(), rt.bucket); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, rt routed) {
	q := r.URL.Query()
	o := objects.ListOptions{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), StartAfter: q.Get("start-after"), Token: q.Get("token")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > objects.MaxListLimit {
			writeError(w, r, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("limit %q: want 1 to %d", l, objects.MaxListLimit))
			return
		}
		o.Limit = n
	}
	res, err := s.cfg.Objects.List(r.Context(), rt.bucket, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Objects == nil {
		res.Objects = []objects.ObjectInfo{}
	}
	writeJSON(w, http.StatusOK, res)
}

// metaHeaders are the prefixes user metadata comes in.
var metaHeaders = []string{"X-Plinth-Meta-", "X-Amz-Meta-"}

func (s *Server) putObject(w http.ResponseWriter, r *http.Request, rt routed) {
	v, err := version(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	meta := map[string]string{}
	for name, vals := range r.Header {
		for _, p := range metaHeaders {
			if n, ok := strings.CutPrefix(name, p); ok && n != "" {
				meta[strings.ToLower(n)] = strings.Join(vals, ",")
			}
		}
	}
	oi, err := s.cfg.Objects.Put(r.Context(), rt.bucket, rt.key, r.Body, objects.PutOptions{
		Version: v, Size: r.ContentLength, ContentType: r.Header.Get("Content-Type"), Metadata: meta,
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setObjectHeaders(w, oi)
	w.Header().Del("Content-Type")
	writeJSON(w, http.StatusOK, oi)
}

// setObjectHeaders sets the headers that describe an object.
func setObjectHeaders(w http.ResponseWriter, oi objects.ObjectInfo) {
	h := w.Header()
	h.Set("ETag", oi.ETag)
	h.Set("X-Plinth-Version", strconv.FormatUint(oi.Version, 10))
	if !oi.Modified.IsZero() {
		h.Set("Last-Modified", oi.Modified.UTC().Format(http.TimeFormat))
	}
	ct := oi.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	for k, v := range oi.Metadata {
		h.Set("X-Plinth-Meta-"+k, v)
	}
	h.Set("Accept-Ranges", "bytes")
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request, rt routed) {
	oi, err := s.cfg.Objects.Head(rt.bucket, rt.key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if im := r.Header.Get("If-Match"); im != "" && !etagMatches(im, oi.ETag) {
		writeError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", fmt.Sprintf("If-Match %s: the object's ETag is %s", im, oi.ETag))
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, oi.ETag) {
		setObjectHeaders(w, oi)
		w.Header().Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	off, n, partial, err := parseRange(r.Header.Get("Range"), oi.Size)
	if err != nil {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", oi.Size))
		writeError(w, r, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", err.Error())
		return
	}
	if r.Method == http.MethodHead {
		setObjectHeaders(w, oi)
		w.Header().Set("Content-Length", strconv.FormatInt(oi.Size, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	rd, err := s.cfg.Objects.Open(r.Context(), rt.bucket, rt.key, off, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rd.Close()
	oi = rd.Info // the version being read
	setObjectHeaders(w, oi)
	w.Header().Set("Content-Length", strconv.FormatInt(rd.Length, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+rd.Length-1, oi.Size))
	}
	w.WriteHeader(status)
	if _, err := rd.WriteTo(w); err != nil {
		// The headers are gone: the only honest thing left is to cut the
		// connection, so the client sees a short body, never wrong data.
		if !errors.Is(err, r.Context().Err()) {
			s.cfg.Log.Warn("object read failed mid-response; connection cut", "bucket", rt.bucket, "key", rt.key,
				"request_id", w.Header().Get("X-Request-Id"), "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, rt routed) {
	v, err := version(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	applied, err := s.cfg.Objects.Delete(r.Context(), rt.bucket, rt.key, v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("X-Plinth-Version", strconv.FormatUint(applied, 10))
	w.WriteHeader(http.StatusNoContent)
}

// etagMatches reports whether an If-Match/If-None-Match list names etag.
func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// parseRange parses one "bytes=" range of an object of size bytes. A
// missing header or several ranges mean the whole object.
func parseRange(h string, size int64) (off, n int64, partial bool, err error) {
	if h == "" {
		return 0, -1, false, nil
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0, 0, false, fmt.Errorf("range %q: only bytes ranges are served", h)
	}
	if strings.Contains(spec, ",") {
		return 0, -1, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, false, fmt.Errorf("range %q: want bytes=FIRST-LAST, FIRST- or -SUFFIX", h)
	}
	if first == "" {
		k, err := strconv.ParseInt(last, 10, 64)
		if err != nil || k <= 0 {
			return 0, 0, false, fmt.Errorf("range %q: bad suffix length", h)
		}
		if size == 0 {
			return 0, 0, false, fmt.Errorf("range %q of an empty object", h)
		}
		k = min(k, size)
		return size - k, k, true, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return 0, 0, false, fmt.Errorf("range %q: bad first byte", h)
	}
	if a >= size {
		return 0, 0, false, fmt.Errorf("range %q starts at or past the end of an object of %d bytes", h, size)
	}
	if last == "" {
		return a, size - a, true, nil
	}
	b, err := strconv.ParseInt(last, 10, 64)
	if err != nil || b < a {
		return 0, 0, false, fmt.Errorf("range %q: bad last byte", h)
	}
	return a, min(b, size-1) - a + 1, true, nil
}
