package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pki issues the certificates of the TLS tests: a CA, then server and
// client certificates (ECDSA P-256 or RSA 2048, wildcards, expired ones)
// and CRLs, all written under dir.
type pki struct {
	t      *testing.T
	dir    string
	ca     *x509.Certificate
	key    crypto.Signer
	caFile string
	serial atomic.Int64
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{t: t, dir: t.TempDir(), key: key}
	p.ca, _ = x509.ParseCertificate(der)
	p.serial.Store(100)
	p.caFile = p.write(strings.ReplaceAll(name, " ", "-")+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return p
}

func (p *pki) write(name string, data []byte) string {
	f := filepath.Join(p.dir, name)
	if err := os.WriteFile(f, data, 0o600); err != nil {
		p.t.Fatal(err)
	}
	return f
}

// certOpts describes one certificate to issue.
type certOpts struct {
	file    string
	names   []string // DNS names; the first is the CN
	rsa     bool
	client  bool
	expired bool
}

// issue writes a bundle (certificate then key) and returns its path and
// the certificate.
func (p *pki) issue(o certOpts) (string, *x509.Certificate) {
	p.t.Helper()
	var pub any
	var keyPEM []byte
	if o.rsa {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		pub = &k.PublicKey
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	} else {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub = &k.PublicKey
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	nb, na := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if o.expired {
		nb, na = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial.Add(1)), Subject: pkix.Name{CommonName: o.names[0], Organization: []string{"Test"}},
		NotBefore: nb, NotAfter: na, DNSNames: o.names, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if o.client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, pub, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return p.write(o.file, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM...)), c
}

// crl writes a CRL of the CA revoking the given certificates; an
// expired one has a nextUpdate in the past.
func (p *pki) crl(file string, expired bool, revoked ...*x509.Certificate) string {
	p.t.Helper()
	this, next := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if expired {
		this, next = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	}
	var ents []x509.RevocationListEntry
	for _, r := range revoked {
		ents = append(ents, x509.RevocationListEntry{SerialNumber: r.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(p.serial.Add(1)), ThisUpdate: this, NextUpdate: next,
		RevokedCertificateEntries: ents}, p.ca, p.key)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.write(file, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

func (p *pki) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return pool
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

// sClient runs `openssl s_client -connect addr args...` with an empty
// stdin and returns what it printed.
func sClient(t *testing.T, addr string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", addr}, args...)...)
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// protoOf is the protocol openssl negotiated ("New, TLSv1.3, Cipher is
// ..."), "" when the handshake failed ("New, (NONE), Cipher is (NONE)").
func protoOf(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "New, "); ok && !strings.HasPrefix(v, "(NONE)") {
			return strings.TrimSuffix(strings.Fields(v)[0], ",")
		}
	}
	return ""
}

// haproxyBin is the real haproxy used side by side, "" when absent.
func haproxyBin() string {
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy"
	}
	return ""
}

// sideBySide runs probe against halo, then against the real haproxy
// with the same configuration (when installed), one after the other on
// the same ports.
func sideBySide(t *testing.T, cfgText, addr string, probe func(t *testing.T, bin string)) {
	t.Helper()
	f := writeConfig(t, cfgText)
	bins := []string{haloBin}
	if hb := haproxyBin(); hb != "" {
		bins = append(bins, hb)
	}
	for _, bin := range bins {
		name := filepath.Base(bin)
		t.Run(name, func(t *testing.T) {
			h := startProc(t, bin, addr, nil, nil, "-db", "-f", f)
			probe(t, name)
			h.cmd.Process.Kill()
			<-h.done
		})
	}
}

// TestTLSVersionDefaults: the global ssl-default-bind-options merge with
// a bind line's own version options as in HAProxy, on live listeners
// probed with openssl s_client -tls1_2 / -tls1_3 and, for the floor, a
// TLS 1.0 client (SECLEVEL=0 so that openssl offers it at all) that must
// be answered with a protocol_version alert.
func TestTLSVersionDefaults(t *testing.T) {
	needTools(t, "openssl")
	p := newPKI(t, "Version CA")
	crt, _ := p.issue(certOpts{file: "site.pem", names: []string{"site.test"}})
	ports := []int{freePort(t), freePort(t), freePort(t)}
	cfg := fmt.Sprintf(`global
    ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d ssl crt %s no-sslv3
    bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.2
    bind 127.0.0.1:%d ssl crt %s ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.2
    http-request return status 200 content-type text/plain string ok
`, ports[0], crt, ports[1], crt, ports[2], crt)
	// Per listener: the protocol openssl gets with -tls1_2 and -tls1_3.
	want := [][2]string{{"", "TLSv1.3"}, {"TLSv1.2", "TLSv1.3"}, {"TLSv1.2", ""}}
	sideBySide(t, cfg, fmt.Sprintf("127.0.0.1:%d", ports[0]), func(t *testing.T, bin string) {
		for i, port := range ports {
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			for j, v := range []string{"-tls1_2", "-tls1_3"} {
				out := sClient(t, addr, v)
				if got := protoOf(out); got != want[i][j] {
					t.Errorf("%s bind %d %s: negotiated %q, want %q\n%s", bin, i, v, got, want[i][j], out)
				}
				if want[i][j] == "" && !strings.Contains(out, "alert protocol version") {
					t.Errorf("%s bind %d %s: refusal without a protocol_version alert:\n%s", bin, i, v, out)
				}
			}
		}
		// The TLS 1.2 default floor: a TLS 1.0 client gets an alert.
		out := sClient(t, fmt.Sprintf("127.0.0.1:%d", ports[1]), "-tls1", "-cipher", "DEFAULT@SECLEVEL=0")
		if protoOf(out) != "" || !strings.Contains(out, "alert protocol version") {
			t.Errorf("%s: TLS 1.0 client:\n%s", bin, out)
		}
	})
}

// tlsApp is an HTTPS server for the server-side tests: it records the
// SNI and the client port of each request.
type tlsApp struct {
	addr     string
	mu       sync.Mutex
	sni      map[string]string // client address -> SNI seen on that connection
	requests int
	resumed  int
	hits     atomic.Int32
}

func startTLSApp(t *testing.T, bundle string, alpn ...string) *tlsApp {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(bundle, bundle)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &tlsApp{addr: ln.Addr().String(), sni: map[string]string{}}
	if len(alpn) == 0 {
		alpn = []string{"http/1.1"}
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		a.mu.Lock()
		if prev, ok := a.sni[r.RemoteAddr]; ok && prev != r.TLS.ServerName {
			a.sni[r.RemoteAddr] = prev + "+" + r.TLS.ServerName
		} else {
			a.sni[r.RemoteAddr] = r.TLS.ServerName
		}
		a.requests++
		if r.TLS.DidResume {
			a.resumed++
		}
		a.mu.Unlock()
		fmt.Fprintf(w, "app sni=%s proto=%s resumed=%v", r.TLS.ServerName, r.TLS.NegotiatedProtocol, r.TLS.DidResume)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: alpn}, ErrorLog: nil}
	hs.ErrorLog = nil
	go hs.ServeTLS(ln, "", "")
	t.Cleanup(func() { hs.Close() })
	return a
}

// keepAlive sends requests on one client connection and returns the
// answers' bodies.
func keepAlive(t *testing.T, addr string, hosts ...string) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var out []string
	for _, h := range hosts {
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", h)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request for %s: %v", h, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	return out
}

// TestTLSServerSNI: with `sni req.hdr(host)` the server certificate is
// verified against the SNI sent (HAProxy 2.6 does so when verifyhost is
// not set, and prefers the SNI to verifyhost); idle server connections
// are reused only for the same SNI.
func TestTLSServerSNI(t *testing.T) {
	p := newPKI(t, "SNI CA")
	bundle, _ := p.issue(certOpts{file: "backend.pem", names: []string{"backend.test", "alt.test"}})
	app := startTLSApp(t, bundle)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, fmt.Sprintf(`defaults
    mode http
    retries 0
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    use_backend fixed if { path_beg /fixed }
    default_backend byhost
backend byhost
    http-reuse always
    server s %s ssl ca-file %s sni req.hdr(host)
backend fixed
    server s %s ssl ca-file %s sni str(backend.test) verifyhost other.test
`, port, app.addr, p.caFile, app.addr, p.caFile), addr)
	for _, tc := range []struct{ host, want string }{
		{"backend.test", "200 app sni=backend.test"},
		{"evil.test", "503 "},
		{"alt.test", "200 app sni=alt.test"},
	} {
		got := keepAlive(t, addr, tc.host)[0]
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("Host %s: %q, want %q", tc.host, got, tc.want)
		}
	}
	if got := oneShot(t, addr, "GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.Contains(got, "app sni=backend.test") {
		t.Errorf("sni str() with another verifyhost (the SNI wins): %q", got)
	}
	// Alternate the SNI on one client connection: every server
	// connection must have seen a single SNI, and the pool is used.
	app.mu.Lock()
	app.sni, app.requests = map[string]string{}, 0
	app.mu.Unlock()
	hosts := []string{"backend.test", "alt.test", "backend.test", "alt.test", "backend.test", "alt.test"}
	for i, got := range keepAlive(t, addr, hosts...) {
		if want := "200 app sni=" + hosts[i]; !strings.HasPrefix(got, want) {
			t.Errorf("request %d: %q, want %q", i, got, want)
		}
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	for conn, sni := range app.sni {
		if strings.Contains(sni, "+") {
			t.Errorf("server connection %s carried several SNIs: %s", conn, sni)
		}
	}
	if len(app.sni) >= len(hosts) {
		t.Errorf("%d server connections for %d requests: idle connections were not reused", len(app.sni), len(hosts))
	}
}

// TestTLSServerCertFailures: a server whose certificate has expired, and
// one whose certificate does not chain to ca-file, get no request (503)
// and their health checks fail with HAProxy's Layer6 reason line.
func TestTLSServerCertFailures(t *testing.T) {
	p := newPKI(t, "Failures CA")
	expired, _ := p.issue(certOpts{file: "expired.pem", names: []string{"backend.test"}, expired: true})
	other := newPKI(t, "Other CA")
	foreign, _ := other.issue(certOpts{file: "foreign.pem", names: []string{"backend.test"}})
	good, _ := p.issue(certOpts{file: "good.pem", names: []string{"backend.test"}})
	e, f, g := startTLSApp(t, expired), startTLSApp(t, foreign), startTLSApp(t, good)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h := startHalo(t, fmt.Sprintf(`defaults
    mode http
    retries 0
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    use_backend %%[req.hdr(x-be)]
backend be_expired
    server s %s ssl ca-file %s check inter 300ms
backend be_foreign
    server s %s ssl ca-file %s check inter 300ms
backend be_good
    option log-health-checks
    server s %s ssl ca-file %s verifyhost backend.test check inter 300ms
`, port, e.addr, p.caFile, f.addr, p.caFile, g.addr, p.caFile), addr)
	for _, be := range []string{"be_expired", "be_foreign", "be_good"} {
		want := "HTTP/1.1 503 "
		if be == "be_good" {
			want = "HTTP/1.1 200 "
		}
		if got := oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nX-Be: "+be+"\r\n\r\n"); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q", be, got)
		}
	}
	waitFor(t, "both bad servers DOWN with their reason", 15*time.Second, func() bool {
		out := h.stderr.String()
		return strings.Contains(out, `Server be_expired/s is DOWN, reason: Layer6 invalid response, info: "SSL handshake failure", check duration: `) &&
			strings.Contains(out, `Server be_foreign/s is DOWN, reason: Layer6 invalid response, info: "SSL handshake failure", check duration: `)
	})
	waitFor(t, "the good server's Layer6 check", 15*time.Second, func() bool {
		return strings.Contains(h.stderr.String(), "Health check for server be_good/s succeeded, reason: Layer6 check passed")
	})
	if e.hits.Load()+f.hits.Load() != 0 {
		t.Errorf("servers that failed verification got %d requests", e.hits.Load()+f.hits.Load())
	}
}

// TestTLSCiphers: `ciphers` narrows what a live listener accepts (as the
// same string does in haproxy, probed with openssl -cipher); a misspelt
// cipher and a string leaving no suite are errors with file:line, a
// cipher Go does not implement a warning naming it.
func TestTLSCiphers(t *testing.T) {
	needTools(t, "openssl")
	p := newPKI(t, "Cipher CA")
	ec, _ := p.issue(certOpts{file: "ec.pem", names: []string{"site.test"}})
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d ssl crt %s ssl-max-ver TLSv1.2 ciphers ECDHE+AESGCM+AES128:DHE-RSA-AES128-GCM-SHA256
    http-request return status 200 content-type text/plain string ok
`, port, ec)
	sideBySide(t, cfg, addr, func(t *testing.T, bin string) {
		if out := sClient(t, addr, "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"); protoOf(out) != "TLSv1.2" {
			t.Errorf("%s: listed cipher refused:\n%s", bin, out)
		}
		if out := sClient(t, addr, "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"); protoOf(out) != "" || !strings.Contains(out, "alert handshake failure") {
			t.Errorf("%s: a cipher outside the list was not refused with a handshake_failure alert:\n%s", bin, out)
		}
	})
	for _, tc := range []struct {
		ciphers string
		rc      int
		want    string
	}{
		{"ECDHE-ECDSA-AES128-GCM-SHA265", 1, ":7: 'bind' : unknown cipher 'ECDHE-ECDSA-AES128-GCM-SHA265' in"},
		{"DHE+AESGCM:CAMELLIA", 1, ":7: 'bind' : none of the ciphers in 'DHE+AESGCM:CAMELLIA' is implemented by Go's TLS stack"},
		{"ECDHE-ECDSA-AES128-GCM-SHA256:!ECDHE", 1, ":7: 'bind' : cipher list 'ECDHE-ECDSA-AES128-GCM-SHA256:!ECDHE' leaves no cipher suite"},
		{"ECDHE-ECDSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256", 0, ":7: 'bind' : ciphers DHE-RSA-AES128-GCM-SHA256 are not implemented by Go's TLS stack and will not be offered"},
	} {
		f := writeConfig(t, fmt.Sprintf("defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nfrontend f\n    bind 127.0.0.1:%d ssl crt %s ciphers %s\n", port, ec, tc.ciphers))
		rc, _, stderr := runCheck(t, haloBin, f)
		if rc != tc.rc || !strings.Contains(stderr, f+tc.want) {
			t.Errorf("ciphers %s: rc %d, want %d; output:\n%s\nwant %q", tc.ciphers, rc, tc.rc, stderr, tc.want)
		}
	}
}

// httpsAsk sends one request over TLS with an optional client
// certificate; it returns the body, or "refused" when the handshake or
// the answer failed.
func httpsAsk(t *testing.T, addr string, cert *tls.Certificate) string {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "site.test"}
	if cert != nil {
		// Sent whatever CA names the server lists, as curl and openssl do.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "refused"
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "refused"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// TestTLSClientVerify: client certificates with verify optional and
// required, crl-file (a revoked client is refused, an expired CRL fails
// every client as OpenSSL's CRL_CHECK_ALL does), ca-ignore-err and
// crt-ignore-err, and the OpenSSL error codes of ssl_c_verify, ssl_c_err
// and ssl_c_ca_err, with ssl_c_i_dn/ssl_c_s_dn — the same answers from
// halo and haproxy; the log shows the frontend name with HAProxy's "~".
func TestTLSClientVerify(t *testing.T) {
	p := newPKI(t, "Verify CA")
	site, _ := p.issue(certOpts{file: "site.pem", names: []string{"site.test"}})
	clients := map[string]*tls.Certificate{"none": nil}
	var revoked *x509.Certificate
	for _, c := range []struct {
		name string
		pk   *pki
		o    certOpts
	}{
		{"good", p, certOpts{names: []string{"client"}, client: true}},
		{"expired", p, certOpts{names: []string{"client-expired"}, client: true, expired: true}},
		{"revoked", p, certOpts{names: []string{"client-revoked"}, client: true, rsa: true}},
		{"foreign", newPKI(t, "Foreign CA"), certOpts{names: []string{"client-foreign"}, client: true}},
	} {
		c.o.file = c.name + ".pem"
		f, x := c.pk.issue(c.o)
		if c.name == "revoked" {
			revoked = x
		}
		kp, err := tls.LoadX509KeyPair(f, f)
		if err != nil {
			t.Fatal(err)
		}
		clients[c.name] = &kp
	}
	crl := p.crl("crl.pem", false, revoked)
	oldCRL := p.crl("old-crl.pem", true, revoked)
	sink := newSyslogSink(t)
	ports := []int{freePort(t), freePort(t), freePort(t), freePort(t)}
	cfg := fmt.Sprintf(`global
    log %s local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional crl-file %s
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional crl-file %s crt-ignore-err all ca-ignore-err all
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify required crl-file %s
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional crl-file %s crt-ignore-err all ca-ignore-err all
    http-request return status 200 content-type text/plain lf-string "verify=%%[ssl_c_verify] err=%%[ssl_c_err] caerr=%%[ssl_c_ca_err] used=%%[ssl_c_used] idn=%%[ssl_c_i_dn] sdn=%%[ssl_c_s_dn]"
`, sink.addr(), ports[0], site, p.caFile, crl, ports[1], site, p.caFile, crl, ports[2], site, p.caFile, oldCRL, ports[3], site, p.caFile, oldCRL)
	ok := func(v, e, ca int, used int, sdn string) string {
		if used == 0 {
			return fmt.Sprintf("verify=%d err=%d caerr=%d used=0 idn= sdn=", v, e, ca)
		}
		idn := "/CN=Verify CA"
		if strings.Contains(sdn, "foreign") {
			idn = "/CN=Foreign CA"
		}
		return fmt.Sprintf("verify=%d err=%d caerr=%d used=1 idn=%s sdn=/O=Test/CN=%s", v, e, ca, idn, sdn)
	}
	// Expected answers per listener and client, taken from haproxy 2.6.12.
	want := []map[string]string{
		{"none": ok(0, 0, 0, 0, ""), "good": ok(0, 0, 0, 1, "client"), "expired": "refused", "revoked": "refused", "foreign": "refused"},
		{"none": ok(0, 0, 0, 0, ""), "good": ok(0, 0, 0, 1, "client"), "expired": ok(10, 10, 0, 1, "client-expired"),
			"revoked": ok(23, 23, 0, 1, "client-revoked"), "foreign": ok(21, 20, 0, 1, "client-foreign")},
		{"none": "refused", "good": "refused", "expired": "refused", "revoked": "refused", "foreign": "refused"},
		{"none": ok(0, 0, 0, 0, ""), "good": ok(12, 12, 12, 1, "client"), "expired": ok(10, 12, 12, 1, "client-expired"),
			"revoked": ok(12, 12, 12, 1, "client-revoked"), "foreign": ok(21, 20, 0, 1, "client-foreign")},
	}
	sideBySide(t, cfg, fmt.Sprintf("127.0.0.1:%d", ports[0]), func(t *testing.T, bin string) {
		for i, port := range ports {
			for name, cert := range clients {
				if got := httpsAsk(t, fmt.Sprintf("127.0.0.1:%d", port), cert); got != want[i][name] {
					t.Errorf("%s: listener %d, client %s: %q, want %q", bin, i, name, got, want[i][name])
				}
			}
		}
	})
	// The TLS connections are logged with "f~", and refused handshakes
	// with HAProxy's reason and the listener's number, by both.
	for _, want := range []string{" f~ f/<NOSRV> ", " f/1: SSL client certificate not trusted", " f/3: SSL handshake failure"} {
		for _, proc := range []string{"halo[", "haproxy["} {
			if proc == "haproxy[" && haproxyBin() == "" {
				continue
			}
			found := false
			waitFor(t, proc+want, 10*time.Second, func() bool {
				for _, l := range sink.wait(t, want, 1) {
					found = found || strings.Contains(l, proc)
				}
				return found
			})
		}
	}
}

// servedCN is the CN of the certificate a TLS listener serves for sni.
func servedCN(t *testing.T, addr, sni string) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	if err != nil {
		return "handshake failed: " + err.Error()
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// opensslSubject is the subject openssl s_client prints for sni.
func opensslSubject(t *testing.T, addr, sni string) string {
	t.Helper()
	for _, l := range strings.Split(sClient(t, addr, "-servername", sni), "\n") {
		if s, ok := strings.CutPrefix(l, "subject="); ok {
			return s
		}
	}
	return ""
}

// TestTLSRuntimeCertUpdate: set/commit/abort/show ssl cert on the stats
// socket, driven with socat and checked with openssl s_client: the new
// certificate is served to new handshakes after commit, under its new
// names, while an established connection keeps working; every reply is
// byte for byte haproxy 2.6.12's for the same sequence.
func TestTLSRuntimeCertUpdate(t *testing.T) {
	needTools(t, "openssl", "socat")
	p := newPKI(t, "Runtime CA")
	dir := t.TempDir()
	siteFile := filepath.Join(dir, "site.pem")
	f, _ := p.issue(certOpts{file: "site-orig.pem", names: []string{"site.test"}})
	orig, _ := os.ReadFile(f)
	certDir := filepath.Join(dir, "certs")
	os.Mkdir(certDir, 0o755)
	other, _ := p.issue(certOpts{file: "other.pem", names: []string{"other.test"}})
	otherData, _ := os.ReadFile(other)
	os.WriteFile(filepath.Join(certDir, "other.pem"), otherData, 0o600)
	newFile, _ := p.issue(certOpts{file: "renewed.pem", names: []string{"renewed.test", "site.test"}, rsa: true})
	renewed, _ := os.ReadFile(newFile)
	certOnly := renewed[:strings.Index(string(renewed), "-----BEGIN RSA PRIVATE KEY")]
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	sock := filepath.Join(dir, "admin.sock")
	cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend f
    bind 127.0.0.1:%d ssl crt %s crt %s
    http-request return status 200 content-type text/plain string ok
`, sock, port, siteFile, certDir)
	cli := func(cmd string) string { return socatCLI(t, sock, cmd) }
	set := func(file string, payload []byte) string {
		return cli("set ssl cert " + file + " <<\n" + string(payload))
	}
	replies := map[string][]string{}
	os.WriteFile(siteFile, orig, 0o600) // commits change memory, not the file: both runs load it
	sideBySide(t, cfg, addr, func(t *testing.T, bin string) {
		var out []string
		step := func(s string) { out = append(out, s) }
		if cn := opensslSubject(t, addr, "site.test"); !strings.Contains(cn, "CN = site.test") {
			t.Errorf("%s: before: %q", bin, cn)
		}
		// An established keep-alive connection, to use after the commit.
		kc, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "site.test", InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer kc.Close()
		kbr := bufio.NewReader(kc)
		ask := func() string {
			kc.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(kc, "GET / HTTP/1.1\r\nHost: site.test\r\n\r\n")
			resp, err := http.ReadResponse(kbr, nil)
			if err != nil {
				return err.Error()
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		if got := ask(); got != "ok" {
			t.Fatalf("%s: keep-alive request: %q", bin, got)
		}
		step(cli("show ssl cert"))
		step(cli("show ssl cert " + siteFile))
		step(cli("commit ssl cert " + siteFile))
		step(cli("abort ssl cert " + siteFile))
		step(set(filepath.Join(dir, "unknown.pem"), renewed))
		step(set(siteFile, []byte("garbage\n")))
		step(set(siteFile, certOnly))
		step(cli("commit ssl cert " + siteFile)) // no key
		step(set(siteFile, renewed))             // updated
		step(cli("show ssl cert"))
		step(cli("show ssl cert *" + siteFile))
		step(cli("commit ssl cert " + filepath.Join(certDir, "other.pem")))
		step(cli("abort ssl cert " + filepath.Join(certDir, "other.pem")))
		if cn := servedCN(t, addr, "site.test"); cn != "site.test" {
			t.Errorf("%s: served %q before the commit", bin, cn)
		}
		step(cli("commit ssl cert " + siteFile))
		for _, sni := range []string{"site.test", "renewed.test"} {
			if cn := opensslSubject(t, addr, sni); !strings.Contains(cn, "CN = renewed.test") {
				t.Errorf("%s: after commit, SNI %s: %q", bin, sni, cn)
			}
		}
		if cn := servedCN(t, addr, "other.test"); cn != "other.test" {
			t.Errorf("%s: the directory's certificate changed: %q", bin, cn)
		}
		if got := ask(); got != "ok" || kc.ConnectionState().PeerCertificates[0].Subject.CommonName != "site.test" {
			t.Errorf("%s: the established connection after commit: %q", bin, got)
		}
		step(cli("show ssl cert"))
		step(set(siteFile, orig))
		step(cli("abort ssl cert " + siteFile))
		step(cli("abort ssl cert " + siteFile))
		replies[bin] = out
	})
	if len(replies["halo"]) == 0 {
		return
	}
	if want, got := replies["haproxy"], replies["halo"]; want != nil {
		t.Logf("%d runtime API replies compared with haproxy's", len(want))
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("reply %d:\nhalo:    %q\nhaproxy: %q", i, got[i], want[i])
			}
		}
	}
	for _, want := range []string{"Transaction created for certificate " + siteFile + "!\n", "Committing " + siteFile + ".\nSuccess!\n", "Status: Unused\n",
		"Subject Alternative Name: DNS:renewed.test, DNS:site.test\nAlgorithm: RSA2048\n"} {
		if !strings.Contains(strings.Join(replies["halo"], ""), want) {
			t.Errorf("halo replies lack %q", want)
		}
	}
}

// TestTLSCertReload: a certificate file rewritten on disk is served to
// new handshakes after a master-worker reload (SIGUSR2) and after a
// `-sf` reload, without a restart.
func TestTLSCertReload(t *testing.T) {
	p := newPKI(t, "Reload CA")
	dir := t.TempDir()
	site := filepath.Join(dir, "site.pem")
	write := func(cn string) {
		f, _ := p.issue(certOpts{file: cn + ".pem", names: []string{cn, "site.test"}})
		b, _ := os.ReadFile(f)
		if err := os.WriteFile(site, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("first.test")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := writeConfig(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d ssl crt %s
    http-request return status 200 content-type text/plain string ok
`, port, site))
	h := startProc(t, haloBin, addr, nil, nil, "-W", "-db", "-f", cfg)
	if cn := servedCN(t, addr, "site.test"); cn != "first.test" {
		t.Fatalf("served %q", cn)
	}
	write("second.test")
	before := strings.Count(h.stderr.String(), "Loading success.")
	h.signal(syscall.SIGUSR2)
	waitFor(t, "the master-worker reload", 20*time.Second, func() bool {
		return strings.Count(h.stderr.String(), "Loading success.") > before
	})
	waitFor(t, "the renewed certificate after SIGUSR2", 10*time.Second, func() bool { return servedCN(t, addr, "site.test") == "second.test" })
	h.signal(syscall.SIGTERM)
	h.wait(t, 15*time.Second)

	// -sf: a new process takes the listener over from the old one.
	write("third.test")
	old := startProc(t, haloBin, addr, nil, nil, "-db", "-f", cfg)
	if cn := servedCN(t, addr, "site.test"); cn != "third.test" {
		t.Fatalf("served %q", cn)
	}
	write("fourth.test")
	startProc(t, haloBin, "", nil, nil, "-db", "-f", cfg, "-sf", fmt.Sprint(old.cmd.Process.Pid))
	old.wait(t, 15*time.Second)
	waitFor(t, "the renewed certificate after -sf", 10*time.Second, func() bool { return servedCN(t, addr, "site.test") == "fourth.test" })
}

// TestSeedSSLPassthroughTLS serves the guide's ssl-passthrough.cfg
// unchanged with TLS servers on its server ports (TCP health checks on
// 9101/9102) and drives it with curl --cacert: TLS passes through
// untouched, so the bodies and an upload come back byte for byte and the
// servers see the client's own handshake (its SNI and ALPN).
func TestSeedSSLPassthroughTLS(t *testing.T) {
	needTools(t, "curl")
	seed, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "seed-configs", "ssl-passthrough.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(seed); err != nil {
		t.Skip("shared/seed-configs not found beside the checkout")
	}
	p := newPKI(t, "Passthrough CA")
	body := make([]byte, 256<<10)
	rand.Read(body)
	var mu sync.Mutex
	seen := map[string]int{}
	for _, s := range []struct{ addr, check, name string }{{"127.0.0.1:9001", "127.0.0.1:9101", "srv1"}, {"127.0.0.1:9002", "127.0.0.1:9102", "srv2"}} {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			t.Skipf("port %s is taken: %v", s.addr, err)
		}
		if _, err := tryBackend(t, s.check); err != nil {
			ln.Close()
			t.Skipf("port %s is taken: %v", s.check, err)
		}
		bundle, _ := p.issue(certOpts{file: s.name + ".pem", names: []string{"localhost"}, rsa: s.name == "srv2"})
		cert, _ := tls.LoadX509KeyPair(bundle, bundle)
		name := s.name
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name+" sni="+r.TLS.ServerName+" alpn="+r.TLS.NegotiatedProtocol]++
			mu.Unlock()
			w.Header().Set("X-Server", name)
			if r.Method == "POST" {
				b, _ := io.ReadAll(r.Body) // echo the upload
				w.Write(b)
				return
			}
			w.Write(body)
		}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}}
		go hs.ServeTLS(ln, "", "")
		t.Cleanup(func() { hs.Close() })
	}
	h := startProc(t, haloBin, "127.0.0.1:8443", nil, nil, "-db", "-f", seed)
	waitFor(t, "both servers UP", 15*time.Second, func() bool {
		out := h.stderr.String()
		return strings.Contains(out, "Health check for server app/srv1 succeeded") && strings.Contains(out, "Health check for server app/srv2 succeeded")
	})
	dir := t.TempDir()
	upload := filepath.Join(dir, "upload.bin")
	os.WriteFile(upload, body[:100<<10], 0o600)
	curl := func(extra ...string) []byte {
		args := append([]string{"-s", "--max-time", "10", "--cacert", p.caFile, "--resolve", "localhost:8443:127.0.0.1"}, extra...)
		out, err := exec.Command("curl", args...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", extra, err)
		}
		return out
	}
	for i := 0; i < 4; i++ {
		if got := curl("--http1.1", "https://localhost:8443/file"); !bytes.Equal(got, body) {
			t.Fatalf("download %d: %d bytes, not the server's %d", i, len(got), len(body))
		}
	}
	if got := curl("--http2", "https://localhost:8443/file"); !bytes.Equal(got, body) {
		t.Errorf("HTTP/2 download through the pass-through: %d bytes", len(got))
	}
	if got := curl("--http1.1", "--data-binary", "@"+upload, "https://localhost:8443/up"); !bytes.Equal(got, body[:100<<10]) {
		t.Errorf("upload echo: %d bytes", len(got))
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["srv1 sni=localhost alpn=http/1.1"] == 0 || seen["srv2 sni=localhost alpn=http/1.1"] == 0 || seen["srv1 sni=localhost alpn=h2"]+seen["srv2 sni=localhost alpn=h2"] != 1 {
		t.Errorf("servers saw: %v", seen)
	}
}

// TestTLSCrtList: a crt-list with SNI filters (a wildcard with an
// exclusion, "!*" on the first certificate) and relative paths resolved
// against crt-base; ca-base for ca-file: halo serves the same
// certificate as haproxy for every SNI.
func TestTLSCrtList(t *testing.T) {
	p := newPKI(t, "List CA")
	base := filepath.Join(p.dir, "crts")
	os.Mkdir(base, 0o755)
	mk := func(file string, names ...string) {
		f, _ := p.issue(certOpts{file: file, names: names})
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(base, file), b, 0o600)
	}
	mk("fallback.pem", "fallback.test")
	mk("wild.pem", "wild-cert.test")
	mk("secure.pem", "secure.domain.test")
	mk("api.pem", "api.test", "www.api.test")
	list := filepath.Join(p.dir, "list.txt")
	os.WriteFile(list, []byte("# the first one is the default, never chosen by name\nfallback.pem !*\n\nwild.pem *.domain.test !private.domain.test\nsecure.pem\napi.pem api.test\n"), 0o644)
	caDir := filepath.Dir(p.caFile)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`global
    crt-base %s
    ca-base %s
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d ssl crt-list %s ca-file %s verify optional
    http-request return status 200 content-type text/plain string ok
`, base, caDir, port, list, filepath.Base(p.caFile))
	want := map[string]string{
		"fallback.test":       "fallback.test", // excluded by !*: the default anyway
		"a.domain.test":       "wild-cert.test",
		"secure.domain.test":  "secure.domain.test", // an exact name wins over the wildcard
		"private.domain.test": "fallback.test",      // excluded from the wildcard
		"api.test":            "api.test",
		"www.api.test":        "fallback.test", // the filter replaces the certificate's names
		"other.test":          "fallback.test",
	}
	sideBySide(t, cfg, addr, func(t *testing.T, bin string) {
		for sni, cn := range want {
			if got := servedCN(t, addr, sni); got != cn {
				t.Errorf("%s: SNI %s served %q, want %q", bin, sni, got, cn)
			}
		}
	})
}

// TestTLSInspectTCP: in tcp mode, tcp-request content rules on req.len
// and req.ssl_hello_type keep clear-text clients out and let TLS
// through untouched (same outcome under haproxy).
func TestTLSInspectTCP(t *testing.T) {
	p := newPKI(t, "Inspect CA")
	bundle, _ := p.issue(certOpts{file: "app.pem", names: []string{"app.test"}})
	app := startTLSApp(t, bundle)
	var plain atomic.Int32
	plainSrv := tcpServer(t, func(c net.Conn) {
		// Counts connections that bring bytes: the readiness probe of
		// startProc connects and closes at once, and is forwarded here.
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, _ := c.Read(make([]byte, 64)); n > 0 {
			plain.Add(1)
		}
		io.WriteString(c, "plain\n")
	})
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    tcp-request inspect-delay 3s
    tcp-request content reject if { req.len gt 0 } !{ req.ssl_hello_type 1 }
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend tls if { req.ssl_sni -m end .test }
    default_backend clear
backend tls
    server s %s
backend clear
    server s %s
`, port, app.addr, plainSrv)
	sideBySide(t, cfg, addr, func(t *testing.T, bin string) {
		_, body, err := tlsGet(t, addr, "app.test", p.pool(), nil, "/")
		if err != nil || !strings.Contains(body, "app sni=app.test") {
			t.Errorf("%s: TLS through the inspection: %v %q", bin, err, body)
		}
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
		got, _ := io.ReadAll(c)
		c.Close()
		if len(got) != 0 {
			t.Errorf("%s: a clear-text client got %q", bin, got)
		}
	})
	if plain.Load() != 0 {
		t.Errorf("the clear-text backend got %d connections", plain.Load())
	}
}

// TestTLSListenerOptions: strict-sni refuses an unknown SNI (openssl
// sees the alert), no-tls-tickets disables resumption while the default
// listener resumes sessions.
func TestTLSListenerOptions(t *testing.T) {
	needTools(t, "openssl")
	p := newPKI(t, "Options CA")
	site, _ := p.issue(certOpts{file: "site.pem", names: []string{"site.test"}})
	ports := []int{freePort(t), freePort(t), freePort(t)}
	startHalo(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d ssl crt %s strict-sni
    bind 127.0.0.1:%d ssl crt %s no-tls-tickets
    bind 127.0.0.1:%d ssl crt %s
    http-request return status 200 content-type text/plain string ok
`, ports[0], site, ports[1], site, ports[2], site), fmt.Sprintf("127.0.0.1:%d", ports[0]))
	strict := fmt.Sprintf("127.0.0.1:%d", ports[0])
	if out := sClient(t, strict, "-servername", "site.test"); protoOf(out) == "" {
		t.Errorf("strict-sni refused a known SNI:\n%s", out)
	}
	if out := sClient(t, strict, "-servername", "unknown.test"); protoOf(out) != "" || !strings.Contains(out, "alert") {
		t.Errorf("strict-sni accepted an unknown SNI:\n%s", out)
	}
	if out := sClient(t, strict, "-noservername"); protoOf(out) != "" {
		t.Errorf("strict-sni accepted a client without SNI:\n%s", out)
	}
	for i, wantResume := range map[int]bool{1: false, 2: true} {
		addr := fmt.Sprintf("127.0.0.1:%d", ports[i])
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			cfg := &tls.Config{ServerName: "site.test", RootCAs: p.pool(), MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			resumed := false
			for n := 0; n < 3 && !resumed; n++ {
				c, err := tls.Dial("tcp", addr, cfg)
				if err != nil {
					t.Fatal(err)
				}
				// TLS 1.3 tickets arrive after the handshake: read the answer.
				c.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n")
				io.ReadAll(c)
				resumed = c.ConnectionState().DidResume
				c.Close()
			}
			if resumed != wantResume {
				t.Errorf("listener %d, TLS %x: resumed %v, want %v", i, v, resumed, wantResume)
			}
		}
	}
}

// TestTLSToServers: alpn offered to the server, check-ssl on a server
// reached in clear text for traffic, and session resumption towards
// servers (the server sees resumed handshakes).
func TestTLSToServers(t *testing.T) {
	p := newPKI(t, "Servers CA")
	bundle, _ := p.issue(certOpts{file: "app.pem", names: []string{"app.test"}})
	app := startTLSApp(t, bundle)
	chk, noreuse := startTLSApp(t, bundle), startTLSApp(t, bundle)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	_, chkPort, _ := net.SplitHostPort(chk.addr)
	h := startHalo(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    use_backend noreuse if { path /noreuse }
    default_backend app
backend app
    http-reuse never
    option httpchk GET /health
    server s %s ssl ca-file %s sni str(app.test) alpn http/1.1
backend noreuse
    http-reuse never
    server s %s ssl ca-file %s no-ssl-reuse
backend checked
    option httpchk GET /health
    server c 127.0.0.1:1 check check-ssl port %s ca-file %s check-sni app.test inter 300ms
`, port, app.addr, p.caFile, noreuse.addr, p.caFile, chkPort, p.caFile), addr)
	for i := 0; i < 4; i++ {
		got := oneShot(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if !strings.Contains(got, "app sni=app.test proto=http/1.1") {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	app.mu.Lock()
	requests, resumed := app.requests, app.resumed
	app.mu.Unlock()
	if requests != 4 || resumed == 0 {
		t.Errorf("server side: %d requests, %d on resumed TLS sessions", requests, resumed)
	}
	for i := 0; i < 3; i++ {
		if got := oneShot(t, addr, "GET /noreuse HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.Contains(got, "resumed=false") {
			t.Errorf("no-ssl-reuse request %d: %q", i, got)
		}
	}
	waitFor(t, "TLS health checks with check-sni", 10*time.Second, func() bool {
		chk.mu.Lock()
		defer chk.mu.Unlock()
		for _, sni := range chk.sni {
			if sni == "app.test" {
				return true
			}
		}
		return false
	})
	if strings.Contains(h.stderr.String(), "Server checked/c is DOWN") {
		t.Errorf("check-ssl server went DOWN:\n%s", h.stderr.String())
	}
}

// TestTLSTCPModeTimeouts: a TLS-terminated tcp-mode session (on a
// listener that verifies client certificates) still honours timeout
// client and half-closes towards the client like a clear-text one.
func TestTLSTCPModeTimeouts(t *testing.T) {
	p := newPKI(t, "Timeout CA")
	site, _ := p.issue(certOpts{file: "site.pem", names: []string{"site.test"}})
	silent := tcpServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	answer := tcpServer(t, func(c net.Conn) { io.WriteString(c, "bye\n") }) // writes, then closes
	ports := []int{freePort(t), freePort(t)}
	startHalo(t, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 1s
    timeout server 30s
frontend silent
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional
    default_backend silent
frontend answer
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify optional
    default_backend answer
backend silent
    server s %s
backend answer
    server s %s
`, ports[0], site, p.caFile, ports[1], site, p.caFile, silent, answer), fmt.Sprintf("127.0.0.1:%d", ports[0]))
	for i, want := range []string{"", "bye\n"} {
		c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ports[i]), &tls.Config{ServerName: "site.test", RootCAs: p.pool()})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(15 * time.Second))
		got, err := io.ReadAll(c) // ends when halo closes the session
		c.Close()
		if string(got) != want || err != nil {
			t.Errorf("frontend %d: read %q, %v; want %q and a clean end", i, got, err, want)
		}
	}
}
