package config

import (
	"strings"
	"testing"
)

// TestRetryOn: retry-on replaces the inherited set (conn-failure by
// default), refuses what HAProxy refuses with its reasons, and warns
// that a mode tcp backend ignores it.
func TestRetryOn(t *testing.T) {
	const http = "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n"
	for _, tc := range []struct {
		name, lines string
		want        RetryOn
		err, warn   string
	}{
		{"default", "", RetryConnFailure, "", ""},
		{"none", "  retry-on none\n", 0, "", ""},
		{"replaces", "  retry-on 503 empty-response\n", Retry503 | RetryEmptyResponse, "", ""},
		{"all", "  retry-on all-retryable-errors 404\n", RetryAllRetryable | Retry404, "", ""},
		{"0rtt", "  retry-on 0rtt-rejected\n", Retry0RTTRejected, "", ""},
		{"last wins", "  retry-on 503\n  retry-on 504\n", Retry504, "", ""},
		{"none not alone", "  retry-on none 503\n", 0, "t.cfg:7: 'retry-on' 'none' keyword only usable alone", ""},
		{"unknown", "  retry-on 505\n", 0, "t.cfg:7: 'retry-on': unknown keyword '505'", ""},
		{"empty", "  retry-on\n", 0, "t.cfg:7: 'retry-on' needs at least one keyword to specify when to retry", ""},
		{"tcp", "  mode tcp\n  retry-on 503\n", Retry503, "", "t.cfg:8: 'retry-on' has no effect on backend 'b': it applies to HTTP requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := load(t, http+"backend b\n"+tc.lines+"  server s 127.0.0.1:80\n")
			if tc.err != "" {
				if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), tc.err) {
					t.Fatalf("errors %v, want %q", errs, tc.err)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if got := cfg.Proxy("b", CapBackend).RetryOn; got != tc.want {
				t.Errorf("RetryOn = %b, want %b", got, tc.want)
			}
			found := tc.warn == ""
			for _, w := range cfg.Warnings {
				found = found || strings.HasPrefix(w.Error(), tc.warn)
			}
			if !found {
				t.Errorf("warnings %v, want %q", cfg.Warnings, tc.warn)
			}
		})
	}
	// Inherited from defaults; refused in a frontend.
	cfg, errs := load(t, http+"  retry-on 502\nbackend b\n  server s 127.0.0.1:80\n")
	if len(errs) > 0 || cfg.Proxy("b", CapBackend).RetryOn != Retry502 {
		t.Errorf("inherited retry-on: %v %v", errs, cfg)
	}
	// (haproxy refuses it; halo says the line is ignored, as for any
	// backend keyword in a frontend.)
	if cfg, _ := load(t, http+"frontend f\n  bind :80\n  retry-on 502\n"); cfg == nil || len(cfg.Warnings) == 0 ||
		!strings.HasPrefix(cfg.Warnings[0].Error(), "t.cfg:8: 'retry-on' ignored because frontend 'f' has no backend capability") {
		t.Errorf("retry-on in a frontend: %v", cfg)
	}
	if _, errs := load(t, http+"frontend f\n  bind :80\n  http-request disable-l7-retry if { path /x }\n  http-request disable-l7-retry x\n"); len(errs) != 1 || !strings.Contains(errs[0].Error(), "t.cfg:9: 'http-request disable-l7-retry' expects no argument") {
		t.Errorf("disable-l7-retry: %v", errs)
	}
}
