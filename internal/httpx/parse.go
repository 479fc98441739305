package httpx

import (
	"bytes"
	"errors"
)

// ErrIncomplete means the buffer does not hold a whole head yet.
var ErrIncomplete = errors.New("httpx: incomplete message head")

// Error is a malformed message, with the status a proxy answers with.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return "httpx: " + e.Reason }

func fail(status int, reason string) *Error { return &Error{Status: status, Reason: reason} }

// tchar reports whether c may appear in a token (method, header name).
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// headEnd finds the end of a head: the index just past the empty line
// (CRLF CRLF, or LF LF as many clients send), or -1.
func headEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			return j + 1
		}
	}
	return -1
}

// nextLine returns the line at b[off:] without its line ending, and the
// offset after it. A CR not followed by LF is an error.
func nextLine(b []byte, off int) ([]byte, int, bool) {
	i := bytes.IndexByte(b[off:], '\n')
	if i < 0 {
		return nil, off, false
	}
	line := b[off : off+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, off + i + 1, true
}

// ParseRequest parses the request head at the start of b into r (which
// it resets). It returns the head length, ErrIncomplete when more bytes
// are needed, or an *Error with the status to answer.
func ParseRequest(b []byte, r *Request, lim Limits) (int, error) {
	lim = lim.withDefaults()
	r.Reset()
	// Empty lines before a request line are skipped (RFC 9112 2.2), a few
	// at most.
	skip := 0
	for skip < len(b) && skip < 4 && (b[skip] == '\r' || b[skip] == '\n') {
		skip++
	}
	if skip > 0 {
		n, err := ParseRequest(b[skip:], r, lim)
		if n > 0 {
			n += skip
			r.HeadLen = n
		}
		return n, err
	}
	end := headEnd(b)
	if end < 0 {
		if len(b) >= lim.MaxHead {
			if bytes.IndexByte(b[:lim.MaxHead], '\n') < 0 {
				return 0, fail(414, "request line longer than the buffer")
			}
			return 0, fail(431, "request header block larger than the buffer")
		}
		return 0, ErrIncomplete
	}
	if end > lim.MaxHead {
		if i := bytes.IndexByte(b, '\n'); i >= lim.MaxHead/2 {
			return 0, fail(414, "request line longer than the buffer")
		}
		return 0, fail(431, "request header block larger than the buffer")
	}
	head := b[:end]
	line, off, _ := nextLine(head, 0)
	if err := parseRequestLine(line, r); err != nil {
		return 0, err
	}
	if err := parseHeaders(head, off, &r.Headers, lim.MaxHeaders); err != nil {
		return 0, err
	}
	r.HeadLen = end
	return end, requestFraming(r)
}

func parseRequestLine(line []byte, r *Request) error {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return fail(400, "malformed request line")
	}
	method := line[:sp1]
	for _, c := range method {
		if !tchar[c] {
			return fail(400, "invalid character in method")
		}
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return fail(400, "malformed request line")
	}
	target, ver := rest[:sp2], rest[sp2+1:]
	for _, c := range target {
		// Controls, spaces, DEL, bytes above ASCII and a fragment are
		// refused, as HAProxy does.
		if c <= ' ' || c >= 0x7f || c == '#' {
			return fail(400, "invalid character in request target")
		}
	}
	major, minor, ok := parseVersion(ver)
	if !ok {
		return fail(400, "malformed HTTP version")
	}
	if major != 1 {
		return fail(505, "unsupported HTTP version")
	}
	if minor > 1 {
		minor = 1 // HTTP/1.x with x > 1 is spoken as HTTP/1.1 (RFC 9110 2.5)
	}
	r.Method, r.Target, r.Major, r.Minor = method, target, major, minor
	if string(method) == "CONNECT" {
		if target[0] == '/' {
			return fail(400, "CONNECT needs an authority-form target")
		}
	} else if target[0] != '/' && !(len(target) == 1 && target[0] == '*' && string(method) == "OPTIONS") && !isAbsolute(target) {
		return fail(400, "invalid request target")
	}
	return nil
}

func isAbsolute(t []byte) bool {
	i := bytes.Index(t, []byte("://"))
	if i <= 0 {
		return false
	}
	for _, c := range t[:i] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func parseVersion(v []byte) (int, int, bool) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

// parseHeaders parses header lines from head[off:] up to the empty line.
//
// Like HAProxy's tune.http.maxhdr, max counts the start line too, and not
// the Connection headers (HAProxy consumes them while parsing).
func parseHeaders(head []byte, off int, dst *[]Header, max int) error {
	counted := 1
	for {
		line, next, ok := nextLine(head, off)
		if !ok {
			return fail(400, "truncated header block")
		}
		off = next
		if len(line) == 0 {
			return nil
		}
		name, value, err := headerLine(line)
		if err != nil {
			return err
		}
		if len(name) != len("connection") || !equalFold(name, "connection") {
			counted++
		}
		if counted > max {
			return fail(431, "too many header lines")
		}
		*dst = append(*dst, Header{Name: name, Value: value})
	}
}

// headerLine splits a header (or trailer) field line into its name and
// its value without surrounding whitespace, refusing obsolete line
// folding, a missing or invalid name, whitespace before the colon and
// control characters in the value.
func headerLine(line []byte) (name, value []byte, err error) {
	if line[0] == ' ' || line[0] == '\t' {
		return nil, nil, fail(400, "obsolete line folding in header")
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, fail(400, "header line without a name and colon")
	}
	name = line[:colon]
	for _, c := range name {
		if !tchar[c] {
			return nil, nil, fail(400, "invalid character in header name (whitespace before the colon?)")
		}
	}
	value = trimOWS(line[colon+1:])
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, nil, fail(400, "control character in header value")
		}
	}
	return name, value, nil
}

// requestFraming decides how the request body is delimited, as RFC 9112
// section 6 says, refusing every ambiguity request smuggling relies on.
// Like HAProxy it also merges identical duplicate Host and Content-Length
// headers into one and checks an absolute-form target against Host.
func requestFraming(r *Request) error {
	var host []byte
	var cl int64
	nTE, nCL, hostAt := 0, 0, -1
	hasUpgrade, dropped := false, false
	var codings codingState
	r.KeepAlive = r.Minor >= 1
	closeSeen, keepSeen := false, false
	for i := range r.Headers {
		h := &r.Headers[i]
		switch {
		case len(h.Name) == 17 && equalFold(h.Name, "transfer-encoding"):
			codings.add(h.Value)
			nTE++
		case len(h.Name) == 14 && equalFold(h.Name, "content-length"):
			n, first, err := parseLength(h.Value)
			if err != nil {
				return err
			}
			if nCL > 0 {
				if n != cl {
					return fail(400, "different Content-Length values")
				}
				h.Name, dropped = nil, true // merged into the first one
				continue
			}
			h.Value, cl = first, n // "5, 5" is forwarded as "5"
			nCL++
		case len(h.Name) == 4 && equalFold(h.Name, "host"):
			if hostAt >= 0 {
				if !equalFoldBytes(host, h.Value) {
					return fail(400, "several Host headers with different values")
				}
				h.Name, dropped = nil, true
				continue
			}
			host, hostAt = h.Value, i
		case len(h.Name) == 10 && equalFold(h.Name, "connection"):
			closeSeen = closeSeen || hasToken(h.Value, "close")
			keepSeen = keepSeen || hasToken(h.Value, "keep-alive")
			if hasToken(h.Value, "upgrade") {
				r.Upgrade = true
			}
		case len(h.Name) == 7 && equalFold(h.Name, "upgrade"):
			hasUpgrade = true
		case len(h.Name) == 6 && equalFold(h.Name, "expect"):
			if equalFold(h.Value, "100-continue") {
				r.ExpectCont = true
			}
		}
	}
	if nTE > 0 && nCL > 0 {
		// Transfer-Encoding wins: Content-Length is removed, and the
		// connection closes after the response (RFC 9112 6.1).
		dropHeaders(&r.Headers, "content-length")
		closeSeen = true
	} else if dropped {
		dropHeaders(&r.Headers, "")
	}
	r.Upgrade = r.Upgrade && hasUpgrade
	if closeSeen {
		r.KeepAlive = false
	} else if keepSeen {
		r.KeepAlive = true
	}
	if string(r.Method) == "CONNECT" {
		if err := checkConnectAuthority(r, hostAt); err != nil {
			return err
		}
	} else if r.Target[0] != '/' && isAbsolute(r.Target) {
		if err := checkAuthority(r, hostAt); err != nil {
			return err
		}
	}
	switch {
	case nTE > 0:
		if r.Minor == 0 {
			// RFC 9112 6.1: the framing of such a message is faulty.
			return fail(400, "Transfer-Encoding in an HTTP/1.0 request")
		}
		if err := codings.check(400, 422); err != nil {
			return err
		}
		// With both, Transfer-Encoding wins and Content-Length is dropped
		// when forwarding (RFC 9112 6.3).
		r.Body = BodyChunked
		r.ContentLength = -1
	case nCL > 0:
		r.ContentLength = cl
		if cl > 0 {
			r.Body = BodyLength
		}
	}
	if string(r.Method) == "CONNECT" {
		r.Body = BodyTunnel
	}
	return nil
}

// codingState follows a Transfer-Encoding list across headers. HAProxy
// accepts only "chunked" as the last and only chunked coding; a list
// with chunked last but other codings before it is refused with 422
// (halo cannot decode them, and forwarding the body as plain chunked
// would silently drop them); anything else is malformed.
type codingState struct {
	chunked   bool // chunked seen
	other     bool // a coding other than chunked seen before it
	afterLast bool // something came after chunked
}

func (c *codingState) add(v []byte) {
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
			if len(v) == 0 {
				// A trailing comma ends the list ("chunked," is chunked).
				v = nil
			}
		} else {
			part, v = v, nil
		}
		p := trimOWS(part)
		switch {
		case c.chunked:
			c.afterLast = true
		case equalFold(p, "chunked"):
			c.chunked = true
		default:
			c.other = true
		}
	}
}

// check returns the error for the codings seen: malformed for a list
// not ending with one chunked, unsupported for codings before chunked.
func (c *codingState) check(malformed, unsupported int) error {
	switch {
	case !c.chunked || c.afterLast:
		return fail(malformed, "chunked must be the last and only chunked transfer coding")
	case c.other:
		return fail(unsupported, "transfer codings other than chunked are not supported")
	}
	return nil
}

// checkAuthority compares the authority of an absolute-form target with
// the Host header at hostAt (if any; userinfo ignored, default ports and
// case folded) and, as HAProxy does, drops a default or empty port from
// the target, and then from the Host header too.
func checkAuthority(r *Request, hostAt int) error {
	t := r.Target
	i := bytes.Index(t, []byte("://"))
	scheme := t[:i]
	start := i + 3
	end := len(t)
	if j := bytes.IndexByte(t[start:], '/'); j >= 0 {
		end = start + j
	}
	auth := t[start:end]
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	name, port := splitPort(auth)
	var hname, hport []byte
	if hostAt >= 0 {
		hname, hport = splitPort(r.Headers[hostAt].Value)
		if !equalFoldBytes(name, hname) || !samePort(scheme, port, hport) {
			return fail(400, "absolute URI authority differs from Host")
		}
	}
	if port != nil && (len(port) == 0 || isDefaultPort(scheme, port)) {
		// Remove ":port" by moving what precedes it right.
		ps := end - len(port) - 1
		k := end - ps
		copy(t[k:end], t[:ps])
		r.Target = t[k:]
		if hport != nil {
			r.Headers[hostAt].Value = hname // its port is a default one too
		}
	}
	return nil
}

// checkConnectAuthority checks the authority-form target of a CONNECT
// request, host and a numeric port, against the Host header at hostAt
// (if any), as HAProxy 2.6 does: a Host with a port must name the same
// host (case folded) and port (compared as written), and loses a port
// 80 or 443; a Host without a port (or with an empty one) is fine only
// when the target's port is 80 or 443.
func checkConnectAuthority(r *Request, hostAt int) error {
	auth := r.Target
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	name, port := splitPort(auth)
	if len(port) == 0 {
		return fail(400, "CONNECT needs a host:port target")
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return fail(400, "CONNECT needs a numeric port")
		}
	}
	if hostAt < 0 {
		return nil
	}
	hname, hport := splitPort(r.Headers[hostAt].Value)
	wellKnown := string(port) == "80" || string(port) == "443"
	switch {
	case !equalFoldBytes(name, hname):
		return fail(400, "CONNECT authority differs from Host")
	case len(hport) > 0:
		if string(hport) != string(port) {
			return fail(400, "CONNECT authority differs from Host")
		}
		if wellKnown {
			r.Headers[hostAt].Value = hname
		}
	case !wellKnown:
		return fail(400, "CONNECT authority differs from Host")
	}
	return nil
}

// splitPort splits "host:port" ("[v6]:port"); port is nil without a
// colon and empty for "host:".
func splitPort(a []byte) (host, port []byte) {
	i := bytes.LastIndexByte(a, ':')
	if i < 0 || bytes.IndexByte(a[i:], ']') >= 0 {
		return a, nil
	}
	return a[:i], a[i+1:]
}

func isDefaultPort(scheme, port []byte) bool {
	return equalFold(scheme, "http") && string(port) == "80" || equalFold(scheme, "https") && string(port) == "443"
}

// samePort reports whether two ports are the same once a missing or
// empty port stands for the scheme's default.
func samePort(scheme, a, b []byte) bool {
	if len(a) == 0 || isDefaultPort(scheme, a) {
		return len(b) == 0 || isDefaultPort(scheme, b)
	}
	return string(a) == string(b)
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		c, d := a[i], b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length value: digits only; a list of
// identical values ("5, 5") is one length. first is the first element,
// what is forwarded.
func parseLength(v []byte) (n int64, first []byte, err error) {
	n = -1
	for len(v) > 0 || n < 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		p := trimOWS(part)
		if len(p) == 0 {
			return 0, nil, fail(400, "empty Content-Length")
		}
		var x int64
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, nil, fail(400, "invalid Content-Length")
			}
			if x > (1<<62)/10 {
				return 0, nil, fail(400, "Content-Length too large")
			}
			x = x*10 + int64(c-'0')
		}
		if n >= 0 && x != n {
			return 0, nil, fail(400, "different Content-Length values")
		}
		if first == nil {
			first = p
		}
		n = x
		if v == nil {
			break
		}
	}
	return n, first, nil
}
