package acl

import (
	"regexp"
	"testing"
)

func TestReplacement(t *testing.T) {
	for _, tc := range []struct {
		re, repl, in, want string
		ok                 bool
	}{
		{"foo", "bar", "xfooy", "bar", true}, // the whole input is replaced
		{"(f)(o+)", `<\2\1>`, "xfooy", "<oof>", true},
		{"(a)|(b)", `[\1\2\9]`, "b", "[b]", true}, // groups not matched or absent: empty
		{"o", `\x41\.\\`, "o", `A.\`, true},
		{"o", `\0\0`, "xoy", "oo", true},
		{"z", "bar", "xfooy", "xfooy", false},
	} {
		rep, err := ParseReplacement(tc.repl)
		if err != nil {
			t.Fatalf("%q: %v", tc.repl, err)
		}
		got, ok := rep.ReplaceMatch(regexp.MustCompile(tc.re), tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s / %s on %q: got %q %v, want %q %v", tc.re, tc.repl, tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []string{`abc\`, `\x4`} {
		if _, err := ParseReplacement(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestRegsub(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`str(a-b-c),regsub(-,_)`, "a_b-c"},
		{`str(a-b-c),regsub(-,_,g)`, "a_b_c"},
		{`str(AbA),regsub(a,x,gi)`, "xbx"},
		{`str(key=val),regsub(^([^=]*)=(.*)$,\2:\1)`, "val:key"},
		{`str(abc),regsub(x*,-,g)`, "-a-b-c-"},
	} {
		s, err := ParseSample(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got, _ := s.Eval(&Txn{}); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.expr, got, tc.want)
		}
	}
}
