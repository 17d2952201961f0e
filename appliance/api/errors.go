package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/plinth-storage/plinth/appliance/kv"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
	"github.com/plinth-storage/plinth/stripe"
)

// errorBody is the JSON of an error reply.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// writeError answers with a JSON error (no body for HEAD).
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.RequestID = code, msg, w.Header().Get("X-Request-Id")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.Header().Del("ETag")
	w.Header().Del("Last-Modified")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(b)
	}
}

// classify maps an error of the layers below to a status and a code.
// What is not recognised is a 500 whose message says what failed: a
// client gets a 5xx with a message, never wrong data.
func classify(err error) (int, string) {
	switch {
	case errors.Is(err, objects.ErrNoBucket):
		return http.StatusNotFound, "NoSuchBucket"
	case errors.Is(err, objects.ErrNotFound):
		return http.StatusNotFound, "NoSuchKey"
	case errors.Is(err, kv.ErrNoIndex):
		return http.StatusNotFound, "NoSuchIndex"
	case errors.Is(err, kv.ErrNotFound):
		return http.StatusNotFound, "NoSuchKey"
	case errors.Is(err, objects.ErrBucketExists):
		return http.StatusConflict, "BucketAlreadyExists"
	case errors.Is(err, kv.ErrExists):
		return http.StatusConflict, "IndexAlreadyExists"
	case errors.Is(err, objects.ErrBucketNotEmpty):
		return http.StatusConflict, "BucketNotEmpty"
	case errors.Is(err, objects.ErrSuperseded), errors.Is(err, kv.ErrSuperseded):
		return http.StatusConflict, "Superseded"
	case errors.Is(err, objects.ErrIncomplete):
		return http.StatusBadRequest, "IncompleteBody"
	case errors.Is(err, objects.ErrTooLarge), errors.Is(err, kv.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "TooLarge"
	case errors.Is(err, objects.ErrInvalid), errors.Is(err, kv.ErrInvalid), errors.Is(err, pool.ErrInvalid):
		return http.StatusBadRequest, "InvalidArgument"
	case errors.Is(err, pool.ErrNoSpace):
		return http.StatusInsufficientStorage, "OutOfSpace"
	case errors.Is(err, pool.ErrWriteProtected):
		return http.StatusInsufficientStorage, "WriteProtected"
	case errors.Is(err, store.ErrReadOnly):
		return http.StatusServiceUnavailable, "ReadOnly"
	case errors.Is(err, stripe.ErrUnrecoverable):
		return http.StatusInternalServerError, "DataUnrecoverable"
	case errors.Is(err, pool.ErrClosed):
		return http.StatusServiceUnavailable, "ShuttingDown"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return 499, "ClientClosedRequest"
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, "TooLarge"
	}
	return http.StatusInternalServerError, "InternalError"
}

// fail answers with the error's status and code.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := classify(err)
	if status >= 500 {
		s.cfg.Log.Error("request failed", "method", r.Method, "path", r.URL.EscapedPath(), "request_id", w.Header().Get("X-Request-Id"), "err", err)
	}
	writeError(w, r, status, code, err.Error())
}

// countingBody counts the bytes a handler reads from the body.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// writeJSON answers 200 with a JSON document.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
