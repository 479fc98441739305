// Package resolvetest is a DNS server on 127.0.0.1 whose answers a test
// controls, for the resolver's unit tests and the integration tests.
package resolvetest

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
)

// SRV is one SRV record of an answer.
type SRV struct {
	Priority, Weight, Port uint16
	Target                 string
}

// Record is what the server answers for one name: addresses (A and
// AAAA by family), SRV records, or an error code (dns.RcodeNameError
// for NXDOMAIN, dns.RcodeRefused...). Drop makes the server not answer.
type Record struct {
	Addrs []netip.Addr
	SRV   []SRV
	Rcode int
	Drop  bool
	// NoExtra leaves the targets' addresses out of SRV answers (no
	// additional records).
	NoExtra bool
}

// Server answers from a table that the test changes with Set.
type Server struct {
	udp     *dns.Server
	tcp     *dns.Server
	Addr    string // 127.0.0.1:port, the same port for UDP and TCP
	mu      sync.Mutex
	records map[string]Record
	queries atomic.Int64
}

// Start listens on 127.0.0.1 (UDP and TCP on one random port).
func Start() (*Server, error) {
	s := &Server{records: map[string]Record{}}
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		return nil, err
	}
	s.Addr = pc.LocalAddr().String()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: ln, Handler: h}
	ready := make(chan struct{}, 2)
	s.udp.NotifyStartedFunc = func() { ready <- struct{}{} }
	s.tcp.NotifyStartedFunc = func() { ready <- struct{}{} }
	go s.udp.ActivateAndServe()
	go s.tcp.ActivateAndServe()
	<-ready
	<-ready
	return s, nil
}

// Close stops the server.
func (s *Server) Close() {
	s.udp.Shutdown()
	s.tcp.Shutdown()
}

// Set replaces the answer for name (a trailing dot is added).
func (s *Server) Set(name string, r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[dns.Fqdn(strings.ToLower(name))] = r
}

// SetAddrs is Set with addresses only.
func (s *Server) SetAddrs(name string, addrs ...string) {
	var r Record
	for _, a := range addrs {
		r.Addrs = append(r.Addrs, netip.MustParseAddr(a))
	}
	s.Set(name, r)
}

// Queries is the number of queries received.
func (s *Server) Queries() int64 { return s.queries.Load() }

func (s *Server) serve(w dns.ResponseWriter, q *dns.Msg) {
	s.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	if len(q.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	qq := q.Question[0]
	s.mu.Lock()
	r, ok := s.records[strings.ToLower(qq.Name)]
	s.mu.Unlock()
	switch {
	case !ok:
		m.Rcode = dns.RcodeNameError
	case r.Drop:
		return
	case r.Rcode != 0:
		m.Rcode = r.Rcode
	default:
		hdr := func(t uint16) dns.RR_Header {
			return dns.RR_Header{Name: qq.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 1}
		}
		for _, a := range r.Addrs {
			switch {
			case a.Is4() && qq.Qtype == dns.TypeA:
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: a.AsSlice()})
			case a.Is6() && qq.Qtype == dns.TypeAAAA:
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: a.AsSlice()})
			}
		}
		if qq.Qtype == dns.TypeSRV {
			for _, v := range r.SRV {
				m.Answer = append(m.Answer, &dns.SRV{Hdr: hdr(dns.TypeSRV), Priority: v.Priority, Weight: v.Weight, Port: v.Port, Target: dns.Fqdn(v.Target)})
				s.mu.Lock()
				t, ok := s.records[dns.Fqdn(strings.ToLower(v.Target))]
				s.mu.Unlock()
				if ok && !r.NoExtra {
					for _, a := range t.Addrs {
						if a.Is4() {
							m.Extra = append(m.Extra, &dns.A{Hdr: dns.RR_Header{Name: dns.Fqdn(v.Target), Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: a.AsSlice()})
						}
					}
				}
			}
		}
	}
	w.WriteMsg(m)
}
