package integration

// HTTP/1.1 engine tests through real sockets: a raw TCP backend records
// the exact bytes each proxy sent it, and most exchanges run through
// haproxy and halo side by side with the same configuration.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// rawBackend is an HTTP/1.1 server written on raw TCP: it records every
// request exactly as received (head, body, chunk framing, trailers) with
// the number of the connection it came on, and answers with the canned
// response named by the last path segment (rawResponses), or with the
// connection number ("conn=N") for any other path.
type rawBackend struct {
	ln     net.Listener
	addr   string
	mu     sync.Mutex
	nconn  int
	reqs   []rawReq
	closed map[int]bool // connections the peer closed
}

type rawReq struct {
	conn int
	raw  string
}

// rawResponses are the backend's canned answers, by last path segment.
var rawResponses = map[string]string{
	"ok":       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"clte":     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	"chunked":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n2\r\nok\r\n0\r\nX-T: tv\r\nX-U: uv\r\n\r\n",
	"dupcl":    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	"cllist":   "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
	"close":    "HTTP/1.1 200 OK\r\n\r\nclose-delimited",
	"r10":      "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"r10ka":    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
	"204":      "HTTP/1.1 204 No Content\r\n\r\n",
	"304":      "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nETag: x\r\n\r\n",
	"hop":      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nTE: trailers\r\nTrailer: X-T\r\nUpgrade: foo\r\nProxy-Authenticate: Basic\r\n\r\nok",
	"tegzip":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nGZDATA",
	"tegzipch": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nGZ\r\n0\r\n\r\n",
	"trcl":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n",
	"bighead":  "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 16000) + "\r\nContent-Length: 2\r\n\r\nok",
	"manyhdrs": "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-H: v\r\n", 120) + "Content-Length: 2\r\n\r\nok",
	"connect":  "HTTP/1.1 200 Connection established\r\n\r\n",
}

func startRawBackend(t *testing.T) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{ln: ln, addr: ln.Addr().String(), closed: map[int]bool{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.nconn++
			id := b.nconn
			b.mu.Unlock()
			conns = append(conns, c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.serve(c, id)
			}()
		}
	}()
	return b
}

func (b *rawBackend) serve(c net.Conn, id int) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		var rec bytes.Buffer
		head, err := readRawHead(br, &rec)
		if err != nil {
			b.mu.Lock()
			b.closed[id] = true
			b.mu.Unlock()
			return
		}
		if err := readRawBody(br, &rec, head, ""); err != nil {
			return
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, rawReq{conn: id, raw: rec.String()})
		b.mu.Unlock()
		target := strings.Fields(head)[1]
		key := target[strings.LastIndexByte(target, '/')+1:]
		if i := strings.IndexByte(key, '?'); i >= 0 {
			key = key[:i]
		}
		resp, canned := rawResponses[key]
		if strings.HasPrefix(head, "CONNECT ") {
			resp, canned = rawResponses["connect"], true
		}
		if !canned {
			body := "conn=" + strconv.Itoa(id)
			resp = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Conn: %d\r\n\r\n%s", len(body), id, body)
		}
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
		switch {
		case key == "close", strings.HasPrefix(resp, "HTTP/1.0") && key != "r10ka":
			return
		case strings.HasPrefix(head, "CONNECT "):
			io.Copy(c, br) // a tunnel: echo
			return
		}
	}
}

// requests returns the requests received so far.
func (b *rawBackend) requests() []rawReq {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]rawReq(nil), b.reqs...)
}

// received is every request's bytes, in order, one string.
func (b *rawBackend) received() string {
	var s strings.Builder
	for _, r := range b.requests() {
		s.WriteString(r.raw)
	}
	return s.String()
}

func (b *rawBackend) reset() {
	b.mu.Lock()
	b.reqs = nil
	b.mu.Unlock()
}

func (b *rawBackend) isClosed(id int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed[id]
}

// readRawHead reads a message head (up to the empty line, CRLF or LF),
// copying the bytes to rec; it returns the head.
func readRawHead(br *bufio.Reader, rec *bytes.Buffer) (string, error) {
	start := rec.Len()
	for {
		line, err := br.ReadString('\n')
		rec.WriteString(line)
		if err != nil {
			return "", err
		}
		if line == "\r\n" || line == "\n" {
			return rec.String()[start:], nil
		}
	}
}

// headerOf returns the first value of a header in a raw head.
func headerOf(head, name string) (string, bool) {
	for _, l := range strings.Split(head, "\n")[1:] {
		k, v, ok := strings.Cut(strings.TrimRight(l, "\r"), ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// readRawBody reads the body the head announces (chunked with trailers,
// Content-Length, or for a response to method, no body / up to EOF),
// copying the bytes to rec.
func readRawBody(br *bufio.Reader, rec *bytes.Buffer, head, method string) error {
	response := strings.HasPrefix(head, "HTTP/")
	status := 0
	if response {
		status, _ = strconv.Atoi(strings.Fields(head)[1])
		if method == "HEAD" || status < 200 || status == 204 || status == 304 || method == "CONNECT" && status < 300 {
			return nil
		}
	}
	if te, ok := headerOf(head, "transfer-encoding"); ok && strings.EqualFold(te, "chunked") {
		for {
			line, err := br.ReadString('\n')
			rec.WriteString(line)
			if err != nil {
				return err
			}
			size, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(line, ";", 2)[0]), 16, 64)
			if err != nil {
				return err
			}
			if size == 0 {
				_, err := readRawHead(br, rec) // trailers and the empty line
				return err
			}
			if _, err := io.CopyN(rec, br, size+2); err != nil {
				return err
			}
		}
	}
	if cl, ok := headerOf(head, "content-length"); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(strings.Split(cl, ",")[0]), 10, 64)
		if err != nil {
			return err
		}
		_, err = io.CopyN(rec, br, n)
		return err
	}
	if response {
		_, err := io.Copy(rec, br)
		return err
	}
	return nil
}

// rawClient is one client connection speaking raw HTTP/1.1.
type rawClient struct {
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawClient{c: c, br: bufio.NewReader(c)}
}

// do sends req and returns the raw bytes of one response to it (""
// when the connection closed first).
func (rc *rawClient) do(t *testing.T, req string) string {
	t.Helper()
	if _, err := io.WriteString(rc.c, req); err != nil {
		return ""
	}
	return rc.response(t, strings.Fields(req)[0])
}

// response reads one response to a request with method.
func (rc *rawClient) response(t *testing.T, method string) string {
	t.Helper()
	var rec bytes.Buffer
	head, err := readRawHead(rc.br, &rec)
	if err != nil {
		return rec.String()
	}
	if err := readRawBody(rc.br, &rec, head, method); err != nil && err != io.EOF {
		t.Logf("reading the response body: %v", err)
	}
	return rec.String()
}

// closed reports whether the peer closed the connection (EOF without
// bytes within limit).
func (rc *rawClient) closed(limit time.Duration) (bool, string) {
	rc.c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(rc.br)
	return err == nil, string(b)
}

// rawExchange writes raw bytes, half-closes and returns everything the
// proxy answered until it closed.
func rawExchange(t *testing.T, addr, req string) string {
	t.Helper()
	rc := dialRaw(t, addr)
	io.WriteString(rc.c, req)
	rc.c.(*net.TCPConn).CloseWrite()
	b, _ := io.ReadAll(rc.br)
	return string(b)
}

// proxyUnderTest is halo or haproxy running one configuration.
type proxyUnderTest struct {
	name, addr string
	be         *rawBackend
}

// startBoth runs cfg (a format with the listening port then the raw
// backend's address) under halo and, when installed, haproxy, each with
// its own raw backend.
func startBoth(t *testing.T, cfg string) []proxyUnderTest {
	t.Helper()
	bins := []struct{ name, bin string }{{"halo", haloBin}}
	if hp, err := exec.LookPath("haproxy"); err == nil {
		bins = append(bins, struct{ name, bin string }{"haproxy", hp})
	} else {
		t.Log("haproxy not installed: halo only")
	}
	var out []proxyUnderTest
	for _, b := range bins {
		be := startRawBackend(t)
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		startProc(t, b.bin, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(cfg, port, be.addr)))
		out = append(out, proxyUnderTest{b.name, addr, be})
	}
	return out
}

const engineCfg = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string "pong\n" if { path /ret }
    http-request deny if { path /deny }
    http-request redirect location /x if { path /redir }
    http-request set-var(txn.p) path
    default_backend app
backend app
    http-response set-status 204 if { var(txn.p) -m beg /to204/ }
    http-response set-status 304 if { var(txn.p) -m beg /to304/ }
    server s1 %s
`

// TestEngineSideBySide sends raw requests through halo and haproxy and
// compares, byte for byte, what the client got back and what the server
// received. Each case also states what halo must do, so that it asserts
// something without haproxy.
func TestEngineSideBySide(t *testing.T) {
	cases := []struct {
		name, req string
		resp      []string // substrings of the client's bytes (halo)
		sent      []string // substrings of what the server received ("" = nothing)
	}{
		// HEAD: local answers without their body, TE kept.
		{"HEAD return", "HEAD /ret HTTP/1.1\r\nHost: a\r\n\r\n", []string{"^HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/plain\r\n\r\n$"}, nil},
		{"HEAD deny", "HEAD /deny HTTP/1.1\r\nHost: a\r\n\r\n", []string{"^HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\n", "content-type: text/html\r\n\r\n$"}, nil},
		{"HEAD redirect", "HEAD /redir HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /x\r\n"}, nil},
		{"HEAD return, close", "HEAD /ret HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", []string{"^HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n$"}, nil},
		{"HEAD chunked", "HEAD /chunked HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: X-T\r\n", "\r\n\r\n$"}, []string{"HEAD /chunked HTTP/1.1\r\nhost: a\r\n\r\n"}},
		{"HEAD CL and TE", "HEAD /clte HTTP/1.1\r\nHost: a\r\n\r\n", []string{"^HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n$"}, nil},
		// (read as GET: a parse error's page keeps its body, as haproxy's.)
		{"HEAD bad request keeps its body", "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n", "</html>\n$"}, []string{""}},
		// Response framing.
		{"CL and TE response", "GET /clte HTTP/1.1\r\nHost: a\r\n\r\n", []string{"^HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n$"}, nil},
		{"response trailers", "GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n", []string{"trailer: X-T\r\n", "0\r\nx-t: tv\r\nx-u: uv\r\n\r\n$"}, nil},
		{"response trailer named Content-Length", "GET /trcl HTTP/1.1\r\nHost: a\r\n\r\n", []string{"0\r\ncontent-length: 5\r\nx-a: 1\r\n\r\n$"}, nil},
		{"duplicate CL response", "GET /dupcl HTTP/1.1\r\nHost: a\r\n\r\n", []string{"^HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok$"}, nil},
		{"CL list response", "GET /cllist HTTP/1.1\r\nHost: a\r\n\r\n", []string{"content-length: 2\r\n"}, nil},
		{"close-delimited", "GET /close HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nclose-delimited$"}, nil},
		{"HTTP/1.0 response", "GET /r10 HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n"}, nil},
		{"204", "GET /204 HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 204 No Content\r\n"}, nil},
		{"304 keeps CL", "GET /304 HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\netag: x\r\n"}, nil},
		// http-response set-status 204/304: the server's body is dropped
		// (204 also loses its framing headers), and the next response on
		// the connection is framed right.
		{"set-status 204", "GET /to204/ok HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"^HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok$"}, nil},
		{"set-status 204 chunked", "GET /to204/chunked HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"^HTTP/1.1 204 No Content\r\ntrailer: X-T\r\n\r\nHTTP/1.1 200 OK\r\n"}, nil},
		{"set-status 304 chunked", "GET /to304/chunked HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"^HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\ntrailer: X-T\r\n\r\nHTTP/1.1 200 OK\r\n"}, nil},
		{"set-status 304", "GET /to304/ok HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n",
			[]string{"^HTTP/1.1 304 Not Modified\r\ncontent-length: 2\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok$"}, nil},
		{"hop-by-hop response headers", "GET /hop HTTP/1.1\r\nHost: a\r\n\r\n", []string{"keep-alive: timeout=5\r\nproxy-connection: x\r\nte: trailers\r\ntrailer: X-T\r\nupgrade: foo\r\n"}, nil},
		{"response TE gzip", "GET /tegzip HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 502 Bad Gateway\r\n"}, nil},
		{"response TE gzip, chunked", "GET /tegzipch HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 502 Bad Gateway\r\n"}, nil},
		// Request normalisation.
		{"two identical Host", "GET /ok HTTP/1.1\r\nHost: a\r\nHost: A\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"}, []string{"GET /ok HTTP/1.1\r\nhost: a\r\n\r\n"}},
		{"two different Host", "GET /ok HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"absolute URI", "GET http://a/ok HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"}, []string{"GET http://a/ok HTTP/1.1\r\nhost: a\r\n"}},
		{"absolute URI default port", "GET http://a:80/ok HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"}, []string{"GET http://a/ok HTTP/1.1\r\n"}},
		{"absolute URI other host", "GET http://b/ok HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"absolute URI other port", "GET http://a:8080/ok HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		// A default port goes from the target, then from Host too.
		{"absolute URI default port, Host too", "GET http://a:80/ok HTTP/1.1\r\nHost: a:80\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"}, []string{"^GET http://a/ok HTTP/1.1\r\nhost: a\r\n\r\n$"}},
		{"absolute URI empty port, Host too", "GET http://a:/ok HTTP/1.1\r\nHost: a:\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"}, []string{"^GET http://a/ok HTTP/1.1\r\nhost: a\r\n\r\n$"}},
		{"absolute URI default port, no Host", "GET http://a:80/ok HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"}, []string{"^GET http://a/ok HTTP/1.1\r\n\r\n$"}},
		{"absolute URI, Host with the default port", "GET http://a/ok HTTP/1.1\r\nHost: a:80\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"}, []string{"^GET http://a/ok HTTP/1.1\r\nhost: a:80\r\n\r\n$"}},
		// CONNECT: host:port with a numeric port, the same as Host's, a
		// port 80 or 443 removed from Host.
		{"CONNECT Host loses 443", "CONNECT a.example:443 HTTP/1.1\r\nHost: A.example:443\r\n\r\n", []string{"^HTTP/1.1 200 Connection established\r\n\r\n$"}, []string{"^CONNECT a.example:443 HTTP/1.1\r\nhost: A.example\r\n\r\n$"}},
		{"CONNECT Host keeps 8443", "CONNECT a.example:8443 HTTP/1.1\r\nHost: a.example:8443\r\n\r\n", nil, []string{"^CONNECT a.example:8443 HTTP/1.1\r\nhost: a.example:8443\r\n\r\n$"}},
		{"CONNECT Host without port", "CONNECT a.example:80 HTTP/1.1\r\nHost: a.example\r\n\r\n", nil, []string{"^CONNECT a.example:80 HTTP/1.1\r\nhost: a.example\r\n\r\n$"}},
		{"CONNECT Host other port", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:80\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"CONNECT Host other name", "CONNECT a.example:443 HTTP/1.1\r\nHost: b.example\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"CONNECT non-default port, Host without", "CONNECT a.example:8443 HTTP/1.1\r\nHost: a.example\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"CONNECT without port", "CONNECT a.example HTTP/1.1\r\nHost: a.example\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"CONNECT port not numeric", "CONNECT a.example:https HTTP/1.1\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"fragment in target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"}, []string{"OPTIONS * HTTP/1.1\r\nhost: a\r\n\r\n"}},
		{"HTTP/1.2 sent as 1.1", "GET /ok HTTP/1.2\r\nHost: a\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"}, []string{"GET /ok HTTP/1.1\r\nhost: a\r\n\r\n"}},
		{"request hop-by-hop headers", "GET /ok HTTP/1.1\r\nHost: a\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\n\r\n", nil,
			[]string{"host: a\r\nkeep-alive: timeout=5\r\nproxy-connection: keep-alive\r\nte: trailers\r\ntrailer: X-T\r\n\r\n"}},
		// Request bodies.
		{"duplicate CL request", "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", []string{"HTTP/1.1 200 OK\r\n"}, []string{"POST /ok HTTP/1.1\r\nhost: a\r\ncontent-length: 2\r\n\r\nok"}},
		{"CL list request", "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nok", []string{"HTTP/1.1 200 OK\r\n"}, []string{"content-length: 2\r\n\r\nok"}},
		// RFC 9112 6.1: the connection closes after such a request.
		{"CL and TE request", "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []string{"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n"},
			[]string{"POST /ok HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"}},
		{"request trailers", "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Tr: 1\r\nContent-Length: 9\r\n\r\n", []string{"HTTP/1.1 200 OK\r\n"},
			[]string{"2\r\nok\r\n0\r\nx-tr: 1\r\ncontent-length: 9\r\n\r\n"}},
		{"TE gzip, chunked", "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
			[]string{"^HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n"}, []string{""}},
		{"TE ,chunked", "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", []string{"HTTP/1.1 422 "}, []string{""}},
		{"TE xchunked", "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"TE chunked, gzip", "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", []string{"HTTP/1.1 400 Bad request\r\n"}, []string{""}},
		{"two TE headers", "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []string{"HTTP/1.1 422 "}, []string{""}},
		// HTTP/1.0 clients.
		{"1.0 without keep-alive", "GET /ok HTTP/1.0\r\n\r\n", []string{"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok$"},
			[]string{"GET /ok HTTP/1.0\r\nconnection: keep-alive\r\n\r\n"}},
		{"1.0 keep-alive twice", "GET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /ok HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			[]string{"^HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok$"}, nil},
		{"1.0 keep-alive local answer", "GET /ret HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"content-type: text/plain\r\nconnection: keep-alive\r\n\r\npong\n"}, nil},
		{"1.0 keep-alive, 1.0 server", "GET /r10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok$"}, nil},
		{"1.1 client, 1.0 keep-alive server", "GET /r10ka HTTP/1.1\r\nHost: a\r\n\r\n", []string{"HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok$"}, nil},
	}
	proxies := startBoth(t, engineCfg)
	type result struct{ resp, sent string }
	got := map[string][]result{}
	for _, p := range proxies {
		for _, tc := range cases {
			p.be.reset()
			// Read as many responses as requests were sent, by their
			// framing (the connection stays open: no half-close, whose
			// timing would change the answers).
			rc := dialRaw(t, p.addr)
			io.WriteString(rc.c, tc.req)
			var resp strings.Builder
			for i := 0; i < strings.Count(tc.req, " HTTP/1."); i++ {
				method := strings.Fields(tc.req)[0]
				if strings.HasSuffix(tc.name, "keeps its body") {
					method = "GET"
				}
				r := rc.response(t, method)
				if r == "" {
					break
				}
				resp.WriteString(r)
			}
			if strings.HasPrefix(tc.req, "HEAD ") {
				// Nothing may follow the head of an answer to HEAD.
				rc.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if extra, _ := io.ReadAll(rc.br); len(extra) > 0 {
					resp.WriteString("<then>" + string(extra))
				}
			}
			rc.c.Close()
			got[tc.name] = append(got[tc.name], result{resp.String(), p.be.received()})
		}
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			halo := got[tc.name][0]
			for _, want := range tc.resp {
				if !matches(halo.resp, want) {
					t.Errorf("halo answered %q, want %q", halo.resp, want)
				}
			}
			for _, want := range tc.sent {
				if want == "" && halo.sent != "" || !matches(halo.sent, want) {
					t.Errorf("the server got %q from halo, want %q", halo.sent, want)
				}
			}
			if len(got[tc.name]) < 2 {
				return
			}
			hp := got[tc.name][1]
			if halo.resp != hp.resp {
				t.Errorf("case %d: client got\nhalo    %q\nhaproxy %q", i, halo.resp, hp.resp)
			}
			if halo.sent != hp.sent {
				t.Errorf("case %d: server got\nhalo    %q\nhaproxy %q", i, halo.sent, hp.sent)
			}
		})
	}
}

// matches reports whether s contains want; a leading ^ anchors it at the
// start, a trailing $ at the end.
func matches(s, want string) bool {
	if want == "" {
		return true
	}
	start, end := strings.HasPrefix(want, "^"), strings.HasSuffix(want, "$")
	want = strings.TrimSuffix(strings.TrimPrefix(want, "^"), "$")
	switch {
	case start && end:
		return s == want
	case start:
		return strings.HasPrefix(s, want)
	case end:
		return strings.HasSuffix(s, want)
	}
	return strings.Contains(s, want)
}

// TestEngineHaloOnly covers what halo deliberately does differently from
// haproxy 2.6, each for a reason stated in the case.
func TestEngineHaloOnly(t *testing.T) {
	be := startRawBackend(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, fmt.Sprintf(engineCfg, port, be.addr), addr)
	for _, tc := range []struct{ name, req, want, sent string }{
		// haproxy answers these with a plain 400 (or forwards HTTP/2.0).
		{"414 long URI", "GET /" + strings.Repeat("u", 16000) + " HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 414 URI Too Long\r\n", ""},
		{"431 big header", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("h", 16000) + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large\r\n", ""},
		{"431 too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: h\r\n", 101) + "\r\n", "HTTP/1.1 431 ", ""},
		{"505 HTTP/2.0 line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported\r\n", ""},
		// haproxy forwards control characters in values; halo refuses them.
		// (README, "Better than HAProxy, on purpose"; a tab is fine.)
		{"control character in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", "HTTP/1.1 400 ", ""},
		{"unit separator in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x1fb\r\n\r\n", "HTTP/1.1 400 ", ""},
		{"DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", "HTTP/1.1 400 ", ""},
		{"tab in value", "GET /ok HTTP/1.1\r\nHost: a\r\nX: a\tb\r\n\r\n", "HTTP/1.1 200 OK\r\n", "GET /ok HTTP/1.1\r\nhost: a\r\nx: a\tb\r\n\r\n"},
		// RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has
		// faulty framing (haproxy forwards it).
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 400 ", ""},
		// halo sends Upgrade only with Connection: upgrade (no h2c upgrade
		// smuggled past the rules); haproxy forwards it.
		{"Upgrade without Connection", "GET /ok HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n", "HTTP/1.1 200 OK\r\n", "GET /ok HTTP/1.1\r\nhost: a\r\n\r\n"},
		// A normalised coding list is forwarded as "chunked".
		{"TE chunked,", "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", "HTTP/1.1 200 OK\r\n", "POST /ok HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be.reset()
			got := rawExchange(t, addr, tc.req)
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if sent := be.received(); sent != tc.sent {
				t.Errorf("the server got %q, want %q", sent, tc.sent)
			}
		})
	}
}

// TestEngineConnect: CONNECT is forwarded and then tunnels bytes both
// ways, through both proxies.
func TestEngineConnect(t *testing.T) {
	for _, p := range startBoth(t, engineCfg) {
		t.Run(p.name, func(t *testing.T) {
			rc := dialRaw(t, p.addr)
			resp := rc.do(t, "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n")
			if !strings.HasPrefix(resp, "HTTP/1.1 200 Connection established\r\n") {
				t.Fatalf("CONNECT answered %q", resp)
			}
			io.WriteString(rc.c, "ping through the tunnel")
			buf := make([]byte, len("ping through the tunnel"))
			if _, err := io.ReadFull(rc.br, buf); err != nil || string(buf) != "ping through the tunnel" {
				t.Errorf("tunnel echoed %q, %v", buf, err)
			}
			// Port 443 goes from Host (haproxy 2.6 normalises it so).
			if got := p.be.received(); got != "CONNECT a.example:443 HTTP/1.1\r\nhost: a.example\r\n\r\n" {
				t.Errorf("the server got %q", got)
			}
		})
	}
}

// TestEngineTimeouts: timeout http-request bounds the whole head (a slow
// drip gets 408), timeout http-keep-alive closes an idle keep-alive
// connection silently, and a next request that starts but does not
// finish gets 408. Timeouts are short; the assertions only use their
// order (the drip would last far longer than the timeout).
func TestEngineTimeouts(t *testing.T) {
	cfg := strings.Replace(engineCfg, "    timeout server 5s\n",
		"    timeout server 5s\n    timeout http-request 600ms\n    timeout http-keep-alive 300ms\n", 1)
	for _, p := range startBoth(t, cfg) {
		t.Run(p.name, func(t *testing.T) {
			drip := func(rc *rawClient) (string, bool) {
				req := "GET /ok HTTP/1.1\r\nHost: a\r\nX-Slow: " + strings.Repeat("s", 60) + "\r\n\r\n"
				got := make(chan string, 1)
				go func() { b, _ := io.ReadAll(rc.br); got <- string(b) }()
				for i := 0; i < len(req); i++ {
					select {
					case resp := <-got:
						return resp, true // answered before the head was complete
					case <-time.After(50 * time.Millisecond):
					}
					if _, err := rc.c.Write([]byte{req[i]}); err != nil {
						break
					}
				}
				return <-got, false
			}
			t.Run("slow first request", func(t *testing.T) {
				resp, early := drip(dialRaw(t, p.addr))
				if !early || !strings.HasPrefix(resp, "HTTP/1.1 408 Request Time-out\r\n") {
					t.Errorf("slow head: early %v, %q; want 408 before the head completes", early, resp)
				}
			})
			t.Run("silent first connection", func(t *testing.T) {
				rc := dialRaw(t, p.addr)
				if b, _ := io.ReadAll(rc.br); !strings.HasPrefix(string(b), "HTTP/1.1 408 ") {
					t.Errorf("a connection that sends nothing got %q, want 408", b)
				}
			})
			t.Run("idle keep-alive", func(t *testing.T) {
				rc := dialRaw(t, p.addr)
				if r := rc.do(t, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.HasPrefix(r, "HTTP/1.1 200 ") {
					t.Fatalf("first request: %q", r)
				}
				if closed, b := rc.closed(5 * time.Second); !closed || b != "" {
					t.Errorf("idle keep-alive connection: closed %v, got %q; want a silent close", closed, b)
				}
			})
			t.Run("slow second request", func(t *testing.T) {
				rc := dialRaw(t, p.addr)
				if r := rc.do(t, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.HasPrefix(r, "HTTP/1.1 200 ") {
					t.Fatalf("first request: %q", r)
				}
				resp, early := drip(rc)
				if !early || !strings.HasPrefix(resp, "HTTP/1.1 408 ") {
					t.Errorf("slow second head: early %v, %q; want 408", early, resp)
				}
			})
		})
	}
}

// TestEngineLimits: tune.bufsize minus tune.maxrewrite bounds a head,
// tune.http.maxhdr its header count, for requests and responses.
func TestEngineLimits(t *testing.T) {
	cfg := "global\n    tune.bufsize 4096\n    tune.http.maxhdr 20\n" + engineCfg
	for _, p := range startBoth(t, cfg) {
		t.Run(p.name, func(t *testing.T) {
			for _, tc := range []struct {
				name, req  string
				ok         bool
				haloStatus string
			}{
				{"2900-byte head passes", "GET /ok HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("h", 2860) + "\r\n\r\n", true, "200"},
				{"3500-byte head is refused", "GET /ok HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("h", 3460) + "\r\n\r\n", false, "431"},
				{"3500-byte URI is refused", "GET /" + strings.Repeat("u", 3500) + " HTTP/1.1\r\nHost: a\r\n\r\n", false, "414"},
				// maxhdr counts the request line.
				{"19 headers pass", "GET /ok HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: h\r\n", 18) + "\r\n", true, "200"},
				{"20 headers are refused", "GET /ok HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: h\r\n", 19) + "\r\n", false, "431"},
				{"oversized response head", "GET /bighead HTTP/1.1\r\nHost: a\r\n\r\n", false, "502"},
				{"too many response headers", "GET /manyhdrs HTTP/1.1\r\nHost: a\r\n\r\n", false, "502"},
			} {
				got := rawExchange(t, p.addr, tc.req)
				if strings.HasPrefix(got, "HTTP/1.1 200 ") != tc.ok {
					t.Errorf("%s: got %.40q, want success %v", tc.name, got, tc.ok)
				}
				if p.name == "halo" && !strings.HasPrefix(got, "HTTP/1.1 "+tc.haloStatus+" ") {
					t.Errorf("%s: halo answered %.40q, want %s", tc.name, got, tc.haloStatus)
				}
			}
		})
	}
}

// TestEngineConnModes: option http-server-close closes each server
// connection ("connection: close" to the server) but keeps the client's;
// option httpclose in the frontend closes the client's too.
func TestEngineConnModes(t *testing.T) {
	for _, mode := range []string{"http-server-close", "httpclose"} {
		cfg := strings.Replace(engineCfg, "    default_backend app\n", "    option "+mode+"\n    default_backend app\n", 1)
		for _, p := range startBoth(t, cfg) {
			t.Run(mode+"/"+p.name, func(t *testing.T) {
				rc := dialRaw(t, p.addr)
				first := rc.do(t, "GET /id HTTP/1.1\r\nHost: a\r\n\r\n")
				second := rc.do(t, "GET /id HTTP/1.1\r\nHost: a\r\n\r\n")
				reqs := p.be.requests()
				for _, r := range reqs {
					if !strings.HasSuffix(r.raw, "connection: close\r\n\r\n") {
						t.Errorf("the server got %q, want connection: close", r.raw)
					}
				}
				switch mode {
				case "http-server-close":
					if !strings.HasPrefix(first, "HTTP/1.1 200 ") || !strings.HasPrefix(second, "HTTP/1.1 200 ") || strings.Contains(first, "connection: close") {
						t.Errorf("client keep-alive: %q then %q", first, second)
					}
					if len(reqs) != 2 || reqs[0].conn == reqs[1].conn {
						t.Errorf("server connections: %+v, want one per request", reqs)
					}
				case "httpclose":
					if !strings.Contains(first, "connection: close\r\n") || second != "" {
						t.Errorf("httpclose: %q then %q, want connection: close and the end", first, second)
					}
				}
			})
		}
	}
}

// TestEngineReuse drives each http-reuse mode with clients whose
// requests report the server connection they were served on, through
// halo and haproxy with the same assertions.
func TestEngineReuse(t *testing.T) {
	for _, mode := range []string{"never", "safe", "aggressive", "always"} {
		cfg := strings.Replace(engineCfg, "\nbackend app\n", "\nbackend app\n    http-reuse "+mode+"\n", 1)
		for _, p := range startBoth(t, cfg) {
			t.Run(mode+"/"+p.name, func(t *testing.T) {
				get := func(rc *rawClient, method string) int {
					t.Helper()
					req := method + " /id HTTP/1.1\r\nHost: a\r\n\r\n"
					if method == "POST" {
						req = "POST /id HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy"
					}
					resp := rc.do(t, req)
					_, id, ok := strings.Cut(resp, "conn=")
					n, err := strconv.Atoi(id)
					if !ok || err != nil {
						t.Fatalf("%s: %q", method, resp)
					}
					return n
				}
				// firstReuses reports whether a new session's first
				// request is served on one of the connections in seen.
				// halo gives a connection back before the client gets the
				// response, so its first try is decisive; haproxy releases
				// it a little later, so it gets a few tries.
				firstReuses := func(seen ...int) bool {
					tries := 1
					if p.name == "haproxy" {
						tries = 20
					}
					for i := 0; i < tries; i++ {
						id := get(dialRaw(t, p.addr), "GET")
						for _, s := range seen {
							if id == s {
								return true
							}
						}
						time.Sleep(50 * time.Millisecond)
					}
					return false
				}
				a, b := dialRaw(t, p.addr), dialRaw(t, p.addr)
				a1 := get(a, "GET")
				b1 := get(b, "GET") // a's connection is idle now
				a2 := get(a, "GET")
				b2 := get(b, "POST")
				ids := fmt.Sprint(a1, b1, a2, b2)
				switch mode {
				case "never":
					// Private connections: each session keeps its own, a
					// new session gets a new one, and a session's
					// connections close with it.
					if b1 == a1 || a2 != a1 || b2 != b1 || firstReuses(a1, b1) {
						t.Errorf("never: a1 b1 a2 b2 = %s, or a new session reused one", ids)
					}
					a.c.Close()
					waitFor(t, "a's server connection to close", 5*time.Second, func() bool { return p.be.isClosed(a1) })
				case "safe":
					// First requests get their own connection; later ones
					// (a POST too) may take any idle one.
					if (a2 != a1 && a2 != b1) || (b2 != a1 && b2 != b1) || b1 == a1 || firstReuses(a1, b1) {
						t.Errorf("safe: a1 b1 a2 b2 = %s, or a new session's first request reused one", ids)
					}
				case "aggressive":
					// A first request only takes a connection that already
					// served more than one request.
					if b1 == a1 || (a2 != a1 && a2 != b1) || (b2 != a1 && b2 != b1) {
						t.Errorf("aggressive: a1 b1 a2 b2 = %s", ids)
					}
					if !firstReuses(a2, b2) {
						t.Errorf("aggressive: a new session's first request did not reuse a proven connection (%s)", ids)
					}
				case "always":
					if p.name == "halo" && (b1 != a1 || a2 != a1 || b2 != a1) {
						t.Errorf("always: a1 b1 a2 b2 = %s, want one connection", ids)
					}
					if !firstReuses(a1, b1, a2, b2) {
						t.Errorf("always: a new session's first request did not reuse a connection (%s)", ids)
					}
				}
			})
		}
	}
}

// TestEngineHTTP2Streams: an HTTP/2 stream opened long after the
// connection is not cut by timeout http-request (its head arrives whole),
// and the connection's later streams are later requests for http-reuse
// safe, so they take the idle server connection of the first.
func TestEngineHTTP2Streams(t *testing.T) {
	be := startRawBackend(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := strings.Replace(fmt.Sprintf(engineCfg, port, be.addr), "    timeout server 5s\n", "    timeout server 5s\n    timeout http-request 300ms\n", 1)
	startHalo(t, strings.Replace(cfg, fmt.Sprintf("bind %s\n", addr), fmt.Sprintf("bind %s proto h2\n", addr), 1), addr)
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, a string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	get := func() (int, string) {
		resp, err := client.Get("http://" + addr + "/id")
		if err != nil {
			t.Fatalf("h2c GET: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code1, body1 := get()
	time.Sleep(700 * time.Millisecond) // longer than timeout http-request
	code2, body2 := get()
	if code1 != 200 || code2 != 200 {
		t.Fatalf("streams answered %d %q, then %d %q", code1, body1, code2, body2)
	}
	if body1 != body2 {
		t.Errorf("the second stream used server connection %q, the first %q: want it reused", body2, body1)
	}
}
