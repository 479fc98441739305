package vrrp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInteropKeepalived pairs halo-vrrp with keepalived 2.2 in both roles,
// VRRPv2 (advert_int 1) and VRRPv3 (advert_int 0.1): election, priority-0
// handover, preemption back, crash takeover; never two masters.
func TestInteropKeepalived(t *testing.T) {
	for _, v := range []struct {
		version int
		advert  string
		wait    time.Duration
	}{{2, "1", 15 * time.Second}, {3, "0.1", 5 * time.Second}} {
		for _, haloHigh := range []bool{true, false} {
			name := fmt.Sprintf("v%d/halo-master", v.version)
			if !haloHigh {
				name = fmt.Sprintf("v%d/keepalived-master", v.version)
			}
			t.Run(name, func(t *testing.T) {
				if testing.Short() && v.version == 2 {
					t.Skip("VRRPv2 interop takes ~15 s; skipped in -short mode")
				}
				t.Parallel()
				l := newLab(t, 2)
				// n2 has the higher priority.
				start := func(node string, prio int) *proc {
					c := inst{prio: prio, version: v.version, advert: v.advert}.conf()
					if (node == "n2") == haloHigh {
						return l.halo(node, c)
					}
					return l.keepalived(node, c)
				}
				low := start("n1", 101)
				high := start("n2", 102)
				l.waitVIP("n2", vip, v.wait)
				w := l.watch(vip, "n1", "n2")
				time.Sleep(500 * time.Millisecond)
				if h := l.holders(vip, "n1", "n2"); len(h) != 1 {
					t.Fatalf("holders after election: %v", h)
				}

				// Priority-0 handover, with a client pinging the VIP.
				exe, _ := os.Executable()
				pinger := l.start("pinger", "c", "env", "HALO_VRRP_TEST_PING="+vip+",3s,10ms", exe)
				time.Sleep(500 * time.Millisecond)
				l.kill(high, syscall.SIGTERM, "n2")
				l.waitVIP("n1", vip, v.wait)
				high.wait(t, 5*time.Second)
				pinger.wait(t, 10*time.Second)
				sent, got, gap := pingStats(t, pinger.Log())
				t.Logf("v%d %s: priority-0 handover: %d/%d pings answered, longest gap %d ms", v.version, name, got, sent, gap)
				if got == 0 {
					t.Errorf("the VIP never answered pings")
				}

				// The higher-priority node comes back and preempts.
				high = start("n2", 102)
				l.waitVIP("n2", vip, v.wait)
				waitFor(t, v.wait, "n1 releases the VIP", func() bool { return !l.hasAddr("n1", vip) })
				time.Sleep(300 * time.Millisecond)
				w.end(t)

				// Crash of the master (process killed, link down): the backup takes over.
				l.kill(high, syscall.SIGKILL, "n2")
				run(t, "ip", "-n", l.ns("n2"), "link", "set", "eth0", "down")
				l.waitVIP("n1", vip, v.wait)
				if !strings.Contains(low.Log(), "MASTER") {
					t.Errorf("n1 never logged MASTER:\n%s", low.Log())
				}
			})
		}
	}
}

// TestInteropKeepalivedIPv6: VRRPv3 over IPv6 (checksum over the IPv6
// pseudo-header, link-local sources, ff02::12) in both roles, plus the
// weight-0 FAULT path of a halo master with a keepalived backup.
func TestInteropKeepalivedIPv6(t *testing.T) {
	const vip6 = "2001:db8::100"
	for _, haloHigh := range []bool{true, false} {
		name := "halo-master"
		if !haloHigh {
			name = "keepalived-master"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t, 2)
			start := func(node string, prio int) *proc {
				c := inst{prio: prio, vip: vip6 + "/64"}.conf()
				if (node == "n2") == haloHigh {
					return l.halo(node, c)
				}
				return l.keepalived(node, c)
			}
			start("n1", 101)
			high := start("n2", 102)
			l.waitVIP("n2", vip6, 10*time.Second)
			w := l.watch(vip6, "n1", "n2")
			time.Sleep(500 * time.Millisecond)
			l.kill(high, syscall.SIGTERM, "n2")
			l.waitVIP("n1", vip6, 10*time.Second)
			high.wait(t, 5*time.Second)
			high = start("n2", 102)
			l.waitVIP("n2", vip6, 10*time.Second)
			waitFor(t, 10*time.Second, "n1 releases the VIP", func() bool { return !l.hasAddr("n1", vip6) })
			time.Sleep(300 * time.Millisecond)
			w.end(t)
			if !l.pingOnce("c", vip6) {
				t.Error("VIP does not answer ping6")
			}
		})
	}
}

// TestInteropFaultToKeepalived: a halo master whose weight-0 check fails
// enters FAULT and resigns with priority 0; the keepalived backup takes over.
func TestInteropFaultToKeepalived(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	flag := filepath.Join(l.dir, "ok")
	os.WriteFile(flag, nil, 0o644)
	top := fmt.Sprintf("vrrp_script chk {\n    script \"/usr/bin/test -f %s\"\n    interval 1\n}", flag)
	p1 := l.halo("n1", inst{prio: 110, top: top, extra: "    track_script {\n        chk\n    }"}.conf())
	ka := l.keepalived("n2", inst{prio: 100}.conf())
	l.waitVIP("n1", vip, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	w := l.watch(vip, "n1", "n2")
	os.Remove(flag)
	l.waitVIP("n2", vip, 10*time.Second)
	waitFor(t, 5*time.Second, "n1 releases the VIP", func() bool { return !l.hasAddr("n1", vip) })
	time.Sleep(300 * time.Millisecond)
	w.end(t)
	if !strings.Contains(ka.Log(), "Backup received priority 0 advertisement") {
		t.Errorf("keepalived did not see the priority-0 advert:\n%s", ka.Log())
	}
	if !strings.Contains(p1.Log(), "Entering FAULT STATE") {
		t.Errorf("halo did not enter FAULT:\n%s", p1.Log())
	}
}

// TestInteropMcastGroup: a non-default multicast group (vrrp_mcast_group4)
// with keepalived as the backup.
func TestInteropMcastGroup(t *testing.T) {
	t.Parallel()
	l := newLab(t, 2)
	g := "    vrrp_mcast_group4 224.0.0.100"
	l.keepalived("n1", inst{prio: 101, global: g}.conf())
	p2 := l.halo("n2", inst{prio: 102, global: g}.conf())
	l.waitVIP("n2", vip, 10*time.Second)
	w := l.watch(vip, "n1", "n2")
	time.Sleep(time.Second)
	w.end(t)
	l.kill(p2, syscall.SIGTERM, "n2")
	l.waitVIP("n1", vip, 10*time.Second)
}
