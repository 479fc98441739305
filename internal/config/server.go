package config

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/tlsx"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/halo-lb/halo/internal/suggest"
)

func parseCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// newServer returns a server with HAProxy's defaults, or a copy of the
// proxy's default-server.
func (b *builder) newServer() *Server {
	if b.px.DefaultServer != nil {
		s := *b.px.DefaultServer
		return &s
	}
	return &Server{Weight: 1, Inter: 2 * time.Second, Rise: 2, Fall: 3, ErrorLimit: 10}
}

// serverOpt parses one option of a server/default-server line at w[i]
// and returns how many words it used (0 on error, already reported).
type serverOpt struct {
	args  int // number of value words
	def   bool
	doc   string
	apply func(b *builder, s *Server, v string) error
}

func sTime(dst func(*Server) *time.Duration) func(*builder, *Server, string) error {
	return func(_ *builder, s *Server, v string) error {
		d, err := parseTime(v)
		if err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("expects a positive delay")
		}
		*dst(s) = d
		return nil
	}
}

func sInt(lo, hi int, dst func(*Server) *int) func(*builder, *Server, string) error {
	return func(_ *builder, s *Server, v string) error {
		n, err := parseInt(v, lo, hi)
		if err != nil {
			return err
		}
		*dst(s) = n
		return nil
	}
}

func sFlag(dst func(*Server) *bool, val bool) func(*builder, *Server, string) error {
	return func(_ *builder, s *Server, _ string) error { *dst(s) = val; return nil }
}

func sSSL(f func(b *builder, ss *ServerSSL, v string) error) func(*builder, *Server, string) error {
	return func(b *builder, s *Server, v string) error {
		if s.SSL == nil {
			s.SSL = &ServerSSL{}
		} else {
			c := *s.SSL
			s.SSL = &c
		}
		return f(b, s.SSL, v)
	}
}

var serverOpts = map[string]serverOpt{
	"weight": {1, true, "load-balancing weight 0-256 (default 1)", func(_ *builder, s *Server, v string) error {
		n, err := parseInt(v, 0, 256)
		if err != nil {
			return fmt.Errorf("weight of server %s is not within 0 and 256 (%s)", s.Name, v)
		}
		s.Weight = n
		return nil
	}},
	"backup":    {0, true, "only used when all active servers are down", sFlag(func(s *Server) *bool { return &s.Backup }, true)},
	"no-backup": {0, true, "cancel an inherited 'backup'", sFlag(func(s *Server) *bool { return &s.Backup }, false)},
	"disabled":  {0, true, "start in maintenance", sFlag(func(s *Server) *bool { return &s.Disabled }, true)},
	"enabled":   {0, true, "start in service (default)", sFlag(func(s *Server) *bool { return &s.Disabled }, false)},
	"maxconn":   {1, true, "concurrent connections before queueing", sInt(0, 1<<30, func(s *Server) *int { return &s.MaxConn })},
	"maxqueue":  {1, true, "queued requests before redispatching", sInt(0, 1<<30, func(s *Server) *int { return &s.MaxQueue })},
	"minconn":   {1, true, "makes maxconn dynamic: from minconn up to maxconn as the backend's load reaches fullconn", sInt(0, 1<<30, func(s *Server) *int { return &s.MinConn })},
	"check":     {0, true, "enable health checks", sFlag(func(s *Server) *bool { return &s.Check }, true)},
	"no-check":  {0, true, "disable health checks", sFlag(func(s *Server) *bool { return &s.Check }, false)},
	"inter":     {1, true, "check interval (default 2s)", sTime(func(s *Server) *time.Duration { return &s.Inter })},
	"fastinter": {1, true, "check interval while changing state", sTime(func(s *Server) *time.Duration { return &s.FastInter })},
	"downinter": {1, true, "check interval while down", sTime(func(s *Server) *time.Duration { return &s.DownInter })},
	"rise":      {1, true, "successful checks to go up (default 2)", sInt(1, 1<<20, func(s *Server) *int { return &s.Rise })},
	"fall":      {1, true, "failed checks to go down (default 3)", sInt(1, 1<<20, func(s *Server) *int { return &s.Fall })},
	"port":      {1, true, "health-check port", sInt(1, 65535, func(s *Server) *int { return &s.CheckPort })},
	"addr": {1, true, "health-check address", func(_ *builder, s *Server, v string) error {
		if _, err := netip.ParseAddr(v); err != nil && !validHostname(v) {
			return fmt.Errorf("invalid address '%s'", v)
		}
		s.CheckAddr = v
		return nil
	}},
	"id": {1, false, "numeric server id", sInt(1, 1<<30, func(s *Server) *int { return &s.ID })},
	"cookie": {1, false, "persistence cookie value", func(_ *builder, s *Server, v string) error {
		s.Cookie = v
		return nil
	}},
	"send-proxy":       {0, true, "send a PROXY protocol v1 header", sFlag(func(s *Server) *bool { return &s.SendProxy }, true)},
	"send-proxy-v2":    {0, true, "send a PROXY protocol v2 header", sFlag(func(s *Server) *bool { return &s.SendProxyV2 }, true)},
	"no-send-proxy":    {0, true, "cancel send-proxy", sFlag(func(s *Server) *bool { return &s.SendProxy }, false)},
	"no-send-proxy-v2": {0, true, "cancel send-proxy-v2", sFlag(func(s *Server) *bool { return &s.SendProxyV2 }, false)},
	"check-send-proxy": {0, true, "health checks start with a PROXY protocol header (implied by send-proxy when checks use the server's address)", sFlag(func(s *Server) *bool { return &s.CheckSendProxy }, true)},
	"slowstart": {1, true, "after coming back UP, weight (dynamic algorithms) and maxconn ramp up linearly over this time", func(_ *builder, s *Server, v string) error {
		d, err := parseTime(v)
		if err != nil {
			return err
		}
		s.SlowStart = d
		return nil
	}},
	"observe": {1, true, "none|layer4|layer7: passive health from live traffic (needs check)", func(_ *builder, s *Server, v string) error {
		switch v {
		case "none":
			s.Observe = ObserveNone
		case "layer4":
			s.Observe = ObserveLayer4
		case "layer7":
			s.Observe = ObserveLayer7
		default:
			return fmt.Errorf("expects one of 'none', 'layer4', 'layer7' but got '%s'", v)
		}
		return nil
	}},
	"on-error": {1, true, "fastinter|fail-check|sudden-death|mark-down: what error-limit observed errors do", func(_ *builder, s *Server, v string) error {
		switch v {
		case "fastinter":
			s.OnError = OnErrorFastInter
		case "fail-check":
			s.OnError = OnErrorFailCheck
		case "sudden-death":
			s.OnError = OnErrorSuddenDeath
		case "mark-down":
			s.OnError = OnErrorMarkDown
		default:
			return fmt.Errorf("expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '%s'", v)
		}
		return nil
	}},
	"error-limit": {1, true, "consecutive observed errors that trigger on-error (default 10)", func(_ *builder, s *Server, v string) error {
		n, err := parseInt(v, 1, 1<<30)
		if err != nil {
			return fmt.Errorf("has to be > 0")
		}
		s.ErrorLimit = n
		return nil
	}},
	"on-marked-down": {1, true, "shutdown-sessions: close the server's sessions when it goes DOWN", func(_ *builder, s *Server, v string) error {
		if v != "shutdown-sessions" {
			return fmt.Errorf("expects 'shutdown-sessions' but got '%s'", v)
		}
		s.ShutdownOnDown = true
		return nil
	}},
	"on-marked-up": {1, true, "shutdown-backup-sessions: close the backup servers' sessions when this active server comes UP", func(_ *builder, s *Server, v string) error {
		if v != "shutdown-backup-sessions" {
			return fmt.Errorf("expects 'shutdown-backup-sessions' but got '%s'", v)
		}
		s.ShutdownBackupsOnUp = true
		return nil
	}},
	"check-ssl": {0, true, "run health checks over TLS", sFlag(func(s *Server) *bool { return &s.CheckSSL }, true)},
	"ssl":       {0, true, "TLS to the server", sSSL(func(_ *builder, ss *ServerSSL, _ string) error { ss.Enabled = true; return nil })},
	"no-ssl":    {0, true, "cancel an inherited 'ssl'", sSSL(func(_ *builder, ss *ServerSSL, _ string) error { ss.Enabled = false; return nil })},
	"verify": {1, true, "none|required", sSSL(func(_ *builder, ss *ServerSSL, v string) error {
		if v != "none" && v != "required" {
			return fmt.Errorf("expects 'none' or 'required', got '%s'", v)
		}
		ss.Verify = v
		return nil
	})},
	"ca-file": {1, true, "CA bundle to verify the server", sSSL(func(b *builder, ss *ServerSSL, v string) error {
		ss.CAFile = b.resolve(b.cfg.Global.CABase, v)
		return nil
	})},
	"crt": {1, true, "client certificate bundle presented to the server", sSSL(func(b *builder, ss *ServerSSL, v string) error {
		ss.CRT = b.resolve(b.cfg.Global.CRTBase, v)
		return nil
	})},
	"sni":        {1, true, "SNI expression sent to the server", sSSL(func(_ *builder, ss *ServerSSL, v string) error { ss.SNI = v; return nil })},
	"verifyhost": {1, true, "host name the server certificate must match", sSSL(func(_ *builder, ss *ServerSSL, v string) error { ss.VerifyHost = v; return nil })},
	"alpn":       {1, true, "ALPN protocols offered to the server", sSSL(func(_ *builder, ss *ServerSSL, v string) error { ss.ALPN = strings.Split(v, ","); return nil })},
	"ssl-min-ver": {1, true, "lowest TLS version", sSSL(func(_ *builder, ss *ServerSSL, v string) error {
		if !tlsVersion(v) {
			return fmt.Errorf("unknown TLS version '%s'", v)
		}
		ss.MinVer = v
		return nil
	})},
	"ssl-max-ver": {1, true, "highest TLS version", sSSL(func(_ *builder, ss *ServerSSL, v string) error {
		if !tlsVersion(v) {
			return fmt.Errorf("unknown TLS version '%s'", v)
		}
		ss.MaxVer = v
		return nil
	})},
	"no-sslv3":             {0, true, "disable SSLv3", noVer("no-sslv3")},
	"no-tlsv10":            {0, true, "disable TLS 1.0", noVer("no-tlsv10")},
	"no-tlsv11":            {0, true, "disable TLS 1.1", noVer("no-tlsv11")},
	"no-tlsv12":            {0, true, "disable TLS 1.2", noVer("no-tlsv12")},
	"no-tlsv13":            {0, true, "disable TLS 1.3", noVer("no-tlsv13")},
	"check-sni":            {1, true, "SNI for TLS health checks", func(_ *builder, s *Server, v string) error { s.CheckSNI = v; return nil }},
	"check-alpn":           {1, true, "ALPN protocols offered by TLS health checks (default: the server's alpn)", sCheckALPN},
	"agent-check":          {0, true, "", nil},
	"agent-port":           {1, true, "", nil},
	"agent-inter":          {1, true, "", nil},
	"agent-send":           {1, true, "", nil},
	"agent-addr":           {1, true, "", nil},
	"track":                {1, false, "", nil},
	"redir":                {1, true, "", nil},
	"source":               {1, true, "", nil},
	"proto":                {1, true, "", nil},
	"check-proto":          {1, true, "", nil},
	"pool-max-conn":        {1, true, "", nil},
	"pool-purge-delay":     {1, true, "", nil},
	"tfo":                  {0, true, "", nil},
	"namespace":            {1, true, "", nil},
	"max-reuse":            {1, true, "", nil},
	"ciphers":              {1, true, cipherDoc, sSSL(func(_ *builder, ss *ServerSSL, v string) error { ss.Ciphers = v; return nil })},
	"ciphersuites":         {1, true, suitesDoc, sSSL(func(_ *builder, ss *ServerSSL, v string) error { ss.Suites = v; return nil })},
	"crl-file":             {1, true, "", nil},
	"force-sslv3":          {0, true, "", nil},
	"force-tlsv10":         {0, true, "", nil},
	"force-tlsv11":         {0, true, "", nil},
	"force-tlsv12":         {0, true, "", nil},
	"force-tlsv13":         {0, true, "", nil},
	"npn":                  {1, true, "", nil},
	"no-ssl-reuse":         {0, true, "no TLS session resumption towards the server", sSSL(func(_ *builder, ss *ServerSSL, _ string) error { ss.NoReuse = true; return nil })},
	"ssl-reuse":            {0, true, "cancel an inherited 'no-ssl-reuse'", sSSL(func(_ *builder, ss *ServerSSL, _ string) error { ss.NoReuse = false; return nil })},
	"no-tls-tickets":       {0, true, "no TLS session tickets towards the server (Go then resumes no session)", sSSL(func(_ *builder, ss *ServerSSL, _ string) error { ss.NoTickets = true; return nil })},
	"tls-tickets":          {0, true, "cancel an inherited 'no-tls-tickets'", sSSL(func(_ *builder, ss *ServerSSL, _ string) error { ss.NoTickets = false; return nil })},
	"no-check-ssl":         {0, true, "cancel an inherited 'check-ssl'", sFlag(func(s *Server) *bool { return &s.CheckSSL }, false)},
	"no-verifyhost":        {0, true, "cancel an inherited 'verifyhost'", sSSL(func(_ *builder, ss *ServerSSL, _ string) error { ss.VerifyHost = ""; return nil })},
	"non-stick":            {0, true, "", nil},
	"stick":                {0, true, "", nil},
	"tcp-ut":               {1, true, "", nil},
	"usesrc":               {1, true, "", nil},
	"ws":                   {1, true, "", nil},
	"send-proxy-v2-ssl":    {0, true, "", nil},
	"send-proxy-v2-ssl-cn": {0, true, "", nil},
	"proxy-v2-options":     {1, true, "", nil},
	"set-proxy-v2-tlv-fmt": {1, true, "", nil},
	"allow-0rtt":           {0, true, "", nil},
	"curves":               {1, true, "", nil},
	"sigalgs":              {1, true, "", nil},
}

func sCheckALPN(_ *builder, s *Server, v string) error {
	s.CheckALPN = strings.Split(v, ",")
	return nil
}

func noVer(name string) func(*builder, *Server, string) error {
	return sSSL(func(_ *builder, ss *ServerSSL, _ string) error {
		ss.NoVersions = append(ss.NoVersions, name)
		return nil
	})
}

func tlsVersion(v string) bool {
	switch v {
	case "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3":
		return true
	}
	return false
}

// resolve joins a relative path with a base directory (ca-base/crt-base).
func (b *builder) resolve(base, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	if base != "" {
		p = filepath.Join(base, p)
	}
	return b.path(p) // a relative base is relative to default-path too
}

func serverOptNames() []string {
	out := make([]string, 0, len(serverOpts))
	for k := range serverOpts {
		out = append(out, k)
	}
	return out
}

func (b *builder) parseServer(ln *Line, isDefault bool) {
	w := ln.Words
	s := b.newServer()
	i := 1
	if !isDefault {
		if len(w) < 3 {
			b.errorf(ln.Pos, "'server' expects <name> and <addr>[:<port>] as arguments")
			return
		}
		s.Name = w[1]
		raw := w[2]
		a, err := parseAddr(raw, false)
		if err != nil {
			b.errorf(ln.Pos, "'server %s' : %v", s.Name, err)
			return
		}
		switch a.family {
		case "unix", "fd":
			b.errorf(ln.Pos, "'server %s' : unix socket and fd@ server addresses are not supported by halo yet", s.Name)
			return
		}
		s.Host, s.Port, s.PortOffset, s.PortMap = a.host, a.portLo, a.offset, a.mapped
		if s.Host == "" {
			b.errorf(ln.Pos, "'server %s' : missing server address in '%s'", s.Name, w[2])
			return
		}
		s.ID = 0
		s.Pos = ln.Pos
		i = 3
	}
	for ; i < len(w); i++ {
		name := w[i]
		opt, ok := serverOpts[name]
		if !ok {
			b.errorf(ln.Pos, "'%s %s' unknown keyword '%s'%s", w[0], s.Name, name, suggest.Hint(name, serverOptNames()))
			return
		}
		if isDefault && !opt.def {
			b.errorf(ln.Pos, "'default-server' : '%s' option is not accepted in default-server sections", name)
			return
		}
		if opt.apply == nil {
			b.errorf(ln.Pos, "'%s %s' : server option '%s' is valid in HAProxy but not supported by halo yet", w[0], s.Name, name)
			return
		}
		v := ""
		if opt.args > 0 {
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'%s %s' : '%s' expects an argument", w[0], s.Name, name)
				return
			}
			v = w[i+1]
		}
		if err := opt.apply(b, s, v); err != nil {
			b.errorf(ln.Pos, "'%s %s' : '%s' %v", w[0], s.Name, name, err)
			return
		}
		i += opt.args
	}
	if isDefault {
		b.px.DefaultServer = s
		return
	}
	b.px.Servers = append(b.px.Servers, s)
}

// fixServers applies the defaults that depend on the whole server line
// and proxy, and checks TLS settings as HAProxy 2.6 does.
func (b *builder) fixServers(px *Proxy) {
	used := map[int]bool{}
	for _, s := range px.Servers {
		if s.ID != 0 {
			if used[s.ID] {
				b.errorf(s.Pos, "'server %s' : custom id %d already used", s.Name, s.ID)
			}
			used[s.ID] = true
		}
	}
	tcpSSL := b.tcpCheckSSL(px)
	next := 1
	names := map[string]Pos{}
	for _, s := range px.Servers {
		if prev, dup := names[s.Name]; dup {
			b.errorf(s.Pos, "'server %s/%s' : already defined at %s", px.Name, s.Name, prev)
		}
		names[s.Name] = s.Pos
		if s.ID == 0 {
			for used[next] {
				next++
			}
			s.ID = next
			used[next] = true
		}
		if s.FastInter == 0 {
			s.FastInter = s.Inter
		}
		// minconn alone, or above maxconn, raises maxconn to it; maxconn
		// alone is a static limit (minconn = maxconn), as in HAProxy.
		if s.MinConn > s.MaxConn {
			s.MaxConn = s.MinConn
		} else if s.MinConn == 0 {
			s.MinConn = s.MaxConn
		}
		switch {
		case s.Observe == ObserveLayer7 && px.Mode != ModeHTTP:
			b.warnf(s.Pos, "'server %s/%s' : 'observe layer7' has no effect: it can only be used in http proxies (HAProxy ignores it too)", px.Name, s.Name)
			s.Observe = ObserveNone
		case s.Observe != ObserveNone && !s.Check:
			b.warnf(s.Pos, "'server %s/%s' : 'observe' has no effect without 'check': observed errors act on the health checks", px.Name, s.Name)
			s.Observe = ObserveNone
		}
		if s.DownInter == 0 {
			s.DownInter = s.Inter
		}
		if (px.Check.Kind == CheckHTTP && px.Check.HTTP.ConnectSSL || tcpSSL) && s.Check {
			// http-check / tcp-check connect ssl: checks speak TLS with the server's settings.
			s.CheckSSL = true
		}
		if s.CheckSSL && s.SSL == nil {
			// check-ssl alone: the checks use the server's TLS settings,
			// which are HAProxy's defaults (verify required).
			s.SSL = &ServerSSL{}
		}
		if s.SSL != nil && s.SSL.Verify == "" && b.cfg.Global.SSLServerVerify == "none" {
			c := *s.SSL // ssl-server-verify none: the default of lines without verify
			c.Verify = "none"
			s.SSL = &c
		}
		if s.SSL != nil && (s.SSL.Enabled || s.CheckSSL) && s.SSL.Verify != "none" && s.SSL.CAFile == "" {
			b.errorf(s.Pos, "'server %s/%s' : verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.", px.Name, s.Name)
		} else if s.SSL != nil && (s.SSL.Enabled || s.CheckSSL) {
			b.serverTLS(px, s)
		}
		b.checkServerALPN(px, s)
		srv := strings.HasPrefix(s.Host, "_") && s.DNS.Resolvers != "" // SRV records give the port
		if s.Port == 0 && !s.PortMap && s.Check && s.CheckPort == 0 && px.Check.Kind != CheckTCP && !srv {
			b.errorf(s.Pos, "'server %s/%s' : neither a port nor a 'port' check parameter are set, health checks cannot run", px.Name, s.Name)
		}
	}
}

// tcpCheckSSL reports whether px's tcp-check program connects with
// `tcp-check connect ssl`. Its connections then all speak TLS with the
// server's settings; a program mixing TLS and clear-text connections
// is refused.
func (b *builder) tcpCheckSSL(px *Proxy) bool {
	if px.Check.Kind != CheckTCP {
		return false
	}
	var ssl, plain *TCPCheckStep
	steps := px.Check.TCPSteps
	for i := range steps {
		st := &steps[i]
		if st.Action != TCPCheckConnect {
			continue
		}
		if st.SSL {
			ssl = cmp.Or(ssl, st)
		} else {
			plain = cmp.Or(plain, st)
		}
	}
	if ssl == nil {
		return false
	}
	if plain != nil || steps[0].Action != TCPCheckConnect {
		b.errorf(ssl.Pos, "'tcp-check connect ssl' in a program that also connects in clear text (an implicit first connect or 'tcp-check connect' without 'ssl') is not supported by halo yet; add 'ssl' to every connect rule")
		return false
	}
	return true
}

// serverTLS builds the TLS client configuration of a server line.
func (b *builder) serverTLS(px *Proxy, s *Server) {
	ss := s.SSL
	o := tlsx.ClientOptions{Verify: ss.Verify, CAFile: ss.CAFile, CRT: ss.CRT, VerifyHost: ss.VerifyHost,
		ALPN: ss.ALPN, Ciphers: ss.Ciphers, Suites: ss.Suites, Registry: b.certs(),
		NoReuse: ss.NoReuse, NoTickets: ss.NoTickets || hasWord(b.cfg.Global.SSLServerOptions, "no-tls-tickets")}
	if o.Ciphers == "" {
		o.Ciphers = b.cfg.Global.SSLServerCiphers
	}
	if o.Suites == "" {
		o.Suites = b.cfg.Global.SSLServerSuites
	}
	var ignored bool
	o.MinVer, o.MaxVer, o.NoVersions, ignored = mergeVersions(b.cfg.Global.SSLServerOptions, ss.MinVer, ss.MaxVer, ss.NoVersions)
	if ignored {
		b.warnf(s.Pos, "'server %s/%s' : no-sslv3/no-tlsv1x are ignored for this server. Use only 'ssl-min-ver' and 'ssl-max-ver' to fix.", px.Name, s.Name)
	}
	if ss.SNI != "" {
		smp, err := acl.ParseSample(ss.SNI)
		if err != nil {
			b.errorf(s.Pos, "'server %s/%s' : sni '%s': %v", px.Name, s.Name, ss.SNI, err)
			return
		}
		if need := smp.Unavailable(acl.AtServerConnect); need != 0 {
			b.errorf(s.Pos, "'server %s/%s' : error detected while parsing sni expression :  fetch method '%s' extracts information from '%s', none of which is available here.", px.Name, s.Name, ss.SNI, need)
			return
		}
		if v, ok := smp.Eval(&acl.Txn{}); ok && strings.HasPrefix(ss.SNI, "str(") {
			o.SNI = v // a constant name
		} else {
			ss.SNIExpr = smp.At(acl.AtServerConnect)
		}
	}
	cl, warns, err := tlsx.ClientConfig(o)
	if errors.Is(err, tlsx.ErrNoVersion) {
		b.errorf(s.Pos, "'server %s/%s' : backend '%s': all SSL/TLS versions are disabled for server '%s'.", px.Name, s.Name, px.Name, s.Name)
		return
	}
	if err != nil {
		b.errorf(s.Pos, "'server %s/%s' : %v", px.Name, s.Name, err)
		return
	}
	for _, w := range warns {
		b.warnf(s.Pos, "'server %s/%s' : %s", px.Name, s.Name, w)
	}
	ss.Client, ss.FixedSNI = cl, o.SNI
	ss.Config = cl.Config(o.SNI)
}

// ChecksUseTLS reports whether the health checks of s speak TLS: with
// check-ssl, or when the server speaks TLS and its checks go to its own
// address and port (HAProxy's rule).
func (s *Server) ChecksUseTLS() bool {
	if !s.Check || s.SSL == nil {
		return false
	}
	return s.CheckSSL || s.SSL.Enabled && s.CheckPort == 0 && s.CheckAddr == ""
}

// CheckALPNList is the ALPN list offered by TLS health checks.
func (s *Server) CheckALPNList() []string {
	if s.CheckALPN != nil {
		return s.CheckALPN
	}
	if s.SSL != nil {
		return s.SSL.ALPN
	}
	return nil
}

// checkServerALPN refuses ALPN lists that would make a server answer in
// HTTP/2 where halo speaks HTTP/1.1, and says when check-sni/check-alpn
// have no effect.
func (b *builder) checkServerALPN(px *Proxy, s *Server) {
	if s.SSL != nil && s.SSL.Enabled && px.Mode == ModeHTTP && hasWord(s.SSL.ALPN, "h2") {
		b.errorf(s.Pos, "'server %s/%s' : 'alpn %s' offers h2 but halo speaks HTTP/1.1 to servers (HTTP/2 towards servers is not supported yet): a server choosing h2 would get HTTP/1.1 bytes. Use 'alpn http/1.1'.", px.Name, s.Name, strings.Join(s.SSL.ALPN, ","))
		return
	}
	tlsChecks := s.ChecksUseTLS()
	if tlsChecks && px.Check.Kind == CheckHTTP && hasWord(s.CheckALPNList(), "h2") {
		b.errorf(s.Pos, "'server %s/%s' : health checks would offer ALPN h2 but halo's HTTP checks speak HTTP/1.1. Set 'check-alpn http/1.1'.", px.Name, s.Name)
		return
	}
	for _, o := range []struct {
		name string
		set  bool
	}{{"check-sni", s.CheckSNI != ""}, {"check-alpn", s.CheckALPN != nil}} {
		if !o.set || tlsChecks {
			continue
		}
		why := "its health checks do not use TLS (add 'check-ssl')"
		if !s.Check {
			why = "it has no health checks (add 'check')"
		}
		b.warnf(s.Pos, "'server %s/%s' : '%s' has no effect: %s.", px.Name, s.Name, o.name, why)
	}
}
