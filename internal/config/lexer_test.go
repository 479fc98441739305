package config

import (
	"reflect"
	"testing"
)

func TestSplitLine(t *testing.T) {
	env := map[string]string{"HOME": "/root", "EMPTY": "", "LIST": "a b  c"}
	lx := &lexer{file: "t.cfg", lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"  bind *:80   # comment", []string{"bind", "*:80"}},
		{"# only a comment", nil},
		{"", nil},
		{`set-header X-A ${HOME}`, []string{"set-header", "X-A", "${HOME}"}},
		{`x "$HOME/x"`, []string{"x", "/root/x"}},
		{`x "\$HOME"`, []string{"x", "$HOME"}},
		{`x 'single quoted $HOME'`, []string{"x", "single quoted $HOME"}},
		{`x "${UNSET-dflt}"`, []string{"x", "dflt"}},
		{`x "[${EMPTY-dflt}]"`, []string{"x", "[]"}},
		{`x double\ escaped\ \"q\"`, []string{"x", `double escaped "q"`}},
		{`x "${UNSET}" y`, []string{"x", "y"}},
		{`x "" y`, []string{"x", "", "y"}},
		{`x a"b c"d`, []string{"x", "ab cd"}},
		{`x "a # b" c`, []string{"x", "a # b", "c"}},
		{`x a\#b`, []string{"x", "a#b"}},
		{`x \x41\x42`, []string{"x", "AB"}},
		{`replace-value Host (.*):8080 \1:8443`, []string{"replace-value", "Host", "(.*):8080", `\1:8443`}},
		{`x "${LIST[*]}"`, []string{"x", "a", "b", "c"}},
		{"x\ty\t\tz", []string{"x", "y", "z"}},
		{`x "${.LINE}"`, []string{"x", "7"}},
	} {
		ln, err := lx.splitLine(tc.in, 7)
		if err != nil {
			t.Errorf("%q: unexpected error %v", tc.in, err)
			continue
		}
		var got []string
		if ln != nil {
			got = ln.Words
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitLineErrors(t *testing.T) {
	lx := &lexer{file: "t.cfg", lookupEnv: func(string) (string, bool) { return "", false }}
	for _, in := range []string{`x "unterminated`, `x 'unterminated`, `x \x4`, `x \xZZ`} {
		if _, err := lx.splitLine(in, 1); err == nil {
			t.Errorf("%q: expected an error", in)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{"5000", "5s", false}, {"10s", "10s", false}, {"1m", "1m0s", false}, {"100us", "100µs", false},
		{"2h", "2h0m0s", false}, {"1d", "24h0m0s", false}, {"5x", "", true}, {"", "", true}, {"s", "", true},
	} {
		d, err := parseTime(tc.in)
		if (err != nil) != tc.err || (!tc.err && d.String() != tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %s err=%v", tc.in, d, err, tc.want, tc.err)
		}
	}
}

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		in         string
		host       string
		lo, hi     int
		family     string
		err        bool
		portRanges bool
	}{
		{in: "*:80", lo: 80, hi: 80},
		{in: ":8080", lo: 8080, hi: 8080},
		{in: "127.0.0.1:9001", host: "127.0.0.1", lo: 9001, hi: 9001},
		{in: "[::]:443", host: "::", lo: 443, hi: 443, family: "ipv6"},
		{in: ":::443", host: "::", lo: 443, hi: 443, family: "ipv6"},
		{in: "ipv4@0.0.0.0:80", host: "0.0.0.0", lo: 80, hi: 80, family: "ipv4"},
		{in: "127.0.0.1:8000-8010", host: "127.0.0.1", lo: 8000, hi: 8010, portRanges: true},
		{in: "127.0.0.1:8000-8010", err: true},
		{in: "127.0.0.1:", err: true},
		{in: "127.0.0.1:99999", err: true},
		{in: "fd@3", family: "fd"},
		{in: "bad host:80", err: true},
	} {
		a, err := parseAddr(tc.in, tc.portRanges)
		if (err != nil) != tc.err {
			t.Errorf("%q: err = %v, want err=%v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if a.host != tc.host || a.portLo != tc.lo || a.portHi != tc.hi || a.family != tc.family {
			t.Errorf("%q: got %+v", tc.in, a)
		}
	}
}
