package config

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/halo-lb/halo/internal/suggest"
)

// Resolvers is a `resolvers` section: the DNS servers that resolve the
// host names of servers with `resolvers <name>` at run time.
type Resolvers struct {
	Name        string
	Pos         Pos
	Nameservers []Nameserver
	// ParseResolvConf adds the nameservers of /etc/resolv.conf.
	ParseResolvConf bool
	PayloadSize     int           // accepted_payload_size (EDNS0), default 512
	Retries         int           // resolve_retries, default 3
	TimeoutResolve  time.Duration // timeout resolve: period of the resolutions, default 1s
	TimeoutRetry    time.Duration // timeout retry: wait for an answer before retrying, default 1s
	Hold            Hold
	// Implicit: the "default" section HAProxy creates from resolv.conf
	// when the configuration has none.
	Implicit bool
}

// Hold is how long a resolution status is kept (the hold lines).
type Hold struct {
	Valid, NX, Other, Refused, Timeout, Obsolete time.Duration
}

// Nameserver is one `nameserver <id> [tcp@|udp@]<ip>:<port>` line.
type Nameserver struct {
	ID      string
	Network string // "udp" or "tcp"
	Addr    netip.AddrPort
	Pos     Pos
}

// resolversKeywords documents the keywords of a resolvers section (docs/config.md).
var resolversKeywords = []Keyword{
	{Name: "nameserver", Doc: "`<id> [udp@|tcp@]<ip>:<port>`: a DNS server (an IP address; host names are not supported yet)"},
	{Name: "parse-resolv-conf", Doc: "add the nameservers of /etc/resolv.conf"},
	{Name: "accepted_payload_size", Doc: "EDNS0 UDP payload size announced, 12 to 65535 (default 512)"},
	{Name: "resolve_retries", Doc: "queries sent before giving up a resolution (default 3)"},
	{Name: "timeout", Doc: "`resolve <time>`: period of the resolutions (default 1s); `retry <time>`: wait for an answer before retrying (default 1s)"},
	{Name: "hold", Doc: "`valid|nx|other|refused|timeout|obsolete <time>`: how long a status is kept; `valid` also spaces the resolutions of a name"},
}

// ResolversKeywords returns the resolvers section keywords (for docs).
func ResolversKeywords() []Keyword { return resolversKeywords }

func newResolvers(name string, pos Pos) *Resolvers {
	return &Resolvers{Name: name, Pos: pos, PayloadSize: 512, Retries: 3, TimeoutResolve: time.Second,
		TimeoutRetry: time.Second, Hold: Hold{Valid: 10 * time.Second, NX: 30 * time.Second, Other: 30 * time.Second,
			Refused: 30 * time.Second, Timeout: 30 * time.Second}}
}

// Resolver returns the resolvers section called name, or nil.
func (c *Config) Resolver(name string) *Resolvers {
	for _, r := range c.Resolvers {
		if r.Name == name {
			return r
		}
	}
	return nil
}

func (b *builder) openResolvers(ln *Line) {
	w := ln.Words
	b.resolvers = nil
	if len(w) < 2 {
		b.errorf(ln.Pos, "missing name for resolvers section.")
		return
	}
	if len(w) > 2 {
		b.warnf(ln.Pos, "'resolvers %s' : extra argument '%s' ignored (HAProxy ignores it too).", w[1], w[2])
	}
	if o := b.cfg.Resolver(w[1]); o != nil {
		b.errorf(ln.Pos, "resolvers '%s' has same name as another resolvers (declared at %s).", w[1], o.Pos)
		return
	}
	b.resolvers = newResolvers(w[1], ln.Pos)
	b.cfg.Resolvers = append(b.cfg.Resolvers, b.resolvers)
}

func (b *builder) resolversLine(ln *Line) {
	r := b.resolvers
	w := ln.Words
	extra := func(n int) {
		if len(w) > n {
			b.warnf(ln.Pos, "'%s' : extra argument '%s' ignored (HAProxy ignores it too).", w[0], w[n])
		}
	}
	switch w[0] {
	case "nameserver":
		if len(w) < 3 {
			b.errorf(ln.Pos, "'nameserver' expects <name> and <addr>[:<port>] as arguments.")
			return
		}
		for _, ns := range r.Nameservers {
			if ns.ID == w[1] {
				b.errorf(ln.Pos, "nameserver '%s' has same name as another nameserver (declared at %s).", w[1], ns.Pos)
				return
			}
		}
		ns, err := parseNameserver(w[2])
		if err != nil {
			b.errorf(ln.Pos, "'nameserver %s' : %v", w[1], err)
			return
		}
		ns.ID, ns.Pos = w[1], ln.Pos
		r.Nameservers = append(r.Nameservers, ns)
		extra(3)
	case "parse-resolv-conf":
		r.ParseResolvConf = true
		extra(1)
	case "accepted_payload_size":
		if len(w) < 2 {
			b.errorf(ln.Pos, "'accepted_payload_size' expects <nb> as argument.")
			return
		}
		n, err := strconv.Atoi(w[1])
		if err != nil || n < 12 || n > 65535 {
			b.errorf(ln.Pos, "'accepted_payload_size' must be between 12 and 65535 inclusive (was %s).", w[1])
			return
		}
		r.PayloadSize = n
		extra(2)
	case "resolve_retries":
		if len(w) < 2 {
			b.errorf(ln.Pos, "'resolve_retries' expects <nb> as argument.")
			return
		}
		n, err := strconv.Atoi(w[1])
		if err != nil || n < 1 {
			// HAProxy reads it with atoi and accepts 0 and words: a resolution then never answers.
			b.errorf(ln.Pos, "'resolve_retries' expects a positive number of queries, got '%s'.", w[1])
			return
		}
		r.Retries = n
		extra(2)
	case "timeout":
		if len(w) < 2 || w[1] != "retry" && w[1] != "resolve" {
			got := ""
			if len(w) > 1 {
				got = w[1]
			}
			b.errorf(ln.Pos, "'timeout' expects 'retry' or 'resolve' and <time> as arguments got '%s'.", got)
			return
		}
		if len(w) < 3 {
			b.errorf(ln.Pos, "'timeout %s' expects <time> as argument.", w[1])
			return
		}
		d, err := parseTime(w[2])
		if err != nil {
			b.errorf(ln.Pos, "unexpected character in argument to <timeout %s>: %v.", w[1], err)
			return
		}
		if d <= 0 {
			b.errorf(ln.Pos, "'timeout %s' expects a positive time, got '%s'.", w[1], w[2])
			return
		}
		if w[1] == "retry" {
			r.TimeoutRetry = d
		} else {
			r.TimeoutResolve = d
		}
		extra(3)
	case "hold":
		if len(w) < 3 {
			b.errorf(ln.Pos, "'hold' expects an <event> and a <time> as arguments.")
			return
		}
		var dst *time.Duration
		switch w[1] {
		case "valid":
			dst = &r.Hold.Valid
		case "nx":
			dst = &r.Hold.NX
		case "other":
			dst = &r.Hold.Other
		case "refused":
			dst = &r.Hold.Refused
		case "timeout":
			dst = &r.Hold.Timeout
		case "obsolete":
			dst = &r.Hold.Obsolete
		default:
			b.errorf(ln.Pos, "'hold' unknown <event>: '%s', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'.", w[1])
			return
		}
		d, err := parseTime(w[2])
		if err != nil {
			b.errorf(ln.Pos, "unexpected character in argument to <hold>: %v.", err)
			return
		}
		*dst = d
		extra(3)
	default:
		names := make([]string, len(resolversKeywords))
		for i, k := range resolversKeywords {
			names[i] = k.Name
		}
		b.errorf(ln.Pos, "unknown keyword '%s' in 'resolvers' section%s", w[0], suggest.Hint(w[0], names))
	}
}

// parseNameserver parses [udp@|tcp@]<ip>:<port>.
func parseNameserver(s string) (Nameserver, error) {
	ns := Nameserver{Network: "udp"}
	spec := s
	if i := strings.Index(s, "@"); i > 0 {
		switch s[:i] {
		case "udp", "udp4", "udp6", "ipv4", "ipv6":
		case "tcp", "tcp4", "tcp6":
			ns.Network = "tcp"
		default:
			return ns, fmt.Errorf("address family '%s@' of nameserver '%s' is not supported by halo (use udp@ or tcp@ with an IP address)", s[:i], s)
		}
		spec = s[i+1:]
	}
	host, port, err := net.SplitHostPort(spec)
	if err != nil {
		if !strings.Contains(spec, ":") || strings.HasSuffix(spec, "]") {
			return ns, fmt.Errorf("missing port specification in '%s'", s)
		}
		return ns, fmt.Errorf("invalid address '%s'", s)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return ns, fmt.Errorf("invalid port '%s'", port)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return ns, fmt.Errorf("nameserver address '%s' is a host name: halo wants an IP address here (not supported yet)", host)
	}
	ns.Addr = netip.AddrPortFrom(ip.Unmap(), uint16(p))
	return ns, nil
}

// finishResolvers adds the resolv.conf nameservers and warns about
// sections without nameservers, as HAProxy does.
func (b *builder) finishResolvers() {
	for _, r := range b.cfg.Resolvers {
		if r.ParseResolvConf {
			ns, err := resolvConfNameservers(b.opts.ResolvConf)
			if err != nil {
				b.errorf(r.Pos, "resolvers '%s': failed to open %s: %v", r.Name, b.opts.ResolvConf, err)
			}
			r.Nameservers = append(r.Nameservers, ns...)
		}
		if len(r.Nameservers) == 0 {
			b.warnf(Pos{}, "resolvers '%s' [%s] has no nameservers configured!", r.Name, r.Pos)
		}
	}
	// Like HAProxy 2.6, a section called "default" exists without being
	// written, with the nameservers of resolv.conf (when it has some).
	if b.cfg.Resolver("default") == nil {
		if ns, err := resolvConfNameservers(b.opts.ResolvConf); err == nil && len(ns) > 0 {
			r := newResolvers("default", Pos{File: b.opts.ResolvConf})
			r.ParseResolvConf, r.Nameservers, r.Implicit = true, ns, true
			b.cfg.Resolvers = append(b.cfg.Resolvers, r)
		}
	}
}

// resolvConfNameservers reads the nameserver lines of a resolv.conf,
// named as HAProxy names them (by their address).
func resolvConfNameservers(path string) ([]Nameserver, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []Nameserver
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		ip, err := netip.ParseAddr(f[1])
		if err != nil {
			continue
		}
		out = append(out, Nameserver{ID: ip.Unmap().String(), Network: "udp", Addr: netip.AddrPortFrom(ip.Unmap(), 53), Pos: Pos{File: path, Line: n}})
	}
	return out, sc.Err()
}
