package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Reading is backwards, newest line first: queries want the newest events
// and stop early, and Open wants the last whole line.
const (
	scanChunk = 64 << 10
	// maxLine is the longest line a reader holds; a longer one is garbage
	// (the writer never writes one: every field is bounded).
	maxLine = 256 << 10
)

// backScanner returns the lines of [0, size) of a file, last line first.
type backScanner struct {
	r    io.ReaderAt
	pos  int64  // file offset of data[0]
	data []byte // [pos, pos+len(data)): the lines not returned yet
	err  error
}

func newBackScanner(r io.ReaderAt, size int64) *backScanner {
	return &backScanner{r: r, pos: size}
}

// line is one line of a file.
type line struct {
	b    []byte // without its "\n"; valid until the next call; nil when too long
	off  int64  // file offset of its first byte
	term bool   // ended by "\n" (only the file's last line may not be)
}

// next returns the line before the last one returned, or false at the start
// of the file or on a read error (in s.err).
func (s *backScanner) next() (line, bool) {
	for {
		if len(s.data) == 0 && s.pos == 0 {
			return line{}, false
		}
		end, term := len(s.data), false
		if end > 0 && s.data[end-1] == '\n' {
			end, term = end-1, true
		}
		if i := bytes.LastIndexByte(s.data[:end], '\n'); i >= 0 {
			l := line{b: s.data[i+1 : end], off: s.pos + int64(i+1), term: term}
			s.data = s.data[:i+1]
			return l, true
		}
		if s.pos == 0 {
			l := line{b: s.data[:end], off: 0, term: term}
			s.data = s.data[:0]
			return l, true
		}
		if end > maxLine {
			return s.skipLong(term)
		}
		if !s.fill() {
			return line{}, false
		}
	}
}

// fill prepends the chunk before pos to data.
func (s *backScanner) fill() bool {
	n := min(int64(scanChunk), s.pos)
	buf := make([]byte, int(n)+len(s.data))
	if _, err := s.r.ReadAt(buf[:n], s.pos-n); err != nil {
		s.err = fmt.Errorf("read at %d: %w", s.pos-n, err)
		return false
	}
	copy(buf[n:], s.data)
	s.data, s.pos = buf, s.pos-n
	return true
}

// skipLong reads back to the start of an overlong line without holding it,
// and returns it with no bytes.
func (s *backScanner) skipLong(term bool) (line, bool) {
	s.data = s.data[:0]
	for s.pos > 0 {
		n := min(int64(scanChunk), s.pos)
		buf := make([]byte, n)
		if _, err := s.r.ReadAt(buf, s.pos-n); err != nil {
			s.err = fmt.Errorf("read at %d: %w", s.pos-n, err)
			return line{}, false
		}
		s.pos -= n
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			s.data = buf[:i+1]
			return line{off: s.pos + int64(i+1), term: term}, true
		}
	}
	return line{off: 0, term: term}, true
}

// parse decodes a line; it fails on anything but one whole event.
func parse(b []byte) (Event, bool) {
	var e Event
	if len(b) == 0 || b[0] != '{' {
		return e, false
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Seq == 0 {
		return e, false
	}
	return e, true
}
