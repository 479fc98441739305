package config

import (
	"strings"
	"testing"
)

// TestHeadLimit: a message head may fill tune.bufsize minus
// tune.maxrewrite, which is capped at half of the buffer, as in HAProxy.
func TestHeadLimit(t *testing.T) {
	for _, tc := range []struct {
		global string
		want   int
	}{
		{"", 16384 - 1024},
		{"  tune.bufsize 4096\n", 4096 - 1024},
		{"  tune.bufsize 4096\n  tune.maxrewrite 3000\n", 2048},
		{"  tune.maxrewrite 0\n", 16384},
		{"  tune.maxrewrite 4096\n", 16384 - 4096},
	} {
		cfg, errs := load(t, "global\n"+tc.global+base)
		if len(errs) > 0 {
			t.Fatalf("%q: %v", tc.global, errs)
		}
		if got := cfg.Global.HeadLimit(); got != tc.want {
			t.Errorf("%q: head limit %d, want %d", tc.global, got, tc.want)
		}
	}
	_, errs := load(t, "global\n  tune.maxrewrite lots\n"+base)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "t.cfg:2: 'tune.maxrewrite' expects an integer") {
		t.Errorf("bad tune.maxrewrite: %v", errs)
	}
}
