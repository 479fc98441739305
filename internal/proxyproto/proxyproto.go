// Package proxyproto encodes and decodes PROXY protocol headers
// (versions 1 and 2), which carry a client's addresses across a proxy:
// bind ... accept-proxy reads them, server ... send-proxy[-v2] writes
// them.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Header is a decoded PROXY protocol header.
type Header struct {
	Version int // 1 or 2
	// Local is set for a v2 LOCAL command or a v1 UNKNOWN line: the
	// connection's own addresses stand (health checks of the sender).
	Local    bool
	Src, Dst netip.AddrPort
}

// Error is why a header was refused, in HAProxy's log wording.
type Error string

func (e Error) Error() string { return string(e) }

// Refusals, as HAProxy logs them.
const (
	ErrEmpty     Error = "Connection closed while waiting for PROXY protocol header"
	ErrAbort     Error = "Connection error while waiting for PROXY protocol header"
	ErrTimeout   Error = "Timeout while waiting for PROXY protocol header"
	ErrTruncated Error = "Truncated PROXY protocol header received"
	ErrNotHeader Error = "Received something which does not look like a PROXY protocol header"
	ErrBadHeader Error = "Received an invalid PROXY protocol header"
	ErrBadProto  Error = "Received an unhandled protocol in the PROXY protocol header"
)

// sigV2 starts every version 2 header.
var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

// maxV1 is the longest version 1 line, CRLF included.
const maxV1 = 107

// Parse decodes the header at the start of b and returns its length.
// When b holds only the start of a header, it returns ErrTruncated and,
// if known (version 2), the length the whole header has.
func Parse(b []byte) (h Header, n int, err error) {
	switch {
	case len(b) == 0:
		return h, 0, ErrTruncated
	case b[0] == '\r':
		if len(b) < len(sigV2) && bytes.HasPrefix(sigV2, b) {
			return h, 0, ErrTruncated
		}
		if !bytes.HasPrefix(b, sigV2) {
			return h, 0, ErrNotHeader
		}
		return parseV2(b)
	case b[0] == 'P':
		if len(b) < 6 && bytes.HasPrefix([]byte("PROXY "), b) {
			return h, 0, ErrTruncated
		}
		if !bytes.HasPrefix(b, []byte("PROXY ")) {
			return h, 0, ErrNotHeader
		}
		return parseV1(b)
	}
	return h, 0, ErrNotHeader
}

func parseV1(b []byte) (Header, int, error) {
	h := Header{Version: 1}
	end := bytes.Index(b, []byte("\r\n"))
	if end < 0 {
		if len(b) >= maxV1 {
			return h, 0, ErrBadHeader
		}
		return h, 0, ErrTruncated
	}
	if end+2 > maxV1 {
		return h, 0, ErrBadHeader
	}
	f := bytes.Split(b[len("PROXY "):end], []byte(" "))
	switch string(f[0]) {
	case "UNKNOWN":
		h.Local = true
		return h, end + 2, nil
	case "TCP4", "TCP6":
	default:
		return h, 0, ErrBadProto
	}
	if len(f) != 5 {
		return h, 0, ErrBadHeader
	}
	v6 := string(f[0]) == "TCP6"
	src, err1 := netip.ParseAddr(string(f[1]))
	dst, err2 := netip.ParseAddr(string(f[2]))
	sp, err3 := port(f[3])
	dp, err4 := port(f[4])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || src.Is6() != v6 || dst.Is6() != v6 || src.Zone() != "" || dst.Zone() != "" {
		return h, 0, ErrBadHeader
	}
	h.Src, h.Dst = netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
	return h, end + 2, nil
}

func port(b []byte) (uint16, error) {
	if len(b) == 0 || len(b) > 5 {
		return 0, ErrBadHeader
	}
	n, err := strconv.ParseUint(string(b), 10, 16)
	return uint16(n), err
}

func parseV2(b []byte) (Header, int, error) {
	h := Header{Version: 2}
	if len(b) < 16 {
		return h, 0, ErrTruncated
	}
	total := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if b[12]>>4 != 2 {
		return h, 0, ErrBadHeader
	}
	if len(b) < total {
		return h, total, ErrTruncated
	}
	switch b[12] & 0xf {
	case 0: // LOCAL
		h.Local = true
		return h, total, nil
	case 1: // PROXY
	default:
		return h, 0, ErrBadHeader
	}
	body := b[16:total]
	switch b[13] {
	case 0x00: // UNSPEC: no address to use
		h.Local = true
	case 0x11: // TCP over IPv4
		if len(body) < 12 {
			return h, 0, ErrBadHeader
		}
		h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
	case 0x21: // TCP over IPv6
		if len(body) < 36 {
			return h, 0, ErrBadHeader
		}
		h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:34]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])), binary.BigEndian.Uint16(body[34:36]))
	default:
		return h, 0, ErrBadHeader
	}
	return h, total, nil
}

// AppendV1 appends the version 1 line for a connection from src to dst:
// TCP4 when both are IPv4, TCP6 otherwise (an IPv4 address then mapped),
// UNKNOWN when either is not an IP address.
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	if !src.IsValid() || !dst.IsValid() {
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	fam := "TCP4"
	if !sa.Is4() || !da.Is4() {
		fam, sa, da = "TCP6", as6(sa), as6(da)
	}
	b = append(b, "PROXY "+fam+" "...)
	b = sa.AppendTo(b)
	b = append(b, ' ')
	b = da.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, "\r\n"...)
}

func as6(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom16(a.As16())
	}
	return a
}

// AppendV2 appends the version 2 header for a connection from src to
// dst (no TLV), or a LOCAL command when local is set or either address
// is not an IP address.
func AppendV2(b []byte, src, dst netip.AddrPort, local bool) []byte {
	b = append(b, sigV2...)
	if local || !src.IsValid() || !dst.IsValid() {
		return append(b, 0x20, 0x00, 0, 0)
	}
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	if sa.Is4() && da.Is4() {
		b = append(b, 0x21, 0x11, 0, 12)
		s4, d4 := sa.As4(), da.As4()
		b = append(append(b, s4[:]...), d4[:]...)
	} else {
		b = append(b, 0x21, 0x21, 0, 36)
		s16, d16 := as6(sa).As16(), as6(da).As16()
		b = append(append(b, s16[:]...), d16[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}
