package integration

// Leftovers of the HTTP engine, each checked against haproxy 2.6 side by
// side: backslashes in log-format strings, capture braces on <BADREQ>
// lines, absolute URIs without a path, HTTP/2 trailers, CONNECT, retries
// of requests on failed reused connections and idle connections at soft
// stop.

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// eachProxy returns halo, and haproxy when it is installed.
func eachProxy(t *testing.T) []struct{ name, bin string } {
	t.Helper()
	bins := []struct{ name, bin string }{{"halo", haloBin}}
	if hp, err := exec.LookPath("haproxy"); err == nil {
		bins = append(bins, struct{ name, bin string }{"haproxy", hp})
	} else {
		t.Log("haproxy not installed: halo only")
	}
	return bins
}

// The log-format strings of this configuration hold backslashes that the
// configuration lexer does not take (\. \% \[) and one it does (\\):
// haproxy keeps the first kind as written in every log-format string
// (log-format lines, set-header values, redirect locations, lf-string
// bodies), so that `e\%f` is a backslash then %f (the frontend name).
const backslashCfg = `global
    log %[1]s local2
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%[2]d
    option httplog
    capture request header Host len 20
    capture response header Server len 20
    default_backend app
frontend lf
    bind 127.0.0.1:%[3]d
    log-format LF:a\.b|c\\d|e\%%f|g%%%%h|s\[t|\]|"q\.r"|%%[str(u\.v)]|%%{+Q}[str(w\.x)]
    http-request set-header x-a a\.b|c\\d|e\%%f|%%[str(u\.v)]
    http-request redirect location /a\.b%%[str(c)]\\d if { path /redir }
    http-request return status 200 content-type text/plain lf-string "R:a\.b|c\\d|e\%%f|%%[req.hdr(x-a)]" if { path /ret }
    default_backend app
backend app
    server s1 %[4]s
`

// TestLogFormatBackslashes: backslashes in log-format strings reach the
// output as haproxy writes them, in logs, headers, redirects and bodies.
// TestBadReqNoCaptures: a <BADREQ> line has no capture braces even when
// the frontend declares captures, as haproxy logs it.
func TestLogFormatBackslashes(t *testing.T) {
	type result struct{ redir, ret, sent, lfLine, badLine, goodLine string }
	var results []result
	bins := eachProxy(t)
	for _, b := range bins {
		sink := newSyslogSink(t)
		be := startRawBackend(t)
		p1, p2 := freePort(t), freePort(t)
		h := startProc(t, b.bin, "", nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(backslashCfg, sink.addr(), p1, p2, be.addr)))
		fe, lf := fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2)
		waitListening(t, fe, h)
		waitListening(t, lf, h)
		var r result
		r.redir = oneShot(t, lf, "GET /redir HTTP/1.1\r\nHost: a\r\n\r\n")
		r.ret = oneShot(t, lf, "GET /ret HTTP/1.1\r\nHost: a\r\n\r\n")
		oneShot(t, lf, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
		r.sent = be.received()
		r.lfLine = sink.wait(t, "LF:", 3)[2]
		oneShot(t, fe, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
		r.goodLine = sink.wait(t, `"GET /ok HTTP/1.1"`, 1)[0]
		oneShot(t, fe, "G@T / HTTP/1.1\r\nHost: a\r\n\r\n")
		r.badLine = sink.wait(t, "PR--", 1)[0]
		results = append(results, r)
	}
	tail := func(line, from string) string { return line[strings.Index(line, from):] }
	halo := results[0]
	for _, c := range []struct{ what, got, want string }{
		{"redirect", halo.redir, "\r\nlocation: /a\\.bc\\d\r\n"},
		{"lf-string", halo.ret, "\r\n\r\nR:a\\.b|c\\d|e\\lf|a\\.b|c\\d|e\\lf|u\\.v$"},
		{"set-header", halo.sent, "\r\nx-a: a\\.b|c\\d|e\\lf|u\\.v\r\n"},
		{"log-format", tail(halo.lfLine, "LF:"), `^LF:a\.b|c\d|e\lf|g%h|s\[t|\]|q\.r|u\.v|"w\.x"` + "\n$"},
		{"BADREQ with captures", tail(halo.badLine, " fe "), `^ fe fe/<NOSRV> -1/-1/-1/-1/`},
		{"BADREQ with captures", halo.badLine, ` PR-- 1/1/0/0/0 0/0 "<BADREQ>"` + "\n$"},
		{"captures of a good request", halo.goodLine, ` ---- 1/1/0/0/0 0/0 {a} {} "GET /ok HTTP/1.1"` + "\n$"},
	} {
		if !matches(c.got, c.want) {
			t.Errorf("halo, %s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	if len(results) < 2 {
		return
	}
	hp := results[1]
	timers := regexp.MustCompile(`^.*\] `)
	tm := regexp.MustCompile(` [-\d]+/[-\d]+/[-\d]+/[-\d]+/\d+ (\d+) (\d+)`)
	norm := func(s string) string { return tm.ReplaceAllString(timers.ReplaceAllString(s, ""), " T $1 B") }
	for _, c := range []struct{ what, halo, haproxy string }{
		{"redirect", halo.redir, hp.redir},
		{"lf-string", halo.ret, hp.ret},
		{"set-header", halo.sent, hp.sent},
		{"log-format", tail(halo.lfLine, "LF:"), tail(hp.lfLine, "LF:")},
		{"BADREQ line", norm(halo.badLine), norm(hp.badLine)},
		{"good line", norm(halo.goodLine), norm(hp.goodLine)},
	} {
		if c.halo != c.haproxy {
			t.Errorf("%s:\nhalo    %q\nhaproxy %q", c.what, c.halo, c.haproxy)
		}
	}
}

// An absolute URI's authority runs up to the first '/', so in
// "http://a?q=1" it is "a?q=1": with "Host: a" the two differ (400),
// and the path fetch of such a URI is empty (haproxy: path "", base the
// Host alone; halo said "/" before).
const absURICfg = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    http-request set-header x-path "%%[path]"
    http-request set-header x-base "%%[base]"
    http-request set-header x-query "%%[query]"
    http-request set-header x-url "%%[url]"
    http-request set-header x-root yes if { path / }
    default_backend app
backend app
    server s1 %s
`

func TestAbsoluteURIWithoutPath(t *testing.T) {
	cases := []struct{ name, req, resp, sent string }{
		{"query, Host without it", "GET http://a?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", "^HTTP/1.1 400 Bad request\r\n", "^$"},
		{"query, same Host", "GET http://a?q=1 HTTP/1.1\r\nHost: a?q=1\r\n\r\n", "^HTTP/1.1 200 OK\r\n",
			"^GET http://a?q=1 HTTP/1.1\r\nhost: a?q=1\r\nx-path: \r\nx-base: a?q=1\r\nx-query: q=1\r\nx-url: http://a?q=1\r\n\r\n$"},
		{"query, no Host", "GET http://a?q=1 HTTP/1.1\r\n\r\n", "^HTTP/1.1 200 OK\r\n",
			"^GET http://a?q=1 HTTP/1.1\r\nx-path: \r\nx-base: \r\nx-query: q=1\r\nx-url: http://a?q=1\r\n\r\n$"},
		{"query, default port", "GET http://a:80?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", "^HTTP/1.1 400 Bad request\r\n", "^$"},
		{"no path", "GET http://a HTTP/1.1\r\nHost: a\r\n\r\n", "^HTTP/1.1 200 OK\r\n",
			"^GET http://a HTTP/1.1\r\nhost: a\r\nx-path: \r\nx-base: a\r\nx-query: \r\nx-url: http://a\r\n\r\n$"},
		{"root path", "GET http://a/?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", "^HTTP/1.1 200 OK\r\n",
			"x-path: /\r\nx-base: a/\r\nx-query: q=1\r\nx-url: http://a/?q=1\r\nx-root: yes\r\n\r\n$"},
	}
	type result struct{ resp, sent string }
	got := map[string][]result{}
	for _, p := range startBoth(t, absURICfg) {
		for _, tc := range cases {
			p.be.reset()
			rc := dialRaw(t, p.addr)
			resp := rc.do(t, tc.req)
			rc.c.Close()
			got[tc.name] = append(got[tc.name], result{resp, p.be.received()})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := got[tc.name]
			if !matches(r[0].resp, tc.resp) || !matches(r[0].sent, tc.sent) {
				t.Errorf("halo answered %q and sent %q, want %q and %q", r[0].resp, r[0].sent, tc.resp, tc.sent)
			}
			if len(r) > 1 && (r[0].resp != r[1].resp || r[0].sent != r[1].sent) {
				t.Errorf("client got\nhalo    %q\nhaproxy %q\nserver got\nhalo    %q\nhaproxy %q", r[0].resp, r[1].resp, r[0].sent, r[1].sent)
			}
		})
	}
}
