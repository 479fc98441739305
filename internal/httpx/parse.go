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
		if c <= ' ' || c == 0x7f {
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
func parseHeaders(head []byte, off int, dst *[]Header, max int) error {
	for {
		line, next, ok := nextLine(head, off)
		if !ok {
			return fail(400, "truncated header block")
		}
		off = next
		if len(line) == 0 {
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return fail(400, "obsolete line folding in header")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fail(400, "header line without a name and colon")
		}
		name := line[:colon]
		for _, c := range name {
			if !tchar[c] {
				return fail(400, "invalid character in header name (whitespace before the colon?)")
			}
		}
		value := trimOWS(line[colon+1:])
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return fail(400, "control character in header value")
			}
		}
		if len(*dst) >= max {
			return fail(431, "too many header lines")
		}
		*dst = append(*dst, Header{Name: name, Value: value})
	}
}

// requestFraming decides how the request body is delimited, as RFC 9112
// section 6 says, refusing every ambiguity request smuggling relies on.
func requestFraming(r *Request) error {
	var te, cl []byte
	nTE, nCL := 0, 0
	conn := []byte(nil)
	hasUpgrade := false
	for _, h := range r.Headers {
		switch {
		case equalFold(h.Name, "transfer-encoding"):
			te = h.Value
			nTE++
		case equalFold(h.Name, "content-length"):
			if nCL > 0 && !bytes.Equal(cl, h.Value) {
				if err := sameLengths(cl, h.Value); err != nil {
					return err
				}
			}
			cl = h.Value
			nCL++
		case equalFold(h.Name, "connection"):
			conn = h.Value
			if hasToken(h.Value, "upgrade") {
				r.Upgrade = true
			}
		case equalFold(h.Name, "upgrade"):
			hasUpgrade = true
		case equalFold(h.Name, "expect"):
			if equalFold(h.Value, "100-continue") {
				r.ExpectCont = true
			}
		}
	}
	r.Upgrade = r.Upgrade && hasUpgrade
	r.KeepAlive = r.Minor >= 1
	if conn != nil {
		if hasToken(conn, "close") {
			r.KeepAlive = false
		} else if hasToken(conn, "keep-alive") {
			r.KeepAlive = true
		}
	}
	switch {
	case nTE > 1:
		return fail(400, "several Transfer-Encoding headers")
	case nTE == 1:
		if r.Minor == 0 {
			return fail(400, "Transfer-Encoding in an HTTP/1.0 request")
		}
		if err := checkCodings(te); err != nil {
			return err
		}
		// With both, Transfer-Encoding wins and Content-Length is dropped
		// when forwarding (RFC 9112 6.3).
		r.Body = BodyChunked
		r.ContentLength = -1
	case nCL > 0:
		n, err := parseLength(cl)
		if err != nil {
			return err
		}
		r.ContentLength = n
		if n > 0 {
			r.Body = BodyLength
		}
	}
	if string(r.Method) == "CONNECT" {
		r.Body = BodyTunnel
	}
	return nil
}

// checkCodings accepts a transfer-coding list whose last coding is
// chunked, appearing once.
func checkCodings(v []byte) error {
	chunked := 0
	last := ""
	for len(v) > 0 || last == "" {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		p := trimOWS(part)
		if sc := bytes.IndexByte(p, ';'); sc >= 0 {
			p = trimOWS(p[:sc])
		}
		switch {
		case len(p) == 0:
			return fail(400, "empty element in Transfer-Encoding")
		case equalFold(p, "chunked"):
			chunked++
			last = "chunked"
		case equalFold(p, "gzip"), equalFold(p, "deflate"), equalFold(p, "compress"), equalFold(p, "x-gzip"), equalFold(p, "x-compress"):
			last = "other"
		default:
			return fail(501, "unknown transfer coding")
		}
		if v == nil {
			break
		}
	}
	if chunked != 1 || last != "chunked" {
		return fail(400, "chunked must be the last and only chunked transfer coding")
	}
	return nil
}

// parseLength parses a Content-Length value: digits only; a list of
// identical values ("5, 5") is one length.
func parseLength(v []byte) (int64, error) {
	var n int64 = -1
	for len(v) > 0 || n < 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		p := trimOWS(part)
		if len(p) == 0 {
			return 0, fail(400, "empty Content-Length")
		}
		var x int64
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, fail(400, "invalid Content-Length")
			}
			if x > (1<<62)/10 {
				return 0, fail(400, "Content-Length too large")
			}
			x = x*10 + int64(c-'0')
		}
		if n >= 0 && x != n {
			return 0, fail(400, "different Content-Length values")
		}
		n = x
		if v == nil {
			break
		}
	}
	return n, nil
}

func sameLengths(a, b []byte) error {
	x, err := parseLength(a)
	if err != nil {
		return err
	}
	y, err := parseLength(b)
	if err != nil {
		return err
	}
	if x != y {
		return fail(400, "different Content-Length values")
	}
	return nil
}
