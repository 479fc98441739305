package acl

import (
	"net/netip"
	"strings"
	"testing"
)

// phaseHTTP is a transaction whose request and response both have an
// "x" header, so that a test can tell which one a fetch read.
type phaseHTTP struct{}

func (phaseHTTP) Method() string  { return "GET" }
func (phaseHTTP) URI() string     { return "/x?a=1" }
func (phaseHTTP) Version() string { return "HTTP/1.1" }
func (phaseHTTP) Header(n string) []string {
	return map[string][]string{"x": {"req"}, "cookie": {"a=b"}}[strings.ToLower(n)]
}
func (phaseHTTP) ResStatus() int { return 200 }
func (phaseHTTP) ResHeader(n string) []string {
	return map[string][]string{"x": {"res"}}[strings.ToLower(n)]
}
func (phaseHTTP) HeadLen() int { return 30 }

func TestEveryFetchHasASource(t *testing.T) {
	for name, f := range fetches {
		if f.use == 0 {
			t.Errorf("fetch %s declares no source", name)
		}
		for s := f.use; s != 0; s &= s - 1 {
			bit := s & -s
			if _, ok := availableAt[bit]; !ok || sourceNames[bit] == "" {
				t.Errorf("fetch %s: source %b has no availability or name", name, bit)
			}
		}
	}
	for name, r := range resAlt {
		if _, ok := fetches[r]; !ok {
			t.Errorf("response variant %s of %s is not a fetch", r, name)
		}
	}
}

func TestWhereAndSourceNames(t *testing.T) {
	for _, tc := range []struct {
		w    Where
		want string
	}{
		{AtFrontendHTTPRequest | AtBackendHTTPRequest, "frontend http-request header rule"}, // a listen's
		{AtBackendHTTPResponse | AtFrontendHTTPResponse, "backend http-response header rule"},
		{AtFrontendTCPContent | AtBackendTCPContent, "frontend tcp-request content rule"},
		{AtTCPConnection, "frontend tcp-request connection rule"},
		{AtUseBackend, "frontend use-backend rule"},
		{0, ""},
	} {
		if got := tc.w.String(); got != tc.want {
			t.Errorf("%b: %q, want %q", tc.w, got, tc.want)
		}
	}
	if got := (SrcReqHeaders | SrcResHeaders).String(); got != "HTTP request headers,HTTP response headers" {
		t.Errorf("sources: %q", got)
	}
}

func TestSampleUnavailable(t *testing.T) {
	for _, tc := range []struct {
		smp  string
		at   Where
		want Source
	}{
		{"path", AtBackendHTTPResponse, SrcReqHeaders},
		{"path", AtFrontendHTTPRequest, 0},
		{"path", AtLog, SrcReqHeaders},
		{"hdr(x)", AtBackendHTTPResponse, 0},
		{"hdr(x)", AtLog, SrcReqHeaders | SrcResHeaders},
		{"req.hdr(x)", AtBackendHTTPResponse, SrcReqHeaders},
		{"status", AtFrontendHTTPRequest, SrcResponse},
		{"status", AtLog, 0},
		{"be_name", AtFrontendHTTPRequest, SrcBackend},
		{"be_name", AtFrontendHTTPRequest | AtBackendHTTPRequest, 0},
		{"method", AtFrontendHTTPResponse, 0},
		{"req.len", AtFrontendHTTPResponse, SrcReqBuffer},
		{"ssl_fc", AtTCPConnection, SrcL5Client},
		{"src", AtTCPConnection, 0},
		{"var(txn.a)", AtLog, 0},
	} {
		s, err := ParseSample(tc.smp)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Unavailable(tc.at); got != tc.want {
			t.Errorf("%s at %s: %v, want %v", tc.smp, tc.at, got, tc.want)
		}
	}
}

func TestSampleAtReadsWhatIsThere(t *testing.T) {
	txn := &Txn{HTTP: phaseHTTP{}, Vars: map[string]string{"txn.v": "vv"}, Frontend: "fe"}
	for _, tc := range []struct {
		smp  string
		at   Where
		want string
		ok   bool
	}{
		{"hdr(x)", AtFrontendHTTPRequest, "req", true},
		{"hdr(x)", AtBackendHTTPResponse, "res", true},
		{"hdr(x),upper", AtFrontendHTTPResponse, "RES", true},
		{"hdr(x)", 0, "req", true}, // unbound: the request, as before
		{"req.hdr(x)", AtBackendHTTPResponse, "", false},
		{"path", AtBackendHTTPResponse, "", false},
		{"path", AtBackendHTTPRequest, "/x", true},
		{"method", AtBackendHTTPResponse, "GET", true},
		{"var(txn.v)", AtBackendHTTPResponse, "vv", true},
		{"status", AtFrontendHTTPRequest, "", false},
		{"req.len", AtTCPConnection, "", false},
		{"be_name", AtFrontendHTTPRequest, "fe", true}, // the frontend, until a backend is chosen
		{"be_name", AtTCPConnection, "", false},
	} {
		s, err := ParseSample(tc.smp)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := s.At(tc.at).Eval(txn)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s at %q: %q %v, want %q %v", tc.smp, tc.at, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCondAt(t *testing.T) {
	set := NewSet()
	if err := set.Add("p", []string{"path", "/x"}); err != nil {
		t.Fatal(err)
	}
	txn := &Txn{Src: netip.MustParseAddrPort("127.0.0.1:1"), HTTP: phaseHTTP{}}
	for _, tc := range []struct {
		cond string
		at   Where
		want bool
	}{
		{"if p", AtFrontendHTTPRequest, true},
		{"if p", AtFrontendHTTPResponse, false},
		{"if !p", AtFrontendHTTPResponse, true}, // no sample: the negation holds
		{"unless p", AtBackendHTTPResponse, true},
		{"if { hdr(x) req }", AtBackendHTTPResponse, false}, // the ACL hdr is req.hdr
		{"if { hdr(x) res }", AtBackendHTTPResponse, false},
		{"if { res.hdr(x) res }", AtBackendHTTPResponse, true},
		{"if { hdr(x) req }", AtBackendHTTPRequest, true},
		{"if { cook(a) b }", AtBackendHTTPResponse, false},
		{"if { method GET } { src 127.0.0.1 }", AtBackendHTTPResponse, true},
		{"if p", AtFrontendHTTPRequest | AtBackendHTTPRequest, true},
	} {
		c, err := ParseCond(strings.Fields(tc.cond), set)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.At(tc.at).Match(txn); got != tc.want {
			t.Errorf("%s at %q: %v, want %v", tc.cond, tc.at, got, tc.want)
		}
	}
}

func TestCondConflict(t *testing.T) {
	set := NewSet()
	for _, a := range [][]string{{"p", "path", "/x"}, {"mixed", "url", "/z"}, {"mixed", "src", "1.1.1.1"}, {"mixed", "hdr(x)", "y"}} {
		if err := set.Add(a[0], a[1:]); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		cond string
		at   Where
		want Conflict
		ok   bool
	}{
		{"if { path /x }", AtBackendHTTPResponse, Conflict{Keyword: "path", Full: true}, true},
		{"if { path_beg /x }", AtBackendHTTPResponse, Conflict{Keyword: "path_beg", Full: true}, true},
		{"if { hdr(x),lower y }", AtBackendHTTPResponse, Conflict{Keyword: "req.hdr", Full: true}, true},
		{"if { hdr_beg(x),lower y }", AtBackendHTTPResponse, Conflict{Keyword: "req.hdr", Full: true}, true},
		{"if { urlp_beg(a),lower y }", AtTCPConnection, Conflict{Keyword: "urlp", Full: true}, true},
		{"if { path,lower /x }", AtBackendHTTPResponse, Conflict{Keyword: "path", Full: true}, true},
		{"if mixed p", AtBackendHTTPResponse, Conflict{ACL: "p", Keyword: "path", Full: true}, true}, // a full conflict first
		{"if mixed", AtTCPConnection, Conflict{ACL: "mixed", Keyword: "url"}, true},
		{"if HTTP_URL_ABS", AtLog, Conflict{ACL: "HTTP_URL_ABS", Keyword: "url_reg", Full: true}, true},
		{"if METH_GET", AtFrontendHTTPResponse, Conflict{}, false},
		{"if p", AtBackendHTTPRequest, Conflict{}, false},
		{"if { status 200 } || p", AtFrontendTCPContent, Conflict{Keyword: "status", Full: true}, true},
	} {
		c, err := ParseCond(strings.Fields(tc.cond), set)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := c.Conflict(tc.at)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s at %q: %+v %v, want %+v %v", tc.cond, tc.at, got, ok, tc.want, tc.ok)
		}
	}
}

func TestACLKeywordsOnlyInACLs(t *testing.T) {
	// HAProxy knows path_beg as an ACL keyword, not as a sample fetch,
	// and no derived name it does not have.
	if _, err := ParseSample("path_beg"); err == nil {
		t.Error("path_beg accepted as a sample fetch")
	}
	for _, kw := range []string{"query_beg", "req.hdr_beg(x)", "path_found", "hdr_str(x)", "url_param_sub(a)", "ssl_fc_sni_beg"} {
		if _, err := ParseExpr([]string{kw, "x"}); err == nil {
			t.Errorf("%s accepted as an ACL keyword", kw)
		}
	}
	for _, kw := range []string{"path_beg", "hdr_dom(host)", "urlp_reg(a)", "cook_sub(a)", "shdr_end(x)", "ssl_fc_sni_end", "url_ip"} {
		if _, err := ParseExpr([]string{kw, "x"}); err != nil && !strings.Contains(err.Error(), "valid IPv4") {
			t.Errorf("%s refused: %v", kw, err)
		}
	}
}

func TestHTTPFetchesOnPayload(t *testing.T) {
	// TCP mode: no HTTP message, the buffered stream holds the request.
	txn := &Txn{}
	get := func(smp string) (string, bool) {
		s, err := ParseSample(smp)
		if err != nil {
			t.Fatal(err)
		}
		return s.At(AtFrontendTCPContent).Eval(txn)
	}
	for _, tc := range []struct {
		payload, smp, want string
		ok                 bool
	}{
		{"GET /a?b=1 HTTP/1.1\r\nHost: h\r\nX: 1\r\nX: 2\r\n\r\n", "path", "/a", true},
		{"GET /a?b=1 HTTP/1.1\r\nHost: h\r\nX: 1\r\nX: 2\r\n\r\n", "req.hdr(x)", "2", true},
		{"GET /a?b=1 HTTP/1.1\r\nHost: h\r\nX: 1\r\nX: 2\r\n\r\n", "hdr_cnt(x)", "2", true},
		{"GET /a?b=1 HTTP/1.1\r\nHost: h\r\nX: 1\r\nX: 2\r\n\r\n", "req.proto_http", "1", true},
		{"GET /a?b=1 HTTP/1.1\r\nHost: h\r\nX: 1\r\nX: 2\r\n\r\n", "method", "GET", true},
		{"GET /a HTTP/1.1\r\nHost: h\r\n", "path", "", false}, // not whole yet
		{"GET /a HTTP/1.1\r\nHost: h\r\n", "req.proto_http", "0", true},
		{"SSH-2.0-x\r\n", "req.proto_http", "0", true},
		{"", "path", "", false},
	} {
		txn.Payload = []byte(tc.payload)
		if got, ok := get(tc.smp); got != tc.want || ok != tc.ok {
			t.Errorf("%q %s: %q %v, want %q %v", tc.payload, tc.smp, got, ok, tc.want, tc.ok)
		}
	}
	// The buffer grows: the head is parsed again.
	buf := []byte("GET /grow HTTP/1.1\r\nHost: h\r\n")
	txn.Payload = buf
	if _, ok := get("path"); ok {
		t.Error("an incomplete head has a path")
	}
	txn.Payload = append(buf, "\r\n"...)
	if got, _ := get("path"); got != "/grow" {
		t.Errorf("after growing: %q", got)
	}
}
