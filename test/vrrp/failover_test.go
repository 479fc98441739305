package vrrp_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const vip = "192.0.2.100"

func TestElection(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	// Notify scripts get keepalived's arguments.
	script := filepath.Join(l.dir, "notify.sh")
	out := filepath.Join(l.dir, "notify.out")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" >> "+out+"\n"), 0o755)
	notify := func(n string) string {
		return fmt.Sprintf("    notify \"%s %s\"\n    notify_master \"%s %s-master\"", script, n, script, n)
	}
	l.halo("n1", inst{prio: 101, extra: notify("n1")}.conf())
	p2 := l.halo("n2", inst{prio: 102, extra: notify("n2")}.conf())
	l.waitVIP("n2", vip, 10*time.Second)
	w := l.watch(vip, "n1", "n2")
	time.Sleep(time.Second)
	w.end(t)
	if h := l.holders(vip, "n1", "n2"); len(h) != 1 || h[0] != "n2" {
		t.Fatalf("holders %v, want [n2]", h)
	}
	l.kill(p2, syscall.SIGTERM, "n2")
	p2.wait(t, 5*time.Second)
	l.waitVIP("n1", vip, 10*time.Second)
	want := []string{"n1 INSTANCE VI_1 BACKUP 101", "n2 INSTANCE VI_1 BACKUP 102", "n2 INSTANCE VI_1 MASTER 102",
		"n2-master", "n2 INSTANCE VI_1 STOP 102", "n1 INSTANCE VI_1 MASTER 101", "n1-master"}
	waitFor(t, 5*time.Second, "notify calls", func() bool {
		b, _ := os.ReadFile(out)
		for _, w := range want {
			if !strings.Contains(string(b), w+"\n") {
				return false
			}
		}
		return true
	})
}

func TestMasterCrashAndGracefulStop(t *testing.T) {
	for _, mode := range []string{"crash", "graceful"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, 2)
			l.halo("n1", inst{prio: 101}.conf())
			p2 := l.halo("n2", inst{prio: 102}.conf())
			l.waitVIP("n2", vip, 10*time.Second)
			time.Sleep(300 * time.Millisecond)
			w := l.watch(vip, "n1", "n2")
			if mode == "crash" {
				l.kill(p2, syscall.SIGKILL, "n2")
				run(t, "ip", "-n", l.ns("n2"), "link", "set", "eth0", "down")
			} else {
				l.kill(p2, syscall.SIGTERM, "n2")
			}
			l.waitVIP("n1", vip, 10*time.Second)
			if mode == "graceful" {
				p2.wait(t, 5*time.Second)
				if l.hasAddr("n2", vip) {
					t.Fatal("stopped master kept the VIP")
				}
				if !strings.Contains(p2.Log(), "sent 0 priority") {
					t.Fatalf("no priority-0 advert logged:\n%s", p2.Log())
				}
				w.end(t)
			} else {
				w.stop()
			}
		})
	}
}

func TestResidualVIPRemovedAtStart(t *testing.T) {
	t.Parallel()
	l := newLab(t, 1)
	run(t, "ip", "-n", l.ns("n1"), "addr", "add", vip+"/24", "dev", "eth0")
	p := l.halo("n1", inst{prio: 100, extra: "nopreempt"}.conf())
	waitFor(t, 5*time.Second, "residual VIP removal", func() bool { return strings.Contains(p.Log(), "removing VIPs") })
	// Alone, it then becomes master after Master_Down_Interval and re-adds it.
	l.waitVIP("n1", vip, 5*time.Second)
}

func TestTrackScript(t *testing.T) {
	for _, weight := range []int{2, 0} {
		t.Run(fmt.Sprintf("weight %d", weight), func(t *testing.T) {
			t.Parallel()
			l := newLab(t, 2)
			flags := map[string]string{}
			for i, n := range []string{"n1", "n2"} {
				flags[n] = filepath.Join(l.dir, n+".ok")
				os.WriteFile(flags[n], nil, 0o644)
				script := fmt.Sprintf(`vrrp_script chk {
    script "/usr/bin/test -f %s"
    interval 1
    weight %d
}`, flags[n], weight)
				l.halo(n, inst{prio: 101 - i, top: script, extra: "    track_script {\n        chk\n    }"}.conf())
			}
			l.waitVIP("n1", vip, 10*time.Second)
			time.Sleep(300 * time.Millisecond)
			w := l.watch(vip, "n1", "n2")
			os.Remove(flags["n1"])
			l.waitVIP("n2", vip, 10*time.Second)
			waitFor(t, 5*time.Second, "n1 releases the VIP", func() bool { return !l.hasAddr("n1", vip) })
			time.Sleep(300 * time.Millisecond)
			w.end(t)
			// Script recovers: n1 (higher priority, preempt) takes back over.
			os.WriteFile(flags["n1"], nil, 0o644)
			l.waitVIP("n1", vip, 10*time.Second)
			waitFor(t, 5*time.Second, "n2 releases the VIP", func() bool { return !l.hasAddr("n2", vip) })
		})
	}
}

func TestTrackHalo(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	top := `vrrp_track_halo proxy {
    address 127.0.0.1:8080
    interval 0.1
    fall 2
}`
	exe, _ := os.Executable()
	var listeners []*proc
	for _, n := range []string{"n1", "n2"} {
		p := l.start("listener "+n, n, "env", "HALO_VRRP_TEST_LISTEN=127.0.0.1:8080", exe)
		listeners = append(listeners, p)
	}
	time.Sleep(300 * time.Millisecond)
	l.halo("n1", inst{prio: 101, top: top, extra: "    track_halo {\n        proxy\n    }"}.conf())
	l.halo("n2", inst{prio: 100, top: top, extra: "    track_halo {\n        proxy\n    }"}.conf())
	l.waitVIP("n1", vip, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	l.kill(listeners[0], syscall.SIGKILL, "n1")
	l.waitVIP("n2", vip, 10*time.Second)
	waitFor(t, 5*time.Second, "n1 releases the VIP", func() bool { return !l.hasAddr("n1", vip) })
}

func TestNoPreempt(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	l.halo("n2", inst{prio: 100}.conf())
	l.waitVIP("n2", vip, 10*time.Second)
	l.halo("n1", inst{prio: 150, extra: "    nopreempt"}.conf())
	w := l.watch(vip, "n1", "n2")
	time.Sleep(2 * time.Second)
	w.end(t)
	if h := l.holders(vip, "n1", "n2"); len(h) != 1 || h[0] != "n2" {
		t.Fatalf("holders %v: nopreempt backup took over", h)
	}
}

func TestPreemptDelay(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	l.halo("n2", inst{prio: 100}.conf())
	l.waitVIP("n2", vip, 10*time.Second)
	start := time.Now()
	p1 := l.halo("n1", inst{prio: 150, extra: "    preempt_delay 2"}.conf())
	l.waitVIP("n1", vip, 10*time.Second)
	if el := time.Since(start); el < 2*time.Second {
		t.Fatalf("preempted after %v, before preempt_delay 2 s", el)
	}
	if !strings.Contains(p1.Log(), "start preempt delay") {
		t.Fatalf("log:\n%s", p1.Log())
	}
	waitFor(t, 5*time.Second, "n2 releases", func() bool { return !l.hasAddr("n2", vip) })
}

func TestUnicast(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	uc := func(src, peer string) string {
		return fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }", src, peer)
	}
	l.halo("n1", inst{prio: 101, extra: uc("192.0.2.11", "192.0.2.12")}.conf())
	p2 := l.halo("n2", inst{prio: 102, extra: uc("192.0.2.12", "192.0.2.11")}.conf())
	l.waitVIP("n2", vip, 10*time.Second)
	w := l.watch(vip, "n1", "n2")
	time.Sleep(time.Second)
	w.end(t)
	l.kill(p2, syscall.SIGTERM, "n2")
	l.waitVIP("n1", vip, 10*time.Second)
}

func TestIPv6(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	const vip6 = "2001:db8::100"
	l.halo("n1", inst{prio: 101, vip: vip6 + "/64"}.conf())
	p2 := l.halo("n2", inst{prio: 102, vip: vip6 + "/64"}.conf())
	l.waitVIP("n2", vip6, 10*time.Second)
	w := l.watch(vip6, "n1", "n2")
	time.Sleep(time.Second)
	w.end(t)
	cap := l.start("tcpdump", "sw", "tcpdump", "-l", "-n", "-e", "-vv", "-i", "br0", "icmp6 and ip6[40] == 136")
	time.Sleep(500 * time.Millisecond)
	l.kill(p2, syscall.SIGTERM, "n2")
	l.waitVIP("n1", vip6, 10*time.Second)
	// Unsolicited NA from the new master: from the VIP to ff02::1, valid checksum, target = VIP.
	mac := strings.TrimSpace(run(t, "ip", "netns", "exec", l.ns("n1"), "cat", "/sys/class/net/eth0/address"))
	waitFor(t, 5*time.Second, "unsolicited NA from n1", func() bool {
		out := cap.Log()
		return strings.Contains(out, mac+" > 33:33:00:00:00:01") && strings.Contains(out, "tgt is "+vip6) &&
			strings.Contains(out, "override") && strings.Contains(out, "icmp6 sum ok")
	})
	if strings.Contains(cap.Log(), "bad icmp6 cksum") {
		t.Fatalf("NA with a bad checksum:\n%s", cap.Log())
	}
	// The VIP answers from the client namespace.
	waitFor(t, 10*time.Second, "ping6 to the VIP", func() bool {
		return l.pingOnce("c", vip6)
	})
}

func TestPartitionHeal(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	// A long garp_master_delay, so GARPs seen after the heal are the
	// split-brain re-announcement, not the delayed burst of the takeover.
	g := "    vrrp_garp_master_delay 30"
	l.halo("n1", inst{prio: 101, global: g}.conf())
	l.halo("n2", inst{prio: 102, global: g}.conf())
	l.waitVIP("n2", vip, 10*time.Second)
	// Partition: cut n1's bridge port. n1 stops hearing adverts and takes over too.
	// The port is disabled in the bridge (STP state 0): carrier stays up, frames are dropped.
	run(t, "ip", "netns", "exec", l.ns("sw"), "bridge", "link", "set", "dev", "pn1", "state", "0")
	l.waitVIP("n1", vip, 10*time.Second)
	// Capture GARPs on the bridge while healing.
	cap := l.start("tcpdump", "sw", "tcpdump", "-l", "-n", "-e", "-i", "br0", "arp")
	time.Sleep(500 * time.Millisecond)
	run(t, "ip", "netns", "exec", l.ns("sw"), "bridge", "link", "set", "dev", "pn1", "state", "3")
	waitFor(t, 10*time.Second, "exactly one master after heal", func() bool {
		h := l.holders(vip, "n1", "n2")
		return len(h) == 1 && h[0] == "n2"
	})
	w := l.watch(vip, "n1", "n2")
	time.Sleep(time.Second)
	w.end(t)
	// The winner re-announces the VIP when it hears the other master's
	// lower-priority advert (hosts may have cached the loser's MAC).
	mac := strings.TrimSpace(run(t, "ip", "netns", "exec", l.ns("n2"), "cat", "/sys/class/net/eth0/address"))
	waitFor(t, 5*time.Second, "GARP from the winner", func() bool {
		return strings.Contains(cap.Log(), mac) && strings.Contains(cap.Log(), "tell "+vip)
	})
}

func TestConfigTest(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(good, []byte(inst{prio: 100}.conf()), 0o600)
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n  priority 300\n  bogus_keyword\n"), 0o600)
	insecure := filepath.Join(dir, "insecure.conf")
	os.WriteFile(insecure, []byte(strings.Replace(inst{prio: 100, extra: "    notify /bin/true"}.conf(), "enable_script_security", "", 1)), 0o600)
	for _, tt := range []struct {
		file string
		rc   int
	}{{good, 0}, {bad, 5}, {filepath.Join(dir, "missing.conf"), 0}, {insecure, 6}} {
		err := exec.Command(haloBin, "-t", "-f", tt.file).Run()
		rc := 0
		if ee, ok := err.(*exec.ExitError); ok {
			rc = ee.ExitCode()
		}
		if rc != tt.rc {
			t.Errorf("-t %s: rc %d, want %d", filepath.Base(tt.file), rc, tt.rc)
		}
	}
}

func TestTrackInterface(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	// n1 tracks a second link (a veth pair inside its namespace) with weight -50.
	run(t, "ip", "-n", l.ns("n1"), "link", "add", "up0", "type", "veth", "peer", "name", "up1")
	run(t, "ip", "-n", l.ns("n1"), "link", "set", "up0", "up")
	run(t, "ip", "-n", l.ns("n1"), "link", "set", "up1", "up")
	l.halo("n1", inst{prio: 120, extra: "    track_interface {\n        up0 weight -50\n    }"}.conf())
	l.halo("n2", inst{prio: 100}.conf())
	l.waitVIP("n1", vip, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	run(t, "ip", "-n", l.ns("n1"), "link", "set", "up1", "down") // up0 loses carrier
	l.waitVIP("n2", vip, 10*time.Second)
	waitFor(t, 5*time.Second, "n1 releases the VIP", func() bool { return !l.hasAddr("n1", vip) })
	run(t, "ip", "-n", l.ns("n1"), "link", "set", "up1", "up")
	l.waitVIP("n1", vip, 10*time.Second)
}

func TestSyncGroup(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	flag := filepath.Join(l.dir, "n1.ok")
	os.WriteFile(flag, nil, 0o644)
	conf := func(prio int, track string) string {
		return fmt.Sprintf(`global_defs {
    vrrp_version 3
}
vrrp_script chk {
    script "/usr/bin/test -f %s"
    interval 1
    weight 50
}
vrrp_sync_group G1 {
    group {
        VI_1
        VI_2
    }
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority %d
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.101/24
    }
%s
}
`, flag, prio, prio, track)
	}
	p1 := l.halo("n1", conf(110, "    track_script {\n        chk\n    }"))
	l.halo("n2", conf(100, ""))
	l.waitVIP("n1", vip, 10*time.Second)
	l.waitVIP("n1", "192.0.2.101", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	// VI_2's check fails: in a sync group its weight is ignored and it goes to
	// FAULT, taking VI_1 with it.
	os.Remove(flag)
	l.waitVIP("n2", vip, 10*time.Second)
	l.waitVIP("n2", "192.0.2.101", 10*time.Second)
	waitFor(t, 5*time.Second, "n1 releases both VIPs", func() bool { return !l.hasAddr("n1", vip) && !l.hasAddr("n1", "192.0.2.101") })
	if !strings.Contains(p1.Log(), "(VI_1) Entering FAULT STATE (sync group)") {
		t.Fatalf("VI_1 not moved to FAULT with its group:\n%s", p1.Log())
	}
	os.WriteFile(flag, nil, 0o644)
	l.waitVIP("n1", vip, 10*time.Second)
	l.waitVIP("n1", "192.0.2.101", 10*time.Second)
}

// An instance whose interface does not exist yet waits in FAULT (like
// keepalived) and starts when the interface appears.
func TestMissingInterface(t *testing.T) {
	t.Parallel()
	l := newLab(t, 1)
	p := l.halo("n1", strings.Replace(inst{prio: 100}.conf(), "interface eth0", "interface late0", 1))
	waitFor(t, 5*time.Second, "FAULT for the missing interface", func() bool { return strings.Contains(p.Log(), "Entering FAULT STATE") })
	ns := l.ns("n1")
	run(t, "ip", "-n", ns, "link", "add", "late0", "type", "veth", "peer", "name", "late1")
	run(t, "ip", "-n", ns, "addr", "add", "198.51.100.1/24", "dev", "late0")
	run(t, "ip", "-n", ns, "link", "set", "late1", "up")
	run(t, "ip", "-n", ns, "link", "set", "late0", "up")
	waitFor(t, 10*time.Second, "VIP on late0", func() bool {
		out, _ := exec.Command("ip", "-n", ns, "-o", "addr", "show", "dev", "late0").Output()
		return strings.Contains(string(out), " "+vip+"/")
	})
}
