package tlsx

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func selfSigned(t *testing.T, names ...string) ([]byte, []byte) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func TestLoadAndSelect(t *testing.T) {
	dir := t.TempDir()
	c1, k1 := selfSigned(t, "first.test")
	c2, k2 := selfSigned(t, "*.wild.test")
	c3, k3 := selfSigned(t, "sep.test")
	os.WriteFile(filepath.Join(dir, "1.pem"), append(k1, c1...), 0o600) // key before certificate
	os.WriteFile(filepath.Join(dir, "2.pem"), append(c2, k2...), 0o600)
	os.WriteFile(filepath.Join(dir, "3.pem"), c3, 0o600)
	os.WriteFile(filepath.Join(dir, "3.pem.key"), k3, 0o600) // separate key, skipped as a bundle
	certs, err := LoadCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 3 {
		t.Fatalf("loaded %d certificates, want 3", len(certs))
	}
	s := NewStore()
	for _, c := range certs {
		s.Add(c, nil)
	}
	for name, want := range map[string]string{"first.test": "first.test", "x.wild.test": "*.wild.test", "a.b.wild.test": "first.test",
		"SEP.TEST": "sep.test", "other": "first.test", "": "first.test"} {
		if got := s.Get(name, nil).Leaf.Subject.CommonName; got != want {
			t.Errorf("SNI %q -> %q, want %q", name, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	c, _ := selfSigned(t, "a.test")
	_, k := selfSigned(t, "b.test")
	nokey := filepath.Join(dir, "nokey.pem")
	os.WriteFile(nokey, c, 0o600)
	mismatch := filepath.Join(dir, "mismatch.pem")
	os.WriteFile(mismatch, append(c, k...), 0o600)
	for file, want := range map[string]string{
		nokey:                         "no private key found",
		mismatch:                      "does not match any certificate",
		filepath.Join(dir, "missing"): "no such file",
	} {
		if _, err := LoadCertFile(file); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", filepath.Base(file), err, want)
		}
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		enc := filepath.Join(dir, "enc.key")
		if out, err := exec.Command("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:secret", "-out", enc).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
		kd, _ := os.ReadFile(enc)
		bundle := filepath.Join(dir, "enc.pem")
		os.WriteFile(bundle, append(c, kd...), 0o600)
		_, err := LoadCertFile(bundle)
		if !errors.Is(err, ErrEncryptedKey) || !strings.Contains(err.Error(), "openssl pkey -in key.pem -out key-nopass.pem") {
			t.Errorf("encrypted key: %v", err)
		}
	}
}

func TestVersionsAndCiphers(t *testing.T) {
	for _, tc := range []struct {
		min, max string
		no       []string
		lo, hi   uint16
		err      string
	}{
		{"", "", nil, tls.VersionTLS12, tls.VersionTLS13, ""},
		{"", "", []string{"no-sslv3"}, tls.VersionTLS12, tls.VersionTLS13, ""},
		{"TLSv1.0", "", []string{"no-tlsv11"}, 0, 0, "middle of the enabled range"},
		{"SSLv3", "TLSv1.2", nil, tls.VersionTLS10, tls.VersionTLS12, ""},
		{"", "", []string{"no-tlsv12"}, tls.VersionTLS13, tls.VersionTLS13, ""},
		{"TLSv9", "", nil, 0, 0, "expected SSLv3"},
	} {
		lo, hi, err := versions(tc.min, tc.max, tc.no)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: err %v, want %q", tc, err, tc.err)
			}
			continue
		}
		if err != nil || lo != tc.lo || hi != tc.hi {
			t.Errorf("%v: %x-%x %v", tc, lo, hi, err)
		}
	}
	// Mozilla's intermediate list: DHE suites are skipped with a warning.
	ids, warn, err := Ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256", nil)
	if err != nil || len(ids) != 2 || len(warn) != 1 || !strings.Contains(warn[0], "DHE-RSA-AES128-GCM-SHA256") {
		t.Errorf("intermediate list: %v %v %v", ids, warn, err)
	}
	if ids, _, err := Ciphers("HIGH:!aNULL:!MD5", nil); err != nil || ids != nil {
		t.Errorf("keywords keep Go's defaults: %v %v", ids, err)
	}
	if _, _, err := Ciphers("ECDHE-RSA-AES128-GCM-SHA265", nil); err == nil || !strings.Contains(err.Error(), "unknown cipher 'ECDHE-RSA-AES128-GCM-SHA265'") {
		t.Errorf("typo: %v", err)
	}
	if _, _, err := Ciphers("DHE-RSA-AES256-GCM-SHA384", nil); err == nil {
		t.Error("a list Go can offer nothing from must be refused")
	}
}

func FuzzParseCrtList(f *testing.F) {
	f.Add("# comment\ncert.pem\n/abs/other.pem www.example.com !secret.example.com\n")
	f.Add("a.pem [alpn h2] example.com\n")
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := ParseCrtList("list", []byte(s), "/base")
		if err == nil {
			for _, e := range entries {
				if e.File == "" {
					t.Fatal("empty file name")
				}
			}
		}
	})
}

// TestDualCertificates: an ECDSA and an RSA certificate for one name; a
// client that can only verify RSA gets the RSA one.
func TestDualCertificates(t *testing.T) {
	dir := t.TempDir()
	ec, eck := selfSigned(t, "dual.test")
	os.WriteFile(filepath.Join(dir, "1-ec.pem"), append(ec, eck...), 0o600)
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", filepath.Join(dir, "rsa.key"),
		"-out", filepath.Join(dir, "rsa.crt"), "-days", "1", "-subj", "/CN=dual.test", "-addext", "subjectAltName=DNS:dual.test").CombinedOutput()
	if err != nil {
		t.Skipf("openssl: %v %s", err, out)
	}
	kd, _ := os.ReadFile(filepath.Join(dir, "rsa.key"))
	cd, _ := os.ReadFile(filepath.Join(dir, "rsa.crt"))
	os.WriteFile(filepath.Join(dir, "2-rsa.pem"), append(cd, kd...), 0o600)
	os.Remove(filepath.Join(dir, "rsa.key"))
	os.Remove(filepath.Join(dir, "rsa.crt"))
	cfg, _, _, err := ServerConfig(BindOptions{Certs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	for _, tc := range []struct {
		client *tls.Config
		want   string
	}{
		{&tls.Config{ServerName: "dual.test", InsecureSkipVerify: true}, "ECDSA"},
		{&tls.Config{ServerName: "dual.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}, "RSA"},
	} {
		c, err := tls.Dial("tcp", ln.Addr().String(), tc.client)
		if err != nil {
			t.Fatalf("%s client: %v", tc.want, err)
		}
		if got := c.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm.String(); got != tc.want {
			t.Errorf("served a %s certificate, want %s", got, tc.want)
		}
		c.Close()
	}
}
