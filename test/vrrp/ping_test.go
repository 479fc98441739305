package vrrp_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// pingMain is the helper mode behind HALO_VRRP_TEST_PING=addr,duration,interval
// (ping is not installed here): it sends ICMP echo requests from inside a
// namespace and prints "sent N received M maxgap_ms G" where G is the
// longest time without a reply while pinging.
func pingMain(spec string) int {
	f := strings.Split(spec, ",")
	if len(f) != 3 {
		fmt.Fprintln(os.Stderr, "bad ping spec")
		return 2
	}
	dst := netip.MustParseAddr(f[0])
	dur, _ := time.ParseDuration(f[1])
	iv, _ := time.ParseDuration(f[2])
	network, proto := "ip4:icmp", 1
	var typ icmp.Type = ipv4.ICMPTypeEcho
	var reply icmp.Type = ipv4.ICMPTypeEchoReply
	if dst.Is6() {
		network, proto, typ, reply = "ip6:ipv6-icmp", 58, ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
	}
	c, err := icmp.ListenPacket(network, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer c.Close()
	id := os.Getpid() & 0xffff
	recv := make(chan time.Time, 1024)
	go func() {
		b := make([]byte, 1500)
		for {
			n, _, err := c.ReadFrom(b)
			if err != nil {
				return
			}
			m, err := icmp.ParseMessage(proto, b[:n])
			if err != nil || m.Type != reply {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id {
				recv <- time.Now()
			}
		}
	}()
	start := time.Now()
	last := start
	sent, got := 0, 0
	var maxGap time.Duration
	t := time.NewTicker(iv)
	defer t.Stop()
	for time.Since(start) < dur {
		m := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: sent & 0xffff, Data: []byte("halo")}}
		b, _ := m.Marshal(nil)
		if _, err := c.WriteTo(b, &net.IPAddr{IP: dst.AsSlice()}); err == nil {
			sent++
		}
		<-t.C
	drain:
		for {
			select {
			case at := <-recv:
				got++
				maxGap = max(maxGap, at.Sub(last))
				last = at
			default:
				break drain
			}
		}
	}
	time.Sleep(200 * time.Millisecond)
	for len(recv) > 0 {
		at := <-recv
		got++
		maxGap = max(maxGap, at.Sub(last))
		last = at
	}
	if got == 0 {
		maxGap = time.Since(start)
	}
	fmt.Printf("sent %d received %d maxgap_ms %d\n", sent, got, maxGap.Milliseconds())
	return 0
}

// pingOnce reports whether addr answers one echo from node within a second.
func (l *lab) pingOnce(node, addr string) bool {
	exe, _ := os.Executable()
	out, err := exec.Command("ip", "netns", "exec", l.ns(node), "env", "HALO_VRRP_TEST_PING="+addr+",1s,250ms", exe).Output()
	if err != nil {
		return false
	}
	var sent, got, gap int
	fmt.Sscanf(string(out), "sent %d received %d maxgap_ms %d", &sent, &got, &gap)
	return got > 0
}

// pingStats parses a pinger's output.
func pingStats(t *testing.T, out string) (sent, got, gapMS int) {
	t.Helper()
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "sent %d received %d maxgap_ms %d", &sent, &got, &gapMS); err != nil {
		t.Fatalf("pinger output %q: %v", out, err)
	}
	return
}

var _ = strconv.Itoa
