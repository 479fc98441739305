package proxy

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/health"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/resolve"
)

// serverDNS is the run-time resolution state of a server with
// `resolvers`: the maintenance while its name does not resolve
// (HAProxy's RMAINT) and, for an SRV server-template, the record it got.
type serverDNS struct {
	maint    atomic.Bool
	wasMaint atomic.Bool            // was in resolution maintenance once (health 0 without checks, as haproxy shows)
	hadSRV   atomic.Bool            // got an SRV record once (admin flag 0x40 in haproxy 2.6)
	resumed  atomic.Bool            // checks resumed after resolution maintenance
	target   atomic.Pointer[string] // SRV target, nil while the server has no record
}

// initDNS starts a server whose name did not resolve at start-up
// (init-addr none) in resolution maintenance.
func (s *server) initDNS() {
	if s.cfg.InitMaint {
		s.dns.maint.Store(true)
		s.dns.wasMaint.Store(true)
		s.state.Store(stateMaint)
	}
}

// fqdn is the name shown in `show servers state`: the SRV target of a
// template server, else the configured name.
func (s *server) fqdn() string {
	if s.cfg.SRVRecord != "" {
		if t := s.dns.target.Load(); t != nil {
			return *t
		}
		return ""
	}
	return s.cfg.FQDN
}

// noAddrDial fails at once for a server without an address (in
// resolution maintenance), instead of dialling the local host.
func noAddrDial(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, _, err := net.SplitHostPort(addr); err == nil && host == "" {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errNoAddr}
		}
		return dial(ctx, network, addr)
	}
}

var errNoAddr = fmt.Errorf("no address (name not resolved)")

// dnsGroup is the servers of one backend that resolve the same name
// with the same preferences: they share one resolution, as HAProxy's
// servers share its DNS cache, and pick distinct addresses from it.
type dnsGroup struct {
	b         *backend
	rc        *config.Resolvers
	servers   []*server
	srv       bool
	seen      map[srvKey]seenSRV       // SRV records of the last answers (hold obsolete)
	seenAddrs map[netip.Addr]time.Time // addresses of the last answers (hold obsolete)
}

// keepObsoleteAddrs adds to an answer the addresses that disappeared
// less than `hold obsolete` ago, in HAProxy's record order.
func (g *dnsGroup) keepObsoleteAddrs(addrs []netip.Addr, now time.Time) []netip.Addr {
	if g.seenAddrs == nil {
		g.seenAddrs = map[netip.Addr]time.Time{}
	}
	for _, a := range addrs {
		g.seenAddrs[a.Unmap()] = now
	}
	out := make([]netip.Addr, 0, len(g.seenAddrs))
	for a, last := range g.seenAddrs {
		if now.Sub(last) > g.rc.Hold.Obsolete {
			delete(g.seenAddrs, a)
			continue
		}
		out = append(out, a)
	}
	resolve.SortAddrs(out)
	return out
}

type srvKey struct {
	target string
	port   uint16
}

type seenSRV struct {
	rec  resolve.SRV
	last time.Time
}

// keepObsolete adds to an SRV answer the records that disappeared less
// than `hold obsolete` ago, in HAProxy's record order.
func (g *dnsGroup) keepObsolete(recs []resolve.SRV, now time.Time) []resolve.SRV {
	if g.seen == nil {
		g.seen = map[srvKey]seenSRV{}
	}
	for _, r := range recs {
		g.seen[srvKey{r.Target, r.Port}] = seenSRV{r, now}
	}
	out := recs[:0:0]
	for k, v := range g.seen {
		if now.Sub(v.last) > g.rc.Hold.Obsolete {
			delete(g.seen, k)
			continue
		}
		out = append(out, v.rec)
	}
	slices.SortStableFunc(out, func(x, y resolve.SRV) int {
		if c := cmp.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		return cmp.Compare(x.Port, y.Port)
	})
	return out
}

// startResolvers runs one resolver goroutine per resolvers section that
// servers use; they stop when ctx is done.
func (rt *Runtime) startResolvers(ctx context.Context, wg *sync.WaitGroup) {
	for _, rc := range rt.cfg.Resolvers {
		if len(rc.Nameservers) == 0 {
			continue
		}
		c := &resolve.Client{Retries: rc.Retries, Retry: rc.TimeoutRetry, PayloadSize: rc.PayloadSize}
		for _, ns := range rc.Nameservers {
			c.Nameservers = append(c.Nameservers, resolve.Nameserver{ID: ns.ID, Network: ns.Network, Addr: ns.Addr})
		}
		r := resolve.New(c, rc.TimeoutResolve, rc.Hold.Valid)
		used := false
		for _, p := range rt.cfg.Proxies {
			b := rt.backends[p.Name]
			if b == nil || b.cfg != p {
				continue
			}
			groups := map[resolve.Query]*dnsGroup{}
			var order []resolve.Query
			for _, s := range b.servers {
				sc := s.cfg
				if sc.DNS.Resolvers != rc.Name || sc.FQDN == "" {
					continue
				}
				q := resolve.Query{Name: sc.FQDN, SRV: sc.SRVRecord != "", Prefer: sc.DNS.Prefer}
				g := groups[q]
				if g == nil {
					g = &dnsGroup{b: b, rc: rc, srv: q.SRV}
					groups[q] = g
					order = append(order, q)
				}
				g.servers = append(g.servers, s)
			}
			for _, q := range order {
				g := groups[q]
				r.Subscribe(q, g.apply)
				used = true
			}
		}
		if used {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.Run(ctx)
			}()
		}
	}
}

// apply gives a resolution's answer to the group's servers.
func (g *dnsGroup) apply(a resolve.Answer) {
	b := g.b
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
	if a.Status != resolve.OK {
		hold, why := g.rc.Hold.Other, "unspecified DNS error"
		switch a.Status {
		case resolve.NX:
			hold, why = g.rc.Hold.NX, "DNS NX status"
		case resolve.Refused:
			hold, why = g.rc.Hold.Refused, "DNS refused status"
		case resolve.Timeout:
			hold, why = g.rc.Hold.Timeout, "DNS timeout status"
		}
		if !a.Valid.IsZero() && time.Since(a.Valid) < hold {
			return // the last valid answer is kept for hold <status>
		}
		for _, s := range g.servers {
			g.enterMaint(s, why)
		}
		return
	}
	if g.srv {
		a.SRV = g.keepObsolete(a.SRV, time.Now())
		g.applySRV(a)
		return
	}
	addrs := g.keepObsoleteAddrs(a.Addrs, time.Now())
	by := g.rc.Name + "/" + a.NS
	for _, s := range g.servers {
		ip, ok := g.pick(s, addrs)
		if !ok {
			g.enterMaint(s, "No IP for server ")
			continue
		}
		cur := s.destination()
		if old, _ := netip.ParseAddr(cur.host); old != ip {
			b.rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s/%s changed its IP from %s to %s by %s.", b.cfg.Name, s.cfg.Name, orNone(cur.host), ip, by))
			b.setDest(s, serverDest{ip.String(), cur.port})
		}
		by = "DNS cache" // the other servers reuse the same answer
		if s.dns.maint.Load() {
			g.leaveMaint(s, true)
		}
	}
}

// pick chooses s's address in an answer as HAProxy 2.6 scores them:
// the preferred family (8), a resolve-net network (4), an address no
// other server of the backend with the same name uses (2; used ones are
// skipped unless allow-dup-ip), the current address (1).
func (g *dnsGroup) pick(s *server, addrs []netip.Addr) (netip.Addr, bool) {
	cur, _ := netip.ParseAddr(s.destination().host)
	if cur.IsValid() && slices.Contains(addrs, cur.Unmap()) && (s.cfg.DNS.AllowDupIP || !g.usedByOther(s, cur.Unmap())) {
		return cur.Unmap(), true // a server keeps an address the answer still has, as HAProxy
	}
	best, bestScore := netip.Addr{}, -1
	for _, ip := range addrs {
		ip = ip.Unmap()
		score := 0
		if ip.Is4() == (s.cfg.DNS.Prefer == "ipv4") {
			score += 8
		}
		for _, n := range s.cfg.DNS.Nets {
			if n.Contains(ip) {
				score += 4
				break
			}
		}
		if g.usedByOther(s, ip) {
			if !s.cfg.DNS.AllowDupIP {
				continue
			}
		} else {
			score += 2
		}
		if ip == cur {
			score++
		}
		if score > bestScore {
			best, bestScore = ip, score
		}
	}
	return best, bestScore >= 0
}

func (g *dnsGroup) usedByOther(s *server, ip netip.Addr) bool {
	for _, o := range g.b.servers {
		if o == s || o.fqdn() != s.fqdn() {
			continue
		}
		if a, err := netip.ParseAddr(o.destination().host); err == nil && a.Unmap() == ip {
			return true
		}
	}
	return false
}

// applySRV spreads SRV records over the template's servers: a server
// keeps its record while the answer has it; free records go to the
// servers without one, in order; servers left without a record go to
// maintenance.
func (g *dnsGroup) applySRV(a resolve.Answer) {
	b := g.b
	taken := make([]bool, len(a.SRV))
	find := func(target string, port int) int {
		for i, r := range a.SRV {
			if !taken[i] && r.Target == target && int(r.Port) == port {
				return i
			}
		}
		return -1
	}
	assigned := map[*server]int{}
	for _, s := range g.servers {
		if t := s.dns.target.Load(); t != nil {
			if i := find(*t, s.destination().port); i >= 0 {
				taken[i] = true
				assigned[s] = i
			}
		}
	}
	for _, s := range g.servers {
		if _, ok := assigned[s]; ok {
			continue
		}
		for i := range a.SRV {
			if !taken[i] && len(a.SRV[i].Addrs) > 0 {
				taken[i] = true
				assigned[s] = i
				break
			}
		}
	}
	for _, s := range g.servers {
		i, ok := assigned[s]
		if !ok {
			why := "No IP for server "
			if s.dns.target.Swap(nil) != nil {
				why = "entry removed from SRV record"
			}
			g.enterMaint(s, why)
			continue
		}
		rec := a.SRV[i]
		cur := s.destination()
		ip := rec.Addrs[0]
		for _, x := range rec.Addrs {
			if x.String() == cur.host {
				ip = x
			}
		}
		if cur.host != ip.String() || cur.port != int(rec.Port) {
			by := "DNS additional record"
			if rec.Lookup {
				by = g.rc.Name + "/" + a.NS
			}
			b.rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s/%s changed its IP from %s to %s by %s.", b.cfg.Name, s.cfg.Name, orNone(cur.host), ip, by))
			b.setDest(s, serverDest{ip.String(), int(rec.Port)})
		}
		if t := s.dns.target.Load(); t == nil || *t != rec.Target {
			old := "(null)"
			if t != nil {
				old = *t
			}
			// A log line only: haproxy 2.6 does not print this one on stderr.
			b.rt.loggerFor(b.cfg).Log(logging.Notice, fmt.Sprintf("%s/%s changed its FQDN from %s to %s by 'SRV record'", b.cfg.Name, s.cfg.Name, old, rec.Target))
			target := rec.Target
			s.dns.target.Store(&target)
			s.dns.hadSRV.Store(true)
		}
		if !s.cfg.DNS.IgnoreWeight {
			// SRV weights 0-65535 map to 0-256, 0 staying 0, as HAProxy 2.6.
			if w := (int(rec.Weight) + 255) / 256; int(s.uweight.Load()) != w {
				s.uweight.Store(int32(w))
				s.effWeight(b.now())
				b.refresh()
			}
		}
		if s.dns.maint.Load() {
			g.leaveMaint(s, rec.Lookup) // haproxy adds "administratively READY" after a resolution of the target
		}
	}
}

// enterMaint puts s in resolution maintenance with HAProxy's message,
// and forgets its address. Called with stateMu held.
func (g *dnsGroup) enterMaint(s *server, why string) {
	if s.dns.maint.Swap(true) {
		return
	}
	s.dns.wasMaint.Store(true)
	if s.checker != nil {
		s.checker.Pause()
	}
	b := g.b
	wasUp := s.usable()
	sess := s.Conns()
	if s.admin.Load() != adminMaint {
		if wasUp {
			s.chkDown.Add(1)
		}
		b.setState(s, stateMaint)
		act, bck := b.counts()
		level := logging.Alert
		if !wasUp {
			level = logging.Notice
		}
		b.rt.plog(b.cfg, level, LevelWarning, fmt.Sprintf("%s %s/%s is going DOWN for maintenance (%s). %d active and %d backup servers left.%s %d sessions active, 0 requeued, 0 remaining in queue.",
			health.ServerWord(s.cfg.Backup), b.cfg.Name, s.cfg.Name, why, act, bck, health.OnBackup(act, bck), sess))
		b.noServerAlert()
	}
	port := s.destination().port
	if s.cfg.SRVRecord != "" {
		port = 0 // the port came with the record
	}
	b.setDest(s, serverDest{"", port})
}

// leaveMaint takes s out of resolution maintenance once its name
// resolves again. Called with stateMu held.
func (g *dnsGroup) leaveMaint(s *server, admin bool) {
	s.dns.maint.Store(false)
	b := g.b
	if s.checker != nil {
		s.dns.resumed.Store(true)
		s.checker.Resume() // back UP at full health; the next check says more
		s.healthy.Store(true)
	}
	if s.admin.Load() == adminMaint {
		return // still in forced maintenance
	}
	b.setState(s, stateUp)
	b.rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s %s/%s ('%s') is UP/READY (resolves again).", health.ServerWord(s.cfg.Backup), b.cfg.Name, s.cfg.Name, s.fqdn()))
	if admin {
		b.rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s %s/%s administratively READY thanks to valid DNS answer.", health.ServerWord(s.cfg.Backup), b.cfg.Name, s.cfg.Name))
	}
	b.rt.leaveMaint(b, s)
	b.noServerAlert()
}

func orNone(host string) string {
	if host == "" {
		return "(none)"
	}
	return host
}
