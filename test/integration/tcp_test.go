package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func listenCfg(port int, balance string, servers ...string) string {
	s := defaults + fmt.Sprintf("listen app\n    bind 127.0.0.1:%d\n    balance %s\n", port, balance)
	for _, l := range servers {
		s += "    " + l + "\n"
	}
	return s
}

func TestRoundRobinSideBySide(t *testing.T) {
	s1, s2 := startBackend(t, "s1", false), startBackend(t, "s2", false)
	port := freePort(t)
	cfg := listenCfg(port, "roundrobin", "server s1 "+s1.addr, "server s2 "+s2.addr)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	run := func(bin string) string {
		f := writeConfig(t, cfg)
		before := s1.served() + s2.served()
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", f)
		defer func() { h.cmd.Process.Kill(); <-h.done }()
		// Let the readiness probe's session reach its server first.
		waitFor(t, "probe served", 5*time.Second, func() bool { return s1.served()+s2.served() > before })
		var got []string
		for i := 0; i < 6; i++ {
			got = append(got, hello(t, addr))
		}
		return strings.Join(got, " ")
	}
	// The readiness probe took one turn, so the sequence starts anywhere:
	// it must alternate, and match haproxy's exactly.
	got := run(haloBin)
	if got != "s1 s2 s1 s2 s1 s2" && got != "s2 s1 s2 s1 s2 s1" {
		t.Errorf("halo round robin: %s", got)
	}
	if hp, err := exec.LookPath("haproxy"); err == nil {
		if hg := run(hp); hg != got {
			t.Errorf("haproxy gives %q, halo %q", hg, got)
		}
	}
}

func TestWeights(t *testing.T) {
	s1, s2 := startBackend(t, "s1", false), startBackend(t, "s2", false)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, listenCfg(port, "roundrobin", "server s1 "+s1.addr+" weight 3", "server s2 "+s2.addr+" weight 1"), addr)
	// Smooth weighted round robin gives s1 s1 s2 s1 | s1 s1 s2 s1 ...: 30
	// of 40 picks go to s1. The readiness probe's session makes one pick
	// of its own, which may land among the test's on a busy machine, so
	// one pick either way is allowed (2:1 would give 27).
	count := map[string]int{}
	for i := 0; i < 40; i++ {
		count[hello(t, addr)]++
	}
	if count["s1"] < 29 || count["s1"] > 31 || count["s1"]+count["s2"] != 40 {
		t.Errorf("weights 3:1 over 40 connections: %v", count)
	}
}

func TestLeastConnHeld(t *testing.T) {
	needSocat(t)
	s1, s2 := startBackend(t, "s1", true), startBackend(t, "s2", true)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	sock := t.TempDir() + "/admin.sock"
	cfg := "global\n    stats socket " + sock + " level admin\n" +
		listenCfg(port, "leastconn", "server s1 "+s1.addr, "server s2 "+s2.addr)
	startHalo(t, cfg, addr)
	// halo's own count of a server's sessions is what leastconn reads; the
	// backend seeing its side closed comes a moment before halo releases
	// the slot, so wait on halo's count (scur), not on the backend's.
	idle := func(names ...string) func() bool {
		return func() bool {
			rows := statRows(t, sock)
			for _, n := range names {
				if rows["app/"+n]["scur"] != "0" {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, "the readiness probe's session released", 5*time.Second, idle("s1", "s2"))
	a, na := holdConn(t, addr)
	_, nb := holdConn(t, addr)
	if na == nb {
		t.Fatalf("two held connections went to the same server %s", na)
	}
	a.Close()
	waitFor(t, "first connection released", 5*time.Second, idle(na))
	if _, nc := holdConn(t, addr); nc != na {
		t.Errorf("leastconn sent the new connection to %s, want the idle %s", nc, na)
	}
}

func TestHealthDownUpAndBackup(t *testing.T) {
	s1 := startBackend(t, "s1", false)
	bk := startBackend(t, "bk", false)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h := startHalo(t, listenCfg(port, "roundrobin",
		"server s1 "+s1.addr+" check inter 50 rise 2 fall 2",
		"server bk "+bk.addr+" check inter 50 backup"), addr)
	if got := hello(t, addr); got != "s1" {
		t.Fatalf("active server should serve, got %q", got)
	}
	s1Addr := s1.addr
	s1.stop()
	waitFor(t, "s1 DOWN on stderr", 10*time.Second, func() bool {
		return strings.Contains(h.stderr.String(), "Server app/s1 is DOWN, reason: Layer4 connection problem")
	})
	if !strings.Contains(h.stderr.String(), "0 active and 1 backup servers left") {
		t.Errorf("stderr lacks the DOWN details:\n%s", h.stderr.String())
	}
	if got := hello(t, addr); got != "bk" {
		t.Errorf("backup should take over, got %q", got)
	}
	startBackendAt(t, "s1", s1Addr, false)
	waitFor(t, "s1 UP on stderr", 10*time.Second, func() bool {
		return strings.Contains(h.stderr.String(), "Server app/s1 is UP")
	})
	if got := hello(t, addr); got != "s1" {
		t.Errorf("s1 should serve again, got %q", got)
	}
}

func TestNoServerClosesClient(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dead := closedPort(t)
	h := startHalo(t, listenCfg(port, "roundrobin", fmt.Sprintf("server s1 127.0.0.1:%d check inter 50", dead)), addr)
	waitFor(t, "no server alert", 10*time.Second, func() bool {
		return strings.Contains(h.stderr.String(), "backend 'app' has no server available!")
	})
	if got := hello(t, addr); got != "" {
		t.Errorf("got %q from a backend with no server", got)
	}
}

func TestRetriesRedispatch(t *testing.T) {
	s2 := startBackend(t, "s2", false)
	dead := closedPort(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := listenCfg(port, "roundrobin", fmt.Sprintf("server s1 127.0.0.1:%d", dead), "server s2 "+s2.addr) +
		"    retries 2\n    option redispatch\n    timeout connect 200\n"
	startHalo(t, cfg, addr)
	for i := 0; i < 4; i++ {
		if got := hello(t, addr); got != "s2" {
			t.Errorf("connection %d: got %q, want s2 after redispatch", i, got)
		}
	}
}

func TestMaxconnQueue(t *testing.T) {
	s1 := startBackend(t, "s1", true)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, listenCfg(port, "roundrobin", "server s1 "+s1.addr+" maxconn 1")+"    timeout queue 300\n", addr)
	first, name := holdConn(t, addr)
	if name != "s1" {
		t.Fatalf("first: %q", name)
	}
	// The second connection waits in the queue and is dropped after timeout queue.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if line != "" || err == nil {
		t.Errorf("queued connection got %q, %v; want closed after timeout queue", line, err)
	}
	// A queued connection is served as soon as the slot frees.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	time.Sleep(50 * time.Millisecond)
	first.Close()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, _ := bufio.NewReader(c2).ReadString('\n'); strings.TrimSpace(l) != "s1" {
		t.Errorf("dequeued connection got %q", l)
	}
}

func TestClientTimeout(t *testing.T) {
	s1 := startBackend(t, "s1", true)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := strings.Replace(listenCfg(port, "roundrobin", "server s1 "+s1.addr), "timeout client 10s", "timeout client 300ms", 1)
	startHalo(t, cfg, addr)
	c, _ := holdConn(t, addr)
	c.SetReadDeadline(time.Now().Add(8 * time.Second))
	start := time.Now()
	_, err := c.Read(make([]byte, 1))
	if err == nil {
		t.Fatal("idle connection was not closed")
	}
	if time.Since(start) > 7*time.Second {
		t.Errorf("idle connection closed only by the test's deadline: %v", err)
	}
}

func TestHalfClose(t *testing.T) {
	// An echo server that answers after the client's FIN.
	echo := tcpServer(t, func(c net.Conn) {
		data, _ := io.ReadAll(c)
		c.Write([]byte(strings.ToUpper(string(data))))
	})
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, listenCfg(port, "roundrobin", "server s1 "+echo), addr)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello after fin"))
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, _ := io.ReadAll(c)
	if string(got) != "HELLO AFTER FIN" {
		t.Errorf("half-closed exchange got %q", got)
	}
}

func TestSoftReloadNoRefusedConnections(t *testing.T) {
	s1 := startBackend(t, "s1", false)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := listenCfg(port, "roundrobin", "server s1 "+s1.addr)
	old := startHalo(t, cfg, addr)
	stop := make(chan struct{})
	type result struct {
		ok, failed int
		why        []string
	}
	res := make(chan result)
	go func() {
		var r result
		fail := func(why string) {
			r.failed++
			if len(r.why) < 5 {
				r.why = append(r.why, why)
			}
		}
		for {
			select {
			case <-stop:
				res <- r
				return
			default:
			}
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				fail("dial: " + err.Error())
				continue
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.TrimSpace(line) == "s1" {
				r.ok++
			} else {
				fail(fmt.Sprintf("read %q: %v", line, err))
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	startHalo(t, cfg, addr, "-sf", strconv.Itoa(old.cmd.Process.Pid))
	old.wait(t, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	r := <-res
	if r.failed != 0 || r.ok == 0 {
		t.Errorf("during -sf reload: %d ok, %d failed connections: %q", r.ok, r.failed, r.why)
	}
	t.Logf("reload: %d connections served, %d failed", r.ok, r.failed)
}

func TestSIGUSR1Drains(t *testing.T) {
	s1 := startBackend(t, "s1", true)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h := startHalo(t, listenCfg(port, "roundrobin", "server s1 "+s1.addr), addr)
	c, _ := holdConn(t, addr)
	h.signal(syscall.SIGUSR1)
	waitFor(t, "listener closed", 5*time.Second, func() bool {
		x, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			x.Close()
			return false
		}
		return true
	})
	if _, err := c.Write([]byte("still here\n")); err != nil {
		t.Errorf("existing session broken by soft stop: %v", err)
	}
	select {
	case <-h.done:
		t.Fatal("process exited while a session was open")
	case <-time.After(300 * time.Millisecond):
	}
	c.Close()
	h.wait(t, 10*time.Second)
	if h.err != nil {
		t.Errorf("exit status after soft stop: %v", h.err)
	}
}

func TestFdInheritance(t *testing.T) {
	s1 := startBackend(t, "s1", false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the child keeps its own copy
	cfg := defaults + "listen app\n    bind \"fd@${APP_FD}\"\n    server s1 " + s1.addr + "\n"
	startProc(t, haloBin, addr, []*os.File{f}, []string{"APP_FD=3"}, "-db", "-f", writeConfig(t, cfg))
	f.Close()
	if got := hello(t, addr); got != "s1" {
		t.Errorf("through fd@ listener got %q", got)
	}
}

func TestDaemonPidfile(t *testing.T) {
	s1 := startBackend(t, "s1", false)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	pidfile := t.TempDir() + "/halo.pid"
	out, err := exec.Command(haloBin, "-D", "-p", pidfile, "-f", writeConfig(t, listenCfg(port, "roundrobin", "server s1 "+s1.addr))).CombinedOutput()
	if err != nil {
		t.Fatalf("halo -D: %v\n%s", err, out)
	}
	data, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pid <= 0 {
		t.Fatalf("bad pid file %q", data)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	if got := hello(t, addr); got != "s1" {
		t.Errorf("daemon serves %q", got)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	waitFor(t, "daemon exit", 5*time.Second, func() bool { return syscall.Kill(pid, 0) != nil })
}

func TestIPv6AndFreebind(t *testing.T) {
	s1 := startBackend(t, "s1", false)
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback here")
	} else {
		ln.Close()
	}
	p6, pf := freePort(t), freePort(t)
	// 198.51.100.7 is a documentation address that is not configured on
	// this machine: only freebind lets halo bind it (no traffic is sent).
	cfg := defaults + fmt.Sprintf("listen v6\n    bind [::1]:%d\n    server s1 %s\nlisten vip\n    bind 198.51.100.7:%d freebind\n    server s1 %s\n", p6, s1.addr, pf, s1.addr)
	addr6 := fmt.Sprintf("[::1]:%d", p6)
	startHalo(t, cfg, addr6)
	if got := hello(t, addr6); got != "s1" {
		t.Errorf("over IPv6 got %q", got)
	}
	// Without freebind the same bind fails with a clear error.
	bad := strings.Replace(cfg, " freebind", "", 1)
	out, err := exec.Command(haloBin, "-db", "-f", writeConfig(t, bad)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cannot bind socket") || !strings.Contains(string(out), "198.51.100.7") {
		t.Errorf("bind of a foreign address without freebind: %v\n%s", err, out)
	}
}

func TestServerTimeout(t *testing.T) {
	// A server that accepts and then says nothing.
	silent := tcpServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := strings.Replace(listenCfg(port, "roundrobin", "server s1 "+silent), "timeout server 10s", "timeout server 300ms", 1)
	startHalo(t, cfg, addr)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(8 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("expected the session to be closed")
	}
	if time.Since(start) > 7*time.Second {
		t.Error("session was not closed by timeout server")
	}
}
