package simtest

import (
	"fmt"
	"strings"
	"sync"
)

// History is what a simulation did and saw, kept for its failure
// messages: the newest lines only (it keeps at most 600 and drops to the
// newest 300 past that), so long runs stay bounded. Safe for concurrent
// use.
type History struct {
	mu    sync.Mutex
	lines []string
}

// Add records a line (an event).
func (h *History) Add(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, line)
	if len(h.lines) > 600 {
		h.lines = append([]string(nil), h.lines[len(h.lines)-300:]...)
	}
}

// Mark records a step of the test, set apart from events.
func (h *History) Mark(format string, args ...any) { h.Add("--- " + fmt.Sprintf(format, args...)) }

// String is the last 200 lines, one per line, indented for a test log.
func (h *History) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.lines
	if len(l) > 200 {
		l = l[len(l)-200:]
	}
	return "\n\t" + strings.Join(l, "\n\t")
}
