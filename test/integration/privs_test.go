package integration

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrivilegesSideBySide: global user/group/chroot take effect once the
// listeners are bound, as in haproxy: the same uid, gid, supplementary
// groups and root directory in /proc, and traffic still flows.
func TestPrivilegesSideBySide(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change user")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody")
	}
	if _, err := user.LookupGroup("nogroup"); err != nil {
		t.Skip("no group nogroup")
	}
	app := startBackend(t, "app", false)
	for _, tc := range []struct{ name, global string }{
		{"user group chroot", "    user nobody\n    group nogroup\n    chroot %s\n"},
		{"user only", "    user nobody\n"},
	} {
		results := map[string]string{}
		for _, bin := range lbBins(t) {
			t.Run(tc.name+"/"+bin.name, func(t *testing.T) {
				dir := t.TempDir()
				os.Chmod(dir, 0o755)
				jail := filepath.Join(dir, "jail")
				os.Mkdir(jail, 0o755)
				global := tc.global
				if strings.Contains(global, "%s") {
					global = fmt.Sprintf(global, jail)
				}
				port := freePort(t)
				addr := fmt.Sprintf("127.0.0.1:%d", port)
				h := startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, "global\n"+global+defaults+
					fmt.Sprintf("listen l\n    bind %s\n    server s %s\n", addr, app.addr)))
				defer func() { h.cmd.Process.Kill(); <-h.done }()
				if got := hello(t, addr); got != "app" {
					t.Errorf("through the proxy: %q", got)
				}
				pid := h.cmd.Process.Pid
				var st []byte
				waitFor(t, "the identity changed", 5*time.Second, func() bool {
					st, _ = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
					return strings.Contains(string(st), "\nUid:\t65534\t")
				})
				var lines []string
				for _, l := range strings.Split(string(st), "\n") {
					if strings.HasPrefix(l, "Uid:") || strings.HasPrefix(l, "Gid:") || strings.HasPrefix(l, "Groups:") {
						lines = append(lines, strings.TrimSpace(l))
					}
				}
				root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
				lines = append(lines, "root "+strings.Replace(root, jail, "JAIL", 1))
				results[bin.name] = strings.Join(lines, "\n")
				t.Logf("%s:\n%s", bin.name, results[bin.name])
			})
		}
		if hp, ok := results["haproxy"]; ok && hp != results["halo"] {
			t.Errorf("%s:\nhalo:\n%s\nhaproxy:\n%s", tc.name, results["halo"], hp)
		}
	}
}
