package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// echoBackend answers with its name, the request line and every header it
// received (sorted), so that tests see exactly what the proxy forwarded.
// Query parameters make it misbehave on purpose: set=<cookie> adds a
// Set-Cookie, hdr=<name> adds that response header.
func echoBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var hs []string
		for k, v := range r.Header {
			hs = append(hs, strings.ToLower(k)+": "+strings.Join(v, " | "))
		}
		if r.Host != "" {
			hs = append(hs, "host: "+r.Host)
		}
		sort.Strings(hs)
		q := r.URL.Query()
		if c := q.Get("set"); c != "" {
			w.Header().Add("Set-Cookie", c+"; path=/")
		}
		if h := q.Get("hdr"); h != "" {
			w.Header().Set(h, "1")
		}
		fmt.Fprintf(w, "%s %s %s\n%s\nbody=%s\n", name, r.Method, r.RequestURI, strings.Join(hs, "\n"), body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// wsBackend accepts an Upgrade: websocket request with 101 and then
// echoes every byte back in upper case.
func wsBackend(t *testing.T) string {
	return tcpServer(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Header.Get("Upgrade") != "websocket" {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		buf := make([]byte, 1024)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				c.Write([]byte(strings.ToUpper(string(buf[:n]))))
			}
			if err != nil {
				return
			}
		}
	})
}

func rulesCfg(t *testing.T, port int, app, two, ws string) string {
	dir := t.TempDir()
	errFile := filepath.Join(dir, "503.http")
	os.WriteFile(errFile, []byte("HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 13\r\nconnection: close\r\n\r\ncustom outage"), 0o644)
	mapFile := filepath.Join(dir, "hosts.map")
	os.WriteFile(mapFile, []byte("# host to backend\nother.example be_two\n"), 0o644)
	return fmt.Sprintf(`userlist ul
    group admins users alice
    user alice password $6$abcdefgh$BCZD4MZ76CcLzsq3Z/oJZrs85Zay4i7PQhYtp/EgUD76cHglMu8sPEcHVrZO9rYRjrSVhX44VDTFY7p4lwpMa1
    user bob insecure-password builder
http-errors myerrs
    errorfile 503 %[1]s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%[2]d
    monitor-uri /_mon
    capture request header Host len 20
    acl auth_ok http_auth(ul)
    acl is_admin http_auth_group(ul) admins
    http-request auth realm Secret if { path_beg /private } !auth_ok
    http-request deny if { path_beg /private/admin } !is_admin
    http-request deny deny_status 429 content-type text/plain string "slow down" hdr X-A b if { path /d }
    http-request return status 200 content-type text/plain lf-string "hi %%[src] %%[req.hdr(host),lower]" if { path /lf }
    http-request set-var(txn.host) req.hdr(host),lower
    http-request set-header X-Host %%[var(txn.host)]
    http-request set-header X-Word %%[path,field(2,/)]
    http-request set-path /rewritten%%[path] if { path_beg /rw }
    http-request set-query a=1 if { path_beg /q }
    http-request replace-path ^/old/(.*) /new/\1
    http-request set-method PUT if { path /m }
    http-request del-header X-Remove
    http-request replace-header X-Rep ^(.*)-(.*)$ \2-\1
    http-request replace-value X-List ^a$ z
    http-request set-uri /via-uri if { path /u }
    option forwardfor except 127.0.0.2
    use_backend %%[req.hdr(host),lower,map(%[3]s)] if { req.hdr(host) -m end .example }
    use_backend be_%%[req.hdr(x-target)] if { req.hdr(x-target) -m found }
    use_backend cookie_be if { path_beg /ck }
    use_backend uri_be if { path_beg /uri/ }
    use_backend ws_be if { path /ws }
    default_backend app
backend app
    errorfiles myerrs
    http-response set-header X-Resp yes
    http-response del-header X-Drop
    http-response set-status 299 reason Fine if { res.hdr(x-status) -m found }
    http-response deny if { res.hdr(x-bad) -m found }
    server s1 %[4]s
backend be_two
    server s %[5]s
backend be_dead
    errorfiles myerrs
    server d 127.0.0.1:1
backend cookie_be
    cookie SRV insert indirect nocache
    server c1 %[4]s cookie one
    server c2 %[5]s cookie two
backend uri_be
    balance uri
    server a %[4]s
    server b %[5]s
backend ws_be
    timeout tunnel 5s
    server w %[6]s
`, errFile, port, mapFile, app, two, ws)
}

type exchange struct {
	name, req string
	check     func(t *testing.T, resp string)
}

func has(parts ...string) func(*testing.T, string) {
	return func(t *testing.T, resp string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(resp, p) {
				t.Errorf("response lacks %q:\n%s", p, resp)
			}
		}
	}
}

func lacks(parts ...string) func(*testing.T, string) {
	return func(t *testing.T, resp string) {
		t.Helper()
		for _, p := range parts {
			if strings.Contains(resp, p) {
				t.Errorf("response has %q:\n%s", p, resp)
			}
		}
	}
}

func both(a, b func(*testing.T, string)) func(*testing.T, string) {
	return func(t *testing.T, r string) { t.Helper(); a(t, r); b(t, r) }
}

func basic(u, p string) string {
	return "Authorization: Basic " + b64(u+":"+p) + "\r\n"
}

var rulesExchanges = []exchange{
	{"monitor-uri", "GET /_mon HTTP/1.1\r\nHost: a\r\n\r\n", has("HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n")},
	{"auth required", "GET /private/x HTTP/1.1\r\nHost: a\r\n\r\n", has("HTTP/1.1 401 Unauthorized\r\n", "www-authenticate: Basic realm=\"Secret\"\r\n")},
	{"auth wrong password", "GET /private/x HTTP/1.1\r\nHost: a\r\n" + basic("alice", "nope") + "\r\n", has("HTTP/1.1 401 ")},
	{"auth crypt hash", "GET /private/x HTTP/1.1\r\nHost: a\r\n" + basic("alice", "wonder") + "\r\n", has("HTTP/1.1 200 ", "web1 GET /private/x")},
	{"auth insecure-password", "GET /private/x HTTP/1.1\r\nHost: a\r\n" + basic("bob", "builder") + "\r\n", has("HTTP/1.1 200 ", "web1 GET /private/x")},
	{"auth group", "GET /private/admin HTTP/1.1\r\nHost: a\r\n" + basic("bob", "builder") + "\r\n", has("HTTP/1.1 403 Forbidden\r\n")},
	{"auth group member", "GET /private/admin HTTP/1.1\r\nHost: a\r\n" + basic("alice", "wonder") + "\r\n", has("HTTP/1.1 200 ")},
	{"custom deny", "GET /d HTTP/1.1\r\nHost: a\r\n\r\n", has("HTTP/1.1 429 Too Many Requests\r\nx-a: b\r\ncontent-length: 9\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nslow down")},
	{"lf-string return", "GET /lf HTTP/1.1\r\nHost: WWW.Example\r\n\r\n", has("content-length: 24\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nhi 127.0.0.1 www.example")},
	{"set-var and converters", "GET /a/b HTTP/1.1\r\nHost: Mixed.Case\r\n\r\n", has("web1 GET /a/b\n", "x-host: mixed.case\n", "x-word: a\n", "x-forwarded-for: 127.0.0.1\n")},
	{"set-path", "GET /rw/x?k=v HTTP/1.1\r\nHost: a\r\n\r\n", has("web1 GET /rewritten/rw/x?k=v\n")},
	{"set-query", "GET /q?old=1 HTTP/1.1\r\nHost: a\r\n\r\n", has("web1 GET /q?a=1\n")},
	{"replace-path", "GET /old/p/q?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", has("web1 GET /new/p/q?x=1\n")},
	{"set-method", "GET /m HTTP/1.1\r\nHost: a\r\n\r\n", has("web1 PUT /m\n")},
	{"set-uri", "GET /u?z HTTP/1.1\r\nHost: a\r\n\r\n", has("web1 GET /via-uri\n")},
	{"header edits", "GET /h HTTP/1.1\r\nHost: a\r\nX-Remove: 1\r\nX-Rep: left-right\r\nX-List: a, b, a\r\n\r\n", both(has("x-rep: right-left\n", "x-list: z, b,z\n"), lacks("x-remove"))},
	{"response rules", "GET /r?hdr=X-Drop HTTP/1.1\r\nHost: a\r\n\r\n", both(has("HTTP/1.1 200 OK\r\n", "x-resp: yes\r\n"), lacks("x-drop"))},
	{"set-status", "GET /r?hdr=X-Status HTTP/1.1\r\nHost: a\r\n\r\n", has("HTTP/1.1 299 Fine\r\n")},
	{"response deny", "GET /r?hdr=X-Bad HTTP/1.1\r\nHost: a\r\n\r\n", both(has("HTTP/1.1 502 Bad Gateway\r\n"), lacks("web1"))},
	{"use_backend with map", "GET / HTTP/1.1\r\nHost: other.example\r\n\r\n", has("web2 GET /\n")},
	{"dynamic use_backend", "GET / HTTP/1.1\r\nHost: a\r\nX-Target: two\r\n\r\n", has("web2 GET /\n")},
	{"dynamic use_backend to nothing", "GET / HTTP/1.1\r\nHost: a\r\nX-Target: nonexistent\r\n\r\n", has("web1 GET /\n")},
	{"map miss goes to default_backend", "GET / HTTP/1.1\r\nHost: unknown.example\r\nX-Target: two\r\n\r\n", has("web1 GET /\n")},
	{"errorfiles", "GET / HTTP/1.1\r\nHost: a\r\nX-Target: dead\r\n\r\n", has("HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 13\r\nconnection: close\r\n\r\ncustom outage")},
	{"cookie insert", "GET /ck HTTP/1.1\r\nHost: a\r\n\r\n", has("set-cookie: SRV=one; path=/\r\n", "web1 GET /ck\n")},
	{"cookie persistence", "GET /ck HTTP/1.1\r\nHost: a\r\nCookie: SRV=two; x=1\r\n\r\n", both(has("web2 GET /ck\n", "cookie: x=1\n"), lacks("set-cookie", "SRV=two"))},
	{"cookie invalid", "GET /ck HTTP/1.1\r\nHost: a\r\nCookie: SRV=bogus\r\n\r\n", has("set-cookie: SRV=")},
}

func b64(s string) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var out strings.Builder
	for i := 0; i < len(s); i += 3 {
		var b [3]byte
		n := copy(b[:], s[i:])
		v := uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2])
		for j := 0; j < 4; j++ {
			if j > n {
				out.WriteByte('=')
			} else {
				out.WriteByte(enc[v>>(18-6*j)&0x3f])
			}
		}
	}
	return out.String()
}

// oneShot sends a request on a new connection, closes its write side and
// returns everything the proxy answered.
func oneShot(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, strings.Replace(req, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1))
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestHTTPRules drives every rule through halo, then runs the same
// configuration under the real haproxy and compares the status line of
// each answer.
func TestHTTPRules(t *testing.T) {
	app, two, ws := echoBackend(t, "web1"), echoBackend(t, "web2"), wsBackend(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := rulesCfg(t, port, app, two, ws)
	h := startHalo(t, cfg, addr)
	got := map[string]string{}
	for _, ex := range rulesExchanges {
		t.Run(ex.name, func(t *testing.T) {
			resp := oneShot(t, addr, ex.req)
			got[ex.name] = summary(resp)
			ex.check(t, resp)
		})
	}
	t.Run("balance uri", func(t *testing.T) {
		first := map[string]string{}
		for i := 0; i < 3; i++ {
			for _, p := range []string{"/uri/a", "/uri/b", "/uri/c", "/uri/d"} {
				resp := oneShot(t, addr, "GET "+p+"?r="+fmt.Sprint(i)+" HTTP/1.1\r\nHost: a\r\n\r\n")
				srv := "web1"
				if strings.Contains(resp, "web2 GET") {
					srv = "web2"
				}
				if f, ok := first[p]; ok && f != srv {
					t.Errorf("%s went to %s then %s", p, f, srv)
				}
				first[p] = srv
			}
		}
	})
	t.Run("websocket", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "websocket" {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		for _, msg := range []string{"hello", "tunnel"} {
			io.WriteString(c, msg)
			buf := make([]byte, len(msg))
			if _, err := io.ReadFull(br, buf); err != nil || string(buf) != strings.ToUpper(msg) {
				t.Errorf("through the tunnel: %q %v", buf, err)
			}
		}
	})
	t.Run("expect 100-continue", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
		br := bufio.NewReader(c)
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("interim response: %q", line)
		}
		br.ReadString('\n')
		io.WriteString(c, "hello")
		rest, _ := io.ReadAll(br)
		if !strings.Contains(string(rest), "body=hello") {
			t.Errorf("final response: %q", rest)
		}
	})
	h.cmd.Process.Kill()
	<-h.done

	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Log("haproxy not installed: no side-by-side comparison")
		return
	}
	port = freePort(t)
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	ref := startProc(t, hp, addr, nil, nil, "-db", "-f", writeConfig(t, rulesCfg(t, port, app, two, ws)))
	defer func() { ref.cmd.Process.Kill(); <-ref.done }()
	for _, ex := range rulesExchanges {
		if want := summary(oneShot(t, addr, ex.req)); got[ex.name] != want {
			t.Errorf("%s:\nhalo:\n%s\nhaproxy:\n%s", ex.name, got[ex.name], want)
		}
	}
}

// summary is what must be identical between halo and haproxy: the status
// line and, for proxied requests, everything the backend received.
func summary(resp string) string {
	status, rest, _ := strings.Cut(resp, "\r\n")
	_, body, _ := strings.Cut(rest, "\r\n\r\n")
	if strings.HasPrefix(body, "web") {
		return status + "\n" + body
	}
	return status
}

// TestQuickstart serves examples/quickstart.cfg (ports moved to free
// ones): the answers alternate between its two built-in demo servers.
func TestQuickstart(t *testing.T) {
	data, err := os.ReadFile("../../examples/quickstart.cfg")
	if err != nil {
		t.Fatal(err)
	}
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	cfg := strings.NewReplacer("127.0.0.1:8080", fmt.Sprintf("127.0.0.1:%d", p1),
		"127.0.0.1:9001", fmt.Sprintf("127.0.0.1:%d", p2), "127.0.0.1:9002", fmt.Sprintf("127.0.0.1:%d", p3)).Replace(string(data))
	addr := fmt.Sprintf("127.0.0.1:%d", p1)
	startHalo(t, cfg, addr)
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		resp := oneShot(t, addr, "GET /page HTTP/1.1\r\nHost: a\r\n\r\n")
		if !strings.Contains(resp, "you asked for /page from 127.0.0.1\n") {
			t.Fatalf("answer: %q", resp)
		}
		for _, w := range []string{"web1", "web2"} {
			if strings.Contains(resp, "x-served-by: "+w+"\r\n") && strings.Contains(resp, "hello from "+w) {
				seen[w]++
			}
		}
	}
	if seen["web1"] != 2 || seen["web2"] != 2 {
		t.Errorf("round robin over the demo servers: %v", seen)
	}
	if resp := oneShot(t, addr, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.HasPrefix(resp, "HTTP/1.1 200 OK\r\n") {
		t.Errorf("monitor-uri: %q", resp)
	}
}

// TestPreferLastServerAndProtocolChecks: with option prefer-last-server a
// keep-alive client stays on one server; redis-check and smtpchk mark
// servers up or down by their protocol answers.
func TestPreferLastServerAndProtocolChecks(t *testing.T) {
	a, b := echoBackend(t, "web1"), echoBackend(t, "web2")
	redisOK := tcpServer(t, func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 64)
		if n, _ := c.Read(buf); strings.HasPrefix(string(buf[:n]), "PING") {
			io.WriteString(c, "+PONG\r\n")
		}
	})
	redisBad := tcpServer(t, func(c net.Conn) {
		defer c.Close()
		c.Read(make([]byte, 64))
		io.WriteString(c, "-ERR loading\r\n")
	})
	smtp := tcpServer(t, func(c net.Conn) {
		defer c.Close()
		io.WriteString(c, "220 mail.test ESMTP\r\n")
		br := bufio.NewReader(c)
		if l, _ := br.ReadString('\n'); strings.HasPrefix(l, "HELO ") {
			io.WriteString(c, "250 mail.test\r\n")
		}
		br.ReadString('\n')
	})
	mysqlOK := tcpServer(t, func(c net.Conn) {
		defer c.Close()
		payload := append([]byte{0x0a}, "8.0.36\x00"...)
		c.Write(append([]byte{byte(len(payload)), 0, 0, 0}, payload...))
		time.Sleep(100 * time.Millisecond)
	})
	mysqlErr := tcpServer(t, func(c net.Conn) {
		defer c.Close()
		payload := append([]byte{0xff, 0x69, 0x04}, "Host is blocked"...)
		c.Write(append([]byte{byte(len(payload)), 0, 0, 0}, payload...))
	})
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h := startHalo(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
backend db
    mode tcp
    option mysql-check
    server up %s check inter 200ms
    server blocked %s check inter 200ms
listen web
    bind 127.0.0.1:%d
    option prefer-last-server
    server web1 %s
    server web2 %s
backend redis
    mode tcp
    option redis-check
    server good %s check inter 200ms
    server bad %s check inter 200ms
backend mail
    mode tcp
    option smtpchk
    server mx %s check inter 200ms
`, mysqlOK, mysqlErr, port, a, b, redisOK, redisBad, smtp), addr)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[strings.Fields(string(body))[0]]++
	}
	if len(seen) != 1 {
		t.Errorf("prefer-last-server: one connection spread over %v", seen)
	}
	waitFor(t, "redis and mysql bad servers DOWN", 10*time.Second, func() bool {
		out := h.stderr.String()
		return strings.Contains(out, "Server redis/bad is DOWN") && strings.Contains(out, "Server db/blocked is DOWN")
	})
	time.Sleep(600 * time.Millisecond)
	out := h.stderr.String()
	if strings.Contains(out, "Server redis/good is DOWN") || strings.Contains(out, "Server mail/mx is DOWN") || strings.Contains(out, "Server db/up is DOWN") {
		t.Errorf("healthy protocol servers marked down:\n%s", out)
	}
}

// TestPersistenceAndHeaders covers, through sockets, what TestHTTPRules
// does not: cookie prefix and rewrite modes, balance url_param and hdr,
// option originalto and forwardfor except, request captures in the log,
// and the stats page's admin form.
func TestPersistenceAndHeaders(t *testing.T) {
	// web1 sets the application's own SRV cookie, as prefix/rewrite expect.
	cookieApp := func(name string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Set-Cookie", "SRV=app; path=/")
			fmt.Fprintf(w, "%s cookie=%s orig=%s xff=%s", name, r.Header.Get("Cookie"), r.Header.Get("X-Original-To"), r.Header.Get("X-Forwarded-For"))
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	a, b := cookieApp("web1"), cookieApp("web2")
	sink := newSyslogSink(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, fmt.Sprintf(`global
    log %s local2
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    capture request header User-Agent len 5
    option originalto
    option forwardfor except 127.0.0.0/8
    use_backend prefix if { path_beg /p }
    use_backend rewrite if { path_beg /r }
    use_backend byparam if { path_beg /u }
    use_backend byhdr if { path_beg /h }
    use_backend stats if { path_beg /stats }
    default_backend prefix
backend prefix
    cookie SRV prefix
    server s1 %[3]s cookie one
    server s2 %[4]s cookie two
backend rewrite
    cookie SRV rewrite
    server s1 %[3]s cookie one
    server s2 %[4]s cookie two
backend byparam
    balance url_param id
    server s1 %[3]s
    server s2 %[4]s
backend byhdr
    balance hdr(X-Tenant)
    server s1 %[3]s
    server s2 %[4]s
backend stats
    stats enable
    stats uri /stats
    stats admin if TRUE
    server s1 %[3]s
    server s2 %[4]s
`, sink.addr(), port, a, b), addr)
	get := func(path string, hdrs ...string) string {
		return oneShot(t, addr, "GET "+path+" HTTP/1.1\r\nHost: a\r\nUser-Agent: curious-client\r\n"+strings.Join(hdrs, "")+"\r\n")
	}
	// prefix: the server's cookie gets the server's id in front, and the
	// id is removed again before the request reaches the server.
	if r := get("/p"); !strings.Contains(r, "set-cookie: SRV=one~app; path=/\r\n") {
		t.Errorf("cookie prefix: %q", r)
	}
	if r := get("/p", "Cookie: SRV=two~app\r\n"); !strings.Contains(r, "web2 cookie=SRV=app") {
		t.Errorf("cookie prefix persistence: %q", r)
	}
	// rewrite: the server's cookie value is replaced by the server's id.
	if r := get("/r"); !strings.Contains(r, "set-cookie: SRV=one; path=/\r\n") {
		t.Errorf("cookie rewrite: %q", r)
	}
	if r := get("/r", "Cookie: SRV=two\r\n"); !strings.Contains(r, "web2 cookie=SRV=two") {
		t.Errorf("cookie rewrite persistence: %q", r)
	}
	// originalto always; forwardfor not for 127.0.0.0/8 clients.
	if r := get("/p"); !strings.HasSuffix(r, "orig=127.0.0.1 xff=") {
		t.Errorf("originalto / forwardfor except: %q", r)
	}
	// url_param and hdr hashing: the same key always reaches the same server.
	for _, tc := range []struct{ path, hdr string }{{"/u?id=%d", ""}, {"/h", "X-Tenant: t%d\r\n"}} {
		for k := 0; k < 4; k++ {
			first := ""
			for i := 0; i < 3; i++ {
				path, hdr := tc.path, tc.hdr
				if strings.Contains(path, "%d") {
					path = fmt.Sprintf(path, k)
				} else {
					hdr = fmt.Sprintf(hdr, k)
				}
				srv := strings.Fields(strings.SplitN(get(path, hdr), "\r\n\r\n", 2)[1])[0]
				if first == "" {
					first = srv
				} else if srv != first {
					t.Errorf("%s key %d went to %s then %s", tc.path, k, first, srv)
				}
			}
		}
	}
	// The request capture shows in the log, cut to its len.
	if lines := sink.wait(t, "{curio}", 1); len(lines) == 0 {
		t.Error("no capture in the log")
	}
	// The admin form puts s2 in maintenance; the page then says MAINT.
	form := "s=s2&action=maint&b=%236" // backend id 6: the sixth proxy
	post := oneShot(t, addr, "POST /stats HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "+fmt.Sprint(len(form))+"\r\n\r\n"+form)
	if !strings.HasPrefix(post, "HTTP/1.1 303 ") || !strings.Contains(post, "location: /stats;st=DONE\r\n") {
		t.Errorf("admin POST: %q", post)
	}
	if page := get("/stats;csv"); !strings.Contains(page, "\nstats,s2,") || !strings.Contains(page, ",MAINT,") {
		t.Errorf("after the admin action:\n%s", page)
	}
}
