package httpx

import "bytes"

// Response is a parsed response head; slices point into the parsed buffer.
type Response struct {
	Major, Minor  int
	Status        int
	Reason        []byte
	Headers       []Header
	Body          BodyKind
	ContentLength int64
	KeepAlive     bool
	HeadLen       int
	headerBuffer  [128]Header
}

// Reset prepares r for reuse without allocating.
func (r *Response) Reset() {
	r.Major, r.Minor, r.Status, r.Reason = 0, 0, 0, nil
	r.Headers = r.headerBuffer[:0]
	r.Body, r.ContentLength, r.KeepAlive, r.HeadLen = BodyNone, 0, false, 0
}

// Get returns the first value of the header name (case-insensitive).
func (r *Response) Get(name string) []byte {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// ParseResponse parses a response head answering a request with the
// given method. Framing follows RFC 9112 6.3: no body for HEAD, 1xx, 204
// and 304; a 2xx to CONNECT is a tunnel; then Transfer-Encoding, then
// Content-Length, else the body runs to the end of the connection.
func ParseResponse(b []byte, method string, r *Response, lim Limits) (int, error) {
	lim = lim.withDefaults()
	r.Reset()
	end := headEnd(b)
	if end < 0 {
		if len(b) >= lim.MaxHead {
			return 0, fail(502, "response head larger than the buffer")
		}
		return 0, ErrIncomplete
	}
	if end > lim.MaxHead {
		return 0, fail(502, "response head larger than the buffer")
	}
	line, off, _ := nextLine(b[:end], 0)
	if len(line) < 12 {
		return 0, fail(502, "malformed status line")
	}
	major, minor, ok := parseVersion(line[:8])
	if !ok || major != 1 || line[8] != ' ' {
		return 0, fail(502, "malformed status line")
	}
	st := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, fail(502, "malformed status code")
		}
		st = st*10 + int(c-'0')
	}
	if st < 100 || len(line) > 12 && line[12] != ' ' {
		return 0, fail(502, "malformed status line")
	}
	r.Major, r.Minor, r.Status = major, minor, st
	if len(line) > 13 {
		r.Reason = line[13:]
	}
	if err := parseHeaders(b[:end], off, &r.Headers, lim.MaxHeaders); err != nil {
		if e, ok := err.(*Error); ok {
			e.Status = 502
		}
		return 0, err
	}
	r.HeadLen = end
	r.KeepAlive = minor >= 1
	var te, cl []byte
	nTE, nCL := 0, 0
	for _, h := range r.Headers {
		switch {
		case equalFold(h.Name, "transfer-encoding"):
			te, nTE = h.Value, nTE+1
		case equalFold(h.Name, "content-length"):
			if nCL > 0 && !bytes.Equal(cl, h.Value) {
				if err := sameLengths(cl, h.Value); err != nil {
					return 0, fail(502, err.(*Error).Reason)
				}
			}
			cl, nCL = h.Value, nCL+1
		case equalFold(h.Name, "connection"):
			if hasToken(h.Value, "close") {
				r.KeepAlive = false
			} else if hasToken(h.Value, "keep-alive") {
				r.KeepAlive = true
			}
		}
	}
	switch {
	case st == 101, method == "CONNECT" && st >= 200 && st < 300:
		r.Body = BodyTunnel
	case method == "HEAD" || st < 200 || st == 204 || st == 304:
		r.Body = BodyNone
	case nTE > 0:
		if nTE > 1 || checkCodings(te) != nil {
			// Not chunked last: the body runs until the connection closes.
			r.Body, r.KeepAlive = BodyClose, false
		} else {
			r.Body = BodyChunked
		}
	case nCL > 0:
		n, err := parseLength(cl)
		if err != nil {
			return 0, fail(502, "invalid Content-Length in response")
		}
		r.ContentLength = n
		if n > 0 {
			r.Body = BodyLength
		}
	default:
		r.Body, r.KeepAlive = BodyClose, false
	}
	return end, nil
}
