package integration

import (
	"strings"
	"testing"
)

// Directives the "never silently ignore" sweep made take effect.

// TestGlobalQuietSideBySide: `quiet` in the global section is -q: -c
// prints neither the warnings nor "Configuration file is valid". An
// error fails both; halo still prints its file:line alert where haproxy
// silences even alerts (deliberate: a refused configuration says why).
func TestGlobalQuietSideBySide(t *testing.T) {
	const cfg = "global\n    quiet\ndefaults\n    mode tcp\nfrontend f\n    bind 127.0.0.1:1\n    default_backend b\nbackend b\n    server s1 127.0.0.1:2\n"
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			rc, out, errOut := runCheck(t, bin.path, writeConfig(t, cfg))
			if rc != 0 || out != "" || strings.Contains(errOut, "WARNING") {
				t.Errorf("rc %d, stdout %q, stderr %q: want silence", rc, out, errOut)
			}
			rc, _, errOut = runCheck(t, bin.path, writeConfig(t, strings.Replace(cfg, "server s1", "server", 1)))
			if rc == 0 || (bin.name == "halo") != strings.Contains(errOut, "ALERT") {
				t.Errorf("an error under quiet: rc %d, stderr %q", rc, errOut)
			}
		})
	}
}
