package config

import (
	"os"
	"testing"
)

// TestDocsUpToDate fails when docs/config.md no longer matches the keyword
// tables; run `make docs` to regenerate it.
func TestDocsUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatalf("docs/config.md: %v (run make docs)", err)
	}
	if string(got) != KeywordDoc() {
		t.Fatal("docs/config.md is stale: run `make docs`")
	}
}
