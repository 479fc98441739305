package tlsx

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"strings"
)

// Info describes an established TLS connection the way HAProxy's ssl_*
// fetches do. It implements acl.SSLInfo.
type Info struct {
	State tls.ConnectionState
	// Verdict is the verification of the client certificate (nil when
	// none was verified).
	Verdict *Verdict
}

// NewInfo describes a TLS server connection (built on WrapConn for the
// client certificate verdict).
func NewInfo(tc *tls.Conn) *Info {
	return &Info{State: tc.ConnectionState(), Verdict: VerdictOf(tc)}
}

// SNI is ssl_fc_sni.
func (i *Info) SNI() string { return i.State.ServerName }

// Protocol is ssl_fc_protocol ("TLSv1.3").
func (i *Info) Protocol() string { return VersionName(i.State.Version) }

// Cipher is ssl_fc_cipher, in OpenSSL's naming.
func (i *Info) Cipher() string { return CipherName(i.State.CipherSuite) }

// Resumed is ssl_fc_is_resumed.
func (i *Info) Resumed() bool { return i.State.DidResume }

// ClientCertUsed is ssl_c_used.
func (i *Info) ClientCertUsed() bool { return len(i.State.PeerCertificates) > 0 }

// ClientVerify is ssl_c_verify: the last verification error of the
// client certificate (one that ca-ignore-err or crt-ignore-err let
// through), 0 when it verified or there is none.
func (i *Info) ClientVerify() int {
	if i.Verdict == nil {
		return 0
	}
	return i.Verdict.Result
}

// ClientErr is ssl_c_err: the first error on the client certificate.
func (i *Info) ClientErr() int {
	if i.Verdict == nil {
		return 0
	}
	return i.Verdict.CertErr
}

// ClientCAErr is ssl_c_ca_err: the first error on the client's chain.
func (i *Info) ClientCAErr() int {
	if i.Verdict == nil {
		return 0
	}
	return i.Verdict.CAErr
}

// ClientSubjectDN is ssl_c_s_dn in OpenSSL's one-line form.
func (i *Info) ClientSubjectDN() string {
	if !i.ClientCertUsed() {
		return ""
	}
	return DN(i.State.PeerCertificates[0].Subject)
}

// ClientIssuerDN is ssl_c_i_dn.
func (i *Info) ClientIssuerDN() string {
	if !i.ClientCertUsed() {
		return ""
	}
	return DN(i.State.PeerCertificates[0].Issuer)
}

// VersionName is OpenSSL's name of a TLS version.
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "unknown"
}

// CipherName is OpenSSL's name of a suite (TLS 1.3 suites keep their
// IANA names, as OpenSSL prints them).
func CipherName(id uint16) string {
	for n, v := range opensslCiphers {
		if v == id {
			return n
		}
	}
	return tls.CipherSuiteName(id)
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

var oidNames = map[string]string{"2.5.4.6": "C", "2.5.4.8": "ST", "2.5.4.7": "L", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.3": "CN", "1.2.840.113549.1.9.1": "emailAddress", "2.5.4.5": "serialNumber", "0.9.2342.19200300.100.1.25": "DC"}

// DN renders a name as OpenSSL's X509_NAME_oneline: /C=FR/O=Org/CN=name.
func DN(n pkix.Name) string {
	var b strings.Builder
	for _, rdn := range n.ToRDNSequence() {
		for _, atv := range rdn {
			key := oidNames[atv.Type.String()]
			if key == "" {
				key = atv.Type.String()
			}
			b.WriteString("/" + key + "=")
			if s, ok := atv.Value.(string); ok {
				b.WriteString(s)
			} else if raw, err := asn1.Marshal(atv.Value); err == nil {
				b.Write(raw)
			}
		}
	}
	return b.String()
}

// pemBlock returns the DER of the next PEM block of type typ in data.
func pemBlock(data []byte, typ string) ([]byte, []byte) {
	for {
		b, rest := pem.Decode(data)
		if b == nil {
			return nil, nil
		}
		if b.Type == typ {
			return b.Bytes, rest
		}
		data = rest
	}
}
