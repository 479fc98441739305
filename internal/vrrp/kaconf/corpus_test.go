package kaconf

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func sharedDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	for _, d := range []string{filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared"), "/work/shared"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	t.Skip("shared/ folder not found beside the checkout")
	return ""
}

// TestSharedCorpus loads the shared keepalived.conf corpus, which
// keepalived 2.2 accepts (apart from its environment): halo-vrrp must
// accept each file too, or refuse it with file:line and a reason that
// says it is a halo-vrrp limitation.
func TestSharedCorpus(t *testing.T) {
	shared := sharedDir(t)
	files, _ := filepath.Glob(filepath.Join(shared, "corpus", "keepalived", "*.conf"))
	seeds, _ := filepath.Glob(filepath.Join(shared, "seed-configs", "keepalived-*.conf"))
	if len(files) == 0 || len(seeds) == 0 {
		t.Fatal("corpus or seed configs missing")
	}
	pos := regexp.MustCompile(`\.conf[^:]*:\d+: `)
	accepted := 0
	for _, f := range append(files, seeds...) {
		_, warns, err := Load(f)
		for _, w := range warns {
			if w != SecurityViolation && !pos.MatchString(w) {
				t.Errorf("%s: warning without file:line: %q", filepath.Base(f), w)
			}
		}
		if err == nil {
			accepted++
			continue
		}
		msg := err.Error()
		if !pos.MatchString(msg) {
			t.Errorf("%s: error without file:line: %v", filepath.Base(f), err)
		}
		if !strings.Contains(msg, "halo-vrrp") {
			t.Errorf("%s: keepalived accepts this file; halo-vrrp must say why it does not: %v", filepath.Base(f), err)
		}
	}
	for _, s := range seeds {
		if _, _, err := Load(s); err != nil {
			t.Errorf("the guide's %s must load: %v", filepath.Base(s), err)
		}
	}
	t.Logf("%d of %d files accepted", accepted, len(files)+len(seeds))
}
