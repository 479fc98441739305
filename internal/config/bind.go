package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/halo-lb/halo/internal/suggest"
	"github.com/halo-lb/halo/internal/tlsx"
)

type bindOpt struct {
	args  int
	doc   string
	apply func(b *builder, bd *Bind, v string) error
}

func bSSL(f func(b *builder, s *BindSSL, v string) error) func(*builder, *Bind, string) error {
	return func(b *builder, bd *Bind, v string) error {
		if bd.SSL == nil {
			bd.SSL = &BindSSL{}
		}
		return f(b, bd.SSL, v)
	}
}

func bFlag(f func(*Bind)) func(*builder, *Bind, string) error {
	return func(_ *builder, bd *Bind, _ string) error { f(bd); return nil }
}

const (
	cipherDoc = "OpenSSL TLS 1.2 cipher string, evaluated over Go's suites: keywords (HIGH, ECDHE+AESGCM, ...) narrow Go's default suites, named ciphers are enabled; one Go does not implement (DHE, CAMELLIA, ...) is skipped with a warning, a misspelt one or a string leaving no suite is an error"
	suitesDoc = "TLS 1.3 suites: names are checked, but Go always offers its three TLS 1.3 suites (AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305) whatever the list says; -c warns"
)

var bindOpts = map[string]bindOpt{
	"transparent":  {0, "bind a non-local address (IP_TRANSPARENT)", bFlag(func(bd *Bind) { bd.Transparent = true })},
	"freebind":     {0, "bind an address not (yet) present (IP_FREEBIND), e.g. a VRRP virtual IP", bFlag(func(bd *Bind) { bd.FreeBind = true })},
	"v4v6":         {0, "accept IPv4 on an IPv6 wildcard", bFlag(func(bd *Bind) { bd.V4V6 = true })},
	"v6only":       {0, "IPv6 only on an IPv6 wildcard", bFlag(func(bd *Bind) { bd.V6Only = true })},
	"accept-proxy": {0, "expect a PROXY protocol header", bFlag(func(bd *Bind) { bd.AcceptProxy = true })},
	"backlog": {1, "listen queue length", func(_ *builder, bd *Bind, v string) error {
		n, err := parseInt(v, 1, 1<<20)
		bd.Backlog = n
		return err
	}},
	"maxconn": {1, "concurrent connections on this listener", func(_ *builder, bd *Bind, v string) error {
		n, err := parseInt(v, 0, 1<<30)
		bd.MaxConn = n
		return err
	}},
	"interface": {1, "bind to a network interface (SO_BINDTODEVICE)", func(_ *builder, bd *Bind, v string) error { bd.Interface = v; return nil }},
	"name":      {1, "listener name", func(_ *builder, bd *Bind, v string) error { bd.Name = v; return nil }},
	"mode": {1, "unix socket permissions (octal)", func(_ *builder, bd *Bind, v string) error {
		n, err := strconv.ParseUint(v, 8, 32)
		if err != nil {
			return fmt.Errorf("expects an octal mode, got '%s'", v)
		}
		bd.Mode = uint32(n)
		return nil
	}},
	"alpn": {1, "ALPN protocols offered (TLS)", func(_ *builder, bd *Bind, v string) error { bd.ALPN = strings.Split(v, ","); return nil }},
	"proto": {1, "force the application protocol (h2)", func(_ *builder, bd *Bind, v string) error {
		if v != "h2" && v != "h1" {
			return fmt.Errorf("unknown protocol '%s' (expected h1 or h2)", v)
		}
		bd.Proto = v
		return nil
	}},
	"ssl": {0, "terminate TLS on this listener", bSSL(func(*builder, *BindSSL, string) error { return nil })},
	"crt": {1, "certificate bundle or directory", bSSL(func(b *builder, s *BindSSL, v string) error {
		f := b.resolve(b.cfg.Global.CRTBase, v)
		if err := statFile("SSL certificate", f); err != nil {
			return err
		}
		s.Certs = append(s.Certs, f)
		return nil
	})},
	"crt-list": {1, "certificate list file: relative certificate paths in it are relative to crt-base (else to the working directory), as HAProxy", bSSL(func(b *builder, s *BindSSL, v string) error {
		s.CRTLists = append(s.CRTLists, b.path(v)) // not relative to crt-base, as HAProxy
		// The certificates it names are relative to crt-base, itself
		// relative to default-path (the working directory by default).
		base := b.cfg.Global.CRTBase
		if base == "" && b.defPath.mode != "" {
			base = "."
		}
		s.CRTListBase = b.resolve("", base)
		return nil
	})},
	"ca-file": {1, "CA bundle for client certificates", bSSL(func(b *builder, s *BindSSL, v string) error { s.CAFile = b.resolve(b.cfg.Global.CABase, v); return nil })},
	"crl-file": {1, "CRL for client certificates", bSSL(func(b *builder, s *BindSSL, v string) error {
		s.CRLFile = b.resolve(b.cfg.Global.CABase, v)
		return nil
	})},
	"verify": {1, "client certificates: none, optional, required", bSSL(func(_ *builder, s *BindSSL, v string) error {
		if v != "none" && v != "optional" && v != "required" {
			return fmt.Errorf("expects 'none', 'optional' or 'required', got '%s'", v)
		}
		s.Verify = v
		return nil
	})},
	"ssl-min-ver": {1, "lowest TLS version", bSSL(func(_ *builder, s *BindSSL, v string) error {
		if !tlsVersion(v) {
			return fmt.Errorf("unknown TLS version '%s'", v)
		}
		s.MinVer = v
		return nil
	})},
	"ssl-max-ver": {1, "highest TLS version", bSSL(func(_ *builder, s *BindSSL, v string) error {
		if !tlsVersion(v) {
			return fmt.Errorf("unknown TLS version '%s'", v)
		}
		s.MaxVer = v
		return nil
	})},
	"ciphers":               {1, cipherDoc, bSSL(func(_ *builder, s *BindSSL, v string) error { s.Ciphers = v; return nil })},
	"ciphersuites":          {1, suitesDoc, bSSL(func(_ *builder, s *BindSSL, v string) error { s.Suites = v; return nil })},
	"no-sslv3":              {0, "disable SSLv3", bNoVer("no-sslv3")},
	"no-tlsv10":             {0, "disable TLS 1.0", bNoVer("no-tlsv10")},
	"no-tlsv11":             {0, "disable TLS 1.1", bNoVer("no-tlsv11")},
	"no-tlsv12":             {0, "disable TLS 1.2", bNoVer("no-tlsv12")},
	"no-tlsv13":             {0, "disable TLS 1.3", bNoVer("no-tlsv13")},
	"user":                  {1, "", nil},
	"group":                 {1, "", nil},
	"uid":                   {1, "", nil},
	"gid":                   {1, "", nil},
	"namespace":             {1, "", nil},
	"defer-accept":          {0, "", nil},
	"tfo":                   {0, "", nil},
	"mss":                   {1, "", nil},
	"id":                    {1, "", nil},
	"nice":                  {1, "", nil},
	"process":               {1, "", nil},
	"thread":                {1, "", nil},
	"level":                 {1, "", nil},
	"severity-output":       {1, "", nil},
	"expose-fd":             {1, "", nil},
	"tcp-ut":                {1, "", nil},
	"npn":                   {1, "", nil},
	"curves":                {1, "", nil},
	"ecdhe":                 {1, "", nil},
	"strict-sni":            {0, "refuse handshakes whose SNI matches no certificate", bSSL(func(_ *builder, s *BindSSL, _ string) error { s.StrictSNI = true; return nil })},
	"prefer-client-ciphers": {0, "Go's TLS stack already follows the client's order (with hardware support)", bSSL(func(*builder, *BindSSL, string) error { return nil })},
	"generate-certificates": {0, "", nil},
	"allow-0rtt":            {0, "", nil},
	"ca-ignore-err":         {1, "client certificate chain errors (OpenSSL error IDs, or all) that do not abort the handshake", bIgnoreErr(func(s *BindSSL) *tlsx.IgnoreSet { return &s.CAIgnore })},
	"crt-ignore-err":        {1, "client certificate errors (OpenSSL error IDs, or all) that do not abort the handshake", bIgnoreErr(func(s *BindSSL) *tlsx.IgnoreSet { return &s.CRTIgnore })},
	"ca-sign-file":          {1, "", nil},
	"no-tls-tickets":        {0, "disable TLS session tickets", bSSL(func(_ *builder, s *BindSSL, _ string) error { s.NoTickets = true; return nil })},
	"no-ca-names":           {0, "", nil},
	"quic-cc-algo":          {1, "", nil},
	"quic-force-retry":      {0, "", nil},
	"force-sslv3":           {0, "", nil},
	"force-tlsv10":          {0, "", nil},
	"force-tlsv11":          {0, "", nil},
	"force-tlsv12":          {0, "", nil},
	"force-tlsv13":          {0, "", nil},
	"sigalgs":               {1, "", nil},
	"client-sigalgs":        {1, "", nil},
}

func bIgnoreErr(field func(*BindSSL) *tlsx.IgnoreSet) func(*builder, *Bind, string) error {
	return bSSL(func(_ *builder, s *BindSSL, v string) (err error) {
		*field(s), err = tlsx.ParseIgnoreErr(v)
		return err
	})
}

func bNoVer(name string) func(*builder, *Bind, string) error {
	return bSSL(func(_ *builder, s *BindSSL, _ string) error {
		s.NoVersions = append(s.NoVersions, name)
		return nil
	})
}

func bindOptNames() []string {
	out := make([]string, 0, len(bindOpts))
	for k := range bindOpts {
		out = append(out, k)
	}
	return out
}

// parseBind parses `bind <addr>[,<addr>...] [options]`. Each address
// yields one Bind sharing the options.
func (b *builder) parseBind(ln *Line) {
	w := ln.Words
	if len(w) < 2 {
		b.errorf(ln.Pos, "'bind' expects [addr1]:port1[-end1]{,[addr]:port[-end]}... as arguments")
		return
	}
	var tmpl Bind
	tmpl.Pos = ln.Pos
	for i := 2; i < len(w); i++ {
		name := w[i]
		opt, ok := bindOpts[name]
		if !ok {
			b.errorf(ln.Pos, "'bind %s' unknown keyword '%s'%s", w[1], name, suggest.Hint(name, bindOptNames()))
			return
		}
		if opt.apply == nil {
			b.errorf(ln.Pos, "'bind %s' : option '%s' is valid in HAProxy but not supported by halo yet", w[1], name)
			return
		}
		v := ""
		if opt.args > 0 {
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'bind %s' : '%s' expects an argument", w[1], name)
				return
			}
			v = w[i+1]
		}
		if err := opt.apply(b, &tmpl, v); err != nil {
			b.errorf(ln.Pos, "'bind %s' : '%s' %v", w[1], name, err)
			return
		}
		i += opt.args
	}
	if tmpl.SSL != nil && !hasWord(w[2:], "ssl") {
		// crt/ca-file without ssl: HAProxy accepts and ignores them with a
		// warning; halo says so too.
		b.warnf(ln.Pos, "'bind %s' : TLS options given without the 'ssl' keyword: the listener serves clear text", w[1])
		tmpl.SSL = nil
	}
	if tmpl.SSL != nil && len(tmpl.SSL.Certs) == 0 && len(tmpl.SSL.CRTLists) == 0 {
		b.errorf(ln.Pos, "'bind %s' : 'ssl' requires a certificate: add 'crt <file>' or 'crt-list <file>'", w[1])
		return
	}
	for _, one := range strings.Split(w[1], ",") {
		raw := one
		a, err := parseAddr(raw, true)
		if err != nil {
			b.errorf(ln.Pos, "'bind' : %v", err)
			continue
		}
		bd := tmpl
		switch a.family {
		case "fd":
			bd.Network, bd.FD = "fd", a.fd
		case "unix":
			bd.Network, bd.Path = "unix", a.path
		default:
			if !a.hasPort {
				b.errorf(ln.Pos, "'bind' : missing port number: '%s'", raw)
				continue
			}
			if a.mapped || a.portLo == 0 {
				b.errorf(ln.Pos, "'bind' : invalid port in '%s'", raw)
				continue
			}
			bd.Network = "tcp"
			if a.family == "ipv4" {
				bd.Network = "tcp4"
			} else if a.family == "ipv6" {
				bd.Network = "tcp6"
			}
			bd.Host, bd.PortLow, bd.PortHigh = a.host, a.portLo, a.portHi
		}
		b.px.Binds = append(b.px.Binds, &bd)
	}
}

func hasWord(ws []string, x string) bool {
	for _, w := range ws {
		if w == x {
			return true
		}
	}
	return false
}

// statFile checks that a file named by the configuration exists, as
// HAProxy does while parsing.
func statFile(what, f string) error {
	if _, err := os.Stat(f); err != nil {
		return fmt.Errorf("unable to stat %s from file '%s' : %s", what, f, unwrapPathErr(err))
	}
	return nil
}
