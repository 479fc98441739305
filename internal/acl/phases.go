package acl

import (
	"math/bits"
	"strings"
)

// Source is where a sample fetch takes its information from, after the
// categories of HAProxy's manual (section 7.3): internal state, layer 4
// (connection), layer 5 (TLS), layer 6 (buffer contents), layer 7 (HTTP).
// A fetch declares one or several sources; they decide the rules it can
// be used in.
type Source uint16

// The sources, in the order HAProxy lists them in messages.
const (
	// SrcInternal is constants, variables, the environment and the
	// state of the process and its servers: available everywhere.
	SrcInternal Source = 1 << iota
	// SrcL4Client is the client connection's addresses and ports.
	SrcL4Client
	// SrcFrontend is the frontend that accepted the connection.
	SrcFrontend
	// SrcL5Client is the TLS layer of the client connection, known once
	// the connection is accepted.
	SrcL5Client
	// SrcReqBuffer is the raw contents of the request buffer.
	SrcReqBuffer
	// SrcReqHeaders is the HTTP request line and headers: released once
	// the request is forwarded, so gone when the response is processed.
	SrcReqHeaders
	// SrcRequest is what the transaction keeps of the request (its
	// method, that it is HTTP), until it ends.
	SrcRequest
	// SrcBackend is the backend, once chosen.
	SrcBackend
	// SrcResponse is the HTTP response's status line, kept until the
	// transaction is logged.
	SrcResponse
	// SrcResHeaders is the HTTP response headers.
	SrcResHeaders
)

// sourceNames are the sources as HAProxy names them in its messages
// ("... because it needs 'HTTP request headers' which is not available
// here"). The first three are available everywhere and never named.
var sourceNames = map[Source]string{
	SrcInternal:   "internal state",
	SrcL4Client:   "client address",
	SrcFrontend:   "frontend",
	SrcL5Client:   "client-side connection",
	SrcReqBuffer:  "request buffer",
	SrcReqHeaders: "HTTP request headers",
	SrcRequest:    "HTTP request",
	SrcBackend:    "backend",
	SrcResponse:   "HTTP response",
	SrcResHeaders: "HTTP response headers",
}

// String lists the sources as HAProxy does: names joined with commas.
func (s Source) String() string {
	var names []string
	for s != 0 {
		bit := Source(1) << bits.TrailingZeros16(uint16(s))
		names = append(names, sourceNames[bit])
		s &^= bit
	}
	return strings.Join(names, ",")
}

// Where is a set of the places in a transaction's life where rules
// evaluate samples. A rule of a listen (or defaults) section is at two
// places at once, its frontend's and its backend's.
type Where uint16

// The places, in the order a transaction passes them.
const (
	AtTCPConnection        Where = 1 << iota // tcp-request connection
	AtFrontendTCPContent                     // tcp-request content of a frontend
	AtFrontendHTTPRequest                    // http-request rules (and redirect, stats admin) of a frontend
	AtUseBackend                             // use_backend rules
	AtBackendTCPContent                      // tcp-request content of a backend
	AtBackendHTTPRequest                     // http-request rules (and redirect, stats admin) of a backend
	AtServerConnect                          // connecting to a server (server sni)
	AtBackendHTTPResponse                    // http-response rules of a backend
	AtFrontendHTTPResponse                   // http-response rules of a frontend
	AtLog                                    // log-format, at the end of the transaction
)

// atResponse are the places where the response is processed.
const atResponse = AtBackendHTTPResponse | AtFrontendHTTPResponse

const atAll = AtLog<<1 - 1

// whereNames are the places as HAProxy names them in its warnings
// ("... which is incompatible with 'backend http-response header rule'").
var whereNames = map[Where]string{
	AtTCPConnection:        "frontend tcp-request connection rule",
	AtFrontendTCPContent:   "frontend tcp-request content rule",
	AtFrontendHTTPRequest:  "frontend http-request header rule",
	AtUseBackend:           "frontend use-backend rule",
	AtBackendTCPContent:    "backend tcp-request content rule",
	AtBackendHTTPRequest:   "backend http-request header rule",
	AtServerConnect:        "server connection",
	AtBackendHTTPResponse:  "backend http-response header rule",
	AtFrontendHTTPResponse: "frontend http-response header rule",
	AtLog:                  "logs",
}

// String names the first place of w, as HAProxy names a rule of a listen
// section after the place it reaches first.
func (w Where) String() string {
	if w == 0 {
		return ""
	}
	return whereNames[Where(1)<<bits.TrailingZeros16(uint16(w))]
}

// availableAt is where each source can be used, as haproxy -c decides:
// a condition using a fetch elsewhere is warned about ("will never
// match"), a rule argument is refused.
var availableAt = map[Source]Where{
	SrcInternal:   atAll,
	SrcL4Client:   atAll,
	SrcFrontend:   atAll,
	SrcL5Client:   atAll &^ AtTCPConnection,
	SrcReqBuffer:  AtFrontendTCPContent | AtFrontendHTTPRequest | AtUseBackend | AtBackendTCPContent | AtBackendHTTPRequest | AtServerConnect,
	SrcReqHeaders: AtFrontendTCPContent | AtFrontendHTTPRequest | AtUseBackend | AtBackendTCPContent | AtBackendHTTPRequest | AtServerConnect,
	SrcRequest:    atAll &^ AtTCPConnection,
	SrcBackend:    AtBackendTCPContent | AtBackendHTTPRequest | AtServerConnect | atResponse | AtLog,
	SrcResponse:   atResponse | AtLog,
	SrcResHeaders: atResponse,
}

// goneAt is where a source has no data when rules run, so that its
// fetches yield no sample there whatever the proxy holds: the request
// head is released once forwarded (HAProxy's response rules do not see
// the request path or headers), nothing of the stream exists yet when a
// connection is accepted, there is no response while the request is
// processed. Elsewhere a fetch finds what the transaction holds, which
// is not always what haproxy -c promises: until a backend is chosen,
// be_name is the frontend's name, and req.len still measures the
// request in response rules.
var goneAt = map[Source]Where{
	SrcReqBuffer:  AtTCPConnection,
	SrcReqHeaders: AtTCPConnection | atResponse | AtLog,
	SrcRequest:    AtTCPConnection,
	SrcBackend:    AtTCPConnection,
	SrcResponse:   atAll &^ (atResponse | AtLog),
	SrcResHeaders: atAll &^ (atResponse | AtLog),
}

// usableAt reports whether a fetch of sources use can be used at w: one
// of its sources is available at one of the places of w.
func usableAt(use Source, w Where) bool {
	for s := use; s != 0; {
		bit := Source(1) << bits.TrailingZeros16(uint16(s))
		if availableAt[bit]&w != 0 {
			return true
		}
		s &^= bit
	}
	return false
}

// goneFrom reports whether every source of use is gone at every place of w.
func goneFrom(use Source, w Where) bool {
	for s := use; s != 0; {
		bit := Source(1) << bits.TrailingZeros16(uint16(s))
		if goneAt[bit]&w != w {
			return false
		}
		s &^= bit
	}
	return true
}

// fetchAt is the fetch a sample runs at w (0: not bound to a rule): the
// response variant of a fetch that reads the message being processed
// (hdr) in response rules, nil where its data is gone.
func (s *Sample) fetchAt(w Where) *fetchDef {
	f := &s.fetch
	if w == 0 {
		return f
	}
	if s.res != nil && w&atResponse == w {
		f = s.res
	}
	if goneFrom(f.use, w) {
		return nil
	}
	return f
}

// At returns the sample bound to the rule place w: there, a fetch whose
// data is gone yields nothing, and hdr() reads the response headers in
// response rules. An unbound sample reads what the transaction holds.
func (s *Sample) At(w Where) *Sample {
	c := *s
	c.at = w
	return &c
}

// Unavailable returns the sources the sample's fetch needs when none of
// them is available at w, so that the sample cannot be used there
// (HAProxy refuses such a rule argument); 0 when it can be used.
func (s *Sample) Unavailable(w Where) Source {
	if usableAt(s.fetch.use, w) {
		return 0
	}
	return s.fetch.use
}

// Keyword is the fetch keyword as written, such as "hdr" or "path_beg".
func (s *Sample) Keyword() string { return s.kw }

// At binds the condition to the rule place w (see Sample.At) and
// returns it.
func (c *Cond) At(w Where) *Cond {
	c.at = w
	return c
}

// Conflict is an ACL of a condition that cannot match, or only partly,
// where the condition is used.
type Conflict struct {
	ACL     string // the ACL's name, "" for an anonymous ACL
	Keyword string // its first fetch keyword unusable there
	Full    bool   // none of its expressions can be used there: it never matches
}

// Conflict finds what HAProxy warns about a condition used at w: the
// first ACL none of whose fetches can be used there, or else the first
// ACL some of whose fetches cannot.
func (c *Cond) Conflict(w Where) (Conflict, bool) {
	var partial *Conflict
	for _, g := range c.groups {
		for _, tm := range g {
			a := tm.acl
			first, usable := "", 0
			for _, e := range a.Exprs {
				if usableAt(e.smp.fetch.use, w) {
					usable++
				} else if first == "" {
					first = e.smp.kw
				}
			}
			if first == "" {
				continue
			}
			name := a.Name
			if a.anon {
				name = ""
			}
			if usable == 0 {
				return Conflict{ACL: name, Keyword: first, Full: true}, true
			}
			if partial == nil {
				partial = &Conflict{ACL: name, Keyword: first}
			}
		}
	}
	if partial != nil {
		return *partial, true
	}
	return Conflict{}, false
}
