// Package acl implements HAProxy's ACLs: sample fetches, converters,
// matching methods, named and anonymous ACLs, and if/unless conditions.
//
// The configuration parser calls Set.Add and ParseCond to turn words into
// values of this package; the proxy calls Cond.Match with a Txn
// describing the connection (and, in HTTP mode, the request or response).
package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/halo-lb/halo/internal/suggest"
)

// Txn is what fetches read: the connection and, in HTTP mode, the
// message being processed. Fields that do not apply are zero.
type Txn struct {
	Src, Dst netip.AddrPort
	// HTTP gives access to the HTTP request/response when the proxy is
	// in HTTP mode; nil in TCP mode.
	HTTP HTTPMessage
	// Payload is the buffered start of the client's stream (tcp-request
	// content inspection), nil when not buffered. In TCP mode the HTTP
	// request fetches read the request head at its start.
	Payload []byte
	// SSL reports TLS properties of the client connection; nil for clear text.
	SSL SSLInfo
	// Backends answers nbsrv(<backend>): usable servers of a backend.
	Backends BackendCounter
	// Vars holds the variables set by set-var, by full name ("txn.user").
	Vars map[string]string
	// Users checks http_auth() credentials against userlists.
	Users UserChecker
	// Frontend and Backend are the names of the proxies handling the
	// transaction ("" while no backend is chosen).
	Frontend, Backend string
	// Stick gives the stick-table fetches their tables and tracked
	// entries; nil when the configuration has no stick table.
	Stick Counters

	parsed *payloadRequest // the HTTP request read from Payload (see request)
}

// SetVar stores a variable for var() to read.
func (t *Txn) SetVar(name, value string) {
	if t.Vars == nil {
		t.Vars = map[string]string{}
	}
	t.Vars[name] = value
}

// HTTPMessage is the view of an HTTP transaction that fetches need.
// The HTTP engine implements it.
type HTTPMessage interface {
	Method() string
	URI() string // request target as received (path + query, or absolute form)
	Version() string
	// Header returns the values of the request header name (case-insensitive),
	// in order, one per header line (not split on commas).
	Header(name string) []string
	// ResStatus is the response status, 0 while processing the request.
	ResStatus() int
	// ResHeader returns response header values, as Header.
	ResHeader(name string) []string
	// HeadLen is the size of the request head (req.len in HTTP mode).
	HeadLen() int
}

// SSLInfo is the view of a TLS connection that ssl_* fetches need.
type SSLInfo interface {
	SNI() string
	Protocol() string
	Cipher() string
	ClientCertUsed() bool
	ClientVerify() int
	ClientErr() int
	ClientCAErr() int
	ClientSubjectDN() string
	ClientIssuerDN() string
	Resumed() bool
}

// UserChecker verifies credentials against a userlist; it returns the
// user's groups when the credentials are valid.
type UserChecker interface {
	CheckUser(list, user, pass string) (groups []string, ok bool)
}

// BackendCounter answers nbsrv().
type BackendCounter interface {
	UsableServers(backend string) (int, bool)
	// ServerUp answers srv_is_up(<backend>/<server>).
	ServerUp(backend, server string) (up, found bool)
}

// Set is the named ACLs of one proxy. Declaring a name twice completes
// the same ACL: it matches when any of its lines matches.
type Set struct {
	named map[string]*ACL
	// Resolve, when set, resolves host names in IP patterns (unless -n).
	Resolve Resolver
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{named: map[string]*ACL{}} }

// ACL is a named ACL: one or more expressions OR'ed together.
type ACL struct {
	Name  string
	Exprs []*Expr
	anon  bool // a { ... } ACL of a condition
}

func (a *ACL) match(t *Txn, w Where) bool {
	for _, e := range a.Exprs {
		if e.matchAt(t, w) {
			return true
		}
	}
	return false
}

// Add declares or completes the ACL name with an expression parsed from
// words (everything after `acl <name>`). Errors say what is wrong with
// the words; the caller prefixes file:line.
func (s *Set) Add(name string, words []string) error {
	if err := validName(name); err != nil {
		return err
	}
	if _, pre := predefined[name]; pre {
		return fmt.Errorf("'%s' is a predefined ACL and cannot be redefined", name)
	}
	e, err := parseExpr(words, s.Resolve)
	if err != nil {
		return err
	}
	a := s.named[name]
	if a == nil {
		a = &ACL{Name: name}
		s.named[name] = a
	}
	a.Exprs = append(a.Exprs, e)
	return nil
}

func validName(n string) error {
	if n == "" {
		return errors.New("missing ACL name")
	}
	for _, c := range n {
		if !(c == '_' || c == '-' || c == '.' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("invalid character '%c' in ACL name '%s'", c, n)
		}
	}
	return nil
}

// term is one element of a condition: an ACL reference, possibly negated.
type term struct {
	neg bool
	acl *ACL
}

// Cond is an if/unless condition: terms AND'ed, groups OR'ed.
type Cond struct {
	Unless bool
	groups [][]term
	at     Where // the rule place the condition is bound to (see At)
}

// ParseCond parses a condition starting at its `if` or `unless` keyword,
// resolving named ACLs in s (and the predefined ones).
func ParseCond(words []string, s *Set) (*Cond, error) {
	if len(words) == 0 || (words[0] != "if" && words[0] != "unless") {
		return nil, errors.New("a condition starts with 'if' or 'unless'")
	}
	c := &Cond{Unless: words[0] == "unless"}
	var cur []term
	neg := false
	anon := 0
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "or" || w == "||":
			if neg || len(cur) == 0 {
				return nil, fmt.Errorf("'%s' must stand between two ACLs", w)
			}
			c.groups = append(c.groups, cur)
			cur = nil
			continue
		case w == "!":
			neg = !neg
			continue
		case w == "!{":
			neg = !neg
			w = "{"
			fallthrough
		case w == "{":
			end := -1
			for j := i + 1; j < len(words); j++ {
				if words[j] == "}" {
					end = j
					break
				}
			}
			if end < 0 {
				return nil, errors.New("missing closing '}' in condition")
			}
			e, err := parseExpr(words[i+1:end], s.Resolve)
			if err != nil {
				return nil, fmt.Errorf("anonymous ACL: %w", err)
			}
			anon++
			cur = append(cur, term{neg: neg, acl: &ACL{Name: fmt.Sprintf("anonymous#%d", anon), Exprs: []*Expr{e}, anon: true}})
			neg = false
			i = end
			continue
		case w == "}":
			return nil, errors.New("unexpected '}' in condition")
		}
		name := w
		if strings.HasPrefix(name, "!") {
			neg, name = !neg, name[1:]
		}
		a := s.named[name]
		if a == nil {
			a = predefined[name]
		}
		if a == nil {
			var known []string
			for n := range s.named {
				known = append(known, n)
			}
			for n := range predefined {
				known = append(known, n)
			}
			return nil, fmt.Errorf("no such ACL : '%s'%s", name, suggest.Hint(name, known))
		}
		cur = append(cur, term{neg: neg, acl: a})
		neg = false
	}
	if neg {
		return nil, errors.New("'!' must be followed by an ACL")
	}
	if len(cur) == 0 {
		if len(c.groups) == 0 {
			return nil, fmt.Errorf("'%s' expects a condition", words[0])
		}
		return nil, errors.New("condition ends with 'or'")
	}
	c.groups = append(c.groups, cur)
	return c, nil
}

// Match evaluates the condition. A nil condition matches.
func (c *Cond) Match(t *Txn) bool {
	if c == nil {
		return true
	}
	res := false
	for _, g := range c.groups {
		ok := true
		for _, tm := range g {
			if tm.acl.match(t, c.at) == tm.neg {
				ok = false
				break
			}
		}
		if ok {
			res = true
			break
		}
	}
	return res != c.Unless
}

// predefined are HAProxy's built-in ACLs.
var predefined = map[string]*ACL{}

func init() {
	for name, words := range map[string][]string{
		"TRUE":           {"always_true"},
		"FALSE":          {"always_false"},
		"HTTP":           {"req.proto_http"},
		"HTTP_1.0":       {"req.ver", "1.0"},
		"HTTP_1.1":       {"req.ver", "1.1"},
		"HTTP_2.0":       {"req.ver", "2.0"},
		"HTTP_CONTENT":   {"req.hdr_val(content-length)", "gt", "0"},
		"HTTP_URL_ABS":   {"url_reg", "^[^/:]*://"},
		"HTTP_URL_SLASH": {"url_beg", "/"},
		"HTTP_URL_STAR":  {"url", "*"},
		"LOCALHOST":      {"src", "127.0.0.1/8", "::1"},
		"METH_CONNECT":   {"method", "CONNECT"},
		"METH_DELETE":    {"method", "DELETE"},
		"METH_GET":       {"method", "GET", "HEAD"},
		"METH_HEAD":      {"method", "HEAD"},
		"METH_OPTIONS":   {"method", "OPTIONS"},
		"METH_POST":      {"method", "POST"},
		"METH_PUT":       {"method", "PUT"},
		"METH_TRACE":     {"method", "TRACE"},
		"REQ_CONTENT":    {"req.len", "gt", "0"},
		"WAIT_END":       {"always_false"},
	} {
		e, err := ParseExpr(words)
		if err != nil {
			panic(fmt.Sprintf("acl: predefined %s: %v", name, err))
		}
		predefined[name] = &ACL{Name: name, Exprs: []*Expr{e}}
	}
}

// Ref is a userlist a sample fetch names (http_auth, http_auth_group),
// which the configuration must define; Groups are the groups an
// http_auth_group ACL matches, which the userlist must declare.
type Ref struct {
	Fetch    string
	Userlist string
	Groups   []string
}

// Refs lists the userlists the sample's fetch refers to.
func (s *Sample) Refs() []Ref {
	switch s.name {
	case "http_auth", "http_auth_group":
		return []Ref{{Fetch: s.name, Userlist: s.args[0]}}
	}
	return nil
}

// Refs lists the userlists the expression refers to, with the groups an
// http_auth_group expression matches.
func (e *Expr) Refs() []Ref {
	refs := e.smp.Refs()
	if len(refs) == 1 && refs[0].Fetch == "http_auth_group" && len(e.smp.convs) == 0 {
		refs[0].Groups = e.strs
	}
	return refs
}

// Last returns the expression last added to the named ACL.
func (s *Set) Last(name string) *Expr {
	a := s.named[name]
	if a == nil || len(a.Exprs) == 0 {
		return nil
	}
	return a.Exprs[len(a.Exprs)-1]
}

// Anonymous returns the expressions of the condition's { ... } ACLs (its
// named ACLs belong to their Set).
func (c *Cond) Anonymous() []*Expr {
	var out []*Expr
	for _, g := range c.groups {
		for _, tm := range g {
			if tm.acl.anon {
				out = append(out, tm.acl.Exprs...)
			}
		}
	}
	return out
}

// FetchText is the fetch and converters as written, for messages.
func (e *Expr) FetchText() string { return e.smp.text }

// Layer6 reports whether the expression reads the raw request buffer
// (req.len, req.payload, the TLS ClientHello fetches), which HAProxy
// ignores on HTTP proxies.
func (e *Expr) Layer6() bool { return e.smp.Layer6() }

// Layer6 reports whether the sample reads the raw request buffer.
func (s *Sample) Layer6() bool { return s.fetch.use&SrcReqBuffer != 0 }

// Layer6 reports whether the condition uses an ACL that reads the raw
// request buffer (req.len, REQ_CONTENT...).
func (c *Cond) Layer6() bool {
	for _, g := range c.groups {
		for _, tm := range g {
			for _, e := range tm.acl.Exprs {
				if e.Layer6() {
					return true
				}
			}
		}
	}
	return false
}
