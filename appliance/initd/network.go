package initd

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ConfigureNetwork brings the loopback interface up, then applies each
// static configuration: the device up, the address (replacing an equal
// one, so a second run changes nothing), the default route through the
// gateway, the host name. A device that is not there yet (its driver
// probes while init runs) is waited for up to wait. Each step is
// reported through logf; the errors of all steps are returned joined.
func ConfigureNetwork(cfgs []IPConfig, wait time.Duration, logf func(format string, args ...any)) error {
	var errs []error
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("loopback up: %w", err))
	}
	for _, c := range cfgs {
		if err := configure(c, wait, logf); err != nil {
			errs = append(errs, fmt.Errorf("ip %s: %w", c, err))
		}
	}
	return errors.Join(errs...)
}

func configure(c IPConfig, wait time.Duration, logf func(format string, args ...any)) error {
	link, err := findLink(c.Device, wait)
	if err != nil {
		return err
	}
	name := link.Attrs().Name
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(c.Client.AsSlice()), Mask: net.CIDRMask(c.Prefix.Bits(), 32)}}
	if err := netlink.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("address %s on %s: %w", c.Prefix, name, err)
	}
	logf("network: %s up with %s", name, c.Prefix)
	if c.Gateway.IsValid() {
		route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(c.Gateway.AsSlice())}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("default route via %s on %s: %w", c.Gateway, name, err)
		}
		logf("network: default route via %s on %s", c.Gateway, name)
	}
	if c.Hostname != "" {
		if err := unix.Sethostname([]byte(c.Hostname)); err != nil {
			return fmt.Errorf("hostname %s: %w", c.Hostname, err)
		}
		logf("network: hostname %s", c.Hostname)
	}
	return nil
}

// findLink returns the named interface, or with name "" the first
// non-loopback one (by interface index, the order the kernel made them),
// waiting up to wait for it to appear.
func findLink(name string, wait time.Duration) (netlink.Link, error) {
	deadline := time.Now().Add(wait)
	for {
		link, err := lookupLink(name)
		if err == nil || time.Now().After(deadline) {
			return link, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func lookupLink(name string) (netlink.Link, error) {
	if name != "" {
		link, err := netlink.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w (is its driver in /etc/plinth/modules?)", name, err)
		}
		return link, nil
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Attrs().Index < links[j].Attrs().Index })
	for _, l := range links {
		if l.Attrs().Flags&net.FlagLoopback == 0 {
			return l, nil
		}
	}
	return nil, errors.New("no network interface besides loopback (is the driver in /etc/plinth/modules?)")
}
