package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
)

// ClientOptions are a server line's TLS settings.
type ClientOptions struct {
	Verify     string // required (default) | none
	CAFile     string
	CRT        string
	SNI        string // fixed server name (expressions are resolved per connection by the caller)
	VerifyHost string
	ALPN       []string
	MinVer     string
	MaxVer     string
	NoVersions []string
	Ciphers    string
	Suites     string
	// Registry holds the crt file, so that the runtime API can replace
	// it (nil: a private one).
	Registry *Registry
	// NoReuse turns session resumption off; NoTickets turns session
	// tickets off (Go's client then resumes nothing either).
	NoReuse, NoTickets bool
}

// Client is the TLS configuration towards one server. Config gives the
// tls.Config of a connection for the SNI it sends; the session cache is
// shared, so each name resumes its own sessions.
type Client struct {
	base       *tls.Config // no ServerName, no VerifyConnection
	roots      *x509.CertPool
	verifyHost string
	sni        string
	fixed      *tls.Config // Config(sni), built once
}

// ClientConfig builds the TLS settings used towards a server. As
// HAProxy, `verify required` (the default) checks the chain against
// ca-file, then the certificate's names against the SNI sent or, when
// none is sent, against verifyhost; with neither, names are not checked.
// Session resumption is on.
func ClientConfig(o ClientOptions) (*Client, Warnings, error) {
	var warn Warnings
	cfg := &tls.Config{NextProtos: o.ALPN, SessionTicketsDisabled: o.NoTickets}
	if !o.NoReuse {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(256)
	}
	var err error
	if cfg.MinVersion, cfg.MaxVersion, err = versions(o.MinVer, o.MaxVer, o.NoVersions); err != nil {
		return nil, nil, err
	}
	if cfg.CipherSuites, warn, err = Ciphers(o.Ciphers, warn); err != nil {
		return nil, nil, err
	}
	if warn, err = checkSuites(o.Suites, warn); err != nil {
		return nil, nil, err
	}
	if o.CRT != "" {
		reg := o.Registry
		if reg == nil {
			reg = NewRegistry()
		}
		ref, err := reg.Load(o.CRT)
		if err != nil {
			return nil, nil, err
		}
		// Sent whatever CA names the server lists, as OpenSSL does.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &ref.Load().TLS, nil }
	}
	// Verification is done by hand (VerifyConnection): Go's would insist
	// on a host name even when HAProxy checks only the chain.
	cfg.InsecureSkipVerify = true
	c := &Client{base: cfg, verifyHost: o.VerifyHost, sni: o.SNI}
	if o.Verify != "none" {
		if o.CAFile == "" {
			return nil, nil, errors.New("verify is enabled by default but no CA file specified")
		}
		if c.roots, _, err = loadPool(o.CAFile); err != nil {
			return nil, nil, err
		}
	}
	c.fixed = c.build(o.SNI, o.ALPN)
	return c, warn, nil
}

// Config is the configuration of a connection sending sni ("" sends
// none; an IP address is not sent, as RFC 6066 says, but still checked).
func (c *Client) Config(sni string) *tls.Config {
	if sni == c.sni {
		return c.fixed
	}
	return c.build(sni, c.base.NextProtos)
}

// CheckConfig is the configuration of health checks: the check-sni name
// ("" sends none: as HAProxy, checks do not use the server's sni, even a
// constant one) and the ALPN list given.
func (c *Client) CheckConfig(sni string, alpn []string) *tls.Config {
	return c.build(sni, alpn)
}

// Base is the configuration without a server name.
func (c *Client) Base() *tls.Config { return c.base }

func (c *Client) build(sni string, alpn []string) *tls.Config {
	cfg := c.base.Clone()
	cfg.ServerName = sni
	cfg.NextProtos = alpn
	if c.roots != nil {
		cfg.VerifyConnection = c.verifier(sni)
	}
	return cfg
}

// HostMismatchError says that the server's certificate does not cover
// the name it was expected to have.
type HostMismatchError struct {
	Host    string
	FromSNI bool // the name is the SNI sent, not verifyhost
}

func (e *HostMismatchError) Error() string {
	return fmt.Sprintf("the server certificate is not valid for '%s'", e.Host)
}

// ChainError says that the server's certificate chain did not verify.
type ChainError struct{ Err error }

func (e *ChainError) Error() string {
	return "server certificate verification failed: " + e.Err.Error()
}
func (e *ChainError) Unwrap() error { return e.Err }

func (c *Client) verifier(sni string) func(tls.ConnectionState) error {
	host := sni
	if host == "" {
		host = c.verifyHost
	}
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return &ChainError{errors.New("the server sent no certificate")}
		}
		inter := x509.NewCertPool()
		for _, ic := range cs.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		leaf := cs.PeerCertificates[0]
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.roots, Intermediates: inter}); err != nil {
			return &ChainError{err}
		}
		if host != "" && !MatchesHost(leaf, host) {
			return &HostMismatchError{Host: host, FromSNI: sni != ""}
		}
		return nil
	}
}

// MatchesHost reports whether cert is for host the way HAProxy checks
// server certificates: the DNS subject alternative names, then the
// common names, compared without case; a "*" as the whole first label
// covers exactly one label.
func MatchesHost(cert *x509.Certificate, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range cert.DNSNames {
		if hostMatch(strings.ToLower(n), host) {
			return true
		}
	}
	for _, n := range cnNames(cert) {
		if hostMatch(strings.ToLower(n), host) {
			return true
		}
	}
	return false
}

func cnNames(cert *x509.Certificate) []string {
	var out []string
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal(oidCommonName) {
			if s, ok := atv.Value.(string); ok {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 && cert.Subject.CommonName != "" {
		out = append(out, cert.Subject.CommonName)
	}
	return out
}

func hostMatch(pattern, host string) bool {
	if pattern == host {
		return true
	}
	rest, ok := strings.CutPrefix(pattern, "*.")
	if !ok || rest == "" || net.ParseIP(host) != nil {
		return false
	}
	i := strings.IndexByte(host, '.')
	return i > 0 && host[i+1:] == rest
}
