package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// CheckKind selects how a Check probes.
type CheckKind int

// Check kinds.
const (
	CheckScript  CheckKind = iota // vrrp_script: run a command, exit 0 = OK
	CheckHalo                     // track_halo: TCP connect to the local proxy's frontends
	CheckProcess                  // vrrp_track_process: a process name in /proc
)

// Check is a tracked object that goes up and down (vrrp_script,
// vrrp_track_process, track_halo).
type Check struct {
	Name     string
	Kind     CheckKind
	Argv     []string // CheckScript
	Addrs    []string // CheckHalo: host:port each must accept a TCP connection
	Process  string   // CheckProcess: process name (comm) or full path
	Quorum   int      // CheckProcess: minimum number of processes (default 1)
	Interval time.Duration
	Timeout  time.Duration // 0: Interval
	Rise     int           // consecutive successes to go up (default 1)
	Fall     int           // consecutive failures to go down (default 1)
	Weight   int
	Reverse  bool
	InitFail bool
	// Cred runs the script as another user (script_user / user); nil:
	// halo-vrrp's own user.
	Cred *syscall.Credential
}

// checkEvent reports a Check's state change to the protocol loop.
type checkEvent struct {
	name string
	up   bool
	msg  string
}

// runCheck probes c every Interval until ctx ends, reporting transitions.
// It never blocks the protocol goroutine: events go through a channel and
// a probe in flight is skipped, not queued.
func runCheck(ctx context.Context, c *Check, out chan<- checkEvent) {
	interval := c.Interval
	if interval <= 0 {
		interval = time.Second
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = interval
	}
	rise, fall := max(c.Rise, 1), max(c.Fall, 1)
	up := !c.InitFail
	// keepalived: an init_fail script starts failed and needs rise successes;
	// otherwise it starts OK and needs fall failures.
	n := 0
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, why := probe(ctx, c, timeout)
		if ctx.Err() != nil {
			return
		}
		if ok == up {
			n = 0
		} else {
			n++
			if (ok && n >= rise) || (!ok && n >= fall) {
				up, n = ok, 0
				select {
				case out <- checkEvent{name: c.Name, up: up, msg: why}:
				case <-ctx.Done():
					return
				}
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func probe(ctx context.Context, c *Check, timeout time.Duration) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch c.Kind {
	case CheckScript:
		return runScript(ctx, c.Argv, c.Cred)
	case CheckHalo:
		var d net.Dialer
		for _, a := range c.Addrs {
			conn, err := d.DialContext(ctx, "tcp", a)
			if err != nil {
				return false, fmt.Sprintf("connect %s: %v", a, err)
			}
			conn.Close()
		}
		return true, ""
	case CheckProcess:
		n := countProcesses(c.Process)
		q := max(c.Quorum, 1)
		if n < q {
			return false, fmt.Sprintf("%d processes, quorum %d", n, q)
		}
		return true, ""
	}
	return false, "unknown check"
}

// runScript runs argv in its own process group and kills the whole group
// when ctx expires.
func runScript(ctx context.Context, argv []string, cred *syscall.Credential) (bool, string) {
	if len(argv) == 0 {
		return false, "empty script"
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		return false, err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			return true, ""
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Exited() {
			return false, fmt.Sprintf("exited with status %d", ee.ExitCode())
		}
		return false, err.Error()
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return false, "timed out"
	}
}

// countProcesses counts processes whose comm or executable path equals name.
func countProcesses(name string) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if strings.Contains(name, "/") {
			if p, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && p == name {
				n++
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(b)) == name {
			n++
		}
	}
	return n
}

// runNotify starts a notify command without waiting on the protocol loop.
// A STOP notify is killed after 1 s like keepalived's.
func runNotify(argv []string, cred *syscall.Credential, stop bool, logf func(string, ...any)) {
	if len(argv) == 0 {
		return
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		logf("notify %q: %v", strings.Join(argv, " "), err)
		return
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if stop {
		select {
		case <-done:
		case <-time.After(time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
}
