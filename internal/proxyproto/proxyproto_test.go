package proxyproto

import (
	"encoding/hex"
	"net/netip"
	"testing"
)

func TestParse(t *testing.T) {
	ap := netip.MustParseAddrPort
	// v2 headers as haproxy 2.6 sends them (captured): TCP4 from
	// 127.0.0.1:47402 to 127.0.0.1:47312, and the LOCAL of its checks.
	v2, _ := hex.DecodeString("0d0a0d0a000d0a515549540a2111000c7f0000017f000001b92ab8d0")
	v2local, _ := hex.DecodeString("0d0a0d0a000d0a515549540a20000000")
	v2udp, _ := hex.DecodeString("0d0a0d0a000d0a515549540a2112000c7f0000017f000001b92ab8d0")
	for _, tc := range []struct {
		name string
		in   string
		h    Header
		n    int
		err  error
	}{
		{"v1 tcp4", "PROXY TCP4 192.0.2.1 198.51.100.2 1111 2222\r\nhello", Header{Version: 1, Src: ap("192.0.2.1:1111"), Dst: ap("198.51.100.2:2222")}, 45, nil},
		{"v1 tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 1111 2222\r\n", Header{Version: 1, Src: ap("[2001:db8::1]:1111"), Dst: ap("[2001:db8::2]:2222")}, 46, nil},
		{"v1 unknown", "PROXY UNKNOWN\r\nx", Header{Version: 1, Local: true}, 15, nil},
		{"v1 unknown with addresses", "PROXY UNKNOWN ::1 ::1 1 2\r\n", Header{Version: 1, Local: true}, 27, nil},
		{"v2 tcp4", string(v2) + "hello", Header{Version: 2, Src: ap("127.0.0.1:47402"), Dst: ap("127.0.0.1:47312")}, 28, nil},
		{"v2 local", string(v2local), Header{Version: 2, Local: true}, 16, nil},
		{"http", "GET / HTTP/1.0\r\n\r\n", Header{}, 0, ErrNotHeader},
		{"junk", "XXXXXXXXXXXXXXXXXXXX\r\n", Header{}, 0, ErrNotHeader},
		{"partial v1", "PROX", Header{}, 0, ErrTruncated},
		{"partial v1 line", "PROXY TCP4 1.2.3.4", Header{Version: 1}, 0, ErrTruncated},
		{"partial v2", string(v2[:10]), Header{}, 0, ErrTruncated},
		{"partial v2 body", string(v2[:20]), Header{Version: 2}, 28, ErrTruncated},
		{"extra field", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", Header{Version: 1}, 0, ErrBadHeader},
		{"udp", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", Header{Version: 1}, 0, ErrBadProto},
		{"bad address", "PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n", Header{Version: 1}, 0, ErrBadHeader},
		{"family mismatch", "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", Header{Version: 1}, 0, ErrBadHeader},
		{"bad port", "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", Header{Version: 1}, 0, ErrBadHeader},
		{"v1 too long", "PROXY UNKNOWN " + string(make([]byte, 100)), Header{Version: 1}, 0, ErrBadHeader},
		{"v2 udp", string(v2udp), Header{Version: 2}, 0, ErrBadHeader},
		{"v2 version 3", string(append(append([]byte{}, v2[:12]...), 0x31, 0x11, 0, 0)), Header{Version: 2}, 0, ErrBadHeader},
	} {
		h, n, err := Parse([]byte(tc.in))
		if h != tc.h || n != tc.n || err != tc.err {
			t.Errorf("%s: got %+v %d %v, want %+v %d %v", tc.name, h, n, err, tc.h, tc.n, tc.err)
		}
	}
}

// TestAppend: the headers written for servers, byte for byte as haproxy
// 2.6 sent them (captured), and back through Parse.
func TestAppend(t *testing.T) {
	ap := netip.MustParseAddrPort
	src, dst := ap("127.0.0.1:47401"), ap("127.0.0.1:47311")
	if got, want := string(AppendV1(nil, src, dst)), "PROXY TCP4 127.0.0.1 127.0.0.1 47401 47311\r\n"; got != want {
		t.Errorf("v1: %q, want %q", got, want)
	}
	if got, want := hex.EncodeToString(AppendV2(nil, ap("127.0.0.1:47402"), ap("127.0.0.1:47312"), false)), "0d0a0d0a000d0a515549540a2111000c7f0000017f000001b92ab8d0"; got != want {
		t.Errorf("v2: %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(AppendV2(nil, src, dst, true)), "0d0a0d0a000d0a515549540a20000000"; got != want {
		t.Errorf("v2 local: %s, want %s", got, want)
	}
	if got := string(AppendV1(nil, netip.AddrPort{}, dst)); got != "PROXY UNKNOWN\r\n" {
		t.Errorf("v1 unknown: %q", got)
	}
	for _, pair := range [][2]netip.AddrPort{
		{src, dst},
		{ap("[2001:db8::1]:1"), ap("[2001:db8::2]:65535")},
		{ap("192.0.2.1:5"), ap("[2001:db8::2]:6")}, // mixed: IPv4 mapped into TCP6
	} {
		for _, b := range [][]byte{AppendV1(nil, pair[0], pair[1]), AppendV2(nil, pair[0], pair[1], false)} {
			h, n, err := Parse(b)
			if err != nil || n != len(b) || h.Src.Port() != pair[0].Port() || h.Dst.Port() != pair[1].Port() ||
				h.Src.Addr().Unmap() != pair[0].Addr().Unmap() || h.Dst.Addr().Unmap() != pair[1].Addr().Unmap() {
				t.Errorf("round trip %v: %q -> %+v %d %v", pair, b, h, n, err)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 198.51.100.2 1111 2222\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(AppendV2(nil, netip.MustParseAddrPort("[::1]:1"), netip.MustParseAddrPort("[::1]:2"), false))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err == nil && (n <= 0 || n > len(b)) {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		if err == nil && !h.Local && (!h.Src.IsValid() || !h.Dst.IsValid()) {
			t.Fatalf("header without addresses: %+v", h)
		}
	})
}
