package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/tlsx"
	"net"
	"os"
	"strconv"
	"strings"
)

// finish runs the checks that need the whole configuration: references
// between proxies, modes, servers and timeouts.
func (b *builder) finish() {
	cfg := b.cfg
	b.checkAuthRefs()
	b.checkCaches()
	b.fixProxyIDs()
	for _, px := range cfg.Proxies {
		if px.Cap&CapBackend != 0 {
			b.fixServers(px)
			if px.Check.Kind == CheckTCP && len(px.Check.TCPSteps) > 0 && px.Check.TCPSteps[0].Action != TCPCheckConnect && px.Check.TCPSteps[0].Action != TCPCheckComment {
				// HAProxy implicitly connects first; nothing to do.
			}
		} else if len(px.Servers) > 0 {
			b.errorf(px.Servers[0].Pos, "'server' is not allowed in a frontend")
		}
		if px.Cap == CapBackend {
			for _, r := range px.TCPRequest {
				if r.Layer == "connection" {
					b.errorf(r.Pos, "'tcp-request connection' is not allowed in a backend: it runs when a frontend accepts a connection")
				}
			}
		}
		b.loadErrorPages(px)
		b.logFormat(px)
		b.bindTLS(px)
		if px.Mode == ModeTCP && px.Cap&CapBackend != 0 && px.RetryOn != RetryConnFailure && px.RetryOnPos.Line > 0 {
			b.warnf(px.RetryOnPos, "'retry-on' has no effect on %s '%s': it applies to HTTP requests (mode tcp retries connection failures only).", capName(px.Cap), px.Name)
		}
		if px.Cap&CapBackend != 0 {
			b.externalCheck(cfg, px)
		}
		if px.Cap&CapFrontend == 0 {
			continue
		}
		if px.DefaultBackend != nil && px.DefaultBackend.Format == "" {
			be := cfg.Proxy(px.DefaultBackend.Name, CapBackend)
			switch {
			case be == nil:
				b.errs = append(b.errs, Diagnostic{Pos: px.DefaultBackend.Pos, Severity: SevAlert,
					Msg: fmt.Sprintf("Proxy '%s': unable to find required default_backend: '%s'.", px.Name, px.DefaultBackend.Name)})
			case be == px:
				b.errorf(px.DefaultBackend.Pos, "Proxy '%s': default_backend cannot point to itself.", px.Name)
			case be.Mode != px.Mode:
				b.errorf(px.DefaultBackend.Pos, "%s frontend '%s' (%s) tries to use incompatible %s backend '%s' (%s) as its default backend (see 'mode').", px.Mode, px.Name, px.Pos, be.Mode, be.Name, be.Pos)
			}
			px.DefaultBackend.Backend = be
		}
		for _, ub := range px.UseBackends {
			if ub.Format != "" {
				continue
			}
			be := cfg.Proxy(ub.Name, CapBackend)
			switch {
			case be == nil:
				b.errorf(ub.Pos, "Proxy '%s': unable to find required use_backend: '%s'.", px.Name, ub.Name)
			case be.Mode != px.Mode:
				b.errorf(ub.Pos, "%s frontend '%s' (%s) tries to use incompatible %s backend '%s' (%s) in a 'use_backend' rule (see 'mode').", px.Mode, px.Name, px.Pos, be.Mode, be.Name, be.Pos)
			}
			ub.Backend = be
		}
		if px.Mode == ModeTCP {
			b.ignoreHTTPRules(px)
		}
	}
	b.finishResolvers()
	b.checkAddresses()
	b.checkTimeouts()
	b.checkBinds()
	b.checkStickRefs() // after logFormat, whose samples name tables too
}

// checkTimeouts emits HAProxy's missing-timeouts warning.
func (b *builder) checkTimeouts() {
	for _, px := range b.cfg.Proxies {
		if px.Disabled {
			continue
		}
		var missing []string
		if px.Cap&CapFrontend != 0 && px.Timeouts.Client == 0 {
			missing = append(missing, "'client'")
		}
		if px.Cap&CapBackend != 0 {
			if px.Timeouts.Connect == 0 {
				missing = append(missing, "'connect'")
			}
			if px.Timeouts.Server == 0 {
				missing = append(missing, "'server'")
			}
		}
		if len(missing) == 0 {
			continue
		}
		list := strings.Join(missing, ", ")
		b.warnf(Pos{}, "missing timeouts for %s '%s'.\n   | While not properly invalid, you will certainly encounter various problems\n   | with such a configuration. To fix this, please ensure that all following\n   | timeouts are set to a non-zero value: %s.", capName(px.Cap), px.Name, list)
	}
}

// loadErrorPages reads the errorfile and errorfiles responses of px into
// px.ErrorPages (errorfile lines win over errorfiles sections).
func (b *builder) loadErrorPages(px *Proxy) {
	files := map[int]string{}
	for _, name := range px.ErrorFilesFrom {
		sec, ok := b.httpErrors[name]
		if !ok {
			b.errorf(px.Pos, "proxy '%s': unable to find http-errors section '%s' referenced by 'errorfiles'", px.Name, name)
			continue
		}
		for code, f := range sec {
			files[code] = f
		}
	}
	for code, f := range px.ErrorFiles {
		files[code] = f
	}
	for code, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.errorf(px.Pos, "proxy '%s': error opening file <%s>: %s", px.Name, f, unwrapPathErr(err))
			continue
		}
		if data, err = normalizeErrorPage(data); err != nil {
			b.errorf(px.Pos, "proxy '%s': errorfile : '%s': %v", px.Name, f, err)
			continue
		}
		if px.ErrorPages == nil {
			px.ErrorPages = map[int][]byte{}
		}
		px.ErrorPages[code] = data
	}
}

// bindTLS loads the certificates of px's TLS listeners.
func (b *builder) bindTLS(px *Proxy) {
	for _, bd := range px.Binds {
		s := bd.SSL
		if s == nil || s.Config != nil {
			continue
		}
		o := tlsx.BindOptions{Certs: s.Certs, CRTLists: s.CRTLists, CAFile: s.CAFile, CRLFile: s.CRLFile, Verify: s.Verify,
			MinVer: s.MinVer, MaxVer: s.MaxVer, NoVersions: s.NoVersions, Ciphers: s.Ciphers, Suites: s.Suites, ALPN: bd.ALPN,
			CAIgnore: s.CAIgnore, CRTIgnore: s.CRTIgnore, Registry: b.certs(), CRTBase: s.CRTListBase}
		if s.Verify == "" || s.Verify == "none" {
			for _, o := range []struct {
				name string
				set  bool
			}{{"crl-file", s.CRLFile != ""}, {"ca-ignore-err", s.CAIgnore.All || len(s.CAIgnore.Codes) > 0}, {"crt-ignore-err", s.CRTIgnore.All || len(s.CRTIgnore.Codes) > 0}} {
				if o.set {
					b.warnf(bd.Pos, "'bind %s' : '%s' has no effect: client certificates are not requested ('verify none'); set 'verify optional' or 'verify required'.", bindAddr(bd), o.name)
				}
			}
		}
		g := &b.cfg.Global
		var ignored bool
		o.MinVer, o.MaxVer, o.NoVersions, ignored = mergeVersions(g.SSLBindOptions, s.MinVer, s.MaxVer, s.NoVersions)
		if ignored {
			b.warnf(bd.Pos, "Proxy '%s': no-sslv3/no-tlsv1x are ignored for bind '%s'. Use only 'ssl-min-ver' and 'ssl-max-ver' to fix.", px.Name, bindAddr(bd))
		}
		if o.Ciphers == "" {
			o.Ciphers = g.SSLBindCiphers
		}
		if o.Suites == "" {
			o.Suites = g.SSLBindSuites
		}
		cfg, store, warns, err := tlsx.ServerConfig(o)
		if errors.Is(err, tlsx.ErrNoCAFile) {
			b.errorf(bd.Pos, "Proxy '%s': verify is enabled but no CA file specified for bind '%s'.", px.Name, bindAddr(bd))
			continue
		}
		if errors.Is(err, tlsx.ErrNoVersion) {
			b.errorf(bd.Pos, "Proxy '%s': all SSL/TLS versions are disabled for bind '%s'.", px.Name, bindAddr(bd))
			continue
		}
		if err != nil {
			b.errorf(bd.Pos, "'bind' : %v", err)
			continue
		}
		for _, w := range warns {
			b.warnf(bd.Pos, "'bind' : %s", w)
		}
		if s.NoTickets || hasWord(g.SSLBindOptions, "no-tls-tickets") {
			cfg.SessionTicketsDisabled = true
		}
		if s.StrictSNI {
			get := cfg.GetCertificate
			cfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
				if !store.Has(h.ServerName) {
					return nil, fmt.Errorf("no certificate for SNI %q (strict-sni)", h.ServerName)
				}
				return get(h)
			}
		}
		s.Config = cfg
	}
}

// mergeVersions combines a bind or server line's version options with
// the global ssl-default-*-options as HAProxy does: the line's
// ssl-min-ver/ssl-max-ver win over the global ones, the no-* options of
// both add up, and as soon as a minimum or a maximum is set the no-*
// options are ignored (ignored reports it, HAProxy warns).
func mergeVersions(global []string, minV, maxV string, no []string) (string, string, []string, bool) {
	gMin, gMax, gNo := sslDefaultVersions(global)
	if minV == "" {
		minV = gMin
	}
	if maxV == "" {
		maxV = gMax
	}
	no = append(gNo, no...)
	if len(no) > 0 && (minV != "" || maxV != "") {
		return minV, maxV, nil, true
	}
	return minV, maxV, no, false
}

// bindAddr is a bind line's address as written (for messages).
func bindAddr(bd *Bind) string {
	switch bd.Network {
	case "fd":
		return fmt.Sprintf("fd@%d", bd.FD)
	case "unix":
		return bd.Path
	}
	port := strconv.Itoa(bd.PortLow)
	if bd.PortHigh > bd.PortLow {
		port += "-" + strconv.Itoa(bd.PortHigh)
	}
	if strings.Contains(bd.Host, ":") {
		return "[" + bd.Host + "]:" + port
	}
	return bd.Host + ":" + port
}

// certs is the configuration's certificate registry.
func (b *builder) certs() *tlsx.Registry {
	if b.cfg.Certs == nil {
		b.cfg.Certs = tlsx.NewRegistry()
	}
	return b.cfg.Certs
}

// sslDefaultVersions reads the version options of ssl-default-*-options.
func sslDefaultVersions(opts []string) (minV, maxV string, no []string) {
	for i := 0; i < len(opts); i++ {
		switch o := opts[i]; {
		case o == "ssl-min-ver" && i+1 < len(opts):
			minV, i = opts[i+1], i+1
		case o == "ssl-max-ver" && i+1 < len(opts):
			maxV, i = opts[i+1], i+1
		case strings.HasPrefix(o, "no-sslv") || strings.HasPrefix(o, "no-tlsv"):
			no = append(no, o)
		case o == "force-tlsv12":
			minV, maxV = "TLSv1.2", "TLSv1.2"
		case o == "force-tlsv13":
			minV, maxV = "TLSv1.3", "TLSv1.3"
		}
	}
	return minV, maxV, no
}

// logFormat selects the traffic log format of px.
func (b *builder) logFormat(px *Proxy) {
	text := px.LogFormat
	if text == "" {
		switch {
		case px.Options.HTTPSLog:
			text = logging.HTTPSLog
		case px.Options.HTTPLogCLF:
			text = logging.HTTPLogCLF
		case px.Options.HTTPLog && px.Mode == ModeHTTP:
			text = logging.HTTPLog
		case px.Options.TCPLog || px.Options.HTTPLog:
			text = logging.TCPLog
		default:
			text = logging.LegacyLog + strings.ToUpper(px.Mode.String()) + ")"
			px.LogAtAccept = true
		}
	}
	var f *Format
	if px.LogFormat != "" {
		// The samples of an explicit format are evaluated at the end of
		// the transaction, when the request's headers are gone.
		var ok bool
		ln := &Line{Pos: px.LogFormatPos, Words: []string{"log-format", text}}
		cur := b.px
		b.px = px // its stick-table fetches default to this proxy's table
		defer func() { b.px = cur }()
		if f, ok = b.compileFormat(ln, text, fmtSite{at: acl.AtLog, prefix: "failed to parse log-format"}); !ok {
			return
		}
	} else {
		var err error
		if f, err = CompileFormat(text); err != nil {
			b.errorf(px.Pos, "proxy '%s': log-format: %v", px.Name, err)
			return
		}
	}
	f.EmptyDash = true
	px.LogFmt = f
}

// checkBinds refuses at -c time what listeners cannot do: unix socket
// listeners (not supported yet) and HTTP/2 outside mode http, as HAProxy.
func (b *builder) checkBinds() {
	for _, px := range b.cfg.Proxies {
		if px.Disabled {
			continue
		}
		for _, bd := range px.Binds {
			if bd.Network == "unix" {
				b.errorf(bd.Pos, "'bind %s' : unix socket listeners are not supported by halo yet", bd.Path)
			}
			if bd.Proto == "h2" && px.Mode != ModeHTTP {
				b.errorf(bd.Pos, "frontend '%s' : MUX protocol 'h2' is not usable for 'bind %s' (HTTP/2 needs 'mode http')", px.Name, bindSpec(bd))
			}
		}
	}
}

func bindSpec(bd *Bind) string {
	switch bd.Network {
	case "unix":
		return bd.Path
	case "fd":
		return fmt.Sprintf("fd@%d", bd.FD)
	}
	spec := net.JoinHostPort(bd.Host, fmt.Sprint(bd.PortLow))
	if bd.PortHigh != bd.PortLow {
		spec += fmt.Sprintf("-%d", bd.PortHigh)
	}
	return spec
}

// checkAddresses resolves server host names once, as HAProxy does at
// start-up, so that a typo is reported with its line instead of failing
// every connection later.
func (b *builder) checkAddresses() {
	done := map[string]error{}
	last := b.lastAddrs()
	for _, px := range b.cfg.Proxies {
		for _, s := range px.Servers {
			if d := s.DNS; d.Resolvers == "" && (len(d.Nets) > 0 || d.AllowDupIP || d.IgnoreWeight || d.PreventDupIP) && s.Host != "" && net.ParseIP(s.Host) == nil {
				b.warnf(s.Pos, "'server %s/%s' : 'resolve-net' and 'resolve-opts' have no effect without 'resolvers': the address is found once at start-up (HAProxy ignores them too).", px.Name, s.Name)
			}
			if b.initServerAddrs(px, s, last) {
				continue
			}
			if s.Host == "" || net.ParseIP(s.Host) != nil {
				continue
			}
			err, ok := done[s.Host]
			if !ok {
				err = b.opts.Resolve(s.Host)
				done[s.Host] = err
			}
			if err != nil {
				b.errorf(s.Pos, "'server %s/%s' : could not resolve address '%s'.", px.Name, s.Name, s.Host)
				continue
			}
			// init-addr libc, HAProxy's default: the address found at
			// start-up is the server's address until the next start.
			if addrs, err := b.opts.ResolveAddrs(s.Host); err == nil && len(addrs) > 0 {
				s.FQDN, s.Host = s.Host, libcAddr(addrs, s.DNS.Prefer).String()
			}
		}
	}
}

// fixProxyIDs numbers the proxies without an `id` line in configuration
// order, skipping the ids taken explicitly. As in haproxy 2.6, numbering
// starts at 2 when a stats socket exists: the runtime API's own proxy
// is number 1 (this shows in the CSV iid column, `show servers state`
// and the stats page's admin form).
func (b *builder) fixProxyIDs() {
	used := map[int]*Proxy{}
	for _, px := range b.cfg.Proxies {
		if px.ID == 0 {
			continue
		}
		if o := used[px.ID]; o != nil {
			b.errorf(px.Pos, "%s %s reuses same custom id as %s %s (declared at %s).", capName(px.Cap), px.Name, capName(o.Cap), o.Name, o.Pos)
			continue
		}
		used[px.ID] = px
	}
	next := 1
	if len(b.cfg.Global.StatsSockets) > 0 {
		next = 2
	}
	for _, px := range b.cfg.Proxies {
		if px.ID != 0 {
			continue
		}
		for used[next] != nil {
			next++
		}
		px.ID = next
		used[next] = px
	}
}

// externalCheck validates option external-check as HAProxy 2.6 does.
func (b *builder) externalCheck(cfg *Config, px *Proxy) {
	ec := px.Check.External
	if px.Check.Kind != CheckExternal {
		if ec.Command != "" {
			b.warnf(ec.CmdPos, "'external-check command' will be ignored for %s '%s' (requires 'option external-check').", capName(px.Cap), px.Name)
		}
		return
	}
	if !cfg.Global.ExternalCheck {
		b.errorf(ec.Pos, "Proxy '%s' : 'option external-check' unable to find required 'global.external-check'.", px.Name)
	}
	if !cfg.Global.InsecureFork {
		b.warnf(ec.Pos, "Proxy '%s' : 'insecure-fork-wanted' not enabled in the global section, 'option external-check' will likely fail (with haproxy; halo runs the checks anyway).", px.Name)
	}
	if ec.Command == "" {
		b.errorf(ec.Pos, "Proxy '%s' : 'option external-check' unable to find required 'external-check command'.", px.Name)
	}
}
