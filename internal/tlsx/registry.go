package tlsx

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// CertRef holds the current certificate of one file; listeners and
// server lines read it at each handshake, so replacing it (commit ssl
// cert) takes effect for new handshakes without touching established
// connections.
type CertRef struct {
	file   string
	cur    atomic.Pointer[Cert]
	mu     sync.Mutex
	stores []*Store
}

// NewCertRef holds c.
func NewCertRef(c *Cert) *CertRef {
	r := &CertRef{file: c.File}
	r.cur.Store(c)
	return r
}

// Load is the current certificate.
func (r *CertRef) Load() *Cert { return r.cur.Load() }

func (r *CertRef) watch(s *Store) {
	r.mu.Lock()
	r.stores = append(r.stores, s)
	r.mu.Unlock()
}

// replace installs c and re-indexes the stores that serve it.
func (r *CertRef) replace(c *Cert) {
	r.mu.Lock()
	stores := append([]*Store(nil), r.stores...)
	r.cur.Store(c)
	r.mu.Unlock()
	for _, s := range stores {
		s.rebuild()
	}
}

// Registry holds the certificate files of one configuration by file
// name, loaded once however many lines use them, with HAProxy's runtime
// API transaction: one certificate at a time is prepared (Set), then
// installed (Commit) or dropped (Abort). It is safe for concurrent use.
type Registry struct {
	mu   sync.Mutex
	refs map[string]*CertRef
	tx   *CertTx
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{refs: map[string]*CertRef{}} }

// Load returns the certificate of file, loading it the first time.
func (r *Registry) Load(file string) (*CertRef, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ref, ok := r.refs[file]; ok {
		return ref, nil
	}
	c, err := LoadCertFile(file)
	if err != nil {
		return nil, err
	}
	ref := NewCertRef(c)
	r.refs[file] = ref
	return ref, nil
}

// LoadPath loads a crt argument: a file or every bundle of a directory.
func (r *Registry) LoadPath(path string) ([]*CertRef, error) {
	files, err := certFiles(path)
	if err != nil {
		return nil, err
	}
	var out []*CertRef
	for _, f := range files {
		ref, err := r.Load(f)
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

// Files lists the certificate files, sorted.
func (r *Registry) Files() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.refs))
	for f := range r.refs {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Get is the current certificate of file, nil when the configuration
// does not use it.
func (r *Registry) Get(file string) *Cert {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ref, ok := r.refs[file]; ok {
		return ref.Load()
	}
	return nil
}

// CertTx is a pending replacement of a certificate file.
type CertTx struct {
	File  string
	Certs []*x509.Certificate
	Key   crypto.Signer // nil when the payload had none
}

// Preview is the transaction's certificate for display: the leaf is the
// certificate matching the key, else the first one.
func (tx *CertTx) Preview() *Cert {
	c := &Cert{File: tx.File}
	leaf := 0
	for i, x := range tx.Certs {
		if tx.Key != nil && publicKeyMatches(x.PublicKey, tx.Key) {
			leaf = i
			break
		}
	}
	c.TLS.Leaf = tx.Certs[leaf]
	c.TLS.Certificate = append(c.TLS.Certificate, tx.Certs[leaf].Raw)
	for i, x := range tx.Certs {
		if i != leaf {
			c.TLS.Certificate = append(c.TLS.Certificate, x.Raw)
		}
	}
	return c
}

// Transaction errors; the runtime API turns them into HAProxy's texts.
var (
	ErrNotReferenced = errors.New("certificate file not referenced by the configuration")
	ErrNoTransaction = errors.New("no ongoing transaction")
	ErrIncomplete    = errors.New("the transaction must contain at least a certificate and a private key")
	ErrKeyMismatch   = errors.New("inconsistencies between private key and certificate")
)

// OtherTxError says that the ongoing transaction is about another file.
type OtherTxError struct{ Current string }

func (e *OtherTxError) Error() string {
	return fmt.Sprintf("the ongoing transaction is about '%s'", e.Current)
}

// PayloadError says that a payload holds no usable PEM data.
type PayloadError struct{ Err error }

func (e *PayloadError) Error() string { return "unable to load the payload: " + e.Err.Error() }
func (e *PayloadError) Unwrap() error { return e.Err }

// Transaction is the pending transaction, nil without one.
func (r *Registry) Transaction() *CertTx {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tx
}

// Set starts (or, for the same file, replaces) the transaction of file
// with a PEM payload: certificate, chain and key, in any order. updated
// reports that a transaction for file existed.
func (r *Registry) Set(file string, payload []byte) (updated bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.refs[file]; !ok {
		return false, ErrNotReferenced
	}
	if r.tx != nil && r.tx.File != file {
		return false, &OtherTxError{r.tx.File}
	}
	certs, key, err := parsePEM(file, payload)
	if err == nil && len(certs) == 0 {
		err = errors.New("no certificate in it")
	}
	if err != nil {
		return false, &PayloadError{err}
	}
	updated = r.tx != nil
	r.tx = &CertTx{File: file, Certs: certs, Key: key}
	return updated, nil
}

// Commit installs the transaction of file for new handshakes. A failed
// commit keeps the transaction, as HAProxy does.
func (r *Registry) Commit(file string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkTx(file); err != nil {
		return err
	}
	tx := r.tx
	if tx.Key == nil {
		return ErrIncomplete
	}
	c, err := buildCert(file, tx.Certs, tx.Key)
	if errors.Is(err, errKeyMismatch) {
		return ErrKeyMismatch
	}
	if err != nil {
		return err
	}
	r.refs[file].replace(c)
	r.tx = nil
	return nil
}

// Abort drops the transaction of file.
func (r *Registry) Abort(file string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.checkTx(file); err != nil {
		return err
	}
	r.tx = nil
	return nil
}

func (r *Registry) checkTx(file string) error {
	if r.tx == nil {
		return ErrNoTransaction
	}
	if r.tx.File != file {
		return &OtherTxError{r.tx.File}
	}
	return nil
}
