package node

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/halo-lb/halo/internal/vrrp"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

var (
	errAddrInUse = syscall.EADDRINUSE
	errNoAddr    = errors.New("no usable address")
)

func vipDev(v vrrp.VIP, def string) string {
	if v.Dev != "" {
		return v.Dev
	}
	return def
}

func scopeOf(s string) (int, error) {
	switch s {
	case "", "global", "universe":
		return int(netlink.SCOPE_UNIVERSE), nil
	case "site":
		return int(netlink.SCOPE_SITE), nil
	case "link":
		return int(netlink.SCOPE_LINK), nil
	case "host":
		return int(netlink.SCOPE_HOST), nil
	case "nowhere":
		return int(netlink.SCOPE_NOWHERE), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("invalid scope %q", s)
	}
	return n, nil
}

func nlAddr(v vrrp.VIP) (*netlink.Addr, error) {
	p := v.Prefix
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}, Label: v.Label}
	if v.Brd.IsValid() {
		a.Broadcast = v.Brd.AsSlice()
	}
	sc, err := scopeOf(v.Scope)
	if err != nil {
		return nil, err
	}
	a.Scope = sc
	if p.Addr().Is6() {
		// VRRP arbitrates ownership; duplicate address detection would only
		// keep the VIP tentative (unusable) for a second after takeover.
		a.Flags |= unix.IFA_F_NODAD
	}
	return a, nil
}

// addVIP adds v (idempotent).
func addVIP(v vrrp.VIP, defDev string) error {
	dev := vipDev(v, defDev)
	l, err := netlink.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("VIP %v: interface %s: %w", v.Prefix, dev, err)
	}
	a, err := nlAddr(v)
	if err != nil {
		return fmt.Errorf("VIP %v: %w", v.Prefix, err)
	}
	if err := netlink.AddrReplace(l, a); err != nil {
		return fmt.Errorf("add VIP %v dev %s: %w", v.Prefix, dev, err)
	}
	return nil
}

// delVIP removes v; a VIP already gone is not an error.
func delVIP(v vrrp.VIP, defDev string) error {
	dev := vipDev(v, defDev)
	l, err := netlink.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("VIP %v: interface %s: %w", v.Prefix, dev, err)
	}
	a, err := nlAddr(v)
	if err != nil {
		return err
	}
	if err := netlink.AddrDel(l, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove VIP %v dev %s: %w", v.Prefix, dev, err)
	}
	return nil
}

// hasVIP reports whether v's address is configured on its interface.
func hasVIP(v vrrp.VIP, defDev string) bool {
	l, err := netlink.LinkByName(vipDev(v, defDev))
	if err != nil {
		return false
	}
	fam := netlink.FAMILY_V4
	if v.Prefix.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := netlink.AddrList(l, fam)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == v.Prefix.Addr() {
			return true
		}
	}
	return false
}

// primaryAddr returns the interface's first IPv4 address, or for IPv6 its
// link-local address, skipping the given VIPs.
func primaryAddr(ifi *net.Interface, v6 bool, skip []vrrp.VIP) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
outer:
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		for _, s := range skip {
			if s.Prefix.Addr() == ip {
				continue outer
			}
		}
		if v6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
		if !v6 && ip.Is4() {
			return ip, nil
		}
	}
	fam := "IPv4"
	if v6 {
		fam = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no %s address: %w", ifi.Name, fam, errNoAddr)
}

// sendAnnouncements sends one gratuitous ARP (IPv4) or unsolicited NA
// (IPv6) per VIP on each VIP's interface.
func sendAnnouncements(vips []vrrp.VIP, defDev string, repeat int) error {
	var errs []error
	for _, v := range vips {
		ifi, err := net.InterfaceByName(vipDev(v, defDev))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ifi.Flags&net.FlagUp == 0 || len(ifi.HardwareAddr) != 6 {
			continue
		}
		proto := 0x0806
		frame := []byte(nil)
		if v.Prefix.Addr().Is4() {
			frame = garpFrame(ifi.HardwareAddr, v.Prefix.Addr())
		} else {
			proto = 0x86dd
			frame = naFrame(ifi.HardwareAddr, v.Prefix.Addr(), false)
		}
		c, err := packet.Listen(ifi, packet.Raw, 0, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("announce %v on %s: %w", v.Prefix.Addr(), ifi.Name, err))
			continue
		}
		dst := bcast
		if proto == 0x86dd {
			dst = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
		}
		for range repeat {
			if _, err := c.WriteTo(frame, &packet.Addr{HardwareAddr: dst}); err != nil {
				errs = append(errs, fmt.Errorf("announce %v on %s: %w", v.Prefix.Addr(), ifi.Name, err))
				break
			}
		}
		c.Close()
	}
	return errors.Join(errs...)
}
