// Package tlsx builds crypto/tls configurations from HAProxy's TLS
// settings: PEM bundles and certificate directories with SNI selection,
// crt-list files, protocol versions, OpenSSL cipher names, client
// certificate verification for binds, and TLS towards servers.
package tlsx

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Cert is a loaded certificate with the names it serves.
type Cert struct {
	File  string
	TLS   tls.Certificate
	Names []string // DNS SANs (CN when there is none), lower case; "*.example.com" for wildcards
}

// ErrEncryptedKey says that a private key needs a passphrase.
var ErrEncryptedKey = errors.New("the private key is protected by a passphrase")

// LoadCertFile reads a PEM bundle holding a certificate, its chain and an
// unencrypted private key, in any order. When the bundle has no key, the
// key is read from "<file>.key" or, for "name.pem", "name.key", as
// HAProxy's ssl-load-extra-files does.
func LoadCertFile(file string) (*Cert, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("unable to load certificate file '%s': %w", file, err)
	}
	certs, key, err := parsePEM(file, data)
	if err != nil {
		return nil, err
	}
	if key == nil {
		for _, kf := range []string{file + ".key", strings.TrimSuffix(file, filepath.Ext(file)) + ".key"} {
			if kd, err := os.ReadFile(kf); err == nil {
				if _, key, err = parsePEM(kf, kd); err != nil {
					return nil, err
				}
				if key != nil {
					break
				}
			}
		}
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("unable to load certificate file '%s': no certificate found in it", file)
	}
	if key == nil {
		return nil, fmt.Errorf("unable to load certificate file '%s': no private key found in it nor in '%s.key' (concatenate the certificate and its key: cat cert.pem key.pem > bundle.pem)", file, file)
	}
	return buildCert(file, certs, key)
}

// errKeyMismatch says that a private key matches no certificate.
var errKeyMismatch = errors.New("the private key does not match any certificate")

// buildCert makes a Cert of parsed certificates and their key.
func buildCert(file string, certs []*x509.Certificate, key crypto.Signer) (*Cert, error) {
	// The leaf is the certificate whose public key matches the key; the
	// others form the chain, in file order.
	leaf := -1
	for i, c := range certs {
		if publicKeyMatches(c.PublicKey, key) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return nil, fmt.Errorf("unable to load certificate file '%s': %w in it", file, errKeyMismatch)
	}
	out := &Cert{File: file}
	out.TLS.PrivateKey = key
	out.TLS.Leaf = certs[leaf]
	out.TLS.Certificate = append(out.TLS.Certificate, certs[leaf].Raw)
	for i, c := range certs {
		if i != leaf {
			out.TLS.Certificate = append(out.TLS.Certificate, c.Raw)
		}
	}
	for _, n := range certs[leaf].DNSNames {
		out.Names = append(out.Names, strings.ToLower(n))
	}
	if len(out.Names) == 0 && certs[leaf].Subject.CommonName != "" {
		out.Names = []string{strings.ToLower(certs[leaf].Subject.CommonName)}
	}
	return out, nil
}

func parsePEM(file string, data []byte) ([]*x509.Certificate, crypto.Signer, error) {
	var certs []*x509.Certificate
	var key crypto.Signer
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("unable to load certificate file '%s': %w", file, err)
			}
			certs = append(certs, c)
		case b.Type == "ENCRYPTED PRIVATE KEY" || strings.HasSuffix(b.Type, "PRIVATE KEY") && b.Headers["Proc-Type"] == "4,ENCRYPTED":
			return nil, nil, fmt.Errorf("unable to load certificate file '%s': %w; halo, like HAProxy, needs an unencrypted key: remove the passphrase with `openssl pkey -in key.pem -out key-nopass.pem` (or `openssl rsa -in key.pem -out key-nopass.pem`) and bundle that key", file, ErrEncryptedKey)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			k, err := parseKey(b)
			if err != nil {
				return nil, nil, fmt.Errorf("unable to load certificate file '%s': %w", file, err)
			}
			key = k
		}
	}
	return certs, key, nil
}

func parseKey(b *pem.Block) (crypto.Signer, error) {
	switch b.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return s, nil
}

func publicKeyMatches(pub any, key crypto.Signer) bool {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return p.Equal(key.Public())
	case *ecdsa.PublicKey:
		return p.Equal(key.Public())
	case ed25519.PublicKey:
		return p.Equal(key.Public())
	}
	return false
}

// skipExt are companion files HAProxy loads beside a certificate and
// skips when it loads a whole directory.
var skipExt = map[string]bool{".key": true, ".ocsp": true, ".issuer": true, ".sctl": true}

// LoadCerts loads a crt argument: a file, or every bundle of a directory
// (in name order, as HAProxy).
func LoadCerts(path string) ([]*Cert, error) {
	files, err := certFiles(path)
	if err != nil {
		return nil, err
	}
	var out []*Cert
	for _, f := range files {
		c, err := LoadCertFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// certFiles lists the bundles a crt argument names: the file, or the
// files of the directory in name order.
func certFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("unable to load SSL certificate from '%s': %w", path, err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() || skipExt[filepath.Ext(e.Name())] || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		names = append(names, filepath.Join(path, e.Name()))
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("unable to load SSL certificate from '%s': the directory holds no certificate", path)
	}
	return names, nil
}

// CrtListEntry is one line of a crt-list file.
type CrtListEntry struct {
	Line    int
	File    string
	Filters []string // SNI filters; "!name" excludes
}

// ParseCrtList reads a crt-list: `<crt> [ssl options] [sni filters...]`
// per line, # comments. Per-line SSL options in brackets are refused.
func ParseCrtList(name string, data []byte, base string) ([]CrtListEntry, error) {
	var out []CrtListEntry
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		e := CrtListEntry{Line: i + 1, File: f[0]}
		if base != "" && !filepath.IsAbs(e.File) {
			e.File = filepath.Join(base, e.File)
		}
		rest := f[1:]
		if len(rest) > 0 && strings.HasPrefix(rest[0], "[") {
			return nil, fmt.Errorf("%s:%d: per-certificate SSL options ('%s') in crt-list are not supported by halo yet", name, i+1, rest[0])
		}
		e.Filters = rest
		out = append(out, e)
	}
	return out, nil
}

// Store selects a certificate by SNI: exact names first, then wildcards
// covering one label, then the default (the first certificate added).
// When several certificates serve a name (RSA and ECDSA), the first one
// the client can use wins. Its certificates are CertRefs, so that a
// certificate replaced at run time (commit ssl cert) is indexed again
// under its new names; lookups never lock.
type Store struct {
	mu    sync.Mutex // serialises Add and rebuilds
	items []storeItem
	idx   atomic.Pointer[storeIndex]
}

type storeItem struct {
	ref     *CertRef
	filters []string // crt-list SNI filters; "!name" excludes
}

type storeIndex struct {
	exact    map[string][]idxEntry
	wildcard map[string][]idxEntry // "example.com" for *.example.com
	def      *tls.Certificate
}

// idxEntry is a certificate indexed under a name, with the negative SNI
// filters of its crt-list line.
type idxEntry struct {
	cert *tls.Certificate
	excl []string
}

// NewStore returns an empty store.
func NewStore() *Store {
	s := &Store{}
	s.idx.Store(&storeIndex{})
	return s
}

// Add indexes c under its names, or under filters when given (crt-list
// lines); "!name" filters exclude a name.
func (s *Store) Add(c *Cert, filters []string) { s.AddRef(NewCertRef(c), filters) }

// AddRef indexes the certificate ref holds, now and whenever it changes.
func (s *Store) AddRef(ref *CertRef, filters []string) {
	s.mu.Lock()
	s.items = append(s.items, storeItem{ref, filters})
	s.mu.Unlock()
	ref.watch(s)
	s.rebuild()
}

// rebuild recomputes the index from the current certificates. As
// HAProxy's crt-list: positive SNI filters replace the certificate's
// names, negative ones ("!name", "!*.domain", "!*") exclude names, both
// those of the certificate and the SNIs a wildcard filter would match.
func (s *Store) rebuild() {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := &storeIndex{exact: map[string][]idxEntry{}, wildcard: map[string][]idxEntry{}}
	for _, it := range s.items {
		c := it.ref.Load()
		if idx.def == nil {
			idx.def = &c.TLS
		}
		names := c.Names
		var excl []string
		if len(it.filters) > 0 {
			names = nil
			for _, f := range it.filters {
				if strings.HasPrefix(f, "!") {
					excl = append(excl, strings.ToLower(f[1:]))
				} else {
					names = append(names, strings.ToLower(f))
				}
			}
			if len(names) == 0 {
				names = c.Names
			}
		}
		e := idxEntry{&c.TLS, excl}
		for _, n := range names {
			if excluded(excl, n) {
				continue
			}
			if strings.HasPrefix(n, "*.") {
				idx.wildcard[n[2:]] = append(idx.wildcard[n[2:]], e)
			} else {
				idx.exact[n] = append(idx.exact[n], e)
			}
		}
	}
	s.idx.Store(idx)
}

// excluded reports whether a negative filter covers name.
func excluded(excl []string, name string) bool {
	for _, p := range excl {
		if p == "*" || p == name || hostMatch(p, name) {
			return true
		}
	}
	return false
}

// Len is the number of certificates.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

// Get picks the certificate for a server name; hello, when not nil,
// chooses among certificates of the same name by what the client supports.
func (s *Store) Get(name string, hello *tls.ClientHelloInfo) *tls.Certificate {
	idx := s.idx.Load()
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if c := pick(idx.exact[name], name, hello); c != nil {
		return c
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c := pick(idx.wildcard[name[i+1:]], name, hello); c != nil {
			return c
		}
	}
	return idx.def
}

func pick(es []idxEntry, name string, hello *tls.ClientHelloInfo) *tls.Certificate {
	var first *tls.Certificate
	for _, e := range es {
		if excluded(e.excl, name) {
			continue
		}
		if hello == nil || hello.SupportsCertificate(e.cert) == nil {
			return e.cert
		}
		if first == nil {
			first = e.cert
		}
	}
	return first
}

// GetCertificate is for tls.Config.GetCertificate.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.Get(hello.ServerName, hello), nil
}

// Has reports whether a certificate other than the default covers name.
func (s *Store) Has(name string) bool {
	idx := s.idx.Load()
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for _, e := range idx.exact[name] {
		if !excluded(e.excl, name) {
			return true
		}
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		for _, e := range idx.wildcard[name[i+1:]] {
			if !excluded(e.excl, name) {
				return true
			}
		}
	}
	return false
}
