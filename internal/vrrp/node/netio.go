// Package node runs VRRP instances on a host: sockets, VIPs, gratuitous
// ARP / unsolicited NA, tracking, notify scripts, around the protocol core
// of package vrrp.
package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/halo-lb/halo/internal/vrrp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// rxPacket is one received VRRP message.
type rxPacket struct {
	ifIndex  int
	src, dst netip.Addr
	ttl      int
	data     []byte
}

// conn4 is the IPv4 VRRP socket: raw IP protocol 112 with IP_HDRINCL so
// we control TOS (0xc0), TTL (255) and the source address like keepalived.
type conn4 struct {
	pc  net.PacketConn
	raw *ipv4.RawConn
	id  atomic.Uint32
}

func openConn4() (*conn4, error) {
	pc, err := net.ListenPacket("ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("open IPv4 VRRP socket: %w", err)
	}
	raw, err := ipv4.NewRawConn(pc)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("IPv4 raw socket: %w", err)
	}
	if err := raw.SetMulticastLoopback(false); err != nil {
		pc.Close()
		return nil, fmt.Errorf("IP_MULTICAST_LOOP: %w", err)
	}
	if err := raw.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true); err != nil {
		pc.Close()
		return nil, fmt.Errorf("IP_PKTINFO: %w", err)
	}
	return &conn4{pc: pc, raw: raw}, nil
}

func (c *conn4) join(ifi *net.Interface, group netip.Addr) error {
	err := c.raw.JoinGroup(ifi, &net.IPAddr{IP: group.AsSlice()})
	if err != nil && !errors.Is(err, errAddrInUse) {
		return fmt.Errorf("join %v on %s: %w", group, ifi.Name, err)
	}
	return nil
}

func (c *conn4) send(ifi *net.Interface, src, dst netip.Addr, payload []byte, unicastTTL int) error {
	id := c.id.Add(1) & 0xffff
	if id == 0 {
		id = c.id.Add(1) & 0xffff
	}
	h := &ipv4.Header{Version: 4, Len: ipv4.HeaderLen, TOS: 0xc0, TotalLen: ipv4.HeaderLen + len(payload),
		ID: int(id), TTL: 255, Protocol: vrrp.IPProto, Src: src.AsSlice(), Dst: dst.AsSlice()}
	if !dst.IsMulticast() && unicastTTL > 0 {
		h.TTL = unicastTTL
	}
	var cm *ipv4.ControlMessage
	if dst.IsMulticast() && ifi != nil {
		if err := c.raw.SetMulticastInterface(ifi); err != nil {
			return fmt.Errorf("IP_MULTICAST_IF %s: %w", ifi.Name, err)
		}
		cm = &ipv4.ControlMessage{IfIndex: ifi.Index}
	}
	if err := c.raw.WriteTo(h, payload, cm); err != nil {
		return fmt.Errorf("send advert to %v: %w", dst, err)
	}
	return nil
}

func (c *conn4) read(out chan<- rxPacket, done <-chan struct{}) {
	buf := make([]byte, 2048)
	for {
		h, p, cm, err := c.raw.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if h == nil || len(p) == 0 {
			continue
		}
		src, _ := netip.AddrFromSlice(h.Src.To4())
		dst, _ := netip.AddrFromSlice(h.Dst.To4())
		// keepalived drops a packet whose IP total length differs from what was received.
		if h.TotalLen != h.Len+len(p) {
			continue
		}
		pkt := rxPacket{src: src, dst: dst, ttl: h.TTL, data: append([]byte(nil), p...)}
		if cm != nil {
			pkt.ifIndex = cm.IfIndex
		}
		select {
		case out <- pkt:
		case <-done:
			return
		}
	}
}

func (c *conn4) close() error { return c.pc.Close() }

// conn6 is the IPv6 VRRP socket (hop limit 255, ff02::12). The VRRPv3
// checksum is computed in user space over the IPv6 pseudo-header.
type conn6 struct {
	pc net.PacketConn
	p  *ipv6.PacketConn
}

func openConn6() (*conn6, error) {
	pc, err := net.ListenPacket("ip6:112", "::")
	if err != nil {
		return nil, fmt.Errorf("open IPv6 VRRP socket: %w", err)
	}
	p := ipv6.NewPacketConn(pc)
	for _, f := range []func() error{
		func() error { return p.SetMulticastHopLimit(255) },
		func() error { return p.SetHopLimit(255) },
		func() error { return p.SetMulticastLoopback(false) },
		func() error { return p.SetTrafficClass(0xc0) },
		func() error {
			return p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface|ipv6.FlagSrc, true)
		},
	} {
		if err := f(); err != nil {
			pc.Close()
			return nil, fmt.Errorf("IPv6 VRRP socket option: %w", err)
		}
	}
	return &conn6{pc: pc, p: p}, nil
}

func (c *conn6) join(ifi *net.Interface, group netip.Addr) error {
	err := c.p.JoinGroup(ifi, &net.IPAddr{IP: group.AsSlice()})
	if err != nil && !errors.Is(err, errAddrInUse) {
		return fmt.Errorf("join %v on %s: %w", group, ifi.Name, err)
	}
	return nil
}

func (c *conn6) send(ifi *net.Interface, src, dst netip.Addr, payload []byte) error {
	cm := &ipv6.ControlMessage{HopLimit: 255, Src: src.AsSlice()}
	if ifi != nil {
		cm.IfIndex = ifi.Index
	}
	zone := ""
	if ifi != nil && (dst.IsLinkLocalMulticast() || dst.IsLinkLocalUnicast()) {
		zone = ifi.Name
	}
	if _, err := c.p.WriteTo(payload, cm, &net.IPAddr{IP: dst.AsSlice(), Zone: zone}); err != nil {
		return fmt.Errorf("send advert to %v: %w", dst, err)
	}
	return nil
}

func (c *conn6) read(out chan<- rxPacket, done <-chan struct{}) {
	buf := make([]byte, 2048)
	for {
		n, cm, from, err := c.p.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		pkt := rxPacket{ttl: -1, data: append([]byte(nil), buf[:n]...)}
		if ipa, ok := from.(*net.IPAddr); ok {
			pkt.src, _ = netip.AddrFromSlice(ipa.IP)
		}
		if cm != nil {
			pkt.ifIndex = cm.IfIndex
			pkt.ttl = cm.HopLimit
			pkt.dst, _ = netip.AddrFromSlice(cm.Dst)
		}
		if !pkt.dst.IsValid() || !pkt.src.IsValid() {
			continue
		}
		select {
		case out <- pkt:
		case <-done:
			return
		}
	}
}

func (c *conn6) close() error { return c.pc.Close() }

// garpFrame builds a gratuitous ARP request as keepalived sends it:
// broadcast, sender = target = VIP, target MAC ff:ff:ff:ff:ff:ff.
func garpFrame(mac net.HardwareAddr, ip netip.Addr) []byte {
	b := make([]byte, 42)
	copy(b[0:6], bcast)
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], 0x0806)
	binary.BigEndian.PutUint16(b[14:], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[16:], 0x0800) // IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:], 1) // request
	copy(b[22:28], mac)
	a := ip.As4()
	copy(b[28:32], a[:])
	copy(b[32:38], bcast)
	copy(b[38:42], a[:])
	return b
}

var bcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// naFrame builds an unsolicited neighbour advertisement from the VIP to
// ff02::1 with the Override flag and a target link-layer address option.
func naFrame(mac net.HardwareAddr, ip netip.Addr, router bool) []byte {
	const icmpLen = 24 + 8
	b := make([]byte, 14+40+icmpLen)
	copy(b[0:6], []byte{0x33, 0x33, 0, 0, 0, 1})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], 0x86dd)
	h := b[14:54]
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], icmpLen)
	h[6] = 58 // ICMPv6
	h[7] = 255
	src, dst := ip.As16(), netip.MustParseAddr("ff02::1").As16()
	copy(h[8:24], src[:])
	copy(h[24:40], dst[:])
	m := b[54:]
	m[0] = 136
	if router {
		m[4] |= 0x80
	}
	m[4] |= 0x20 // Override
	copy(m[8:24], src[:])
	m[24], m[25] = 2, 1 // target link-layer address, 8 bytes
	copy(m[26:32], mac)
	ph := make([]byte, 0, 40+icmpLen)
	ph = append(ph, src[:]...)
	ph = append(ph, dst[:]...)
	ph = binary.BigEndian.AppendUint32(ph, icmpLen)
	ph = append(ph, 0, 0, 0, 58)
	ph = append(ph, m...)
	binary.BigEndian.PutUint16(m[2:], vrrp.Checksum16(ph))
	return b
}
