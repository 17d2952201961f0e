// Package human renders quantities for people: sizes as drive vendors
// print them (powers of 1000) and as operating systems do (powers of 1024).
package human

import "fmt"

// Bytes renders b with one decimal in powers of 1000: 512B, 1.9T, 18.0T —
// how drive capacities are sold and labelled.
func Bytes(b int64) string {
	return scaled(b, 1000, "B", "KMGTPE")
}

// IBytes renders b in powers of 1024: 4.0KiB, 256.0MiB, 16.0GiB — how zone
// and segment sizes are chosen.
func IBytes(b int64) string {
	return scaled(b, 1024, "B", "KMGTPE", "iB")
}

func scaled(b int64, base float64, unit, prefixes string, suffix ...string) string {
	if b < 0 {
		return "-" + scaled(-b, base, unit, prefixes, suffix...)
	}
	if float64(b) < base {
		return fmt.Sprintf("%d%s", b, unit)
	}
	v, i := float64(b)/base, 0
	for v >= base-0.05 && i < len(prefixes)-1 {
		v /= base
		i++
	}
	s := "B"
	if len(suffix) > 0 {
		s = suffix[0]
	}
	return fmt.Sprintf("%.1f%c%s", v, prefixes[i], s)
}
