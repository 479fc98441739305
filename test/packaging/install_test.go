package packaging

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// installAndStart installs the package with dpkg on this machine (CI
// runs as root on a fresh Debian), so that postinst really creates the
// service user, then runs halo.service the way systemd would: the
// RuntimeDirectory owned by User=, ExecStartPre and ExecStart with the
// unit's exact arguments and environment, as the unit's user, with
// NOTIFY_SOCKET pointing at a listener of the test. It checks that halo
// serves, that systemd is told READY, RELOADING (with MONOTONIC_USEC)
// and STOPPING, and that ExecReload works. The package, the user postinst
// created and /run/halo are removed afterwards.
func installAndStart(t *testing.T, deb string) {
	if os.Geteuid() != 0 {
		t.Skip("installing the package needs root (CI runs as root)")
	}
	need(t, "dpkg", "setpriv", "getent")
	t.Cleanup(lockFile(t, "/tmp/halo-test-dpkg.lock")) // one installation at a time on this machine, until cleaned up
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "halo").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skip("a halo package is installed on this machine; not replacing it")
	}
	userExisted := exec.Command("getent", "passwd", "halo").Run() == nil
	groupExisted := exec.Command("getent", "group", "halo").Run() == nil
	t.Cleanup(func() {
		dpkg(t, "--purge", "halo")
		os.RemoveAll("/run/halo")
		if !userExisted {
			exec.Command("userdel", "halo").Run()
		}
		if !groupExisted {
			exec.Command("groupdel", "halo").Run()
		}
		if _, err := os.Stat("/etc/halo"); err == nil {
			t.Errorf("/etc/halo is left after purge")
		}
	})
	dpkg(t, "-i", deb)
	u, err := user.Lookup("halo")
	if err != nil {
		t.Fatalf("postinst did not create the halo user: %v", err)
	}
	unit := parseUnit(t, "/lib/systemd/system/halo.service")
	if unit.user != "halo" || unit.group != "halo" || unit.runtimeDir != "halo" {
		t.Fatalf("unit runs as %s:%s with RuntimeDirectory=%s", unit.user, unit.group, unit.runtimeDir)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// RuntimeDirectory=halo: systemd creates /run/halo owned by User=.
	if err := os.MkdirAll("/run/halo", 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown("/run/halo", uid, gid)
	// The default configuration listens on 8080 and 8404, as the guide's
	// seed configuration does in test/integration: take turns.
	t.Cleanup(lockFile(t, "/tmp/halo-test-port-8404.lock"))
	for _, port := range []string{"127.0.0.1:8080", "127.0.0.1:8404"} {
		waitFree(t, port)
	}
	asUser := func(argv []string, env []string) *exec.Cmd {
		args := append([]string{"--reuid=" + u.Uid, "--regid=" + u.Gid, "--init-groups", "--"}, argv...)
		cmd := exec.Command("setpriv", args...)
		cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
		return cmd
	}
	for _, pre := range unit.execStartPre {
		if out, err := asUser(unit.expand(pre), nil).CombinedOutput(); err != nil {
			t.Fatalf("ExecStartPre %v: %v\n%s", unit.expand(pre), err, out)
		}
	}
	notify := newNotifyListener(t, uid)
	argv := unit.expand(unit.execStart)
	if argv[0] != "/usr/sbin/halo" || !strings.Contains(strings.Join(argv, " "), "-p /run/halo/halo.pid") {
		t.Errorf("ExecStart expands to %v", argv)
	}
	master := asUser(argv, []string{"NOTIFY_SOCKET=" + notify.path})
	var out syncBuf
	master.Stdout, master.Stderr = &out, &out
	if err := master.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- master.Wait() }()
	defer func() {
		master.Process.Kill()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		if t.Failed() {
			t.Logf("halo output:\n%s", out.String())
		}
	}()
	ready := notify.wait(t, "READY=1", 20*time.Second)
	if !strings.Contains(ready, fmt.Sprintf("MAINPID=%d", master.Process.Pid)) {
		t.Errorf("READY message %q does not name the master %d", ready, master.Process.Pid)
	}
	pid, err := os.ReadFile("/run/halo/halo.pid")
	if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(master.Process.Pid) {
		t.Errorf("pid file: %q %v", pid, err)
	}
	if st, err := os.Stat("/run/halo/halo.pid"); err == nil && st.Sys().(*syscall.Stat_t).Uid != uint32(uid) {
		t.Errorf("pid file owned by uid %d", st.Sys().(*syscall.Stat_t).Uid)
	}
	// The installed default configuration serves: monitor-uri, the stats
	// page, Prometheus and the admin socket in the RuntimeDirectory.
	for _, url := range []string{"http://127.0.0.1:8080/healthz", "http://127.0.0.1:8404/stats", "http://127.0.0.1:8404/metrics"} {
		resp, err := http.Get(url)
		if err != nil {
			t.Errorf("GET %s: %v", url, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("GET %s: %d %q", url, resp.StatusCode, body)
		}
	}
	if info := unixCommand(t, "/run/halo/admin.sock", "show info"); !strings.HasPrefix(info, "Name: halo\n") {
		t.Errorf("admin socket: %q", info)
	}
	// ExecReload: the check first, then SIGUSR2 to $MAINPID.
	unit.env["MAINPID"] = strconv.Itoa(master.Process.Pid)
	for _, r := range unit.execReload {
		if out, err := asUser(unit.expand(r), nil).CombinedOutput(); err != nil {
			t.Fatalf("ExecReload %v: %v\n%s", unit.expand(r), err, out)
		}
	}
	reloading := notify.wait(t, "RELOADING=1", 20*time.Second)
	if !strings.Contains(reloading, "MONOTONIC_USEC=") {
		t.Errorf("RELOADING message without MONOTONIC_USEC: %q", reloading)
	}
	notify.wait(t, "READY=1", 20*time.Second)
	if resp, err := http.Get("http://127.0.0.1:8080/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("after reload: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// systemctl stop: SIGTERM to the main process (KillMode=mixed).
	master.Process.Signal(syscall.SIGTERM)
	notify.wait(t, "STOPPING=1", 20*time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("halo exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("halo did not stop")
	}
}

func dpkg(t *testing.T, args ...string) {
	t.Helper()
	var out []byte
	var err error
	for i := 0; i < 60; i++ {
		out, err = exec.Command("dpkg", args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "lock") {
			break
		}
		time.Sleep(2 * time.Second) // another dpkg (apt) holds the lock
	}
	if err != nil {
		t.Errorf("dpkg %v: %v\n%s", args, err, out)
	}
}

// lockFile takes an exclusive flock on path.
func lockFile(t *testing.T, path string) func() {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
}

// waitFree waits for a port of the default configuration to be free
// (another test may be using it for a moment).
func waitFree(t *testing.T, addr string) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Skipf("%s stays in use; the installed configuration listens there", addr)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func unixCommand(t *testing.T, path, cmd string) string {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return ""
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, cmd+"\n")
	b, _ := io.ReadAll(c)
	return string(b)
}

// unit is the part of a systemd service file the test runs.
type unit struct {
	env                      map[string]string
	execStartPre, execReload []string
	execStart                string
	user, group, runtimeDir  string
}

// parseUnit reads a service file and its EnvironmentFile as systemd does
// for Environment=, EnvironmentFile=[-]path, Exec*=, User=, Group= and
// RuntimeDirectory=.
func parseUnit(t *testing.T, path string) *unit {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := &unit{env: map[string]string{}}
	var envFiles []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch k {
		case "Environment":
			for _, w := range splitQuoted(v) {
				if n, val, ok := strings.Cut(w, "="); ok {
					u.env[n] = val
				}
			}
		case "EnvironmentFile":
			envFiles = append(envFiles, v)
		case "ExecStartPre":
			u.execStartPre = append(u.execStartPre, v)
		case "ExecStart":
			u.execStart = v
		case "ExecReload":
			u.execReload = append(u.execReload, v)
		case "User":
			u.user = v
		case "Group":
			u.group = v
		case "RuntimeDirectory":
			u.runtimeDir = v
		}
	}
	// Environment files are read after Environment= lines and override them.
	for _, ef := range envFiles {
		optional := strings.HasPrefix(ef, "-")
		data, err := os.ReadFile(strings.TrimPrefix(ef, "-"))
		if err != nil {
			if !optional {
				t.Fatalf("EnvironmentFile %s: %v", ef, err)
			}
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || l[0] == '#' || l[0] == ';' {
				continue
			}
			if n, val, ok := strings.Cut(l, "="); ok {
				u.env[strings.TrimSpace(n)] = strings.Trim(strings.TrimSpace(val), `"'`)
			}
		}
	}
	return u
}

// splitQuoted splits on spaces outside double quotes and drops the quotes.
func splitQuoted(s string) []string {
	var out []string
	var b strings.Builder
	in, has := false, false
	for _, r := range s {
		switch {
		case r == '"':
			in, has = !in, true
		case r == ' ' && !in:
			if has || b.Len() > 0 {
				out = append(out, b.String())
			}
			b.Reset()
			has = false
		default:
			b.WriteRune(r)
		}
	}
	if has || b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// expand turns an Exec line into argv as systemd does: "$VAR" alone is
// split into words (an empty variable gives none), "${VAR}" is one word.
func (u *unit) expand(line string) []string {
	var argv []string
	for _, w := range splitQuoted(line) {
		switch {
		case strings.HasPrefix(w, "${") && strings.HasSuffix(w, "}"):
			argv = append(argv, u.env[w[2:len(w)-1]])
		case strings.HasPrefix(w, "$") && !strings.ContainsAny(w[1:], "$/ "):
			argv = append(argv, strings.Fields(u.env[w[1:]])...)
		default:
			argv = append(argv, w)
		}
	}
	return argv
}

// notifyListener is the sd_notify(3) socket systemd would listen on.
type notifyListener struct {
	path string
	mu   sync.Mutex
	msgs []string
	seen int
}

func newNotifyListener(t *testing.T, uid int) *notifyListener {
	dir, err := os.MkdirTemp("", "halo-notify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the service user must reach the socket
	n := &notifyListener{path: filepath.Join(dir, "notify.sock")}
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chown(n.path, uid, -1)
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

// wait returns the next message (after those already returned) with
// the given line.
func (n *notifyListener) wait(t *testing.T, line string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		n.mu.Lock()
		for i := n.seen; i < len(n.msgs); i++ {
			for _, l := range strings.Split(n.msgs[i], "\n") {
				if l == line {
					n.seen = i + 1
					m := n.msgs[i]
					n.mu.Unlock()
					return m
				}
			}
		}
		n.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t.Fatalf("no %q from halo within %v; received %q", line, limit, n.msgs)
	return ""
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
