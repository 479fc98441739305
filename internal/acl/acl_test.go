package acl

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

type fakeHTTP struct {
	method, uri, ver string
	hdr              map[string][]string
	status           int
}

func (f *fakeHTTP) Method() string              { return f.method }
func (f *fakeHTTP) URI() string                 { return f.uri }
func (f *fakeHTTP) Version() string             { return f.ver }
func (f *fakeHTTP) Header(n string) []string    { return f.hdr[strings.ToLower(n)] }
func (f *fakeHTTP) ResStatus() int              { return f.status }
func (f *fakeHTTP) ResHeader(n string) []string { return nil }
func (f *fakeHTTP) HeadLen() int                { return len(f.method) + len(f.uri) + len(f.ver) + 4 }

func TestCondMatch(t *testing.T) {
	set := NewSet()
	for _, a := range [][]string{
		{"local", "src", "127.0.0.0/8"},
		{"local", "src", "::1"},
		{"api", "path_beg", "/api/"},
		{"host_ex", "hdr(host)", "-i", "example.com"},
		{"port80", "dst_port", "80", "8080:8090"},
		{"static", "path_end", ".css", ".js"},
	} {
		if err := set.Add(a[0], a[1:]); err != nil {
			t.Fatalf("Add %v: %v", a, err)
		}
	}
	txn := func(src string, port uint16, uri, host string) *Txn {
		return &Txn{Src: netip.MustParseAddrPort(src), Dst: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port),
			HTTP: &fakeHTTP{method: "GET", uri: uri, ver: "HTTP/1.1", hdr: map[string][]string{"host": {host}}}}
	}
	for _, tc := range []struct {
		cond string
		txn  *Txn
		want bool
	}{
		{"if local", txn("127.0.0.9:1000", 80, "/", "a"), true},
		{"if local", txn("10.0.0.1:1000", 80, "/", "a"), false},
		{"if local", txn("[::1]:1000", 80, "/", "a"), true},
		{"unless local", txn("10.0.0.1:1000", 80, "/", "a"), true},
		{"if api host_ex", txn("10.0.0.1:1", 80, "/api/x", "EXAMPLE.com"), true},
		{"if api host_ex", txn("10.0.0.1:1", 80, "/web", "example.com"), false},
		{"if api || static", txn("10.0.0.1:1", 80, "/a.css?x=1", "x"), true},
		{"if !api static or local", txn("10.0.0.1:1", 80, "/api/a.css", "x"), false},
		{"if port80", txn("10.0.0.1:1", 8085, "/", "x"), true},
		{"if port80", txn("10.0.0.1:1", 8091, "/", "x"), false},
		{"if { dst_port gt 1000 }", txn("10.0.0.1:1", 8091, "/", "x"), true},
		{"if !{ ssl_fc }", txn("10.0.0.1:1", 80, "/", "x"), true},
		{"if { ssl_fc }", txn("10.0.0.1:1", 80, "/", "x"), false},
		{"if METH_GET HTTP_1.1", txn("10.0.0.1:1", 80, "/", "x"), true},
		{"if { path -m reg ^/a+$ }", txn("10.0.0.1:1", 80, "/aaa", "x"), true},
		{"if { hdr_dom(host) example.com }", txn("10.0.0.1:1", 80, "/", "www.example.com"), true},
		{"if { url_param(id) -m int 42 }", txn("10.0.0.1:1", 80, "/p?a=1&id=42", "x"), true},
		{"if TRUE", txn("10.0.0.1:1", 80, "/", "x"), true},
	} {
		c, err := ParseCond(strings.Fields(tc.cond), set)
		if err != nil {
			t.Errorf("%q: %v", tc.cond, err)
			continue
		}
		if got := c.Match(tc.txn); got != tc.want {
			t.Errorf("%q on %v: got %v, want %v", tc.cond, tc.txn.Src, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	set := NewSet()
	for _, tc := range []struct{ cond, want string }{
		{"if nosuch", "no such ACL : 'nosuch'"},
		{"if { patth /x }", "anonymous ACL: unknown fetch method 'patth'; did you mean 'path'?"},
		{"if { path -u x /a }", "anonymous ACL: the argument of -u must be an integer."},
		{"if { path -x /a }", "anonymous ACL: '-x' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'."},
		{"if { src -n localhost }", "anonymous ACL: 'localhost' is not a valid IPv4 or IPv6 address"},
		{"if { src 1.2.3.400 }", "anonymous ACL: '1.2.3.400' is not a valid IPv4 or IPv6 address"},
		{"if { dst_port -m beg 8 }", "anonymous ACL: '-m beg' cannot be used with the integer fetch 'dst_port'"},
		{"if { src 1.2.3.4", "missing closing '}' in condition"},
		{"if or TRUE", "'or' must stand between two ACLs"},
		{"if", "'if' expects a condition"},
		{"when TRUE", "a condition starts with 'if' or 'unless'"},
	} {
		_, err := ParseCond(strings.Fields(tc.cond), set)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %q", tc.cond, err, tc.want)
		}
	}
}

// TestClientHelloFromCryptoTLS extracts SNI from bytes a real TLS client sent.
func TestClientHelloFromCryptoTLS(t *testing.T) {
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
		tc := tls.Client(c, &tls.Config{ServerName: "app.example.com", InsecureSkipVerify: true})
		tc.SetDeadline(time.Now().Add(2 * time.Second))
		tc.Handshake()
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 0, 4096)
	for {
		tmp := make([]byte, 4096)
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if h, perr := ParseClientHello(buf); perr == nil {
			if h.Type != 1 || h.SNI != "app.example.com" {
				t.Fatalf("got %+v", h)
			}
			set := NewSet()
			cond, err := ParseCond([]string{"if", "{", "req.ssl_sni", "-i", "app.example.com", "}", "{", "req.ssl_hello_type", "1", "}"}, set)
			if err != nil {
				t.Fatal(err)
			}
			if !cond.Match(&Txn{Payload: buf}) {
				t.Fatal("req.ssl_sni condition did not match")
			}
			return
		}
		if err != nil {
			t.Fatalf("read: %v (have %d bytes)", err, len(buf))
		}
	}
}

func FuzzClientHello(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 5, 1, 0, 0, 1, 0})
	f.Add([]byte{22, 3, 3, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseClientHello(b) })
}

func FuzzParseCond(f *testing.F) {
	for _, s := range []string{"if { src 1.2.3.4/8 } || !{ path_beg /a }", "unless METH_GET { hdr_cnt(x) gt 2 }", "if { url_param(a) -m reg ^x }"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCond(strings.Fields(s), NewSet())
		if err == nil {
			c.Match(&Txn{HTTP: &fakeHTTP{uri: "/x?a=b"}})
		}
	})
}

func BenchmarkCondMatch(b *testing.B) {
	set := NewSet()
	set.Add("local", []string{"src", "10.0.0.0/8"})
	c, _ := ParseCond([]string{"if", "!local", "{", "dst_port", "80", "}"}, set)
	tx := &Txn{Src: netip.MustParseAddrPort("192.0.2.1:5000"), Dst: netip.MustParseAddrPort("192.0.2.2:80")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Match(tx)
	}
}

// TestFlags: -i applies to the patterns after it (a later -f file
// included), -u takes an integer id that is not a pattern, -n forbids
// resolving host names in IP patterns, and an expression without flag
// nor pattern never matches.
func TestFlags(t *testing.T) {
	dir := t.TempDir()
	exact, generic := dir+"/exact.lst", dir+"/generic.lst"
	os.WriteFile(exact, []byte("Exact\n"), 0o644)
	os.WriteFile(generic, []byte("# comment\n  Generic\n"), 0o644)
	set := NewSet()
	set.Resolve = func(host string) (netip.Addr, error) {
		if host == "db.internal" {
			return netip.MustParseAddr("10.1.2.3"), nil
		}
		return netip.Addr{}, errors.New("unknown host")
	}
	for _, tc := range []struct {
		expr  string
		path  string
		src   string
		want  bool
		never bool
	}{
		{"path -f " + exact + " -i -f " + generic + " Test", "Exact", "1.1.1.1", true, false},
		{"path -f " + exact + " -i -f " + generic + " Test", "exact", "1.1.1.1", false, false},
		{"path -f " + exact + " -i -f " + generic + " Test", "GENERIC", "1.1.1.1", true, false},
		{"path -f " + exact + " -i -f " + generic + " Test", "tEST", "1.1.1.1", true, false},
		{"path -u 1 /x", "/x", "1.1.1.1", true, false},
		{"path -u 1 /x", "1", "1.1.1.1", false, false},
		{"path -u 1", "1", "1.1.1.1", false, false},
		{"path", "/", "1.1.1.1", false, true},
		{"path --", "/", "1.1.1.1", false, false},
		{"src db.internal", "/", "10.1.2.3", true, false},
		{"src db.internal/16", "/", "10.1.9.9", true, false},
		{"src -n 10.1.2.3", "/", "10.1.2.3", true, false},
	} {
		e, err := parseExpr(strings.Fields(tc.expr), set.Resolve)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		tx := &Txn{Src: netip.MustParseAddrPort(tc.src + ":1"), HTTP: &fakeHTTP{method: "GET", uri: tc.path, ver: "HTTP/1.1"}}
		if got := e.Match(tx); got != tc.want {
			t.Errorf("%s on %s %s: got %v, want %v", tc.expr, tc.path, tc.src, got, tc.want)
		}
		if e.NeverMatches() != tc.never {
			t.Errorf("%s: NeverMatches %v", tc.expr, !tc.never)
		}
	}
	if _, err := parseExpr([]string{"src", "-n", "db.internal"}, set.Resolve); err == nil {
		t.Error("-n db.internal: resolved")
	}
	if e, _ := ParseExpr([]string{"path", "-u", "7", "/"}); e != nil {
		if id, ok := e.UniqueID(); !ok || id != 7 {
			t.Errorf("-u 7: %d %v", id, ok)
		}
	}
}
