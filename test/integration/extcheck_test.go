package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestExternalCheckSideBySide runs option external-check under halo and
// haproxy: the command gets the same arguments and environment, its
// exit status decides, a command that outlives its limit is killed, and
// the state changes are logged in the same words.
func TestExternalCheckSideBySide(t *testing.T) {
	app := fixedHTTP(t)
	results := map[string]string{}
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			dir := t.TempDir()
			script := filepath.Join(dir, "check.sh")
			// It records what it was given, then exits with the status in
			// the file named after the server's port (sleeping when asked).
			os.WriteFile(script, []byte(`#!/bin/sh
/usr/bin/env | /usr/bin/sort | /usr/bin/grep -v '^PWD=' > "`+dir+`/env.$HAPROXY_SERVER_NAME"
echo "$@" > "`+dir+`/args.$HAPROXY_SERVER_NAME"
st=$(/usr/bin/cat "`+dir+`/status.$HAPROXY_SERVER_NAME" 2>/dev/null || echo 0)
[ "$st" = sleep ] && exec /usr/bin/sleep 5
exit $st
`), 0o755)
			write := func(name, v string) { os.WriteFile(filepath.Join(dir, "status."+name), []byte(v), 0o644) }
			write("ok", "0")
			write("bad", "3")
			write("slow", "sleep")
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			h := startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    external-check
    insecure-fork-wanted
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 300ms
listen web
    bind %s
    option external-check
    external-check command %s
    external-check path /usr/bin:/bin
    server ok %s check inter 200 rise 1 fall 1 maxconn 7
    server bad %s check inter 200 rise 1 fall 1
    server slow %s check inter 200 rise 1 fall 1
backend nobind
    mode tcp
    option external-check
    external-check command %s
    server n [::1]:9 check inter 200 rise 1 fall 1
`, addr, script, app, app, app, script)))
			waitFor(t, "bad and slow DOWN", 10*time.Second, func() bool {
				out := h.stderr.String()
				return strings.Contains(out, "Server web/bad is DOWN") && strings.Contains(out, "Server web/slow is DOWN")
			})
			out := h.stderr.String()
			for _, want := range []string{
				"Server web/bad is DOWN, reason: External check error, code: 3, check duration: ",
				"Server web/slow is DOWN, reason: External check timeout, code: 0, check duration: ",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in:\n%s", want, out)
				}
			}
			write("bad", "0")
			waitFor(t, "bad UP", 10*time.Second, func() bool {
				return strings.Contains(h.stderr.String(), "Server web/bad is UP")
			})
			if strings.Contains(h.stderr.String(), "Server web/ok is DOWN") {
				t.Errorf("ok went DOWN:\n%s", h.stderr.String())
			}
			var got []string
			for _, n := range []string{"ok", "n"} {
				a, _ := os.ReadFile(filepath.Join(dir, "args."+n))
				e, _ := os.ReadFile(filepath.Join(dir, "env."+n))
				got = append(got, n+": "+strings.TrimSpace(string(a))+"\n"+strings.TrimSpace(string(e)))
			}
			sort.Strings(got)
			// The listening port is each run's own.
			results[bin.name] = strings.ReplaceAll(strings.Join(got, "\n"), fmt.Sprint(port), "PORT")
		})
	}
	if hp, ok := results["haproxy"]; ok && results["halo"] != hp {
		t.Errorf("what the command was given:\nhalo:\n%s\nhaproxy:\n%s", results["halo"], hp)
	}
}
