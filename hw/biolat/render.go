package biolat

import (
	"fmt"
	"io"
	"strings"
)

// WriteHist draws h as biolatency does: one line per bucket from the first
// to the last non-empty one, with its range in microseconds, its count and
// a bar of up to width stars.
func WriteHist(w io.Writer, h Hist, width int) {
	first, last := -1, -1
	var peak uint64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
		peak = max(peak, c)
	}
	if first < 0 {
		fmt.Fprintln(w, "     (no requests)")
		return
	}
	fmt.Fprintf(w, "%22s : %-9s distribution\n", "usecs", "count")
	for i := first; i <= last; i++ {
		lo := uint64(0)
		if i > 0 {
			lo = 1 << i
		}
		hi := uint64(1)<<(i+1) - 1
		n := int(h.Counts[i] * uint64(width) / peak)
		if h.Counts[i] > 0 && n == 0 {
			n = 1
		}
		fmt.Fprintf(w, "%10d -> %-9d : %-9d |%-*s|\n", lo, hi, h.Counts[i], width, strings.Repeat("*", n))
	}
}
