package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/vrrp"
)

var mac = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}

func TestGARPFrame(t *testing.T) {
	f := garpFrame(mac, netip.MustParseAddr("192.0.2.100"))
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 1, 192, 0, 2, 100,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 0, 2, 100}
	if !bytes.Equal(f, want) {
		t.Fatalf("garp\n got % x\nwant % x", f, want)
	}
}

func TestNAFrame(t *testing.T) {
	ip := netip.MustParseAddr("2001:db8::100")
	f := naFrame(mac, ip, false)
	if len(f) != 14+40+32 || binary.BigEndian.Uint16(f[12:]) != 0x86dd || f[14+7] != 255 || f[14+6] != 58 {
		t.Fatalf("bad frame % x", f)
	}
	m := f[54:]
	if m[0] != 136 || m[4] != 0x20 || !bytes.Equal(m[26:32], mac) {
		t.Fatalf("bad NA % x", m)
	}
	// The checksum verifies: summing pseudo-header + message gives 0.
	ph := append([]byte{}, f[14+8:14+40]...)
	ph = binary.BigEndian.AppendUint32(ph, 32)
	ph = append(ph, 0, 0, 0, 58)
	ph = append(ph, m...)
	if vrrp.Checksum16(ph) != 0 {
		t.Fatalf("NA checksum does not verify")
	}
}

func TestRunScriptKillsGroupOnTimeout(t *testing.T) {
	dir := t.TempDir()
	pidf := filepath.Join(dir, "child")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	ok, why := runScript(ctx, []string{"/bin/sh", "-c", "sleep 30 & echo $! > " + pidf + "; wait"}, nil)
	if ok || why != "timed out" {
		t.Fatalf("ok=%v why=%q", ok, why)
	}
	b, err := os.ReadFile(pidf)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// The grandchild must be gone (killed with the group; reaped by init or a zombie).
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(st), ") Z") {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d of the timed-out script still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ok, why := runScript(context.Background(), []string{"/bin/sh", "-c", "exit 3"}, nil); ok || why != "exited with status 3" {
		t.Fatalf("exit 3: %v %q", ok, why)
	}
	if ok, _ := runScript(context.Background(), []string{"/bin/true"}, nil); !ok {
		t.Fatal("true failed")
	}
}

func TestRunCheckRiseFall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	c := &Check{Name: "p", Kind: CheckHalo, Addrs: []string{ln.Addr().String()}, Interval: 20 * time.Millisecond, Fall: 2, Rise: 2, InitFail: true}
	ev := make(chan checkEvent, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go runCheck(ctx, c, ev)
	select {
	case e := <-ev:
		if !e.up {
			t.Fatalf("first event %+v, want up (init_fail then rise)", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no up event")
	}
	ln.Close()
	select {
	case e := <-ev:
		if e.up || !strings.Contains(e.msg, "connect") {
			t.Fatalf("event %+v, want down", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no down event after the listener closed")
	}
}

func TestTrackState(t *testing.T) {
	d := &Daemon{
		checks:  map[string]*Check{"w2": {Weight: 2}, "w0": {}, "neg": {Weight: -10}},
		checkUp: map[string]bool{"w2": true, "w0": true, "neg": true},
		linkUp:  map[string]bool{"eth0": true, "eth1": true},
	}
	in := &inst{cfg: &Instance{InstanceConfig: vrrp.InstanceConfig{Interface: "eth0", Priority: 100},
		TrackChecks:     []TrackRef{{Name: "w2"}, {Name: "w0"}, {Name: "neg"}},
		TrackInterfaces: []TrackRef{{Name: "eth1", Weight: -20}}}}
	tests := []struct {
		name  string
		set   func()
		fault bool
		prio  uint8
	}{
		{"all up", func() {}, false, 102},
		{"w2 down", func() { d.checkUp["w2"] = false }, false, 100},
		{"neg down", func() { d.checkUp["neg"] = false }, false, 90},
		{"eth1 down", func() { d.linkUp["eth1"] = false }, false, 70},
		{"w0 down", func() { d.checkUp["w0"] = false }, true, 70},
		{"own link down", func() { d.checkUp["w0"] = true; d.linkUp["eth0"] = false }, true, 70},
	}
	for _, tt := range tests {
		tt.set()
		fault, prio := d.trackState(in)
		if fault != tt.fault || prio != tt.prio {
			t.Errorf("%s: fault %v prio %d, want %v %d", tt.name, fault, prio, tt.fault, tt.prio)
		}
	}
	// A per-instance weight overrides the script's.
	in.cfg.TrackChecks = []TrackRef{{Name: "w2", Weight: -5, HasWeight: true}}
	d.linkUp["eth0"], d.linkUp["eth1"] = true, true
	in.cfg.TrackInterfaces = nil
	if _, p := d.trackState(in); p != 95 {
		t.Errorf("override: prio %d, want 95", p)
	}
}

func TestRunScriptAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users")
	}
	cred := &syscall.Credential{Uid: 65534, Gid: 65534}
	if ok, why := runScript(context.Background(), []string{"/bin/sh", "-c", "test $(id -u) = 65534"}, cred); !ok {
		t.Fatalf("script did not run as uid 65534: %s", why)
	}
}
