package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingServer is an HTTP server on 127.0.0.1 that answers every
// request with the status (?s=) and headers (?h=Name:Value, repeated)
// its query asks for, a body naming its request number, and counts the
// requests per path.
type countingServer struct {
	addr string
	mu   sync.Mutex
	n    int
	hits map[string]int
}

func startCountingServer(t *testing.T) *countingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingServer{addr: ln.Addr().String(), hits: map[string]int{}}
	srv := &http.Server{Handler: cs}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return cs
}

func (cs *countingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	cs.mu.Lock()
	cs.n++
	n := cs.n
	cs.hits[r.URL.Path]++
	cs.mu.Unlock()
	q := r.URL.Query()
	for _, h := range q["h"] {
		k, v, _ := strings.Cut(h, ":")
		w.Header().Add(k, v)
	}
	body := fmt.Sprintf("response %d\n", n)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	st := 200
	if s := q.Get("s"); s != "" {
		st, _ = strconv.Atoi(s)
	}
	w.WriteHeader(st)
	io.WriteString(w, body)
}

func (cs *countingServer) count(path string) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.hits[path]
}

const cacheCfg = `global
    stats socket %[3]s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%[1]d
    http-request cache-use c
    http-response cache-store c
    http-response set-header x-fe-rule 1
    default_backend app
backend app
    server s1 %[2]s
cache c
    total-max-size 4
    max-object-size 2000
    max-age %[4]d
    process-vary %[5]s
`

type cacheProxy struct {
	name, addr, sock string
	be               *countingServer
}

// startCacheProxies runs cacheCfg under halo and haproxy (when
// installed), each with its own counting server.
func startCacheProxies(t *testing.T, maxAge int, vary string) []cacheProxy {
	t.Helper()
	bins := [][2]string{{"halo", haloBin}}
	if hp, err := exec.LookPath("haproxy"); err == nil {
		bins = append(bins, [2]string{"haproxy", hp})
	} else {
		t.Log("haproxy not installed: halo only")
	}
	var out []cacheProxy
	for _, b := range bins {
		be := startCountingServer(t)
		port := freePort(t)
		sock := filepath.Join(t.TempDir(), "s.sock")
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		startProc(t, b[1], addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(cacheCfg, port, be.addr, sock, maxAge, vary)))
		out = append(out, cacheProxy{b[0], addr, sock, be})
	}
	return out
}

// get sends one request (a new connection each time, no automatic
// Accept-Encoding) and returns the response with its body read.
func cacheGet(t *testing.T, method, addr, target string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func q(headers ...string) string {
	v := url.Values{}
	for _, h := range headers {
		v.Add("h", h)
	}
	return v.Encode()
}

// TestCacheStoreRules sends each URL twice (the second time with the
// case's request headers) and counts what reached the server: 1 when
// the second answer came from the cache, 2 otherwise, under halo and
// haproxy with the same configuration.
func TestCacheStoreRules(t *testing.T) {
	for _, p := range startCacheProxies(t, 60, "on") {
		t.Run(p.name, func(t *testing.T) {
			for i, tc := range []struct {
				name   string
				query  string
				second map[string]string // headers of the second request
				hits   int               // requests the server saw
			}{
				{"no freshness", "", nil, 2},
				{"max-age", q("Cache-Control:max-age=60"), nil, 1},
				{"s-maxage", q("Cache-Control:s-maxage=60"), nil, 1},
				{"expires", q("Expires:Thu, 01 Jan 2099 00:00:00 GMT"), nil, 1},
				{"expires past", q("Expires:Thu, 01 Jan 1970 00:00:00 GMT"), nil, 2},
				{"etag", q(`ETag:"v1"`), nil, 1},
				{"last-modified", q("Last-Modified:Thu, 01 Jan 2020 00:00:00 GMT"), nil, 1},
				{"no-store", q("Cache-Control:no-store"), nil, 2},
				{"no-store in a list", q("Cache-Control:max-age=60, No-Store"), nil, 2},
				{"private", q("Cache-Control:private, max-age=60"), nil, 2},
				{"no-cache", q("Cache-Control:no-cache"), nil, 2},
				{"max-age=0", q("Cache-Control:max-age=0"), nil, 2},
				{"public alone", q("Cache-Control:public"), nil, 2},
				{"set-cookie is stored", q("Cache-Control:max-age=60", "Set-Cookie:a=b"), nil, 1},
				{"no-cache=set-cookie", q(`Cache-Control:no-cache="set-cookie", max-age=60`), nil, 2},
				{"age over max-age", q("Cache-Control:max-age=60", "Age:100"), nil, 2},
				{"status 404", q("Cache-Control:max-age=60") + "&s=404", nil, 2},
				{"status 301", q("Cache-Control:max-age=60") + "&s=301", nil, 2},
				{"request no-cache", q("Cache-Control:max-age=60"), map[string]string{"Cache-Control": "no-cache"}, 2},
				{"request pragma", q("Cache-Control:max-age=60"), map[string]string{"Pragma": "no-cache"}, 2},
				{"request max-age", q("Cache-Control:max-age=60"), map[string]string{"Cache-Control": "max-age=100"}, 2},
				{"authorization", q("Cache-Control:max-age=60"), map[string]string{"Authorization": "Basic eDp5"}, 2},
				{"other host", q("Cache-Control:max-age=60"), map[string]string{"Host": "other.test"}, 2},
			} {
				path := fmt.Sprintf("/store%d", i)
				target := path + "?" + tc.query
				cacheGet(t, "GET", p.addr, target, nil)
				cacheGet(t, "GET", p.addr, target, tc.second)
				if got := p.be.count(path); got != tc.hits {
					t.Errorf("%s: the server saw %d requests, want %d", tc.name, got, tc.hits)
				}
			}
		})
	}
}

// TestCacheServe checks a response served from the cache: the same body,
// an Age header, the frontend's http-response rules applied, HEAD served
// without a body, a conditional request answered 304, POST invalidating
// the URL, and the hash in `show cache`.
func TestCacheServe(t *testing.T) {
	for _, p := range startCacheProxies(t, 60, "on") {
		t.Run(p.name, func(t *testing.T) {
			target := "/served?" + q("Cache-Control:max-age=60", `ETag:"e1"`, "Last-Modified:Thu, 01 Jan 2020 00:00:00 GMT")
			res1, body1 := cacheGet(t, "GET", p.addr, target, nil)
			if res1.Header.Get("Age") != "" {
				t.Errorf("the stored response itself has an Age header: %q", res1.Header.Get("Age"))
			}
			res2, body2 := cacheGet(t, "GET", p.addr, target, nil)
			if body2 != body1 || res2.StatusCode != 200 {
				t.Errorf("cached answer %d %q, want the first body %q", res2.StatusCode, body2, body1)
			}
			if age := res2.Header.Get("Age"); age != "0" && age != "1" {
				t.Errorf("Age %q, want 0 (or 1)", age)
			}
			if res2.Header.Get("X-Fe-Rule") != "1" || res2.Header.Get("Etag") != `"e1"` {
				t.Errorf("cached headers %v", res2.Header)
			}
			res3, body3 := cacheGet(t, "HEAD", p.addr, target, nil)
			if res3.StatusCode != 200 || body3 != "" || res3.ContentLength != int64(len(body1)) {
				t.Errorf("HEAD: %d %q length %d", res3.StatusCode, body3, res3.ContentLength)
			}
			for _, c := range []struct {
				hdr  map[string]string
				want int
			}{
				{map[string]string{"If-None-Match": `"e1"`}, 304},
				{map[string]string{"If-None-Match": `W/"e1"`}, 304},
				{map[string]string{"If-None-Match": `"e2"`}, 200},
				{map[string]string{"If-Modified-Since": "Thu, 01 Jan 2020 00:00:00 GMT"}, 304},
				{map[string]string{"If-Modified-Since": "Tue, 01 Jan 2019 00:00:00 GMT"}, 200},
			} {
				if res, _ := cacheGet(t, "GET", p.addr, target, c.hdr); res.StatusCode != c.want {
					t.Errorf("%v: status %d, want %d", c.hdr, res.StatusCode, c.want)
				}
			}
			if n := p.be.count("/served"); n != 1 {
				t.Errorf("the server saw %d requests, want 1", n)
			}
			out := cliCmd(t, p.sock, "show cache")
			if !strings.Contains(out, ": c (shctx:") || !strings.Contains(out, "hash:") {
				t.Errorf("show cache:\n%s", out)
			}
			// The same URL through POST: a success invalidates it.
			req, _ := http.NewRequest("POST", "http://"+p.addr+target, strings.NewReader("x"))
			if res, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			cacheGet(t, "GET", p.addr, target, nil)
			if n := p.be.count("/served"); n != 3 {
				t.Errorf("after a POST the server saw %d requests, want 3 (the POST and a fresh GET)", n)
			}
		})
	}
}

// TestCacheShowCacheHash checks that halo hashes the URL as haproxy does:
// the same request gives the same hash in both `show cache` outputs.
func TestCacheShowCacheHash(t *testing.T) {
	ps := startCacheProxies(t, 60, "on")
	if len(ps) < 2 {
		t.Skip("haproxy not installed")
	}
	var hashes []string
	for _, p := range ps {
		cacheGet(t, "GET", p.addr, "/hashed?"+q("Cache-Control:max-age=60"), map[string]string{"Host": "www.example.test"})
		out := cliCmd(t, p.sock, "show cache")
		i := strings.Index(out, "hash:")
		if i < 0 {
			t.Fatalf("%s show cache:\n%s", p.name, out)
		}
		hashes = append(hashes, strings.Fields(out[i:])[0])
	}
	if hashes[0] != hashes[1] {
		t.Errorf("halo %s, haproxy %s", hashes[0], hashes[1])
	}
}

// TestCacheExpiry: with max-age 1 an object is served from the cache
// then, a while after, fetched again.
func TestCacheExpiry(t *testing.T) {
	for _, p := range startCacheProxies(t, 1, "on") {
		t.Run(p.name, func(t *testing.T) {
			target := "/exp?" + q("Cache-Control:max-age=60")
			cacheGet(t, "GET", p.addr, target, nil)
			cacheGet(t, "GET", p.addr, target, nil)
			if n := p.be.count("/exp"); n != 1 {
				t.Fatalf("before expiry the server saw %d requests, want 1", n)
			}
			// max-age 1 s: by 2.5 s the object has expired (haproxy counts
			// whole seconds).
			time.Sleep(2500 * time.Millisecond)
			cacheGet(t, "GET", p.addr, target, nil)
			if n := p.be.count("/exp"); n != 2 {
				t.Errorf("after expiry the server saw %d requests, want 2", n)
			}
		})
	}
}

// TestCacheVary: with process-vary on, Accept-Encoding variants are kept
// apart; Vary on another header, or process-vary off, stores nothing.
func TestCacheVary(t *testing.T) {
	for _, vary := range []string{"on", "off"} {
		for _, p := range startCacheProxies(t, 60, vary) {
			t.Run(p.name+"/process-vary-"+vary, func(t *testing.T) {
				gz := map[string]string{"Accept-Encoding": "gzip"}
				br := map[string]string{"Accept-Encoding": "br"}
				target := "/vae?" + q("Cache-Control:max-age=60", "Vary:Accept-Encoding", "Content-Encoding:gzip")
				cacheGet(t, "GET", p.addr, target, gz)
				cacheGet(t, "GET", p.addr, target, gz) // from the cache when process-vary is on
				cacheGet(t, "GET", p.addr, target, br) // gzip is not acceptable: the server
				want := 3
				if vary == "on" {
					want = 2
				}
				if n := p.be.count("/vae"); n != want {
					t.Errorf("Vary: Accept-Encoding: the server saw %d requests, want %d", n, want)
				}
				target = "/vua?" + q("Cache-Control:max-age=60", "Vary:User-Agent")
				cacheGet(t, "GET", p.addr, target, nil)
				cacheGet(t, "GET", p.addr, target, nil)
				if n := p.be.count("/vua"); n != 2 {
					t.Errorf("Vary: User-Agent: the server saw %d requests, want 2", n)
				}
			})
		}
	}
}

// cliCmd sends one command to a stats socket and returns the answer.
func cliCmd(t *testing.T, sock, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, cmd+"\n")
	b, _ := io.ReadAll(c)
	return string(b)
}
