package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// syslogSink collects the datagrams sent to a UDP port on 127.0.0.1.
type syslogSink struct {
	pc   net.PacketConn
	mu   sync.Mutex
	msgs []string
}

func newSyslogSink(t *testing.T) *syslogSink {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &syslogSink{pc: pc}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { pc.Close() })
	return s
}

func (s *syslogSink) addr() string { return s.pc.LocalAddr().String() }

// wait returns the messages containing sub once n of them arrived.
func (s *syslogSink) wait(t *testing.T, sub string, n int) []string {
	t.Helper()
	var out []string
	waitFor(t, fmt.Sprintf("%d log lines with %q", n, sub), 10*time.Second, func() bool {
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

func logCfg(port int, sink, app string) string {
	return fmt.Sprintf(`global
    log %s local2
    log-tag lb
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    http-request deny if { path /deny }
    http-request redirect location /elsewhere if { path /redir }
    use_backend dead if { path /dead }
    default_backend app
backend app
    server web1 %s
backend dead
    server d 127.0.0.1:1
`, sink, port, app)
}

var logRequests = []string{
	"GET /ok?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /deny HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /redir HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /dead HTTP/1.1\r\nHost: a\r\n\r\n",
	"G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
}

// normalize removes what differs between two runs: dates, pids, ports
// and non-negative timers.
var normalizers = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d lb\[\d+\]: `), "<$1>DATE lb[PID]: "},
	{regexp.MustCompile(`127\.0\.0\.1:\d+ \[[^\]]+\]`), "127.0.0.1:PORT [DATE]"},
	{regexp.MustCompile(`(^| )\d+/\d+/\d+/\d+/\d+ `), " T/T/T/T/T "},
	{regexp.MustCompile(` (-1|\d+)/(-1|\d+)/(-1|\d+)/(-1|\d+)/(\d+) `), " $1/$2/$3/$4/T "},
	// %B: halo logs the bytes it wrote; HAProxy counts its internal
	// message representation, a few bytes off.
	{regexp.MustCompile(`( \d{3}) \d+ (- - )`), "$1 B $2"},
}

func normalize(line string) string {
	for _, n := range normalizers {
		line = n.re.ReplaceAllString(line, n.repl)
	}
	return regexp.MustCompile(`(^|[ /])\d+(/-1)`).ReplaceAllString(line, "${1}N$2")
}

// TestLogsSideBySide sends the same requests through halo and haproxy
// with the same configuration and compares the syslog datagrams.
func TestLogsSideBySide(t *testing.T) {
	app := echoBackend(t, "web1")
	run := func(bin string) []string {
		sink := newSyslogSink(t)
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", writeConfig(t, logCfg(port, sink.addr(), app)))
		for _, r := range logRequests {
			oneShot(t, addr, r)
		}
		lines := sink.wait(t, " fe ", len(logRequests)+1)
		h.cmd.Process.Kill()
		<-h.done
		return lines
	}
	got := run(haloBin)
	for _, l := range got {
		t.Logf("halo: %q", l)
	}
	// got[0] is the readiness probe: a connection closed before any byte.
	if !strings.Contains(got[0], ` 400 0 - - CR-- `) || !strings.HasSuffix(got[0], `"<BADREQ>"`+"\n") {
		t.Errorf("empty connection: %q", got[0])
	}
	if !strings.HasPrefix(got[1], "<150>") || !strings.Contains(got[1], ` fe app/web1 `) || !strings.HasSuffix(got[1], `"GET /ok?x=1 HTTP/1.1"`+"\n") {
		t.Errorf("first request: %q", got[1])
	}
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	want := run(hp)
	// A proxy may log a request after it has answered it and accepted the
	// next one (haproxy does, on a busy machine): the lines compare as
	// sets, sorted once normalized.
	norm := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			out = append(out, normalize(l))
		}
		sort.Strings(out)
		return out
	}
	g, w := norm(got), norm(want)
	for i := range w {
		if i >= len(g) || g[i] != w[i] {
			t.Errorf("halo's lines:\n%s\nhaproxy's:\n%s", strings.Join(g, ""), strings.Join(w, ""))
			break
		}
	}
}

// TestRsyslog: the guide's logging set-up with the real rsyslog: imudp
// on a port, local2.* written to a file.
func TestRsyslog(t *testing.T) {
	rs, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Skip("rsyslogd not installed")
	}
	dir := t.TempDir()
	udpPort := freeUDPPort(t)
	logFile := filepath.Join(dir, "haproxy.log")
	conf := filepath.Join(dir, "rsyslog.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`global(workDirectory="%s")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="%d")
local2.* %s
`, dir, udpPort, logFile)), 0o644)
	cmd := exec.Command(rs, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslog.pid"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	app := echoBackend(t, "web1")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, logCfg(port, fmt.Sprintf("127.0.0.1:%d", udpPort), app), addr)
	time.Sleep(500 * time.Millisecond) // rsyslog's input opens asynchronously
	var data []byte
	waitFor(t, "the request in rsyslog's file", 15*time.Second, func() bool {
		oneShot(t, addr, "GET /via-rsyslog HTTP/1.1\r\nHost: a\r\n\r\n")
		data, _ = os.ReadFile(logFile)
		return strings.Contains(string(data), `"GET /via-rsyslog HTTP/1.1"`)
	})
	var line string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "/via-rsyslog") {
			line = l
			break
		}
	}
	if !regexp.MustCompile(`^(\w{3} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.+-]+) \S+ lb\[\d+\]: 127\.0\.0\.1:\d+ \[[^\]]+\] fe app/web1 `).MatchString(line) {
		t.Errorf("rsyslog line: %q", line)
	}
}

func freeUDPPort(t *testing.T) int {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}
