package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/httpx"
	"github.com/halo-lb/halo/internal/logging"
)

// httpView is the transaction as rules and fetches see it: the request
// line and headers as they will be forwarded, then the response status
// and headers as they will be returned. It implements acl.HTTPMessage.
type httpView struct {
	method, target, version string
	hdr                     []hdr // request headers, edited by http-request rules
	status                  int   // response status, 0 while on the request
	reason                  string
	rhdr                    []hdr // response headers, edited by http-response rules
}

// hdr is a header being forwarded.
type hdr struct{ name, value string }

func (v *httpView) Method() string  { return v.method }
func (v *httpView) URI() string     { return v.target }
func (v *httpView) Version() string { return v.version }
func (v *httpView) Header(name string) []string {
	return values(v.hdr, name)
}
func (v *httpView) ResStatus() int { return v.status }

// HeadLen is the size of the request head as it stands.
func (v *httpView) HeadLen() int {
	n := len(v.method) + len(v.target) + len(v.version) + 4
	for _, h := range v.hdr {
		n += len(h.name) + len(h.value) + 4
	}
	return n + 2
}
func (v *httpView) ResHeader(name string) []string {
	return values(v.rhdr, name)
}

func values(hs []hdr, name string) []string {
	var out []string
	for _, h := range hs {
		if strings.EqualFold(h.name, name) {
			out = append(out, h.value)
		}
	}
	return out
}

func delHeader(hs []hdr, name string) []hdr {
	out := hs[:0]
	for _, h := range hs {
		if !strings.EqualFold(h.name, name) {
			out = append(out, h)
		}
	}
	return out
}

// ruleResult is what a rule list decided.
type ruleResult int

const (
	ruleContinue ruleResult = iota // go on with the next phase
	ruleAllow                      // stop evaluating this list, go on
	ruleLocal                      // answer with tx.local
)

// applyRules runs http-request (response false) or http-response rules.
func (tx *httpTxn) applyRules(px *config.Proxy, rules []*config.HTTPRule) ruleResult {
	v := &tx.view
	for _, r := range rules {
		if r.Cond != nil && !r.Cond.Match(&tx.acl) {
			continue
		}
		switch r.Action {
		case config.ActAllow:
			return ruleAllow
		case config.ActDeny, config.ActTarpit:
			if r.Action == config.ActTarpit && !tx.tarpit(px) {
				// The client left while held: no answer, as HAProxy.
				tx.setLocal(0, []byte{}, 'C')
				tx.state, tx.reqKeep = 'T', false
				tx.pxStats(px).deniedReq.Add(1)
				return ruleLocal
			}
			tx.deny(px, r)
			if r.Action == config.ActTarpit {
				tx.state = 'T'
				tx.pxStats(px).deniedReq.Add(1)
			} else if r.Response {
				tx.term = 'P'
			} else {
				tx.state = 'R'
				tx.pxStats(px).deniedReq.Add(1)
			}
			return ruleLocal
		case config.ActReturn:
			tx.returnRule(px, r)
			return ruleLocal
		case config.ActRedirect:
			tx.redirect(r)
			return ruleLocal
		case config.ActAuth:
			realm := r.Name
			if realm == "" {
				realm = px.Name
			}
			tx.setLocal(401, authResponse(realm), 'P')
			return ruleLocal
		case config.ActUseService:
			tx.prometheus()
			return ruleLocal
		case config.ActDisableL7Retry:
			tx.noL7Retry = true
		case config.ActReject, config.ActSilentDrop:
			// No answer: the connection closes (silently for silent-drop).
			tx.setLocal(-1, []byte{}, 'P')
			tx.state, tx.reqKeep, tx.drop = 'R', false, r.Action
			tx.pxStats(px).deniedReq.Add(1)
			return ruleLocal
		case config.ActSetLogLevel:
			tx.rec.Silent = r.Level == config.LogSilent
			tx.rec.HasLevel = !tx.rec.Silent
			if tx.rec.HasLevel {
				tx.rec.SetLevel = logging.Level(r.Level)
			}
		case config.ActCapture:
			if val, ok := r.Expr.Eval(&tx.acl); ok && r.Slot < len(tx.captReq) {
				if len(val) > r.Len {
					val = val[:r.Len]
				}
				tx.captReq[r.Slot] = val
			}
		case config.ActSetVarFmt:
			tx.acl.SetVar(r.Name, tx.format(r.Fmt))
		case config.ActUnsetVar:
			delete(tx.acl.Vars, r.Name)
		case config.ActCacheUse:
			tx.cacheUse(r)
		case config.ActCacheStore:
			tx.cacheStore(r)
		case config.ActStick:
			tx.stk.apply(r.Stick, &tx.acl, true)
		case config.ActSetHeader, config.ActAddHeader:
			val := tx.format(r.Fmt)
			hs := &v.hdr
			if r.Response {
				hs = &v.rhdr
			}
			if r.Action == config.ActSetHeader {
				*hs = delHeader(*hs, r.Name)
			}
			*hs = append(*hs, hdr{r.Name, val})
		case config.ActDelHeader:
			if r.Response {
				v.rhdr = delHeader(v.rhdr, r.Name)
			} else {
				v.hdr = delHeader(v.hdr, r.Name)
			}
		case config.ActReplaceHeader, config.ActReplaceValue:
			hs := v.hdr
			if r.Response {
				hs = v.rhdr
			}
			repl, ok := tx.replacement(r)
			if !ok {
				continue
			}
			for i := range hs {
				if !strings.EqualFold(hs[i].name, r.Name) {
					continue
				}
				if r.Action == config.ActReplaceHeader {
					hs[i].value, _ = repl.ReplaceMatch(r.Regexp, hs[i].value)
					continue
				}
				hs[i].value = replaceValues(r, repl, hs[i].value)
			}
		case config.ActSetMethod:
			v.method = tx.format(r.Fmt)
		case config.ActSetURI:
			v.target = tx.format(r.Fmt)
		case config.ActSetPath, config.ActSetPathQ:
			v.target = setPath(v.target, tx.format(r.Fmt), r.Action == config.ActSetPathQ)
		case config.ActSetQuery:
			v.target = setQuery(v.target, tx.format(r.Fmt))
		case config.ActReplacePath, config.ActReplacePathQ, config.ActReplaceURI:
			repl, ok := tx.replacement(r)
			if !ok {
				continue
			}
			in := v.target
			if r.Action != config.ActReplaceURI {
				start, ok := pathStart(v.target)
				if !ok {
					continue
				}
				in = v.target[start:]
				if r.Action == config.ActReplacePath {
					in, _, _ = strings.Cut(in, "?")
				}
			}
			if in == "" {
				continue
			}
			out, ok := repl.ReplaceMatch(r.Regexp, in)
			if !ok {
				continue
			}
			switch r.Action {
			case config.ActReplaceURI:
				v.target = out
			default:
				v.target = setPath(v.target, out, r.Action == config.ActReplacePathQ)
			}
		case config.ActSetVar:
			if val, ok := r.Expr.Eval(&tx.acl); ok {
				tx.acl.SetVar(r.Name, val)
			}
		case config.ActSetStatus:
			v.status = r.Status
			v.reason = r.Reason
			if v.reason == "" {
				v.reason = statusReason(r.Status)
			}
		}
	}
	return ruleContinue
}

// replacement returns a rule's replacement template, rendering its
// %[...] expressions first when it has some. A rendered text that is not
// a valid template makes the rewrite fail, as in HAProxy.
func (tx *httpTxn) replacement(r *config.HTTPRule) (*acl.Replacement, bool) {
	if r.ReplaceFmt == nil {
		return r.Replace, true
	}
	rep, err := acl.ParseReplacement(tx.format(r.ReplaceFmt))
	return rep, err == nil
}

// replaceValues applies replace-value to a header line: each
// comma-separated value is matched without its surrounding blanks and,
// when the regex matches, replaced as a whole by the expansion; values
// left untouched keep their blanks, as in HAProxy.
func replaceValues(r *config.HTTPRule, repl *acl.Replacement, line string) string {
	parts := strings.Split(line, ",")
	changed := false
	for j, p := range parts {
		if out, ok := repl.ReplaceMatch(r.Regexp, strings.Trim(p, " \t")); ok {
			parts[j], changed = out, true
		}
	}
	if !changed {
		return line
	}
	return strings.Join(parts, ",")
}

// pathStart returns where the path (and the query after it) begins in a
// request target, as HAProxy's URI parser finds it: at 0 in origin form,
// after scheme://authority in absolute form. ok is false when the target
// has no path: "*", the authority form of CONNECT, or an absolute URI
// that ends after its authority.
func pathStart(t string) (int, bool) {
	if t == "" || t == "*" {
		return 0, false
	}
	if t[0] == '/' {
		return 0, true
	}
	i := strings.Index(t, "://")
	if i <= 0 || !isScheme(t[:i]) {
		return 0, false
	}
	j := strings.IndexByte(t[i+3:], '/')
	if j < 0 {
		return 0, false
	}
	return i + 3 + j, true
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// setPath replaces the path of a request target, keeping the scheme and
// authority of an absolute URI and, unless withQuery, the query string.
// A target without a path is replaced whole (so `OPTIONS *` becomes
// `OPTIONS <path>`), as HAProxy does.
func setPath(t, path string, withQuery bool) string {
	start, _ := pathStart(t)
	rest := ""
	if !withQuery {
		if q := strings.IndexByte(t[start:], '?'); q >= 0 {
			rest = t[start+q:]
		}
	}
	return t[:start] + path + rest
}

// setQuery implements set-query: the text after the first '?' is
// replaced; a target without one gets "?" and the query unless the query
// is empty.
func setQuery(t, q string) string {
	if i := strings.IndexByte(t, '?'); i >= 0 {
		return t[:i+1] + q
	}
	if q == "" {
		return t
	}
	return t + "?" + q
}

// format expands a log-format string in the transaction's context.
func (tx *httpTxn) format(f *config.Format) string {
	if f == nil {
		return ""
	}
	return f.String(&tx.rec)
}

// tarpit holds a request for the rule's proxy `timeout tarpit` (or, in a
// proxy with backend capability, `timeout connect`), as HAProxy does
// before answering a tarpitted request. It reports false when the client
// closed the connection meanwhile. Bytes the client sends while held stay
// buffered for the next request.
func (tx *httpTxn) tarpit(px *config.Proxy) bool {
	d := px.Timeouts.Tarpit
	if d == 0 && px.Cap&config.CapBackend != 0 {
		d = px.Timeouts.Connect
	}
	if d <= 0 {
		return true
	}
	c := tx.client
	start := time.Now()
	deadline := start.Add(d)
	defer func() { tx.tarpitWait = time.Since(start) }()
	saved := c.to
	c.setTimeout(0) // the deadline below rules the reads
	defer func() {
		c.setReadDeadline(time.Time{})
		c.setTimeout(saved)
	}()
	c.setReadDeadline(deadline)
	for {
		_, err := tx.br.Peek(tx.br.Buffered() + 1)
		switch {
		case err == nil:
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			return true
		case errors.Is(err, bufio.ErrBufferFull):
			time.Sleep(time.Until(deadline))
			return true
		}
		return false
	}
}

// deny answers a deny/tarpit rule: the built-in page for its status, or
// the custom response the rule describes.
func (tx *httpTxn) deny(px *config.Proxy, r *config.HTTPRule) {
	if r.Raw == nil && r.Body == "" && r.BodyFormat == nil && len(r.Headers) == 0 && r.ContentType == "" {
		tx.setLocal(r.Status, tx.errorPage(px, r.Status), 'P')
		return
	}
	tx.returnRule(px, r)
	tx.term = 'P'
}

// returnRule builds an `http-request return` (or custom deny) response.
// HAProxy writes the rule's hdr lines first, then content-length and
// content-type.
func (tx *httpTxn) returnRule(px *config.Proxy, r *config.HTTPRule) {
	if r.Raw != nil {
		tx.setLocal(r.Status, r.Raw, 'L')
		return
	}
	if r.Response {
		// The server's response is gone once a rule replaces it: its
		// status and headers are no longer there for %[...], as in HAProxy.
		tx.view.status, tx.view.rhdr = 0, tx.view.rhdr[:0]
	}
	body := r.Body
	if r.BodyFormat != nil {
		body = tx.format(r.BodyFormat)
	}
	if body == "" && r.ContentType == "" && len(r.Headers) == 0 {
		if p, ok := px.ErrorPages[r.Status]; ok {
			tx.setLocal(r.Status, p, 'L')
			return
		}
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(r.Status) + " " + statusReason(r.Status) + "\r\n")
	for i, h := range r.Headers {
		b.WriteString(strings.ToLower(h[0]) + ": " + tx.format(r.HeaderFmts[i]) + "\r\n")
	}
	b.WriteString("content-length: " + strconv.Itoa(len(body)) + "\r\n")
	if r.ContentType != "" {
		b.WriteString("content-type: " + r.ContentType + "\r\n")
	}
	b.WriteString("\r\n" + body)
	tx.setLocal(r.Status, []byte(b.String()), 'L')
}

// redirect builds a redirect response as HAProxy does: location, then
// cache-control: no-cache for the temporary codes (302, 303, 307), then
// the rule's cookie. prefix and scheme append the request's path and
// query (the origin part of an absolute URI); drop-query cuts the query
// and append-slash adds a '/' when the result does not end with one.
func (tx *httpTxn) redirect(r *config.HTTPRule) {
	v := &tx.view
	loc := tx.format(r.RedirectFmt)
	if r.RedirectKind != "location" {
		path := v.target
		if start, ok := pathStart(path); ok {
			path = path[start:]
		}
		if r.DropQuery {
			path, _, _ = strings.Cut(path, "?")
		}
		if r.AppendSlash && !strings.HasSuffix(path, "/") {
			path += "/"
		}
		switch r.RedirectKind {
		case "prefix":
			if loc == "/" {
				loc = path
			} else {
				loc += path
			}
		case "scheme":
			host := ""
			if h := v.Header("host"); len(h) > 0 {
				host = h[0]
			}
			loc += "://" + host + path
		}
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(r.Status) + " " + httpx.Reason(r.Status) + "\r\n")
	b.WriteString("content-length: 0\r\nlocation: " + loc + "\r\n")
	switch r.Status {
	case 302, 303, 307:
		b.WriteString("cache-control: no-cache\r\n")
	}
	switch {
	case r.SetCookie != "":
		b.WriteString("set-cookie: " + r.SetCookie + "; path=/;\r\n")
	case r.ClearCookie != "":
		b.WriteString("set-cookie: " + r.ClearCookie + "; path=/; Max-Age=0;\r\n")
	}
	b.WriteString("\r\n")
	tx.setLocal(r.Status, []byte(b.String()), 'L')
}

// closeDelimited reports a local answer that ends with the connection:
// an HTTP/1.0 one, or one without Content-Length (an errorfile can be
// either), which HAProxy sends and then closes.
func closeDelimited(resp []byte) bool {
	if bytes.HasPrefix(resp, []byte("HTTP/1.0 ")) {
		return true
	}
	head, _, _ := bytes.Cut(resp, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		if len(line) > 15 && bytes.EqualFold(line[:15], []byte("content-length:")) {
			return false
		}
	}
	return true
}

// authResponse is HAProxy's 401 page with the rule's realm.
func authResponse(realm string) []byte {
	page := string(httpx.ErrorResponse(401))
	return []byte(strings.Replace(page, `realm="HAProxy Statistics"`, `realm="`+realm+`"`, 1))
}

// errorPage is the response for a locally generated status: the proxy's
// errorfile when it has one, else the built-in page.
func (tx *httpTxn) errorPage(px *config.Proxy, status int) []byte {
	for _, p := range []*config.Proxy{px, tx.beCfg(), tx.fe.cfg} {
		if p == nil {
			continue
		}
		if page, ok := p.ErrorPages[status]; ok {
			return page
		}
	}
	return httpx.ErrorResponse(status)
}

func (tx *httpTxn) beCfg() *config.Proxy {
	if tx.be == nil {
		return nil
	}
	return tx.be.cfg
}
