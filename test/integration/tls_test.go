package integration

import (
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
	"testing"
	"time"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "halo test CA", Organization: []string{"halo"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a bundle (key first, then the certificate: any order must
// work) for names and returns its path.
func (ca *testCA) issue(t *testing.T, dir, file string, rsaKey bool, client bool, names ...string) string {
	var pub any
	var keyPEM []byte
	if rsaKey {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		pub = &k.PublicKey
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	} else {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pub = &k.PublicKey
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: names[0], Country: []string{"FR"}, Organization: []string{"Test"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: names,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, file)
	data := append(keyPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func tlsGet(t *testing.T, addr, sni string, roots *x509.CertPool, client *tls.Certificate, path string) (*tls.ConnectionState, string, error) {
	cfg := &tls.Config{ServerName: sni, RootCAs: roots}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, sni)
	b, err := io.ReadAll(c)
	st := c.ConnectionState()
	return &st, string(b), err
}

// TestTLSTermination: SNI selection among a directory of bundles with a
// wildcard and a default, ssl_fc fetches, the TLS floor, client
// certificates, and TLS with verification towards the server.
func TestTLSTermination(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	os.Mkdir(certs, 0o755)
	ca.issue(t, certs, "a-default.pem", true, false, "default.test")
	ca.issue(t, certs, "b-example.pem", false, false, "www.example.test")
	ca.issue(t, certs, "c-wild.pem", true, false, "*.wild.test")
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.pem, 0o644)
	clientBundle := ca.issue(t, dir, "client.pem", false, true, "client-one")
	srvBundle := ca.issue(t, dir, "server.pem", false, false, "backend.test")

	// An HTTPS backend that halo must verify against the CA.
	bl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCert, err := tls.LoadX509KeyPair(srvBundle, srvBundle)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend saw tls=%v sni=%s xssl=%s dn=%s", r.TLS != nil, r.TLS.ServerName, r.Header.Get("X-SSL"), r.Header.Get("X-Client-DN"))
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{srvCert}}}
	go hs.ServeTLS(bl, "", "")
	defer hs.Close()

	port, mport := freePort(t), freePort(t)
	addr, maddr := fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", mport)
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend https
    bind 127.0.0.1:%d ssl crt %s no-sslv3 alpn http/1.1
    bind 127.0.0.1:%d ssl crt %s ca-file %s verify required
    http-request set-header X-SSL %%[ssl_fc_protocol]/%%[ssl_fc_sni]/%%[ssl_fc_cipher]
    http-request set-header X-Client-DN %%[ssl_c_s_dn] if { ssl_c_used }
    http-response set-header Strict-Transport-Security max-age=16000000
    default_backend app
backend app
    server s1 %s ssl verify required ca-file %s sni str(backend.test)
`, port, certs, mport, certs, caFile, bl.Addr(), caFile)
	startHalo(t, cfg, addr)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	for _, tc := range []struct{ sni, wantCN string }{
		{"www.example.test", "www.example.test"},
		{"a.wild.test", "*.wild.test"},
		{"unknown.test", "default.test"},
		{"", "default.test"},
	} {
		name := tc.sni
		if name == "" {
			name = "127.0.0.1"
		}
		st, body, err := tlsGet(t, addr, tc.sni, roots, nil, "/x")
		if tc.sni == "unknown.test" || tc.sni == "" {
			// The default certificate does not cover these names.
			cfg := &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true}
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				t.Fatalf("SNI %q: %v", tc.sni, err)
			}
			if cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != tc.wantCN {
				t.Errorf("SNI %q served %q, want the default %q", tc.sni, cn, tc.wantCN)
			}
			c.Close()
			continue
		}
		if err != nil {
			t.Fatalf("SNI %q: %v", tc.sni, err)
		}
		if cn := st.PeerCertificates[0].Subject.CommonName; cn != tc.wantCN {
			t.Errorf("SNI %q served %q, want %q", tc.sni, cn, tc.wantCN)
		}
		if !strings.Contains(body, "backend saw tls=true sni=backend.test xssl=TLSv1.3/"+tc.sni+"/TLS_") {
			t.Errorf("SNI %q: backend answer %q", tc.sni, body)
		}
		if !strings.Contains(body, "strict-transport-security: max-age=16000000\r\n") {
			t.Errorf("HSTS header missing: %q", body)
		}
	}
	// The TLS 1.2 floor: a TLS 1.1 client is refused.
	if c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Error("a TLS 1.1 client was accepted")
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		// SECLEVEL=0 lets openssl offer TLS 1.0 at all; halo must answer
		// with a protocol_version alert.
		out := sClient(t, addr, "-tls1", "-cipher", "DEFAULT@SECLEVEL=0")
		if protoOf(out) != "" || !strings.Contains(out, "alert protocol version") {
			t.Errorf("openssl s_client -tls1 was not refused with a protocol_version alert:\n%s", out)
		}
	}
	// mTLS: no certificate is refused, a certificate from the CA passes
	// and its subject reaches the backend.
	if _, _, err := tlsGet(t, maddr, "www.example.test", roots, nil, "/m"); err == nil {
		t.Error("verify required accepted a client without certificate")
	}
	cc, err := tls.LoadX509KeyPair(clientBundle, clientBundle)
	if err != nil {
		t.Fatal(err)
	}
	if _, body, err := tlsGet(t, maddr, "www.example.test", roots, &cc, "/m"); err != nil || !strings.Contains(body, "dn=/C=FR/O=Test/CN=client-one") {
		t.Errorf("mTLS: %v %q", err, body)
	}
}

// TestTLSServerVerifyFailure: a server whose certificate does not chain
// to ca-file gets no request; the client gets 503, and its health check
// fails with HAProxy's Layer6 reason.
func TestTLSServerVerifyFailure(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	dir := t.TempDir()
	srvBundle := other.issue(t, dir, "server.pem", false, false, "backend.test")
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.pem, 0o644)
	bl, _ := net.Listen("tcp", "127.0.0.1:0")
	srvCert, _ := tls.LoadX509KeyPair(srvBundle, srvBundle)
	var hits atomic.Int32
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{srvCert}}, ErrorLog: nil}
	go hs.ServeTLS(bl, "", "")
	defer hs.Close()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h := startHalo(t, fmt.Sprintf(`defaults
    mode http
    retries 0
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen l
    bind 127.0.0.1:%d
    option log-health-checks
    server s1 %s ssl verify required ca-file %s check inter 300ms
`, port, bl.Addr(), caFile), addr)
	resp := oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.HasPrefix(resp, "HTTP/1.1 503 ") || hits.Load() != 0 {
		t.Errorf("unverifiable server: %q (hits %d)", resp, hits.Load())
	}
	waitFor(t, "the failed health check line", 10*time.Second, func() bool {
		return strings.Contains(h.stderr.String(), `Health check for server l/s1 failed, reason: Layer6 invalid response, info: "SSL handshake failure", check duration: `)
	})
	if hits.Load() != 0 {
		t.Errorf("health checks sent %d HTTP requests through a failed handshake", hits.Load())
	}
}

// TestSNIPassthrough: tcp mode routes TLS by SNI after inspecting the
// ClientHello, and the bytes reach the server untouched.
func TestSNIPassthrough(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	mk := func(name string) string {
		b := ca.issue(t, dir, name+".pem", false, false, name)
		c, _ := tls.LoadX509KeyPair(b, b)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "I am "+name) }),
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{c}}}
		go hs.ServeTLS(ln, "", "")
		t.Cleanup(func() { hs.Close() })
		return ln.Addr().String()
	}
	a, b := mk("a.test"), mk("b.test")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend tls-in
    bind 127.0.0.1:%d
    tcp-request inspect-delay 5s
    tcp-request content accept if { req_ssl_hello_type 1 }
    use_backend be_b if { req.ssl_sni -i b.test }
    default_backend be_a
backend be_a
    server a %s
backend be_b
    server b %s
`, port, a, b), addr)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	for _, name := range []string{"a.test", "b.test", "B.TEST"} {
		_, body, err := tlsGet(t, addr, name, roots, nil, "/")
		want := "I am " + strings.ToLower(name)
		if err != nil || !strings.HasSuffix(body, want) {
			t.Errorf("SNI %s: %v %q", name, err, body)
		}
	}
}

// TestSeedSSLTermination serves the guide's ssl-termination.cfg unchanged
// (certificates from its make-certs.sh, run from their folder as the
// guide does) and drives it with curl and openssl.
func TestSeedSSLTermination(t *testing.T) {
	seedDir := filepath.Join("..", "..", "..", "shared", "seed-configs")
	seed, err := filepath.Abs(filepath.Join(seedDir, "ssl-termination.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(seed); err != nil {
		t.Skip("shared/seed-configs not found beside the checkout")
	}
	for _, tool := range []string{"openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	if out, err := exec.Command("bash", filepath.Join(seedDir, "make-certs.sh"), dir).CombinedOutput(); err != nil {
		t.Fatalf("make-certs.sh: %v\n%s", err, out)
	}
	bundle := filepath.Join(dir, "my-crt-key.pem")
	cert, err := tls.LoadX509KeyPair(bundle, bundle)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	var mu sync.Mutex
	healthz := map[string]int{}
	for _, s := range []struct{ addr, name string }{{"127.0.0.1:9001", "web1"}, {"127.0.0.1:9002", "web2"}} {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			t.Skipf("port %s is taken: %v", s.addr, err)
		}
		name := s.name
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				mu.Lock()
				healthz[name]++
				mu.Unlock()
				return
			}
			fmt.Fprintf(w, "%s client-cert=%s", name, r.TLS.PeerCertificates[0].Subject.CommonName)
		}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}}
		go hs.ServeTLS(ln, "", "")
		t.Cleanup(func() { hs.Close() })
	}
	startProcIn(t, dir, haloBin, "127.0.0.1:8443", nil, nil, "-db", "-f", seed)
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		out, err := exec.Command("curl", "-s", "--max-time", "5", "--cacert", filepath.Join(dir, "ca.pem"), "https://localhost:8443/").CombinedOutput()
		if err != nil {
			t.Fatalf("curl https: %v %s", err, out)
		}
		if !strings.HasSuffix(string(out), "client-cert=localhost") {
			t.Errorf("answer: %q", out)
		}
		seen[strings.Fields(string(out))[0]] = true
	}
	if !seen["web1"] || !seen["web2"] {
		t.Errorf("round robin over TLS: %v", seen)
	}
	out, _ := exec.Command("curl", "-si", "--max-time", "5", "-H", "Host: localhost:8080", "http://127.0.0.1:8080/page?q=1").CombinedOutput()
	if !strings.HasPrefix(string(out), "HTTP/1.1 302 Found\r\n") || !strings.Contains(string(out), "location: https://localhost:8443/page?q=1\r\n") {
		t.Errorf("HTTP to HTTPS redirect: %q", out)
	}
	if tls10 := sClient(t, "127.0.0.1:8443", "-tls1", "-cipher", "DEFAULT@SECLEVEL=0"); protoOf(tls10) != "" || !strings.Contains(tls10, "alert protocol version") {
		t.Errorf("a TLS 1.0 client was not refused with a protocol_version alert:\n%s", tls10)
	}
	waitFor(t, "HTTPS health checks on both servers", 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return healthz["web1"] > 0 && healthz["web2"] > 0
	})
}

// TestHTTP2 serves HTTP/2 over TLS (ALPN) and in clear text (proto h2)
// through the same rules as HTTP/1.1, checks it with curl, and runs the
// h2spec conformance suite when it is installed.
func TestHTTP2(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	bundle := ca.issue(t, dir, "site.pem", false, false, "localhost")
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.pem, 0o644)
	app := echoBackend(t, "web1")
	tport, cport := freePort(t), freePort(t)
	taddr, caddr := fmt.Sprintf("127.0.0.1:%d", tport), fmt.Sprintf("127.0.0.1:%d", cport)
	startHalo(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
    bind 127.0.0.1:%d proto h2
    http-request set-header X-TLS %%[ssl_fc]
    http-request set-header X-Ver %%[req.ver]
    http-request deny if { path /forbidden }
    http-response set-header X-Via halo
    default_backend app
backend app
    server web1 %s
`, tport, bundle, cport, app), taddr)
	if _, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command("curl", "-si", "--max-time", "5", "--http2", "--cacert", caFile, "https://localhost:"+fmt.Sprint(tport)+"/h2?q=1", "-H", "Cookie: a=1", "-H", "Cookie: b=2").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "HTTP/2 200") || !strings.Contains(string(out), "x-via: halo") ||
			!strings.Contains(string(out), "web1 GET /h2?q=1\n") || !strings.Contains(string(out), "x-tls: 1\n") || !strings.Contains(string(out), "x-ver: 2.0\n") || !strings.Contains(string(out), "cookie: a=1; b=2\n") {
			t.Errorf("curl --http2: %v\n%s", err, out)
		}
		out, _ = exec.Command("curl", "-si", "--max-time", "5", "--http2-prior-knowledge", "http://"+caddr+"/forbidden").CombinedOutput()
		if !strings.HasPrefix(string(out), "HTTP/2 403") {
			t.Errorf("h2c deny: %s", out)
		}
		out, _ = exec.Command("curl", "-s", "--max-time", "5", "--http2-prior-knowledge", "--data-binary", "posted body", "http://"+caddr+"/up").CombinedOutput()
		if !strings.Contains(string(out), "web1 POST /up\n") || !strings.Contains(string(out), "body=posted body") || !strings.Contains(string(out), "x-tls: 0\n") {
			t.Errorf("h2c POST: %s", out)
		}
	}
	h2spec, err := exec.LookPath("h2spec")
	if err != nil {
		if home, _ := os.UserHomeDir(); home != "" {
			if _, err := os.Stat(filepath.Join(home, "go", "bin", "h2spec")); err == nil {
				h2spec = filepath.Join(home, "go", "bin", "h2spec")
			}
		}
	}
	if h2spec == "" {
		t.Log("h2spec not installed: conformance suite not run")
		return
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"tls", []string{"-h", "127.0.0.1", "-p", fmt.Sprint(tport), "-t", "-k", "-o", "3"}},
		{"cleartext", []string{"-h", "127.0.0.1", "-p", fmt.Sprint(cport), "-o", "3"}},
	} {
		out, _ := exec.Command(h2spec, tc.args...).CombinedOutput()
		tail := string(out)
		if i := strings.LastIndex(tail, "tests, "); i > 0 {
			tail = tail[strings.LastIndex(tail[:i], "\n")+1:]
		}
		t.Logf("h2spec %s: %s", tc.name, strings.TrimSpace(tail))
		if !strings.Contains(tail, "145 tests, 145 passed") {
			t.Errorf("h2spec %s:\n%s", tc.name, out)
		}
	}
}

// TestHTTPCheckConnectSSL: `http-check connect ssl` (the kubeadm corpus
// configuration) runs HTTP checks over TLS on a tcp-mode backend.
func TestHTTPCheckConnectSSL(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	bundle := ca.issue(t, dir, "api.pem", false, false, "api.test")
	cert, _ := tls.LoadX509KeyPair(bundle, bundle)
	var hits atomic.Int32
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && r.TLS != nil {
			hits.Add(1)
			return
		}
		w.WriteHeader(500)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go hs.ServeTLS(ln, "", "")
	defer hs.Close()
	plain := httpBackend(t, "plain")
	port := freePort(t)
	h := startHalo(t, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
frontend fe
    bind 127.0.0.1:%d
    default_backend api
backend api
    option httpchk
    http-check connect ssl
    http-check send meth GET uri /healthz
    http-check expect status 200
    server tls %s check inter 200ms verify none
    server plain %s check inter 200ms verify none
`, port, ln.Addr(), plain), fmt.Sprintf("127.0.0.1:%d", port))
	waitFor(t, "TLS checks on one server and the clear-text one DOWN", 15*time.Second, func() bool {
		return hits.Load() > 2 && strings.Contains(h.stderr.String(), "Server api/plain is DOWN")
	})
	if strings.Contains(h.stderr.String(), "Server api/tls is DOWN") {
		t.Errorf("TLS checks: %d hits\n%s", hits.Load(), h.stderr.String())
	}
}
