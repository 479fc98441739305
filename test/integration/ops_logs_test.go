package integration

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixedHTTP is an HTTP server answering every request with the same
// bytes (no Date header), so that halo's and haproxy's %B agree.
func fixedHTTP(t *testing.T) string {
	return tcpServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			cl := 0
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l := strings.ToLower(strings.TrimSpace(line)); strings.HasPrefix(l, "content-length:") {
					fmt.Sscan(strings.TrimSpace(l[len("content-length:"):]), &cl)
				} else if l == "" {
					break
				}
			}
			io.CopyN(io.Discard, br, int64(cl))
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"); err != nil {
				return
			}
		}
	})
}

// greeter is a TCP server that answers the first bytes with a line and
// closes.
func greeter(t *testing.T) string {
	return tcpServer(t, func(c net.Conn) {
		buf := make([]byte, 64)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, _ := c.Read(buf); n > 0 {
			io.WriteString(c, "hello from t1\n")
		}
	})
}

// unixSink collects datagrams sent to a unix socket.
type unixSink struct {
	path string
	mu   sync.Mutex
	msgs []string
}

func newUnixSink(t *testing.T) *unixSink {
	s := &unixSink{path: filepath.Join(t.TempDir(), "log.sock")}
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := pc.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *unixSink) wait(t *testing.T, sub string, n int) []string {
	t.Helper()
	var out []string
	waitFor(t, fmt.Sprintf("%d datagrams with %q on %s", n, sub, s.path), 10*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		out = out[:0]
		for _, m := range s.msgs {
			if strings.Contains(m, sub) {
				out = append(out, m)
			}
		}
		return len(out) >= n
	})
	return out
}

// opsLogNormalizers remove what differs between two runs: header dates
// and pids, client ports, accept dates, timers.
var opsLogNormalizers = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d (halo|haproxy)\[\d+\]: `), "<$1>DATE TAG[PID]: "},
	{regexp.MustCompile(`127\.0\.0\.1:\d+ \[[^\]]+\]`), "127.0.0.1:PORT [DATE]"},
	{regexp.MustCompile(`\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]`), "[DATE]"},
	{regexp.MustCompile(`" \d+ \d+ "`), `" PORT MS "`}, // clf: %cp %ms
	{regexp.MustCompile(`127\.0\.0\.1 \d+ fe`), "127.0.0.1 PORT fe"},
	// Timers: non-negative values differ by a millisecond or two.
	{regexp.MustCompile(`\b\d+/\d+/\d+/\d+/\d+/\d+/\d+/\d+\b`), "T/T/T/T/T/T/T/T"},
	{regexp.MustCompile(` \d+/\d+/\d+ `), " T/T/T "},
	{regexp.MustCompile(` \d+/\d+/\d+/\d+/\d+ (\d{3}) `), " T/T/T/T/T $1 "},
	{regexp.MustCompile(`check duration: \d+ms`), "check duration: Nms"},
	{regexp.MustCompile(`"h1" \d+ \d+ \d+ \d+ \d+ `), `"h1" T T T T T `}, // clf timers
	// %B and %U: halo counts the bytes on the wire, HAProxy its internal
	// message representation (the test checks halo's %U exactly).
	{regexp.MustCompile(` 200 \d+ \d+ ----`), " 200 B U ----"},
	{regexp.MustCompile(` HTTP/1\.1 \d+ (\d+)/`), " HTTP/1.1 RT $1/"}, // %rt counts every request of the process
	{regexp.MustCompile(` -1/-1/-1/-1/\d+ `), " -1/-1/-1/-1/T "},
	// %ac/%fc/%bc/%sc/%rc: haproxy counts a connection until its own
	// tasks let it go, which on a busy machine can be after the next one
	// is logged (2/2/1/1/0 seen); halo's own counts are asserted apart.
	{regexp.MustCompile(` \d+/\d+/\d+/\d+/\d+ (\d+/\d+)\b`), " C/C/C/C/C $1"},
}

func normalizeOps(line string) string {
	for _, n := range opsLogNormalizers {
		line = n.re.ReplaceAllString(line, n.repl)
	}
	return line
}

const sideBySideLogCfg = `global
    log %[1]s local2
    stats socket %[9]s level admin
defaults
    log global
    timeout connect 1s
    timeout client 2s
    timeout server 2s
frontend tcpfe
    mode tcp
    option tcplog
    option dontlognull
    bind 127.0.0.1:%[2]d
    default_backend tcpbe
backend tcpbe
    mode tcp
    server t1 %[3]s
frontend clf
    mode http
    option httplog clf
    bind 127.0.0.1:%[4]d
    default_backend hb
frontend lf
    mode http
    log-format "%%ci %%f %%b/%%s %%ST %%B %%U %%tsc %%Th/%%Ti/%%TR/%%Tw/%%Tc/%%Tr/%%Ta/%%Tt %%{+Q}r %%HM %%HU %%HP %%HQ %%HV %%rt %%ac/%%fc/%%bc/%%sc/%%rc %%sq/%%bq"
    bind 127.0.0.1:%[5]d
    default_backend hb
frontend quiet
    mode http
    option httplog
    option dontlog-normal
    option log-separate-errors
    bind 127.0.0.1:%[6]d
    default_backend hb
backend hb
    mode http
    server h1 %[7]s
backend checked
    mode http
    server dead 127.0.0.1:%[8]d check inter 200ms fall 1
`

// TestLogsSideBySideFormats runs tcplog with dontlognull, httplog clf, a
// log-format with %U, dontlog-normal with log-separate-errors and a
// failing health check under halo and haproxy with the same
// configuration and traffic, and compares the syslog datagrams.
func TestLogsSideBySideFormats(t *testing.T) {
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	tcpSrv, httpSrv, dead := greeter(t), fixedHTTP(t), closedPort(t)
	run := func(bin string) map[string][]string {
		sink := newSyslogSink(t)
		p := []int{freePort(t), freePort(t), freePort(t), freePort(t)}
		sock := filepath.Join(t.TempDir(), "cli.sock")
		cfg := fmt.Sprintf(sideBySideLogCfg, sink.addr(), p[0], tcpSrv, p[1], p[2], p[3], httpSrv, dead, sock)
		// The connection counts in the lines are process-wide: each step
		// starts once the previous ones have left (the runtime API's own
		// connection counts in HAProxy's CurrConns).
		quiet := func() {
			waitFor(t, "no connection in progress", 10*time.Second, func() bool {
				var n int
				for _, l := range strings.Split(unixCLI(t, sock, "show info"), "\n") {
					if strings.HasPrefix(l, "CurrConns: ") {
						fmt.Sscan(l[len("CurrConns: "):], &n)
						return n <= 1
					}
				}
				return false
			})
		}
		addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", p[i]) }
		h := startProc(t, bin, "", nil, nil, "-db", "-f", writeConfig(t, cfg))
		for i := range p {
			waitListening(t, addr(i), h)
		}
		// The readiness probes are logged as aborted requests by the three
		// HTTP frontends once each proxy is done with them; only then do
		// they leave the connection counts of the lines compared.
		sink.wait(t, "BADREQ", 3)
		quiet()
		sink.mu.Lock()
		var keep []string
		for _, m := range sink.msgs {
			if strings.Contains(m, "checked") { // the health check may already have failed
				keep = append(keep, m)
			}
		}
		sink.msgs = keep
		sink.mu.Unlock()
		// tcp: a connection without data (dontlognull), one with data.
		c, _ := net.Dial("tcp", addr(0))
		c.Close()
		quiet()
		if c, err := net.Dial("tcp", addr(0)); err == nil {
			io.WriteString(c, "hello\n")
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			io.ReadAll(c)
			c.Close()
		}
		quiet()
		oneShot(t, addr(1), "GET /clf?q=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: ua\r\n\r\n")
		quiet()
		oneShot(t, addr(2), "POST /lf/path?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
		quiet()
		oneShot(t, addr(3), "GET /normal HTTP/1.1\r\nHost: a\r\n\r\n")
		quiet()
		oneShot(t, addr(3), "BAD REQUEST\r\n\r\n")
		got := map[string][]string{}
		for _, k := range []string{" tcpfe ", `"clf"`, " lf ", " quiet ", "checked/dead"} {
			got[k] = sink.wait(t, k, 1)
		}
		time.Sleep(300 * time.Millisecond) // anything that should not be there has arrived by now
		sink.mu.Lock()
		got["all"] = append([]string(nil), sink.msgs...)
		sink.mu.Unlock()
		h.cmd.Process.Kill()
		<-h.done
		return got
	}
	halo, ref := run(haloBin), run(hp)
	// %U is the request as the client sent it: head (with the Connection
	// header oneShot adds) and the 5-byte body.
	req := "POST /lf/path?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
	if !strings.Contains(halo[" lf "][0], fmt.Sprintf(" 200 86 %d ---- ", len(req))) {
		t.Errorf("halo's %%B/%%U: %q, want %%U %d", halo[" lf "][0], len(req))
	}
	for _, k := range []string{" tcpfe ", " quiet "} {
		// One step at a time: only the logged connection was open.
		if !strings.Contains(halo[k][0], " 1/1/0/0/0 0/0") {
			t.Errorf("halo's connection counts in %q, want 1/1/0/0/0 0/0", halo[k][0])
		}
	}
	for _, k := range []string{" tcpfe ", `"clf"`, " lf ", " quiet ", "checked/dead"} {
		g, w := normalizeOps(halo[k][0]), normalizeOps(ref[k][0])
		if g != w {
			t.Errorf("%s:\nhalo    %q\nhaproxy %q", k, g, w)
		}
	}
	// Same number of datagrams: the empty tcp connection and the normal
	// request in "quiet" are not logged by either.
	count := func(msgs []string) int {
		n := 0
		for _, m := range msgs {
			if !strings.Contains(m, "checked") { // the check's lines come at their own pace
				n++
			}
		}
		return n
	}
	if count(halo["all"]) != count(ref["all"]) {
		t.Errorf("halo sent %d datagrams, haproxy %d:\n%q\n%q", count(halo["all"]), count(ref["all"]), halo["all"], ref["all"])
	}
}

// TestLogTargets sends the same traffic log to every kind of target at
// once: a unix datagram socket, stdout, IPv6 UDP written HAProxy's way
// (last colon = port), a raw framing with len, a level filter and a
// minimum level, log-send-hostname, a proxy's own target added to
// `log global`, and a proxy with `no log`.
func TestLogTargets(t *testing.T) {
	v6, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	v6sink := &syslogSink{pc: v6}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := v6.ReadFrom(buf)
			if err != nil {
				return
			}
			v6sink.mu.Lock()
			v6sink.msgs = append(v6sink.msgs, string(buf[:n]))
			v6sink.mu.Unlock()
		}
	}()
	t.Cleanup(func() { v6.Close() })
	ux, own, raw, notice, capped := newUnixSink(t), newSyslogSink(t), newSyslogSink(t), newSyslogSink(t), newSyslogSink(t)
	app := fixedHTTP(t)
	port, quiet := freePort(t), freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`global
    log %s local2
    log stdout format raw local3
    log ::1:%d local2
    log %s len 80 format raw local2
    log %s local2 notice
    log %s local2 info notice
    log-send-hostname lb1
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    log %s local4
    default_backend app
frontend quiet
    bind 127.0.0.1:%d
    no log
    default_backend app
backend app
    server web1 %s
backend dead
    server d1 127.0.0.1:%d check inter 200ms
`, ux.path, v6.LocalAddr().(*net.UDPAddr).Port, raw.addr(), notice.addr(), capped.addr(), port, own.addr(), quiet, app, closedPort(t))
	h := startHalo(t, cfg, addr)
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", quiet), h)
	oneShot(t, fmt.Sprintf("127.0.0.1:%d", quiet), "GET /quiet-request HTTP/1.1\r\nHost: a\r\n\r\n")
	oneShot(t, addr, "GET /"+strings.Repeat("x", 100)+" HTTP/1.1\r\nHost: a\r\n\r\n")

	line := ux.wait(t, "GET /xxx", 1)[0]
	if !regexp.MustCompile(`^<150>\w{3} [ \d]\d \d\d:\d\d:\d\d lb1 halo\[\d+\]: 127\.0\.0\.1:\d+ \[`).MatchString(line) {
		t.Errorf("unix socket (local2, log-send-hostname): %q", line)
	}
	if got := v6sink.wait(t, "GET /xxx", 1)[0]; !strings.HasPrefix(got, "<150>") {
		t.Errorf("IPv6 target ::1:port: %q", got)
	}
	if got := own.wait(t, "GET /xxx", 1)[0]; !strings.HasPrefix(got, "<166>") { // local4 info
		t.Errorf("the frontend's own target: %q", got)
	}
	if got := raw.wait(t, "127.0.0.1:", 1)[0]; len(got) != 80 || !strings.HasPrefix(got, "127.0.0.1:") || !strings.HasSuffix(got, "\n") {
		t.Errorf("raw framing, len 80: %d bytes %q", len(got), got)
	}
	waitFor(t, "halo's stdout line", 10*time.Second, func() bool {
		return regexp.MustCompile(`(?m)^127\.0\.0\.1:\d+ \[[^\]]+\] fe app/web1 .*"GET /x+ HTTP/1\.1"$`).MatchString(h.stderr.String())
	})
	// max level notice: the server going DOWN (alert) and the backend
	// without server (emerg) arrive, traffic (info) does not.
	notice.wait(t, "has no server available!", 1)
	// min level notice: the emerg line is capped to notice (149).
	if got := capped.wait(t, "has no server available!", 1)[0]; !strings.HasPrefix(got, "<149>") {
		t.Errorf("min level notice: %q", got)
	}
	if got := capped.wait(t, "GET /xxx", 1)[0]; !strings.HasPrefix(got, "<150>") {
		t.Errorf("info traffic under 'info notice': %q", got)
	}
	time.Sleep(200 * time.Millisecond)
	for name, s := range map[string]*syslogSink{"notice": notice} {
		s.mu.Lock()
		for _, m := range s.msgs {
			if strings.Contains(m, "GET /") {
				t.Errorf("%s target got a traffic line: %q", name, m)
			}
		}
		s.mu.Unlock()
	}
	for _, s := range []*syslogSink{own, raw, capped} {
		s.mu.Lock()
		for _, m := range s.msgs {
			if strings.Contains(m, "quiet-request") {
				t.Errorf("'no log' frontend logged: %q", m)
			}
		}
		s.mu.Unlock()
	}
}

// TestDroppedLogs: a log target that cannot be reached drops its
// messages and counts them (show info DroppedLogs), while requests go on
// unhindered.
func TestDroppedLogs(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "halo.sock")
	app := fixedHTTP(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, fmt.Sprintf(`global
    log %s local2
    stats socket %s level admin
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    server web1 %s
`, filepath.Join(dir, "no-syslog-here.sock"), sock, port, app), addr)
	start := time.Now()
	for i := 0; i < 20; i++ {
		if r := oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.Contains(r, " 200 ") {
			t.Fatalf("request %d: %q", i, r)
		}
	}
	t.Logf("20 requests with an absent syslog in %v", time.Since(start))
	var dropped int
	waitFor(t, "DroppedLogs to count the lost lines", 10*time.Second, func() bool {
		for _, l := range strings.Split(socatCLI(t, sock, "show info"), "\n") {
			if strings.HasPrefix(l, "DroppedLogs: ") {
				fmt.Sscan(l[len("DroppedLogs: "):], &dropped)
			}
		}
		return dropped >= 20
	})
}

// TestHealthMessagesInSyslog: server state changes reach syslog with
// HAProxy's wording and severities (DOWN alert, drain notice, the
// backend without server emerg), through halo's real checks and
// runtime API.
func TestHealthMessagesInSyslog(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	sink := newSyslogSink(t)
	app := fixedHTTP(t)
	sock := filepath.Join(t.TempDir(), "halo.sock")
	port := freePort(t)
	startHalo(t, fmt.Sprintf(`global
    log %s local2
    stats socket %s level admin
defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
listen web
    bind 127.0.0.1:%d
    option log-health-checks
    server up %s check inter 200ms
    server dead 127.0.0.1:%d check inter 200ms fall 1
`, sink.addr(), sock, port, app, closedPort(t)), fmt.Sprintf("127.0.0.1:%d", port))
	sink.wait(t, "<149>", 1)
	if got := sink.wait(t, "Server web/dead is DOWN", 1)[0]; !strings.HasPrefix(got, "<145>") || !strings.HasSuffix(got, " 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n") {
		t.Errorf("DOWN line: %q", got)
	}
	if got := sink.wait(t, "Health check for server web/dead failed, reason: Layer4 connection problem", 1)[0]; !strings.HasPrefix(got, "<149>") {
		t.Errorf("check line: %q", got)
	}
	socatCLI(t, sock, "set server web/up state drain")
	if got := sink.wait(t, "Server web/up enters drain state.", 1)[0]; !strings.HasPrefix(got, "<149>") {
		t.Errorf("drain: %q", got)
	}
	if got := sink.wait(t, "backend web has no server available!", 1)[0]; !strings.HasPrefix(got, "<144>") {
		t.Errorf("no server: %q", got)
	}
	socatCLI(t, sock, "set server web/up state maint")
	if got := sink.wait(t, "Server web/up is going DOWN for maintenance.", 1)[0]; !strings.HasPrefix(got, "<149>") {
		t.Errorf("maintenance from drain is a notice in haproxy 2.6.12: %q", got)
	}
	socatCLI(t, sock, "set server web/up state ready")
	if got := sink.wait(t, "Server web/up is UP/READY (leaving forced maintenance).", 1)[0]; !strings.HasPrefix(got, "<149>") {
		t.Errorf("ready: %q", got)
	}
	var lines []string
	sink.mu.Lock()
	lines = append(lines, sink.msgs...)
	sink.mu.Unlock()
	sort.Strings(lines)
	t.Logf("%d syslog lines", len(lines))
}

// TestLogFramingsSideBySide sends one request through halo and haproxy
// with a `len 120` target in each of the eight framings and compares the
// datagrams: header layout, length (HAProxy does not count the newline
// except in raw), truncation.
func TestLogFramingsSideBySide(t *testing.T) {
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	framings := []string{"local", "rfc3164", "rfc5424", "raw", "short", "iso", "timed", "priority"}
	app := fixedHTTP(t)
	run := func(bin string) map[string]string {
		var logs strings.Builder
		sinks := map[string]*syslogSink{}
		for _, f := range framings {
			sinks[f] = newSyslogSink(t)
			fmt.Fprintf(&logs, "    log %s len 120 format %s local2 info\n", sinks[f].addr(), f)
		}
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
%sdefaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    server web1 %s
`, logs.String(), port, app)))
		oneShot(t, addr, "GET /some/long/path/to/make/the/line/longer/than/the/limit HTTP/1.1\r\nHost: a\r\n\r\n")
		out := map[string]string{}
		for _, f := range framings {
			out[f] = sinks[f].wait(t, "127.0.0.1:", 1)[0]
		}
		h.cmd.Process.Kill()
		<-h.done
		return out
	}
	halo, ref := run(haloBin), run(hp)
	dates := []*regexp.Regexp{
		regexp.MustCompile(`\w{3} [ \d]\d \d\d:\d\d:\d\d`),
		regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d`),
		regexp.MustCompile(`(halo|haproxy)\[\d+\]`),
		regexp.MustCompile(`(halo|haproxy) \d+ - - `),
	}
	header := func(d string) string {
		h, _, _ := strings.Cut(d, "127.0.0.1:")
		for _, re := range dates {
			h = re.ReplaceAllString(h, "X")
		}
		return h
	}
	for _, f := range framings {
		g, w := halo[f], ref[f]
		// The same length although the tags differ: the limit covers
		// header and message.
		if len(g) != len(w) {
			t.Errorf("%s: halo %d bytes, haproxy %d:\n%q\n%q", f, len(g), len(w), g, w)
		}
		if header(g) != header(w) {
			t.Errorf("%s header: halo %q, haproxy %q", f, header(g), header(w))
		}
		if !strings.HasSuffix(g, "\n") {
			t.Errorf("%s: no final newline: %q", f, g)
		}
	}
}

// unixCLI sends one command to a runtime API unix socket and returns the
// reply.
func unixCLI(t *testing.T, path, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, cmd+"\n")
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestHTTPSLogSideBySide: option httpslog on a TLS frontend, the same
// TLS 1.2 client through halo and haproxy, the lines compared.
func TestHTTPSLogSideBySide(t *testing.T) {
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	ca := newTestCA(t)
	dir := t.TempDir()
	cert := ca.issue(t, dir, "site.pem", false, false, "site.test")
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.pem)
	app := fixedHTTP(t)
	run := func(bin string) string {
		sink := newSyslogSink(t)
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    log %s local2
defaults
    mode http
    log global
    option httpslog
    option dontlognull
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d ssl crt %s
    default_backend app
backend app
    server web1 %s
`, sink.addr(), port, cert, app)))
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "site.test", RootCAs: roots, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
		if err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		io.WriteString(c, "GET /secure HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.ReadAll(c)
		c.Close()
		line := sink.wait(t, "/secure", 1)[0]
		h.cmd.Process.Kill()
		<-h.done
		return line
	}
	g, w := normalizeOps(run(haloBin)), normalizeOps(run(hp))
	// %B: halo counts the bytes on the wire, HAProxy its internal representation.
	size := regexp.MustCompile(` 200 \d+ - - `)
	g, w = size.ReplaceAllString(g, " 200 B - - "), size.ReplaceAllString(w, " 200 B - - ")
	if g != w {
		t.Errorf("httpslog:\nhalo    %q\nhaproxy %q", g, w)
	}
	if !strings.Contains(g, " fe~ app/web1 ") || !strings.Contains(g, " site.test/TLSv1.2/ECDHE-ECDSA-AES128-GCM-SHA256") {
		t.Errorf("httpslog line: %q", g)
	}
}

// TestLogStderr: `log stderr` writes to the process's standard error,
// not its standard output.
func TestLogStderr(t *testing.T) {
	app := fixedHTTP(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(haloBin, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    log stderr format short local2
defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    server web1 %s
`, port, app)))
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "halo listening", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	oneShot(t, addr, "GET /to-stderr HTTP/1.1\r\nHost: a\r\n\r\n")
	waitFor(t, "the line on stderr", 10*time.Second, func() bool {
		return regexp.MustCompile(`(?m)^<6>127\.0\.0\.1:\d+ \[[^\]]+\] web web/web1 .*"GET /to-stderr HTTP/1\.1"$`).MatchString(stderr.String())
	})
	if strings.Contains(stdout.String(), "to-stderr") {
		t.Errorf("stdout has the line: %q", stdout.String())
	}
}
