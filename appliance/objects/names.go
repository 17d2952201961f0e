package objects

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// CheckBucketName enforces S3's bucket naming rules: 3 to 63 characters of
// lower-case letters, digits, dots and hyphens, starting and ending with a
// letter or digit, no two dots in a row, not shaped like an IP address.
func CheckBucketName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: bucket name %q: %s (3-63 characters: a-z, 0-9, '.', '-'; start and end with a letter or digit)", ErrInvalid, name, why)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad(fmt.Sprintf("%d characters", len(name)))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return bad("starts or ends with " + string(c))
			}
			if c == '.' && name[i-1] == '.' {
				return bad("two dots in a row")
			}
		default:
			return bad(fmt.Sprintf("character %q", c))
		}
	}
	if looksLikeIP(name) {
		return bad("shaped like an IP address")
	}
	return nil
}

func looksLikeIP(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// checkKey: a key is 1..max bytes of UTF-8 without NUL.
func checkKey(key string, max int) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty object key", ErrInvalid)
	case len(key) > max:
		return fmt.Errorf("%w: object key of %d bytes (at most %d)", ErrTooLarge, len(key), max)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: object key %q is not UTF-8", ErrInvalid, key)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("%w: object key %q holds a NUL byte", ErrInvalid, key)
	}
	return nil
}
