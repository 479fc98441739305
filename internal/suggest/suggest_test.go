package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"abc", "abd", 1}, {"abc", "acb", 1},
		{"balance", "blaance", 1}, {"kitten", "sitting", 3}, {"", "abc", 3},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q,%q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	kw := []string{"balance", "server", "default_backend", "use_backend", "timeout", "bind"}
	for _, tc := range []struct{ in, want string }{
		{"blance", "balance"},
		{"sever", "server"},
		{"default-backend", "default_backend"},
		{"bnd", "bind"},
		{"xyzzy", ""},
		{"frobnicate", ""},
	} {
		if got := Closest(tc.in, kw); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if h := Hint("sever", kw); h != "; did you mean 'server'?" {
		t.Errorf("Hint = %q", h)
	}
}
