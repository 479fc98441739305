package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDefaultPath: relative file names after `default-path` resolve
// against the configuration file's directory (config), its parent
// (parent) or a given directory (origin), for errorfile, http-errors,
// return file, acl -f and map files; the mode goes on into the next -f
// file, following that file's directory, as in HAProxy 2.6.
func TestDefaultPath(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"conf", "other", "o"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel, text string) {
		if err := os.WriteFile(filepath.Join(root, rel), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Each directory has its own error page; the helper files exist only
	// where the mode under test must find them.
	for _, d := range []string{"conf", ".", "o", "other"} {
		write(filepath.Join(d, "e.http"), "HTTP/1.0 503 x\r\ncontent-type: text/plain\r\n\r\nfrom "+d+"\n")
	}
	for _, tc := range []struct {
		mode, dir string // dir: where the files are expected ("" for an error)
		err       string
	}{
		{"config", "conf", ""},
		{"parent", ".", ""},
		{"origin " + filepath.Join(root, "o"), "o", ""},
		{"origin o", "", "t.cfg:2: couldn't set 'default-path' to origin 'o': halo expects an absolute directory"},
		{"nowhere", "", "t.cfg:2: 'default-path' expects 'current', 'config', 'parent' or 'origin <path>', got 'nowhere'"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			if tc.err != "" {
				_, errs := load(t, "global\n  default-path "+tc.mode+"\n")
				if len(errs) == 0 || errs[0].Error() != tc.err {
					t.Fatalf("errors %v, want %q", errs, tc.err)
				}
				return
			}
			for _, f := range []string{"p.lst", "m.map", "body.txt"} {
				for _, d := range []string{"conf", ".", "o"} {
					os.Remove(filepath.Join(root, d, f))
				}
			}
			write(filepath.Join(tc.dir, "p.lst"), "/x\n")
			write(filepath.Join(tc.dir, "m.map"), "127.0.0.1 local\n")
			write(filepath.Join(tc.dir, "body.txt"), "HTTP/1.0 200 OK\r\n\r\nbody\n")
			cfgFile := filepath.Join(root, "conf", "a.cfg")
			write("conf/a.cfg", "global\n  default-path "+tc.mode+"\n"+httpBase+
				"http-errors errs\n  errorfile 502 e.http\n"+
				"frontend f\n  bind 127.0.0.1:1\n  option dontlognull\n  errorfile 503 e.http\n  errorfiles errs\n  acl p path -f p.lst\n"+
				"  http-request return errorfile body.txt if p\n  http-request deny if { path -f p.lst }\n"+
				"  http-request set-header X %[src,map_ip(m.map,none)]\n")
			// The next file, in another directory, inherits the mode.
			write("other/b.cfg", "frontend g\n  bind 127.0.0.1:2\n  errorfile 503 e.http\n")
			cfg, err := Load([]string{cfgFile, filepath.Join(root, "other", "b.cfg")}, LoadOptions{Resolve: noResolve})
			if err != nil {
				var el *ErrorList
				errors.As(err, &el)
				t.Fatalf("load: %v", err)
			}
			page := func(px string, code int) string {
				return string(cfg.Proxy(px, CapFrontend).ErrorPages[code])
			}
			if got := page("f", 503); !strings.HasSuffix(got, "from "+tc.dir+"\n") {
				t.Errorf("errorfile 503: %q, want the one of %s", got, tc.dir)
			}
			if got := page("f", 502); !strings.HasSuffix(got, "from "+tc.dir+"\n") {
				t.Errorf("http-errors errorfile: %q, want the one of %s", got, tc.dir)
			}
			want := tc.dir
			if tc.mode == "config" {
				want = "other"
			}
			if got := page("g", 503); !strings.HasSuffix(got, "from "+want+"\n") {
				t.Errorf("next file's errorfile: %q, want the one of %s", got, want)
			}
			if r := cfg.Proxy("f", CapFrontend).HTTPRequest[0]; !strings.Contains(string(r.Raw), "body") {
				t.Errorf("return errorfile: %q", r.Raw)
			}
		})
	}
}
