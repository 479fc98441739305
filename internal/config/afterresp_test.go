package config

import (
	"strings"
	"testing"
)

const httpBase = "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n"

// TestAfterResponseParse: http-after-response lines, their refusals and
// warnings, with HAProxy 2.6's wording where it has one (checked with
// haproxy -c).
func TestAfterResponseParse(t *testing.T) {
	fe := httpBase + "frontend f\n  bind :80\n" // rule lines start at t.cfg:8
	for _, tc := range []struct {
		name, text string
		err, warn  string // prefixes of the first error / warning ("" for none)
		rules      int    // rules in frontend f when no error
	}{
		{"set-header", fe + "  http-after-response set-header X %[status]\n", "", "", 1},
		{"all supported", fe + "  http-after-response add-header X y\n  http-after-response del-header X\n" +
			"  http-after-response replace-header X a b\n  http-after-response replace-value X a b\n" +
			"  http-after-response set-status 299 reason Fine\n  http-after-response set-var(txn.s) status\n" +
			"  http-after-response allow if { status 200 }\n", "", "", 7},
		{"deny", fe + "  http-after-response deny\n", "t.cfg:8: 'http-after-response' expects 'add-header', 'allow', 'capture', 'del-header', 'replace-header', 'replace-value', 'set-header', 'set-status', 'strict-mode', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', but got 'deny'.", "", 0},
		{"redirect", fe + "  http-after-response redirect location /\n", "t.cfg:8: 'http-after-response' expects ", "", 0},
		{"set-map", fe + "  http-after-response set-map(/x) a b\n", "t.cfg:8: 'http-after-response' expects ", "", 0},
		{"strict-mode", fe + "  http-after-response strict-mode on\n", "t.cfg:8: 'http-after-response strict-mode' is a valid HAProxy action that halo does not support yet", "", 0},
		{"unset-var and set-var-fmt", fe + "  http-after-response unset-var(txn.x)\n  http-after-response set-var-fmt(txn.y) \"%[status]\"\n", "", "", 2},
		{"set-var-fmt request fetch", fe + "  http-after-response set-var-fmt(txn.y) \"%[path]\"\n", "t.cfg:8: error detected in frontend 'f' while parsing 'http-after-response set-var-fmt(txn.y)' rule : sample fetch <path]> may not be reliably used here", "", 0},
		{"request fetch in format", fe + "  http-after-response set-header X %[path]\n",
			"t.cfg:8: error detected in frontend 'f' while parsing 'http-after-response set-header' rule : sample fetch <path]> may not be reliably used here because it needs 'HTTP request headers' which is not available here.", "", 0},
		{"request fetch in set-var", fe + "  http-after-response set-var(txn.x) req.hdr(x)\n",
			"t.cfg:8: error detected in frontend 'f' while parsing 'http-after-response set-var(txn.x)' rule : fetch method 'set-var(txn.x)' extracts information from 'HTTP request headers', none of which is available here.", "", 0},
		{"request fetch in condition", fe + "  http-after-response set-header X y if { path / }\n", "",
			"t.cfg:8: anonymous acl will never match because it uses keyword 'path' which is incompatible with 'frontend http-response header rule'", 1},
		{"final allow", fe + "  http-after-response allow\n  http-after-response set-header X y\n", "",
			"t.cfg:9: previous 'http-after-response' action is final and has no condition attached, further entries are NOOP.", 2},
		{"tcp mode", base + "frontend f\n  bind :80\n  http-after-response set-header X y\n", "",
			"t.cfg:8: 'http-after-response' rules ignored for frontend 'f' as they require HTTP mode.", 0},
		{"tcp mode http-response", base + "listen l\n  bind :80\n  http-response set-header X y\n", "",
			"t.cfg:8: 'http-response' rules ignored for listen 'l' as they require HTTP mode.", 0},
		{"anonymous defaults", httpBase + "  http-after-response set-header A d\n", "t.cfg:6: 'http-after-response' not allowed in anonymous 'defaults' section.", "", 0},
		{"anonymous defaults http-request", httpBase + "  http-request set-header A d\n", "t.cfg:6: 'http-request' not allowed in anonymous 'defaults' section.", "", 0},
		{"no action", fe + "  http-after-response\n", "t.cfg:8: 'http-after-response' expects an action", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := load(t, tc.text)
			if tc.err != "" {
				if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), tc.err) {
					t.Fatalf("errors %v, want %q", errs, tc.err)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("unexpected errors %v", errs)
			}
			if tc.warn != "" && (len(cfg.Warnings) == 0 || !strings.HasPrefix(cfg.Warnings[0].Error(), tc.warn)) {
				t.Errorf("warnings %v, want %q", cfg.Warnings, tc.warn)
			}
			if tc.warn == "" && len(cfg.Warnings) > 0 {
				t.Errorf("unexpected warnings %v", cfg.Warnings)
			}
			px := cfg.Proxy("f", CapFrontend)
			if px == nil {
				px = cfg.Proxy("l", CapFrontend)
			}
			if got := len(px.HTTPAfterResponse); got != tc.rules {
				t.Errorf("%d after-response rules, want %d", got, tc.rules)
			}
			if len(px.HTTPResponse) != 0 && strings.Contains(tc.text, "after-response") {
				t.Errorf("after-response rules landed in http-response: %d", len(px.HTTPResponse))
			}
		})
	}
}

// TestAfterResponseDefaults: a named defaults section's rules come first
// in a proxy that uses it, as HAProxy 2.6 inherits them.
func TestAfterResponseDefaults(t *testing.T) {
	cfg, errs := load(t, strings.Replace(httpBase, "defaults", "defaults d", 1)+"  http-after-response set-header A d\nfrontend f from d\n  bind :80\n  http-after-response set-header B f\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	px := cfg.Proxy("f", CapFrontend)
	if len(px.HTTPAfterResponse) != 2 || px.HTTPAfterResponse[0].Name != "A" || px.HTTPAfterResponse[1].Name != "B" {
		t.Fatalf("rules %+v", px.HTTPAfterResponse)
	}
	if r := px.HTTPAfterResponse[1]; r.Action != ActSetHeader || !r.Response || r.Pos.Line != 9 {
		t.Errorf("rule %+v", r)
	}
}
