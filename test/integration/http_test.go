package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// httpBackend is an HTTP server on 127.0.0.1 that answers with its name,
// the request line and the headers halo forwarded.
func httpBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s xff=%s test=%s body=%s", name, r.Method, r.URL.RequestURI(), r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Test"), body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func httpCfg(port int, servers ...string) string {
	s := fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    acl is_admin path_beg /admin
    http-request deny if is_admin
    http-request return status 200 content-type text/plain string "pong" if { path /ping }
    http-request redirect scheme https code 301 if { path_beg /secure }
    http-request set-header X-Test hello
    option forwardfor
    default_backend app
backend app
    balance roundrobin
`, port)
	for _, l := range servers {
		s += "    " + l + "\n"
	}
	return s
}

// rawHTTP sends raw bytes and returns the whole response.
func rawHTTP(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestHTTPMode(t *testing.T) {
	a, b := httpBackend(t, "web1"), httpBackend(t, "web2")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, httpCfg(port, "server web1 "+a, "server web2 "+b), addr)
	get := func(path string) (int, string, http.Header) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		code, body, _ := get("/x?y=1")
		if code != 200 || !strings.Contains(body, "GET /x?y=1 xff=127.0.0.1 test=hello") {
			t.Errorf("proxied request: %d %q", code, body)
		}
		seen[strings.Fields(body)[0]] = true
	}
	if !seen["web1"] || !seen["web2"] {
		t.Errorf("round robin over HTTP: %v", seen)
	}
	if code, body, _ := get("/ping"); code != 200 || body != "pong" {
		t.Errorf("return: %d %q", code, body)
	}
	denied := rawHTTP(t, addr, "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.HasPrefix(denied, "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\n") || !strings.HasSuffix(denied, "Request forbidden by administrative rules.\n</body></html>\n") {
		t.Errorf("deny: %q", denied)
	}
	redir := rawHTTP(t, addr, "GET /secure/x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(redir, "HTTP/1.1 301 ") || !strings.Contains(redir, "location: https://example.com:8080/secure/x?y=1\r\n") {
		t.Errorf("redirect: %q", redir)
	}
	bad := rawHTTP(t, addr, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
	if !strings.HasPrefix(bad, "HTTP/1.1 400 Bad request\r\n") || strings.Contains(bad, "web") {
		t.Errorf("smuggling attempt: %q", bad)
	}
	chunked := rawHTTP(t, addr, "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	if !strings.Contains(chunked, "POST /up xff=127.0.0.1 test=hello body=abcde") {
		t.Errorf("chunked body: %q", chunked)
	}
	// Keep-alive: two requests on one connection.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		fmt.Fprintf(c, "GET /ka%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("keep-alive request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), fmt.Sprintf("/ka%d", i)) {
			t.Errorf("keep-alive response %d: %q", i, body)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	// A server that answers garbage, one that never answers.
	garbage := tcpServer(t, func(c net.Conn) {
		c.Read(make([]byte, 4096))
		c.Write([]byte("ICY 200 OK\r\n\r\n"))
	})
	silent := tcpServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	dead := closedPort(t)
	for _, tc := range []struct {
		name, server, want string
	}{
		{"502", "server s " + garbage, "HTTP/1.1 502 Bad Gateway\r\n"},
		{"504", "server s " + silent, "HTTP/1.1 504 Gateway Time-out\r\n"},
		{"503", fmt.Sprintf("server s 127.0.0.1:%d check inter 50", dead), "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			cfg := strings.Replace(httpCfg(port, tc.server), "timeout server 5s", "timeout server 300ms", 1)
			h := startHalo(t, cfg, addr)
			if tc.name == "503" {
				waitFor(t, "server down", 10*time.Second, func() bool { return strings.Contains(h.stderr.String(), "is DOWN") })
			}
			got := rawHTTP(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want prefix %q", got, tc.want)
			}
		})
	}
}

// TestHTTPSideBySide sends the same requests through haproxy and halo with
// the same configuration and compares status codes.
func TestHTTPSideBySide(t *testing.T) {
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	a := httpBackend(t, "web1")
	reqs := []string{
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"GET /admin/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"GET /ping HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"GET /secure HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
		"G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
	}
	status := func(bin string) []string {
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", writeConfig(t, httpCfg(port, "server web1 "+a)))
		defer func() { h.cmd.Process.Kill(); <-h.done }()
		var out []string
		for _, r := range reqs {
			line, _, _ := strings.Cut(rawHTTP(t, addr, r), "\r\n")
			out = append(out, line)
		}
		return out
	}
	got, want := status(haloBin), status(hp)
	for i := range reqs {
		if got[i] != want[i] {
			t.Errorf("request %q: halo %q, haproxy %q", strings.SplitN(reqs[i], "\r\n", 2)[0], got[i], want[i])
		}
	}
}

// TestHTTPServerReuse: with http-reuse always, idle server connections
// are reused by later clients' requests, and one the server closed
// meanwhile is replaced transparently. (http-reuse safe, the default,
// never gives a client's first request an idle connection: see
// TestHTTPReuseModes.)
func TestHTTPServerReuse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomicCounter
	srv := &http.Server{
		Handler:     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		IdleTimeout: time.Minute,
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.add()
			}
		},
	}
	go srv.Serve(ln)
	defer srv.Close()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, strings.Replace(httpCfg(port, "server s "+ln.Addr().String()), "\nbackend app\n", "\nbackend app\n    http-reuse always\n", 1), addr)
	before := conns.get()
	for i := 0; i < 10; i++ {
		if got := rawHTTP(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); !strings.HasSuffix(got, "ok") {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	if n := conns.get() - before; n > 3 {
		t.Errorf("10 sequential requests opened %d server connections; idle ones should be reused", n)
	}
	srv.SetKeepAlivesEnabled(false) // the server closes its idle connections now
	for i := 0; i < 3; i++ {
		if got := rawHTTP(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); !strings.HasSuffix(got, "ok") {
			t.Errorf("after the server closed idle connections, request %d: %q", i, got)
		}
	}
}

type atomicCounter struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCounter) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *atomicCounter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestHTTPBackendRules: a backend's own http-request rules run after the
// frontend switched to it.
func TestHTTPBackendRules(t *testing.T) {
	a := httpBackend(t, "web1")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := httpCfg(port, "server web1 "+a, "http-request deny deny_status 429 if { path_beg /limited }", "http-request set-header X-Test from-backend")
	startHalo(t, cfg, addr)
	if got := rawHTTP(t, addr, "GET /limited HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 429 Too Many Requests\r\n") {
		t.Errorf("backend deny: %q", got)
	}
	if got := rawHTTP(t, addr, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); !strings.Contains(got, "test=from-backend") {
		t.Errorf("backend set-header: %q", got)
	}
}
