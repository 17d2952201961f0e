package hw

import "strings"

// lessName orders device names the way the kernel numbers them: the disk
// letters of sd, vd, hd and xvd names count like numbers (sdz before sdaa),
// and so do digit runs (nvme0n2 before nvme0n10). Ties fall back to plain
// string order, so the order is total.
func lessName(a, b string) bool {
	ta, tb := nameTokens(a), nameTokens(b)
	for i := 0; i < len(ta) && i < len(tb); i++ {
		if c := ta[i].compare(tb[i]); c != 0 {
			return c < 0
		}
	}
	if len(ta) != len(tb) {
		return len(ta) < len(tb)
	}
	return a < b
}

// token is a run of a name: text compares as text, a counter compares as a
// number (shorter first, then lexically).
type token struct {
	s       string
	counter bool
}

func (t token) compare(u token) int {
	switch {
	case t.counter != u.counter:
		if t.counter {
			return -1
		}
		return 1
	case t.counter && len(t.s) != len(u.s):
		if len(t.s) < len(u.s) {
			return -1
		}
		return 1
	}
	return strings.Compare(t.s, u.s)
}

// letterDisks are the prefixes followed by disk letters (a..z, aa..).
var letterDisks = []string{"xvd", "sd", "vd", "hd"}

func nameTokens(name string) []token {
	var toks []token
	for _, p := range letterDisks {
		rest, ok := strings.CutPrefix(name, p)
		if !ok {
			continue
		}
		n := 0
		for n < len(rest) && rest[n] >= 'a' && rest[n] <= 'z' {
			n++
		}
		if n > 0 {
			toks = append(toks, token{s: p}, token{s: rest[:n], counter: true})
			name = rest[n:]
		}
		break
	}
	for name != "" {
		digits := isDigit(name[0])
		n := 1
		for n < len(name) && isDigit(name[n]) == digits {
			n++
		}
		run := name[:n]
		if digits {
			run = strings.TrimLeft(run, "0")
		}
		toks = append(toks, token{s: run, counter: digits})
		name = name[n:]
	}
	return toks
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
