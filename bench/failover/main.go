// Command failover measures VRRP failover in network namespaces: the time
// from the master's death to the VIP being configured on the backup, for a
// halo-vrrp pair and a keepalived pair in the same run. Run it through
// run.sh (root required). It creates namespaces named fb<random>* and
// deletes them on exit.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

const vip = "192.0.2.100"

type lab struct {
	prefix, dir, halo string
	procs             []*exec.Cmd
}

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func (l *lab) ns(n string) string { return l.prefix + n }

func (l *lab) setup() {
	sw := l.ns("sw")
	must(sh("ip", "netns", "add", sw))
	must(sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge"))
	must(sh("ip", "-n", sw, "link", "set", "br0", "up"))
	for _, n := range []struct{ name, addr string }{{"n1", "192.0.2.11"}, {"n2", "192.0.2.12"}, {"c", "192.0.2.50"}} {
		ns := l.ns(n.name)
		must(sh("ip", "netns", "add", ns))
		must(sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "p"+n.name, "netns", sw))
		must(sh("ip", "-n", sw, "link", "set", "p"+n.name, "master", "br0", "up"))
		must(sh("ip", "-n", ns, "link", "set", "lo", "up"))
		must(sh("ip", "-n", ns, "link", "set", "eth0", "up"))
		must(sh("ip", "-n", ns, "addr", "add", n.addr+"/24", "dev", "eth0"))
	}
}

func (l *lab) cleanup() {
	for _, c := range l.procs {
		if c.ProcessState == nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	l.killKeepalived("n1")
	l.killKeepalived("n2")
	for _, n := range []string{"n1", "n2", "c", "sw"} {
		_ = exec.Command("ip", "netns", "del", l.ns(n)).Run()
	}
	os.RemoveAll(l.dir)
}

func (l *lab) killKeepalived(node string) {
	for _, f := range []string{node + ".vrrp.pid", node + ".pid"} {
		if b, err := os.ReadFile(filepath.Join(l.dir, f)); err == nil {
			var pid int
			fmt.Sscan(string(b), &pid)
			if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.HasPrefix(string(comm), "keepalived") {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func (l *lab) start(node string, args ...string) *exec.Cmd {
	c := exec.Command("ip", append([]string{"netns", "exec", l.ns(node)}, args...)...)
	lf, _ := os.Create(filepath.Join(l.dir, node+".log"))
	c.Stdout, c.Stderr = lf, lf
	must(c.Start())
	l.procs = append(l.procs, c)
	return c
}

type scenario struct {
	impl    string // halo | keepalived
	version int
	advert  string
	event   string // crash | graceful | script2 | script0 | halo
}

func (l *lab) conf(s scenario, node string, prio int) string {
	top, track := "", ""
	flag := filepath.Join(l.dir, node+".ok")
	switch s.event {
	case "script2", "script0", "crash", "graceful":
		w := 2
		if s.event == "script0" {
			w = 0
		}
		// The guide's shape: every node tracks its proxy with a 1 s script.
		top = fmt.Sprintf("vrrp_script chk {\n  script \"/usr/bin/test -f %s\"\n  interval 1\n  weight %d\n}\n", flag, w)
		track = "  track_script {\n    chk\n  }\n"
	case "halo", "halo2":
		w := 0
		if s.event == "halo2" {
			w = 2
		}
		top = fmt.Sprintf("vrrp_track_halo proxy {\n  address 127.0.0.1:8080\n  interval 0.05\n  weight %d\n}\n", w)
		track = "  track_halo {\n    proxy\n  }\n"
	}
	return fmt.Sprintf(`global_defs {
  vrrp_version %d
  script_user root
  enable_script_security
}
%svrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  advert_int %s
  virtual_ipaddress {
    %s/24
  }
%s}
`, s.version, top, prio, s.advert, vip, track)
}

func (l *lab) hasVIP(node string) bool {
	out, _ := exec.Command("ip", "-n", l.ns(node), "-o", "addr", "show", "dev", "eth0").Output()
	return strings.Contains(string(out), " "+vip+"/")
}

func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// vipAdded subscribes to address events in node's namespace and returns a
// channel that receives the time the VIP is added.
func (l *lab) vipAdded(node string, done <-chan struct{}) <-chan time.Time {
	ch := make(chan netlink.AddrUpdate, 64)
	// The netlink socket belongs to the namespace of the thread that creates
	// it: enter node's namespace on a locked thread just for the subscribe.
	func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		must(err)
		defer self.Close()
		target, err := os.Open("/run/netns/" + l.ns(node))
		must(err)
		defer target.Close()
		must(unix.Setns(int(target.Fd()), unix.CLONE_NEWNET))
		err = netlink.AddrSubscribe(ch, done)
		must(unix.Setns(int(self.Fd()), unix.CLONE_NEWNET))
		must(err)
	}()
	out := make(chan time.Time, 1)
	want := netip.MustParseAddr(vip)
	go func() {
		for u := range ch {
			if ip, ok := netip.AddrFromSlice(u.LinkAddress.IP); ok && ip.Unmap() == want && u.NewAddr {
				select {
				case out <- time.Now():
				default:
				}
			}
		}
	}()
	return out
}

type result struct {
	took time.Duration
	gap  int // longest ping gap, ms
}

func (l *lab) round(s scenario) (result, error) {
	defer func() {
		for _, c := range l.procs {
			if c.ProcessState == nil {
				_ = c.Process.Signal(syscall.SIGKILL)
				_ = c.Wait()
			}
		}
		l.procs = nil
		l.killKeepalived("n1")
		l.killKeepalived("n2")
		_ = sh("ip", "-n", l.ns("n1"), "link", "set", "eth0", "up")
		for _, n := range []string{"n1", "n2"} {
			_ = exec.Command("ip", "-n", l.ns(n), "addr", "del", vip+"/24", "dev", "eth0").Run()
		}
		time.Sleep(200 * time.Millisecond)
	}()
	var daemons = map[string]*exec.Cmd{}
	for _, f := range []string{"n1.pid", "n1.vrrp.pid", "n2.pid", "n2.vrrp.pid"} {
		os.Remove(filepath.Join(l.dir, f))
	}
	for _, n := range []string{"n1", "n2"} {
		os.WriteFile(filepath.Join(l.dir, n+".ok"), nil, 0o644)
		if strings.HasPrefix(s.event, "halo") {
			self, _ := os.Executable()
			l.start(n, "env", "FAILOVER_LISTEN=127.0.0.1:8080", self)
		}
	}
	time.Sleep(100 * time.Millisecond)
	for i, n := range []string{"n1", "n2"} {
		cf := filepath.Join(l.dir, n+".conf")
		os.WriteFile(cf, []byte(l.conf(s, n, 101-i)), 0o600)
		if s.impl == "halo" {
			daemons[n] = l.start(n, l.halo, "-n", "-l", "-G", "-f", cf)
		} else {
			daemons[n] = l.start(n, "keepalived", "-n", "-l", "-G", "-P", "-f", cf,
				"-p", filepath.Join(l.dir, n+".pid"), "-r", filepath.Join(l.dir, n+".vrrp.pid"))
		}
		if i == 0 && !waitFor(15*time.Second, func() bool { return l.hasVIP("n1") }) {
			log, _ := os.ReadFile(filepath.Join(l.dir, "n1.log"))
			if len(log) > 1500 {
				log = log[len(log)-1500:]
			}
			return result{}, fmt.Errorf("n1 never became master; its log ends:\n%s", log)
		}
	}
	time.Sleep(1500 * time.Millisecond) // n2 settles as BACKUP
	if l.hasVIP("n2") {
		return result{}, fmt.Errorf("n2 holds the VIP before the event")
	}
	done := make(chan struct{})
	defer close(done)
	added := l.vipAdded("n2", done)
	self, _ := os.Executable()
	pinger := exec.Command("ip", "netns", "exec", l.ns("c"), "env", "FAILOVER_PING="+vip, self)
	pout := &strings.Builder{}
	pinger.Stdout = pout
	must(pinger.Start())
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	switch s.event {
	case "crash":
		if s.impl == "keepalived" {
			l.killKeepalived("n1")
		} else {
			_ = daemons["n1"].Process.Signal(syscall.SIGKILL)
		}
		_ = sh("ip", "-n", l.ns("n1"), "link", "set", "eth0", "down")
	case "graceful":
		if s.impl == "keepalived" {
			b, _ := os.ReadFile(filepath.Join(l.dir, "n1.pid"))
			var pid int
			fmt.Sscan(string(b), &pid)
			_ = syscall.Kill(pid, syscall.SIGTERM)
		} else {
			_ = daemons["n1"].Process.Signal(syscall.SIGTERM)
		}
	case "script2", "script0":
		os.Remove(filepath.Join(l.dir, "n1.ok"))
	case "halo", "halo2":
		_ = l.procs[0].Process.Kill() // n1's proxy stand-in
	}
	var res result
	select {
	case at := <-added:
		res.took = at.Sub(t0)
	case <-time.After(20 * time.Second):
		_ = pinger.Process.Kill()
		_ = pinger.Wait()
		return result{}, fmt.Errorf("VIP never moved to n2")
	}
	time.Sleep(500 * time.Millisecond)
	_ = pinger.Process.Signal(syscall.SIGTERM)
	_ = pinger.Wait()
	fmt.Sscanf(pout.String(), "maxgap_ms %d", &res.gap)
	return res, nil
}

// pingMain pings addr every 10 ms until SIGTERM and prints the longest gap
// between replies.
func pingMain(addr string) {
	c, err := icmp.ListenPacket("ip4:icmp", "")
	must(err)
	id := os.Getpid() & 0xffff
	replies := make(chan time.Time, 4096)
	go func() {
		b := make([]byte, 1500)
		for {
			n, _, err := c.ReadFrom(b)
			if err != nil {
				return
			}
			if m, err := icmp.ParseMessage(1, b[:n]); err == nil && m.Type == ipv4.ICMPTypeEchoReply {
				if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id {
					replies <- time.Now()
				}
			}
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	t := time.NewTicker(10 * time.Millisecond)
	last := time.Now()
	var gap time.Duration
	for seq := 0; ; seq++ {
		m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq & 0xffff}}
		b, _ := m.Marshal(nil)
		_, _ = c.WriteTo(b, &net.IPAddr{IP: net.ParseIP(addr)})
		select {
		case <-stop:
			fmt.Printf("maxgap_ms %d\n", gap.Milliseconds())
			return
		case <-t.C:
		}
		for len(replies) > 0 {
			at := <-replies
			gap = max(gap, at.Sub(last))
			last = at
		}
	}
}

func listenMain(addr string) {
	ln, err := net.Listen("tcp", addr)
	must(err)
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func main() {
	if a := os.Getenv("FAILOVER_PING"); a != "" {
		pingMain(a)
		return
	}
	if a := os.Getenv("FAILOVER_LISTEN"); a != "" {
		listenMain(a)
		return
	}
	halo := flag.String("halo", "bin/halo-vrrp", "halo-vrrp binary")
	rounds := flag.Int("rounds", 3, "rounds per scenario")
	only := flag.String("only", "", "run only events containing this string")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "failover benchmark needs root (network namespaces)")
		os.Exit(2)
	}
	abs, err := filepath.Abs(*halo)
	must(err)
	rb := make([]byte, 2)
	rand.Read(rb)
	dir, err := os.MkdirTemp("", "failover")
	must(err)
	l := &lab{prefix: "fb" + hex.EncodeToString(rb), dir: dir, halo: abs}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	defer l.cleanup()
	l.setup()
	type row struct {
		label, event, version, advert string
		ref                           string
	}
	rows := []row{
		{"crash (SIGKILL + link down)", "crash", "2", "1", "3.05"},
		{"graceful (SIGTERM)", "graceful", "2", "1", "0.61"},
		{"proxy: guide's check, weight 2", "script2", "2", "1", "3.99"},
		{"proxy: check with weight 0", "script0", "2", "1", "1.42"},
		{"proxy: track_halo weight 0 (halo)", "halo", "2", "1", ""},
		{"proxy: track_halo weight 2 (halo)", "halo2", "2", "1", ""},
		{"crash (SIGKILL + link down)", "crash", "3", "0.1", "0.34"},
		{"graceful (SIGTERM)", "graceful", "3", "0.1", "0.065"},
		{"proxy: guide's check, weight 2", "script2", "3", "0.1", "0.40"},
		{"proxy: check with weight 0", "script0", "3", "0.1", "0.12"},
		{"proxy: track_halo weight 0 (halo)", "halo", "3", "0.1", ""},
		{"proxy: track_halo weight 2 (halo)", "halo2", "3", "0.1", ""},
	}
	fmt.Printf("%-6s %-32s %12s %12s %8s %14s %14s %10s\n", "mode", "event", "keepalived", "halo-vrrp", "ratio", "ka ping gap", "halo ping gap", "ka (issue)")
	for _, r := range rows {
		if *only != "" && !strings.Contains(r.event, *only) {
			continue
		}
		med := map[string]time.Duration{}
		gaps := map[string]int{}
		for _, impl := range []string{"keepalived", "halo"} {
			if impl == "keepalived" && strings.HasPrefix(r.event, "halo") {
				continue
			}
			var ds []time.Duration
			var gs []time.Duration
			for range *rounds {
				if ctx.Err() != nil {
					return
				}
				v := 2
				if r.version == "3" {
					v = 3
				}
				res, err := l.round(scenario{impl: impl, version: v, advert: r.advert, event: r.event})
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s v%s %s: %v\n", impl, r.version, r.event, err)
					continue
				}
				ds = append(ds, res.took)
				gs = append(gs, time.Duration(res.gap)*time.Millisecond)
			}
			if len(ds) > 0 {
				med[impl] = median(ds)
				gaps[impl] = int(median(gs).Milliseconds())
			}
		}
		f := func(d time.Duration, ok bool) string {
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%.3f s", d.Seconds())
		}
		ka, okK := med["keepalived"]
		ha, okH := med["halo"]
		ratio := "-"
		if okK && okH && ha > 0 {
			ratio = fmt.Sprintf("%.1fx", ka.Seconds()/ha.Seconds())
		}
		g := func(impl string, ok bool) string {
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%d ms", gaps[impl])
		}
		mode := "v2/1s"
		if r.version == "3" {
			mode = "v3/0.1s"
		}
		fmt.Printf("%-6s %-32s %12s %12s %8s %14s %14s %10s\n", mode, r.label, f(ka, okK), f(ha, okH), ratio, g("keepalived", okK), g("halo", okH), r.ref)
	}
}
