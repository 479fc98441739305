package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/suggest"
)

func (b *builder) proxyLine(ln *Line) {
	b.dispatch(proxyKeywords, ln, b.secName)
}

var proxyKeywords = mkTable(concat(
	[]*Keyword{
		compressionKeyword,
		stickTableKeyword,
		{Name: "mode", Sections: inAllProxies, Doc: "tcp or http", parse: func(b *builder, ln *Line) {
			if !b.argCount(ln, 1, 1, 1, "one of 'tcp' or 'http'") {
				return
			}
			switch ln.Words[1] {
			case "tcp":
				b.px.Mode = ModeTCP
			case "http":
				b.px.Mode = ModeHTTP
			case "health":
				b.errorf(ln.Pos, "'mode health' was removed in HAProxy 2.4; use 'monitor-uri' in an http frontend instead")
			default:
				b.errorf(ln.Pos, "unknown proxy mode '%s' (expected 'tcp' or 'http')", ln.Words[1])
			}
		}},
		{Name: "bind", Sections: inFEnoDef, Doc: "listening address(es) and options", parse: (*builder).parseBind},
		{Name: "default_backend", Sections: inFE, Doc: "backend used when no use_backend rule matches", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<backend> as argument") {
				b.px.DefaultBackend = b.backendRef(ln, ln.Words[1])
			}
		}},
		{Name: "use_backend", Sections: inFEnoDef, Doc: "switch to a backend when a condition matches", parse: func(b *builder, ln *Line) {
			if len(ln.Words) < 2 {
				b.errorf(ln.Pos, "'use_backend' expects a backend name")
				return
			}
			b.warnRuleOrder(ln, phaseUseBackend)
			ub := &UseBackend{BackendRef: *b.backendRef(ln, ln.Words[1])}
			if len(ln.Words) > 2 {
				c, err := b.cond(ln, 2, b.at(phaseUseBackend))
				if err != nil {
					return
				}
				ub.Cond = c
			}
			b.px.UseBackends = append(b.px.UseBackends, ub)
		}},
		{Name: "acl", Sections: inFEnoDef | InBackend, Doc: "declare or complete a named ACL", parse: func(b *builder, ln *Line) {
			if len(ln.Words) < 3 {
				b.errorf(ln.Pos, "'acl' expects <name> <criterion> [flags] [patterns]")
				return
			}
			if err := b.px.ACLs.Add(ln.Words[1], ln.Words[2:]); err != nil {
				b.errorf(ln.Pos, "error detected while parsing ACL '%s' : %v", ln.Words[1], err)
			} else {
				b.checkExpr(ln, "ACL '"+ln.Words[1]+"'", b.px.ACLs.Last(ln.Words[1]))
			}
		}},
		{Name: "maxconn", Sections: inFE, Doc: "limit of concurrent connections accepted by a frontend", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<maxconn> as argument") {
				if n, err := parseInt(ln.Words[1], 0, 1<<30); err != nil {
					b.errorf(ln.Pos, "'maxconn' %v", err)
				} else {
					b.px.MaxConn = n
				}
			}
		}},
		{Name: "backlog", Sections: inFE, Status: Unsupported, Note: "set 'backlog' on the bind line instead"},
		{Name: "timeout", Sections: inAllProxies, Doc: "connect, client, server, queue, tunnel, client-fin, server-fin, check, http-request, http-keep-alive, tarpit", parse: (*builder).parseTimeout},
		{Name: "retries", Sections: inBE, Doc: "how many times a request is tried again after a failure that retry-on names (default 3; by default only connection failures)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<number> as argument") {
				if n, err := parseInt(ln.Words[1], 0, 1<<20); err != nil {
					b.errorf(ln.Pos, "'retries' %v", err)
				} else {
					b.px.Retries = n
				}
			}
		}},
		{Name: "retry-on", Sections: inBE, Doc: "the failures after which an HTTP request is sent again: none, conn-failure (default), empty-response, junk-response, response-timeout, 0rtt-rejected (never happens: halo sends no early data), 404, 408, 425, 500, 501, 502, 503, 504, all-retryable-errors; a request is sent again only when its body (at most 8 KiB) was received whole; mode tcp backends ignore it", parse: (*builder).parseRetryOn},
		{Name: "option", Sections: inAllProxies, Doc: "enable an option (see the option table)", parse: func(b *builder, ln *Line) { b.parseOption(ln, false) }},
		{Name: "no", Sections: inAllProxies, Doc: "'no option X' disables an inherited option", parse: func(b *builder, ln *Line) {
			if len(ln.Words) < 3 || (ln.Words[1] != "option" && ln.Words[1] != "log") {
				if len(ln.Words) == 2 && ln.Words[1] == "log" {
					b.px.NoLog, b.px.Logs = true, nil
					return
				}
				b.errorf(ln.Pos, "'no' only applies to 'option' and 'log'")
				return
			}
			if ln.Words[1] == "log" {
				b.errorf(ln.Pos, "'no log' takes no argument")
				return
			}
			b.parseOption(&Line{Pos: ln.Pos, Words: ln.Words[1:], Unquoted: ln.Unquoted[1:]}, true)
		}},
		{Name: "balance", Sections: inBE, Doc: "load-balancing algorithm", parse: (*builder).parseBalance},
		{Name: "hash-type", Sections: inBE, Doc: "map-based or consistent hashing, hash function, avalanche", parse: (*builder).parseHashType},
		{Name: "server", Sections: inBEnoDef, Doc: "declare a server", parse: func(b *builder, ln *Line) { b.parseServer(ln, false) }},
		{Name: "server-template", Sections: inBEnoDef, Doc: "`<prefix> <num|range> <fqdn>[:port] [params*]`: servers filled from DNS answers (A/AAAA: one address each; SRV: targets and ports)", parse: (*builder).parseServerTemplate},
		{Name: "default-server", Sections: inBE, Doc: "default options for the following server lines", parse: func(b *builder, ln *Line) { b.parseServer(ln, true) }},
		{Name: "tcp-check", Sections: inBE, Doc: "connect, send, send-binary, expect, comment", parse: (*builder).parseTCPCheck},
		{Name: "external-check", Sections: inBE, Doc: "external-check command <path> | path <PATH for the command>", parse: func(b *builder, ln *Line) {
			w := ln.Words
			if len(w) < 2 || (w[1] != "command" && w[1] != "path") {
				got := ""
				if len(w) > 1 {
					got = w[1]
				}
				b.errorf(ln.Pos, "'external-check' only supports 'command' and 'path'. but got '%s'.", got)
				return
			}
			if len(w) < 3 {
				b.errorf(ln.Pos, "missing argument after '%s'.", w[1])
				return
			}
			if len(w) > 3 {
				b.errorf(ln.Pos, "'external-check' cannot handle unexpected argument '%s'.", w[3])
				return
			}
			if w[1] == "command" {
				b.px.Check.External.Command, b.px.Check.External.CmdPos = w[2], ln.Pos
			} else {
				b.px.Check.External.Path = w[2]
			}
		}},
		{Name: "http-check", Sections: inBE, Doc: "expect, send, disable-on-404", parse: (*builder).parseHTTPCheck},
		{Name: "tcp-request", Sections: inFE | InBackend, Doc: "inspect-delay; connection|content accept|reject [cond]", parse: (*builder).parseTCPRequest},
		{Name: "log", Sections: inAllProxies, Doc: "'log global' or a log target", parse: func(b *builder, ln *Line) {
			if t, ok := b.parseLog(ln); ok {
				b.px.Logs = append(b.px.Logs, t)
				b.px.NoLog = false
			}
		}},
		{Name: "load-server-state-from-file", Sections: inBE, Doc: "global, local or none: start servers in the state saved by `show servers state`", parse: func(b *builder, ln *Line) {
			if !b.argCount(ln, 1, 1, 1, "'global', 'local' or 'none'") {
				return
			}
			switch ln.Words[1] {
			case "global", "local", "none":
				b.px.StateFrom = ln.Words[1]
			default:
				b.errorf(ln.Pos, "'load-server-state-from-file' expects 'global', 'local' or 'none', got '%s'", ln.Words[1])
			}
		}},
		{Name: "server-state-file-name", Sections: inBE, Doc: "the file of load-server-state-from-file local ([<file>|use-backend-name])", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 0, 1, "[<file>|use-backend-name]") {
				b.px.StateFileName = "use-backend-name"
				if len(ln.Words) == 2 {
					b.px.StateFileName = ln.Words[1]
				}
			}
		}},
		{Name: "log-format", Sections: inFE, Doc: "custom traffic log line", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "exactly one argument (quote the format)") {
				if _, err := CompileFormat(ln.Words[1]); err != nil {
					b.errorf(ln.Pos, "'log-format' %v", err)
					return
				}
				b.px.LogFormat, b.px.LogFormatPos = ln.Words[1], ln.Pos
			}
		}},
		{Name: "fullconn", Sections: inBE, Doc: "backend load at which dynamic server maxconn reaches its maximum", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<number> as argument") {
				if n, err := parseInt(ln.Words[1], 0, 1<<30); err != nil {
					b.errorf(ln.Pos, "'fullconn' %v", err)
				} else {
					b.px.FullConn = n
				}
			}
		}},
		{Name: "id", Sections: InFrontend | InListen | InBackend, Doc: "numeric proxy id", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<id> as argument") {
				if n, err := parseInt(ln.Words[1], 1, 1<<30); err != nil {
					b.errorf(ln.Pos, "'id' %v", err)
				} else {
					b.px.ID = n
				}
			}
		}},
		{Name: "disabled", Sections: inAllProxies, Doc: "do not start this proxy", parse: func(b *builder, ln *Line) { b.px.Disabled = true }},
		{Name: "enabled", Sections: inAllProxies, Doc: "start this proxy (default)", parse: func(b *builder, ln *Line) { b.px.Disabled = false }},
		{Name: "description", Sections: inAllProxies, Doc: "text shown by the stats page", parse: func(b *builder, ln *Line) {
			b.px.Description = strings.Join(ln.Words[1:], " ")
		}},
		{Name: "stats", Sections: inAllProxies, Doc: "stats page: enable, uri, refresh, show-node, show-legends, show-desc, auth, realm, hide-version, admin, scope", parse: (*builder).parseStats},
		{Name: "http-request", Sections: inFE | InBackend, Doc: "request rules (mode http)", parse: func(b *builder, ln *Line) { b.parseHTTPRule(ln, false) }},
		{Name: "http-response", Sections: inFE | InBackend, Doc: "response rules (mode http)", parse: func(b *builder, ln *Line) { b.parseHTTPRule(ln, true) }},
		{Name: "http-after-response", Sections: inFE | InBackend, Doc: "rules on every response, halo's own (errors, redirects, return, stats) too, after http-response: " + strings.Join(httpAfterActions, ", "), parse: func(b *builder, ln *Line) { b.parseHTTPRule(ln, true) }},
		{Name: "redirect", Sections: inFEnoDef | InBackend, Doc: "redirect location|prefix|scheme <to> [code N] [if cond]", parse: func(b *builder, ln *Line) {
			r := &HTTPRule{Pos: ln.Pos, Action: ActRedirect}
			b.warnRuleOrder(ln, phaseRedirect)
			if b.parseRedirect(ln, 1, r, fmtSite{}) {
				b.px.Redirects = append(b.px.Redirects, r)
			}
		}},
		{Name: "capture", Sections: inFEnoDef, Doc: "capture request|response header <name> len <n>", parse: (*builder).parseCapture},
		{Name: "monitor-uri", Sections: inFE, Doc: "URI answered with 200 for external monitoring", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<uri> as argument") {
				b.px.MonitorURI = ln.Words[1]
			}
		}},
		{Name: "errorfile", Sections: inAllProxies, Doc: "serve a file instead of the built-in response for a status", parse: func(b *builder, ln *Line) {
			if !b.argCount(ln, 1, 2, 2, "<status_code> and <file> as arguments") {
				return
			}
			code, err := parseErrorFile(ln.Words[1], b.path(ln.Words[2]))
			if err != nil {
				b.errorf(ln.Pos, "%v", err)
				return
			}
			if b.px.ErrorFiles == nil {
				b.px.ErrorFiles = map[int]string{}
			}
			b.px.ErrorFiles[code] = b.path(ln.Words[2])
		}},
		{Name: "errorfiles", Sections: inAllProxies, Doc: "use the files of an http-errors section", parse: func(b *builder, ln *Line) {
			if !b.argCount(ln, 1, 1, -1, "<http-errors section> [codes...]") {
				return
			}
			if len(ln.Words) > 2 {
				b.errorf(ln.Pos, "'errorfiles' with a list of status codes is not supported by halo yet; use the whole section")
				return
			}
			b.px.ErrorFilesFrom = append(b.px.ErrorFilesFrom, ln.Words[1])
		}},
		{Name: "cookie", Sections: inBE, Doc: "cookie-based persistence: cookie NAME insert|rewrite|prefix [indirect] [nocache] ...", parse: (*builder).parseCookie},
		{Name: "http-reuse", Sections: inBE, Doc: "who may use an idle server connection: never (only the session that opened it), safe (default: not a session's first request), aggressive (a first request only on a connection already reused), always", parse: func(b *builder, ln *Line) {
			if !b.argCount(ln, 1, 1, 1, "one of 'never', 'safe', 'aggressive', 'always'") {
				return
			}
			switch ln.Words[1] {
			case "never", "safe", "aggressive", "always":
				b.px.HTTPReuse = ln.Words[1]
			default:
				b.errorf(ln.Pos, "'http-reuse' expects one of 'never', 'safe', 'aggressive', 'always', got '%s'", ln.Words[1])
			}
		}},
	},
	removed(inAllProxies, "HAProxy 2.1", "'http-request add-header'", "reqadd"),
	removed(inAllProxies, "HAProxy 2.1", "'http-response add-header'", "rspadd"),
	removed(inAllProxies, "HAProxy 2.1", "'http-request del-header'", "reqdel", "reqidel"),
	removed(inAllProxies, "HAProxy 2.1", "'http-response del-header'", "rspdel", "rspidel"),
	removed(inAllProxies, "HAProxy 2.1", "'http-request replace-header' or 'http-request replace-path'", "reqrep", "reqirep"),
	removed(inAllProxies, "HAProxy 2.1", "'http-response replace-header'", "rsprep", "rspirep"),
	removed(inAllProxies, "HAProxy 2.1", "'http-request deny'", "reqdeny", "reqideny", "block"),
	removed(inAllProxies, "HAProxy 2.1", "'http-response deny'", "rspdeny", "rspideny"),
	removed(inAllProxies, "HAProxy 2.1", "'http-request allow'", "reqallow", "reqiallow", "reqpass", "reqipass"),
	removed(inAllProxies, "HAProxy 2.1", "'http-request tarpit'", "reqtarpit", "reqitarpit"),
	removed(inAllProxies, "HAProxy 2.1", "'use_backend <name> if <condition>'", "reqsetbe", "reqisetbe"),
	removed(inAllProxies, "HAProxy 2.1", "'timeout connect'", "contimeout"),
	removed(inAllProxies, "HAProxy 2.1", "'timeout client'", "clitimeout"),
	removed(inAllProxies, "HAProxy 2.1", "'timeout server'", "srvtimeout"),
	removed(inAllProxies, "HAProxy 2.1", "'option redispatch'", "redispatch"),
	removed(inAllProxies, "HAProxy 2.5", "", "bind-process"),
	removed(inAllProxies, "HAProxy 2.4", "'monitor-uri' in a frontend", "monitor-net"),
	removed(inAllProxies, "HAProxy 2.2", "'http-request set-src' or 'option forwardfor'", "rspadd-header"),
	unsupported(inAllProxies, "", "clitcpka-cnt", "clitcpka-idle", "clitcpka-intvl", "srvtcpka-cnt", "srvtcpka-idle",
		"srvtcpka-intvl", "declare", "dispatch", "email-alert", "error-log-format", "force-persist",
		"filter", "hash-balance-factor", "http-error", "http-send-name-header", "ignore-persist",
		"log-format-sd", "log-tag", "max-keep-alive-queue", "monitor", "persist",
		"rate-limit", "source", "stick",
		"tcp-response", "unique-id-format", "unique-id-header", "use-fcgi-app", "use-server", "errorloc", "errorloc302",
		"errorloc303", "grace", "transparent"),
))

func (b *builder) backendRef(ln *Line, name string) *BackendRef {
	if strings.Contains(name, "%[") {
		f, _ := b.compileFormat(ln, name, fmtSite{at: b.at(phaseUseBackend),
			prefix: fmt.Sprintf("failed to parse %s rule '%s'", ln.Words[0], name)})
		return &BackendRef{Pos: ln.Pos, Format: name, NameFmt: f}
	}
	return &BackendRef{Pos: ln.Pos, Name: name}
}

// cond parses a condition starting at word i (which must be if/unless)
// of a rule evaluated at at, and warns as HAProxy does when an ACL
// cannot match there.
func (b *builder) cond(ln *Line, i int, at acl.Where) (*acl.Cond, error) {
	if i >= len(ln.Words) {
		return nil, nil
	}
	w := ln.Words[i]
	if w != "if" && w != "unless" {
		b.errorf(ln.Pos, "'%s' expects 'if' or 'unless' followed by a condition, got '%s'", ln.Words[0], w)
		return nil, errors.New("bad condition")
	}
	set := b.px.ACLs
	if set == nil {
		set = acl.NewSet()
		set.Resolve = resolveACLHost
	}
	c, err := acl.ParseCond(ln.Words[i:], set)
	if err != nil {
		b.errorf(ln.Pos, "error detected while parsing '%s' condition : %v", w, err)
		return nil, err
	}
	if c.Layer6() && ln.Words[0] != "redirect" && ln.Words[0] != "stats" {
		// HAProxy warns about the rules it evaluates in its request and
		// response analysers, not about redirect and stats admin.
		b.noteL6(ln.Pos)
	}
	for _, e := range c.Anonymous() {
		b.checkExpr(ln, "an '"+strings.Join(ln.Words[:min(2, i)], " ")+"' condition", e)
	}
	b.warnConflict(ln, c, at)
	return c.At(at), nil
}

var timeoutNames = []string{"client", "server", "connect", "check", "queue", "http-keep-alive", "http-request", "tunnel", "tarpit", "client-fin", "server-fin"}

func (b *builder) parseTimeout(ln *Line) {
	if len(ln.Words) != 3 {
		if len(ln.Words) == 2 {
			b.errorf(ln.Pos, "'timeout %s' expects an integer value (in milliseconds)", ln.Words[1])
		} else {
			b.errorf(ln.Pos, "'timeout' expects <type> and <value> as arguments")
		}
		return
	}
	kind := ln.Words[1]
	t := &b.px.Timeouts
	var dst *time.Duration
	var caps uint8
	switch kind {
	case "client":
		dst, caps = &t.Client, inFE
	case "server":
		dst, caps = &t.Server, inBE
	case "connect":
		dst, caps = &t.Connect, inBE
	case "check":
		dst, caps = &t.Check, inBE
	case "queue":
		dst, caps = &t.Queue, inBE
	case "http-keep-alive":
		dst, caps = &t.HTTPKeepAlive, inAllProxies
	case "http-request":
		dst, caps = &t.HTTPRequest, inAllProxies
	case "tunnel":
		dst, caps = &t.Tunnel, inBE
	case "tarpit":
		dst, caps = &t.Tarpit, inAllProxies
	case "client-fin":
		dst, caps = &t.ClientFin, inFE
	case "server-fin":
		dst, caps = &t.ServerFin, inBE
	default:
		b.errorf(ln.Pos, "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got '%s')%s", kind, suggest.Hint(kind, timeoutNames))
		return
	}
	d, err := parseTime(ln.Words[2])
	if err != nil {
		b.errorf(ln.Pos, "'timeout %s' %v", kind, err)
		return
	}
	if !(&Keyword{Sections: caps}).allowed(b.sec) {
		b.warnf(ln.Pos, "'timeout %s' will be ignored because %s '%s' has no %s capability", kind, b.secName, b.px.Name, map[bool]string{true: "frontend", false: "backend"}[caps == inFE])
		return
	}
	*dst = d
}

func (b *builder) parseBalance(ln *Line) {
	if len(ln.Words) < 2 {
		b.errorf(ln.Pos, "'balance' expects an algorithm name")
		return
	}
	bal := &b.px.Balance
	name, arg := ln.Words[1], ""
	if i := strings.IndexByte(name, '('); i >= 0 && strings.HasSuffix(name, ")") {
		name, arg = name[:i], name[i+1:len(name)-1]
	}
	rest := ln.Words[2:]
	noArgs := func() bool {
		if len(rest) > 0 || arg != "" {
			b.errorf(ln.Pos, "'balance %s' takes no argument", name)
			return false
		}
		return true
	}
	*bal = Balance{HashType: bal.HashType, HashFunc: bal.HashFunc, Avalanche: bal.Avalanche, Draws: 2}
	switch name {
	case "roundrobin":
		if noArgs() {
			bal.Algo = AlgoRoundRobin
		}
	case "static-rr":
		if noArgs() {
			bal.Algo = AlgoStaticRR
		}
	case "leastconn":
		if noArgs() {
			bal.Algo = AlgoLeastConn
		}
	case "first":
		if noArgs() {
			bal.Algo = AlgoFirst
		}
	case "source":
		if noArgs() {
			bal.Algo = AlgoSource
		}
	case "random":
		bal.Algo = AlgoRandom
		if arg != "" {
			n, err := parseInt(arg, 1, 100)
			if err != nil {
				b.errorf(ln.Pos, "'balance random(<draws>)' %v", err)
				return
			}
			bal.Draws = n
		}
	case "uri":
		bal.Algo = AlgoURI
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case "whole":
				bal.URIWhole = true
			case "path-only":
				bal.URIPathOnly = true
			case "len", "depth":
				if i+1 >= len(rest) {
					b.errorf(ln.Pos, "'balance uri %s' expects a positive integer", rest[i])
					return
				}
				n, err := parseInt(rest[i+1], 0, 1<<20)
				if err != nil {
					b.errorf(ln.Pos, "'balance uri %s' %v", rest[i], err)
					return
				}
				if rest[i] == "len" {
					bal.URILen = n
				} else {
					bal.URIDepth = n
				}
				i++
			default:
				b.errorf(ln.Pos, "'balance uri' only accepts parameters 'whole', 'len', 'depth' and 'path-only' (got '%s')", rest[i])
				return
			}
		}
	case "url_param":
		if len(rest) < 1 {
			b.errorf(ln.Pos, "'balance url_param' requires an URL parameter name")
			return
		}
		bal.Algo, bal.Param = AlgoURLParam, rest[0]
		if len(rest) > 1 {
			b.errorf(ln.Pos, "'balance url_param %s %s' is not supported by halo yet (check_post reads the request body)", rest[0], rest[1])
		}
	case "hdr":
		if arg == "" {
			b.errorf(ln.Pos, "'balance hdr' requires an http header field name")
			return
		}
		bal.Algo, bal.Param = AlgoHdr, arg
		for _, r := range rest {
			if r != "use_domain_only" {
				b.errorf(ln.Pos, "'balance hdr(%s)' only accepts 'use_domain_only' (got '%s')", arg, r)
				return
			}
			bal.UseDomainOnly = true
		}
	case "rdp-cookie", "hash", "sticky":
		b.errorf(ln.Pos, "'balance %s' is a valid HAProxy algorithm that halo does not support yet", name)
	default:
		b.errorf(ln.Pos, "'balance' only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)', 'rdp-cookie(name)', 'hash', 'random' and 'first' (got '%s')%s", name,
			suggest.Hint(name, []string{"roundrobin", "static-rr", "leastconn", "first", "source", "random", "uri", "url_param"}))
	}
}

func (b *builder) parseHashType(ln *Line) {
	if !b.argCount(ln, 1, 1, 3, "map-based|consistent [<function>] [<modifier>]") {
		return
	}
	bal := &b.px.Balance
	switch ln.Words[1] {
	case "map-based":
		bal.HashType = HashMapBased
	case "consistent":
		bal.HashType = HashConsistent
	case "avalanche":
		b.errorf(ln.Pos, "'hash-type avalanche' is not supported anymore since HAProxy 1.6. Use 'hash-type map-based sdbm avalanche' instead.")
		return
	default:
		b.errorf(ln.Pos, "'hash-type' expects 'map-based' or 'consistent', got '%s'", ln.Words[1])
		return
	}
	bal.HashFunc, bal.Avalanche = "sdbm", false
	for _, w := range ln.Words[2:] {
		switch w {
		case "sdbm", "djb2", "wt6", "crc32", "none":
			bal.HashFunc = w
		case "avalanche":
			bal.Avalanche = true
		default:
			b.errorf(ln.Pos, "'hash-type' unknown function or modifier '%s' (expected sdbm, djb2, wt6, crc32, none, avalanche)", w)
			return
		}
	}
}

func (b *builder) parseTCPRequest(ln *Line) {
	w := ln.Words
	if len(w) < 2 {
		b.errorf(ln.Pos, "'tcp-request' expects 'inspect-delay', 'connection', 'content' or 'session'")
		return
	}
	switch w[1] {
	case "inspect-delay":
		if !b.argCount(ln, 2, 1, 1, "<time> as argument") {
			return
		}
		d, err := parseTime(w[2])
		if err != nil {
			b.errorf(ln.Pos, "'tcp-request inspect-delay' %v", err)
			return
		}
		b.px.InspectDelay = d
	case "connection", "content":
		if b.sec == secDefaults {
			b.errorf(ln.Pos, "'tcp-request %s' rules in a defaults section are not supported by halo yet", w[1])
			return
		}
		if len(w) < 3 {
			b.errorf(ln.Pos, "'tcp-request %s' expects an action", w[1])
			return
		}
		var sa *StickAction
		next := 3
		layer := map[string]int{"connection": phaseTCPConnection, "content": phaseTCPContent}[w[1]]
		switch {
		case w[2] == "accept" || w[2] == "reject":
		case isStickAction(w[2]):
			var ok bool
			if sa, next, ok = b.parseStickAction(ln, 2, b.at(layer)); !ok {
				return
			}
		default:
			b.errorf(ln.Pos, "'tcp-request %s %s' is not supported by halo yet (supported actions: accept, reject, track-sc0..2, sc-inc-gpc0/1, sc-set-gpt0)", w[1], w[2])
			return
		}
		if w[1] == "connection" {
			b.warnRuleOrder(ln, phaseTCPConnection)
		} else {
			b.warnRuleOrder(ln, phaseTCPContent)
		}
		r := &TCPRule{Pos: ln.Pos, Layer: w[1], Action: w[2], Stick: sa}
		if sa != nil {
			r.Action = "stick"
		}
		if len(w) > next {
			c, err := b.cond(ln, next, b.at(layer))
			if err != nil {
				return
			}
			r.Cond = c
		}
		b.px.TCPRequest = append(b.px.TCPRequest, r)
	case "session":
		b.errorf(ln.Pos, "'tcp-request session' is a valid HAProxy rule set that halo does not support yet")
	default:
		b.errorf(ln.Pos, "'tcp-request' expects 'inspect-delay', 'connection', 'content' or 'session', got '%s'", w[1])
	}
}

func (b *builder) parseCapture(ln *Line) {
	w := ln.Words
	if len(w) == 6 && (w[1] == "request" || w[1] == "response") && w[2] == "header" && w[4] == "len" {
		n, err := parseInt(w[5], 1, 65535)
		if err != nil {
			b.errorf(ln.Pos, "'capture %s header' len %v", w[1], err)
			return
		}
		b.px.Captures = append(b.px.Captures, Capture{Pos: ln.Pos, Response: w[1] == "response", Header: w[3], Len: n})
		return
	}
	if len(w) >= 2 && w[1] == "cookie" {
		b.errorf(ln.Pos, "'capture cookie' is a valid HAProxy keyword that halo does not support yet")
		return
	}
	b.errorf(ln.Pos, "'capture' expects 'request header <name> len <length>' or 'response header <name> len <length>'")
}

func (b *builder) parseCookie(ln *Line) {
	w := ln.Words
	if len(w) < 2 {
		b.errorf(ln.Pos, "'cookie' expects <cookie_name> as argument")
		return
	}
	c := &Cookie{Name: w[1], Mode: "rewrite"}
	modes := 0
	for i := 2; i < len(w); i++ {
		switch w[i] {
		case "insert", "rewrite", "prefix":
			c.Mode = w[i]
			modes++
		case "indirect":
			c.Indirect = true
		case "nocache":
			c.NoCache = true
		case "postonly":
			c.PostOnly = true
		case "httponly":
			c.HTTPOnly = true
		case "secure":
			c.Secure = true
		case "preserve":
			c.Preserve = true
		case "domain":
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'cookie' 'domain' expects a domain name")
				return
			}
			d := w[i+1]
			if !strings.Contains(strings.TrimPrefix(d, "."), ".") {
				b.warnf(ln.Pos, "domain '%s' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3).", d)
			}
			c.Domain = append(c.Domain, d)
			i++
		case "attr":
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'cookie' 'attr' expects a value")
				return
			}
			for _, ch := range []byte(w[i+1]) {
				if ch < 0x20 || ch == 0x7f || ch == ';' {
					b.errorf(ln.Pos, "character '%%x%02X' is not permitted in attribute value.", ch)
					return
				}
			}
			c.Attrs = append(c.Attrs, w[i+1])
			i++
		case "maxidle", "maxlife":
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'%s' expects <%stime> in seconds as argument.", w[i], strings.TrimPrefix(w[i], "max"))
				return
			}
			v := w[i+1]
			if strings.Trim(v, "0123456789") == "" {
				v += "s" // a bare number is seconds here, not milliseconds
			}
			d, err := parseTime(v)
			if err != nil {
				b.errorf(ln.Pos, "'cookie' '%s' %v", w[i], err)
				return
			}
			if w[i] == "maxidle" {
				c.MaxIdle = d
			} else {
				c.MaxLife = d
			}
			i++
		case "dynamic":
			b.errorf(ln.Pos, "'cookie' option 'dynamic' is not supported by halo yet (servers need an explicit 'cookie' value)")
			return
		default:
			b.errorf(ln.Pos, "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife', 'attr', 'preserve', 'httponly' and 'secure' options (got '%s')", w[i])
			return
		}
	}
	switch {
	case modes > 1:
		b.errorf(ln.Pos, "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.")
		return
	case c.Mode == "rewrite" && c.Indirect:
		b.errorf(ln.Pos, "cookie 'rewrite' and 'indirect' modes are incompatible.")
		return
	case c.Preserve && c.Mode != "insert" && !c.Indirect:
		b.errorf(ln.Pos, "cookie 'preserve' requires at least 'insert' or 'indirect'.")
		return
	}
	b.px.Cookie = c
}

// parseLog parses `log global` or `log <target> [len N] [format F]
// [sample R:S] <facility> [max [min]]`.
func (b *builder) parseLog(ln *Line) (LogTarget, bool) {
	w := ln.Words
	t := LogTarget{Pos: ln.Pos}
	if len(w) == 2 && w[1] == "global" {
		t.Global = true
		return t, true
	}
	if len(w) < 3 {
		b.errorf(ln.Pos, "'log' expects either <address[:port]> and <facility> or 'global' as arguments")
		return t, false
	}
	t.Address = w[1]
	i := 2
	for i < len(w) {
		switch w[i] {
		case "len":
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'log' 'len' expects a number")
				return t, false
			}
			n, err := parseInt(w[i+1], 80, 65535)
			if err != nil {
				b.errorf(ln.Pos, "'log' 'len' %v", err)
				return t, false
			}
			t.Len = n
			i += 2
			continue
		case "format":
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'log' 'format' expects a format name")
				return t, false
			}
			switch w[i+1] {
			case "rfc3164", "rfc5424", "raw", "short", "iso", "timed", "local", "priority":
				t.Format = w[i+1]
			default:
				b.errorf(ln.Pos, "'log' unknown log format '%s' (expected rfc3164, rfc5424, raw, short, iso, timed, local, priority)", w[i+1])
				return t, false
			}
			i += 2
			continue
		case "sample":
			b.errorf(ln.Pos, "'log ... sample' is not supported by halo yet")
			return t, false
		}
		break
	}
	if i >= len(w) {
		b.errorf(ln.Pos, "'log' expects a facility")
		return t, false
	}
	if !syslogFacilities[w[i]] {
		b.errorf(ln.Pos, "unknown log facility '%s'%s", w[i], suggest.Hint(w[i], keys(syslogFacilities)))
		return t, false
	}
	t.Facility = w[i]
	i++
	if i < len(w) {
		if !syslogLevels[w[i]] {
			b.errorf(ln.Pos, "unknown optional log level '%s'", w[i])
			return t, false
		}
		t.MaxLevel = w[i]
		i++
	}
	if i < len(w) {
		if !syslogLevels[w[i]] {
			b.errorf(ln.Pos, "unknown optional minimum log level '%s'", w[i])
			return t, false
		}
		t.MinLevel = w[i]
		i++
	}
	if i < len(w) {
		b.errorf(ln.Pos, "'log' unexpected argument '%s'", w[i])
		return t, false
	}
	network, addr, err := logging.ParseAddress(t.Address)
	if err != nil {
		b.errorf(ln.Pos, "%v", err)
		return t, false
	}
	t.Spec = logging.TargetSpec{Address: t.Address, Network: network, Addr: addr, Len: t.Len, MaxLevel: logging.Debug, MinLevel: logging.Emerg}
	t.Spec.Facility, _ = logging.ParseFacility(t.Facility)
	if t.Format != "" {
		t.Spec.Framing, _ = logging.ParseFraming(t.Format)
	}
	if t.MaxLevel != "" {
		t.Spec.MaxLevel, _ = logging.ParseLevel(t.MaxLevel)
	}
	if t.MinLevel != "" {
		t.Spec.MinLevel, _ = logging.ParseLevel(t.MinLevel)
	}
	return t, true
}

var syslogFacilities = setOf("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
	"ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7")

var syslogLevels = setOf("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

func setOf(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func (b *builder) parseStats(ln *Line) {
	w := ln.Words
	if len(w) < 2 {
		b.errorf(ln.Pos, "'stats' expects 'enable', 'uri', 'refresh', 'show-node', 'show-legends', 'show-desc', 'auth', 'realm', 'hide-version', 'admin' or 'scope'")
		return
	}
	if b.px.Stats == nil {
		b.px.Stats = &Stats{Pos: ln.Pos}
	}
	st := b.px.Stats
	enable := true
	switch w[1] {
	case "enable":
	case "uri":
		if !b.argCount(ln, 2, 1, 1, "<uri> as argument") {
			return
		}
		st.URI = w[2]
	case "refresh":
		if !b.argCount(ln, 2, 1, 1, "<time> as argument") {
			return
		}
		d, err := parseTime(w[2])
		if err != nil {
			b.errorf(ln.Pos, "'stats refresh' %v", err)
			return
		}
		st.Refresh = d
	case "show-node":
		st.ShowNode = true
		if len(w) > 2 {
			st.NodeName = w[2]
		}
	case "show-legends":
		st.ShowLegends = true
	case "show-desc":
		st.ShowDesc = strings.Join(w[2:], " ")
	case "hide-version":
		st.HideVersion = true
	case "realm":
		if !b.argCount(ln, 2, 1, 1, "<realm> as argument") {
			return
		}
		st.Realm = w[2]
	case "auth":
		if !b.argCount(ln, 2, 1, 1, "<user>:<password> as argument") {
			return
		}
		u, p, ok := strings.Cut(w[2], ":")
		if !ok {
			b.errorf(ln.Pos, "'stats auth' expects <user>:<password>, got '%s' (missing ':')", w[2])
			return
		}
		st.Auth = append(st.Auth, StatsUser{User: u, Password: p})
	case "admin":
		if b.sec == secDefaults {
			b.errorf(ln.Pos, "'stats admin' is not allowed in a defaults section")
			return
		}
		c, err := b.cond(ln, 2, b.at(phaseHTTPRequest))
		if err != nil {
			return
		}
		if c == nil {
			b.errorf(ln.Pos, "'stats admin' requires a condition ('if' or 'unless')")
			return
		}
		st.Admin = append(st.Admin, c)
	case "scope":
		if !b.argCount(ln, 2, 1, 1, "<proxy name> as argument") {
			return
		}
		name := w[2]
		if name == "." {
			name = b.px.Name // "." is the proxy serving the page
		}
		st.Scope = append(st.Scope, name)
	case "socket", "timeout", "maxconn", "bind-process":
		b.errorf(ln.Pos, "'stats %s' is only valid in the global section", w[1])
		return
	case "http-request":
		b.errorf(ln.Pos, "'stats http-request' is not supported by halo yet")
		return
	case "show-modules":
		b.errorf(ln.Pos, "'stats show-modules' is a valid HAProxy keyword that halo does not support yet (the page has no module counters); remove the line")
		return
	default:
		b.errorf(ln.Pos, "'stats' expects 'enable', 'uri', 'refresh', 'show-node', 'show-legends', 'show-desc', 'auth', 'realm', 'hide-version', 'admin' or 'scope', got '%s'%s", w[1],
			suggest.Hint(w[1], []string{"enable", "uri", "refresh", "show-node", "show-legends", "show-desc", "auth", "realm", "hide-version", "admin", "scope"}))
		return
	}
	if enable {
		st.Enabled = true
	}
}

// parseRetryOn parses `retry-on <keyword>...`, which replaces the
// inherited set, with HAProxy's messages.
func (b *builder) parseRetryOn(ln *Line) {
	if len(ln.Words) < 2 {
		b.errorf(ln.Pos, "'retry-on' needs at least one keyword to specify when to retry")
		return
	}
	var set RetryOn
	for _, w := range ln.Words[1:] {
		switch w {
		case "none":
			if len(ln.Words) != 2 {
				b.errorf(ln.Pos, "'retry-on' 'none' keyword only usable alone")
				return
			}
		case "all-retryable-errors":
			set |= RetryAllRetryable
		default:
			bit, ok := retryOnWords[w]
			if !ok {
				b.errorf(ln.Pos, "'retry-on': unknown keyword '%s'", w)
				return
			}
			set |= bit
		}
	}
	b.px.RetryOn, b.px.RetryOnPos = set, ln.Pos
}
