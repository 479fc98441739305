package tlsx

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// OpenSSL's X509 verification error codes (x509_vfy.h): the values
// HAProxy's ssl_c_verify, ssl_c_err and ssl_c_ca_err return and that
// ca-ignore-err and crt-ignore-err list.
const (
	codeUnableToGetCRL         = 3
	codeCertSignatureFailure   = 7
	codeCertNotYetValid        = 9
	codeCertHasExpired         = 10
	codeCRLNotYetValid         = 11
	codeCRLHasExpired          = 12
	codeDepthZeroSelfSigned    = 18
	codeSelfSignedInChain      = 19
	codeUnableToGetIssuerLocal = 20
	codeUnableToVerifyLeaf     = 21
	codeCertRevoked            = 23
	codeInvalidCA              = 24
	codePathLengthExceeded     = 25
	codeInvalidPurpose         = 26
	codePermittedViolation     = 47

	maxVerifyError = 94 // the highest ID HAProxy 2.6 accepts in *-ignore-err
)

// IgnoreSet is a ca-ignore-err / crt-ignore-err setting.
type IgnoreSet struct {
	All   bool
	Codes map[int]bool
}

func (s IgnoreSet) has(code int) bool { return s.All || s.Codes[code] }

// ParseIgnoreErr reads "all" or a comma-separated list of error IDs.
func ParseIgnoreErr(v string) (IgnoreSet, error) {
	if v == "all" {
		return IgnoreSet{All: true}, nil
	}
	s := IgnoreSet{Codes: map[int]bool{}}
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > maxVerifyError {
			return s, fmt.Errorf("ID '%s' out of range (1..%d) in error IDs list '%s'", f, maxVerifyError, v)
		}
		s.Codes[n] = true
	}
	return s, nil
}

// Verdict is the outcome of a client certificate verification, as
// HAProxy's fetches report it.
type Verdict struct {
	Result  int // ssl_c_verify: the last error met (0 when none)
	CertErr int // ssl_c_err: the first error on the client certificate itself
	CAErr   int // ssl_c_ca_err: the first error on its chain
	CADepth int // ssl_c_ca_err_depth
}

// VerifyError is a client certificate verification failure that was not
// ignored; it aborts the handshake.
type VerifyError struct {
	Code, Depth int
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("client certificate verification failed at depth %d: error %d (%s)", e.Depth, e.Code, verifyText(e.Code))
}

func verifyText(code int) string {
	switch code {
	case codeUnableToGetCRL:
		return "unable to get certificate CRL"
	case codeCertSignatureFailure:
		return "certificate signature failure"
	case codeCertNotYetValid:
		return "certificate is not yet valid"
	case codeCertHasExpired:
		return "certificate has expired"
	case codeCRLNotYetValid:
		return "CRL is not yet valid"
	case codeCRLHasExpired:
		return "CRL has expired"
	case codeDepthZeroSelfSigned:
		return "self-signed certificate"
	case codeSelfSignedInChain:
		return "self-signed certificate in certificate chain"
	case codeUnableToGetIssuerLocal:
		return "unable to get local issuer certificate"
	case codeUnableToVerifyLeaf:
		return "unable to verify the first certificate"
	case codeCertRevoked:
		return "certificate revoked"
	case codeInvalidCA:
		return "invalid CA certificate"
	case codePathLengthExceeded:
		return "path length constraint exceeded"
	case codeInvalidPurpose:
		return "unsupported certificate purpose"
	case codePermittedViolation:
		return "permitted subtree violation"
	}
	return "verification error"
}

// clientVerifier checks client certificates as HAProxy does with
// OpenSSL: the chain must reach a certificate of ca-file; with a
// crl-file, every certificate of the chain needs a valid CRL from its
// issuer (OpenSSL's CRL_CHECK_ALL); validity dates are checked on the
// whole chain. Errors listed in ca-ignore-err (chain) or crt-ignore-err
// (the client certificate) do not abort the handshake.
type clientVerifier struct {
	roots     []*x509.Certificate
	pool      *x509.CertPool
	crls      []*x509.RevocationList // nil: no CRL checks
	caIgnore  IgnoreSet
	crtIgnore IgnoreSet
	now       func() time.Time
}

type verr struct{ code, depth int }

// verify checks a client's certificates (leaf first).
func (v *clientVerifier) verify(certs []*x509.Certificate) (Verdict, error) {
	errs := v.errors(certs)
	var vd Verdict
	for _, e := range errs {
		vd.Result = e.code
		ignore := v.crtIgnore
		if e.depth == 0 {
			if vd.CertErr == 0 {
				vd.CertErr = e.code
			}
		} else {
			if vd.CAErr == 0 {
				vd.CAErr, vd.CADepth = e.code, e.depth
			}
			ignore = v.caIgnore
		}
		if !ignore.has(e.code) {
			return vd, &VerifyError{Code: e.code, Depth: e.depth}
		}
	}
	return vd, nil
}

// errors lists the verification errors in the order OpenSSL meets them:
// chain building, purpose, revocation, then signatures and dates from
// the top of the chain down.
func (v *clientVerifier) errors(certs []*x509.Certificate) []verr {
	now := v.now()
	var errs []verr
	chain, trusted := v.buildChain(certs)
	top := len(chain) - 1
	if !trusted {
		switch {
		case isSelfSigned(chain[top]) && top == 0:
			errs = append(errs, verr{codeDepthZeroSelfSigned, 0})
		case isSelfSigned(chain[top]):
			errs = append(errs, verr{codeSelfSignedInChain, top})
		default:
			errs = append(errs, verr{codeUnableToGetIssuerLocal, top})
			if top == 0 {
				errs = append(errs, verr{codeUnableToVerifyLeaf, 0})
			}
		}
	}
	if leaf := chain[0]; len(leaf.ExtKeyUsage) > 0 || len(leaf.UnknownExtKeyUsage) > 0 {
		ok := false
		for _, u := range leaf.ExtKeyUsage {
			ok = ok || u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny
		}
		if !ok {
			errs = append(errs, verr{codeInvalidPurpose, 0})
		}
	}
	if trusted && v.crls != nil {
		for i, c := range chain {
			issuer := c
			if i < top {
				issuer = chain[i+1]
			}
			errs = append(errs, v.crlErrors(c, issuer, i, now)...)
		}
	}
	for i := top; i >= 0; i-- {
		switch c := chain[i]; {
		case now.Before(c.NotBefore):
			errs = append(errs, verr{codeCertNotYetValid, i})
		case now.After(c.NotAfter):
			errs = append(errs, verr{codeCertHasExpired, i})
		}
	}
	if trusted && len(errs) == 0 {
		// Go's own verification as a backstop (basic and name
		// constraints, path length...), with the time the chain allows.
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: v.pool, Intermediates: inter, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			errs = append(errs, verr{goVerifyCode(err), 0})
		}
	}
	return errs
}

func goVerifyCode(err error) int {
	var ci x509.CertificateInvalidError
	if errors.As(err, &ci) {
		switch ci.Reason {
		case x509.NotAuthorizedToSign:
			return codeInvalidCA
		case x509.TooManyIntermediates:
			return codePathLengthExceeded
		case x509.CANotAuthorizedForThisName:
			return codePermittedViolation
		case x509.IncompatibleUsage:
			return codeInvalidPurpose
		case x509.Expired:
			return codeCertHasExpired
		}
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return codeUnableToGetIssuerLocal
	}
	return codeCertSignatureFailure
}

// buildChain follows issuers from the leaf through the certificates the
// client sent to a certificate of ca-file.
func (v *clientVerifier) buildChain(certs []*x509.Certificate) ([]*x509.Certificate, bool) {
	chain := []*x509.Certificate{certs[0]}
	for len(chain) < 10 {
		cur := chain[len(chain)-1]
		for _, r := range v.roots {
			if bytes.Equal(r.Raw, cur.Raw) {
				return chain, true
			}
		}
		for _, r := range v.roots {
			if bytes.Equal(r.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(r) == nil {
				return append(chain, r), true
			}
		}
		if isSelfSigned(cur) {
			return chain, false
		}
		var next *x509.Certificate
		for _, c := range certs[1:] {
			if bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			return chain, false
		}
		chain = append(chain, next)
	}
	return chain, false
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// crlErrors checks c against the CRLs of its issuer.
func (v *clientVerifier) crlErrors(c, issuer *x509.Certificate, depth int, now time.Time) []verr {
	for _, l := range v.crls {
		if !bytes.Equal(l.RawIssuer, c.RawIssuer) || l.CheckSignatureFrom(issuer) != nil {
			continue // another issuer's, or forged: OpenSSL does not use it
		}
		switch {
		case now.Before(l.ThisUpdate):
			return []verr{{codeCRLNotYetValid, depth}}
		case !l.NextUpdate.IsZero() && now.After(l.NextUpdate):
			return []verr{{codeCRLHasExpired, depth}}
		}
		for _, e := range l.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return []verr{{codeCertRevoked, depth}}
			}
		}
		return nil
	}
	return []verr{{codeUnableToGetCRL, depth}}
}

// loadCRLs reads the CRLs of a PEM (or DER) file.
func loadCRLs(file string) ([]*x509.RevocationList, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("unable to load CRL file '%s': %w", file, err)
	}
	var ders [][]byte
	for rest := data; ; {
		var b []byte
		if b, rest = pemBlock(rest, "X509 CRL"); b == nil {
			break
		}
		ders = append(ders, b)
	}
	if len(ders) == 0 {
		ders = [][]byte{data}
	}
	var out []*x509.RevocationList
	for _, d := range ders {
		l, err := x509.ParseRevocationList(d)
		if err != nil {
			return nil, fmt.Errorf("unable to load CRL file '%s': %w", file, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// VerdictConn is a client connection that remembers the verdict on its
// client certificate. Listeners verifying clients wrap accepted
// connections in it before the TLS handshake (WrapConn); the *tls.Conn
// built on it gives it back (VerdictOf).
type VerdictConn struct {
	net.Conn
	v atomic.Pointer[Verdict]
}

// WrapConn prepares a raw connection for a TLS server handshake.
func WrapConn(c net.Conn) net.Conn { return &VerdictConn{Conn: c} }

// CloseWrite half-closes the underlying connection.
func (v *VerdictConn) CloseWrite() error {
	if cw, ok := v.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SyscallConn gives the underlying socket (TCP_INFO for timeouts, ...).
func (v *VerdictConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := v.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// VerdictOf is the verdict on the client certificate of a TLS server
// connection built on WrapConn, nil without one.
func VerdictOf(tc *tls.Conn) *Verdict {
	if vc, ok := tc.NetConn().(*VerdictConn); ok {
		return vc.v.Load()
	}
	return nil
}

// withVerifier makes cfg verify client certificates with v, per
// connection (GetConfigForClient), recording the verdict on the
// connection when it was wrapped by WrapConn.
func withVerifier(cfg *tls.Config, v *clientVerifier) {
	cfg.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		c := cfg.Clone()
		c.GetConfigForClient = nil
		vc, _ := h.Conn.(*VerdictConn)
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil // verify optional without a certificate (required is Go's check)
			}
			vd, err := v.verify(cs.PeerCertificates)
			if vc != nil {
				vc.v.Store(&vd)
			}
			return err
		}
		return c, nil
	}
}
