package integration

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// notifySocket is a test NOTIFY_SOCKET: what systemd would receive.
type notifySocket struct {
	path string
	mu   sync.Mutex
	msgs []string
	seen int
}

func newNotifySocket(t *testing.T) *notifySocket {
	n := &notifySocket{path: filepath.Join(t.TempDir(), "notify.sock")}
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := pc.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, string(buf[:k]))
			n.mu.Unlock()
		}
	}()
	return n
}

// next waits for the next datagram (after those returned before) that has
// the line, and returns it.
func (n *notifySocket) next(t *testing.T, line string) string {
	t.Helper()
	var got string
	waitFor(t, "sd_notify "+line, 20*time.Second, func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		for i := n.seen; i < len(n.msgs); i++ {
			for _, l := range strings.Split(n.msgs[i], "\n") {
				if l == line {
					got, n.seen = n.msgs[i], i+1
					return true
				}
			}
		}
		return false
	})
	return got
}

// TestSdNotify runs `halo -Ws` as systemd would (Type=notify) with a test
// NOTIFY_SOCKET: READY=1 naming the master once a worker listens,
// RELOADING=1 with MONOTONIC_USEC (systemd 253's notify-reload protocol)
// then READY=1 around a reload by SIGUSR2 and by the master CLI, and
// STOPPING=1 at stop.
func TestSdNotify(t *testing.T) {
	app := httpBackend(t, "web1")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	n := newNotifySocket(t)
	msock := filepath.Join(t.TempDir(), "master.sock")
	h := startProc(t, haloBin, addr, nil, []string{"NOTIFY_SOCKET=" + n.path}, "-Ws", "-S", msock+",level,operator,mode,600",
		"-f", writeConfig(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    server web1 %s
`, port, app)))
	if got := n.next(t, "READY=1"); !strings.Contains(got, fmt.Sprintf("MAINPID=%d", h.cmd.Process.Pid)) {
		t.Errorf("READY without the master's pid %d: %q", h.cmd.Process.Pid, got)
	}
	if st, err := os.Stat(msock); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("-S ...,mode,600: %v %v", st, err)
	}
	h.signal(syscall.SIGUSR2)
	if got := n.next(t, "RELOADING=1"); !regexp.MustCompile(`(?m)^MONOTONIC_USEC=\d+$`).MatchString(got) {
		t.Errorf("RELOADING without MONOTONIC_USEC: %q", got)
	}
	n.next(t, "READY=1")
	if _, err := exec.LookPath("socat"); err == nil {
		socatCLI(t, msock, "reload")
		n.next(t, "RELOADING=1")
		n.next(t, "READY=1")
		if lv := socatCLI(t, msock, "show cli level"); lv != "operator\n\n" {
			t.Errorf("-S ...,level,operator: %q", lv)
		}
	}
	if body := oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.Contains(body, "web1 GET") {
		t.Errorf("after reloads: %q", body)
	}
	h.signal(syscall.SIGTERM)
	n.next(t, "STOPPING=1")
	h.wait(t, 15*time.Second)
	if h.err != nil {
		t.Errorf("master exit: %v", h.err)
	}
	if !strings.Contains(h.stderr.String(), "exited with code 143 (Terminated)") {
		t.Errorf("the worker does not die of SIGTERM as HAProxy's:\n%s", h.stderr.String())
	}
}

// TestHardStopAfter: after a reload, the old worker keeps a held TCP
// session only until hard-stop-after, then cuts it and exits.
func TestHardStopAfter(t *testing.T) {
	hold := startBackend(t, "t1", true)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h := startHalo(t, fmt.Sprintf(`global
    hard-stop-after 1s
defaults
    mode tcp
    timeout connect 1s
    timeout client 1m
    timeout server 1m
listen l
    bind 127.0.0.1:%d
    server t1 %s
`, port, hold.addr), addr, "-W")
	c, name := holdConn(t, addr)
	if name != "t1" {
		t.Fatalf("held session: %q", name)
	}
	waitFor(t, "the held session on the server", 5*time.Second, func() bool { return hold.active() == 1 })
	h.signal(syscall.SIGUSR2)
	waitFor(t, "the reload", 20*time.Second, func() bool {
		return strings.Count(h.stderr.String(), "Loading success.") >= 2
	})
	// The new worker serves while the old one still holds the session.
	if got := hello(t, addr); got != "t1" {
		t.Errorf("new worker: %q", got)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	start := time.Now()
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("the held session was not cut by hard-stop-after (timeout client is 1m): %v", err)
	}
	t.Logf("held session cut %v after the reload was acknowledged", time.Since(start))
	waitFor(t, "the former worker to exit", 10*time.Second, func() bool {
		return strings.Contains(h.stderr.String(), "Former worker (")
	})
	waitFor(t, "the server side closed", 5*time.Second, func() bool { return hold.active() == 0 })
}

// TestSignalsSideBySide sends SIGHUP, then SIGUSR1, to halo and haproxy
// running the same configuration and compares what reaches syslog: the
// server state dump and "Proxy ... stopped" lines; then checks that
// SIGTERM ends both with status 143 and no such line.
func TestSignalsSideBySide(t *testing.T) {
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	app := fixedHTTP(t)
	dead := closedPort(t)
	run := func(bin string, sig syscall.Signal) ([]string, *halo) {
		sink := newSyslogSink(t)
		p1, p2 := freePort(t), freePort(t)
		sock := filepath.Join(t.TempDir(), "cli.sock")
		h := startProc(t, bin, fmt.Sprintf("127.0.0.1:%d", p1), nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    log %s local2
    stats socket %s level admin
defaults
    log global
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    server up %s check inter 200ms
    server dead 127.0.0.1:%d check inter 200ms fall 1
    server plain %s
listen both
    bind 127.0.0.1:%d
    server b1 %s
`, sink.addr(), sock, p1, app, dead, app, p2, app)))
		waitListening(t, fmt.Sprintf("127.0.0.1:%d", p2), h)
		sink.wait(t, "Server app/dead is DOWN", 1)
		for i := 0; i < 3; i++ {
			oneShot(t, fmt.Sprintf("127.0.0.1:%d", p1), "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		}
		// The dump shows the connections in progress: wait until the
		// requests and readiness probes have left every proxy (scur 0 in
		// each of them; CurrConns would count the runtime API's own
		// connection in HAProxy and not in halo).
		waitFor(t, "no connection in progress", 10*time.Second, func() bool {
			st := unixCLI(t, sock, "show stat")
			n := 0
			for _, l := range strings.Split(st, "\n") {
				f := strings.Split(l, ",")
				if len(f) < 5 || !strings.Contains(" fe app both ", " "+f[0]+" ") {
					continue
				}
				if f[4] != "0" { // scur
					return false
				}
				n++
			}
			return n > 0
		})
		if sig == syscall.SIGHUP {
			h.signal(syscall.SIGHUP)
			sink.wait(t, "SIGHUP: Proxy both ", 1)
			h.signal(syscall.SIGUSR1)
			sink.wait(t, "Proxy app stopped", 1)
		} else {
			h.signal(sig)
		}
		h.wait(t, 15*time.Second)
		time.Sleep(200 * time.Millisecond)
		sink.mu.Lock()
		defer sink.mu.Unlock()
		var out []string
		for _, m := range sink.msgs {
			if strings.Contains(m, "SIGHUP") || strings.Contains(m, " stopped ") {
				// HAProxy's internal proxies (the runtime API's GLOBAL, the
				// HTTP client's) have no counterpart in halo.
				if !strings.Contains(m, "<HTTPCLIENT>") && !strings.Contains(m, " GLOBAL") {
					out = append(out, normalizeOps(m))
				}
			}
		}
		return out, h
	}
	g, _ := run(haloBin, syscall.SIGHUP)
	w, _ := run(hp, syscall.SIGHUP)
	// Each session's connection counts are the same (3 requests and the
	// readiness probes, which both count): the lines compare as they are.
	if strings.Join(g, "") != strings.Join(w, "") {
		t.Errorf("SIGHUP and SIGUSR1 lines:\nhalo:\n%s\nhaproxy:\n%s", strings.Join(g, ""), strings.Join(w, ""))
	}
	for _, bin := range []string{haloBin, hp} {
		lines, h := run(bin, syscall.SIGTERM)
		var ee *exec.ExitError
		if !errors.As(h.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
			t.Errorf("%s after SIGTERM: %v, want death by SIGTERM (status 143)", filepath.Base(bin), h.err)
		}
		if len(lines) != 0 {
			t.Errorf("%s logged at SIGTERM: %q", filepath.Base(bin), lines)
		}
	}
}
