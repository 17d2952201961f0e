package images

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a parsed firmware version: 1 to 4 numeric parts and an
// optional pre-release, "1.2.3" or "1.3.0-rc1".
type Version struct {
	Parts      []uint64
	Prerelease string // after '-'; empty for a release
}

// ParseVersion parses MAJOR[.MINOR[.PATCH[.N]]][-PRERELEASE]. Parts are
// decimal without leading zeros; the pre-release is dot-separated
// identifiers of [0-9A-Za-z-].
func ParseVersion(s string) (Version, error) {
	var v Version
	core, pre, hasPre := strings.Cut(s, "-")
	if hasPre {
		if pre == "" {
			return v, fmt.Errorf("version %q: empty pre-release after '-'", s)
		}
		for id := range strings.SplitSeq(pre, ".") {
			if id == "" || strings.IndexFunc(id, func(r rune) bool {
				return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-')
			}) >= 0 {
				return v, fmt.Errorf("version %q: pre-release identifiers are [0-9A-Za-z-], separated by '.'", s)
			}
		}
		v.Prerelease = pre
	}
	fields := strings.Split(core, ".")
	if len(fields) > 4 {
		return v, fmt.Errorf("version %q: more than 4 numeric parts", s)
	}
	for _, f := range fields {
		if f == "" || (len(f) > 1 && f[0] == '0') {
			return v, fmt.Errorf("version %q: want numbers like 1.2.3 (no empty parts, no leading zeros)", s)
		}
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return v, fmt.Errorf("version %q: want numbers like 1.2.3: %w", s, err)
		}
		v.Parts = append(v.Parts, n)
	}
	return v, nil
}

// Compare returns -1, 0 or 1 as v is older than, the same as or newer than
// w. Missing parts count as 0 (1.2 = 1.2.0); a pre-release is older than
// its release; pre-releases compare identifier by identifier, numbers
// numerically and below words (as in semver).
func (v Version) Compare(w Version) int {
	for i := range max(len(v.Parts), len(w.Parts)) {
		a, b := part(v.Parts, i), part(w.Parts, i)
		if a != b {
			return cmp3(a < b)
		}
	}
	switch {
	case v.Prerelease == w.Prerelease:
		return 0
	case v.Prerelease == "":
		return 1
	case w.Prerelease == "":
		return -1
	}
	as, bs := strings.Split(v.Prerelease, "."), strings.Split(w.Prerelease, ".")
	for i := range min(len(as), len(bs)) {
		if c := compareIdentifier(as[i], bs[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(as) == len(bs):
		return 0
	default:
		return cmp3(len(as) < len(bs))
	}
}

func (v Version) String() string {
	s := make([]string, len(v.Parts))
	for i, p := range v.Parts {
		s[i] = strconv.FormatUint(p, 10)
	}
	if v.Prerelease != "" {
		return strings.Join(s, ".") + "-" + v.Prerelease
	}
	return strings.Join(s, ".")
}

// CompareVersions parses and compares two versions (see Version.Compare).
func CompareVersions(a, b string) (int, error) {
	va, err := ParseVersion(a)
	if err != nil {
		return 0, err
	}
	vb, err := ParseVersion(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func part(p []uint64, i int) uint64 {
	if i < len(p) {
		return p[i]
	}
	return 0
}

// cmp3 is -1 when less, else 1.
func cmp3(less bool) int {
	if less {
		return -1
	}
	return 1
}

func compareIdentifier(a, b string) int {
	na, errA := strconv.ParseUint(a, 10, 64)
	nb, errB := strconv.ParseUint(b, 10, 64)
	switch {
	case errA == nil && errB == nil:
		if na == nb {
			return 0
		}
		return cmp3(na < nb)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}
