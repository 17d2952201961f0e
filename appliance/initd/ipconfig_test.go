package initd

import (
	"errors"
	"strings"
	"testing"
)

func TestParseIP(t *testing.T) {
	for _, tc := range []struct {
		in                               string
		prefix, gw, server, host, device string
	}{
		{"10.0.2.15::10.0.2.2:255.255.255.0:node::off", "10.0.2.15/24", "10.0.2.2", "", "node", ""},
		{"10.0.2.15:10.0.2.2:10.0.2.2:255.255.255.0:node:eth0:none", "10.0.2.15/24", "10.0.2.2", "10.0.2.2", "node", "eth0"},
		// Trailing fields left out; fields after autoconf ignored.
		{"192.168.7.9", "192.168.7.9/24", "", "", "", ""},
		{"172.16.0.3:::::eth2", "172.16.0.3/16", "", "", "", "eth2"},
		{"10.1.2.3:::::::8.8.8.8:8.8.4.4:1.1.1.1", "10.1.2.3/8", "", "", "", ""},
		{"10.1.2.3:::255.255.255.252", "10.1.2.3/30", "", "", "", ""},
		{"10.1.2.3:::0.0.0.0", "10.1.2.3/0", "", "", "", ""},
	} {
		c, err := ParseIP(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		str := func(v interface {
			IsValid() bool
			String() string
		}) string {
			if !v.IsValid() {
				return ""
			}
			return v.String()
		}
		if c.Prefix.String() != tc.prefix || str(c.Gateway) != tc.gw || str(c.Server) != tc.server || c.Hostname != tc.host || c.Device != tc.device {
			t.Errorf("%s: got %+v", tc.in, c)
		}
	}
}

func TestParseIPRefuses(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		static   bool // errors.Is ErrNotStatic
	}{
		{"10.0.2.15:::::eth0:dhcp", "autoconf", true},
		{"10.0.2.15:::::eth0:on", "autoconf", true},
		{"::::::bootp", "autoconf", true},
		{"dhcp", "only static", true},
		{"", "no client address", true},
		{":::255.0.0.0", "no client address", true},
		{"fe80::1", "not an IPv4", false},
		{"10.0.2.15:x", "server address", false},
		{"10.0.2.15::10.0.3", "gateway", false},
		{"10.0.2.15:::255.0.255.0", "not contiguous", false},
		{"10.0.2.15:::255.255.255.0:node", "", false}, // valid: checked below
		{"10.0.2.15::10.0.3.1:255.255.255.0", "outside 10.0.2.0/24", false},
		{"10.0.2.15::::" + strings.Repeat("h", 65), "hostname", false},
	} {
		_, err := ParseIP(tc.in)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.in, err, tc.want)
			continue
		}
		if errors.Is(err, ErrNotStatic) != tc.static {
			t.Errorf("%s: errors.Is(ErrNotStatic) = %v", tc.in, !tc.static)
		}
	}
}

func TestIPConfigString(t *testing.T) {
	c, err := ParseIP("10.0.2.15::10.0.2.2:255.255.255.0:node::off")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "10.0.2.15/24 on first interface, default route via 10.0.2.2, hostname node"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
