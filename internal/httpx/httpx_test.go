package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

func status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	if err == nil {
		return 0
	}
	return -1
}

func TestParseRequest(t *testing.T) {
	long := "GET /" + strings.Repeat("a", 20000) + " HTTP/1.1\r\nHost: a\r\n\r\n"
	many := "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-A: b\r\n", 120) + "\r\n"
	big := "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("b", 17000) + "\r\n\r\n"
	for _, tc := range []struct {
		name, in string
		status   int
		body     BodyKind
		cl       int64
		keep     bool
	}{
		{"simple", "GET /x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n", 0, BodyNone, 0, true},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", 0, BodyNone, 0, true},
		{"http/1.0", "GET / HTTP/1.0\r\n\r\n", 0, BodyNone, 0, false},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, BodyNone, 0, true},
		{"close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0, BodyNone, 0, false},
		{"content-length", "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 0, BodyLength, 5, true},
		{"same CL twice", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 0, BodyLength, 5, true},
		{"CL list", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 0, BodyLength, 5, true},
		{"chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, BodyChunked, -1, true},
		{"CL.TE drops CL, closes", "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 0, BodyChunked, -1, false},
		{"chunked trailing comma", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n", 0, BodyChunked, -1, true},
		{"TE upper case", "POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n", 0, BodyChunked, -1, true},
		{"TE space first", "POST / HTTP/1.1\r\nTransfer-Encoding:  chunked \r\n\r\n", 0, BodyChunked, -1, true},
		{"HTTP/1.2 is 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0, BodyNone, 0, true},
		{"same Host twice", "GET / HTTP/1.1\r\nHost: a\r\nHost: A\r\n\r\n", 0, BodyNone, 0, true},
		{"absolute form default port", "GET http://a:80/x HTTP/1.1\r\nHost: a\r\n\r\n", 0, BodyNone, 0, true},
		{"absolute form userinfo", "GET http://u@A/x HTTP/1.1\r\nHost: a:80\r\n\r\n", 0, BodyNone, 0, true},
		{"absolute form https", "GET https://a:443/x HTTP/1.1\r\nHost: a\r\n\r\n", 0, BodyNone, 0, true},
		{"absolute form no Host", "GET http://a/x HTTP/1.1\r\n\r\n", 0, BodyNone, 0, true},
		{"absolute form v6", "GET http://[::1]:80/x HTTP/1.1\r\nHost: [::1]\r\n\r\n", 0, BodyNone, 0, true},
		{"absolute form other port", "GET http://a:8080/x HTTP/1.1\r\nHost: a:8080\r\n\r\n", 0, BodyNone, 0, true},
		{"quote and braces in target", "GET /a\"{b}|^` HTTP/1.1\r\nHost: a\r\n\r\n", 0, BodyNone, 0, true},
		{"absolute form", "GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n", 0, BodyNone, 0, true},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0, BodyNone, 0, true},
		{"CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 0, BodyTunnel, 0, true},
		{"CONNECT Host without port", "CONNECT a.example:80 HTTP/1.1\r\nHost: A.example\r\n\r\n", 0, BodyTunnel, 0, true},
		{"CONNECT no Host", "CONNECT a.example:0443 HTTP/1.1\r\n\r\n", 0, BodyTunnel, 0, true},
		{"leading CRLF", "\r\nGET / HTTP/1.1\r\n\r\n", 0, BodyNone, 0, true},
		// Smuggling attempts and malformed heads.
		{"two CL", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, 0, 0, false},
		{"empty CL then CL", "POST / HTTP/1.1\r\nContent-Length:\r\nContent-Length: 5\r\n\r\n", 400, 0, 0, false},
		{"CL +1", "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400, 0, 0, false},
		{"CL hex", "POST / HTTP/1.1\r\nContent-Length: 0x1\r\n\r\n", 400, 0, 0, false},
		{"CL overflow", "POST / HTTP/1.1\r\nContent-Length: 18446744073709551617\r\n\r\n", 400, 0, 0, false},
		{"space before colon", "POST / HTTP/1.1\r\nContent-Length : 1\r\n\r\n", 400, 0, 0, false},
		{"TE space before colon", "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", 400, 0, 0, false},
		// Transfer codings as HAProxy 2.6 answers them: other codings
		// before chunked are 422 (halo cannot decode them), any other
		// list is malformed.
		{"TE gzip, chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 422, 0, 0, false},
		{"TE ,chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n", 422, 0, 0, false},
		{"TE foo, chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: foo, chunked\r\n\r\n", 422, 0, 0, false},
		{"TE gzip then chunked headers", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 422, 0, 0, false},
		{"TE gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400, 0, 0, false},
		{"TE identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 400, 0, 0, false},
		{"TE chunked, identity", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400, 0, 0, false},
		{"TE chunked;q=1", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400, 0, 0, false},
		{"TE chunked, ,", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, ,\r\n\r\n", 400, 0, 0, false},
		{"TE empty", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", 400, 0, 0, false},
		{"TE chunked, gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, 0, 0, false},
		{"TE chunked twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400, 0, 0, false},
		{"two TE headers", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0, 0, false},
		{"TE xchunked", "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", 400, 0, 0, false},
		{"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0, 0, false},
		{"TE obs-fold", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", 400, 0, 0, false},
		{"TE tab value", "POST / HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\n\r\n", 0, BodyChunked, -1, true},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", 400, 0, 0, false},
		{"CR alone", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400, 0, 0, false},
		{"no colon", "GET / HTTP/1.1\r\nbad header\r\n\r\n", 400, 0, 0, false},
		{"bad method", "G@T / HTTP/1.1\r\n\r\n", 400, 0, 0, false},
		{"double space", "GET  / HTTP/1.1\r\n\r\n", 400, 0, 0, false},
		{"trailing space", "GET / HTTP/1.1 \r\n\r\n", 400, 0, 0, false},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505, 0, 0, false},
		{"relative target", "GET x HTTP/1.1\r\n\r\n", 400, 0, 0, false},
		{"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, 0, false},
		{"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, 0, false},
		{"fragment in target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, 0, false},
		{"two different Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 0, 0, false},
		// CONNECT authorities as HAProxy 2.6 checks them.
		{"CONNECT without port", "CONNECT a.example HTTP/1.1\r\n\r\n", 400, 0, 0, false},
		{"CONNECT empty port", "CONNECT a.example: HTTP/1.1\r\n\r\n", 400, 0, 0, false},
		{"CONNECT port not numeric", "CONNECT a.example:x HTTP/1.1\r\n\r\n", 400, 0, 0, false},
		{"CONNECT other host", "CONNECT a.example:443 HTTP/1.1\r\nHost: b.example:443\r\n\r\n", 400, 0, 0, false},
		{"CONNECT other port", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:80\r\n\r\n", 400, 0, 0, false},
		{"CONNECT port written otherwise", "CONNECT a.example:0443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 400, 0, 0, false},
		{"CONNECT Host without a non-default port", "CONNECT a.example:8443 HTTP/1.1\r\nHost: a.example\r\n\r\n", 400, 0, 0, false},
		{"Host with and without port", "GET / HTTP/1.1\r\nHost: a:80\r\nHost: a\r\n\r\n", 400, 0, 0, false},
		{"absolute form other host", "GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, 0, false},
		{"absolute form other port", "GET http://a:8080/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, 0, false},
		{"absolute form https port on http", "GET http://a:443/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, 0, false},
		{"absolute form query without path", "GET http://a?q HTTP/1.1\r\nHost: a\r\n\r\n", 400, 0, 0, false},
		{"absolute form userinfo in Host", "GET http://v@a/x HTTP/1.1\r\nHost: v@a\r\n\r\n", 400, 0, 0, false},
		{"long URI", long, 414, 0, 0, false},
		{"too many headers", many, 431, 0, 0, false},
		{"huge header", big, 431, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			_, err := ParseRequest([]byte(tc.in), &r, Limits{})
			if got := status(err); got != tc.status {
				t.Fatalf("status %d (%v), want %d", got, err, tc.status)
			}
			if tc.status != 0 {
				return
			}
			if r.Body != tc.body || r.ContentLength != tc.cl || r.KeepAlive != tc.keep {
				t.Errorf("body %v cl %d keep %v; want %v %d %v", r.Body, r.ContentLength, r.KeepAlive, tc.body, tc.cl, tc.keep)
			}
		})
	}
}

// TestNormalise checks what the parser leaves for the proxy to forward:
// identical duplicate Host and Content-Length merged, Content-Length
// dropped beside chunked, a default port removed from an absolute URI
// (HAProxy 2.6 forwards these the same way).
func TestNormalise(t *testing.T) {
	for _, tc := range []struct {
		in, target, headers string
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nhost: A\r\n\r\n", "/", "Host=a X=1"},
		{"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", "/", "Content-Length=2"},
		{"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n", "/", "Content-Length=2"},
		{"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n", "/", "Transfer-Encoding=chunked X=y"},
		{"GET http://a:80/x?y HTTP/1.1\r\nHost: a\r\n\r\n", "http://a/x?y", "Host=a"},
		{"GET http://a:/x HTTP/1.1\r\nHost: a\r\n\r\n", "http://a/x", "Host=a"},
		{"GET https://u@a:443 HTTP/1.1\r\nHost: a\r\n\r\n", "https://u@a", "Host=a"},
		// The port goes from the Host too once it went from the target.
		{"GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", "http://[::1]/", "Host=[::1]"},
		{"GET http://a:/ HTTP/1.1\r\nHost: a:80\r\n\r\n", "http://a/", "Host=a"},
		{"GET https://a:443/ HTTP/1.1\r\nHost: a:\r\n\r\n", "https://a/", "Host=a"},
		{"GET http://a:80/ HTTP/1.1\r\n\r\n", "http://a/", ""},
		{"GET http://a/ HTTP/1.1\r\nHost: a:80\r\n\r\n", "http://a/", "Host=a:80"},
		{"GET http://a:8080/x HTTP/1.1\r\nHost: a:8080\r\n\r\n", "http://a:8080/x", "Host=a:8080"},
		// CONNECT: a Host with port 80 or 443 loses it.
		{"CONNECT a:443 HTTP/1.1\r\nHost: A:443\r\n\r\n", "a:443", "Host=A"},
		{"CONNECT a:80 HTTP/1.1\r\nHost: a:80\r\n\r\n", "a:80", "Host=a"},
		{"CONNECT a:443 HTTP/1.1\r\nHost: a:\r\n\r\n", "a:443", "Host=a:"},
		{"CONNECT a:8443 HTTP/1.1\r\nHost: a:8443\r\n\r\n", "a:8443", "Host=a:8443"},
		{"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", "[::1]:443", "Host=[::1]"},
	} {
		var r Request
		if _, err := ParseRequest([]byte(tc.in), &r, Limits{}); err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var hs []string
		for _, h := range r.Headers {
			hs = append(hs, string(h.Name)+"="+string(h.Value))
		}
		if string(r.Target) != tc.target || strings.Join(hs, " ") != tc.headers {
			t.Errorf("%q: target %q headers %q, want %q %q", tc.in, r.Target, strings.Join(hs, " "), tc.target, tc.headers)
		}
	}
}

// TestHeaderCount: tune.http.maxhdr counts the request line and not the
// Connection header, as HAProxy 2.6 does (maxhdr 20: Host and 18 more
// pass, Host and 19 more fail, Connection and 19 more pass).
func TestHeaderCount(t *testing.T) {
	lim := Limits{MaxHeaders: 20}
	for _, tc := range []struct {
		first string
		more  int
		ok    bool
	}{{"Host: a", 18, true}, {"Host: a", 19, false}, {"Connection: close", 19, true}, {"Connection: close", 20, false}} {
		req := "GET / HTTP/1.1\r\n" + tc.first + "\r\n" + strings.Repeat("X: h\r\n", tc.more) + "\r\n"
		var r Request
		_, err := ParseRequest([]byte(req), &r, lim)
		if (err == nil) != tc.ok || err != nil && status(err) != 431 {
			t.Errorf("%s + %d headers: %v, want ok %v", tc.first, tc.more, err, tc.ok)
		}
		var res Response
		_, err = ParseResponse([]byte(strings.Replace(req, "GET / HTTP/1.1", "HTTP/1.1 200 OK", 1)), "GET", &res, lim)
		if (err == nil) != tc.ok {
			t.Errorf("response %s + %d headers: %v, want ok %v", tc.first, tc.more, err, tc.ok)
		}
	}
}

func TestIncomplete(t *testing.T) {
	full := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	for i := 0; i < len(full); i++ {
		var r Request
		if _, err := ParseRequest([]byte(full[:i]), &r, Limits{}); err != ErrIncomplete {
			t.Fatalf("prefix %d: %v, want ErrIncomplete", i, err)
		}
	}
	var r Request
	n, err := ParseRequest([]byte(full+"GET /next"), &r, Limits{})
	if err != nil || n != len(full) || string(r.Target) != "/" || string(r.Get("HOST")) != "a" {
		t.Errorf("n=%d err=%v target=%q host=%q", n, err, r.Target, r.Get("host"))
	}
}

func TestParseResponse(t *testing.T) {
	for _, tc := range []struct {
		in, method string
		status     int
		body       BodyKind
		err        int
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET", 200, BodyLength, 0},
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "HEAD", 200, BodyNone, 0},
		{"HTTP/1.1 204 No Content\r\n\r\n", "GET", 204, BodyNone, 0},
		{"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", "GET", 304, BodyNone, 0},
		{"HTTP/1.1 100 Continue\r\n\r\n", "POST", 100, BodyNone, 0},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "GET", 101, BodyTunnel, 0},
		{"HTTP/1.1 200 OK\r\n\r\n", "CONNECT", 200, BodyTunnel, 0},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 200, BodyChunked, 0},
		{"HTTP/1.0 200 OK\r\n\r\n", "GET", 200, BodyClose, 0},
		{"HTTP/1.1 200\r\n\r\n", "GET", 200, BodyClose, 0},
		{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", "GET", 200, BodyLength, 0},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 200, BodyChunked, 0},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", 200, BodyNone, 0},
		{"HTTP/1.1 2x0 OK\r\n\r\n", "GET", 0, 0, 502},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET", 0, 0, 502},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "GET", 0, 0, 502},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "GET", 0, 0, 502},
		{"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("x", 16400) + "\r\n\r\n", "GET", 0, 0, 502},
		{"HTTP/1.1 200 OK\r\n" + strings.Repeat("X: x\r\n", 102) + "\r\n", "GET", 0, 0, 502},
		{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "GET", 0, 0, 502},
		{"ICY 200 OK\r\n\r\n", "GET", 0, 0, 502},
	} {
		var r Response
		_, err := ParseResponse([]byte(tc.in), tc.method, &r, Limits{})
		if got := status(err); got != tc.err {
			t.Errorf("%q: status %d (%v), want %d", tc.in, got, err, tc.err)
			continue
		}
		if tc.err == 0 && (r.Status != tc.status || r.Body != tc.body) {
			t.Errorf("%q: status %d body %v, want %d %v", tc.in, r.Status, r.Body, tc.status, tc.body)
		}
		if tc.err == 0 && strings.Contains(tc.in, "chunked") {
			// A chunked response keeps saying so (even to HEAD) and loses
			// its Content-Length.
			if !r.Chunked || r.Get("content-length") != nil {
				t.Errorf("%q: chunked %v, content-length %q", tc.in, r.Chunked, r.Get("content-length"))
			}
		}
		if tc.err == 0 && len(r.Headers) > 0 && strings.Count(tc.in, "Content-Length") > 1 && len(r.Headers) != 1 {
			t.Errorf("%q: duplicate Content-Length not merged: %d headers", tc.in, len(r.Headers))
		}
	}
}

func TestChunked(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		status   int
	}{
		{"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n", "hello world", 0},
		{"A\nabcdefghij\n0\n\n", "abcdefghij", 0},
		{"5\r\nhelloXX\r\n0\r\n\r\n", "", 400},
		{"-5\r\nhello\r\n0\r\n\r\n", "", 400},
		{" 5\r\nhello\r\n0\r\n\r\n", "", 400},
		{"fffffffffffffffff\r\n", "", 400},
		{"5x\r\nhello\r\n0\r\n\r\n", "", 400},
		{"5\r\nhel", "", -1},
	} {
		cr := NewChunkedReader(bufio.NewReader(strings.NewReader(tc.in)))
		got, err := io.ReadAll(cr)
		st := status(err)
		if err == io.ErrUnexpectedEOF {
			st = -1
		}
		if st != tc.status || (tc.status == 0 && string(got) != tc.want) {
			t.Errorf("%q: got %q, %v; want %q status %d", tc.in, got, err, tc.want, tc.status)
		}
	}
	// Trailers are kept, names lower-cased, within the limits.
	for _, tc := range []struct {
		in, trailer string
		lim         Limits
		status      int
	}{
		{"0\r\nX-T: a\r\nx-u:b \r\n\r\n", "x-t: a\r\nx-u: b\r\n", Limits{}, 0},
		{"0\nX-T: a\n\n", "x-t: a\r\n", Limits{}, 0},
		{"0\r\n\r\n", "", Limits{}, 0},
		{"0\r\nbad trailer\r\n\r\n", "", Limits{}, 400},
		{"0\r\nX: a\r\n folded\r\n\r\n", "", Limits{}, 400},
		{"0\r\nX : a\r\n\r\n", "", Limits{}, 400},
		{"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", "", Limits{MaxHeaders: 2}, 400},
		{"0\r\nA: " + strings.Repeat("a", 100) + "\r\n\r\n", "", Limits{MaxHead: 64}, 400},
	} {
		cr := NewChunkedReader(nil)
		cr.Reset(bufio.NewReader(strings.NewReader(tc.in)), tc.lim)
		_, err := io.ReadAll(cr)
		if st := status(err); st != tc.status || tc.status == 0 && string(cr.Trailers()) != tc.trailer {
			t.Errorf("%q: trailer %q, %v; want %q status %d", tc.in, cr.Trailers(), err, tc.trailer, tc.status)
		}
	}
	var tw bytes.Buffer
	if _, err := (ChunkedWriter{W: &tw}).CloseTrailers([]byte("x-t: a\r\n"), nil); err != nil || tw.String() != "0\r\nx-t: a\r\n\r\n" {
		t.Errorf("CloseTrailers wrote %q, %v", tw.String(), err)
	}
	var buf bytes.Buffer
	w := ChunkedWriter{W: &buf}
	w.Write([]byte("hello"))
	w.Write(bytes.Repeat([]byte("x"), 300))
	w.Close()
	back, err := io.ReadAll(NewChunkedReader(bufio.NewReader(&buf)))
	if err != nil || string(back) != "hello"+strings.Repeat("x", 300) {
		t.Errorf("round trip: %v %q", err, back)
	}
}

// TestLocalResponses checks byte-exact pages against HAProxy 2.6's
// observed bytes, and that they parse as responses.
func TestLocalResponses(t *testing.T) {
	want503 := "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n" +
		"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
	if got := string(ErrorResponse(503)); got != want503 {
		t.Errorf("503:\n%q\nwant\n%q", got, want503)
	}
	want400 := "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"
	if got := string(ErrorResponse(400)); got != want400 {
		t.Errorf("400:\n%q\nwant\n%q", got, want400)
	}
	want422 := "HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n</body></html>\n"
	if got := string(ErrorResponse(422)); got != want422 || !ClosesConnection(422) {
		t.Errorf("422:\n%q\nwant\n%q", got, want422)
	}
	if got := string(HeadOnly(ErrorResponse(403))); got != "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n" {
		t.Errorf("head of 403: %q", got)
	}
	if !strings.Contains(string(ErrorResponse(408)), "Content-length: 110\r\n") {
		t.Errorf("408 length: %q", ErrorResponse(408))
	}
	for code := range pages {
		b := ErrorResponse(code)
		var r Response
		n, err := ParseResponse(b, "GET", &r, Limits{})
		if err != nil || r.Status != code || int64(len(b)-n) != r.ContentLength {
			t.Errorf("%d: %v status %d, body %d vs content-length %d", code, err, r.Status, len(b)-n, r.ContentLength)
		}
	}
}

// TestOverSocket parses requests arriving in pieces over a real TCP
// connection, as the proxy will.
func TestOverSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		msg := "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
		for i := 0; i < len(msg); i += 7 {
			end := min(i+7, len(msg))
			c.Write([]byte(msg[i:end]))
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 16384)
	var r Request
	for {
		buf, _ := br.Peek(br.Buffered())
		n, err := ParseRequest(buf, &r, Limits{})
		if err == ErrIncomplete {
			if _, err := br.Peek(br.Buffered() + 1); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Method) != "POST" || r.Body != BodyChunked {
			t.Fatalf("parsed %q body %v", r.Method, r.Body)
		}
		br.Discard(n)
		break
	}
	body, err := io.ReadAll(NewChunkedReader(br))
	if err != nil || string(body) != "abc" {
		t.Errorf("body %q %v", body, err)
	}
}

// The fuzz targets' seed corpus is in testdata/fuzz/<target>/: request
// smuggling attempts (CL.TE, TE.CL, TE.TE obfuscations, obs-fold, bare
// LF and CR, NUL, oversized lines, duplicate Host and Content-Length).

// serialise writes a parsed request head back as halo forwards it.
func serialise(r *Request) []byte {
	b := append([]byte(nil), r.Method...)
	b = append(b, ' ')
	b = append(b, r.Target...)
	b = append(b, " HTTP/1."...)
	b = append(b, byte('0'+r.Minor))
	b = append(b, "\r\n"...)
	for _, h := range r.Headers {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		b := append([]byte(nil), in...) // ParseRequest may rewrite the target in place
		var r Request
		n, err := ParseRequest(b, &r, Limits{})
		if err != nil {
			var e *Error
			if err != ErrIncomplete && (!errors.As(err, &e) || e.Status < 400 || e.Status > 505) {
				t.Fatalf("error %v is neither incomplete nor a status", err)
			}
			return
		}
		if n <= 0 || n > len(b) || r.HeadLen != n {
			t.Fatalf("head length %d (HeadLen %d) for %d bytes", n, r.HeadLen, len(b))
		}
		te, cl, host := 0, 0, 0
		for _, h := range r.Headers {
			switch {
			case equalFold(h.Name, "transfer-encoding"):
				te++
			case equalFold(h.Name, "content-length"):
				cl++
			case equalFold(h.Name, "host"):
				host++
			}
		}
		// Smuggling invariants: a request with Transfer-Encoding is
		// chunked, never framed by a Content-Length, which is gone; a
		// length-framed body has exactly one Content-Length; one Host.
		if te > 0 && (r.Body != BodyChunked && r.Body != BodyTunnel || cl > 0) {
			t.Fatalf("TE request: body %v, %d Content-Length headers", r.Body, cl)
		}
		if r.Body == BodyLength && (r.ContentLength <= 0 || cl != 1) {
			t.Fatalf("length body with CL %d and %d Content-Length headers", r.ContentLength, cl)
		}
		if host > 1 || cl > 1 {
			t.Fatalf("%d Host and %d Content-Length headers left", host, cl)
		}
		// A shorter prefix of a valid head is incomplete, not an error.
		for _, k := range []int{n - 1, n / 2} {
			var p Request
			if _, err := ParseRequest(append([]byte(nil), in[:k]...), &p, Limits{}); err != ErrIncomplete {
				t.Fatalf("prefix of %d bytes: %v", k, err)
			}
		}
		// The head as halo forwards it parses to the same framing.
		out := serialise(&r)
		var again Request
		m, err := ParseRequest(out, &again, Limits{MaxHead: len(out) + 1, MaxHeaders: 1 << 10})
		if err != nil || m != len(out) {
			t.Fatalf("re-serialised head %q: %d, %v", out, m, err)
		}
		// (Keep-alive may differ one way: a CL+TE request closes, and its
		// forwarded head has no Content-Length left.)
		keepOK := again.KeepAlive == r.KeepAlive || r.Body == BodyChunked && again.KeepAlive
		if again.Body != r.Body || again.ContentLength != r.ContentLength || !keepOK ||
			string(again.Method) != string(r.Method) || string(again.Target) != string(r.Target) || len(again.Headers) != len(r.Headers) {
			t.Fatalf("re-parsed %q differs: body %v/%v cl %d/%d keep %v/%v target %q/%q headers %d/%d", out,
				again.Body, r.Body, again.ContentLength, r.ContentLength, again.KeepAlive, r.KeepAlive, again.Target, r.Target, len(again.Headers), len(r.Headers))
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, method := range []string{"GET", "HEAD"} {
			var r Response
			n, err := ParseResponse(b, method, &r, Limits{})
			if err != nil {
				var e *Error
				if err != ErrIncomplete && (!errors.As(err, &e) || e.Status != 502) {
					t.Fatalf("%s: error %v is neither incomplete nor a 502", method, err)
				}
				continue
			}
			if n <= 0 || n > len(b) {
				t.Fatalf("head length %d for %d bytes", n, len(b))
			}
			cl := 0
			for _, h := range r.Headers {
				if equalFold(h.Name, "content-length") {
					cl++
				}
			}
			switch {
			case r.Chunked && cl > 0:
				t.Fatalf("chunked response kept %d Content-Length headers", cl)
			case cl > 1:
				t.Fatalf("%d Content-Length headers left", cl)
			case r.Body == BodyLength && r.ContentLength <= 0:
				t.Fatalf("length body with CL %d", r.ContentLength)
			case r.Body == BodyChunked && !r.Chunked:
				t.Fatalf("chunked body without the chunked coding")
			case method == "HEAD" && r.Body != BodyNone && r.Body != BodyTunnel:
				t.Fatalf("HEAD response with body %v", r.Body)
			case r.Body == BodyClose && r.KeepAlive:
				t.Fatalf("close-delimited body on a kept connection")
			}
		}
	})
}

func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cr := NewChunkedReader(bufio.NewReader(bytes.NewReader(b)))
		data, err := io.ReadAll(io.LimitReader(cr, 1<<20))
		if err != nil {
			var e *Error
			if err != io.ErrUnexpectedEOF && (!errors.As(err, &e) || e.Status != 400) {
				t.Fatalf("error %v is neither a truncation nor a 400", err)
			}
			return
		}
		if len(data) >= 1<<20 {
			return
		}
		// What decodes re-encodes (halo's writer) and decodes the same,
		// trailers included.
		trailer := append([]byte(nil), cr.Trailers()...)
		var buf bytes.Buffer
		w := ChunkedWriter{W: &buf}
		w.Write(data)
		if _, err := w.CloseTrailers(trailer, nil); err != nil {
			t.Fatal(err)
		}
		back := NewChunkedReader(bufio.NewReader(&buf))
		again, err := io.ReadAll(back)
		if err != nil || !bytes.Equal(again, data) || !bytes.Equal(back.Trailers(), trailer) {
			t.Fatalf("round trip of %q: %q %q, %v", data, again, back.Trailers(), err)
		}
	})
}

func BenchmarkParseRequest(b *testing.B) {
	req := []byte("GET /static/app.js?v=12 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nCookie: session=abc123; theme=dark\r\n" +
		"Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nCache-Control: max-age=0\r\n\r\n")
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for i := 0; i < b.N; i++ {
		if _, err := ParseRequest(req, &r, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
