package kaconf

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestKeywordTable keeps the keyword table and the parser in step: every
// keyword a block's parser handles is in the table, and every supported
// table entry is handled.
func TestKeywordTable(t *testing.T) {
	src, err := os.ReadFile("kaconf.go")
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]string{"build": "top level", "global": "global_defs", "check": "vrrp_script", "syncGroup": "vrrp_sync_group", "instance": "vrrp_instance"}
	values := []string{"MASTER", "BACKUP", "PASS", "AH", "auth_type", "auth_pass", "vrrp_track_process", "vrrp_track_halo", "global_defs", "vrrp_script"}
	caseRe := regexp.MustCompile(`case ((?:"[^"]+",?\s*)+):`)
	strRe := regexp.MustCompile(`"([^"]+)"`)
	for _, part := range strings.Split(string(src), "\nfunc ") {
		head := part
		if strings.HasPrefix(head, "(") {
			head = head[strings.Index(head, ")")+2:]
		}
		fn := head[:strings.IndexAny(head, "( ")]
		block, ok := funcs[fn]
		if !ok {
			continue
		}
		known := names(block)
		if block == "global_defs" {
			known = append(known, keysOf(globalNoEffect)...)
		}
		handled := map[string]bool{}
		for _, c := range caseRe.FindAllStringSubmatch(part, -1) {
			for _, m := range strRe.FindAllStringSubmatch(c[1], -1) {
				k := m[1]
				handled[k] = true
				if !slices.Contains(known, k) && !(slices.Contains(values, k) && block != "top level") {
					t.Errorf("%s: parser handles %q, the keyword table does not list it", block, k)
				}
			}
		}
		for _, b := range blocks {
			if !strings.HasPrefix(b.name, block) {
				continue
			}
			for _, k := range b.kws {
				if k.status != kwUnsupported && !handled[k.name] && k.name != "include" {
					t.Errorf("%s: table says %q is %s but the parser does not handle it", block, k.name, k.status)
				}
			}
		}
	}
}

// TestDocsUpToDate fails when docs/keepalived.md no longer matches the tables.
func TestDocsUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../../docs/keepalived.md")
	if err != nil || string(got) != KeywordDoc() {
		t.Fatalf("docs/keepalived.md is stale or missing (%v): run `make docs`", err)
	}
}
