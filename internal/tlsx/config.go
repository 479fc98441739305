package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// BindOptions are a bind line's TLS settings, with paths already
// resolved against crt-base and ca-base.
type BindOptions struct {
	Certs      []string
	CRTLists   []string
	CAFile     string
	CRLFile    string
	Verify     string // none (default) | optional | required
	MinVer     string
	MaxVer     string
	NoVersions []string
	Ciphers    string
	Suites     string
	ALPN       []string
	// CAIgnore and CRTIgnore are ca-ignore-err and crt-ignore-err.
	CAIgnore, CRTIgnore IgnoreSet
	// Registry holds the certificate files (nil: a private one).
	Registry *Registry
	// CRTBase is crt-base, for the relative paths of crt-list files.
	CRTBase string
}

// ErrNoCAFile says that client certificates are asked for without a
// ca-file to check them.
var ErrNoCAFile = errors.New("verify is enabled but no CA file specified")

// Warnings collects non-fatal remarks (ciphers Go cannot offer, ...).
type Warnings []string

// ServerConfig builds the tls.Config of a listener.
func ServerConfig(o BindOptions) (*tls.Config, *Store, Warnings, error) {
	var warn Warnings
	reg := o.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	store := NewStore()
	for _, p := range o.Certs {
		refs, err := reg.LoadPath(p)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, r := range refs {
			store.AddRef(r, nil)
		}
	}
	for _, l := range o.CRTLists {
		data, err := os.ReadFile(l)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("unable to read crt-list '%s': %w", l, err)
		}
		entries, err := ParseCrtList(l, data, o.CRTBase)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, e := range entries {
			if _, err := os.Stat(e.File); err != nil {
				return nil, nil, nil, fmt.Errorf("'crt-list' : %s:%d: unable to stat SSL certificate from file '%s' : %w", l, e.Line, e.File, errors.Unwrap(err))
			}
			r, err := reg.Load(e.File)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("%s:%d: %w", l, e.Line, err)
			}
			store.AddRef(r, e.Filters)
		}
	}
	if store.Len() == 0 {
		return nil, nil, nil, errors.New("no certificate configured")
	}
	cfg := &tls.Config{GetCertificate: store.GetCertificate, NextProtos: o.ALPN}
	var err error
	if cfg.MinVersion, cfg.MaxVersion, err = versions(o.MinVer, o.MaxVer, o.NoVersions); err != nil {
		return nil, nil, nil, err
	}
	if cfg.CipherSuites, warn, err = Ciphers(o.Ciphers, warn); err != nil {
		return nil, nil, nil, err
	}
	if warn, err = checkSuites(o.Suites, warn); err != nil {
		return nil, nil, nil, err
	}
	var clientAuth tls.ClientAuthType
	switch o.Verify {
	case "", "none":
		return cfg, store, warn, nil
	case "optional":
		clientAuth = tls.RequestClientCert
	case "required":
		clientAuth = tls.RequireAnyClientCert
	default:
		return nil, nil, nil, fmt.Errorf("verify '%s': expected none, optional or required", o.Verify)
	}
	if o.CAFile == "" {
		return nil, nil, nil, ErrNoCAFile
	}
	// Go asks for a certificate (and sends ca-file's names); halo
	// verifies it, as OpenSSL would, in VerifyConnection.
	pool, roots, err := loadPool(o.CAFile)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg.ClientAuth, cfg.ClientCAs = clientAuth, pool
	v := &clientVerifier{roots: roots, pool: pool, caIgnore: o.CAIgnore, crtIgnore: o.CRTIgnore, now: time.Now}
	if o.CRLFile != "" {
		if v.crls, err = loadCRLs(o.CRLFile); err != nil {
			return nil, nil, nil, err
		}
	}
	withVerifier(cfg, v)
	return cfg, store, warn, nil
}

// loadPool reads a CA file: the pool and its certificates in file order.
func loadPool(file string) (*x509.CertPool, []*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("unable to load CA file '%s': %w", file, err)
	}
	pool := x509.NewCertPool()
	var certs []*x509.Certificate
	for rest := data; ; {
		var der []byte
		if der, rest = pemBlock(rest, "CERTIFICATE"); der == nil {
			break
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("unable to load CA file '%s': %w", file, err)
		}
		pool.AddCert(c)
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, nil, fmt.Errorf("unable to load CA file '%s': no certificate in it", file)
	}
	return pool, certs, nil
}

var versionNames = map[string]uint16{"SSLv3": tls.VersionSSL30, "TLSv1.0": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13}

var noVersion = map[string]uint16{"no-sslv3": tls.VersionSSL30, "no-tlsv10": tls.VersionTLS10, "no-tlsv11": tls.VersionTLS11,
	"no-tlsv12": tls.VersionTLS12, "no-tlsv13": tls.VersionTLS13}

// ErrNoVersion says that the version options leave no TLS version.
var ErrNoVersion = errors.New("all SSL/TLS versions are disabled")

// versions turns ssl-min-ver/ssl-max-ver/no-* into a Go range. HAProxy
// 2.6's default floor is TLS 1.2; Go has no SSLv3, so a floor of SSLv3
// is TLS 1.0 in practice.
func versions(minS, maxS string, no []string) (uint16, uint16, error) {
	lo, hi := uint16(tls.VersionTLS12), uint16(tls.VersionTLS13)
	if minS != "" {
		v, ok := versionNames[minS]
		if !ok {
			return 0, 0, fmt.Errorf("ssl-min-ver '%s': expected SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3", minS)
		}
		lo = max(v, tls.VersionTLS10)
	}
	if maxS != "" {
		v, ok := versionNames[maxS]
		if !ok {
			return 0, 0, fmt.Errorf("ssl-max-ver '%s': expected SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3", maxS)
		}
		hi = v
	}
	disabled := map[uint16]bool{}
	for _, n := range no {
		disabled[noVersion[n]] = true
	}
	for lo <= hi && disabled[lo] {
		lo++
	}
	for hi >= lo && disabled[hi] {
		hi--
	}
	if lo > hi {
		return 0, 0, ErrNoVersion
	}
	for v := lo; v <= hi; v++ {
		if disabled[v] {
			return 0, 0, errors.New("disabling a TLS version in the middle of the enabled range is not possible (Go offers a contiguous range); use ssl-min-ver and ssl-max-ver")
		}
	}
	return lo, hi, nil
}

var tls13Suites = map[string]bool{"TLS_AES_128_GCM_SHA256": true, "TLS_AES_256_GCM_SHA384": true, "TLS_CHACHA20_POLY1305_SHA256": true}

// checkSuites validates a TLS 1.3 ciphersuites list. Go always offers its
// three TLS 1.3 suites, so the list cannot narrow them: say so.
func checkSuites(s string, warn Warnings) (Warnings, error) {
	if s == "" {
		return warn, nil
	}
	for _, n := range strings.Split(s, ":") {
		switch {
		case tls13Suites[n]:
		case n == "TLS_AES_128_CCM_SHA256" || n == "TLS_AES_128_CCM_8_SHA256":
			warn = append(warn, fmt.Sprintf("TLS 1.3 suite %s is not implemented by Go's TLS stack and will not be offered", n))
		default:
			return warn, fmt.Errorf("unknown TLS 1.3 cipher suite '%s'", n)
		}
	}
	return append(warn, "Go offers its three TLS 1.3 suites whatever 'ciphersuites' lists"), nil
}
