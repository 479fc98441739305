package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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
			t.Errorf("%s: client got\nhalo:    %q\nhaproxy: %q%s", c.name, h.resp, r.resp, lineDiff(h.resp, r.resp))
		}
		if h.got != r.got {
			t.Errorf("%s: backend got\nhalo:    %q\nhaproxy: %q%s", c.name, h.got, r.got, lineDiff(h.got, r.got))
		}
	}
}

// lineDiff lists the lines of two messages that are not in the other.
func lineDiff(a, b string) string {
	la, lb := strings.Split(a, "\r\n"), strings.Split(b, "\r\n")
	in := func(l string, ls []string) bool {
		for _, x := range ls {
			if x == l {
				return true
			}
		}
		return false
	}
	var out strings.Builder
	for _, l := range la {
		if !in(l, lb) {
			fmt.Fprintf(&out, "\n  only halo:    %q", l)
		}
	}
	for _, l := range lb {
		if !in(l, la) {
			fmt.Fprintf(&out, "\n  only haproxy: %q", l)
		}
	}
	return out.String()
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

// cookieDate encodes a date as HAProxy writes it in persistence cookies
// (unix time / 4, five base64 digits, most significant first).
func cookieDate(t time.Time) string {
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	v := (t.Unix() + 3) >> 2
	var b [5]byte
	for i := 4; i >= 0; i-- {
		b[i] = a[v&63]
		v >>= 6
	}
	return string(b[:])
}

// nowDates replaces the cookie dates within a minute of now by <now>:
// halo and haproxy run one after the other, so the current date is the
// only thing allowed to differ in what they set.
func nowDates(s string) string {
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	now := time.Now().Unix()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '|' && i+5 < len(s) {
			var v int64
			ok := true
			for _, c := range []byte(s[i+1 : i+6]) {
				d := strings.IndexByte(a, c)
				ok = ok && d >= 0
				v = v<<6 | int64(d)
			}
			if d := v<<2 - now; ok && d > -60 && d < 60 {
				b.WriteString("|<now>")
				i += 5
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestCookieDiff: cookie persistence in every mode, with and without
// indirect and nocache, and the options postonly, preserve, maxidle,
// maxlife, domain, httponly, secure and attr, compared byte for byte
// with haproxy: what the server receives (the cookie kept, stripped of
// its prefix or removed) and what the client gets (inserted, rewritten
// or removed Set-Cookie, Cache-Control: private).
func TestCookieDiff(t *testing.T) {
	cfg := diffDefaults + "frontend fe\n    bind {{BIND}}\n    use_backend %[req.hdr(x-be)]\n"
	var cases []diffCase
	add := func(name, be, method, hdrs, res string) {
		cases = append(cases, diffCase{name: name, req: method + " / HTTP/1.1\r\nHost: e\r\nX-Be: " + be + hdrs, res: res})
	}
	// s2 has weight 0: only a valid cookie leads there, so "x-srv: 2" in
	// an answer proves persistence.
	backend := func(name, opts string) {
		cfg += "backend " + name + "\n    cookie SRV " + opts + "\n    server s1 {{SRV}} cookie s1\n    server s2 {{SRV2}} cookie s2 weight 0\n"
	}
	expires := "HTTP/1.1 200 OK\r\nExpires: Thu, 01 Jan 2099 00:00:00 GMT\r\n"
	for _, mode := range []string{"insert", "rewrite", "prefix"} {
		for _, ind := range []string{"", " indirect"} {
			for _, nc := range []string{"", " nocache"} {
				if mode == "rewrite" && ind != "" {
					continue // refused by both
				}
				be := mode + strings.ReplaceAll(ind+nc, " ", "-")
				backend(be, mode+ind+nc)
				val := "s2"
				if mode == "prefix" {
					val = "s2~app"
				}
				add(be+"-none", be, "GET", "", "")
				add(be+"-valid", be, "GET", "\r\nCookie: a=1; SRV="+val+"; b=2", "")
				add(be+"-only", be, "GET", "\r\nCookie: SRV="+val, "")
				add(be+"-invalid", be, "GET", "\r\nCookie: SRV=zz", "")
				add(be+"-unknown-prefix", be, "GET", "\r\nCookie: SRV=zz~app; b=1", "")
				add(be+"-server-sets", be, "GET", "", "HTTP/1.1 200 OK\r\nSet-Cookie: SRV=app; path=/\r\n")
				add(be+"-server-sets-valid", be, "GET", "\r\nCookie: SRV="+val, "HTTP/1.1 200 OK\r\nSet-Cookie: SRV=app; path=/\r\n")
				add(be+"-cacheable", be, "GET", "", expires)
				add(be+"-cacheable-valid", be, "GET", "\r\nCookie: SRV="+val, expires)
				add(be+"-post", be, "POST", "", "")
			}
		}
	}
	// The cacheability nocache protects: method, status, directives,
	// freshness and validators.
	for _, c := range []struct{ name, method, res string }{
		{"public-only", "GET", "HTTP/1.1 200 OK\r\nCache-Control: public\r\n"},
		{"max-age", "GET", "HTTP/1.1 200 OK\r\nCache-Control: public, max-age=60\r\n"},
		{"s-maxage", "GET", "HTTP/1.1 200 OK\r\nCache-Control: s-maxage=30\r\n"},
		{"max-age-0", "GET", "HTTP/1.1 200 OK\r\nCache-Control: max-age=0\r\n"},
		{"private", "GET", "HTTP/1.1 200 OK\r\nCache-Control: PRIVATE, max-age=60\r\n"},
		{"no-store", "GET", expires + "Cache-Control: no-store\r\n"},
		{"pragma", "GET", expires + "Pragma: no-cache\r\n"},
		{"no-cache-set-cookie", "GET", "HTTP/1.1 200 OK\r\nCache-Control: no-cache=\"set-cookie\", max-age=60\r\n"},
		{"etag", "GET", "HTTP/1.1 200 OK\r\nETag: \"x\"\r\n"},
		{"last-modified", "GET", "HTTP/1.1 200 OK\r\nLast-Modified: Thu, 01 Jan 2015 00:00:00 GMT\r\n"},
		{"head", "HEAD", expires},
		{"put", "PUT", expires},
		{"404", "GET", "HTTP/1.1 404 Not Found\r\nExpires: Thu, 01 Jan 2099 00:00:00 GMT\r\n"},
		{"302", "GET", "HTTP/1.1 302 Found\r\nLocation: /x\r\nExpires: Thu, 01 Jan 2099 00:00:00 GMT\r\n"},
		{"500", "GET", "HTTP/1.1 500 Oops\r\nExpires: Thu, 01 Jan 2099 00:00:00 GMT\r\n"},
	} {
		add("nocache-"+c.name, "insert-nocache", c.method, "", c.res)
	}
	// Options.
	backend("postonly", "insert postonly")
	add("postonly-get", "postonly", "GET", "", "")
	add("postonly-post", "postonly", "POST", "", "")
	backend("preserve", "insert preserve")
	add("preserve-server-sets", "preserve", "GET", "", "HTTP/1.1 200 OK\r\nSet-Cookie: SRV=; Max-Age=0\r\n")
	add("preserve-nothing", "preserve", "GET", "", "")
	backend("preserve-ind", "prefix indirect preserve")
	add("preserve-ind-valid-sets", "preserve-ind", "GET", "\r\nCookie: SRV=s2~app", "HTTP/1.1 200 OK\r\nSet-Cookie: SRV=new\r\n")
	add("preserve-ind-sets", "preserve-ind", "GET", "", "HTTP/1.1 200 OK\r\nSet-Cookie: SRV=new\r\n")
	backend("attrs", "insert domain a.example domain .b.example httponly secure attr SameSite=Lax attr x=y")
	add("attrs", "attrs", "GET", "", "")
	cfg += "backend nocookie\n    cookie SRV insert\n    server s1 {{SRV}}\n"
	add("server-without-cookie", "nocookie", "GET", "\r\nCookie: SRV=zz", "")
	// Cookie header editing.
	for name, ck := range map[string]string{
		"first": "SRV=s2; a=1", "last": "a=1;SRV=s2", "spaces": "a=1 ;  SRV=s2 ;b=2", "spaces-last": "a = 1 ; SRV=s2",
		"twice": "a=1; SRV=zz; SRV=s2; b=2", "no-equal": "SRV; a=1", "empty": "SRV=", "quoted": "SRV=\"s2\"",
	} {
		add("indirect-"+name, "insert-indirect", "GET", "\r\nCookie: "+ck, "")
		add("plain-"+name, "insert", "GET", "\r\nCookie: "+ck, "")
	}
	add("indirect-two-headers", "insert-indirect", "GET", "\r\nCookie: a=1\r\nCookie: SRV=s2", "")
	add("plain-space-equal", "insert", "GET", "\r\nCookie: SRV =s2;b= 1", "")
	add("plain-untouched", "insert", "GET", "\r\nCookie: a=1 ;  b=2", "")
	// Dates: maxidle and maxlife.
	now := time.Now()
	recent, old := cookieDate(now.Add(-10*time.Minute)), cookieDate(now.Add(-2*time.Hour))
	future, soon := cookieDate(now.Add(48*time.Hour)), cookieDate(now.Add(2*time.Hour))
	backend("idle", "insert maxidle 1h")
	backend("life", "insert maxlife 1h")
	backend("both", "insert indirect maxidle 1h maxlife 3h")
	backend("rwidle", "rewrite maxidle 3600")
	backend("pfxidle", "prefix maxidle 1h")
	for name, ck := range map[string]string{
		"recent": "SRV=s2|" + recent, "old": "SRV=s2|" + old, "future": "SRV=s2|" + future, "soon": "SRV=s2|" + soon,
		"plus": "SRV=s2|" + old[:4] + "+", "slash": "SRV=s2|" + old[:4] + "/", "bad-digit": "SRV=s2|" + old[:4] + "-",
		"short": "SRV=s2|abc", "long": "SRV=s2|" + recent + "xyz", "empty": "SRV=s2|", "no-id": "SRV=|" + recent,
		"nodate": "SRV=s2", "first-recent": "SRV=s2|" + recent + "|" + recent, "first-old": "SRV=s2|" + recent + "|" + old,
		"first-future": "SRV=s2|" + recent + "|" + future, "first-only": "SRV=s2||" + recent, "first-short": "SRV=s2|" + recent + "|abcd",
		"last-old-first-ok": "SRV=s2|" + old + "|" + recent, "invalid-dated": "SRV=zz|" + recent + "|" + recent,
	} {
		for _, be := range []string{"idle", "life", "both", "rwidle", "insert"} {
			add(be+"-"+name, be, "GET", "\r\nCookie: a=1; "+ck, "")
		}
	}
	add("pfxidle-dated", "pfxidle", "GET", "\r\nCookie: SRV=s2|"+recent+"~app", "")
	add("pfxidle-plain", "pfxidle", "GET", "\r\nCookie: SRV=s2~app", "")
	cfg += "backend nocookie-idle\n    cookie SRV insert maxidle 1h\n    server s1 {{SRV}}\n"
	add("server-without-cookie-idle", "nocookie-idle", "GET", "", "")
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	cases = append(cases, diffCase{name: "dates-set", req: "GET / HTTP/1.1\r\nHost: e\r\nX-Be: both",
		check: func(t *testing.T, resp, _ string) {
			// SRV=s1|<last>|<first>, both the current date.
			i := strings.Index(resp, "set-cookie: SRV=s1|")
			if i < 0 || nowDates(resp[i:i+len("set-cookie: SRV=s1|aaaaa|aaaaa")]) != "set-cookie: SRV=s1|<now>|<now>" {
				t.Errorf("dated cookie: %q", resp)
			}
		}})
	runDiff(t, diffGroup{cfg: cfg, cases: cases, norm: nowDates})
}

// TestRulesCheckSideBySide runs `-c` on rule, ACL and cookie lines under
// halo and haproxy: both must accept, warn or refuse alike, and halo's
// refusals and warnings name the line.
func TestRulesCheckSideBySide(t *testing.T) {
	const head = "userlist ul\n    group admins users u\n    user u insecure-password p\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
		"backend b\n    server s 127.0.0.1:2\nlisten l\n    bind 127.0.0.1:1\n    server s 127.0.0.1:3 cookie a\n"
	const first = 14 // the line of a case's first line
	cases := []struct {
		name  string
		lines []string
		rc    int  // 0 accepted, 1 refused
		warn  bool // accepted with a warning
		// only halo warns: a flag halo accepts without effect, which -c
		// must say; else haproxy warns too, in the same words unless
		// ownText (haproxy spreads that one over several lines).
		haloOnly, ownText bool
	}{
		{"cookie insert", []string{"cookie SRV insert indirect nocache preserve postonly httponly secure"}, 0, false, false, false},
		{"cookie two modes", []string{"cookie SRV insert rewrite"}, 1, false, false, false},
		{"cookie prefix insert", []string{"cookie SRV prefix insert"}, 1, false, false, false},
		{"cookie rewrite indirect", []string{"cookie SRV rewrite indirect"}, 1, false, false, false},
		{"cookie preserve alone", []string{"cookie SRV preserve"}, 1, false, false, false},
		{"cookie preserve indirect", []string{"cookie SRV prefix indirect preserve"}, 0, false, false, false},
		{"cookie maxidle seconds", []string{"cookie SRV insert maxidle 30 maxlife 2h"}, 0, false, false, false},
		{"cookie maxidle missing", []string{"cookie SRV insert maxidle"}, 1, false, false, false},
		{"cookie attr", []string{"cookie SRV insert attr SameSite=Strict attr Partitioned"}, 0, false, false, false},
		{"cookie attr semicolon", []string{"cookie SRV insert attr a;b"}, 1, false, false, false},
		{"cookie domain without dot", []string{"cookie SRV insert domain localhost"}, 0, true, false, false},
		{"cookie unknown option", []string{"cookie SRV insert bogus"}, 1, false, false, false},
		{"http-request after redirect", []string{"redirect location /x if { path /y }", "http-request deny if { path /z }"}, 0, true, false, false},
		{"http-request after use_backend", []string{"use_backend b if { path /y }", "http-request deny if { path /z }"}, 0, true, false, false},
		{"redirect after use_backend", []string{"use_backend b if { path /y }", "redirect location /x if { path /z }"}, 0, true, false, false},
		{"tcp-request after http-request", []string{"http-request deny if { path /z }", "tcp-request content reject if { path /y }"}, 0, true, false, false},
		{"tcp connection after content", []string{"tcp-request content reject if { path /y }", "tcp-request connection reject if { src 10.0.0.1 }"}, 0, true, false, false},
		{"rules in order", []string{"tcp-request content reject if { path /y }", "http-request deny if { path /z }", "redirect location /x if { path /w }", "use_backend b if { path /v }"}, 0, false, false, false},
		{"after a final rule", []string{"http-request deny", "http-request set-header a b"}, 0, true, false, false},
		{"after a final response rule", []string{"http-response return status 200", "http-response set-header a b"}, 0, true, false, false},
		{"http_auth unknown userlist", []string{"acl a http_auth(nope)"}, 1, false, false, false},
		{"http_auth anonymous", []string{"http-request deny if { http_auth(nope) }"}, 1, false, false, false},
		{"http_auth in a log-format", []string{"http-request set-header x %[http_auth(nope)]"}, 1, false, false, false},
		{"http_auth in set-var", []string{"http-request set-var(txn.a) http_auth(nope)"}, 1, false, false, false},
		{"http_auth_group unknown group", []string{"acl a http_auth_group(ul) nogroup"}, 1, false, false, false},
		{"http_auth_group", []string{"acl a http_auth_group(ul) admins", "http-request auth if !a"}, 0, false, false, false},
		{"http_auth userlist declared later", []string{"acl a http_auth(late)", "userlist late", "user x insecure-password y"}, 0, false, false, false},
		{"acl -u id", []string{"acl a path -u 1 /x"}, 0, true, true, false},
		{"acl -u not an integer", []string{"acl a path -u x /x"}, 1, false, false, false},
		{"acl -u id used twice", []string{"acl a path -u 1 /x", "acl b path -u 1 /y"}, 1, false, false, false},
		{"acl -u id of the same acl twice", []string{"acl a path -u 1 /x", "acl a path -u 1 /y"}, 1, false, false, false},
		{"acl -u without id", []string{"acl a path -u"}, 0, false, false, false},
		{"acl host name", []string{"acl a src localhost", "http-request deny if !a"}, 0, false, false, false},
		{"acl -n host name", []string{"acl a src -n localhost"}, 1, false, false, false},
		{"acl -n address", []string{"acl a src -n 127.0.0.1"}, 0, false, false, false},
		{"acl unknown flag", []string{"acl a path -x /y"}, 1, false, false, false},
		{"acl without pattern", []string{"acl a path"}, 0, true, false, true},
		{"acl without pattern but a flag", []string{"acl a path -i"}, 0, false, false, false},
		{"after a conditional final rule", []string{"http-request deny if { path /z }", "http-request set-header a b"}, 0, false, false, false},
	}
	haproxy, _ := exec.LookPath("haproxy")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "t.cfg")
			os.WriteFile(f, []byte(head+"    "+strings.Join(tc.lines, "\n    ")+"\n"), 0o644)
			rc, so, se := runCheck(t, haloBin, f)
			if rc != tc.rc {
				t.Errorf("halo -c rc=%d, want %d\n%s%s", rc, tc.rc, so, se)
			}
			line := first + len(tc.lines) - 1
			if (tc.rc != 0 || tc.warn) && !strings.Contains(se, fmt.Sprintf("t.cfg:%d: ", line)) {
				t.Errorf("halo must name t.cfg:%d:\n%s", line, se)
			}
			if tc.rc == 0 && tc.warn != strings.Contains(so, "Warnings were found") {
				t.Errorf("halo warning: want %v\n%s%s", tc.warn, so, se)
			}
			if haproxy == "" {
				return
			}
			hrc, hso, hse := runCheck(t, haproxy, f)
			if hrc != rc || tc.rc == 0 && tc.warn && !tc.haloOnly != strings.Contains(hso, "Warnings were found") {
				t.Errorf("haproxy -c rc=%d (halo %d)\n%s%s", hrc, rc, hso, hse)
			}
			if tc.haloOnly || tc.ownText {
				return
			}
			// Warnings say the same thing as haproxy's.
			for _, l := range strings.Split(se, "\n") {
				if i := strings.Index(l, fmt.Sprintf("t.cfg:%d: ", line)); i >= 0 && strings.Contains(l, "WARNING") {
					if msg := l[i+len(fmt.Sprintf("t.cfg:%d: ", line)):]; !strings.Contains(hse, msg) {
						t.Errorf("halo warns %q, haproxy:\n%s", msg, hse)
					}
				}
			}
		})
	}
}

// TestRedirectDiff: redirect answers byte for byte, every code, with and
// without set-cookie/clear-cookie, drop-query and append-slash, in the
// location, prefix and scheme forms, from http-request redirect and the
// redirect keyword.
func TestRedirectDiff(t *testing.T) {
	cfg := diffDefaults + "frontend fe\n    bind {{BIND}}\n"
	var cases []diffCase
	add := func(name, rule, target string) {
		cfg += "    http-request redirect " + rule + " if { hdr(x-case) -m str " + name + " }\n"
		cases = append(cases, diffCase{name: name, req: "GET " + target + " HTTP/1.1\r\nHost: example.com"})
	}
	for _, code := range []string{"301", "302", "303", "307", "308"} {
		add("loc-"+code, "location /new code "+code, "/old?q=1")
		add("prefix-"+code, "prefix https://example.net code "+code, "/old?q=1")
		add("scheme-"+code, "scheme https code "+code, "/old?q=1")
		add("setck-"+code, "location /new code "+code+" set-cookie S=1", "/")
		add("clearck-"+code, "location /new code "+code+" clear-cookie S=", "/")
	}
	add("setck-noval", "location /new set-cookie S", "/")
	add("clearck-noeq", "location /new clear-cookie S", "/")
	add("both-cookies", "location /new set-cookie A=1 clear-cookie B", "/")
	add("drop-query", "prefix /p drop-query", "/x/y?q=1")
	add("append-slash", "prefix /p append-slash", "/x/y")
	add("append-slash-query", "prefix /p append-slash", "/x/y?q=1")
	add("append-slash-drop", "prefix /p append-slash drop-query", "/x/y?q=1")
	add("append-slash-has", "prefix /p append-slash", "/x/")
	add("prefix-slash", "prefix / code 301", "/x?q=1")
	add("prefix-trailing", "prefix https://a.example/ code 301", "/x")
	add("prefix-abs", "prefix https://a.example", "http://example.com/x?q=1")
	add("scheme-abs", "scheme https", "http://example.com/x?q=1")
	add("scheme-drop", "scheme https drop-query", "/x?q=1")
	add("scheme-port", "scheme https", "/x")
	add("loc-fmt", "location https://%[hdr(host)]%[path],lower", "/X")
	add("loc-drop", "location /new?a=1 drop-query", "/x?q=1")
	add("loc-append", "location /new append-slash", "/x")
	cfg += "    redirect prefix /kw code 307 if { hdr(x-case) -m str keyword }\n"
	cases = append(cases, diffCase{name: "keyword", req: "GET /k?q HTTP/1.1\r\nHost: example.com"})
	cfg += "    redirect location /kw2 if { hdr(x-case) -m str keyword2 }\n"
	cases = append(cases, diffCase{name: "keyword2", req: "GET /k HTTP/1.1\r\nHost: example.com"})
	cases = append(cases, diffCase{name: "scheme-nohost", req: "GET /x HTTP/1.0"})
	cfg += "    http-request redirect scheme https if { hdr(x-case) -m str scheme-nohost }\n"
	cfg += "    default_backend be\nbackend be\n    server s {{SRV}}\n"
	runDiff(t, diffGroup{cfg: cfg, cases: cases})
}

// TestTarpit: a tarpitted request is held for `timeout tarpit` (or the
// connect timeout in a proxy with backend capability, never in a plain
// frontend) and then answered with 500 (or deny_status, or the custom
// response); the connection then stays usable. The answers are compared
// with haproxy's byte for byte; the delay is only checked from below so
// that a slow machine cannot fail the test.
func TestTarpit(t *testing.T) {
	cfg := `defaults
    mode http
    timeout connect 30s
    timeout client 30s
    timeout server 30s
frontend fe
    bind {{BIND}}
    http-request tarpit if { path /now }
    use_backend held if { path_beg /held }
    default_backend tp
backend tp
    timeout tarpit 400ms
    http-request tarpit deny_status 429 if { path /429 }
    http-request tarpit status 403 content-type text/plain string "go away" hdr X-A b if { path /custom }
    http-request tarpit
    server s {{SRV}}
backend held
    timeout connect 400ms
    http-request tarpit
    server s {{SRV}}
`
	type result struct {
		resp    string
		elapsed time.Duration
	}
	paths := []string{"/now", "/429", "/custom", "/plain", "/held"}
	run := func(bin string) map[string]result {
		rb := startRecBackend(t)
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		c := strings.NewReplacer("{{BIND}}", addr, "{{SRV}}", rb.addr).Replace(cfg)
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", writeConfig(t, c))
		defer func() { h.cmd.Process.Kill(); <-h.done }()
		out := map[string]result{}
		for _, p := range paths {
			start := time.Now()
			resp := sendCase(t, addr, diffCase{name: p, req: "GET " + p + " HTTP/1.1\r\nHost: e"})
			out[p] = result{resp, time.Since(start)}
			if got := rb.take(p); got != "<nothing>" {
				t.Errorf("%s: %s: a tarpitted request reached the server: %q", bin, p, got)
			}
		}
		// Keep-alive: the connection serves the next request after a tarpit.
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET /now HTTP/1.1\r\nHost: e\r\n\r\nGET /429 HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n")
		all, _ := io.ReadAll(conn)
		if n := strings.Count(string(all), "HTTP/1.1 "); n != 2 || !strings.Contains(string(all), "HTTP/1.1 429 ") {
			t.Errorf("%s: two tarpits on one connection: %q", bin, all)
		}
		// A client that leaves while held gets nothing and breaks nothing.
		early, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(early, "GET /plain HTTP/1.1\r\nHost: e\r\n\r\n")
		early.Close()
		return out
	}
	halo := run(haloBin)
	for p, min := range map[string]time.Duration{"/429": 400 * time.Millisecond, "/custom": 400 * time.Millisecond,
		"/plain": 400 * time.Millisecond, "/held": 400 * time.Millisecond} {
		if halo[p].elapsed < min {
			t.Errorf("%s answered after %v, before the %v tarpit", p, halo[p].elapsed, min)
		}
	}
	if !strings.HasPrefix(halo["/now"].resp, "HTTP/1.1 500 Internal Server Error\r\n") ||
		!strings.HasPrefix(halo["/custom"].resp, "HTTP/1.1 403 Forbidden\r\nx-a: b\r\n") {
		t.Errorf("answers: %q %q", halo["/now"].resp, halo["/custom"].resp)
	}
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Log("haproxy not installed: no side-by-side comparison")
		return
	}
	ref := run(hp)
	for _, p := range paths {
		if halo[p].resp != ref[p].resp {
			t.Errorf("%s:\nhalo:    %q\nhaproxy: %q", p, halo[p].resp, ref[p].resp)
		}
		if ref[p].elapsed >= 400*time.Millisecond != (halo[p].elapsed >= 400*time.Millisecond) && p != "/now" {
			t.Errorf("%s: halo held %v, haproxy %v", p, halo[p].elapsed, ref[p].elapsed)
		}
	}
}

// TestFetchDiff: sample fetches, converters, matching methods, flags and
// condition logic, compared with haproxy through what the server
// receives: each value is a set-header of %[...], each test an
// add-header under its condition.
func TestFetchDiff(t *testing.T) {
	values := []string{
		"dst", "dst_port", "method", "path", "url", "query", "url_param(a)", "url_param(b)", "urlp(n)", "base",
		"hdr(host)", "req.hdr(x-l)", "hdr(x-l,1)", "hdr(x-l,-1)", "req.fhdr(x-l)", "hdr_cnt(x-l)", "req.hdr_cnt(host)",
		"req.cook(c1)", "cook(c2)", "req.cook(empty)", "req.cook_cnt(c1)", "req.ver", "nbsrv(be)", "nbsrv(down)",
		"path,upper", "hdr(host),lower", "path,regsub(/,_,g)", "path,regsub(/,_)", "str(a.b.c),regsub(\\.,-,g)",
		"path,word(2,/)", "path,word(-1,/)", "path,field(2,/)", "path,field(-1,/)", "path,field(2,/,2)", "str(a//b),field(3,/)", "str(a//b),word(2,/)",
		"hdr(x-j),json", "hdr(x-u),json", "hdr(x-u),json(utf8)", "hdr(x-u),json(utf8s)", "url_param(a),json", "hdr(host),lower,map({{DIR}}/hosts.map)", "hdr(host),map({{DIR}}/hosts.map,nomatch)",
		"path,map_beg({{DIR}}/paths.map,none)", "path,map_reg({{DIR}}/regs.map,none)", "hdr(x-ip),map_ip({{DIR}}/nets.map,none)",
		"url_param(n),map_int({{DIR}}/ints.map,none)", "path,map_sub({{DIR}}/paths.map,none)", "path,map_end({{DIR}}/ends.map,none)",
		"path,map_dir({{DIR}}/dirs.map,none)", "hdr(host),map_dom({{DIR}}/doms.map,none)", "url_param(n),add(3)", "url_param(n),sub(10)",
		"url_param(n),mul(2)", "path,length", "path,bytes(1,3)", "hdr(x-ip),ipmask(16)", "src,ipmask(255.255.255.0)", "path,hex",
		"str(aGk=),b64dec", "path,base64", "str(%41b),url_dec", "path,ltrim(/)", "str(x..),rtrim(.)",
	}
	tests := []string{
		"path_end .html", "path_sub dmi", "path_reg ^/a.*z$", "url_beg /adm", "url_sub a=5", "url_reg b=.$", "query -m sub b=x",
		"hdr_beg(host) www.", "hdr_end(host) .com", "hdr_dom(host) example.com", "hdr_dom(host) example", "hdr_sub(user-agent) Firefox",
		"hdr_reg(user-agent) ^Mozilla", "hdr_cnt(x-l) gt 1", "hdr_cnt(x-l) eq 3", "hdr(x-l) c", "hdr(x-l) b",
		"req.cook(c1) -m found", "req.cook(empty) -m found", "req.cook(nosuch) -m found", "req.cook(empty) -m len 0", "cook(c1) v1",
		"cook_beg(c2) tw", "url_param(a) -m int 5", "url_param(n) -m int 1:10", "url_param(n) -m int gt 10",
		"path -i /ADMIN.HTML", "path /ADMIN.HTML", "hdr(host) -m str www.example.com", "path -m beg /a", "path -m sub dm",
		"path -m reg dm.n", "path -m reg -i ^/ADMIN", "path -m dir admin.html", "path -m dir b", "hdr(host) -m dom example",
		"path -m len 11", "path -m len gt 3", "hdr(x-ip) -m ip 10.0.0.0/8", "hdr(x-ip) -m ip 10.1.2.3", "src 127.0.0.1",
		"src localhost", "src 127.0.0.0/255.0.0.0", "dst 127.0.0.1", "dst_port 1:65535", "path -f {{DIR}}/pats.lst",
		"path -i -f {{DIR}}/pats.lst", "method GET", "method -i post", "base -m beg www.example.com/adm", "base_sub example",
		"url_param(b) -m found", "url_param(zz) -m found", "nbsrv(be) gt 0", "nbsrv(down) eq 0", "req.ver 1.0",
		"hdr(host),lower -m end .org", "path,word(1,/) -m str a", "-- -m str x",
	}
	conds := []string{"METH_GET", "METH_POST", "HTTP_1.1", "HTTP_1.0", "HTTP_URL_ABS", "HTTP_URL_SLASH", "LOCALHOST", "TRUE",
		"FALSE", "{ path /x } or { path_beg /a }", "{ path /x } || { method HEAD }", "!{ path_beg /a }", "! METH_GET",
		"METH_GET { path_beg /adm }", "is_admin", "!is_admin or METH_HEAD", "is_admin is_html", "two_lines", "REQ_CONTENT",
		"HTTP_CONTENT"}
	cfg := diffDefaults + "frontend fe\n    bind {{BIND}}\n    acl is_admin path_beg /admin\n    acl is_html path_end .html\n" +
		"    acl two_lines path /x\n    acl two_lines method HEAD\n"
	for i, v := range values {
		cfg += fmt.Sprintf("    http-request set-header x-v%02d \"%%[%s]\"\n", i, v)
	}
	for i, tst := range tests {
		if tst == "-- -m str x" {
			continue
		}
		cfg += fmt.Sprintf("    http-request add-header x-t%02d 1 if { %s }\n", i, tst)
	}
	for i, c := range conds {
		cfg += fmt.Sprintf("    http-request add-header x-c%02d 1 if %s\n", i, c)
	}
	cfg += "    default_backend be\nbackend be\n    server s {{SRV}}\nbackend down\n    server s 127.0.0.1:1 disabled\n"
	files := map[string]string{
		"hosts.map": "# host to name\nwww.example.com  site-a\nother.org\tsite-b\n",
		"paths.map": "/admin admin-area\n/a letter-a\n",
		"regs.map":  "^/a/.*/z$ regex-a\n^/admin regex-admin\n",
		"nets.map":  "10.0.0.0/8 private\n127.0.0.1 loop\n",
		"ints.map":  "7 seven\n12 twelve\n",
		"ends.map":  ".html page\n/z zed\n",
		"dirs.map":  "b dir-b\nadmin.html dir-admin\n",
		"doms.map":  "example dom-example\norg dom-org\n",
		"pats.lst":  "# exact paths\n/admin.html\n  /A/B/Z\n",
	}
	reqs := map[string]string{
		"get":     "GET /admin.html?a=5&b=x&n=7 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 Firefox\r\nX-L: a, b\r\nX-L: c\r\nCookie: c1=v1; empty=; c2=two\r\nX-IP: 10.1.2.3\r\nX-J: say \"hi\"\\ \t!/\r\nX-U: caf\xc3\xa9 \xe2\x82\xac",
		"post10":  "POST /a/b/z HTTP/1.0\r\nHost: Other.ORG\r\nX-IP: 192.168.0.1",
		"abs":     "GET http://example.com/ADMIN.HTML HTTP/1.1\r\nHost: example.com\r\nCookie: c1=",
		"head":    "HEAD /x?n=12&n=3 HTTP/1.1\r\nHost: a\r\nCookie: c1=a; c1=b",
		"bare":    "GET / HTTP/1.1\r\nHost: a\r\nX-L:\r\nCookie: empty",
		"post-ka": "POST /p;x=1 HTTP/1.1\r\nHost: a",
	}
	var cases []diffCase
	for name, r := range reqs {
		c := diffCase{name: name, req: r}
		if strings.HasPrefix(name, "post") {
			c.body = "abc"
		}
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	// haproxy adds "connection: keep-alive" to an HTTP/1.0 request it
	// forwards; halo's forwarding (not the rules tested here) does not.
	norm := func(s string) string {
		if strings.Contains(s, " HTTP/1.0\r\n") {
			s = strings.Replace(s, "connection: keep-alive\r\n", "", 1)
		}
		return s
	}
	runDiff(t, diffGroup{cfg: cfg, files: files, cases: cases, norm: norm})
}

// TestResponseRulesDiff: http-request allow and add-header, the
// http-response rules (add-header, set-header, del-header, replace-header,
// replace-value, set-status, return, deny, allow) with status and res.hdr
// conditions, errorfile, and option forwardfor header/if-none, compared
// with haproxy byte for byte on both sides.
func TestResponseRulesDiff(t *testing.T) {
	extraFiles := map[string]string{}
	cfg := diffDefaults + `frontend fe
    bind {{BIND}}
    option forwardfor header X-Client if-none
    http-request add-header x-before-allow 1
    http-request allow if { path_beg /allow }
    http-request add-header x-after-allow 1
    http-request deny if { path_beg /deny }
    http-request deny deny_status 404 if { path_beg /d404 }
    use_backend files if { path_beg /files }
    default_backend be
backend be
    http-response add-header x-added a
    http-response add-header x-added b
    http-response set-header x-status %[status] if { status 200:299 }
    http-response set-header x-nf yes if { status 404 }
    http-response del-header x-secret
    http-response replace-header x-loc ^http://(.*)$ https://\1
    http-response replace-value x-list ^b$ B
    http-response set-status 203 if { res.hdr(x-make) -m str 203 }
    http-response set-status 299 reason "All Good" if { res.hdr(x-make) -m str 299 }
    http-response set-status 418 if { res.hdr(x-make) -m str 418 }
    http-response set-status 302 if { res.hdr(x-make) -m str 302 }
    http-response return status 201 content-type text/plain string "made here" hdr x-r here if { res.hdr(x-make) -m str return }
    http-response return status 413 content-type text/plain lf-string "was %[status]" if { res.hdr(x-make) -m str return413 }
    http-response allow if { res.hdr(x-make) -m str allow }
    http-response deny if { res.hdr(x-make) -m str deny }
    http-response deny deny_status 500 if { status 500 }
    http-response add-header x-last 1
    server s {{SRV}}
backend files
    errorfile 503 {{DIR}}/503.http
    errorfile 403 {{DIR}}/403.http
    errorfile 400 {{DIR}}/400.http
    errorfile 404 {{DIR}}/404.http
    errorfile 429 {{DIR}}/429.http
    http-request deny if { path /files/deny }
    http-request deny deny_status 400 if { path /files/400 }
    http-request deny deny_status 404 if { path /files/404 }
    http-request deny deny_status 429 if { path /files/429 }
    server s 127.0.0.1:1
`
	if debian, err := os.ReadFile("/etc/haproxy/errors/403.http"); err == nil {
		cfg = strings.Replace(cfg, "{{DIR}}/403.http", "{{DIR}}/debian403.http", 1)
		defer func() { _ = debian }()
		extraFiles["debian403.http"] = string(debian)
	}
	files := map[string]string{
		"503.http": "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 8\r\n\r\ncustom!\n",
		"403.http": "HTTP/1.0 403 Forbidden\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html>no</html>\n",
		"400.http": "HTTP/1.1 400 Bad\r\nX-A:  1 \r\n\r\nno length\n",
		"404.http": "HTTP/1.1 404 Nope\nConnection: close\nContent-Length: 2\n\nno",
		"429.http": "HTTP/1.0 429 Slow\r\nContent-Length: 4\r\n\r\nslow",
	}
	for k, v := range extraFiles {
		files[k] = v
	}
	ok := func(extra string) string { return "HTTP/1.1 200 OK\r\n" + extra }
	g := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: e" }
	cases := []diffCase{
		{name: "plain", req: g("/")},
		{name: "allow", req: g("/allow")},
		{name: "xff-present", req: g("/") + "\r\nX-Client: 10.9.9.9"},
		{name: "xff-other", req: g("/") + "\r\nX-Forwarded-For: 10.9.9.9"},
		{name: "deny", req: g("/deny")},
		{name: "deny-404", req: g("/d404")},
		{name: "status-404", req: g("/"), res: "HTTP/1.1 404 Not Found\r\n"},
		{name: "status-301", req: g("/"), res: "HTTP/1.1 301 Moved\r\nLocation: /x\r\n"},
		{name: "headers", req: g("/"), res: ok("X-Secret: s\r\nX-Loc: http://a/b\r\nX-List: a, b,c\r\nX-List: b\r\nX-Added: srv\r\n")},
		{name: "set-status-203", req: g("/"), res: ok("X-Make: 203\r\n")},
		{name: "set-status-reason", req: g("/"), res: ok("X-Make: 299\r\n")},
		{name: "return", req: g("/"), res: ok("X-Make: return\r\n")},
		{name: "allow-response", req: g("/"), res: ok("X-Make: allow\r\n")},
		{name: "deny-response", req: g("/"), res: ok("X-Make: deny\r\n")},
		{name: "deny-500", req: g("/"), res: "HTTP/1.1 500 Oops\r\n"},
		{name: "set-status-418", req: g("/"), res: ok("X-Make: 418\r\n")},
		{name: "set-status-302", req: g("/"), res: ok("X-Make: 302\r\n")},
		{name: "return-413", req: g("/"), res: ok("X-Make: return413\r\n")},
		{name: "errorfile-503", req: g("/files/x")},
		{name: "errorfile-403", req: g("/files/deny")},
		{name: "errorfile-400", req: g("/files/400")},
		{name: "errorfile-404", req: g("/files/404")},
		{name: "errorfile-429", req: g("/files/429")},
	}
	runDiff(t, diffGroup{cfg: cfg, files: files, cases: cases})
}

// TestCapturesAndCloseDiff: capture request/response header values in
// the httplog line (and a tarpitted request's PT flags), compared with
// haproxy's log line; and an HTTP/1.0 or length-less errorfile ends a
// keep-alive connection, as with haproxy.
func TestCapturesAndCloseDiff(t *testing.T) {
	rb := startRecBackend(t)
	rb.res["cap"] = "HTTP/1.1 200 OK\r\nX-Srv: backend-one\r\nX-Empty: \r\n"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "403.http"), []byte("HTTP/1.0 403 Forbidden\r\nContent-Type: text/html\r\n\r\nno\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "404.http"), []byte("HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\nnope\n"), 0o644)
	type result struct {
		logs   []string
		closed map[string]bool
	}
	run := func(bin string) result {
		sink := newSyslogSink(t)
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cfg := fmt.Sprintf(`global
    log %s local2
    log-tag lb
defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    capture request header Host len 4
    capture request header X-None len 10
    capture response header X-Srv len 7
    capture response header X-Empty len 5
    http-request tarpit if { path /tarpit }
    default_backend be
backend be
    timeout tarpit 100ms
    errorfile 403 %s/403.http
    errorfile 404 %s/404.http
    http-request deny if { path /e403 }
    http-request deny deny_status 404 if { path /e404 }
    http-request deny deny_status 429 if { path /e429 }
    server s %s
`, sink.addr(), addr, dir, dir, rb.addr)
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", writeConfig(t, cfg))
		defer func() { h.cmd.Process.Kill(); <-h.done }()
		sendCase(t, addr, diffCase{name: "cap", req: "GET /cap HTTP/1.1\r\nHost: example.com"})
		sendCase(t, addr, diffCase{name: "tp", req: "GET /tarpit HTTP/1.1\r\nHost: e"})
		res := result{closed: map[string]bool{}}
		for _, p := range []string{"/e403", "/e404", "/e429"} {
			// Keep-alive request: does the proxy close after the answer?
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(3 * time.Second))
			io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: e\r\n\r\n")
			_, err = io.ReadAll(c)
			res.closed[p] = err == nil // EOF before the deadline
			c.Close()
		}
		for _, l := range sink.wait(t, " fe ", 5) {
			if strings.Contains(l, "BADREQ") {
				continue // the keep-alive connections closed without a request
			}
			res.logs = append(res.logs, normalize(l))
		}
		sort.Strings(res.logs)
		return res
	}
	halo := run(haloBin)
	joined := strings.Join(halo.logs, "\n")
	for _, want := range []string{"{exam|} {backend|} ", " -1/N/-1/-1/T 500 B - - PT-- ", "{e|} {|} \"GET /e403"} {
		if !strings.Contains(joined, want) {
			t.Errorf("log lacks %q:\n%s", want, joined)
		}
	}
	if !halo.closed["/e403"] || !halo.closed["/e404"] || halo.closed["/e429"] {
		t.Errorf("connection closed after the answer: %v (want 403 and 404 closed, 429 kept)", halo.closed)
	}
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Log("haproxy not installed: no side-by-side comparison")
		return
	}
	ref := run(hp)
	if fmt.Sprint(ref.closed) != fmt.Sprint(halo.closed) {
		t.Errorf("closed after the answer: halo %v, haproxy %v", halo.closed, ref.closed)
	}
	for i := range ref.logs {
		if i >= len(halo.logs) || halo.logs[i] != ref.logs[i] {
			t.Errorf("log lines differ:\nhalo:    %q\nhaproxy: %q", halo.logs, ref.logs)
			break
		}
	}
}
