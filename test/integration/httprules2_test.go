package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recBackend is a raw TCP HTTP server that records the exact bytes of
// every request it receives, keyed by the request's X-Case header, and
// answers with the head registered for that case (200 OK by default)
// and a small body, then closes the connection.
type recBackend struct {
	addr  string
	addr2 string // a second listener, whose answers carry "x-srv: 2"
	mu    sync.Mutex
	got   map[string]string // X-Case -> request bytes
	res   map[string]string // X-Case -> status line and headers to answer with
}

func startRecBackend(t *testing.T) *recBackend {
	t.Helper()
	rb := &recBackend{got: map[string]string{}, res: map[string]string{}}
	serve := func(extra string) func(net.Conn) {
		return func(c net.Conn) {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for {
				raw, key, err := readRawRequest(br)
				if err != nil {
					return
				}
				rb.mu.Lock()
				rb.got[key] = raw
				head, ok := rb.res[key]
				rb.mu.Unlock()
				if !ok {
					head = "HTTP/1.1 200 OK\r\n"
				}
				body := "ok\n"
				if _, err := io.WriteString(c, head+extra+"content-length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body); err != nil {
					return
				}
			}
		}
	}
	rb.addr = tcpServer(t, serve(""))
	rb.addr2 = tcpServer(t, serve("x-srv: 2\r\n"))
	return rb
}

// take returns and forgets what the backend received for a case.
func (rb *recBackend) take(key string) string {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	v, ok := rb.got[key]
	delete(rb.got, key)
	if !ok {
		return "<nothing>"
	}
	return v
}

// readRawRequest reads one request head and its Content-Length body.
func readRawRequest(br *bufio.Reader) (raw, key string, err error) {
	var b strings.Builder
	cl := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		b.WriteString(line)
		if line == "\r\n" || line == "\n" {
			break
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch strings.ToLower(name) {
		case "x-case":
			key = val
		case "content-length":
			cl, _ = strconv.Atoi(val)
		}
	}
	body := make([]byte, cl)
	if _, err := io.ReadFull(br, body); err != nil {
		return "", "", err
	}
	b.Write(body)
	return b.String(), key, nil
}

// diffCase is one request sent through both proxies.
type diffCase struct {
	name string
	req  string // request line and headers (no final blank line); X-Case and Connection: close are added
	body string // request body, sent with a Content-Length
	res  string // the backend's status line and headers ("" for 200 OK)
	// check, when set, also asserts on halo's answer and what the backend
	// received, for cases haproxy cannot be run on or to pin the expected bytes.
	check func(t *testing.T, resp, got string)
}

// diffGroup is a configuration and the cases run against it. In cfg,
// {{BIND}} is the frontend address, {{SRV}} the recording backend and
// {{DIR}} a directory the group's files are written to.
type diffGroup struct {
	name  string
	cfg   string
	files map[string]string // written to {{DIR}} before the proxies start
	cases []diffCase
	// norm, when set, rewrites what legitimately differs between two runs
	// (such as the current date in a cookie) in answers and backend bytes.
	norm func(string) string
}

type diffResult struct{ resp, got string }

// runDiff runs the group under halo and, when installed, under haproxy,
// on the same port one after the other (so that dst/dst_port agree), and
// reports every case whose client-visible bytes or backend-visible bytes
// differ.
func runDiff(t *testing.T, g diffGroup) {
	t.Helper()
	rb := startRecBackend(t)
	dir := t.TempDir()
	for name, text := range g.files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range g.cases {
		if c.res != "" {
			rb.res[c.name] = c.res
		}
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := strings.NewReplacer("{{BIND}}", addr, "{{SRV}}", rb.addr, "{{SRV2}}", rb.addr2, "{{DIR}}", dir).Replace(g.cfg)
	run := func(bin string) map[string]diffResult {
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", writeConfig(t, cfg))
		defer func() { h.cmd.Process.Kill(); <-h.done }()
		out := map[string]diffResult{}
		for _, c := range g.cases {
			out[c.name] = diffResult{sendCase(t, addr, c), rb.take(c.name)}
		}
		return out
	}
	halo := run(haloBin)
	for _, c := range g.cases {
		if c.check != nil {
			t.Run(c.name, func(t *testing.T) { c.check(t, halo[c.name].resp, halo[c.name].got) })
		}
	}
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Log("haproxy not installed: no side-by-side comparison")
		return
	}
	ref := run(hp)
	for _, c := range g.cases {
		h, r := halo[c.name], ref[c.name]
		if g.norm != nil {
			h = diffResult{g.norm(h.resp), g.norm(h.got)}
			r = diffResult{g.norm(r.resp), g.norm(r.got)}
		}
		if os.Getenv("HALO_DIFF_VERBOSE") != "" { // to read haproxy's bytes when writing a case
			t.Logf("%s:\n  client:  %q\n  backend: %q", c.name, r.resp, r.got)
		}
		if h.resp != r.resp {
			t.Errorf("%s: client got\nhalo:    %q\nhaproxy: %q", c.name, h.resp, r.resp)
		}
		if h.got != r.got {
			t.Errorf("%s: backend got\nhalo:    %q\nhaproxy: %q", c.name, h.got, r.got)
		}
	}
}

// sendCase sends a case's request on a new connection and returns the
// whole answer.
func sendCase(t *testing.T, addr string, c diffCase) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := c.req + "\r\nX-Case: " + c.name + "\r\nConnection: close\r\n"
	if c.body != "" {
		req += "Content-Length: " + strconv.Itoa(len(c.body)) + "\r\n"
	}
	io.WriteString(conn, req+"\r\n"+c.body)
	b, _ := io.ReadAll(conn)
	return string(b)
}

// wants asserts that a case's answer and the backend's bytes contain parts.
func wants(resp []string, got []string) func(t *testing.T, resp, got string) {
	return func(t *testing.T, r, g string) {
		t.Helper()
		for _, p := range resp {
			if !strings.Contains(r, p) {
				t.Errorf("answer lacks %q:\n%q", p, r)
			}
		}
		for _, p := range got {
			if !strings.Contains(g, p) {
				t.Errorf("backend bytes lack %q:\n%q", p, g)
			}
		}
	}
}

const diffDefaults = `defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
`

// TestRewriteDiff: URI and header rewrites, compared byte for byte.
func TestRewriteDiff(t *testing.T) {
	runDiff(t, diffGroup{
		cfg: diffDefaults + `frontend fe
    bind {{BIND}}
    http-request set-path /sp if { hdr(x-case) -m beg setpath }
    http-request replace-path /a(.*) /b\1 if { hdr(x-case) -m beg replpath }
    http-request set-query q=2 if { hdr(x-case) -m beg setquery }
    http-request set-uri /u?x if { hdr(x-case) -m beg seturi }
    http-request replace-header X-H foo bar if { hdr(x-case) -m beg replhdr }
    http-request replace-header X-H ^(a)(.*)$ \2\1 if { hdr(x-case) -m beg replhdr }
    http-request replace-value X-V foo bar if { hdr(x-case) -m beg replval }
    http-request replace-value X-V ^(a)(.*)$ \2\1 if { hdr(x-case) -m beg replval }
    http-request replace-header X-F (f)oo <%[src]\1> if { hdr(x-case) -m beg fmt }
    http-request replace-header X-F (o+) [\x41\.\1\9] if { hdr(x-case) -m beg escapes }
    http-request replace-value X-T ^b$ B if { hdr(x-case) -m beg trim }
    http-request replace-uri ^/(.*)q=1 /U\1 if { hdr(x-case) -m beg repluri }
    http-request replace-pathq ^/p(.*)$ /P\1 if { hdr(x-case) -m beg replpathq }
    http-request set-pathq /np?nq=1 if { hdr(x-case) -m beg setpathq }
    http-request set-path /sp2 if { hdr(x-case) -m beg nopath-setpath }
    http-request set-query q=2 if { hdr(x-case) -m beg nopath-setquery }
    http-request replace-path (.*) /r\1 if { hdr(x-case) -m beg nopath-replpath }
    http-request set-query %[hdr(x-none)] if { hdr(x-case) -m beg emptyquery }
    default_backend be
backend be
    server s {{SRV}}
`,
		cases: []diffCase{
			{name: "setpath-abs", req: "GET http://example.com/old?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "setpath-origin", req: "GET /old?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "setpath-abs-noquery", req: "GET http://example.com HTTP/1.1\r\nHost: example.com"},
			{name: "replpath-abs", req: "GET http://example.com/a/x?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "replpath-mid", req: "GET /x/a/y?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "replpath-start", req: "GET /a/y HTTP/1.1\r\nHost: example.com"},
			{name: "setquery-abs", req: "GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "seturi-abs", req: "GET http://example.com/p?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "replhdr-sub", req: "GET / HTTP/1.1\r\nHost: example.com\r\nX-H: xfooy"},
			{name: "replhdr-twice", req: "GET / HTTP/1.1\r\nHost: example.com\r\nX-H: foofoo"},
			{name: "replhdr-list", req: "GET / HTTP/1.1\r\nHost: example.com\r\nX-H: afoo, b"},
			{name: "replhdr-none", req: "GET / HTTP/1.1\r\nHost: example.com\r\nX-H: zzz"},
			{name: "replval-sub", req: "GET / HTTP/1.1\r\nHost: example.com\r\nX-V: xfooy, afoo,  b ,foo"},
			{name: "replval-two-lines", req: "GET / HTTP/1.1\r\nHost: example.com\r\nX-V: abc\r\nX-V: foo,x"},
			{name: "fmt", req: "GET / HTTP/1.1\r\nHost: example.com\r\nX-F: xfooy"},
			{name: "escapes", req: "GET / HTTP/1.1\r\nHost: example.com\r\nX-F: xfooy"},
			{name: "trim", req: "GET / HTTP/1.1\r\nHost: example.com\r\nX-T: a,  b , b"},
			{name: "repluri", req: "GET /x?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "repluri-abs", req: "GET http://example.com/x?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "replpathq", req: "GET /p/x?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "replpathq-abs", req: "GET http://example.com/p/x?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "setpathq-abs", req: "GET http://example.com/p/x?q=1 HTTP/1.1\r\nHost: example.com"},
			{name: "nopath-setpath", req: "GET http://example.com HTTP/1.1\r\nHost: example.com"},
			{name: "nopath-setquery", req: "GET http://example.com HTTP/1.1\r\nHost: example.com"},
			{name: "nopath-replpath", req: "GET http://example.com HTTP/1.1\r\nHost: example.com"},
			{name: "nopath-replpath-star", req: "OPTIONS * HTTP/1.1\r\nHost: example.com"},
			{name: "nopath-setpath-star", req: "OPTIONS * HTTP/1.1\r\nHost: example.com"},
			{name: "emptyquery", req: "GET /p?x=1 HTTP/1.1\r\nHost: example.com"},
			{name: "emptyquery-none", req: "GET /p HTTP/1.1\r\nHost: example.com"},
		},
	})
}
