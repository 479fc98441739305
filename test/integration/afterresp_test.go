package integration

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// afterRespServer answers every request with a small response carrying
// X-Srv, and /bad with bytes that are not HTTP (a 502 for the proxy).
func afterRespServer(t *testing.T) string {
	return tcpServer(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
		}
		if strings.Contains(line, " /bad ") {
			io.WriteString(c, "garbage\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Srv: 1\r\n\r\nok")
	})
}

// rawGet sends one HTTP/1.1 request (raw text, Connection: close) and
// returns the status line and the header lines halo and haproxy are
// compared on: x-*, set-cookie, location, www-authenticate, lower-cased,
// in order.
func rawGet(t *testing.T, addr, req string) (string, []string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("%q: %v", req, err)
	}
	var hdrs []string
	for {
		l, err := br.ReadString('\n')
		if err != nil || l == "\r\n" {
			break
		}
		l = strings.TrimRight(l, "\r\n")
		name, _, _ := strings.Cut(strings.ToLower(l), ":")
		switch {
		case strings.HasPrefix(name, "x-"), name == "set-cookie", name == "location", name == "www-authenticate":
			hdrs = append(hdrs, strings.ToLower(name)+":"+strings.SplitN(l, ":", 2)[1])
		}
	}
	return strings.TrimRight(status, "\r\n"), hdrs
}

// TestAfterResponseSideBySide: http-after-response rules run on server
// responses after http-response rules and the persistence cookie, and on
// every response halo makes itself (redirect, deny, return, auth, the
// stats page, 503 without server, 502 on a bad server response,
// monitor-uri), the backend's rules first when a backend was chosen; not
// on the 400 of an unparsable request (HAProxy's H1 layer answers it
// before any rule). `allow` ends a list, set-status changes the status
// line. The same over HTTP/2 (TLS, ALPN h2). Expected values were taken
// from haproxy 2.6.12, which runs the same configuration after halo.
func TestAfterResponseSideBySide(t *testing.T) {
	srv := afterRespServer(t)
	p := newPKI(t, "After CA")
	crt, _ := p.issue(certOpts{file: "site.pem", names: []string{"site.test"}})
	port, tport := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    timeout http-request 5s
frontend f
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt %s alpn h2
    monitor-uri /mon
    http-after-response set-header X-After fe
    http-after-response add-header X-St %%[status]
    http-after-response set-status 299 reason Fine if { status 201 }
    http-response set-header X-Resp fe
    http-request redirect location /x if { path /redir }
    http-request deny if { path /deny }
    http-request return status 201 content-type text/plain string hi if { path /ret }
    http-request auth if { path /auth }
    use_backend st if { path_beg /stats }
    use_backend none if { path /none }
    default_backend b
backend b
    http-after-response set-header X-After-Be be
    http-after-response allow if { res.hdr(x-srv) 1 }
    http-after-response set-header X-Never be
    cookie SRV insert
    server s %s cookie s1
backend none
backend st
    http-after-response set-header X-After-St st
    http-response set-header X-Resp-St st
    stats enable
    stats uri /stats
`, port, tport, crt, srv)
	type want struct {
		status string
		hdrs   []string
	}
	cases := []struct {
		path string
		want want
	}{
		{"/", want{"HTTP/1.1 200 OK", []string{"x-srv: 1", "x-resp: fe", "set-cookie: SRV=s1; path=/", "x-after-be: be", "x-after: fe", "x-st: 200"}}},
		{"/redir", want{"HTTP/1.1 302 Found", []string{"location: /x", "x-after: fe", "x-st: 302"}}},
		{"/deny", want{"HTTP/1.1 403 Forbidden", []string{"x-after: fe", "x-st: 403"}}},
		{"/ret", want{"HTTP/1.1 299 Fine", []string{"x-after: fe", "x-st: 201"}}},
		{"/auth", want{"HTTP/1.1 401 Unauthorized", []string{`www-authenticate: Basic realm="f"`, "x-after: fe", "x-st: 401"}}},
		{"/stats", want{"HTTP/1.1 200 OK", []string{"x-after-st: st", "x-after: fe", "x-st: 200"}}},
		{"/none", want{"HTTP/1.1 503 Service Unavailable", []string{"x-after: fe", "x-st: 503"}}},
		{"/bad", want{"HTTP/1.1 502 Bad Gateway", []string{"x-after-be: be", "x-never: be", "x-after: fe", "x-st: 502"}}},
		{"/mon", want{"HTTP/1.1 200 OK", []string{"x-after: fe", "x-st: 200"}}},
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	sideBySide(t, cfg, addr, func(t *testing.T, bin string) {
		for _, c := range cases {
			st, hdrs := rawGet(t, addr, "GET "+c.path+" HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n")
			if st != c.want.status || strings.Join(hdrs, "\n") != strings.Join(c.want.hdrs, "\n") {
				t.Errorf("%s GET %s:\n got  %s %q\n want %s %q", bin, c.path, st, hdrs, c.want.status, c.want.hdrs)
			}
		}
		// A request halo cannot parse: the 400 is the parser's, no rule runs.
		st, hdrs := rawGet(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n")
		if !strings.HasPrefix(st, "HTTP/1.1 400") || len(hdrs) != 0 {
			t.Errorf("%s bad request: %s %q, want a 400 without after-response headers", bin, st, hdrs)
		}
		// HTTP/2: the same rules.
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "site.test"}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, c := range cases {
			res, err := cl.Get(fmt.Sprintf("https://127.0.0.1:%d%s", tport, c.path))
			if err != nil {
				t.Errorf("%s h2 GET %s: %v", bin, c.path, err)
				continue
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.ProtoMajor != 2 {
				t.Errorf("%s h2 GET %s: protocol %s", bin, c.path, res.Proto)
			}
			code := strings.Fields(c.want.status)[1]
			if fmt.Sprint(res.StatusCode) != code {
				t.Errorf("%s h2 GET %s: status %d, want %s", bin, c.path, res.StatusCode, code)
			}
			for _, h := range c.want.hdrs {
				name, val, _ := strings.Cut(h, ": ")
				if name == "set-cookie" || name == "www-authenticate" || name == "location" {
					continue
				}
				if got := res.Header.Values(name); len(got) != 1 || got[0] != val {
					t.Errorf("%s h2 GET %s: %s = %q, want %q", bin, c.path, name, got, val)
				}
			}
		}
	})
}

// TestIgnoreProbesSideBySide: a connection that sends nothing and times
// out (timeout http-request) gets a 408, is logged and counted (ereq,
// hrsp_4xx, req_tot) like one closed without a byte; dontlognull only
// stops the logs; option http-ignore-probes sends nothing and neither
// logs nor counts. A partial request still gets its 408. The same
// numbers under haproxy 2.6.12.
func TestIgnoreProbesSideBySide(t *testing.T) {
	needSocat(t)
	for _, tc := range []struct {
		opt     string
		got408  bool
		logs    int
		ereq    string
		partial bool // a partial request still answered 408
	}{
		{"", true, 2, "2", true},
		{"option dontlognull", true, 0, "2", true},
		{"option http-ignore-probes", false, 0, "0", true},
	} {
		t.Run(strings.TrimPrefix(tc.opt, "option "), func(t *testing.T) {
			for _, b := range lbBins(t) {
				t.Run(b.name, func(t *testing.T) {
					port := freePort(t)
					sock := shortSock(t)
					addr := fmt.Sprintf("127.0.0.1:%d", port)
					f := writeConfig(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    log stderr format raw local0
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout http-request 300ms
frontend f
    bind %s
    %s
    http-request return status 200
`, sock, addr, tc.opt))
					h := startProc(t, b.path, addr, nil, nil, "-db", "-f", f)
					// startProc's own probe connection counts too: read the
					// counters before and after.
					time.Sleep(500 * time.Millisecond)
					before := statRows(t, sock)["f/FRONTEND"]
					logs0 := strings.Count(h.stderr.String(), "<BADREQ>")
					c, err := net.Dial("tcp", addr)
					if err != nil {
						t.Fatal(err)
					}
					c.SetDeadline(time.Now().Add(5 * time.Second))
					got, _ := io.ReadAll(c) // the proxy ends it at timeout http-request
					c.Close()
					if strings.HasPrefix(string(got), "HTTP/1.1 408") != tc.got408 || (!tc.got408 && len(got) > 0) {
						t.Errorf("silent connection got %q", got)
					}
					c, err = net.Dial("tcp", addr)
					if err != nil {
						t.Fatal(err)
					}
					c.Close() // closed without a byte
					c, err = net.Dial("tcp", addr)
					if err != nil {
						t.Fatal(err)
					}
					c.SetDeadline(time.Now().Add(5 * time.Second))
					io.WriteString(c, "GET / HTTP/1.1\r\n")
					got, _ = io.ReadAll(c)
					c.Close()
					if strings.HasPrefix(string(got), "HTTP/1.1 408") != tc.partial {
						t.Errorf("partial request got %q", got)
					}
					var after map[string]string
					waitFor(t, "the counters", 5*time.Second, func() bool {
						after = statRows(t, sock)["f/FRONTEND"]
						return after["stot"] == fmt.Sprint(atoi(before["stot"])+3)
					})
					// The partial request is one more error and one more log.
					if d := atoi(after["ereq"]) - atoi(before["ereq"]) - 1; fmt.Sprint(d) != tc.ereq {
						t.Errorf("ereq went from %s to %s, want %s more for the silent connections", before["ereq"], after["ereq"], tc.ereq)
					}
					if d := atoi(after["req_tot"]) - atoi(before["req_tot"]) - 1; fmt.Sprint(d) != tc.ereq {
						t.Errorf("req_tot went from %s to %s, want %s more", before["req_tot"], after["req_tot"], tc.ereq)
					}
					waitFor(t, "the partial request's log", 5*time.Second, func() bool {
						return strings.Count(h.stderr.String(), "<BADREQ>") >= logs0+1
					})
					time.Sleep(200 * time.Millisecond)
					if n := strings.Count(h.stderr.String(), "<BADREQ>") - logs0 - 1; n != tc.logs {
						t.Errorf("%d <BADREQ> logs for the silent connections, want %d:\n%s", n, tc.logs, h.stderr.String())
					}
				})
			}
		})
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// shortSock is a unix socket path short enough for sun_path (a subtest's
// TempDir is not), removed with its folder at the end.
func shortSock(t *testing.T) string {
	dir, err := os.MkdirTemp("", "ar")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s.sock")
}

// TestDefaultPathSideBySide: with `default-path config`, the relative
// errorfile, certificate and pattern file of a configuration are found
// beside it whatever the working directory, under halo and haproxy.
func TestDefaultPathSideBySide(t *testing.T) {
	dir := t.TempDir()
	p := newPKI(t, "Path CA")
	crt, _ := p.issue(certOpts{file: "site.pem", names: []string{"site.test"}})
	data, err := os.ReadFile(crt)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"site.pem": string(data),
		"e.http":   "HTTP/1.0 503 Service Unavailable\r\ncontent-type: text/plain\r\n\r\nbeside the config\n",
		"deny.lst": "/deny\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port, tport := freePort(t), freePort(t)
	cfgFile := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`global
    default-path config
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt site.pem
    errorfile 503 e.http
    http-request deny if { path -f deny.lst }
    default_backend none
backend none
`, port, tport)), 0o644)
	elsewhere := t.TempDir()
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	for _, b := range lbBins(t) {
		t.Run(b.name, func(t *testing.T) {
			h := startProcIn(t, elsewhere, b.path, fmt.Sprintf("127.0.0.1:%d", port), nil, nil, "-db", "-f", cfgFile)
			defer func() { h.cmd.Process.Kill(); <-h.done }()
			cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "site.test"}}}
			defer cl.CloseIdleConnections()
			for _, tc := range []struct {
				url  string
				code int
				body string
			}{
				{fmt.Sprintf("http://127.0.0.1:%d/", port), 503, "beside the config\n"},
				{fmt.Sprintf("https://127.0.0.1:%d/", tport), 503, "beside the config\n"},
				{fmt.Sprintf("http://127.0.0.1:%d/deny", port), 403, ""},
			} {
				res, err := cl.Get(tc.url)
				if err != nil {
					t.Errorf("GET %s: %v", tc.url, err)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != tc.code || tc.body != "" && string(body) != tc.body {
					t.Errorf("GET %s: %d %q, want %d %q", tc.url, res.StatusCode, body, tc.code, tc.body)
				}
			}
		})
	}
}
