package acl

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSampleEval(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts.map")
	os.WriteFile(hosts, []byte("# host -> backend\nexample.com   be_main\n\napi.example.com be_api\n"), 0o644)
	begs := filepath.Join(dir, "paths.map")
	os.WriteFile(begs, []byte("/api/v2 v2\n/api v1\n"), 0o644)
	nets := filepath.Join(dir, "nets.map")
	os.WriteFile(nets, []byte("10.0.0.0/8 internal\n192.0.2.0/24 doc\n"), 0o644)
	txn := &Txn{
		Src: netip.MustParseAddrPort("192.0.2.77:4000"), Dst: netip.MustParseAddrPort("127.0.0.1:80"),
		HTTP: &fakeHTTP{method: "GET", uri: "/api/v2/users?id=42&lang=fr", ver: "HTTP/1.1", hdr: map[string][]string{
			"host":            {"API.Example.com"},
			"x-forwarded-for": {"203.0.113.1, 198.51.100.2", "192.0.2.9"},
			"cookie":          {"SERVERID=s2; lang=fr"},
		}},
		Vars: map[string]string{"txn.user": "alice"}, Frontend: "fe", Backend: "be",
	}
	for _, tc := range []struct {
		expr string
		want string
		ok   bool
	}{
		{"src", "192.0.2.77", true},
		{"dst_port", "80", true},
		{"path", "/api/v2/users", true},
		{"query", "id=42&lang=fr", true},
		{"url_param(lang)", "fr", true},
		{"req.hdr(host),lower", "api.example.com", true},
		{"hdr(host),upper", "API.EXAMPLE.COM", true},
		{"hdr(x-forwarded-for)", "192.0.2.9", true}, // last occurrence outside an ACL
		{"hdr(x-forwarded-for,1)", "203.0.113.1", true},
		{"hdr(x-forwarded-for,-2)", "198.51.100.2", true},
		{"hdr(x-missing)", "", false},
		{"req.cook(SERVERID)", "s2", true},
		{"req.hdr(host),lower,map(" + hosts + ")", "be_api", true},
		{"req.hdr(host),map(" + hosts + ",be_default)", "be_default", true},
		{"path,map_beg(" + begs + ")", "v2", true},
		{"src,map_ip(" + nets + ",other)", "doc", true},
		{"path,regsub(/api/v[0-9]+,/v)", "/v/users", true},
		{"path,regsub(/,_,g)", "_api_v2_users", true},
		{"path,field(3,/)", "v2", true},
		{"path,field(-1,/)", "users", true},
		{"path,field(2,/,2)", "api/v2", true},
		{"str(a..b),word(2,.)", "b", true},
		{"path,length", "13", true},
		{"str(abc),hex", "616263", true},
		{"int(255),hex", "00000000000000FF", true}, // as HAProxy casts integers
		{"fc_err", "0", true},
		{"ssl_fc_err", "", false}, // no TLS on this connection
		{"ssl_fc_is_resumed", "0", true},
		{"str(abc),base64", "YWJj", true},
		{"src,ipmask(24)", "192.0.2.0", true},
		{"str(a%20b),url_dec", "a b", true},
		{"var(txn.user)", "alice", true},
		{"var(txn.none)", "", false},
		{"var(txn.none,anon)", "anon", true},
		{"fe_name", "fe", true},
		{"int(41),add(1)", "42", true},
		{`str(\"q\"),json`, `\"q\"`, true},
	} {
		s, err := ParseSample(tc.expr)
		if err != nil {
			t.Errorf("ParseSample(%q): %v", tc.expr, err)
			continue
		}
		got, ok := s.Eval(txn)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s = %q, %v; want %q, %v", tc.expr, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSampleErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"path,lowr", "unknown converter 'lowr'; did you mean 'lower'?"},
		{"path,regsub(a)", "converter 'regsub' expects (<regex>,<subst>[,<flags>])"},
		{"path,regsub([,x)", "invalid regex"},
		{"path,map(/nonexistent/file.map)", "failed to open pattern file </nonexistent/file.map>"},
		{"var(foo)", "must be <scope>.<name>"},
		{"var(proc.x)", "proc scope is not supported"},
		{"hdr(host,x)", "occurrence 'x' is not an integer"},
		{"path,field(0,/)", "must be a non-zero integer"},
		{"hdr(host", "missing closing ')'"},
	} {
		_, err := ParseSample(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSample(%q) = %v, want error containing %q", tc.expr, err, tc.want)
		}
	}
}

func TestACLPatternFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "blocked.lst")
	os.WriteFile(f, []byte("# blocked networks\n198.51.100.0/24\n  203.0.113.5  \n"), 0o644)
	e, err := ParseExpr([]string{"src", "-f", f, "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]bool{"198.51.100.9:1": true, "203.0.113.5:1": true, "192.0.2.1:1": true, "192.0.2.2:1": false} {
		if got := e.Match(&Txn{Src: netip.MustParseAddrPort(src)}); got != want {
			t.Errorf("src %s: %v, want %v", src, got, want)
		}
	}
	// Converters that change the type change the default match method.
	e, err = ParseExpr([]string{"path,length", "gt", "5"})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Match(&Txn{HTTP: &fakeHTTP{uri: "/abcdef"}}) || e.Match(&Txn{HTTP: &fakeHTTP{uri: "/ab"}}) {
		t.Error("path,length gt 5 mismatched")
	}
}

func FuzzParseSample(f *testing.F) {
	for _, s := range []string{"req.hdr(host),lower,regsub(^www\\.,,)", "path,field(-1,/,2)", "src,ipmask(24,64)",
		"var(txn.a,def),word(2,.)", "hdr(x,-1),bytes(1,3),hex", "str('a,b'),upper", "path,regsub((a|b),\\1\\1,gi)"} {
		f.Add(s)
	}
	txn := &Txn{Src: netip.MustParseAddrPort("192.0.2.1:1"), HTTP: &fakeHTTP{method: "GET", uri: "/a/b?c=d",
		hdr: map[string][]string{"host": {"www.example.com"}, "x": {"1,22,333"}}}}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "map") || strings.Contains(s, "-f") {
			return // no file access from the fuzzer
		}
		if smp, err := ParseSample(s); err == nil {
			smp.Eval(txn)
		}
	})
}
