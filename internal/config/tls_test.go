package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testBundle writes a self-signed certificate and its key for name and
// returns the bundle's path.
func testBundle(t *testing.T, name string) string {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	f := filepath.Join(t.TempDir(), name+".pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func messages(ds []Diagnostic) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.Error() + "\n")
	}
	return b.String()
}

// TestTLSVersionMerge: a line's version options combine with the global
// ssl-default-*-options as in HAProxy 2.6 (checked side by side): the
// line's min/max win, no-* options add up and are ignored with a warning
// once a min or max is set; nothing left is an error.
func TestTLSVersionMerge(t *testing.T) {
	crt := testBundle(t, "site.test")
	ca := crt // a self-signed CA certificate
	for _, tc := range []struct {
		name, global, line string
		min, max           uint16
		warn, err          string
	}{
		{"default floor", "", "", tls.VersionTLS12, tls.VersionTLS13, "", ""},
		{"global min kept with a line no-sslv3", "ssl-default-bind-options ssl-min-ver TLSv1.3", "no-sslv3", tls.VersionTLS13, tls.VersionTLS13,
			"t.cfg:10: Proxy 'f': no-sslv3/no-tlsv1x are ignored for bind '127.0.0.1:8443'. Use only 'ssl-min-ver' and 'ssl-max-ver' to fix.", ""},
		{"global no-tlsv13 and line no-sslv3 add up", "ssl-default-bind-options no-tlsv13", "no-sslv3", tls.VersionTLS12, tls.VersionTLS12, "", ""},
		{"line min wins over global", "ssl-default-bind-options ssl-min-ver TLSv1.3", "ssl-min-ver TLSv1.2", tls.VersionTLS12, tls.VersionTLS13, "", ""},
		{"line max under global min", "ssl-default-bind-options ssl-min-ver TLSv1.3", "ssl-max-ver TLSv1.2", 0, 0, "",
			"t.cfg:10: Proxy 'f': all SSL/TLS versions are disabled for bind '127.0.0.1:8443'."},
		{"global and line no-* disable all", "ssl-default-bind-options no-tlsv13", "no-tlsv12", 0, 0, "",
			"t.cfg:10: Proxy 'f': all SSL/TLS versions are disabled for bind '127.0.0.1:8443'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := "global\n  " + tc.global + "\n" + base + "frontend f\n  mode http\n  bind 127.0.0.1:8443 ssl crt " + crt + " " + tc.line + "\n"
			cfg, errs := load(t, text)
			if tc.err != "" {
				if !strings.Contains(messages(errs), tc.err) {
					t.Fatalf("errors:\n%s\nwant %q", messages(errs), tc.err)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(messages(errs))
			}
			if got := messages(cfg.Warnings); tc.warn != "" && !strings.Contains(got, tc.warn) || tc.warn == "" && strings.Contains(got, "ignored") {
				t.Errorf("warnings:\n%s\nwant %q", got, tc.warn)
			}
			c := cfg.Proxies[0].Binds[0].SSL.Config
			if c.MinVersion != tc.min || c.MaxVersion != tc.max {
				t.Errorf("versions %x-%x, want %x-%x", c.MinVersion, c.MaxVersion, tc.min, tc.max)
			}
		})
	}
	// The same rules for servers and ssl-default-server-options.
	text := "global\n  ssl-default-server-options ssl-min-ver TLSv1.3\n" + base + "backend b\n" +
		"  server s1 127.0.0.1:1 ssl ca-file " + ca + " no-sslv3\n" +
		"  server s2 127.0.0.1:1 ssl ca-file " + ca + " ssl-max-ver TLSv1.2\n"
	cfg, errs := load(t, text)
	if want := "t.cfg:10: 'server b/s2' : backend 'b': all SSL/TLS versions are disabled for server 's2'."; !strings.Contains(messages(errs), want) {
		t.Errorf("errors:\n%s\nwant %q", messages(errs), want)
	}
	if want := "t.cfg:9: 'server b/s1' : no-sslv3/no-tlsv1x are ignored for this server."; cfg == nil || !strings.Contains(messages(cfg.Warnings), want) {
		t.Errorf("want warning %q", want)
	}
}

// TestServerTLSChecks: check-ssl alone follows 2.6's CA file rule,
// check-sni and check-alpn say when they have no effect, and an ALPN
// list that lets a server choose h2 is refused in HTTP mode.
func TestServerTLSChecks(t *testing.T) {
	ca := testBundle(t, "ca.test")
	noCA := "verify is enabled by default but no CA file specified."
	for _, tc := range []struct {
		name, mode, server, err, warn string
	}{
		{"check-ssl alone", "tcp", "check check-ssl", noCA, ""},
		{"check-ssl without check", "tcp", "check-ssl", noCA, ""},
		{"check-ssl verify none", "tcp", "check check-ssl verify none", "", ""},
		{"check-ssl ca-file", "tcp", "check check-ssl ca-file " + ca + " check-sni a.test", "", ""},
		{"check-sni without TLS checks", "tcp", "check check-sni a.test", "", "'check-sni' has no effect: its health checks do not use TLS (add 'check-ssl')."},
		{"check-sni without checks", "tcp", "ssl verify none check-sni a.test", "", "'check-sni' has no effect: it has no health checks (add 'check')."},
		{"check-alpn with checks on another port", "tcp", "ssl verify none check port 81 check-alpn http/1.1", "", "'check-alpn' has no effect: its health checks do not use TLS (add 'check-ssl')."},
		{"alpn h2 in http mode", "http", "ssl verify none alpn h2,http/1.1", "'alpn h2,http/1.1' offers h2 but halo speaks HTTP/1.1 to servers", ""},
		{"alpn h2 in tcp mode", "tcp", "ssl verify none alpn h2,http/1.1", "", ""},
		{"http checks offering h2", "tcp", "ssl verify none alpn h2 check", "health checks would offer ALPN h2 but halo's HTTP checks speak HTTP/1.1", ""},
		{"http checks with check-alpn", "tcp", "ssl verify none alpn h2 check check-alpn http/1.1", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chk := ""
			if strings.HasPrefix(tc.name, "http checks") {
				chk = "  option httpchk\n"
			}
			cfg, errs := load(t, base+"backend b\n  mode "+tc.mode+"\n"+chk+"  server s 127.0.0.1:443 "+tc.server+"\n")
			if tc.err != "" {
				if !strings.Contains(messages(errs), tc.err) {
					t.Errorf("errors:\n%s\nwant %q", messages(errs), tc.err)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(messages(errs))
			}
			if w := messages(cfg.Warnings); tc.warn != "" && !strings.Contains(w, tc.warn) || tc.warn == "" && strings.Contains(w, "no effect") {
				t.Errorf("warnings:\n%s\nwant %q", w, tc.warn)
			}
		})
	}
	// check-ssl alone builds TLS settings for the checks only.
	cfg, errs := load(t, base+"backend b\n  server s 127.0.0.1:80 check check-ssl verify none check-sni chk.test\n")
	if len(errs) > 0 {
		t.Fatal(messages(errs))
	}
	s := cfg.Proxies[0].Servers[0]
	if !s.ChecksUseTLS() || s.SSL.Enabled || s.SSL.Client == nil || s.SSL.Client.CheckConfig(s.CheckSNI, nil).ServerName != "chk.test" {
		t.Errorf("check-ssl: checks TLS %v, traffic TLS %v, client %v", s.ChecksUseTLS(), s.SSL.Enabled, s.SSL.Client)
	}
}

// TestServerTLSDefaults: ssl-server-verify none is the default of server
// lines without verify, and the no-*/reset options undo what
// default-server set.
func TestServerTLSDefaults(t *testing.T) {
	cfg, errs := load(t, "global\n  ssl-server-verify none\n"+base+"backend b\n  server s 127.0.0.1:443 ssl\n")
	if len(errs) > 0 {
		t.Fatalf("ssl-server-verify none: %s", messages(errs))
	}
	if v := cfg.Proxies[0].Servers[0].SSL.Verify; v != "none" {
		t.Errorf("verify %q", v)
	}
	if _, errs := load(t, "global\n  ssl-server-verify none\n"+base+"backend b\n  server s 127.0.0.1:443 ssl verify required\n"); !strings.Contains(messages(errs), "no CA file specified") {
		t.Errorf("an explicit verify required keeps the CA file rule: %s", messages(errs))
	}
	cfg, errs = load(t, base+"backend b\n  default-server check-ssl verifyhost a.test no-ssl-reuse no-tls-tickets verify none\n"+
		"  server s1 127.0.0.1:443 ssl check\n  server s2 127.0.0.1:443 ssl check no-check-ssl no-verifyhost ssl-reuse tls-tickets\n")
	if len(errs) > 0 {
		t.Fatal(messages(errs))
	}
	s1, s2 := cfg.Proxies[0].Servers[0], cfg.Proxies[0].Servers[1]
	if !s1.CheckSSL || s1.SSL.VerifyHost != "a.test" || !s1.SSL.NoReuse || !s1.SSL.NoTickets || s1.SSL.Config.ClientSessionCache != nil || !s1.SSL.Config.SessionTicketsDisabled {
		t.Errorf("s1 inherits: %+v", s1.SSL)
	}
	if s2.CheckSSL || s2.SSL.VerifyHost != "" || s2.SSL.NoReuse || s2.SSL.NoTickets || s2.SSL.Config.ClientSessionCache == nil {
		t.Errorf("s2 resets: check-ssl %v %+v", s2.CheckSSL, s2.SSL)
	}
}
