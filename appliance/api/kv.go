package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/plinth-storage/plinth/appliance/kv"
)

func (s *Server) listIndexes(w http.ResponseWriter, r *http.Request, _ routed) {
	l, err := s.cfg.KV.List()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if l == nil {
		l = []kv.IndexInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"indexes": l})
}

func (s *Server) createIndex(w http.ResponseWriter, r *http.Request, rt routed) {
	if err := s.cfg.KV.Create(r.Context(), rt.bucket); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"index": rt.bucket})
}

func (s *Server) dropIndex(w http.ResponseWriter, r *http.Request, rt routed) {
	if err := s.cfg.KV.Drop(r.Context(), rt.bucket); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) putKV(w http.ResponseWriter, r *http.Request, rt routed) {
	v, err := version(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit := s.cfg.Limits.MaxValue
	if limit <= 0 {
		limit = kv.MaxValueLimit
	}
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("a value holds at most %d bytes (large values belong in a bucket)", limit))
			return
		}
		writeError(w, r, http.StatusBadRequest, "IncompleteBody", "read the value: "+err.Error())
		return
	}
	applied, err := s.cfg.KV.Put(r.Context(), rt.bucket, []byte(rt.key), value, v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("X-Plinth-Version", strconv.FormatUint(applied, 10))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getKV(w http.ResponseWriter, r *http.Request, rt routed) {
	e, err := s.cfg.KV.Get(rt.bucket, []byte(rt.key))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("X-Plinth-Version", strconv.FormatUint(e.Version, 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(e.Value)))
	w.WriteHeader(http.StatusOK)
	w.Write(e.Value)
}

func (s *Server) deleteKV(w http.ResponseWriter, r *http.Request, rt routed) {
	v, err := version(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	applied, err := s.cfg.KV.Delete(r.Context(), rt.bucket, []byte(rt.key), v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("X-Plinth-Version", strconv.FormatUint(applied, 10))
	w.WriteHeader(http.StatusNoContent)
}

// jsonEntry is a key and value in JSON: as strings when they are UTF-8,
// else base64 in the _base64 fields.
type jsonEntry struct {
	Key         string `json:"key,omitempty"`
	KeyBase64   string `json:"key_base64,omitempty"`
	Value       string `json:"value,omitempty"`
	ValueBase64 string `json:"value_base64,omitempty"`
	Version     uint64 `json:"version"`
}

func toJSON(key, value []byte, version uint64) jsonEntry {
	e := jsonEntry{Version: version}
	if utf8.Valid(key) {
		e.Key = string(key)
	} else {
		e.KeyBase64 = base64.StdEncoding.EncodeToString(key)
	}
	if utf8.Valid(value) {
		e.Value = string(value)
	} else {
		e.ValueBase64 = base64.StdEncoding.EncodeToString(value)
	}
	return e
}

// bytesOf decodes a string or its base64 form.
func bytesOf(plain, b64, what string) ([]byte, error) {
	if b64 == "" {
		return []byte(plain), nil
	}
	if plain != "" {
		return nil, fmt.Errorf("%w: %s given both as text and base64", kv.ErrInvalid, what)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s_base64: %v", kv.ErrInvalid, what, err)
	}
	return b, nil
}

func (s *Server) rangeKV(w http.ResponseWriter, r *http.Request, rt routed) {
	q := r.URL.Query()
	from, err := bytesOf(q.Get("from"), q.Get("from_base64"), "from")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	prefix, err := bytesOf(q.Get("prefix"), q.Get("prefix_base64"), "prefix")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o := kv.RangeOptions{From: from, Prefix: prefix}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, r, http.StatusBadRequest, "InvalidArgument", "limit: want 1 to 10000")
			return
		}
		o.Limit = n
	}
	entries, next, err := s.cfg.KV.Range(rt.bucket, o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Entries  []jsonEntry `json:"entries"`
		Next     string      `json:"next,omitempty"`
		NextB64  string      `json:"next_base64,omitempty"`
		Complete bool        `json:"complete"`
	}{Entries: []jsonEntry{}, Complete: next == nil}
	for _, e := range entries {
		out.Entries = append(out.Entries, toJSON(e.Key, e.Value, e.Version))
	}
	if next != nil {
		if utf8.Valid(next) {
			out.Next = string(next)
		} else {
			out.NextB64 = base64.StdEncoding.EncodeToString(next)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// batchRequest is the JSON of an atomic batch.
type batchRequest struct {
	Ops []struct {
		Op          string `json:"op"` // "put" or "delete"
		Key         string `json:"key"`
		KeyBase64   string `json:"key_base64"`
		Value       string `json:"value"`
		ValueBase64 string `json:"value_base64"`
		Version     uint64 `json:"version"`
	} `json:"ops"`
}

func (s *Server) batchKV(w http.ResponseWriter, r *http.Request, rt routed) {
	var req batchRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.Limits.MaxBatch))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("a batch body holds at most %d bytes", s.cfg.Limits.MaxBatch))
			return
		}
		writeError(w, r, http.StatusBadRequest, "MalformedJSON", `a batch is {"ops": [{"op": "put"|"delete", "key": "...", "value": "...", "version": N}, ...]}: `+err.Error())
		return
	}
	ops := make([]kv.Op, 0, len(req.Ops))
	for i, o := range req.Ops {
		key, err := bytesOf(o.Key, o.KeyBase64, "key")
		if err != nil {
			s.fail(w, r, fmt.Errorf("op %d: %w", i, err))
			return
		}
		value, err := bytesOf(o.Value, o.ValueBase64, "value")
		if err != nil {
			s.fail(w, r, fmt.Errorf("op %d: %w", i, err))
			return
		}
		switch o.Op {
		case "put":
			ops = append(ops, kv.Op{Key: key, Value: value, Version: o.Version})
		case "delete":
			if len(value) > 0 {
				s.fail(w, r, fmt.Errorf("%w: op %d: a delete has no value", kv.ErrInvalid, i))
				return
			}
			ops = append(ops, kv.Op{Delete: true, Key: key, Version: o.Version})
		default:
			s.fail(w, r, fmt.Errorf("%w: op %d: %q (want put or delete)", kv.ErrInvalid, i, o.Op))
			return
		}
	}
	res, err := s.cfg.KV.Batch(r.Context(), rt.bucket, ops)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type result struct {
		Version    uint64 `json:"version"`
		Superseded bool   `json:"superseded,omitempty"`
	}
	out := make([]result, len(res))
	for i, x := range res {
		out[i] = result{Version: x.Version, Superseded: x.Superseded}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
}
