package vrrp_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReload: SIGHUP keeps VIPs that stay configured (never removed, no
// state change) and applies added and removed ones.
func TestReload(t *testing.T) {
	t.Parallel()
	l := newLab(t, 1)
	p := l.halo("n1", inst{prio: 100, vip: "192.0.2.100/24"}.conf())
	l.waitVIP("n1", vip, 10*time.Second)
	conf := filepath.Join(l.dir, "n1.conf")
	lost := make(chan bool, 1)
	stop := make(chan struct{})
	go func() {
		gone := false
		for {
			select {
			case <-stop:
				lost <- gone
				return
			default:
			}
			if !l.hasAddr("n1", vip) {
				gone = true
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	os.WriteFile(conf, []byte(inst{prio: 100, vip: "192.0.2.100/24\n        192.0.2.101/24"}.conf()), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	l.waitVIP("n1", "192.0.2.101", 5*time.Second)
	close(stop)
	if <-lost {
		t.Errorf("VIP %s disappeared during a reload that kept it", vip)
	}
	if strings.Count(p.Log(), "Entering MASTER STATE") != 1 {
		t.Errorf("reload changed state:\n%s", p.Log())
	}
	os.WriteFile(conf, []byte(inst{prio: 100, vip: "192.0.2.101/24"}.conf()), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, "removed VIP released", func() bool { return !l.hasAddr("n1", vip) })
	if !l.hasAddr("n1", "192.0.2.101") {
		t.Fatal("kept VIP lost")
	}
	// A broken file keeps the running configuration.
	os.WriteFile(conf, []byte("vrrp_instance {\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, "reload error logged", func() bool { return strings.Contains(p.Log(), "keeping the running configuration") })
	if !l.hasAddr("n1", "192.0.2.101") {
		t.Fatal("VIP lost after a failed reload")
	}
}
