package config

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// InitAddr is one method of `init-addr`: how a server's first address
// is found.
type InitAddr struct {
	Method string     // "last", "libc", "none" or "ip"
	IP     netip.Addr // for "ip"
}

// ServerDNS is the run-time DNS resolution of a server line.
type ServerDNS struct {
	Resolvers string         // `resolvers <name>`
	Prefer    string         // resolve-prefer: "ipv4" or "ipv6" ("" = ipv6, HAProxy's default)
	Nets      []netip.Prefix // resolve-net: preferred networks, in order
	// resolve-opts
	AllowDupIP, IgnoreWeight, PreventDupIP bool
	InitAddr                               []InitAddr // nil: libc (and none with resolvers)
}

var dnsServerOpts = map[string]serverOpt{
	"resolvers": {1, true, "resolvers section that re-resolves the server's host name at run time", func(_ *builder, s *Server, v string) error {
		s.DNS.Resolvers = v
		return nil
	}},
	"resolve-prefer": {1, true, "ipv4|ipv6: address family preferred in DNS answers (default ipv6)", func(_ *builder, s *Server, v string) error {
		if v != "ipv4" && v != "ipv6" {
			return fmt.Errorf("expects either ipv4 or ipv6 as argument.")
		}
		s.DNS.Prefer = v
		return nil
	}},
	"resolve-net": {1, true, "comma-separated networks preferred in DNS answers", func(_ *builder, s *Server, v string) error {
		var nets []netip.Prefix
		for _, n := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(n)
			if err != nil {
				return fmt.Errorf("invalid network '%s'.", n)
			}
			nets = append(nets, p.Masked())
		}
		s.DNS.Nets = nets
		return nil
	}},
	"resolve-opts": {1, true, "allow-dup-ip,ignore-weight,prevent-dup-ip: how DNS answers are shared between servers", func(_ *builder, s *Server, v string) error {
		s.DNS.AllowDupIP, s.DNS.IgnoreWeight, s.DNS.PreventDupIP = false, false, false
		for _, o := range strings.Split(v, ",") {
			switch o {
			case "allow-dup-ip":
				s.DNS.AllowDupIP = true
			case "ignore-weight":
				s.DNS.IgnoreWeight = true
			case "prevent-dup-ip":
				s.DNS.PreventDupIP = true
			default:
				return fmt.Errorf(": unknown resolve-opts option '%s', supported methods are 'allow-dup-ip', 'ignore-weight', and 'prevent-dup-ip'.", o)
			}
		}
		return nil
	}},
	"init-addr": {1, true, "last,libc,none,<ip>: how the first address is found, in order", func(_ *builder, s *Server, v string) error {
		var m []InitAddr
		for _, w := range strings.Split(v, ",") {
			switch w {
			case "":
			case "last", "libc", "none":
				m = append(m, InitAddr{Method: w})
			default:
				ip, err := netip.ParseAddr(w)
				if err != nil {
					return fmt.Errorf(": unknown init-addr method '%s', supported methods are 'libc', 'last', 'none'.", w)
				}
				m = append(m, InitAddr{Method: "ip", IP: ip.Unmap()})
			}
		}
		s.DNS.InitAddr = m
		return nil
	}},
}

func init() {
	for k, v := range dnsServerOpts {
		serverOpts[k] = v
	}
}

// parseServerTemplate expands `server-template <prefix> <num|range>
// <fqdn>[:port] [params*]` into server lines prefixN.
func (b *builder) parseServerTemplate(ln *Line) {
	w := ln.Words
	if len(w) < 4 {
		b.errorf(ln.Pos, "'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments.")
		return
	}
	lo, hi := 1, 0
	if a, c, ok := strings.Cut(w[2], "-"); ok {
		l, err1 := strconv.Atoi(a)
		h, err2 := strconv.Atoi(c)
		if err1 == nil && err2 == nil && l >= 1 && h >= l {
			lo, hi = l, h
		}
	} else if n, err := strconv.Atoi(w[2]); err == nil && n >= 1 {
		hi = n
	}
	if hi < lo || hi-lo >= 1<<16 {
		b.errorf(ln.Pos, "Wrong server-template number or range arg '%s'.", w[2])
		return
	}
	for i := lo; i <= hi; i++ {
		words := append([]string{"server", w[1] + strconv.Itoa(i), w[3]}, w[4:]...)
		n := len(b.px.Servers)
		b.parseServer(&Line{Pos: ln.Pos, Words: words}, false)
		if len(b.px.Servers) == n {
			return // the error was reported once
		}
		s := b.px.Servers[n]
		s.Template = true
	}
}

// initServerAddrs finds the first address of the servers whose host
// name is resolved at run time (`resolvers`) or that have `init-addr`,
// as HAProxy does at start-up: each init-addr method in turn (default
// libc; with resolvers an unresolved server starts in maintenance).
func (b *builder) initServerAddrs(px *Proxy, s *Server, last map[string]string) bool {
	if s.DNS.Resolvers == "" && s.DNS.InitAddr == nil {
		return false
	}
	if s.DNS.Resolvers != "" && b.cfg.Resolver(s.DNS.Resolvers) == nil {
		b.errorf(s.Pos, "backend '%s', server '%s': unable to find required resolvers '%s'", px.Name, s.Name, s.DNS.Resolvers)
		return true
	}
	if s.Host == "" {
		return true
	}
	if ip, err := netip.ParseAddr(s.Host); err == nil {
		_ = ip
		return true // an address: nothing to resolve
	}
	s.FQDN = s.Host
	if strings.HasPrefix(s.Host, "_") && s.DNS.Resolvers != "" {
		s.SRVRecord = s.Host
	}
	methods := s.DNS.InitAddr
	implicit := methods == nil
	if implicit {
		methods = []InitAddr{{Method: "libc"}}
	}
	failed := false
	for _, m := range methods {
		switch m.Method {
		case "none":
			if failed {
				b.warnf(s.Pos, "'server %s/%s' : could not resolve address '%s', disabling server.", px.Name, s.Name, s.FQDN)
			}
			s.Host, s.InitMaint = "", true
			return true
		case "ip":
			s.Host = m.IP.String()
			return true
		case "last":
			if a, ok := last[px.Name+"/"+s.Name]; ok {
				s.Host = a
				return true
			}
		case "libc":
			if s.SRVRecord == "" {
				if addrs, err := b.opts.ResolveAddrs(s.FQDN); err == nil && len(addrs) > 0 {
					s.Host = libcAddr(addrs, s.DNS.Prefer).String()
					return true
				}
			}
		}
		failed = true
	}
	switch {
	case implicit && s.DNS.Resolvers != "":
		b.warnf(s.Pos, "'server %s/%s' : could not resolve address '%s', disabling server.", px.Name, s.Name, s.FQDN)
		s.Host, s.InitMaint = "", true
	case methods[len(methods)-1].Method == "libc":
		b.errorf(s.Pos, "'server %s/%s' : could not resolve address '%s'.", px.Name, s.Name, s.FQDN)
	default:
		b.errorf(s.Pos, "'server %s/%s' : no method found to resolve address '%s'.", px.Name, s.Name, s.FQDN)
	}
	return true
}

// libcAddr is the address init-addr libc takes: the first one the
// system resolver gives (as HAProxy's getaddrinfo call), or the first of
// the family resolve-prefer names.
func libcAddr(addrs []netip.Addr, prefer string) netip.Addr {
	if prefer != "" {
		for _, a := range addrs {
			if a.Unmap().Is4() == (prefer == "ipv4") {
				return a.Unmap()
			}
		}
	}
	return addrs[0].Unmap()
}

// lastAddrs reads the server addresses of the state files named by
// the backends (load-server-state-from-file), for init-addr last:
// "backend/server" -> address.
func (b *builder) lastAddrs() map[string]string {
	out := map[string]string{}
	g := b.cfg.Global
	read := map[string]bool{}
	for _, px := range b.cfg.Proxies {
		var file string
		switch px.StateFrom {
		case "global":
			file = g.ServerStateFile
		case "local":
			file = px.StateFileName
			if file == "" || file == "use-backend-name" {
				file = px.Name
			}
		}
		if file == "" {
			continue
		}
		if !filepath.IsAbs(file) && g.ServerStateBase != "" {
			file = filepath.Join(g.ServerStateBase, file)
		}
		if read[file] {
			continue
		}
		read[file] = true
		fh, err := os.Open(file)
		if err != nil {
			continue // the run time warns about it
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 5 || f[0] == "#" {
				continue
			}
			if ip, err := netip.ParseAddr(f[4]); err == nil {
				out[f[1]+"/"+f[3]] = ip.String()
			}
		}
		fh.Close()
	}
	return out
}
