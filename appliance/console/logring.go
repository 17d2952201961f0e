package console

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
)

// LogRing keeps the node's most recent log lines in memory (as slog text
// lines) for the support bundle: what the node logged lately, without
// access to wherever its stderr went.
type LogRing struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

// NewLogRing keeps the last n lines.
func NewLogRing(n int) *LogRing {
	return &LogRing{lines: make([]string, max(n, 1))}
}

// Lines returns the lines kept, oldest first.
func (r *LogRing) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	return append(append([]string(nil), r.lines[r.next:]...), r.lines[:r.next]...)
}

// Write takes text lines (an io.Writer for a slog text handler).
func (r *LogRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		r.lines[r.next] = string(l)
		r.next++
		if r.next == len(r.lines) {
			r.next, r.full = 0, true
		}
	}
	return len(p), nil
}

// Handler returns a handler that passes every record to inner and keeps
// those at info or above (debug too when inner takes it) in the ring.
func (r *LogRing) Handler(inner slog.Handler) slog.Handler {
	return &teeHandler{inner: inner, ring: slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug})}
}

type teeHandler struct {
	inner, ring slog.Handler
}

func (t *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || t.inner.Enabled(ctx, l)
}

func (t *teeHandler) Handle(ctx context.Context, rec slog.Record) error {
	var errs []error
	if t.inner.Enabled(ctx, rec.Level) {
		errs = append(errs, t.inner.Handle(ctx, rec.Clone()))
	}
	if rec.Level >= slog.LevelInfo || t.inner.Enabled(ctx, rec.Level) {
		errs = append(errs, t.ring.Handle(ctx, rec))
	}
	return errors.Join(errs...)
}

func (t *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &teeHandler{inner: t.inner.WithAttrs(as), ring: t.ring.WithAttrs(as)}
}

func (t *teeHandler) WithGroup(name string) slog.Handler {
	return &teeHandler{inner: t.inner.WithGroup(name), ring: t.ring.WithGroup(name)}
}
