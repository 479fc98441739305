package health

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/tlsx"
)

// tlsServer serves TLS with a self-signed certificate for name and
// returns its address and the CA file that trusts it.
func tlsServer(t *testing.T, name string) (addr, caFile string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: k}}}
	addr = server(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			io.Copy(io.Discard, tc)
		}
	})
	return addr, caFile
}

// TestTLSCheckResults: check-ssl handshakes report HAProxy's Layer6
// statuses and reasons (compared with haproxy 2.6.12's lines).
func TestTLSCheckResults(t *testing.T) {
	good, caFile := tlsServer(t, "backend.test")
	_, otherCA := tlsServer(t, "other.test")
	plain := server(t, func(c net.Conn) { io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n") })
	silent := server(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	client := func(ca, verifyHost string) *tlsx.Client {
		cl, _, err := tlsx.ClientConfig(tlsx.ClientOptions{CAFile: ca, VerifyHost: verifyHost})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	for _, tc := range []struct {
		name   string
		addr   string
		cfg    *tls.Config
		status string
		desc   string
		info   string
	}{
		{"verified", good, client(caFile, "").CheckConfig("", nil), "L6OK", "Layer6 check passed", ""},
		{"check-sni verified", good, client(caFile, "").CheckConfig("backend.test", nil), "L6OK", "Layer6 check passed", ""},
		{"unknown CA", good, client(otherCA, "").CheckConfig("", nil), "L6RSP", "Layer6 invalid response", "SSL handshake failure"},
		{"verifyhost mismatch", good, client(caFile, "x.test").CheckConfig("", nil), "L6RSP", "Layer6 invalid response", "Server presented an SSL certificate different from the configured one"},
		{"check-sni mismatch", good, client(caFile, "").CheckConfig("x.test", nil), "L6RSP", "Layer6 invalid response", "Server presented an SSL certificate different from the expected one"},
		{"check-sni wins over verifyhost", good, client(caFile, "x.test").CheckConfig("backend.test", nil), "L6OK", "Layer6 check passed", ""},
		{"clear-text server", plain, client(caFile, "").CheckConfig("", nil), "L6RSP", "Layer6 invalid response", "SSL handshake failure"},
		{"silent server", silent, client(caFile, "").CheckConfig("", nil), "L6TOUT", "Layer6 timeout", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Params{Backend: "b", Server: "s", Addr: tc.addr, Inter: 300 * time.Millisecond, TLS: tc.cfg}, nil)
			r := c.check(context.Background())
			if r.Status != tc.status || r.Desc != tc.desc || r.Info != tc.info {
				t.Errorf("got %s %q %q, want %s %q %q", r.Status, r.Desc, r.Info, tc.status, tc.desc, tc.info)
			}
		})
	}
	// An HTTP check over TLS is a Layer7 check.
	c := New(Params{Addr: good, Inter: 300 * time.Millisecond, TLS: client(caFile, "").CheckConfig("", nil),
		Spec: config.CheckSpec{Kind: config.CheckHTTP}}, nil)
	if r := c.check(context.Background()); r.Status != "L7RSP" && r.Status != "L7TOUT" {
		t.Errorf("HTTP check on a TLS server that answers nothing: %s %q", r.Status, r.Info)
	}
}
