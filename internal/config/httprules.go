package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/suggest"
)

var httpReqActions = []string{"allow", "deny", "return", "redirect", "set-header", "add-header", "del-header",
	"replace-header", "replace-value", "set-path", "set-pathq", "set-query", "set-uri", "replace-path", "replace-pathq",
	"replace-uri", "set-method", "auth",
	"set-var", "use-service", "tarpit", "disable-l7-retry", "cache-use", "reject", "silent-drop", "set-log-level",
	"capture"}

var httpResActions = []string{"allow", "deny", "return", "set-header", "add-header", "del-header", "replace-header",
	"replace-value", "set-status", "set-var", "redirect", "cache-store", "set-log-level"}

// knownHTTPActions are the other actions of HAProxy 2.6, refused as not supported yet.
var knownHTTPActions = setOf("add-acl", "capture", "del-acl", "del-map",
	"do-resolve", "early-hint", "normalize-uri", "reject", "sc-inc-gpc", "sc-inc-gpc0", "sc-inc-gpc1",
	"sc-set-gpt", "sc-set-gpt0", "send-spoe-group", "set-dst", "set-dst-port", "set-log-level", "set-map", "set-mark",
	"set-nice", "set-priority-class", "set-priority-offset", "set-src", "set-src-port", "set-timeout",
	"set-tos", "set-var-fmt", "silent-drop", "strict-mode", "track-sc0", "track-sc1", "track-sc2", "unset-var",
	"wait-for-body", "wait-for-handshake", "set-bandwidth-limit")

// parseHTTPRule parses http-request / http-response lines.
func (b *builder) parseHTTPRule(ln *Line, response bool) {
	w := ln.Words
	kw := w[0]
	if len(w) < 2 {
		b.errorf(ln.Pos, "'%s' expects an action", kw)
		return
	}
	if b.sec == secDefaults && b.px.Name == "" {
		b.errorf(ln.Pos, "'%s' not allowed in anonymous 'defaults' section.", kw)
		return
	}
	r := &HTTPRule{Pos: ln.Pos, Response: response}
	act := w[1]
	if strings.HasPrefix(act, "set-var(") {
		b.parseSetVar(ln, r, response)
		return
	}
	if strings.HasPrefix(act, "set-var-fmt(") || strings.HasPrefix(act, "unset-var(") {
		b.parseVarFmt(ln, r)
		return
	}
	if !response && isStickAction(act) {
		sa, end, ok := b.parseStickAction(ln, 1, b.at(phaseHTTPRequest))
		if !ok {
			return
		}
		if end < len(w) && w[end] != "if" && w[end] != "unless" {
			b.errorf(ln.Pos, "'%s %s' unexpected argument '%s'", kw, act, w[end])
			return
		}
		r.Action, r.Stick = ActStick, sa
		b.addHTTPRule(ln, r, end)
		return
	}
	allowed := httpReqActions
	if response {
		allowed = httpResActions
	}
	if kw == "http-after-response" {
		allowed = httpAfterActions
		if !b.afterResponseAction(ln, act) {
			return
		}
	}
	if !hasWord(allowed, act) {
		other := act == "cache-store" && !response || act == "cache-use" && response // the other side's cache action
		if !other && (knownHTTPActions[act] || hasWord(httpReqActions, act) || hasWord(httpResActions, act)) {
			b.errorf(ln.Pos, "'%s %s' is a valid HAProxy action that halo does not support yet", kw, act)
		} else {
			b.errorf(ln.Pos, "'%s' unknown action '%s'%s", kw, act, suggest.Hint(act, allowed))
		}
		return
	}
	end := condStart(w, 2)
	args := w[2:end]
	need := func(n int, usage string) bool {
		if len(args) != n {
			b.errorf(ln.Pos, "'%s %s' expects %s", kw, act, usage)
			return false
		}
		return true
	}
	ok := true
	switch act {
	case "allow":
		r.Action = ActAllow
		ok = need(0, "no argument before the condition")
	case "deny", "tarpit":
		r.Action = ActDeny
		if act == "tarpit" {
			r.Action = ActTarpit
		}
		r.Status = 403
		switch {
		case response:
			r.Status = 502 // a denied response is a bad gateway for the client
		case act == "tarpit":
			r.Status = 500
		}
		ok = b.parseReturnArgs(ln, kw+" "+act, args, r, true)
	case "return":
		r.Action, r.Status = ActReturn, 200
		ok = b.parseReturnArgs(ln, kw+" "+act, args, r, false)
	case "redirect":
		r.Action = ActRedirect
		ok = b.parseRedirect(&Line{Pos: ln.Pos, Words: w[1:end]}, 1, r, b.ruleFmt(ln))
	case "set-header", "add-header":
		r.Action = ActSetHeader
		if act == "add-header" {
			r.Action = ActAddHeader
		}
		if ok = need(2, "exactly 2 arguments"); ok {
			r.Name, r.Value = args[0], args[1]
			r.Fmt, ok = b.compileFormat(ln, r.Value, b.ruleFmt(ln))
		}
	case "del-header":
		r.Action = ActDelHeader
		if len(args) == 3 && args[1] == "-m" {
			b.errorf(ln.Pos, "'%s del-header <name> -m <method>' is not supported by halo yet", kw)
			return
		}
		if ok = need(1, "exactly 1 argument"); ok {
			r.Name = args[0]
		}
	case "replace-header", "replace-value":
		r.Action = ActReplaceHeader
		if act == "replace-value" {
			r.Action = ActReplaceValue
		}
		if ok = need(3, "exactly 3 arguments: <name> <regex> <replacement>"); ok {
			r.Name = args[0]
			if r.Regexp, ok = b.regex(ln, args[1]); ok {
				ok = b.replacement(ln, r, args[2])
			}
		}
	case "set-path", "set-pathq", "set-query", "set-uri", "set-method":
		r.Action = map[string]HTTPAction{"set-path": ActSetPath, "set-pathq": ActSetPathQ, "set-query": ActSetQuery,
			"set-uri": ActSetURI, "set-method": ActSetMethod}[act]
		if ok = need(1, "exactly 1 argument"); ok {
			r.Value = args[0]
			r.Fmt, ok = b.compileFormat(ln, r.Value, b.ruleFmt(ln))
		}
	case "replace-path", "replace-pathq", "replace-uri":
		r.Action = map[string]HTTPAction{"replace-path": ActReplacePath, "replace-pathq": ActReplacePathQ, "replace-uri": ActReplaceURI}[act]
		if ok = need(2, "exactly 2 arguments: <regex> <replacement>"); ok {
			if r.Regexp, ok = b.regex(ln, args[0]); ok {
				ok = b.replacement(ln, r, args[1])
			}
		}
	case "auth":
		r.Action = ActAuth
		if len(args) == 2 && args[0] == "realm" {
			r.Name = args[1]
		} else if len(args) != 0 {
			b.errorf(ln.Pos, "'%s auth' expects [realm <realm>]", kw)
			return
		}
	case "set-var":
		b.errorf(ln.Pos, "'%s set-var' expects set-var(<name>) <expression>", kw)
		return
	case "set-status":
		r.Action = ActSetStatus
		if len(args) != 1 && !(len(args) == 3 && args[1] == "reason") {
			b.errorf(ln.Pos, "'%s set-status' expects <status> [reason <text>]", kw)
			return
		}
		n, err := parseInt(args[0], 100, 999)
		if err != nil {
			b.errorf(ln.Pos, "'%s set-status' expects a status code between 100 and 999, got '%s'", kw, args[0])
			return
		}
		r.Status = n
		if len(args) == 3 {
			r.Reason = args[2]
		}
	case "disable-l7-retry":
		r.Action = ActDisableL7Retry
		ok = need(0, "no argument before the condition")
	case "reject", "silent-drop":
		r.Action = ActReject
		if act == "silent-drop" {
			r.Action = ActSilentDrop
		}
		ok = need(0, "no argument before the condition")
	case "set-log-level":
		r.Action = ActSetLogLevel
		if ok = need(1, "a log level (emerg, alert, crit, err, warning, notice, info, debug or silent)"); ok {
			if args[0] == "silent" {
				r.Level = LogSilent
			} else if lv, err := logging.ParseLevel(args[0]); err == nil {
				r.Level = int(lv)
			} else {
				b.errorf(ln.Pos, "'%s set-log-level' : unknown log level '%s' (emerg, alert, crit, err, warning, notice, info, debug or silent)", kw, args[0])
				return
			}
		}
	case "capture":
		if !b.parseCaptureRule(ln, r, args) {
			return
		}
	case "cache-use", "cache-store":
		if !b.parseCacheAction(ln, r, args) {
			return
		}
	case "use-service":
		r.Action = ActUseService
		if ok = need(1, "a service name"); ok {
			if args[0] != "prometheus-exporter" {
				b.errorf(ln.Pos, "'%s use-service' unknown service '%s' (halo knows 'prometheus-exporter')", kw, args[0])
				return
			}
			r.Name = args[0]
		}
	}
	if !ok {
		return
	}
	b.addHTTPRule(ln, r, end)
}

// addHTTPRule attaches the condition starting at w[end] (if any) and
// appends r to its proxy.
func (b *builder) addHTTPRule(ln *Line, r *HTTPRule, end int) {
	list, phase := &b.px.HTTPRequest, phaseHTTPRequest
	switch {
	case ln.Words[0] == "http-after-response":
		list, phase = &b.px.HTTPAfterResponse, phaseHTTPResponse
	case r.Response:
		list, phase = &b.px.HTTPResponse, phaseHTTPResponse
	default:
		b.warnRuleOrder(ln, phaseHTTPRequest)
	}
	if end < len(ln.Words) {
		c, err := b.cond(ln, end, b.at(phase))
		if err != nil {
			return
		}
		r.Cond = c
	}
	if n := len(*list); n > 0 && b.ownRule((*list)[n-1].Pos) && (*list)[n-1].final() && (*list)[n-1].Cond == nil {
		b.warnf(ln.Pos, "previous '%s' action is final and has no condition attached, further entries are NOOP.", ln.Words[0])
	}
	*list = append(*list, r)
}

// final reports whether the rule ends the evaluation of its list when it
// applies.
func (r *HTTPRule) final() bool {
	switch r.Action {
	case ActAllow, ActDeny, ActTarpit, ActReturn, ActRedirect, ActAuth:
		return true
	}
	return false
}

// ownRule reports whether a rule at pos was written in the current
// proxy section rather than inherited from a defaults section.
func (b *builder) ownRule(pos Pos) bool {
	return pos.File == b.px.Pos.File && pos.Line > b.px.Pos.Line
}

// Rule phases of a proxy, in the order HAProxy evaluates them whatever
// the order they are written in, then the response rules.
const (
	phaseTCPConnection = iota
	phaseTCPContent
	phaseHTTPRequest
	phaseRedirect
	phaseUseBackend
	phaseHTTPResponse
)

// at is where a rule of the given phase written in the current section
// evaluates its samples: a frontend's rules are at the frontend's place,
// a backend's at the backend's, and those of a listen or defaults
// section at both.
func (b *builder) at(phase int) acl.Where {
	fe, be := b.sec != secBackend, b.sec != secFrontend
	var w acl.Where
	add := func(ok bool, at acl.Where) {
		if ok {
			w |= at
		}
	}
	switch phase {
	case phaseTCPConnection:
		add(fe, acl.AtTCPConnection)
	case phaseTCPContent:
		add(fe, acl.AtFrontendTCPContent)
		add(be, acl.AtBackendTCPContent)
	case phaseHTTPRequest, phaseRedirect:
		add(fe, acl.AtFrontendHTTPRequest)
		add(be, acl.AtBackendHTTPRequest)
	case phaseUseBackend:
		add(fe, acl.AtUseBackend)
	case phaseHTTPResponse:
		add(fe, acl.AtFrontendHTTPResponse)
		add(be, acl.AtBackendHTTPResponse)
	}
	return w
}

// pxKind names the current section as HAProxy does in messages.
func (b *builder) pxKind() string {
	switch b.sec {
	case secFrontend:
		return "frontend"
	case secBackend:
		return "backend"
	case secDefaults:
		return "defaults"
	}
	return "proxy"
}

// fmtSite is where a log-format string is used: the place its samples
// are evaluated at (0: not checked, as HAProxy does not check the
// target of a 'redirect' line) and how an unusable sample is reported.
type fmtSite struct {
	at     acl.Where
	prefix string // the start of the error message
	l6     bool   // an HTTP rule's argument: layer-6 fetches are warned about
}

// ruleFmt is the site of a format argument of an http-request or
// http-response rule.
func (b *builder) ruleFmt(ln *Line) fmtSite {
	if ln.Words[0] != "http-request" && ln.Words[0] != "http-response" && ln.Words[0] != "http-after-response" {
		return fmtSite{}
	}
	phase := phaseHTTPRequest
	if ln.Words[0] != "http-request" {
		phase = phaseHTTPResponse
	}
	return fmtSite{at: b.at(phase), l6: true,
		prefix: fmt.Sprintf("error detected in %s '%s' while parsing '%s %s' rule", b.pxKind(), b.px.Name, ln.Words[0], ln.Words[1])}
}

// warnRuleOrder warns, as HAProxy does, about a rule written after a
// rule of a later phase: it is still evaluated first.
func (b *builder) warnRuleOrder(ln *Line, phase int) {
	px := b.px
	seen := func(p int) bool {
		switch p {
		case phaseTCPContent:
			for _, r := range px.TCPRequest {
				if r.Layer == "content" {
					return true
				}
			}
		case phaseHTTPRequest:
			for _, r := range px.HTTPRequest {
				if b.ownRule(r.Pos) {
					return true
				}
			}
		case phaseRedirect:
			return len(px.Redirects) > 0
		case phaseUseBackend:
			return len(px.UseBackends) > 0
		}
		return false
	}
	names := map[int]string{phaseTCPContent: "a 'tcp-request content'", phaseHTTPRequest: "an 'http-request'",
		phaseRedirect: "a 'redirect'", phaseUseBackend: "a 'use_backend'"}
	for p := phase + 1; p <= phaseUseBackend; p++ {
		if seen(p) {
			b.warnf(ln.Pos, "a '%s' rule placed after %s rule will still be processed before.", ln.Words[0], names[p])
			return
		}
	}
}

// parseSetVar parses `set-var(<scope>.<name>) <expression> [if|unless ...]`.
func (b *builder) parseSetVar(ln *Line, r *HTTPRule, response bool) {
	w := ln.Words
	act := w[1]
	if !strings.HasSuffix(act, ")") {
		b.errorf(ln.Pos, "'%s %s' : missing closing ')'", w[0], act)
		return
	}
	r.Action, r.Name = ActSetVar, act[len("set-var("):len(act)-1]
	if err := acl.CheckVarName(r.Name); err != nil {
		b.errorf(ln.Pos, "'%s set-var' : %v", w[0], err)
		return
	}
	end := condStart(w, 2)
	if end != 3 {
		b.errorf(ln.Pos, "'%s set-var(%s)' expects exactly one sample expression", w[0], r.Name)
		return
	}
	smp, err := acl.ParseSample(w[2])
	if err != nil {
		b.errorf(ln.Pos, "'%s set-var(%s)' : %v", w[0], r.Name, err)
		return
	}
	phase := phaseHTTPRequest
	if response {
		phase = phaseHTTPResponse
	}
	at := b.at(phase)
	if need := smp.Unavailable(at); need != 0 {
		b.errorf(ln.Pos, "error detected in %s '%s' while parsing '%s %s' rule : fetch method '%s' extracts information from '%s', none of which is available here.",
			b.pxKind(), b.px.Name, w[0], act, act, need)
		return
	}
	r.Expr, r.Value = smp.At(at), w[2]
	b.noteRefs(ln.Pos, "sample fetch", smp.Refs())
	b.addHTTPRule(ln, r, end)
}

func (b *builder) regex(ln *Line, s string) (*regexp.Regexp, bool) {
	re, err := regexp.Compile(s)
	if err != nil {
		b.errorf(ln.Pos, "'%s' invalid regex '%s': %v", ln.Words[0], s, err)
		return nil, false
	}
	return re, true
}

// replacement compiles the replace-fmt of replace-header, replace-value,
// replace-path and replace-uri: a log-format string whose result has its
// \N references to the regex's groups expanded. Without %[...] the
// expansion template is computed once here.
func (b *builder) replacement(ln *Line, r *HTTPRule, s string) bool {
	if !strings.Contains(s, "%") {
		rep, err := acl.ParseReplacement(s)
		if err != nil {
			b.errorf(ln.Pos, "'%s %s' %v", ln.Words[0], ln.Words[1], err)
			return false
		}
		r.Replace = rep
		return true
	}
	// (The log-format compiler keeps backslashes: \1 reaches the expansion.)
	f, ok := b.compileFormat(ln, s, b.ruleFmt(ln))
	r.ReplaceFmt = f
	return ok
}

// compileFormat compiles a log-format string used at site: its samples
// are bound to the site's place, and one that cannot be used there is
// refused as HAProxy does, quoting the string from that sample on.
func (b *builder) compileFormat(ln *Line, s string, site fmtSite) (*Format, bool) {
	var bad string      // the string from the first unusable sample on
	var need acl.Source // what it needs
	var l6 []string     // layer-6 samples before it
	from := 0
	f, err := logging.Compile(s, func(expr string) (logging.Expr, error) {
		e, err := compileSample(expr)
		if err != nil {
			return e, err
		}
		smp := e.(sampleExpr).s
		b.noteRefs(ln.Pos, "sample fetch", smp.Refs())
		b.noteTableRefs(ln.Pos, smp.BindTable(b.px.Name))
		rest := expr
		if i := strings.Index(s[from:], "["+expr); i >= 0 {
			rest, from = s[from+i+1:], from+i+1
		}
		if site.at == 0 || bad != "" {
			return e, nil
		}
		if n := smp.Unavailable(site.at); n != 0 {
			bad, need = rest, n
		} else if site.l6 && smp.Layer6() {
			l6 = append(l6, rest)
		}
		return sampleExpr{smp.At(site.at)}, nil
	})
	if err != nil {
		n := 2
		if len(ln.Words) < 2 {
			n = len(ln.Words)
		}
		b.errorf(ln.Pos, "'%s' %v", strings.Join(ln.Words[:n], " "), err)
		return nil, false
	}
	for _, r := range l6 {
		b.warnf(ln.Pos, "L6 sample fetch <%s> ignored in HTTP log-format string.", r)
	}
	if bad != "" {
		b.errorf(ln.Pos, "%s : sample fetch <%s> may not be reliably used here because it needs '%s' which is not available here.", site.prefix, bad, need)
		return nil, false
	}
	return f, true
}

// parseReturnArgs parses deny/return options: [deny_status|status N]
// [content-type T] [string S|lf-string F|file F|lf-file F|errorfile F|errorfiles N] [hdr N V]*
func (b *builder) parseReturnArgs(ln *Line, what string, args []string, r *HTTPRule, deny bool) bool {
	for i := 0; i < len(args); i++ {
		k := args[i]
		if i+1 >= len(args) {
			b.errorf(ln.Pos, "'%s' option '%s' expects an argument", what, k)
			return false
		}
		v := args[i+1]
		switch k {
		case "status", "deny_status":
			n, err := parseInt(v, 200, 599)
			if err != nil {
				b.errorf(ln.Pos, "'%s' %s expects a status code between 200 and 599, got '%s'", what, k, v)
				return false
			}
			r.Status = n
		case "content-type":
			r.ContentType = v
		case "string", "lf-string":
			r.Body, r.BodyIsFormat = v, k == "lf-string"
		case "file", "errorfile":
			data, err := os.ReadFile(b.path(v))
			if err != nil {
				b.errorf(ln.Pos, "'%s' : error opening file <%s>: %s", what, v, unwrapPathErr(err))
				return false
			}
			r.File = v
			if k == "errorfile" {
				r.Raw = data
			} else {
				r.Body = string(data)
			}
		case "hdr":
			if i+2 >= len(args) {
				b.errorf(ln.Pos, "'%s' hdr expects <name> and <value>", what)
				return false
			}
			r.Headers = append(r.Headers, [2]string{v, args[i+2]})
			i++
		case "lf-file", "errorfiles", "default-errorfiles":
			b.errorf(ln.Pos, "'%s' option '%s' is not supported by halo yet", what, k)
			return false
		default:
			b.errorf(ln.Pos, "'%s' unknown option '%s' (expected status, content-type, string, lf-string, file, errorfile, hdr)", what, k)
			return false
		}
		i++
	}
	if (r.Body != "" || r.File != "") && r.ContentType == "" && r.File == "" {
		b.errorf(ln.Pos, "'%s' : a 'content-type' is required with a body", what)
		return false
	}
	if r.BodyIsFormat {
		f, ok := b.compileFormat(ln, r.Body, b.ruleFmt(ln))
		if !ok {
			return false
		}
		r.BodyFormat = f
	}
	for _, h := range r.Headers {
		f, ok := b.compileFormat(ln, h[1], b.ruleFmt(ln))
		if !ok {
			return false
		}
		r.HeaderFmts = append(r.HeaderFmts, f)
	}
	return true
}

// parseRedirect parses `redirect location|prefix|scheme <to> [code N]
// [drop-query] [append-slash] [set-cookie N=V] [clear-cookie N=]` from
// w[i] on, and a trailing condition.
func (b *builder) parseRedirect(ln *Line, i int, r *HTTPRule, site fmtSite) bool {
	w := ln.Words
	r.Action, r.Status = ActRedirect, 302
	if i+1 >= len(w) {
		b.errorf(ln.Pos, "'redirect' expects 'location', 'prefix' or 'scheme' followed by a target")
		return false
	}
	switch w[i] {
	case "location", "prefix", "scheme":
		r.RedirectKind, r.RedirectTo = w[i], w[i+1]
	default:
		b.errorf(ln.Pos, "'redirect' expects 'location', 'prefix' or 'scheme', got '%s'", w[i])
		return false
	}
	var ok bool
	if r.RedirectFmt, ok = b.compileFormat(ln, r.RedirectTo, site); !ok {
		return false
	}
	for j := i + 2; j < len(w); j++ {
		switch w[j] {
		case "code":
			if j+1 >= len(w) {
				b.errorf(ln.Pos, "'redirect' 'code' expects a status")
				return false
			}
			n, err := strconv.Atoi(w[j+1])
			if err != nil || (n != 301 && n != 302 && n != 303 && n != 307 && n != 308) {
				b.errorf(ln.Pos, "'redirect' 'code' expects 301, 302, 303, 307 or 308, got '%s'", w[j+1])
				return false
			}
			r.Status = n
			j++
		case "drop-query":
			r.DropQuery = true
		case "append-slash":
			r.AppendSlash = true
		case "set-cookie", "clear-cookie":
			if j+1 >= len(w) {
				b.errorf(ln.Pos, "'redirect' '%s' expects a cookie", w[j])
				return false
			}
			// The rule carries one cookie: the last of these options wins.
			if w[j] == "set-cookie" {
				r.SetCookie, r.ClearCookie = w[j+1], ""
			} else {
				r.ClearCookie, r.SetCookie = w[j+1], ""
			}
			j++
		case "if", "unless":
			if ln.Words[0] == "redirect" {
				c, err := b.cond(ln, j, b.at(phaseRedirect))
				if err != nil {
					return false
				}
				r.Cond = c
			}
			return true
		default:
			b.errorf(ln.Pos, "'redirect' unknown option '%s' (expected code, drop-query, append-slash, set-cookie, clear-cookie, if, unless)", w[j])
			return false
		}
	}
	return true
}

// condStart returns the index of the first if/unless word from w[from]
// on, or len(w) when the rule has no condition.
func condStart(w []string, from int) int {
	for i := from; i < len(w); i++ {
		if w[i] == "if" || w[i] == "unless" {
			return i
		}
	}
	return len(w)
}

// aclChecks is what the builder checks across proxies: the userlists
// ACLs and samples name (a userlist may be declared after the proxy
// using it) and the ACL -u ids, unique in the whole configuration.
type aclChecks struct {
	refs []authRef
	ids  map[int]bool
	l6   map[*Proxy][]Pos // rules of each proxy whose condition uses a layer-6 fetch
}

// noteL6 records a rule whose condition reads the raw request buffer,
// warned about in finish if the proxy turns out to be in HTTP mode.
func (b *builder) noteL6(pos Pos) {
	if b.aclChecks.l6 == nil {
		b.aclChecks.l6 = map[*Proxy][]Pos{}
	}
	b.aclChecks.l6[b.px] = append(b.aclChecks.l6[b.px], pos)
}

// warnConflict warns, in HAProxy's words, about the first ACL of a
// condition that cannot match (or only partly) where its rule is
// evaluated. HAProxy words it differently for tcp-request rules.
func (b *builder) warnConflict(ln *Line, c *acl.Cond, at acl.Where) {
	cf, ok := c.Conflict(at)
	if !ok {
		return
	}
	in, keywords := "", "keywords"
	if ln.Words[0] == "tcp-request" {
		in, keywords = " in '"+ln.Words[0]+" "+ln.Words[1]+"'", "keyword"
	}
	switch {
	case cf.ACL == "":
		b.warnf(ln.Pos, "anonymous acl will never match%s because it uses keyword '%s' which is incompatible with '%s'", in, cf.Keyword, at)
	case cf.Full:
		b.warnf(ln.Pos, "acl '%s' will never match%s because it only involves keywords that are incompatible with '%s'", cf.ACL, in, at)
	default:
		b.warnf(ln.Pos, "acl '%s' involves %s '%s' which is incompatible with '%s'", cf.ACL, keywords, cf.Keyword, at)
	}
}

// authRef is a userlist (and groups) a fetch names.
type authRef struct {
	pos   Pos
	proxy string
	what  string // "ACL" or "sample fetch"
	acl.Ref
}

func (b *builder) noteRefs(pos Pos, what string, refs []acl.Ref) {
	for _, r := range refs {
		b.aclChecks.refs = append(b.aclChecks.refs, authRef{pos, b.px.Name, what, r})
	}
}

// checkExpr checks an ACL expression just parsed in `where` (such as
// "ACL 'a'"): its userlists, its -u id, and warns when it never matches.
func (b *builder) checkExpr(ln *Line, where string, e *acl.Expr) {
	if e == nil {
		return
	}
	b.noteRefs(ln.Pos, "ACL", e.Refs())
	b.noteTableRefs(ln.Pos, e.BindTable(b.px.Name))
	if e.NeverMatches() {
		b.warnf(ln.Pos, "parsing acl keyword '%s' : no pattern to match against were provided, so this ACL will never match. "+
			"If this is what you intended, please add '--' to get rid of this warning. If you intended to match only for existence, "+
			"please use '-m found'. If you wanted to force an int to match as a bool, please use '-m bool'.", e.FetchText())
	}
	if id, ok := e.UniqueID(); ok {
		if b.aclChecks.ids[id] {
			b.errorf(ln.Pos, "error detected while parsing %s : the id is already used.", where)
			return
		}
		if b.aclChecks.ids == nil {
			b.aclChecks.ids = map[int]bool{}
		}
		b.aclChecks.ids[id] = true
		b.warnf(ln.Pos, "ACL flag '-u %d' has no effect in halo: the id names an ACL for the runtime API's 'show acl'/'add acl', which halo does not have", id)
	}
}

// resolveACLHost resolves a host name of an IP pattern to its first
// IPv4 address (else its first address), as HAProxy does at load time.
func resolveACLHost(host string) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("no address for '%s'", host)
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	return addrs[0], nil
}

// checkAuthRefs refuses, as HAProxy does, http_auth and http_auth_group
// naming a userlist that does not exist or a group it does not declare.
func (b *builder) checkAuthRefs() {
	for _, px := range b.cfg.Proxies {
		if px.Mode != ModeHTTP {
			continue
		}
		for _, pos := range b.aclChecks.l6[px] {
			b.warnf(pos, "Proxy '%s': L6 sample fetches ignored on HTTP proxies (declared at %s).", px.Name, pos)
		}
	}
	for _, r := range b.aclChecks.refs {
		ul := b.cfg.Userlist[r.Userlist]
		if ul == nil {
			b.errorf(r.pos, "unable to find userlist '%s' referenced in arg 1 of %s keyword '%s' in proxy '%s'.", r.Userlist, r.what, r.Fetch, r.proxy)
			continue
		}
		for _, g := range r.Groups {
			if _, ok := ul.Groups[g]; !ok {
				b.errorf(r.pos, "proxy '%s': %s(%s): invalid group '%s'.", r.proxy, r.Fetch, r.Userlist, g)
			}
		}
	}
}

// normalizeErrorPage rewrites an errorfile as HAProxy serves it once it
// has parsed it: lines end with CRLF, header names are in lower case and
// Connection headers are dropped (the proxy adds its own). The status
// line and the body are kept as written. A chunked body is refused, as
// by haproxy.
func normalizeErrorPage(data []byte) ([]byte, error) {
	text := string(data)
	var out []byte
	for first := true; ; first = false {
		line, rest, ok := strings.Cut(text, "\n")
		if !ok {
			return nil, errors.New("unable to find the end of the headers")
		}
		text = rest
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			if first {
				return nil, errors.New("missing status line")
			}
			out = append(out, "\r\n"...)
			break
		}
		if !first {
			name, value, ok := strings.Cut(line, ":")
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return nil, fmt.Errorf("invalid header line '%s'", line)
			}
			name = strings.ToLower(name)
			value = strings.TrimSpace(value)
			switch {
			case name == "connection":
				continue
			case name == "transfer-encoding" && strings.Contains(strings.ToLower(value), "chunked"):
				return nil, errors.New("chunk-encoded payload not supported")
			}
			line = name + ": " + value
		}
		out = append(out, line...)
		out = append(out, "\r\n"...)
	}
	return append(out, text...), nil
}

// parseVarFmt parses `set-var-fmt(<scope>.<name>) <log-format>` and
// `unset-var(<scope>.<name>)`.
func (b *builder) parseVarFmt(ln *Line, r *HTTPRule) {
	w := ln.Words
	act := w[1]
	open := strings.IndexByte(act, '(')
	verb := act[:open]
	if !strings.HasSuffix(act, ")") {
		b.errorf(ln.Pos, "'%s %s' : missing closing ')'", w[0], act)
		return
	}
	r.Name = act[open+1 : len(act)-1]
	if err := acl.CheckVarName(r.Name); err != nil {
		b.errorf(ln.Pos, "'%s %s' : %v", w[0], verb, err)
		return
	}
	end := condStart(w, 2)
	if verb == "unset-var" {
		r.Action = ActUnsetVar
		if end != 2 {
			b.errorf(ln.Pos, "'%s unset-var(%s)' expects no argument before the condition", w[0], r.Name)
			return
		}
		b.addHTTPRule(ln, r, end)
		return
	}
	r.Action = ActSetVarFmt
	if end != 3 {
		b.errorf(ln.Pos, "'%s set-var-fmt(%s)' expects exactly one log-format string", w[0], r.Name)
		return
	}
	var ok bool
	r.Value = w[2]
	if r.Fmt, ok = b.compileFormat(ln, r.Value, b.ruleFmt(ln)); !ok {
		return
	}
	b.addHTTPRule(ln, r, end)
}

// parseCaptureRule parses `http-request capture <sample> len <n>`: the
// rule gets a request capture slot of its own in the frontend, after
// the declared ones. The `id <n>` form (slots of `declare capture`) is
// not supported.
func (b *builder) parseCaptureRule(ln *Line, r *HTTPRule, args []string) bool {
	kw := ln.Words[0]
	if len(args) == 3 && args[1] == "id" {
		b.errorf(ln.Pos, "'%s capture ... id <n>' is a valid HAProxy form that halo does not support yet (it needs 'declare capture'); use 'len <n>'", kw)
		return false
	}
	if len(args) != 3 || args[1] != "len" {
		b.errorf(ln.Pos, "'%s capture' expects <sample> len <length>", kw)
		return false
	}
	if b.px.Cap&CapFrontend == 0 {
		b.errorf(ln.Pos, "'%s capture <sample> len <n>' is only allowed in a frontend or listen section", kw)
		return false
	}
	n, err := parseInt(args[2], 1, 1<<16)
	if err != nil {
		b.errorf(ln.Pos, "'%s capture' : length %v", kw, err)
		return false
	}
	smp, err := acl.ParseSample(args[0])
	if err != nil {
		b.errorf(ln.Pos, "'%s capture' : %v", kw, err)
		return false
	}
	at := b.at(phaseHTTPRequest)
	if need := smp.Unavailable(at); need != 0 {
		b.errorf(ln.Pos, "error detected in %s '%s' while parsing '%s capture' rule : fetch method '%s' extracts information from '%s', none of which is available here.",
			b.pxKind(), b.px.Name, kw, args[0], need)
		return false
	}
	slot := 0
	for _, c := range b.px.Captures {
		if !c.Response {
			slot++
		}
	}
	b.px.Captures = append(b.px.Captures, Capture{Pos: ln.Pos, Len: n})
	r.Action, r.Expr, r.Slot, r.Len = ActCapture, smp.At(at), slot, n
	b.noteRefs(ln.Pos, "sample fetch", smp.Refs())
	return true
}
