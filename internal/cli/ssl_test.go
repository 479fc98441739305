package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/stats"
	"github.com/halo-lb/halo/internal/tlsx"
)

type certTarget struct {
	*fakeTarget
	reg *tlsx.Registry
}

func (c *certTarget) Certificates() *tlsx.Registry { return c.reg }

func bundle(t *testing.T, cn string) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1234), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), NotAfter: time.Date(2036, 1, 2, 3, 4, 5, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
}

// TestSSLCertPayload: a payload after "<<" reaches set ssl cert, in
// one-shot and in prompt mode (each payload line prompted with "+ "),
// and the commit changes what the registry serves.
func TestSSLCertPayload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "site.pem")
	os.WriteFile(file, bundle(t, "old.test"), 0o600)
	reg := tlsx.NewRegistry()
	if _, err := reg.Load(file); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Target: &certTarget{&fakeTarget{state: map[string]stats.AdminState{}, weight: map[string]int{}}, reg}, Timeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, ln, LevelAdmin); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	session := func(input string) string {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, input)
		b, _ := io.ReadAll(c)
		return string(b)
	}
	payload := string(bundle(t, "new.test"))
	if got := session("set ssl cert " + file + " <<\n" + payload + "\n"); got != "Transaction created for certificate "+file+"!\n\n" {
		t.Errorf("one-shot set: %q", got)
	}
	lines := strings.Count(payload, "\n")
	got := session("prompt\nset ssl cert " + file + " <<\n" + payload + "\nshow ssl cert *" + file + "\ncommit ssl cert " + file + "\nquit\n")
	want := "\n> " + strings.Repeat("+ ", lines+1) + "Transaction updated for certificate " + file + "!\n\n> "
	if !strings.HasPrefix(got, want) || !strings.Contains(got, "Filename: *"+file+"\nStatus: Unused\nSerial: 1234\nnotBefore: Jan  2 03:04:05 2026 GMT\n") ||
		!strings.Contains(got, "Subject Alternative Name: DNS:new.test\nAlgorithm: EC256\n") || !strings.Contains(got, "Committing "+file+".\nSuccess!\n") {
		t.Errorf("prompt session:\n%q\nwant prefix %q", got, want)
	}
	if cn := reg.Get(file).TLS.Leaf.Subject.CommonName; cn != "new.test" {
		t.Errorf("after commit the registry serves %q", cn)
	}
	if got := session("show ssl cert " + file + "\n"); !strings.Contains(got, "Status: Used\n") || !strings.Contains(got, "Subject: /CN=new.test\n") {
		t.Errorf("show ssl cert: %q", got)
	}
	if got := session("set ssl cert " + file + "\n"); got != "'set ssl cert expects a filename and a certificate as a payload\n\n" {
		t.Errorf("set without payload: %q", got)
	}
}
