package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/halo-lb/halo/internal/suggest"
)

// optionKeywords is the table of `option <name>` keywords. The parse
// function receives the line with "option" removed from the front and the
// negation flag in b.optNeg.
var optionKeywords = mkTable(concat(
	[]*Keyword{
		flagOpt("abortonclose", inBE, "drop a request whose client closed while it waited for a server slot or connection (logged CQ/CC)", func(o *Options) *bool { return &o.AbortOnClose }),
		flagOpt("prefer-last-server", inBE, "send a keep-alive client's next requests to the server of its previous one", func(o *Options) *bool { return &o.PreferLastServer }),
		{Name: "redis-check", Sections: inBE, Doc: "health checks send PING and expect +PONG", parse: func(b *builder, ln *Line) {
			b.cannedCheck(ln, []TCPCheckStep{{Action: TCPCheckSend, Data: []byte("PING\r\n")}, {Action: TCPCheckExpect, Match: MatchString, Pattern: []byte("+PONG")}})
		}},
		{Name: "smtpchk", Sections: inBE, Doc: "health checks expect a 2xx greeting and a 2xx answer to HELO/EHLO: option smtpchk [HELO|EHLO <domain>]", parse: func(b *builder, ln *Line) {
			hello := "HELO localhost"
			if len(ln.Words) == 3 && (ln.Words[1] == "HELO" || ln.Words[1] == "EHLO") {
				hello = ln.Words[1] + " " + ln.Words[2]
			} else if len(ln.Words) != 1 {
				b.errorf(ln.Pos, "'option smtpchk' expects nothing or HELO|EHLO <domain>")
				return
			}
			b.cannedCheck(ln, []TCPCheckStep{
				{Action: TCPCheckExpect, Match: MatchRString, Regexp: regexp.MustCompile(`^2[0-9][0-9][ -]`)},
				{Action: TCPCheckSend, Data: []byte(hello + "\r\n")},
				{Action: TCPCheckExpect, Match: MatchRString, Regexp: regexp.MustCompile(`^2[0-9][0-9][ -]`)},
				{Action: TCPCheckSend, Data: []byte("QUIT\r\n")}})
		}},
		{Name: "pgsql-check", Sections: inBE, Doc: "health checks send a PostgreSQL startup packet: option pgsql-check user <name>", parse: func(b *builder, ln *Line) {
			if len(ln.Words) != 3 || ln.Words[1] != "user" {
				b.errorf(ln.Pos, "'option pgsql-check' expects 'user <username>'")
				return
			}
			payload := append([]byte{0, 3, 0, 0}, []byte("user\x00"+ln.Words[2]+"\x00\x00")...)
			pkt := append([]byte{0, 0, 0, byte(len(payload) + 4)}, payload...)
			// The server answers 'R' (authentication request) when it is up
			// and accepts the user, 'E' with an error otherwise.
			b.cannedCheck(ln, []TCPCheckStep{{Action: TCPCheckSend, Data: pkt}, {Action: TCPCheckExpect, Match: MatchBinary, Pattern: []byte("R")}})
		}},
		{Name: "mysql-check", Sections: inBE, Doc: "health checks expect a MySQL server greeting (protocol 10); 'user' logins are not supported yet", parse: func(b *builder, ln *Line) {
			if len(ln.Words) > 1 {
				b.errorf(ln.Pos, "'option mysql-check user ...' (a login in the check) is not supported by halo yet; without 'user', the check reads the server greeting")
				return
			}
			// The greeting is a packet with sequence number 0 whose payload
			// starts with protocol version 10; an error packet starts 0xff.
			b.cannedCheck(ln, []TCPCheckStep{{Action: TCPCheckExpect, Match: MatchBinaryAt, Offset: 3, Pattern: []byte{0x00, 0x0a}}})
		}},
		flagOpt("allbackups", inBE, "use all backup servers at once when all active servers are down", func(o *Options) *bool { return &o.AllBackups }),
		flagOpt("log-health-checks", inBE, "log every health-check result, not only state changes", func(o *Options) *bool { return &o.LogHealthChecks }),
		flagOpt("dontlognull", inFE, "do not log connections that carried no data", func(o *Options) *bool { return &o.DontLogNull }),
		flagOpt("http-ignore-probes", inFE, "a connection that closes or times out before sending a byte gets no 408 and is neither logged nor counted (pre-connecting browsers, probes)", func(o *Options) *bool { return &o.HTTPIgnoreProbes }),
		flagOpt("dontlog-normal", inFE, "log only errors and anomalies", func(o *Options) *bool { return &o.DontLogNormal }),
		flagOpt("log-separate-errors", inFE, "raise the level of error logs", func(o *Options) *bool { return &o.LogSeparateErrors }),
		flagOpt("tcpka", inAllProxies, "TCP keep-alive on both sides", func(o *Options) *bool { return &o.TCPKeepAlive }),
		flagOpt("clitcpka", inFE, "TCP keep-alive on the client side", func(o *Options) *bool { return &o.ClientKeepAlive }),
		flagOpt("srvtcpka", inBE, "TCP keep-alive on the server side", func(o *Options) *bool { return &o.ServerKeepAlive }),
		flagOpt("splice-auto", inAllProxies, "use splice(2) when forwarding (halo always splices TCP-to-TCP copies)", func(o *Options) *bool { return &o.SpliceAuto }),
		{Name: "tcplog", Sections: inFE, Doc: "TCP log format", parse: func(b *builder, ln *Line) {
			b.px.Options.TCPLog = !b.optNeg
			if !b.optNeg {
				b.px.Options.HTTPLog, b.px.Options.HTTPSLog, b.px.LogFormat = false, false, ""
			}
		}},
		{Name: "httplog", Sections: inFE, Doc: "HTTP log format ('clf' for the common log format)", parse: func(b *builder, ln *Line) {
			b.px.Options.HTTPLog = !b.optNeg
			if len(ln.Words) > 1 {
				if ln.Words[1] != "clf" {
					b.errorf(ln.Pos, "'option httplog' only supports the 'clf' argument, got '%s'", ln.Words[1])
					return
				}
				b.px.Options.HTTPLogCLF = true
			}
			if !b.optNeg {
				b.px.Options.TCPLog, b.px.Options.HTTPSLog, b.px.LogFormat = false, false, ""
			}
		}},
		{Name: "httpslog", Sections: inFE, Doc: "HTTP log format with TLS fields", parse: func(b *builder, ln *Line) {
			b.px.Options.HTTPSLog = !b.optNeg
			if !b.optNeg {
				b.px.Options.TCPLog, b.px.Options.HTTPLog, b.px.LogFormat = false, false, ""
			}
		}},
		{Name: "redispatch", Sections: inBE, Doc: "retry on another server ([interval]: every Nth retry when positive, the Nth before the last when negative; default -1, the last retry)", parse: func(b *builder, ln *Line) {
			if b.optNeg {
				b.px.Redispatch = 0
				return
			}
			b.px.Redispatch = -1 // HAProxy's default: the last retry
			if len(ln.Words) > 1 {
				n, err := strconv.Atoi(ln.Words[1])
				if err != nil {
					b.errorf(ln.Pos, "'option redispatch' expects an integer interval, got '%s'", ln.Words[1])
					return
				}
				b.px.Redispatch = n
			}
		}},
		{Name: "tcp-check", Sections: inBE, Doc: "health checks run the tcp-check rules", parse: func(b *builder, ln *Line) {
			if b.optNeg {
				b.px.Check.Kind = CheckL4
				return
			}
			b.px.Check.Kind = CheckTCP
		}},
		{Name: "external-check", Sections: inBE, Doc: "health checks run `external-check command`; exit status 0 is a success", parse: func(b *builder, ln *Line) {
			if b.optNeg {
				b.px.Check.Kind = CheckL4
				return
			}
			b.px.Check.Kind = CheckExternal
			b.px.Check.External.Pos = ln.Pos
		}},
		{Name: "httpchk", Sections: inBE, Doc: "HTTP health checks: option httpchk [<method>] [<uri>] [<version>]", parse: func(b *builder, ln *Line) {
			if b.optNeg {
				b.px.Check.Kind = CheckL4
				return
			}
			h := &b.px.Check.HTTP
			b.px.Check.Kind = CheckHTTP
			h.Method, h.URI, h.Version = "OPTIONS", "/", "HTTP/1.0"
			args := ln.Words[1:]
			switch len(args) {
			case 0:
			case 1:
				h.URI = args[0]
			case 2:
				h.Method, h.URI = args[0], args[1]
			case 3:
				h.Method, h.URI, h.Version = args[0], args[1], args[2]
			default:
				b.errorf(ln.Pos, "'option httpchk' expects at most <method> <uri> <version>; send headers with 'http-check send hdr <name> <value>'")
			}
		}},
		{Name: "forwardfor", Sections: inAllProxies, Doc: "add X-Forwarded-For: [except <net>] [header <name>] [if-none]", parse: func(b *builder, ln *Line) {
			b.px.ForwardFor = b.parseForward(ln, "X-Forwarded-For")
		}},
		{Name: "originalto", Sections: inAllProxies, Doc: "add X-Original-To: [except <net>] [header <name>]", parse: func(b *builder, ln *Line) {
			b.px.OriginalTo = b.parseForward(ln, "X-Original-To")
		}},
		{Name: "http-keep-alive", Sections: inAllProxies, Doc: "keep-alive on both sides (default)", parse: connMode(HTTPKeepAlive)},
		{Name: "http-server-close", Sections: inAllProxies, Doc: "close the server connection after each response", parse: connMode(HTTPServerClose)},
		{Name: "httpclose", Sections: inAllProxies, Doc: "close both connections after each response", parse: connMode(HTTPClose)},
		{Name: "http-pretend-keepalive", Sections: inAllProxies, Status: Removed, Note: "HAProxy 2.2 keeps server connections alive by itself"},
		{Name: "forceclose", Sections: inAllProxies, Status: Removed, Note: "HAProxy 2.0. Use 'option httpclose' instead."},
		{Name: "http-tunnel", Sections: inAllProxies, Status: Removed, Note: "HAProxy 2.1. Use 'option http-keep-alive' (the default) instead."},
		{Name: "independant-streams", Sections: inAllProxies, Status: Removed, Note: "HAProxy 2.1. Use 'option independent-streams' instead."},
		{Name: "ssl-hello-chk", Sections: inBE, Status: Unsupported, Note: "use 'check-ssl' once TLS health checks land, or 'option tcp-check'"},
	},
	unsupported(inAllProxies, "", "accept-invalid-http-request", "accept-invalid-http-response", "checkcache",
		"contstats", "h1-case-adjust-bogus-client", "h1-case-adjust-bogus-server", "http-buffer-request",
		"http-no-delay", "http-restrict-req-hdr-names", "http-use-proxy-header", "http_proxy",
		"independent-streams", "ldap-check", "logasap", "nolinger", "persist",
		"socket-stats", "splice-request",
		"splice-response", "spop-check", "tcp-smart-accept", "tcp-smart-connect", "transparent",
		"idle-close-on-response", "disable-h2-upgrade"),
))

func flagOpt(name string, sections uint8, doc string, field func(*Options) *bool) *Keyword {
	return &Keyword{Name: name, Sections: sections, Doc: doc, parse: func(b *builder, ln *Line) {
		if len(ln.Words) > 1 {
			b.errorf(ln.Pos, "'option %s' takes no argument", name)
			return
		}
		*field(&b.px.Options) = !b.optNeg
	}}
}

func connMode(m HTTPConnMode) func(*builder, *Line) {
	return func(b *builder, ln *Line) {
		if b.optNeg {
			b.px.HTTPConnMode = HTTPKeepAlive
			return
		}
		b.px.HTTPConnMode = m
	}
}

func (b *builder) parseForward(ln *Line, header string) *ForwardFor {
	if b.optNeg {
		return nil
	}
	f := &ForwardFor{Header: header}
	w := ln.Words[1:]
	for i := 0; i < len(w); i++ {
		switch w[i] {
		case "except", "header":
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'option %s %s' expects a value", ln.Words[0], w[i])
				return nil
			}
			if w[i] == "except" {
				n, err := parseNetwork(w[i+1])
				if err != nil {
					b.errorf(ln.Pos, "'option %s except' expects a network, got '%s'", ln.Words[0], w[i+1])
					return nil
				}
				f.Except, f.ExceptNet = w[i+1], n
			} else {
				f.Header = w[i+1]
			}
			i++
		case "if-none":
			f.IfNone = true
		default:
			b.errorf(ln.Pos, "'option %s' only supports optional values: 'except', 'header' and 'if-none' (got '%s')", ln.Words[0], w[i])
			return nil
		}
	}
	return f
}

func (b *builder) parseOption(ln *Line, neg bool) {
	if len(ln.Words) < 2 {
		b.errorf(ln.Pos, "'option' expects an option name")
		return
	}
	name := ln.Words[1]
	k, ok := optionKeywords[name]
	if !ok {
		b.errorf(ln.Pos, "unknown option '%s'%s", name, suggest.Hint(name, optionKeywords.names()))
		return
	}
	if !k.allowed(b.sec) {
		b.misplaced(ln, "option "+name, k.Sections, b.secName)
		return
	}
	switch k.Status {
	case Unsupported:
		b.errorf(ln.Pos, "'option %s' is a valid HAProxy option that halo does not support yet%s", name, noteSuffix(k.Note))
		return
	case Removed:
		b.errorf(ln.Pos, "'option %s' is not supported anymore since %s", name, k.Note)
		return
	}
	b.optNeg = neg
	k.parse(b, &Line{Pos: ln.Pos, Words: ln.Words[1:], Unquoted: ln.Unquoted[1:]})
	b.optNeg = false
}

func validCIDR(s string) bool {
	_, err := parseCIDR(s)
	return err == nil
}

// parseNetwork accepts an address, addr/bits or addr/netmask.
func parseNetwork(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	a, m, ok := strings.Cut(s, "/")
	if ok {
		addr, err1 := netip.ParseAddr(a)
		mask := net.ParseIP(m).To4()
		if err1 == nil && mask != nil {
			ones, bits := net.IPMask(mask).Size()
			if bits == 32 {
				return netip.PrefixFrom(addr, ones).Masked(), nil
			}
		}
	}
	return netip.Prefix{}, fmt.Errorf("'%s' is not a network", s)
}

// cannedCheck installs the tcp-check program of a protocol check option
// (redis-check, smtpchk, pgsql-check), as HAProxy implements them.
func (b *builder) cannedCheck(ln *Line, steps []TCPCheckStep) {
	if b.optNeg {
		b.px.Check.Kind = CheckL4
		return
	}
	b.px.Check.Kind = CheckTCP
	for i := range steps {
		steps[i].Pos = ln.Pos
	}
	b.px.Check.TCPSteps = append([]TCPCheckStep{{Pos: ln.Pos, Action: TCPCheckConnect}}, steps...)
}
