package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestCompressionKeyword(t *testing.T) {
	const head = "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n"
	for _, tc := range []struct {
		name, text string
		px         string // proxy whose model is checked
		want       *Compression
		err, warn  string
	}{
		{name: "algos prepend", text: head + "frontend f\n  bind :80\n  compression algo deflate gzip\n  compression type text/ application/javascript\n",
			px: "f", want: &Compression{Algos: []CompAlgo{CompGzip, CompDeflate}, Types: []string{"application/javascript", "text/"}}},
		{name: "all algos", text: head + "backend b\n  compression algo identity raw-deflate\n  compression algo gzip deflate\n",
			px: "b", want: &Compression{Algos: []CompAlgo{CompDeflate, CompGzip, CompRawDeflate, CompIdentity}}},
		{name: "offload", text: head + "listen l\n  bind :80\n  compression offload extra words\n",
			px: "l", want: &Compression{Offload: true}},
		{name: "inherited", text: head + "  compression algo gzip\n  compression type text/\nbackend b\n  compression algo deflate\n",
			px: "b", want: &Compression{Algos: []CompAlgo{CompDeflate, CompGzip}, Types: []string{"text/"}}},
		{name: "offload in defaults", text: head + "  compression offload\nbackend b\n",
			px: "b", want: nil, warn: "t.cfg:6: 'compression' : 'offload' ignored in 'defaults' section."},
		{name: "unknown algo", text: head + "frontend f\n  bind :80\n  compression algo gzip GZIP\n",
			err: "t.cfg:8: 'compression' : 'GZIP' is not a supported algorithm."},
		{name: "no algo", text: head + "frontend f\n  bind :80\n  compression algo\n", err: "t.cfg:8: 'compression' expects <algorithm>."},
		{name: "no type", text: head + "backend b\n  compression type\n", err: "t.cfg:7: 'compression' expects <type>."},
		{name: "nothing", text: head + "backend b\n  compression\n", err: "t.cfg:7: 'compression' expects 'algo', 'type' or 'offload'"},
		{name: "maxlevel range", text: "global\n  tune.comp.maxlevel 10\n" + head, err: "t.cfg:2: 'tune.comp.maxlevel' expects a numeric value between 1 and 9"},
		{name: "maxlevel word", text: "global\n  tune.comp.maxlevel x\n" + head, err: "t.cfg:2: 'tune.comp.maxlevel' expects a numeric value between 1 and 9"},
		{name: "maxlevel two", text: "global\n  tune.comp.maxlevel 3 4\n" + head, err: "t.cfg:2: 'tune.comp.maxlevel' cannot handle unexpected argument '4'."},
		// HAProxy 2.8 keywords that 2.6 refuses.
		{name: "algo-res", text: head + "backend b\n  compression algo-res gzip\n", err: "t.cfg:7: 'compression' expects 'algo', 'type' or 'offload'"},
		{name: "direction", text: head + "backend b\n  compression direction both\n", err: "t.cfg:7: 'compression' expects 'algo', 'type' or 'offload'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := load(t, tc.text)
			if tc.err != "" {
				if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), tc.err) {
					t.Fatalf("errors %v, want %q", errs, tc.err)
				}
				return
			}
			if len(errs) != 0 {
				t.Fatalf("unexpected errors: %v", errs)
			}
			var px *Proxy
			for _, p := range cfg.Proxies {
				if p.Name == tc.px {
					px = p
				}
			}
			if px == nil {
				t.Fatalf("no proxy %q", tc.px)
			}
			if !reflect.DeepEqual(px.Compression, tc.want) {
				t.Errorf("compression = %+v, want %+v", px.Compression, tc.want)
			}
			if tc.warn != "" {
				found := false
				for _, w := range cfg.Warnings {
					found = found || strings.HasPrefix(w.Error(), tc.warn)
				}
				if !found {
					t.Errorf("warnings %v, want %q", cfg.Warnings, tc.warn)
				}
			}
		})
	}
}

func TestCompAlgoToken(t *testing.T) {
	for a, want := range map[CompAlgo]string{CompIdentity: "identity", CompGzip: "gzip", CompDeflate: "deflate", CompRawDeflate: "deflate"} {
		if got := a.Token(); got != want {
			t.Errorf("%v.Token() = %q, want %q", a, got, want)
		}
	}
}
