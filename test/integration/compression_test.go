package integration

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// compOrigin is an HTTP/1.1 origin whose answer the query string
// shapes: status, size, ct (none: no Content-Type), chunked, ce, cc,
// etag, vary, ver=1.0; echo=1 answers with the request headers.
func compOrigin(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		size, _ := strconv.Atoi(q.Get("size"))
		if q.Get("size") == "" {
			size = 20000
		}
		var body []byte
		if q.Get("echo") != "" {
			var b bytes.Buffer
			r.Header.Write(&b)
			body = b.Bytes()
		} else {
			body = compBody(size)
		}
		h := w.Header()
		h["Date"] = nil
		if ct := q.Get("ct"); ct == "none" {
			h["Content-Type"] = nil
		} else if ct != "" {
			h.Set("Content-Type", ct)
		} else {
			h.Set("Content-Type", "text/plain")
		}
		for k, name := range map[string]string{"ce": "Content-Encoding", "cc": "Cache-Control", "etag": "ETag", "vary": "Vary"} {
			if v := q.Get(k); v != "" {
				h.Set(name, v)
			}
		}
		if q.Get("chunked") == "" {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		status, _ := strconv.Atoi(q.Get("status"))
		if status == 0 {
			status = 200
		}
		w.WriteHeader(status)
		if q.Get("chunked") != "" {
			w.(http.Flusher).Flush() // chunked even when empty
		}
		if r.Method == "HEAD" {
			return
		}
		// Several writes with flushes: a chunked answer in many chunks.
		for len(body) > 0 {
			n := min(len(body), 7000)
			w.Write(body[:n])
			body = body[n:]
			w.(http.Flusher).Flush()
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// compBody is text that compresses, and not only runs of one byte.
func compBody(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %d of the body, lorem ipsum %x\n", i, i*7919)
	}
	return b.Bytes()[:n]
}

// compResult is what a client sees of one exchange.
type compResult struct {
	Status   int
	Headers  http.Header
	Chunked  bool
	Body     []byte // decoded by Content-Encoding
	Encoding string
}

// compGet sends one request over a fresh connection and decodes the
// answer.
func compGet(t *testing.T, addr, method, target string, http10 bool, hdrs ...string) compResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	ver := "HTTP/1.1"
	if http10 {
		ver = "HTTP/1.0"
	}
	req := method + " " + target + " " + ver + "\r\nHost: x\r\n"
	if !http10 {
		req += "Connection: close\r\n"
	}
	for _, h := range hdrs {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, target, err)
	}
	out := compResult{Status: res.StatusCode, Headers: res.Header, Chunked: len(res.TransferEncoding) > 0,
		Encoding: res.Header.Get("Content-Encoding")}
	delete(out.Headers, "Date")
	out.Body = decode(t, out.Encoding, raw)
	return out
}

func decode(t *testing.T, enc string, raw []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch enc {
	case "":
		return raw
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		// zlib-wrapped deflate; raw-deflate is told apart by its header.
		if len(raw) > 1 && (uint16(raw[0])<<8|uint16(raw[1]))%31 == 0 && raw[0]&0x0f == 8 {
			r, err = zlib.NewReader(bytes.NewReader(raw))
		} else {
			r = flate.NewReader(bytes.NewReader(raw))
		}
	default:
		return raw
	}
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return b
}

const compCfg = `global
  stats socket %[1]s level admin
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend edge
  bind 127.0.0.1:%[2]d
  # haproxy's own example (03-haproxy-basic-config-edge.cfg)
  compression algo deflate gzip
  compression type text/ application/javascript application/xhtml+xml image/x-icon
  default_backend app
frontend offload
  bind 127.0.0.1:%[3]d
  compression algo gzip
  compression offload
  default_backend app
frontend betypes
  bind 127.0.0.1:%[4]d
  compression algo gzip
  compression type text/html
  default_backend typed
frontend ident
  bind 127.0.0.1:%[5]d
  compression algo identity raw-deflate
  default_backend app
frontend stat
  bind 127.0.0.1:%[6]d
  compression algo gzip
  default_backend app
backend app
  server s %[7]s
backend typed
  compression type application/
  server s %[7]s
`

// TestCompressionSideBySide runs one configuration under halo and under
// haproxy 2.6 and compares, request by request, whether the response is
// compressed, its status and headers, and that the decoded body is the
// origin's.
func TestCompressionSideBySide(t *testing.T) {
	hb := haproxyBin()
	if hb == "" {
		t.Skip("haproxy not installed")
	}
	origin := compOrigin(t)
	type inst struct {
		name  string
		ports [5]int
		sock  string
	}
	var insts []inst
	for _, bin := range []string{haloBin, hb} {
		in := inst{name: filepath.Base(bin), sock: filepath.Join(t.TempDir(), "s.sock")}
		for i := range in.ports {
			in.ports[i] = freePort(t)
		}
		f := writeConfig(t, fmt.Sprintf(compCfg, in.sock, in.ports[0], in.ports[1], in.ports[2], in.ports[3], in.ports[4], origin))
		startProc(t, bin, fmt.Sprintf("127.0.0.1:%d", in.ports[4]), nil, nil, "-db", "-f", f)
		insts = append(insts, in)
	}
	type tc struct {
		name, method, target string
		fe                   int // index in ports
		http10               bool
		hdrs                 []string
		wantEnc              string // what both must answer with
	}
	ae := func(v string) []string { return []string{"Accept-Encoding: " + v} }
	cases := []tc{
		{"gzip content-length", "GET", "/", 0, false, ae("gzip"), "gzip"},
		{"gzip chunked large", "GET", "/?chunked=1&size=300000", 0, false, ae("gzip"), "gzip"},
		{"deflate large", "GET", "/?size=200000", 0, false, ae("deflate"), "deflate"},
		{"first listed wins at equal q", "GET", "/", 0, false, ae("gzip, deflate"), "gzip"},
		{"q-values", "GET", "/", 0, false, ae("gzip;q=0.4, deflate;q=0.5"), "deflate"},
		{"q=0 refused", "GET", "/", 0, false, ae("gzip;q=0"), ""},
		{"star takes gzip", "GET", "/", 0, false, ae("*"), "gzip"},
		{"case-insensitive coding", "GET", "/", 0, false, ae("GZIP"), "gzip"},
		{"unknown coding", "GET", "/", 0, false, ae("br"), ""},
		{"two headers", "GET", "/", 0, false, []string{"Accept-Encoding: br", "Accept-Encoding: deflate"}, "deflate"},
		{"no accept-encoding", "GET", "/", 0, false, nil, ""},
		{"HEAD", "HEAD", "/", 0, false, ae("gzip"), ""},
		{"HTTP/1.0 client", "GET", "/", 0, true, ae("gzip"), ""},
		{"POST", "POST", "/", 0, false, append(ae("gzip"), "Content-Length: 0"), "gzip"},
		{"201", "GET", "/?status=201", 0, false, ae("gzip"), "gzip"},
		{"203", "GET", "/?status=203", 0, false, ae("gzip"), "gzip"},
		{"206", "GET", "/?status=206", 0, false, ae("gzip"), ""},
		{"404", "GET", "/?status=404", 0, false, ae("gzip"), ""},
		{"204", "GET", "/?status=204&size=0", 0, false, ae("gzip"), ""},
		{"304", "GET", "/?status=304&size=0", 0, false, ae("gzip"), ""},
		{"empty content-length", "GET", "/?size=0", 0, false, ae("gzip"), ""},
		{"empty chunked", "GET", "/?size=0&chunked=1", 0, false, ae("gzip"), "gzip"},
		{"already encoded", "GET", "/?ce=br", 0, false, ae("gzip"), "br"},
		{"no-transform", "GET", "/?cc=public,%20NO-TRANSFORM", 0, false, ae("gzip"), ""},
		{"other cache-control", "GET", "/?cc=no-transformx", 0, false, ae("gzip"), "gzip"},
		{"type not listed", "GET", "/?ct=image/png", 0, false, ae("gzip"), ""},
		{"type case", "GET", "/?ct=TEXT/HTML;%20charset=utf-8", 0, false, ae("gzip"), "gzip"},
		{"javascript", "GET", "/?ct=application/javascript", 0, false, ae("gzip"), "gzip"},
		{"no content-type with types", "GET", "/?ct=none", 0, false, ae("gzip"), ""},
		{"multipart", "GET", "/?ct=multipart/mixed", 3, false, ae("deflate"), ""},
		{"no content-type without types", "GET", "/?ct=none", 3, false, ae("deflate"), "deflate"},
		{"strong etag weakened", "GET", "/?etag=%22v1%22", 0, false, ae("gzip"), "gzip"},
		{"weak etag kept", "GET", "/?etag=W/%22v1%22&vary=Cookie", 0, false, ae("gzip"), "gzip"},
		{"invalid etag", "GET", "/?etag=v1", 0, false, ae("gzip"), ""},
		{"old user agent", "GET", "/", 0, false, append(ae("gzip"), "User-Agent: Mozilla/4.0 (compatible; foo)"), ""},
		{"MSIE 7", "GET", "/", 0, false, append(ae("gzip"), "User-Agent: Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)"), "gzip"},
		{"offload strips accept-encoding", "GET", "/?echo=1", 1, false, append(ae("gzip"), "X-Probe: 1"), "gzip"},
		{"offload keeps it when nothing chosen", "GET", "/?echo=1", 1, false, append(ae("br"), "X-Probe: 1"), ""},
		{"backend types win", "GET", "/?ct=text/html", 2, false, ae("gzip"), ""},
		{"backend types win (2)", "GET", "/?ct=application/json", 2, false, ae("gzip"), "gzip"},
		{"identity without accept-encoding", "GET", "/?etag=%22x%22", 3, false, nil, ""},
		{"raw-deflate", "GET", "/?size=70000", 3, false, ae("deflate"), "deflate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []compResult
			for _, in := range insts {
				r := compGet(t, fmt.Sprintf("127.0.0.1:%d", in.ports[c.fe]), c.method, c.target, c.http10, c.hdrs...)
				if r.Encoding != c.wantEnc {
					t.Errorf("%s: Content-Encoding %q, want %q (headers %v)", in.name, r.Encoding, c.wantEnc, r.Headers)
				}
				got = append(got, r)
			}
			h, p := got[0], got[1]
			if c.http10 {
				// halo says "connection: close" to an HTTP/1.0 client that
				// did not ask for keep-alive, haproxy says nothing: not a
				// compression matter.
				delete(h.Headers, "Connection")
			}
			if h.Status != p.Status || h.Chunked != p.Chunked || !reflect.DeepEqual(h.Headers, p.Headers) {
				t.Errorf("halo:    %d chunked=%v %v\nhaproxy: %d chunked=%v %v", h.Status, h.Chunked, h.Headers, p.Status, p.Chunked, p.Headers)
			}
			if strings.Contains(c.target, "echo") {
				// The origin saw the same request headers.
				if !bytes.Equal(h.Body, p.Body) {
					t.Errorf("origin saw\nvia halo:    %q\nvia haproxy: %q", h.Body, p.Body)
				}
				if c.fe == 1 && c.wantEnc != "" && bytes.Contains(bytes.ToLower(h.Body), []byte("accept-encoding")) {
					t.Errorf("offload: the server got Accept-Encoding: %q", h.Body)
				}
				return
			}
			if c.method != "HEAD" && h.Status == 200 && c.wantEnc != "br" {
				size := 20000
				if i := strings.Index(c.target, "size="); i >= 0 {
					fmt.Sscanf(c.target[i+5:], "%d", &size)
				}
				want := compBody(size)
				for i, r := range got {
					if !bytes.Equal(r.Body, want) {
						t.Errorf("%s: decoded body differs from the origin's (%d bytes, want %d)", insts[i].name, len(r.Body), len(want))
					}
				}
			}
		})
	}

	t.Run("stats", func(t *testing.T) {
		var rows []map[string]string
		for _, in := range insts {
			addr := fmt.Sprintf("127.0.0.1:%d", in.ports[4])
			compGet(t, addr, "GET", "/?size=100000", false, ae("gzip")...)
			// (haproxy counts one byte more in comp_in for a chunked
			// response: CL-framed ones only here.)
			compGet(t, addr, "GET", "/?size=50000", false, ae("gzip")...)
			compGet(t, addr, "GET", "/?size=50000", false, ae("br")...)
			rows = append(rows, statRow(t, in.sock, "stat", "FRONTEND"))
		}
		for _, col := range []string{"comp_in", "comp_byp", "comp_rsp"} {
			if rows[0][col] != rows[1][col] {
				t.Errorf("%s: halo %s, haproxy %s", col, rows[0][col], rows[1][col])
			}
		}
		if rows[0]["comp_in"] != "150000" || rows[0]["comp_rsp"] != "2" {
			t.Errorf("halo comp_in=%s comp_rsp=%s, want 150000 and 2", rows[0]["comp_in"], rows[0]["comp_rsp"])
		}
		in, _ := strconv.Atoi(rows[0]["comp_in"])
		out, _ := strconv.Atoi(rows[0]["comp_out"])
		if out <= 0 || out >= in {
			t.Errorf("halo comp_out=%d for comp_in=%d", out, in)
		}
	})
}

// statRow returns a `show stat` row as column -> value.
func statRow(t *testing.T, sock, px, sv string) map[string]string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "show stat\n")
	b, _ := io.ReadAll(c)
	lines := strings.Split(string(b), "\n")
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) > 2 && f[0] == px && f[1] == sv {
			m := map[string]string{}
			for i, c := range cols {
				if i < len(f) {
					m[c] = f[i]
				}
			}
			return m
		}
	}
	t.Fatalf("no %s/%s row in:\n%s", px, sv, b)
	return nil
}

// TestCompressionCurl: curl --compressed, over HTTP/1.1 and over
// cleartext HTTP/2, gets the origin's body back from halo.
func TestCompressionCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	origin := compOrigin(t)
	p1, p2 := freePort(t), freePort(t)
	startHalo(t, fmt.Sprintf(`defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend h1
  bind 127.0.0.1:%d
  bind 127.0.0.1:%d proto h2
  compression algo gzip
  compression type text/
  default_backend app
backend app
  server s %s
`, p1, p2, origin), fmt.Sprintf("127.0.0.1:%d", p2))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"http1.1", []string{fmt.Sprintf("http://127.0.0.1:%d/?size=250000", p1)}},
		{"http1.1 chunked", []string{fmt.Sprintf("http://127.0.0.1:%d/?size=250000&chunked=1", p1)}},
		{"h2c", []string{"--http2-prior-knowledge", fmt.Sprintf("http://127.0.0.1:%d/?size=250000", p2)}},
		{"h2c chunked", []string{"--http2-prior-knowledge", fmt.Sprintf("http://127.0.0.1:%d/?size=250000&chunked=1", p2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hf := filepath.Join(dir, "h")
			out, err := exec.Command(curl, append([]string{"-sS", "--compressed", "-D", hf, "-o", filepath.Join(dir, "b"), "-w", "%{size_download}"}, tc.args...)...).Output()
			if err != nil {
				t.Fatalf("curl: %v", err)
			}
			body, _ := exec.Command("cat", filepath.Join(dir, "b")).Output()
			heads, _ := exec.Command("cat", hf).Output()
			if !bytes.Contains(bytes.ToLower(heads), []byte("content-encoding: gzip")) {
				t.Errorf("not compressed:\n%s", heads)
			}
			if !bytes.Equal(body, compBody(250000)) {
				t.Errorf("decoded body: %d bytes, want the origin's 250000", len(body))
			}
			if n, _ := strconv.Atoi(string(out)); n <= 0 || n >= 250000/3 {
				t.Errorf("%s bytes on the wire for 250000 of text", out)
			}
		})
	}
}

// TestCompressionMaxLevel: tune.comp.maxlevel 9 sends fewer bytes than the
// default level 1 for the same text, and both decode to the origin's body.
func TestCompressionMaxLevel(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	origin := compOrigin(t)
	wire := map[string]int{}
	for _, global := range []string{"", "global\n  tune.comp.maxlevel 9\n"} {
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		h := startHalo(t, fmt.Sprintf(`%sdefaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
listen l
  bind %s
  compression algo gzip
  server s %s
`, global, addr, origin), addr)
		dir := t.TempDir()
		out, err := exec.Command(curl, "-sS", "--compressed", "-o", filepath.Join(dir, "b"), "-w", "%{size_download}", "http://"+addr+"/?size=250000").Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		body, _ := os.ReadFile(filepath.Join(dir, "b"))
		if !bytes.Equal(body, compBody(250000)) {
			t.Errorf("%q: decoded body: %d bytes, want the origin's 250000", global, len(body))
		}
		wire[global], _ = strconv.Atoi(string(out))
		h.cmd.Process.Kill()
		<-h.done
	}
	l1, l9 := wire[""], wire["global\n  tune.comp.maxlevel 9\n"]
	t.Logf("250000 bytes of text: %d bytes at level 1, %d at level 9", l1, l9)
	if l1 <= 0 || l9 <= 0 || l9 >= l1 {
		t.Errorf("level 9 sent %d bytes, level 1 %d: want fewer at 9", l9, l1)
	}
}
