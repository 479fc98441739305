package resolve

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/resolve/resolvetest"
	"github.com/miekg/dns"
)

func startDNS(t *testing.T) *resolvetest.Server {
	t.Helper()
	s, err := resolvetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func client(s *resolvetest.Server, network string) *Client {
	return &Client{Nameservers: []Nameserver{{ID: "ns1", Network: network, Addr: netip.MustParseAddrPort(s.Addr)}},
		Retries: 2, Retry: 2 * time.Second, PayloadSize: 1232}
}

func TestLookup(t *testing.T) {
	s := startDNS(t)
	s.SetAddrs("app.test", "127.0.0.2", "127.0.0.3", "::2")
	s.Set("refused.test", resolvetest.Record{Rcode: dns.RcodeRefused})
	s.Set("fail.test", resolvetest.Record{Rcode: dns.RcodeServerFailure})
	s.Set("_http._tcp.svc.test", resolvetest.Record{SRV: []resolvetest.SRV{{Port: 8080, Weight: 10, Target: "a.test"}}})
	s.SetAddrs("a.test", "127.0.0.5")
	for _, network := range []string{"udp", "tcp"} {
		c := client(s, network)
		for _, tc := range []struct {
			name  string
			qtype uint16
			want  string
		}{
			{"app.test", dns.TypeA, "OK [127.0.0.2 127.0.0.3] [] ns1"},
			{"app.test.", dns.TypeAAAA, "OK [::2] [] ns1"},
			{"nx.test", dns.TypeA, "NX [] [] ns1"},
			{"refused.test", dns.TypeA, "refused [] [] ns1"},
			{"_http._tcp.svc.test", dns.TypeSRV, "OK [] [{a.test 8080 10 0 [127.0.0.5] 1936274736 false}] ns1"},
		} {
			a := c.Lookup(context.Background(), tc.name, tc.qtype)
			if got := fmt.Sprintf("%v %v %v %s", a.Status, a.Addrs, a.SRV, a.NS); got != tc.want {
				t.Errorf("%s %s %d: got %s, want %s", network, tc.name, tc.qtype, got, tc.want)
			}
		}
		if a := c.Lookup(context.Background(), "fail.test", dns.TypeA); a.Status != Other {
			t.Errorf("SERVFAIL: %v", a.Status)
		}
	}
}

func TestLookupTimeout(t *testing.T) {
	s := startDNS(t)
	s.Set("slow.test", resolvetest.Record{Drop: true})
	c := client(s, "udp")
	c.Retry = 100 * time.Millisecond
	before := s.Queries()
	if a := c.Lookup(context.Background(), "slow.test", dns.TypeA); a.Status != Timeout {
		t.Errorf("status %v, want timeout", a.Status)
	}
	if n := s.Queries() - before; n != 2 {
		t.Errorf("%d queries, want resolve_retries = 2", n)
	}
}

// TestResolverRun checks the re-resolution loop: shared queries, the
// family fallback, answers that change, and the stop with the context.
func TestResolverRun(t *testing.T) {
	s := startDNS(t)
	s.SetAddrs("app.test", "127.0.0.2")
	r := New(client(s, "udp"), 50*time.Millisecond, 100*time.Millisecond)
	var mu sync.Mutex
	var got []string
	for i := range 2 {
		r.Subscribe(Query{Name: "APP.test."}, func(a Answer) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, fmt.Sprintf("%d:%v%v", i, a.Status, a.Addrs))
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	seen := func(want string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range got {
			if g == want {
				return true
			}
		}
		return false
	}
	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !seen(want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in %v", want, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("0:OK[127.0.0.2]")
	wait("1:OK[127.0.0.2]")
	s.SetAddrs("app.test", "127.0.0.3")
	wait("1:OK[127.0.0.3]")
	s.Set("app.test", resolvetest.Record{Rcode: dns.RcodeNameError})
	wait("0:NX[]")
	cancel()
	<-done
}

// TestAnswerOrder checks the order halo hands records out in, which is
// haproxy 2.6.12's (observed: SRV targets a..f in the answer were given
// to template servers as d, e, c, a, f, b).
func TestAnswerOrder(t *testing.T) {
	if got := fmt.Sprintf("%08x %08x", xxh32(nil, 0), xxh32([]byte("abc"), 0)); got != "02cc5d05 32d153ff" {
		t.Errorf("xxh32 test vectors: %s", got)
	}
	s := startDNS(t)
	var recs []resolvetest.SRV
	for i, n := range []string{"a", "b", "c", "d", "e", "f"} {
		recs = append(recs, resolvetest.SRV{Port: uint16(9001 + i), Target: n + ".test"})
	}
	s.Set("_x._tcp.test", resolvetest.Record{SRV: recs})
	s.SetAddrs("multi.test", "127.0.0.4", "127.0.0.3", "127.0.0.2")
	c := client(s, "udp")
	var got []string
	for _, r := range c.Lookup(context.Background(), "_x._tcp.test", dns.TypeSRV).SRV {
		got = append(got, r.Target)
	}
	if fmt.Sprint(got) != "[d.test e.test c.test a.test f.test b.test]" {
		t.Errorf("SRV order %v", got)
	}
	if a := c.Lookup(context.Background(), "multi.test", dns.TypeA); fmt.Sprint(a.Addrs) != "[127.0.0.2 127.0.0.3 127.0.0.4]" {
		t.Errorf("A order %v", a.Addrs)
	}
}

// TestSRVWithoutAdditional: targets without additional records are
// resolved on their own.
func TestSRVWithoutAdditional(t *testing.T) {
	s := startDNS(t)
	s.Set("_x._tcp.test", resolvetest.Record{NoExtra: true, SRV: []resolvetest.SRV{{Port: 80, Target: "a.test"}, {Port: 81, Target: "gone.test"}}})
	s.SetAddrs("a.test", "127.0.0.5")
	r := New(client(s, "udp"), time.Second, time.Second)
	a := r.resolve(context.Background(), Query{Name: "_x._tcp.test", SRV: true, Prefer: "ipv4"})
	got := map[string]string{}
	for _, rec := range a.SRV {
		got[rec.Target] = fmt.Sprint(rec.Addrs, rec.Lookup)
	}
	if got["a.test"] != "[127.0.0.5] true" || got["gone.test"] != "[] false" {
		t.Errorf("records %v", got)
	}
}
