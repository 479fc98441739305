package httpx

// Response is a parsed response head; slices point into the parsed buffer.
type Response struct {
	Major, Minor  int
	Status        int
	Reason        []byte
	Headers       []Header
	Body          BodyKind
	ContentLength int64
	KeepAlive     bool
	// Chunked is set when the response declared the chunked coding, even
	// without a body (HEAD, 304): the header is forwarded then too.
	Chunked      bool
	HeadLen      int
	headerBuffer [128]Header
}

// Reset prepares r for reuse without allocating.
func (r *Response) Reset() {
	r.Major, r.Minor, r.Status, r.Reason = 0, 0, 0, nil
	r.Headers = r.headerBuffer[:0]
	r.Body, r.ContentLength, r.KeepAlive, r.Chunked, r.HeadLen = BodyNone, 0, false, false, 0
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
	var cl int64
	nTE, nCL := 0, 0
	closeSeen, keepSeen, dropped := false, false, false
	var codings codingState
	for i := range r.Headers {
		h := &r.Headers[i]
		switch {
		case len(h.Name) == 17 && equalFold(h.Name, "transfer-encoding"):
			codings.add(h.Value)
			nTE++
		case len(h.Name) == 14 && equalFold(h.Name, "content-length"):
			n, first, err := parseLength(h.Value)
			if err != nil || nCL > 0 && n != cl {
				return 0, fail(502, "invalid Content-Length in response")
			}
			if nCL > 0 {
				h.Name, dropped = nil, true // identical duplicates are merged
				continue
			}
			h.Value, cl = first, n
			nCL++
		case len(h.Name) == 10 && equalFold(h.Name, "connection"):
			closeSeen = closeSeen || hasToken(h.Value, "close")
			keepSeen = keepSeen || hasToken(h.Value, "keep-alive")
		}
	}
	if closeSeen {
		r.KeepAlive = false
	} else if keepSeen {
		r.KeepAlive = true
	}
	if nTE > 0 {
		// HAProxy answers 502 for any coding but a lone final chunked.
		if err := codings.check(502, 502); err != nil {
			return 0, err
		}
		r.Chunked = true
		if nCL > 0 {
			// Transfer-Encoding wins; Content-Length is not forwarded.
			dropHeaders(&r.Headers, "content-length")
			nCL, dropped = 0, false
		}
	}
	if dropped {
		dropHeaders(&r.Headers, "")
	}
	switch {
	case st == 101, method == "CONNECT" && st >= 200 && st < 300:
		r.Body = BodyTunnel
	case method == "HEAD" || st < 200 || st == 204 || st == 304:
		r.Body = BodyNone
	case nTE > 0:
		r.Body = BodyChunked
	case nCL > 0:
		r.ContentLength = cl
		if cl > 0 {
			r.Body = BodyLength
		}
	default:
		r.Body, r.KeepAlive = BodyClose, false
	}
	return end, nil
}

// dropHeaders removes the headers whose name is nil or equals name,
// in place.
func dropHeaders(hs *[]Header, name string) {
	kept := (*hs)[:0]
	for _, h := range *hs {
		if h.Name != nil && (name == "" || !equalFold(h.Name, name)) {
			kept = append(kept, h)
		}
	}
	*hs = kept
}
