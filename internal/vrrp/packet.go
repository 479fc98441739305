// Package vrrp implements VRRP (RFC 3768 version 2 and RFC 5798 version 3)
// as keepalived 2.2 speaks it: the advertisement codec, the receive checks
// keepalived applies, and a deterministic protocol state machine.
package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// IPProto is the IP protocol number of VRRP.
const IPProto = 112

// Multicast groups used by VRRP.
var (
	Group4 = netip.MustParseAddr("224.0.0.18")
	Group6 = netip.MustParseAddr("ff02::12")
)

// Authentication types of VRRPv2.
const (
	AuthNone = 0
	AuthPass = 1
	AuthAH   = 2
)

const (
	typeAdvert  = 1
	headerLen   = 8
	authDataLen = 8
	// MaxInterval3 is the largest VRRPv3 Max Adver Int in centiseconds (12 bits).
	MaxInterval3 = 0x0fff
)

// Advert is one VRRP advertisement.
type Advert struct {
	Version  int   // 2 or 3
	VRID     uint8 // 1..255
	Priority uint8 // 0 = resign, 255 = address owner
	// Interval is the advertisement interval in centiseconds. VRRPv2
	// carries whole seconds, so it must be a multiple of 100 there.
	Interval uint16
	AuthType uint8   // VRRPv2 only
	AuthData [8]byte // VRRPv2 only
	Addrs    []netip.Addr
}

// Errors returned by Decode. They are wrapped with details.
var (
	ErrShort    = errors.New("vrrp packet too short")
	ErrLong     = errors.New("vrrp packet too long")
	ErrVersion  = errors.New("unsupported vrrp version")
	ErrType     = errors.New("invalid vrrp type")
	ErrChecksum = errors.New("invalid vrrp checksum")
	ErrFamily   = errors.New("address family mismatch")
)

// Len returns the encoded length of a.
func (a *Advert) Len() int {
	n := headerLen
	for _, ip := range a.Addrs {
		if ip.Is4() {
			n += 4
		} else {
			n += 16
		}
	}
	if a.Version == 2 {
		n += authDataLen
	}
	return n
}

// Encode returns the wire form of a. src and dst are the IP source and
// destination the packet will carry; VRRPv3 includes them in the checksum
// (pseudo-header) and the address family of the VIPs must match theirs.
func Encode(a Advert, src, dst netip.Addr) ([]byte, error) {
	v6 := src.Is6() && !src.Is4In6()
	if src.Is4() != dst.Is4() {
		return nil, fmt.Errorf("%w: src %v dst %v", ErrFamily, src, dst)
	}
	switch a.Version {
	case 2:
		if v6 {
			return nil, fmt.Errorf("%w: VRRPv2 is IPv4 only", ErrFamily)
		}
		if a.Interval == 0 || a.Interval%100 != 0 || a.Interval/100 > 255 {
			return nil, fmt.Errorf("VRRPv2 interval %d cs is not 1..255 whole seconds", a.Interval)
		}
	case 3:
		if a.Interval == 0 || a.Interval > MaxInterval3 {
			return nil, fmt.Errorf("VRRPv3 interval %d cs outside 1..%d", a.Interval, MaxInterval3)
		}
	default:
		return nil, fmt.Errorf("%w %d", ErrVersion, a.Version)
	}
	if a.VRID == 0 {
		return nil, errors.New("VRID 0 is invalid")
	}
	if len(a.Addrs) > 255 {
		return nil, fmt.Errorf("%d addresses, at most 255", len(a.Addrs))
	}
	for _, ip := range a.Addrs {
		if ip.Is4() == v6 || ip.Is4In6() {
			return nil, fmt.Errorf("%w: address %v in an IPv%d advert", ErrFamily, ip, map[bool]int{true: 6, false: 4}[v6])
		}
	}
	b := make([]byte, a.Len())
	b[0] = byte(a.Version)<<4 | typeAdvert
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = byte(len(a.Addrs))
	if a.Version == 2 {
		b[4] = a.AuthType
		b[5] = byte(a.Interval / 100)
	} else {
		binary.BigEndian.PutUint16(b[4:], a.Interval&0x0fff)
	}
	off := headerLen
	for _, ip := range a.Addrs {
		s := ip.AsSlice()
		off += copy(b[off:], s)
	}
	if a.Version == 2 {
		copy(b[off:], a.AuthData[:])
	}
	binary.BigEndian.PutUint16(b[6:], checksum(a.Version, b, src, dst))
	return b, nil
}

// Decode parses a VRRP message (the IP payload) received from src to dst.
// The address family of src selects the VIP size. It validates the
// structure, the exact length and the checksum; policy checks against an
// instance's configuration are made by Instance.Check.
func Decode(b []byte, src, dst netip.Addr) (Advert, error) {
	var a Advert
	if len(b) < headerLen {
		return a, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if src.Is4() != dst.Is4() || !src.IsValid() {
		return a, fmt.Errorf("%w: src %v dst %v", ErrFamily, src, dst)
	}
	a.Version = int(b[0] >> 4)
	if b[0]&0x0f != typeAdvert {
		return a, fmt.Errorf("%w %d", ErrType, b[0]&0x0f)
	}
	alen := 4
	if !src.Is4() {
		alen = 16
	}
	a.VRID = b[1]
	a.Priority = b[2]
	n := int(b[3])
	want := headerLen + n*alen
	switch a.Version {
	case 2:
		if !src.Is4() {
			return a, fmt.Errorf("%w: VRRPv2 over IPv6", ErrFamily)
		}
		want += authDataLen
		a.AuthType = b[4]
		a.Interval = uint16(b[5]) * 100
	case 3:
		a.Interval = binary.BigEndian.Uint16(b[4:]) & 0x0fff
	default:
		return a, fmt.Errorf("%w %d", ErrVersion, a.Version)
	}
	if len(b) < want {
		return a, fmt.Errorf("%w: %d bytes, %d addresses need %d", ErrShort, len(b), n, want)
	}
	if len(b) > want {
		return a, fmt.Errorf("%w: %d bytes, %d addresses need %d", ErrLong, len(b), n, want)
	}
	if got, exp := binary.BigEndian.Uint16(b[6:]), checksumFor(a.Version, b, src, dst); got != exp {
		return a, fmt.Errorf("%w: got %#04x want %#04x", ErrChecksum, got, exp)
	}
	off := headerLen
	a.Addrs = make([]netip.Addr, n)
	for i := range n {
		if alen == 4 {
			a.Addrs[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
		} else {
			a.Addrs[i] = netip.AddrFrom16([16]byte(b[off : off+16]))
		}
		off += alen
	}
	if a.Version == 2 {
		copy(a.AuthData[:], b[off:])
	}
	return a, nil
}

// checksumFor computes the checksum b should carry (its checksum field is
// treated as zero).
func checksumFor(version int, b []byte, src, dst netip.Addr) uint16 {
	c := make([]byte, len(b))
	copy(c, b)
	c[6], c[7] = 0, 0
	return checksum(version, c, src, dst)
}

// checksum computes the RFC 1071 checksum of b (whose checksum field must
// be zero). VRRPv3 covers an IPv4 or IPv6 pseudo-header as well.
func checksum(version int, b []byte, src, dst netip.Addr) uint16 {
	var sum uint32
	if version == 3 {
		if src.Is4() {
			s, d := src.As4(), dst.As4()
			sum = sumBytes(sum, s[:])
			sum = sumBytes(sum, d[:])
			sum += IPProto
			sum += uint32(len(b))
		} else {
			s, d := src.As16(), dst.As16()
			sum = sumBytes(sum, s[:])
			sum = sumBytes(sum, d[:])
			sum += uint32(len(b)) >> 16
			sum += uint32(len(b)) & 0xffff
			sum += IPProto
		}
	}
	sum = sumBytes(sum, b)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func sumBytes(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

// Checksum16 is the plain RFC 1071 Internet checksum of b, exported for the
// I/O layer (IPv4 header, ICMPv6 with its own pseudo-header).
func Checksum16(b []byte) uint16 {
	s := sumBytes(0, b)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
