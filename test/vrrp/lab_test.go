// Package vrrp_test runs halo-vrrp (and keepalived) in network namespaces
// the tests create: election, failover, tracking and keepalived interop.
// It needs root and `ip netns`; otherwise every test is skipped.
package vrrp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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

var (
	haloBin    string
	skipReason string
)

func TestMain(m *testing.M) {
	// Helper mode: a TCP listener standing in for the proxy (track_halo tests).
	if addr := os.Getenv("HALO_VRRP_TEST_LISTEN"); addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(1)
			}
			c.Close()
		}
	}
	if spec := os.Getenv("HALO_VRRP_TEST_PING"); spec != "" {
		os.Exit(pingMain(spec))
	}
	os.Exit(func() int {
		if os.Geteuid() != 0 {
			skipReason = "namespace tests need root"
		} else if err := exec.Command("ip", "netns", "list").Run(); err != nil {
			skipReason = "ip netns unavailable: " + err.Error()
		}
		if skipReason == "" {
			dir, err := os.MkdirTemp("", "halo-vrrp-test")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			haloBin = filepath.Join(dir, "halo-vrrp")
			out, err := exec.Command("go", "build", "-o", haloBin, "github.com/halo-lb/halo/cmd/halo-vrrp").CombinedOutput()
			if err != nil {
				fmt.Fprintf(os.Stderr, "build halo-vrrp: %v\n%s", err, out)
				return 1
			}
		}
		return m.Run()
	}())
}

// lab is a bridge namespace with node namespaces n1..nN (eth0 192.0.2.1N/24,
// 2001:db8::1N/64) and a client namespace c (192.0.2.50, 2001:db8::50).
type lab struct {
	t      *testing.T
	prefix string
	dir    string
	mu     sync.Mutex
	procs  []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
	mu   *sync.Mutex
}

func (p *proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(b)
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newLab(t *testing.T, nodes int) *lab {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	rb := make([]byte, 3)
	rand.Read(rb)
	l := &lab{t: t, prefix: "hv" + hex.EncodeToString(rb), dir: t.TempDir()}
	t.Cleanup(l.cleanup)
	sw := l.ns("sw")
	run(t, "ip", "netns", "add", sw)
	run(t, "ip", "-n", sw, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", sw, "link", "set", "br0", "up")
	add := func(name, v4, v6 string) {
		ns := l.ns(name)
		run(t, "ip", "netns", "add", ns)
		run(t, "ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "p"+name, "netns", sw)
		run(t, "ip", "-n", sw, "link", "set", "p"+name, "master", "br0", "up")
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
		run(t, "ip", "-n", ns, "addr", "add", v4+"/24", "dev", "eth0")
		run(t, "ip", "-n", ns, "addr", "add", v6+"/64", "dev", "eth0", "nodad")
		run(t, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1")
	}
	for i := 1; i <= nodes; i++ {
		add(fmt.Sprintf("n%d", i), fmt.Sprintf("192.0.2.1%d", i), fmt.Sprintf("2001:db8::1%d", i))
	}
	add("c", "192.0.2.50", "2001:db8::50")
	// Wait for IPv6 link-local addresses (needed by VRRPv3 over IPv6).
	for i := 1; i <= nodes; i++ {
		ns := l.ns(fmt.Sprintf("n%d", i))
		waitFor(t, 5*time.Second, "link-local address in "+ns, func() bool {
			out, _ := exec.Command("ip", "-n", ns, "-6", "addr", "show", "dev", "eth0", "scope", "link").Output()
			return strings.Contains(string(out), "fe80") && !strings.Contains(string(out), "tentative")
		})
	}
	return l
}

func (l *lab) ns(name string) string { return l.prefix + name }

func (l *lab) cleanup() {
	l.mu.Lock()
	procs := l.procs
	l.mu.Unlock()
	for _, p := range procs {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
	}
	if l.t.Failed() {
		for _, p := range procs {
			l.t.Logf("---- %s log ----\n%s", p.name, p.Log())
		}
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], l.prefix) {
			_ = exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

func (l *lab) start(name, node string, args ...string) *proc {
	l.t.Helper()
	full := append([]string{"netns", "exec", l.ns(node)}, args...)
	cmd := exec.Command("ip", full...)
	p := &proc{name: name, cmd: cmd, log: &bytes.Buffer{}, done: make(chan struct{}), mu: &sync.Mutex{}}
	cmd.Stdout = lockedWriter{p.mu, p.log}
	cmd.Stderr = lockedWriter{p.mu, p.log}
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	return p
}

// halo starts halo-vrrp on node with conf.
func (l *lab) halo(node, conf string) *proc {
	l.t.Helper()
	f := filepath.Join(l.dir, node+".conf")
	if err := os.WriteFile(f, []byte(conf), 0o600); err != nil {
		l.t.Fatal(err)
	}
	return l.start("halo-vrrp "+node, node, haloBin, "-n", "-l", "-G", "-D", "-f", f)
}

// keepalived starts the real keepalived on node with conf.
func (l *lab) keepalived(node, conf string) *proc {
	l.t.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		l.t.Skip("keepalived not installed")
	}
	f := filepath.Join(l.dir, node+".ka.conf")
	if err := os.WriteFile(f, []byte(conf), 0o600); err != nil {
		l.t.Fatal(err)
	}
	return l.start("keepalived "+node, node, "keepalived", "-n", "-l", "-D", "-G", "-P", "-f", f,
		"-p", filepath.Join(l.dir, node+".pid"), "-r", filepath.Join(l.dir, node+".vrrp.pid"))
}

// kill sends sig to the daemon inside the namespace (the child of "ip netns exec",
// which execs, so the pid is the daemon's) and, for keepalived's SIGKILL,
// to its VRRP child too.
func (l *lab) kill(p *proc, sig syscall.Signal, node string) {
	if strings.HasPrefix(p.name, "keepalived") && sig == syscall.SIGKILL {
		if b, err := os.ReadFile(filepath.Join(l.dir, node+".vrrp.pid")); err == nil {
			var pid int
			fmt.Sscan(string(b), &pid)
			if pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_ = p.cmd.Process.Signal(sig)
}

func (p *proc) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("%s did not exit within %v", p.name, d)
	}
}

func (l *lab) hasAddr(node, addr string) bool {
	out, err := exec.Command("ip", "-n", l.ns(node), "-o", "addr", "show", "dev", "eth0").Output()
	if err != nil {
		return false
	}
	return strings.Contains(string(out), " "+addr+"/")
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *lab) waitVIP(node, vip string, d time.Duration) {
	l.t.Helper()
	waitFor(l.t, d, vip+" on "+node, func() bool { return l.hasAddr(node, vip) })
}

func (l *lab) holders(vip string, nodes ...string) []string {
	var h []string
	for _, n := range nodes {
		if l.hasAddr(n, vip) {
			h = append(h, n)
		}
	}
	return h
}

// watch polls every 50 ms which nodes hold vip until stop is called and
// reports the longest run of polls with two or more holders.
type watcher struct {
	stop    context.CancelFunc
	done    chan struct{}
	maxDual int
	samples int
}

func (l *lab) watch(vip string, nodes ...string) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		run := 0
		for ctx.Err() == nil {
			if len(l.holders(vip, nodes...)) > 1 {
				run++
				w.maxDual = max(w.maxDual, run)
			} else {
				run = 0
			}
			w.samples++
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return w
}

// end stops the watcher and fails if two nodes held the VIP in two or more
// consecutive polls (a handover may overlap by a few milliseconds).
func (w *watcher) end(t *testing.T) {
	t.Helper()
	w.stop()
	<-w.done
	if w.maxDual >= 2 {
		t.Errorf("two masters held the VIP for %d consecutive polls (50 ms apart)", w.maxDual)
	}
	if w.samples < 1 {
		t.Errorf("watcher took only %d samples", w.samples)
	}
}

type inst struct {
	state   string
	prio    int
	version int
	advert  string
	vip     string
	extra   string // more instance lines
	global  string // more global_defs lines
	top     string // more top-level blocks
}

func (i inst) conf() string {
	if i.state == "" {
		i.state = "BACKUP"
	}
	if i.version == 0 {
		i.version = 3
	}
	if i.advert == "" {
		i.advert = "0.1"
	}
	if i.vip == "" {
		i.vip = "192.0.2.100/24"
	}
	return fmt.Sprintf(`global_defs {
    vrrp_version %d
    script_user root
    enable_script_security
    vrrp_garp_master_delay 1
%s
}
%s
vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int %s
    virtual_ipaddress {
        %s
    }
%s
}
`, i.version, i.global, i.top, i.state, i.prio, i.advert, i.vip, i.extra)
}
