package cli

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/halo-lb/halo/internal/tlsx"
)

// CertTarget is implemented by targets whose configuration has TLS
// certificates; the ssl commands use its registry.
type CertTarget interface {
	Certificates() *tlsx.Registry
}

// payloadWriter carries the payload that followed "<<" to the command.
type payloadWriter struct {
	io.Writer
	payload string
}

// readPayload reads payload lines up to an empty line (or the end of
// the input); in prompt mode each line is prompted with "+ " as HAProxy.
func readPayload(br *bufio.Reader, w *bufio.Writer, prompt bool) string {
	var b strings.Builder
	for {
		if prompt {
			w.WriteString("+ ")
			w.Flush()
		}
		l, err := br.ReadString('\n')
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			return b.String()
		}
		b.WriteString(l + "\n")
		if err != nil {
			return b.String()
		}
	}
}

func sslCommands() []command {
	return []command{
		{[]string{"abort", "ssl", "cert"}, "abort ssl cert <certfile>", "abort a transaction for a certificate file", LevelAdmin, cmdAbortCert},
		{[]string{"commit", "ssl", "cert"}, "commit ssl cert <certfile>", "commit a certificate file", LevelAdmin, cmdCommitCert},
		{[]string{"set", "ssl", "cert"}, "set ssl cert <certfile> <payload>", "replace a certificate file", LevelAdmin, cmdSetCert},
		{[]string{"show", "ssl", "cert"}, "show ssl cert [<certfile>]", "display the SSL certificates used in memory, or the details of a file", LevelOperator, cmdShowCert},
	}
}

func (s *Server) registry() *tlsx.Registry {
	if ct, ok := s.Target.(CertTarget); ok {
		if r := ct.Certificates(); r != nil {
			return r
		}
	}
	return tlsx.NewRegistry() // no TLS certificate in the configuration
}

// The replies below are HAProxy 2.6's, taken from its stats socket.

func cmdSetCert(s *Server, w io.Writer, args []string) string {
	pw, ok := w.(*payloadWriter)
	if len(args) < 4 || !ok {
		return "'set ssl cert expects a filename and a certificate as a payload\n\n"
	}
	file := args[3]
	updated, err := s.registry().Set(file, []byte(pw.payload))
	var other *tlsx.OtherTxError
	var pe *tlsx.PayloadError
	switch {
	case errors.Is(err, tlsx.ErrNotReferenced):
		return "Can't replace a certificate which is not referenced by the configuration!\nCan't update " + file + "!\n\n"
	case errors.As(err, &other):
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't update %s!\n\n", other.Current, file, file)
	case errors.As(err, &pe):
		return fmt.Sprintf("unable to load certificate from file '%s'.\nCan't load the payload\nCan't update %s!\n\n", file, file)
	case err != nil:
		return err.Error() + "\nCan't update " + file + "!\n\n"
	case updated:
		return "Transaction updated for certificate " + file + "!\n\n"
	}
	return "Transaction created for certificate " + file + "!\n\n"
}

func cmdCommitCert(s *Server, _ io.Writer, args []string) string {
	if len(args) < 4 {
		return "'commit ssl cert expects a filename\n\n"
	}
	file := args[3]
	err := s.registry().Commit(file)
	var other *tlsx.OtherTxError
	switch {
	case errors.Is(err, tlsx.ErrNoTransaction):
		return "No ongoing transaction! !\nCan't commit " + file + "!\n\n"
	case errors.As(err, &other):
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't commit %s!\n\n", other.Current, file, file)
	case errors.Is(err, tlsx.ErrIncomplete):
		return "The transaction must contain at least a certificate and a private key!\nCan't commit " + file + "!\n\n"
	case errors.Is(err, tlsx.ErrKeyMismatch):
		return fmt.Sprintf("inconsistencies between private key and certificate loaded '%s'.\nCan't commit %s!\n\n", file, file)
	case err != nil:
		return err.Error() + "\nCan't commit " + file + "!\n\n"
	}
	return "Committing " + file + ".\nSuccess!\n\n"
}

func cmdAbortCert(s *Server, _ io.Writer, args []string) string {
	if len(args) < 4 {
		return "'abort ssl cert' expects a filename\n\n"
	}
	file := args[3]
	err := s.registry().Abort(file)
	var other *tlsx.OtherTxError
	switch {
	case errors.Is(err, tlsx.ErrNoTransaction):
		return "No ongoing transaction!\n\n"
	case errors.As(err, &other):
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to abort a transaction for '%s'\n\n", other.Current, file)
	case err != nil:
		return err.Error() + "\n\n"
	}
	return "Transaction aborted for certificate '" + file + "'!\n\n"
}

func cmdShowCert(s *Server, _ io.Writer, args []string) string {
	reg := s.registry()
	tx := reg.Transaction()
	if len(args) < 4 {
		var b strings.Builder
		if tx != nil {
			b.WriteString("# transaction\n*" + tx.File + "\n")
		}
		b.WriteString("# filename\n")
		for _, f := range reg.Files() {
			b.WriteString(f + "\n")
		}
		return b.String() + "\n"
	}
	name := args[3]
	if f, ok := strings.CutPrefix(name, "*"); ok {
		if tx == nil || tx.File != f {
			return "Can't display the certificate: Not found or the certificate is a bundle!\n\n"
		}
		return certDetails(name, "Unused", tx.Preview())
	}
	c := reg.Get(name)
	if c == nil {
		return "Can't display the certificate: Not found or the certificate is a bundle!\n\n"
	}
	return certDetails(name, "Used", c)
}

// certDetails is `show ssl cert <file>` in HAProxy 2.6's layout.
func certDetails(name, status string, c *tlsx.Cert) string {
	leaf := c.TLS.Leaf
	var b strings.Builder
	fmt.Fprintf(&b, "Filename: %s\nStatus: %s\n", name, status)
	fmt.Fprintf(&b, "Serial: %s\n", strings.ToUpper(hex.EncodeToString(leaf.SerialNumber.Bytes())))
	fmt.Fprintf(&b, "notBefore: %s\nnotAfter: %s\n", leaf.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT"), leaf.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"))
	if san, ok := sanLine(leaf); ok {
		fmt.Fprintf(&b, "Subject Alternative Name: %s\n", san)
	}
	fmt.Fprintf(&b, "Algorithm: %s\n", keyAlgorithm(leaf))
	sum := sha1.Sum(leaf.Raw)
	fmt.Fprintf(&b, "SHA1 FingerPrint: %s\n", strings.ToUpper(hex.EncodeToString(sum[:])))
	fmt.Fprintf(&b, "Subject: %s\nIssuer: %s\n", tlsx.DN(leaf.Subject), tlsx.DN(leaf.Issuer))
	for _, der := range c.TLS.Certificate[1:] {
		if ch, err := x509.ParseCertificate(der); err == nil {
			fmt.Fprintf(&b, "Chain Subject: %s\nChain Issuer: %s\n", tlsx.DN(ch.Subject), tlsx.DN(ch.Issuer))
		}
	}
	b.WriteString("OCSP Response Key: \n\n")
	return b.String()
}

var oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}

// sanLine lists the subject alternative names in certificate order as
// HAProxy prints them: "DNS:name" for DNS names, nothing for the other
// kinds, separated by ", ".
func sanLine(c *x509.Certificate) (string, bool) {
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidSAN) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &names); err != nil {
			return "", false
		}
		parts := make([]string, len(names))
		for i, n := range names {
			if n.Class == asn1.ClassContextSpecific && n.Tag == 2 {
				parts[i] = "DNS:" + string(n.Bytes)
			}
		}
		return strings.Join(parts, ", "), true
	}
	return "", false
}

func keyAlgorithm(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return fmt.Sprintf("EC%d", k.Curve.Params().BitSize)
	case ed25519.PublicKey:
		return "ED25519"
	}
	return c.PublicKeyAlgorithm.String()
}
