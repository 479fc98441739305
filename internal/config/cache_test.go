package config

import (
	"strings"
	"testing"
	"time"
)

const cacheBase = "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
	"frontend fe\n  bind 127.0.0.1:8080\n  http-request cache-use c\n  http-response cache-store c\n  default_backend app\n" +
	"backend app\n  server s1 127.0.0.1:8081\n"

// The cache section starts at line 13.
func TestCacheSection(t *testing.T) {
	cfg, errs := load(t, cacheBase+"cache c\n  total-max-size 200\n  max-object-size 10485760\n  max-age 3600\n  process-vary on\n  max-secondary-entries 4\n")
	if errs != nil {
		t.Fatal(errs)
	}
	c := cfg.Caches["c"]
	if c == nil || c.TotalMaxSize != 200<<20 || c.MaxObjectSize != 10485760 || c.MaxAge != time.Hour || !c.ProcessVary || c.MaxSecondaryEntries != 4 {
		t.Fatalf("cache = %+v", c)
	}
	fe := cfg.Proxy("fe", CapFrontend)
	if r := fe.HTTPRequest[0]; r.Action != ActCacheUse || r.Name != "c" {
		t.Errorf("request rule %+v", r)
	}
	if r := fe.HTTPResponse[0]; r.Action != ActCacheStore || r.Name != "c" {
		t.Errorf("response rule %+v", r)
	}
	// Defaults: max-age 60 s, a 256th of the size per object, 10 variants.
	cfg, errs = load(t, cacheBase+"cache c\n  total-max-size 4\n")
	if errs != nil {
		t.Fatal(errs)
	}
	if c := cfg.Caches["c"]; c.MaxAge != time.Minute || c.MaxObjectSize != 4<<20/256 || c.ProcessVary || c.MaxSecondaryEntries != 10 {
		t.Fatalf("defaults = %+v", c)
	}
}

// TestCacheErrors checks the messages against haproxy 2.6.12's (each
// checked with haproxy -c), with halo's file:line.
func TestCacheErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"no size", "cache c\n  max-age 5\n", "t.cfg:13: Size not specified for cache 'c'"},
		{"no name", "cache\n  total-max-size 1\n", "t.cfg:13: 'cache' expects a <name> argument"},
		{"two names", "cache c d\n", "t.cfg:13: 'cache' cannot handle unexpected argument 'd'."},
		{"duplicate", "cache c\n  total-max-size 1\ncache c\n  total-max-size 1\n", "t.cfg:15: Duplicate cache name 'c'"},
		{"too large", "cache c\n  total-max-size 4096\n", "t.cfg:14: \"total-max-size\" (4096) must not be greater than 4095"},
		{"negative", "cache c\n  total-max-size -1\n", "t.cfg:14: \"total-max-size\" (-1) must not be greater than 4095"},
		{"size word", "cache c\n  total-max-size abc\n", "t.cfg:14: total-max-size wrong value 'abc'"},
		{"size missing", "cache c\n  total-max-size\n", "t.cfg:14: total-max-size wrong value ''"},
		{"extra arg", "cache c\n  total-max-size 1 2\n", "t.cfg:14: 'total-max-size' cannot handle unexpected argument '2'."},
		{"half", "cache c\n  total-max-size 1\n  max-object-size 600000\n", "t.cfg:15: \"max-object-size\" is limited to an half of \"total-max-size\" => 524288"},
		{"object unit", "cache c\n  total-max-size 1\n  max-object-size 1k\n", "t.cfg:15: max-object-size wrong value '1k'"},
		{"object negative", "cache c\n  total-max-size 1\n  max-object-size -5\n", "is limited to an half"},
		{"secondary 0", "cache c\n  total-max-size 1\n  max-secondary-entries 0\n", "t.cfg:15: max-secondary-entries wrong value '0'"},
		{"max-age missing", "cache c\n  total-max-size 1\n  max-age\n", "t.cfg:15: 'max-age' expects an age parameter in seconds."},
		{"unknown keyword", "cache c\n  total-max-size 1\n  max-size 1\n", "t.cfg:15: unknown keyword 'max-size' in 'cache' section"},
		{"proxy keyword", "cache c\n  total-max-size 1\n  balance roundrobin\n", "t.cfg:15: unknown keyword 'balance' in 'cache' section"},
		{"unknown cache", "cache d\n  total-max-size 1\n", "t.cfg:8: frontend 'fe': unable to find the cache 'c' referenced by the filter 'cache'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := load(t, cacheBase+tc.text)
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("errors %q, want %q", all, tc.want)
			}
		})
	}
}

func TestCacheRuleErrors(t *testing.T) {
	pre := "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\ncache c\n  total-max-size 1\nfrontend fe\n  bind 127.0.0.1:8080\n"
	for _, tc := range []struct {
		name, rule, want string
	}{
		{"use no name", "http-request cache-use", "t.cfg:10: error detected in frontend 'fe' while parsing 'http-request cache-use' rule : expects a cache name."},
		{"use extra", "http-request cache-use c extra", "t.cfg:10: 'http-request cache-use' expects either 'if' or 'unless' followed by a condition but found 'extra'."},
		{"store in request", "http-request cache-store c", "t.cfg:10: 'http-request' unknown action 'cache-store'"},
		{"use in response", "http-response cache-use c", "t.cfg:10: 'http-response' unknown action 'cache-use'"},
		{"bad condition", "http-request cache-use c if { nosuchfetch }", "t.cfg:10:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := load(t, pre+"  "+tc.rule+"\n  default_backend app\nbackend app\n  server s1 127.0.0.1:8081\n")
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("errors %q, want %q", all, tc.want)
			}
		})
	}
	// A condition is accepted, and the cache may be declared after its users.
	if _, errs := load(t, "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\nfrontend fe\n  bind 127.0.0.1:8080\n"+
		"  http-request cache-use c if { path_beg /static }\n  default_backend app\nbackend app\n  http-response cache-store c unless { status 404 }\n  server s1 127.0.0.1:8081\ncache c\n  total-max-size 1\n"); errs != nil {
		t.Errorf("errors %v", errs)
	}
}

func TestCacheWarnings(t *testing.T) {
	cfg, errs := load(t, cacheBase+"cache c\n  total-max-size 1\n  max-age 1m\n  process-vary ON\n")
	if errs != nil {
		t.Fatal(errs)
	}
	if c := cfg.Caches["c"]; c.MaxAge != time.Second || c.ProcessVary {
		t.Errorf("cache %+v", c)
	}
	var ws []string
	for _, w := range cfg.Warnings {
		ws = append(ws, w.Error())
	}
	all := strings.Join(ws, "\n")
	for _, want := range []string{"t.cfg:15: 'max-age 1m' is not a number of seconds: HAProxy reads it as 1", "t.cfg:16: 'process-vary' expects \"on\" or \"off\""} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings %q lack %q", ws, want)
		}
	}
}
