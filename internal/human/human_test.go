package human

import "testing"

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		in   int64
		want string
	}{{0, "0B"}, {512, "512B"}, {999, "999B"}, {1000, "1.0KB"}, {1_920_383_410_176, "1.9TB"}, {18_000_207_937_536, "18.0TB"}, {999_960, "1.0MB"}, {-2000, "-2.0KB"}} {
		if got := Bytes(c.in); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestIBytes(t *testing.T) {
	for _, c := range []struct {
		in   int64
		want string
	}{{4096, "4.0KiB"}, {256 << 20, "256.0MiB"}, {16 << 30, "16.0GiB"}, {1023, "1023B"}} {
		if got := IBytes(c.in); got != c.want {
			t.Errorf("IBytes(%d) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{{"4096", 4096}, {"256M", 256 << 20}, {"1GiB", 1 << 30}, {"18TB", 18e12}, {"4k", 4096}, {" 2 G ", 2 << 30}, {"7B", 7}} {
		got, err := ParseBytes(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "G", "12X", "1.5G", "-1", "9999999999P", "3GB2"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q) accepted", bad)
		}
	}
}
