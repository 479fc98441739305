// Package integration runs the halo binary as a subprocess against real
// TCP servers on 127.0.0.1 (and the real haproxy side by side when it is
// installed).
package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var haloBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "halo-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	haloBin = filepath.Join(dir, "halo")
	out, err := exec.Command("go", "build", "-o", haloBin, "../../cmd/halo").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building halo: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// backend is a TCP server that writes its name to every client, then
// keeps the connection open until the client closes it (hold) or closes
// it at once.
type backend struct {
	name  string
	ln    net.Listener
	addr  string
	hold  bool
	mu    sync.Mutex
	open  int
	total int
}

// active is the number of connections open now.
func (b *backend) active() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

func (b *backend) served() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

func startBackend(t *testing.T, name string, hold bool) *backend {
	t.Helper()
	return startBackendAt(t, name, "127.0.0.1:0", hold)
}

func startBackendAt(t *testing.T, name, addr string, hold bool) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return serveBackend(t, name, ln, hold)
}

// serveBackend runs the backend behaviour on an open listener.
func serveBackend(t *testing.T, name string, ln net.Listener, hold bool) *backend {
	b := &backend{name: name, ln: ln, addr: ln.Addr().String(), hold: hold}
	t.Cleanup(b.stop)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b.mu.Lock()
				b.open++
				b.total++
				b.mu.Unlock()
				defer func() { b.mu.Lock(); b.open--; b.mu.Unlock() }()
				io.WriteString(c, b.name+"\n")
				if b.hold {
					io.Copy(io.Discard, c)
				}
			}()
		}
	}()
	return b
}

func (b *backend) stop() { b.ln.Close() }

func (b *backend) port() int { return b.ln.Addr().(*net.TCPAddr).Port }

// halo is a running halo (or haproxy) process.
type halo struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "halo.cfg")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// startProc runs bin with args and waits until addr accepts connections.
func startProc(t *testing.T, bin string, addr string, extra []*os.File, env []string, args ...string) *halo {
	t.Helper()
	return startProcIn(t, "", bin, addr, extra, env, args...)
}

// startProcIn is startProc with dir as the working directory.
func startProcIn(t *testing.T, dir, bin string, addr string, extra []*os.File, env []string, args ...string) *halo {
	t.Helper()
	h := &halo{stderr: &syncBuffer{}, done: make(chan struct{})}
	h.cmd = exec.Command(bin, args...)
	h.cmd.Dir = dir
	h.cmd.Stderr = h.stderr
	h.cmd.Stdout = h.stderr
	h.cmd.ExtraFiles = extra
	h.cmd.Env = append(os.Environ(), env...)
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.err = h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		<-h.done
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), h.stderr.String())
		}
	})
	if addr != "" {
		waitListening(t, addr, h)
	}
	return h
}

func startHalo(t *testing.T, cfgText, addr string, args ...string) *halo {
	t.Helper()
	f := writeConfig(t, cfgText)
	return startProc(t, haloBin, addr, nil, nil, append([]string{"-db", "-f", f}, args...)...)
}

func waitListening(t *testing.T, addr string, h *halo) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-h.done:
			t.Fatalf("process exited early: %v\n%s", h.err, h.stderr.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s\n%s", addr, h.stderr.String())
}

// waitFor polls cond until it is true or the time limit passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// hello connects, reads the backend's name line and closes.
func hello(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// holdConn connects and reads the name, keeping the connection open.
func holdConn(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.SetReadDeadline(time.Time{})
	return c, strings.TrimSpace(line)
}

func (h *halo) signal(s syscall.Signal) { h.cmd.Process.Signal(s) }

func (h *halo) wait(t *testing.T, limit time.Duration) {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(limit):
		t.Fatalf("process did not exit within %v", limit)
	}
}

const defaults = `defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
`

// tcpServer runs a TCP server on 127.0.0.1 that calls handle for each
// connection (and closes it afterwards); it returns the address.
func tcpServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// closedPort returns a port of 127.0.0.1 where connections are refused
// for the whole test: a socket is bound to it without listening, so that
// no other process (tests of other packages run meanwhile) can take it,
// as could happen to a port freePort found free.
func closedPort(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}
