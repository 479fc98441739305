// Package httpx is halo's HTTP/1.1 message layer: strict request and
// response head parsing with RFC 9112 framing rules, chunked bodies, and
// HAProxy-compatible locally generated responses. It is written for a
// proxy: header bytes are kept as received (in a caller-owned buffer),
// framing decisions are explicit, and the steady state allocates nothing.
package httpx

import (
	"bytes"
	"strconv"
)

// Limits bound what a message head may hold (tune.bufsize and
// tune.http.maxhdr in HAProxy).
type Limits struct {
	MaxHead    int // whole head, request line included; default 16384
	MaxHeaders int // header lines plus the start line, Connection not counted; default 101
}

func (l Limits) withDefaults() Limits {
	if l.MaxHead <= 0 {
		l.MaxHead = 16384
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = 101
	}
	return l
}

// Header is one header line: name and value as slices of the buffer the
// head was parsed from (value without surrounding whitespace).
type Header struct {
	Name, Value []byte
}

// BodyKind is how a message body is delimited.
type BodyKind int

// Body framings.
const (
	BodyNone    BodyKind = iota // no body
	BodyLength                  // Content-Length bytes
	BodyChunked                 // chunked transfer coding
	BodyClose                   // until the connection closes (responses only)
	BodyTunnel                  // CONNECT / Upgrade: raw bytes both ways after the head
)

// Request is a parsed request head. Its slices point into the buffer
// given to ParseRequest and are valid while that buffer is.
type Request struct {
	Method  []byte
	Target  []byte
	Major   int
	Minor   int
	Headers []Header

	Body          BodyKind
	ContentLength int64
	// KeepAlive is the client's wish after this request (HTTP/1.1 default
	// on, HTTP/1.0 default off, Connection header decides).
	KeepAlive    bool
	ExpectCont   bool // Expect: 100-continue
	Upgrade      bool // Connection: upgrade with an Upgrade header
	HeadLen      int  // bytes of the head, request line to the empty line
	headerBuffer [128]Header
	status       int // response status seen by rules (0 while on the request)
}

// Reset prepares r for reuse without allocating.
func (r *Request) Reset() {
	r.Method, r.Target, r.Major, r.Minor = nil, nil, 0, 0
	r.Headers = r.headerBuffer[:0]
	r.Body, r.ContentLength, r.KeepAlive, r.ExpectCont, r.Upgrade, r.HeadLen, r.status = BodyNone, 0, false, false, false, 0, 0
}

// Header returns the first value of the header name (case-insensitive).
func (r *Request) Get(name string) []byte {
	for i := range r.Headers {
		if equalFold(r.Headers[i].Name, name) {
			return r.Headers[i].Value
		}
	}
	return nil
}

// Version returns "HTTP/x.y".
func (r *Request) Version() string {
	if r.Major == 1 && r.Minor == 1 {
		return "HTTP/1.1"
	}
	if r.Major == 1 && r.Minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/" + strconv.Itoa(r.Major) + "." + strconv.Itoa(r.Minor)
}

// equalFold compares an ASCII header name with s ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 || (c|0x20 < 'a' || c|0x20 > 'z') && c != d {
			return false
		}
	}
	return true
}

// hasToken reports whether a comma-separated header value holds token
// (case-insensitive).
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var part []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			part, v = v, nil
		}
		if equalFold(trimOWS(part), token) {
			return true
		}
	}
	return false
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
