package initd

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// IPConfig is one static ip= parameter.
type IPConfig struct {
	Client   netip.Addr   // the address of this node
	Server   netip.Addr   // the boot server (kept for the log; unused); invalid when absent
	Gateway  netip.Addr   // invalid when absent: no default route
	Prefix   netip.Prefix // Client with its netmask
	Hostname string       // "" when absent
	Device   string       // "" is the first non-loopback interface
}

// ErrNotStatic: an ip= parameter asks for DHCP, BOOTP or RARP, which init
// does not do.
var ErrNotStatic = errors.New("only static configuration (autoconf off) is supported")

// ParseIP parses the value of the kernel's ip= parameter in its static
// form, CLIENT:SERVER:GW:NETMASK:HOSTNAME:DEVICE:AUTOCONF, IPv4 only.
// Trailing fields may be left out; the kernel's shorthands for automatic
// configuration (ip=dhcp, on, any, bootp, rarp, both) are refused; fields after AUTOCONF (DNS and NTP
// servers) are accepted and ignored. NETMASK defaults to the class of
// CLIENT (A /8, B /16, C /24), as in the kernel.
func ParseIP(v string) (IPConfig, error) {
	switch v {
	case "on", "any", "dhcp", "bootp", "rarp", "both":
		return IPConfig{}, fmt.Errorf("%q: %w", v, ErrNotStatic)
	}
	f := strings.Split(v, ":")
	field := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	var c IPConfig
	switch field(6) {
	case "", "off", "none":
	default:
		return IPConfig{}, fmt.Errorf("autoconf %q: %w", field(6), ErrNotStatic)
	}
	addr4 := func(name, s string) (netip.Addr, error) {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return netip.Addr{}, fmt.Errorf("%s %q is not an IPv4 address", name, s)
		}
		return a, nil
	}
	if field(0) == "" {
		return IPConfig{}, fmt.Errorf("no client address: static configuration needs one (%w)", ErrNotStatic)
	}
	var err error
	if c.Client, err = addr4("client address", field(0)); err != nil {
		return IPConfig{}, err
	}
	if s := field(1); s != "" {
		if c.Server, err = addr4("server address", s); err != nil {
			return IPConfig{}, err
		}
	}
	if s := field(2); s != "" {
		if c.Gateway, err = addr4("gateway", s); err != nil {
			return IPConfig{}, err
		}
	}
	bits := classBits(c.Client)
	if s := field(3); s != "" {
		mask, err := addr4("netmask", s)
		if err != nil {
			return IPConfig{}, err
		}
		if bits, err = maskBits(mask); err != nil {
			return IPConfig{}, err
		}
	}
	c.Prefix = netip.PrefixFrom(c.Client, bits)
	if c.Gateway.IsValid() && !c.Prefix.Masked().Contains(c.Gateway) {
		return IPConfig{}, fmt.Errorf("gateway %s is outside %s", c.Gateway, c.Prefix.Masked())
	}
	c.Hostname = field(4)
	if len(c.Hostname) > 64 {
		return IPConfig{}, fmt.Errorf("hostname of %d characters (at most 64)", len(c.Hostname))
	}
	c.Device = field(5)
	return c, nil
}

// classBits is the prefix length of an IPv4 address's class, the kernel's
// default netmask.
func classBits(a netip.Addr) int {
	b := a.As4()[0]
	switch {
	case b < 128:
		return 8
	case b < 192:
		return 16
	default:
		return 24
	}
}

// maskBits turns a dotted netmask into a prefix length, refusing masks
// whose ones are not contiguous.
func maskBits(m netip.Addr) (int, error) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for n < 32 && v&(1<<(31-n)) != 0 {
		n++
	}
	if n < 32 && v<<n != 0 {
		return 0, fmt.Errorf("netmask %s is not contiguous", m)
	}
	return n, nil
}

// String is the configuration as the log shows it.
func (c IPConfig) String() string {
	dev := c.Device
	if dev == "" {
		dev = "first interface"
	}
	s := fmt.Sprintf("%s on %s", c.Prefix, dev)
	if c.Gateway.IsValid() {
		s += ", default route via " + c.Gateway.String()
	}
	if c.Hostname != "" {
		s += ", hostname " + c.Hostname
	}
	return s
}
