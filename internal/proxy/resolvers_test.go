package proxy

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/resolve"
)

// dnsBackend builds backend b of a configuration whose servers resolve
// app.test, and the resolution group of its servers.
func dnsBackend(t *testing.T, servers string) (*backend, *dnsGroup) {
	t.Helper()
	cfg, err := config.LoadString("t.cfg", "defaults\n mode tcp\n timeout client 5s\n timeout server 5s\n timeout connect 1s\n"+
		"resolvers dns\n nameserver ns1 127.0.0.1:53\n hold valid 1s\nbackend b\n"+servers, config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := rt.backends["b"]
	return b, &dnsGroup{b: b, rc: cfg.Resolvers[0], servers: b.servers}
}

func addrs(b *backend) string {
	var out []string
	for _, s := range b.servers {
		h := s.destination().host
		if s.dns.maint.Load() {
			h += "(maint)"
		}
		out = append(out, s.cfg.Name+"="+h)
	}
	return strings.Join(out, " ")
}

func ips(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// TestDNSPick checks how servers sharing a name choose addresses, with
// HAProxy 2.6's scores: family, resolve-net, no duplicate, current.
func TestDNSPick(t *testing.T) {
	for _, tc := range []struct {
		name, servers string
		answers       [][]netip.Addr
		want          string
	}{
		{"one each", " server-template m 3 app.test:80 resolvers dns init-addr none resolve-prefer ipv4\n",
			[][]netip.Addr{ips("127.0.0.2", "127.0.0.3")}, "m1=127.0.0.2 m2=127.0.0.3 m3=(maint)"},
		{"prefer ipv6 by default", " server s app.test:80 resolvers dns init-addr none\n",
			[][]netip.Addr{ips("127.0.0.2", "::2")}, "s=::2"},
		{"resolve-net", " server s app.test:80 resolvers dns init-addr none resolve-prefer ipv4 resolve-net 127.0.1.0/24\n",
			[][]netip.Addr{ips("127.0.0.2", "127.0.1.9")}, "s=127.0.1.9"},
		{"allow-dup-ip", " server-template m 2 app.test:80 resolvers dns init-addr none resolve-prefer ipv4 resolve-opts allow-dup-ip\n",
			[][]netip.Addr{ips("127.0.0.2")}, "m1=127.0.0.2 m2=127.0.0.2"},
		{"keeps its address", " server-template m 2 app.test:80 resolvers dns init-addr none resolve-prefer ipv4\n",
			[][]netip.Addr{ips("127.0.0.2", "127.0.0.3"), ips("127.0.0.3", "127.0.0.4")}, "m1=127.0.0.4 m2=127.0.0.3"},
		{"answer shrinks", " server-template m 2 app.test:80 resolvers dns init-addr none resolve-prefer ipv4\n",
			[][]netip.Addr{ips("127.0.0.2", "127.0.0.3"), ips("127.0.0.3")}, "m1=(maint) m2=127.0.0.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, g := dnsBackend(t, tc.servers)
			for _, a := range tc.answers {
				g.apply(resolve.Answer{Status: resolve.OK, Addrs: a, NS: "ns1", Valid: time.Now()})
			}
			if got := addrs(b); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if n := b.usableCount(); n != len(b.servers)-strings.Count(tc.want, "(maint)") {
				t.Errorf("%d usable servers for %s", n, tc.want)
			}
		})
	}
}

// TestDNSHold: errors keep the last answer for their hold time, then
// the servers go to maintenance.
func TestDNSHold(t *testing.T) {
	b, g := dnsBackend(t, " server s app.test:80 resolvers dns init-addr none resolve-prefer ipv4\n")
	g.apply(resolve.Answer{Status: resolve.OK, Addrs: ips("127.0.0.2"), NS: "ns1", Valid: time.Now()})
	g.apply(resolve.Answer{Status: resolve.NX, Valid: time.Now().Add(-10 * time.Second)}) // hold nx 30s
	if got := addrs(b); got != "s=127.0.0.2" {
		t.Errorf("within hold nx: %s", got)
	}
	g.apply(resolve.Answer{Status: resolve.Refused, Valid: time.Now().Add(-31 * time.Second)})
	if got := addrs(b); got != "s=(maint)" {
		t.Errorf("past hold refused: %s", got)
	}
	g.apply(resolve.Answer{Status: resolve.OK, Addrs: ips("127.0.0.3"), NS: "ns1", Valid: time.Now()})
	if got := addrs(b); got != "s=127.0.0.3" || !b.servers[0].usable() {
		t.Errorf("resolved again: %s", got)
	}
}

// TestDNSKeepsAddress: a server keeps an address the answer still has,
// even when another one scores higher (HAProxy: the server is linked to
// its record); hold obsolete keeps vanished addresses for a while.
func TestDNSKeepsAddress(t *testing.T) {
	b, g := dnsBackend(t, " server s app.test:80 resolvers dns init-addr none\n")
	g.apply(resolve.Answer{Status: resolve.OK, Addrs: ips("127.0.0.2"), NS: "ns1", Valid: time.Now()})
	g.apply(resolve.Answer{Status: resolve.OK, Addrs: ips("127.0.0.2", "::2"), NS: "ns1", Valid: time.Now()})
	if got := addrs(b); got != "s=127.0.0.2" {
		t.Errorf("linked address: %s", got)
	}
	b, g = dnsBackend(t, " server-template m 2 app.test:80 resolvers dns init-addr none resolve-prefer ipv4\n")
	g.rc.Hold.Obsolete = time.Hour
	g.apply(resolve.Answer{Status: resolve.OK, Addrs: ips("127.0.0.2", "127.0.0.3"), NS: "ns1", Valid: time.Now()})
	g.apply(resolve.Answer{Status: resolve.OK, Addrs: ips("127.0.0.3"), NS: "ns1", Valid: time.Now()})
	if got := addrs(b); got != "m1=127.0.0.2 m2=127.0.0.3" {
		t.Errorf("within hold obsolete: %s", got)
	}
}
