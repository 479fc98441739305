package integration

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestRejectDropVarsCaptureSideBySide: http-request reject, silent-drop,
// set-var-fmt, unset-var, set-log-level and capture <sample> len <n>,
// under halo and haproxy: what the client gets and the log lines.
func TestRejectDropVarsCaptureSideBySide(t *testing.T) {
	paths := []string{"/reject", "/drop", "/unset", "/quiet", "/plain", "/notice"}
	results := map[string][]string{}
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			sink := newSyslogSink(t)
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    log %s local0
defaults
    mode http
    log global
    option httplog
    timeout client 5s
    timeout server 5s
    timeout connect 5s
frontend f
    bind %s
    http-request reject if { path /reject }
    http-request silent-drop if { path /drop }
    http-request set-var(txn.a) str(x)
    http-request unset-var(txn.a) if { path /unset }
    http-request set-var-fmt(txn.b) "%%[path]-%%[method]"
    http-request set-log-level silent if { path /quiet }
    http-request set-log-level notice if { path /notice }
    http-request capture req.hdr(Host) len 10
    http-request return status 200 content-type text/plain lf-string "a=%%[var(txn.a)] b=%%[var(txn.b)]"
`, sink.addr(), addr)))
			var out []string
			for _, p := range paths {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(c, "GET "+p+" HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
				c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
				b, err := io.ReadAll(c)
				c.Close()
				what := "closed"
				switch {
				case errors.Is(err, os.ErrDeadlineExceeded):
					what = "nothing" // silent-drop sent neither FIN nor RST
				case err != nil:
					what = "reset"
				case len(b) > 0:
					_, body, _ := strings.Cut(string(b), "\r\n\r\n")
					what = strings.SplitN(string(b), "\r\n", 2)[0] + " " + body
				}
				out = append(out, p+": "+what)
			}
			lines := sink.wait(t, " f ", len(paths)-1) // /quiet logs nothing
			time.Sleep(200 * time.Millisecond)         // a line /quiet should not have sent
			sink.mu.Lock()
			lines = append([]string(nil), sink.msgs...)
			sink.mu.Unlock()
			mask := regexp.MustCompile(`^<(\d+)>.*?: 127\.0\.0\.1:\d+ \[[^\]]+\] `)
			bytes := regexp.MustCompile(` (200|-1) \d+ `)
			// Connection counts: a readiness probe may still count in
			// haproxy's on a busy machine.
			conns := regexp.MustCompile(` \d+/\d+/\d+/\d+/\d+ 0/0 `)
			// The total time (Tt) is a matter of milliseconds.
			tt := regexp.MustCompile(` (-?\d+/-?\d+/-?\d+/-?\d+)/\d+ `)
			for _, l := range lines {
				if strings.Contains(l, " f ") {
					l = mask.ReplaceAllString(l, "<$1> ")
					l = conns.ReplaceAllString(bytes.ReplaceAllString(strings.TrimSpace(l), " $1 B "), " C 0/0 ")
					l = tt.ReplaceAllString(l, " $1/T ")
					out = append(out, l)
				}
			}
			sort.Strings(out[len(paths):])
			results[bin.name] = out
		})
	}
	got := results["halo"]
	for _, want := range []string{"/reject: closed", "/drop: nothing", "/unset: HTTP/1.1 200 OK a= b=/unset-GET", "/plain: HTTP/1.1 200 OK a=x b=/plain-GET"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("halo: no %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
	if hp, ok := results["haproxy"]; ok && strings.Join(hp, "\n") != strings.Join(got, "\n") {
		t.Errorf("halo:\n%s\nhaproxy:\n%s", strings.Join(got, "\n"), strings.Join(hp, "\n"))
	}
}
