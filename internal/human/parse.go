package human

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseBytes parses a size: a number of bytes with an optional unit,
// K/M/G/T/P with an optional "iB" (powers of 1024) or "B" (powers of 1000).
// Plain K, M, G, T, P are powers of 1024, as in dd and truncate.
func ParseBytes(s string) (int64, error) {
	in := strings.TrimSpace(s)
	i := 0
	for i < len(in) && in[i] >= '0' && in[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes, optionally with a unit (4096, 256M, 1GiB, 18TB)", s)
	}
	n, err := strconv.ParseInt(in[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	unit := strings.ToUpper(strings.TrimSpace(in[i:]))
	if unit == "" || unit == "B" {
		return n, nil
	}
	exp := strings.IndexByte("KMGTP", unit[0]) + 1
	if exp == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, in[i:])
	}
	base := int64(1024)
	switch unit[1:] {
	case "", "IB":
	case "B":
		base = 1000
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q", s, in[i:])
	}
	v := n
	for ; exp > 0; exp-- {
		if v > (1<<63-1)/base {
			return 0, fmt.Errorf("size %q is too large", s)
		}
		v *= base
	}
	return v, nil
}
