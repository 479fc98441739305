package vrrp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	n1  = netip.MustParseAddr("192.0.2.11")
	n2  = netip.MustParseAddr("192.0.2.12")
	vip = netip.MustParseAddr("192.0.2.100")
)

// Captures of keepalived 2.2.7 adverts (keepalived-behaviour.md §1.2, §1.3, §3.5).
func TestEncodeMatchesKeepalived(t *testing.T) {
	tests := []struct {
		name     string
		a        Advert
		src, dst netip.Addr
		wire     string
	}{
		{"v2 prio 0", Advert{Version: 2, VRID: 51, Priority: 0, Interval: 100, Addrs: []netip.Addr{vip}}, n1, Group4,
			"21 33 00 01 00 01 1c 66 c0 00 02 64 00 00 00 00 00 00 00 00"},
		{"v2 prio 200", Advert{Version: 2, VRID: 51, Priority: 200, Interval: 100, Addrs: []netip.Addr{vip}}, n2, Group4,
			"21 33 c8 01 00 01 54 65 c0 00 02 64 00 00 00 00 00 00 00 00"},
		{"v3 prio 103", Advert{Version: 3, VRID: 51, Priority: 103, Interval: 10, Addrs: []netip.Addr{vip}}, n1, Group4,
			"31 33 67 01 00 0a 02 c2 c0 00 02 64"},
		{"v3 prio 200", Advert{Version: 3, VRID: 51, Priority: 200, Interval: 10, Addrs: []netip.Addr{vip}}, n2, Group4,
			"31 33 c8 01 00 0a a1 c0 c0 00 02 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := mustHex(t, tt.wire)
			got, err := Encode(tt.a, tt.src, tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Encode = % x\nwant     % x", got, want)
			}
			back, err := Decode(want, tt.src, tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			if back.VRID != tt.a.VRID || back.Priority != tt.a.Priority || back.Interval != tt.a.Interval ||
				len(back.Addrs) != 1 || back.Addrs[0] != vip || back.Version != tt.a.Version {
				t.Fatalf("Decode = %+v", back)
			}
		})
	}
}

func TestRoundTripIPv6AndAuth(t *testing.T) {
	src := netip.MustParseAddr("fe80::1")
	a := Advert{Version: 3, VRID: 7, Priority: 150, Interval: 100,
		Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::100"), netip.MustParseAddr("2001:db8::101")}}
	b, err := Encode(a, src, Group6)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 8+32 {
		t.Fatalf("len %d", len(b))
	}
	got, err := Decode(b, src, Group6)
	if err != nil || got.Addrs[1] != a.Addrs[1] {
		t.Fatalf("%+v %v", got, err)
	}
	// A different pseudo-header must fail the checksum.
	if _, err := Decode(b, netip.MustParseAddr("fe80::2"), Group6); !errors.Is(err, ErrChecksum) {
		t.Fatalf("want checksum error, got %v", err)
	}
	p := Advert{Version: 2, VRID: 1, Priority: 100, Interval: 300, AuthType: AuthPass, Addrs: []netip.Addr{vip}}
	copy(p.AuthData[:], "secret")
	b, err = Encode(p, n1, Group4)
	if err != nil {
		t.Fatal(err)
	}
	got, err = Decode(b, n1, Group4)
	if err != nil || got.AuthType != AuthPass || string(got.AuthData[:6]) != "secret" || got.Interval != 300 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := mustHex(t, "21 33 00 01 00 01 1c 66 c0 00 02 64 00 00 00 00 00 00 00 00")
	mod := func(f func(b []byte) []byte) []byte { c := append([]byte(nil), good...); return f(c) }
	tests := []struct {
		name string
		b    []byte
		src  netip.Addr
		want error
	}{
		{"empty", nil, n1, ErrShort},
		{"header only", good[:8], n1, ErrShort},
		{"truncated auth", good[:19], n1, ErrShort},
		{"trailing", append(append([]byte(nil), good...), 0), n1, ErrLong},
		{"bad checksum", mod(func(b []byte) []byte { b[7]++; return b }), n1, ErrChecksum},
		{"version 4", mod(func(b []byte) []byte { b[0] = 0x41; return b }), n1, ErrVersion},
		{"type 2", mod(func(b []byte) []byte { b[0] = 0x22; return b }), n1, ErrType},
		{"v2 over v6", good, netip.MustParseAddr("fe80::1"), ErrFamily},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := Group4
			if tt.src.Is6() {
				dst = Group6
			}
			if _, err := Decode(tt.b, tt.src, dst); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []Advert{
		{Version: 2, VRID: 1, Interval: 150, Addrs: []netip.Addr{vip}},                                // fractional v2
		{Version: 3, VRID: 1, Interval: 5000, Addrs: []netip.Addr{vip}},                               // > 40.95 s
		{Version: 3, VRID: 0, Interval: 100, Addrs: []netip.Addr{vip}},                                // VRID 0
		{Version: 3, VRID: 1, Interval: 100, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}, // mixed family
		{Version: 1, VRID: 1, Interval: 100},
	}
	for i, a := range tests {
		if _, err := Encode(a, n1, Group4); err == nil {
			t.Errorf("%d: Encode(%+v) succeeded", i, a)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"21 33 00 01 00 01 1c 66 c0 00 02 64 00 00 00 00 00 00 00 00",
		"21 33 c8 01 00 01 54 65 c0 00 02 64 00 00 00 00 00 00 00 00",
		"31 33 67 01 00 0a 02 c2 c0 00 02 64",
		"31 33 c8 01 00 0a a1 c0 c0 00 02 64",
	} {
		f.Add(mustHex(f, s), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		src, dst := n1, Group4
		if v6 {
			src, dst = netip.MustParseAddr("fe80::1"), Group6
		}
		a, err := Decode(b, src, dst)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to the same bytes.
		out, err := Encode(a, src, dst)
		if err != nil {
			// v2 intervals of 0 decode but are not encodable; that is the only exception.
			if a.Interval == 0 || a.VRID == 0 || (a.Version == 2 && a.Interval > 25500) {
				return
			}
			t.Fatalf("re-encode of %+v: %v", a, err)
		}
		if a.Version == 3 && b[4]&0xf0 != 0 {
			// Reserved bits are ignored on receive; compare the decoded form.
			back, err := Decode(out, src, dst)
			if err != nil || !reflect.DeepEqual(back, a) {
				t.Fatalf("round trip of reserved-bit packet: %+v %v", back, err)
			}
			return
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip\n in % x\nout % x", b, out)
		}
	})
}
