// Package acl implements HAProxy's ACLs: sample fetches, converters,
// matching methods, named and anonymous ACLs, and if/unless conditions.
//
// The configuration parser calls Parse* to turn words into values of this
// package; the proxy calls Cond.Match with a Txn describing the
// connection (and, in HTTP mode, the request or response).
//
// API CONTRACT (skeleton: the implementation fills in the bodies; the
// exported signatures below are what other packages code against).
package acl

import (
	"errors"
	"net/netip"
)

// ErrNotImplemented marks parts not written yet.
var ErrNotImplemented = errors.New("acl: not implemented")

// Txn is what fetches read: the connection and, in HTTP mode, the
// message being processed. Fields that do not apply are zero.
type Txn struct {
	Src, Dst netip.AddrPort
	// HTTP gives access to the HTTP request/response when the proxy is
	// in HTTP mode; nil in TCP mode.
	HTTP HTTPMessage
	// Payload is the buffered start of the client's stream (tcp-request
	// content inspection), nil when not buffered.
	Payload []byte
	// SSL reports TLS properties of the client connection; nil for clear text.
	SSL SSLInfo
	// Backends answers nbsrv(<backend>): usable servers of a backend.
	Backends BackendCounter
}

// HTTPMessage is the view of an HTTP transaction that fetches need.
// The HTTP engine implements it.
type HTTPMessage interface {
	Method() string
	URI() string // request target as received (path + query, or absolute form)
	Version() string
	// Headers returns the values of the request header name (case-insensitive),
	// in order, one per header line (not split on commas).
	Header(name string) []string
	// ResStatus is the response status, 0 while processing the request.
	ResStatus() int
	// ResHeader returns response header values, as Header.
	ResHeader(name string) []string
}

// SSLInfo is the view of a TLS connection that ssl_* fetches need.
type SSLInfo interface {
	SNI() string
	Protocol() string
	Cipher() string
	ClientCertUsed() bool
	ClientVerify() int
	ClientSubjectDN() string
	ClientIssuerDN() string
}

// BackendCounter answers nbsrv().
type BackendCounter interface {
	UsableServers(backend string) (int, bool)
}

// Set is the named ACLs of one proxy. Declaring a name twice completes
// the same ACL: it matches when any of its lines matches.
type Set struct {
	named map[string]*ACL
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{named: map[string]*ACL{}} }

// ACL is a named ACL: one or more expressions OR'ed together.
type ACL struct {
	Name  string
	Exprs []*Expr
}

// Expr is one `<fetch>[,conv...] [flags] [-m method] <patterns...>` test.
type Expr struct{}

// Cond is an if/unless condition: terms AND'ed, groups OR'ed.
type Cond struct {
	Unless bool
}

// Add declares or completes the ACL name with an expression parsed from
// words (everything after `acl <name>`). Errors say what is wrong with
// the words; the caller prefixes file:line.
func (s *Set) Add(name string, words []string) error { return ErrNotImplemented }

// ParseCond parses a condition starting at its `if` or `unless` keyword,
// resolving named ACLs in s (and the predefined ones).
func ParseCond(words []string, s *Set) (*Cond, error) { return nil, ErrNotImplemented }

// Match evaluates the condition.
func (c *Cond) Match(t *Txn) bool { return false }
