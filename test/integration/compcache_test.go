package integration

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCompressionWithCacheSideBySide: with both compression and the
// cache on a frontend, the cache keeps the server's own response and
// compression applies to what goes out, cached or not; the
// http-response rules see the server's headers, before compression
// changes them. The same exchanges under haproxy and halo give the same
// heads, the same decoded bodies and the same number of server hits.
func TestCompressionWithCacheSideBySide(t *testing.T) {
	var hits atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h := w.Header()
		h["Date"] = nil
		h.Set("Content-Type", r.URL.Query().Get("ct"))
		h.Set("Cache-Control", "max-age=60")
		body := compBody(30000)
		if r.URL.Query().Get("chunked") == "" {
			h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(200)
		w.Write(body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	type exchange struct{ path, ae string }
	exchanges := []exchange{
		{"/a?ct=text/plain", "gzip"},
		{"/a?ct=text/plain", "gzip"}, // from the cache, compressed
		{"/a?ct=text/plain", ""},     // from the cache, as the server sent it
		{"/c?ct=text/plain&chunked=1", ""},
		{"/c?ct=text/plain&chunked=1", "gzip"},
		{"/br?ct=text/br", "gzip"},        // a rule's Content-Encoding, then compression's
		{"/app?ct=application/x", "gzip"}, // a rule makes it text/html: not compressed
	}
	run := func(bin string) ([]string, int64) {
		before := hits.Load()
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`defaults
    mode http
    timeout client 5s
    timeout server 5s
    timeout connect 5s
cache c
    total-max-size 10
    process-vary on
frontend f
    bind %s
    compression algo gzip
    compression type text/
    http-request cache-use c
    http-response set-header x-ce "%%[res.hdr(content-encoding)]"
    http-response set-header content-encoding br if { res.hdr(content-type) -m beg text/br }
    http-response set-header content-type text/html if { res.hdr(content-type) -m beg application/ }
    http-response cache-store c
    http-after-response set-header x-after "%%[res.hdr(content-encoding)]"
    http-after-response add-header x-cached yes if { res.hdr(age) -m found }
    default_backend b
backend b
    server s %s
`, addr, ln.Addr())))
		defer func() { h.cmd.Process.Kill(); <-h.done }()
		hits.Store(before)
		var out []string
		for _, ex := range exchanges {
			head, body := compRawGet(t, addr, ex.path, ex.ae)
			out = append(out, fmt.Sprintf("%s [%s]\n%s\nbody ok: %v", ex.path, ex.ae, head, bytes.Equal(body, compBody(30000))))
		}
		return out, hits.Load() - before
	}
	bins := lbBins(t)
	results := map[string][]string{}
	for _, bin := range bins {
		got, n := run(bin.path)
		results[bin.name] = got
		// /a, /c, /br, /app: each reaches the server once.
		if n != 4 {
			t.Errorf("%s: the server saw %d requests, want 4", bin.name, n)
		}
		for _, r := range got {
			if !strings.HasSuffix(r, "body ok: true") {
				t.Errorf("%s: %s", bin.name, r)
			}
		}
	}
	if hp, ok := results["haproxy"]; ok {
		for i, g := range results["halo"] {
			if g != hp[i] {
				t.Errorf("exchange %d:\nhalo:\n%s\nhaproxy:\n%s", i, g, hp[i])
			}
		}
	}
}

// compRawGet sends one GET and returns the response head (names lowered,
// sorted, without Date; Age's value masked) and the body decoded when
// the last Content-Encoding is gzip.
func compRawGet(t *testing.T, addr, path, ae string) (string, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	if ae != "" {
		req += "Accept-Encoding: " + ae + "\r\n"
	}
	io.WriteString(c, req+"\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", path, err)
	}
	var lines []string
	for k, vs := range res.Header {
		k = strings.ToLower(k)
		switch k {
		case "date":
			continue
		case "age":
			vs = []string{"N"}
		}
		lines = append(lines, k+": "+strings.Join(vs, ", "))
	}
	if len(res.TransferEncoding) > 0 {
		lines = append(lines, "transfer-encoding: "+strings.Join(res.TransferEncoding, ", "))
	}
	sort.Strings(lines)
	ce := res.Header.Values("Content-Encoding")
	if len(ce) > 0 && ce[len(ce)-1] == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return fmt.Sprintf("%d %s", res.StatusCode, strings.Join(lines, "\n")), raw
}
