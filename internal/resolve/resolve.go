// Package resolve is halo's DNS client for the `resolvers` sections:
// it queries the configured nameservers (UDP with EDNS0, or TCP) and
// re-resolves the names that servers subscribe to, each at most every
// `hold valid`, in one goroutine per section owned by the caller.
package resolve

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Status is the outcome of a resolution, as HAProxy classifies it for
// its hold timers.
type Status int

// Resolution statuses.
const (
	OK      Status = iota // an answer with records
	NX                    // NXDOMAIN
	Refused               // REFUSED
	Timeout               // no nameserver answered in time
	Other                 // any other error (SERVFAIL, empty answer, bad packet)
)

func (s Status) String() string {
	return [...]string{"OK", "NX", "refused", "timeout", "other"}[s]
}

// SRV is one SRV record with the addresses of its target found in the
// additional records.
type SRV struct {
	Target                 string // without the trailing dot
	Port, Weight, Priority uint16
	Addrs                  []netip.Addr
	// Key orders the records as HAProxy 2.6 does (xxh32 of the target's
	// wire form): the order in which they are handed to servers.
	Key uint32
	// Lookup: the answer had no additional record for the target, whose
	// addresses come from a resolution of their own.
	Lookup bool
}

// Answer is the result of one resolution.
type Answer struct {
	Status Status
	Addrs  []netip.Addr // A/AAAA records, in answer order
	SRV    []SRV
	NS     string // id of the nameserver that answered
	// Valid is when the name last resolved with status OK (zero: never).
	Valid time.Time
}

// Nameserver is a DNS server to query.
type Nameserver struct {
	ID      string
	Network string // "udp" or "tcp"
	Addr    netip.AddrPort
}

// Client sends queries to nameservers.
type Client struct {
	Nameservers []Nameserver
	Retries     int           // queries sent before giving up (at least 1)
	Retry       time.Duration // wait for an answer before the next query
	PayloadSize int           // EDNS0 UDP payload size; 0 for no EDNS0
}

// Lookup resolves name for the record type qtype (dns.TypeA,
// dns.TypeAAAA or dns.TypeSRV). Every nameserver is asked at once; the
// first that answers wins.
func (c *Client) Lookup(ctx context.Context, name string, qtype uint16) Answer {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	if c.PayloadSize > 0 {
		m.SetEdns0(uint16(c.PayloadSize), false)
	}
	tries := max(c.Retries, 1)
	status := Timeout
	for range tries {
		a, ok := c.ask(ctx, m)
		if ok {
			return a
		}
		if ctx.Err() != nil {
			break
		}
		status = a.Status
	}
	return Answer{Status: status}
}

type reply struct {
	ns  string
	msg *dns.Msg
	err error
}

// ask sends m to every nameserver and waits up to Retry for an answer.
// ok is false when none answered usefully (the status then says why).
func (c *Client) ask(ctx context.Context, m *dns.Msg) (Answer, bool) {
	wait := c.Retry
	if wait <= 0 {
		wait = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ch := make(chan reply, len(c.Nameservers))
	for _, ns := range c.Nameservers {
		go func() {
			cl := &dns.Client{Net: ns.Network, UDPSize: uint16(c.PayloadSize), Timeout: wait}
			r, _, err := cl.ExchangeContext(ctx, m.Copy(), ns.Addr.String())
			ch <- reply{ns.ID, r, err}
		}()
	}
	last := Answer{Status: Timeout}
	for range c.Nameservers {
		var r reply
		select {
		case r = <-ch:
		case <-ctx.Done():
			return last, false
		}
		if r.err != nil {
			var ne net.Error
			if !(errors.As(r.err, &ne) && ne.Timeout()) && !errors.Is(r.err, context.DeadlineExceeded) {
				last = Answer{Status: Other, NS: r.ns}
			}
			continue
		}
		a := parse(r.msg, m.Question[0])
		a.NS = r.ns
		switch a.Status {
		case OK, NX, Refused:
			return a, true
		}
		last = a
	}
	return last, false
}

// parse turns a reply into an Answer.
func parse(r *dns.Msg, q dns.Question) Answer {
	switch r.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return Answer{Status: NX}
	case dns.RcodeRefused:
		return Answer{Status: Refused}
	default:
		return Answer{Status: Other}
	}
	var a Answer
	extra := map[string][]netip.Addr{}
	for _, rr := range r.Extra {
		switch v := rr.(type) {
		case *dns.A:
			if ip, ok := netip.AddrFromSlice(v.A.To4()); ok {
				k := strings.ToLower(v.Hdr.Name)
				extra[k] = append(extra[k], ip)
			}
		case *dns.AAAA:
			if ip, ok := netip.AddrFromSlice(v.AAAA); ok {
				k := strings.ToLower(v.Hdr.Name)
				extra[k] = append(extra[k], ip.Unmap())
			}
		}
	}
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			if q.Qtype == dns.TypeA {
				if ip, ok := netip.AddrFromSlice(v.A.To4()); ok {
					a.Addrs = append(a.Addrs, ip)
				}
			}
		case *dns.AAAA:
			if q.Qtype == dns.TypeAAAA {
				if ip, ok := netip.AddrFromSlice(v.AAAA); ok {
					a.Addrs = append(a.Addrs, ip)
				}
			}
		case *dns.SRV:
			if q.Qtype == dns.TypeSRV {
				t := strings.ToLower(v.Target)
				a.SRV = append(a.SRV, SRV{Target: strings.TrimSuffix(t, "."), Port: v.Port, Weight: v.Weight, Priority: v.Priority, Addrs: extra[t],
					Key: xxh32(wireName(v.Target), uint32(dns.TypeSRV))})
			}
		}
	}
	// HAProxy 2.6 keeps answer records in a tree keyed by the xxh32 of
	// their data (seeded with the record type) and walks it in key
	// order: servers get addresses and SRV records in that order.
	SortAddrs(a.Addrs)
	slices.SortStableFunc(a.SRV, func(x, y SRV) int { return cmp.Compare(x.Key, y.Key) })
	if len(a.Addrs) == 0 && len(a.SRV) == 0 {
		a.Status = Other // NOERROR without data
	}
	return a
}

// SortAddrs sorts addresses in HAProxy 2.6's record order (xxh32 of
// the address seeded with the record type).
func SortAddrs(addrs []netip.Addr) {
	key := func(a netip.Addr) uint32 {
		if a.Is4() {
			return xxh32(a.AsSlice(), uint32(dns.TypeA))
		}
		return xxh32(a.AsSlice(), uint32(dns.TypeAAAA))
	}
	slices.SortStableFunc(addrs, func(x, y netip.Addr) int { return cmp.Compare(key(x), key(y)) })
}

// wireName is a domain name in DNS wire form without the final empty
// label (length-prefixed labels), as HAProxy hashes it.
func wireName(name string) []byte {
	var out []byte
	for _, l := range dns.SplitDomainName(name) {
		out = append(out, byte(len(l)))
		out = append(out, l...)
	}
	return out
}

// Query is what a subscriber wants resolved.
type Query struct {
	Name   string
	SRV    bool   // an SRV record rather than addresses
	Prefer string // "ipv4" or "ipv6" (default): the address family asked first
}

// Resolver re-resolves subscribed names. Create it with New, subscribe,
// then Run it.
type Resolver struct {
	client  *Client
	period  time.Duration // timeout resolve
	valid   time.Duration // hold valid
	mu      sync.Mutex
	entries []*entry
}

type entry struct {
	q     Query
	subs  []func(Answer)
	next  time.Time // next resolution
	valid time.Time
}

// New returns a resolver that wakes every period and resolves each name
// again once its answer is older than valid.
func New(c *Client, period, valid time.Duration) *Resolver {
	if period <= 0 {
		period = time.Second
	}
	return &Resolver{client: c, period: period, valid: valid}
}

// Subscribe asks for q to be resolved; fn receives every answer (from
// the Run goroutine). Subscriptions to the same query share resolutions.
func (r *Resolver) Subscribe(q Query, fn func(Answer)) {
	q.Name = strings.TrimSuffix(strings.ToLower(q.Name), ".")
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.q == q {
			e.subs = append(e.subs, fn)
			return
		}
	}
	r.entries = append(r.entries, &entry{q: q, subs: []func(Answer){fn}})
}

// Run resolves the subscribed names until ctx is done: at once, then
// each every max(hold valid, timeout resolve).
func (r *Resolver) Run(ctx context.Context) {
	t := time.NewTicker(r.period)
	defer t.Stop()
	for {
		r.round(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round resolves the due names, in parallel, and delivers the answers.
func (r *Resolver) round(ctx context.Context, now time.Time) {
	r.mu.Lock()
	var due []*entry
	for _, e := range r.entries {
		if !now.Before(e.next) {
			due = append(due, e)
			e.next = now.Add(max(r.valid, r.period))
		}
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := r.resolve(ctx, e.q)
			if ctx.Err() != nil {
				return
			}
			if a.Status == OK {
				e.valid = time.Now()
			}
			a.Valid = e.valid
			for _, fn := range e.subs {
				fn(a)
			}
		}()
	}
	wg.Wait()
}

// resolve asks for the preferred family first, then the other one when
// the name has no address of the preferred family, as HAProxy does.
func (r *Resolver) resolve(ctx context.Context, q Query) Answer {
	if q.SRV {
		a := r.client.Lookup(ctx, q.Name, dns.TypeSRV)
		for i := range a.SRV {
			if rec := &a.SRV[i]; len(rec.Addrs) == 0 && a.Status == OK {
				// No additional record: resolve the target, as HAProxy does.
				if t := r.resolve(ctx, Query{Name: rec.Target, Prefer: q.Prefer}); t.Status == OK {
					rec.Addrs, rec.Lookup = t.Addrs, true
				}
			}
		}
		return a
	}
	first, second := dns.TypeAAAA, dns.TypeA
	if q.Prefer == "ipv4" {
		first, second = second, first
	}
	a := r.client.Lookup(ctx, q.Name, first)
	if a.Status == Other || a.Status == OK && len(a.Addrs) == 0 {
		if b := r.client.Lookup(ctx, q.Name, second); b.Status != Timeout || a.Status != Other {
			return b
		}
	}
	return a
}
