package acl

import (
	"strings"

	"github.com/halo-lb/halo/internal/httpx"
)

// request is the HTTP request the request fetches read: the proxy's in
// HTTP mode, else, as HAProxy parses the buffer for HTTP fetches in TCP
// mode, the request head at the start of the client's buffered stream
// (tcp-request content inspection) once it is whole; nil when there is
// none. The parse is kept while the buffer does not grow.
func (t *Txn) request() HTTPMessage {
	if t.HTTP != nil {
		return t.HTTP
	}
	if len(t.Payload) == 0 {
		return nil
	}
	if t.parsed == nil || t.parsed.n != len(t.Payload) {
		t.parsed = parsePayload(t.Payload)
	}
	if t.parsed.req == nil {
		return nil
	}
	return t.parsed
}

// payloadRequest is a request head parsed from the buffered stream.
type payloadRequest struct {
	n   int            // bytes of the buffer parsed
	req *httpx.Request // nil: not (yet) a whole HTTP request head
}

func parsePayload(b []byte) *payloadRequest {
	p := &payloadRequest{n: len(b)}
	r := &httpx.Request{}
	if _, err := httpx.ParseRequest(b, r, httpx.Limits{}); err == nil {
		p.req = r
	}
	return p
}

func (p *payloadRequest) Method() string  { return string(p.req.Method) }
func (p *payloadRequest) URI() string     { return string(p.req.Target) }
func (p *payloadRequest) Version() string { return p.req.Version() }
func (p *payloadRequest) Header(name string) []string {
	var out []string
	for _, h := range p.req.Headers {
		if strings.EqualFold(string(h.Name), name) {
			out = append(out, string(h.Value))
		}
	}
	return out
}
func (p *payloadRequest) ResStatus() int            { return 0 }
func (p *payloadRequest) ResHeader(string) []string { return nil }
func (p *payloadRequest) HeadLen() int              { return p.req.HeadLen }
