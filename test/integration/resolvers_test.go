package integration

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/resolve/resolvetest"
	"github.com/miekg/dns"
)

// dnsServer starts a DNS server on 127.0.0.1 that the test controls.
func dnsServer(t *testing.T) *resolvetest.Server {
	t.Helper()
	s, err := resolvetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// backendsOn starts one named backend per loopback address, all on the
// same port (the DNS answers carry only addresses), and returns the port.
func backendsOn(t *testing.T, ips ...string) int {
	t.Helper()
	port, _ := backendsAt(t, ips...)
	return port
}

// backendsAt is backendsOn that also returns the backends, named bN
// after the last byte of their address.
func backendsAt(t *testing.T, ips ...string) (int, map[string]*backend) {
	t.Helper()
	for range 20 {
		port := freePort(t)
		var lns []net.Listener
		for _, ip := range ips {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) == len(ips) {
			out := map[string]*backend{}
			for i, ln := range lns {
				name := "b" + ips[i][strings.LastIndexByte(ips[i], '.')+1:]
				out[name] = serveBackend(t, name, ln, false)
			}
			return port, out
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	t.Fatal("no common free port")
	return 0, nil
}

// serversState is `show servers state` without the time column, which
// depends on when it is asked.
func serversState(t *testing.T, sock string) string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(socatCLI(t, sock, "show servers state"), "\n") {
		f := strings.Fields(l)
		if len(f) < 20 || f[0] == "#" {
			continue
		}
		f[9] = "T"
		out = append(out, strings.Join(f, " "))
	}
	return strings.Join(out, "\n")
}

// stripPid removes the "[WARNING]  (pid) : " prefix of process messages.
var pidPrefix = regexp.MustCompile(`(?m)^\[[A-Z]+\] +\(\d+\) : `)

func messages(h *halo) string { return pidPrefix.ReplaceAllString(h.stderr.String(), "") }

// TestResolversFollowDNS runs halo and haproxy 2.6 side by side with a
// server whose name app.test. a test DNS server answers: it starts in
// maintenance (init-addr none), takes traffic once the name resolves,
// follows a changed answer to another backend, and goes to maintenance
// on NXDOMAIN once hold nx has passed, with haproxy's log lines and
// `show servers state`.
func TestResolversFollowDNS(t *testing.T) {
	port := backendsOn(t, "127.0.0.2", "127.0.0.3")
	bins := []string{haloBin}
	if hb := haproxyBin(); hb != "" {
		bins = append(bins, hb)
	}
	states := map[string][]string{}
	for _, bin := range bins {
		name := filepath.Base(bin)
		t.Run(name, func(t *testing.T) {
			ns := dnsServer(t)
			ns.Set("app.test", resolvetest.Record{Rcode: dns.RcodeNameError})
			fe := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			sock := filepath.Join(t.TempDir(), "s.sock")
			cfg := fmt.Sprintf(`global
    log stderr format raw local0
    stats socket %s level admin
%s    log global
resolvers dns
    nameserver ns1 %s
    hold valid 1s
    hold nx 1s
    timeout resolve 1s
    timeout retry 1s
frontend f
    bind %s
    default_backend b
backend b
    server s1 app.test:%d resolvers dns init-addr none resolve-prefer ipv4
`, sock, defaults, ns.Addr, fe, port)
			h := startProc(t, bin, fe, nil, nil, "-db", "-f", writeConfig(t, cfg))
			var st []string
			state := func() string { return serversState(t, sock) }
			st = append(st, state())
			ns.SetAddrs("app.test", "127.0.0.2")
			waitFor(t, "traffic to 127.0.0.2", 20*time.Second, func() bool { return hello(t, fe) == "b2" })
			st = append(st, state())
			ns.SetAddrs("app.test", "127.0.0.3")
			waitFor(t, "traffic to 127.0.0.3", 20*time.Second, func() bool { return hello(t, fe) == "b3" })
			st = append(st, state())
			ns.Set("app.test", resolvetest.Record{Rcode: dns.RcodeNameError})
			waitFor(t, "maintenance", 20*time.Second, func() bool { return strings.Contains(state(), " s1 - 0 32 ") })
			st = append(st, state())
			if got := statRow(t, sock, "b", "s1")["status"]; got != "MAINT (resolution)" {
				t.Errorf("status %q, want MAINT (resolution)", got)
			}
			if got := hello(t, fe); got != "" {
				t.Errorf("a server in maintenance answered %q", got)
			}
			want := []string{
				"b/s1 changed its IP from (none) to 127.0.0.2 by dns/ns1.",
				"Server b/s1 ('app.test') is UP/READY (resolves again).",
				"Server b/s1 administratively READY thanks to valid DNS answer.",
				"b/s1 changed its IP from 127.0.0.2 to 127.0.0.3 by dns/ns1.",
				"Server b/s1 is going DOWN for maintenance (DNS NX status). 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
			}
			waitFor(t, "log lines", 10*time.Second, func() bool {
				out := messages(h)
				for _, w := range want {
					if !strings.Contains(out, w+"\n") {
						return false
					}
				}
				return true
			})
			states[name] = st
		})
	}
	if hs, ok := states["haproxy"]; ok {
		for i, s := range states["halo"] {
			if s != hs[i] {
				t.Errorf("show servers state, step %d:\nhalo    %s\nhaproxy %s", i, s, hs[i])
			}
		}
	}
}

// TestResolversServerTemplate fills server-templates from DNS side by
// side with haproxy: A records give one server per address (the extra
// template server stays in maintenance) and traffic reaches every
// address; SRV records give targets and ports from the additional
// records.
func TestResolversServerTemplate(t *testing.T) {
	port := backendsOn(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	srvA := backendsOn(t, "127.0.0.5")
	srvB := backendsOn(t, "127.0.0.6")
	bins := []string{haloBin}
	if hb := haproxyBin(); hb != "" {
		bins = append(bins, hb)
	}
	states := map[string]string{}
	for _, bin := range bins {
		name := filepath.Base(bin)
		t.Run(name, func(t *testing.T) {
			ns := dnsServer(t)
			ns.SetAddrs("multi.test", "127.0.0.2", "127.0.0.3", "127.0.0.4")
			ns.Set("_app._tcp.svc.test", resolvetest.Record{SRV: []resolvetest.SRV{
				{Weight: 10, Port: uint16(srvA), Target: "a.svc.test"}, {Weight: 10, Port: uint16(srvB), Target: "b.svc.test"}}})
			// SRV weights without ignore-weight: 600 -> 3, 0 -> 0 (b.svc.test comes first in haproxy's record order).
			ns.Set("_w._tcp.svc.test", resolvetest.Record{SRV: []resolvetest.SRV{
				{Weight: 600, Port: uint16(srvA), Target: "a.svc.test"}, {Weight: 0, Port: uint16(srvB), Target: "b.svc.test"}}})
			// An SRV answer without additional records: the target is resolved on its own.
			ns.Set("_x._tcp.svc.test", resolvetest.Record{NoExtra: true, SRV: []resolvetest.SRV{{Weight: 10, Port: uint16(srvA), Target: "a.svc.test"}}})
			ns.SetAddrs("a.svc.test", "127.0.0.5")
			ns.SetAddrs("b.svc.test", "127.0.0.6")
			fe := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			fe2 := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			sock := filepath.Join(t.TempDir(), "s.sock")
			cfg := fmt.Sprintf(`global
    stats socket %s level admin
%sresolvers dns
    nameserver ns1 %s
    hold valid 1s
frontend f
    bind %s
    default_backend b
frontend f2
    bind %s
    default_backend v
backend b
    server-template m 4 multi.test:%d resolvers dns init-addr none resolve-prefer ipv4
backend v
    server-template v 1-3 _app._tcp.svc.test resolvers dns init-addr none resolve-opts ignore-weight
backend w
    server-template w 2 _w._tcp.svc.test resolvers dns init-addr none
backend x
    server-template x 2 _x._tcp.svc.test resolvers dns init-addr none resolve-prefer ipv4
`, sock, defaults, ns.Addr, fe, fe2, port)
			h := startProc(t, bin, fe, nil, nil, "-db", "-f", writeConfig(t, cfg))
			waitFor(t, "templates filled", 20*time.Second, func() bool {
				s := serversState(t, sock)
				return strings.Count(s, " 2 0 1 1 T ")+strings.Count(s, " 2 64 1 1 T ") == 6 && strings.Contains(s, " w1 127.0.0.6 2 64 0 1 T ") &&
					strings.Contains(s, " w2 127.0.0.5 2 64 3 1 T ") && strings.Contains(s, " x1 127.0.0.5 2 64 1 1 T ")
			})
			seen := map[string]bool{}
			for range 12 {
				seen[hello(t, fe)] = true
				seen[hello(t, fe2)] = true
			}
			for _, b := range []string{"b2", "b3", "b4", "b5", "b6"} {
				if !seen[b] {
					t.Errorf("no traffic reached %s (saw %v)", b, seen)
				}
			}
			filled := serversState(t, sock)
			// The record of v2 goes away: v2 goes to maintenance.
			ns.Set("_app._tcp.svc.test", resolvetest.Record{SRV: []resolvetest.SRV{{Weight: 10, Port: uint16(srvB), Target: "b.svc.test"}}})
			waitFor(t, "v2 without record", 20*time.Second, func() bool { return strings.Contains(serversState(t, sock), " v2 - 0 96 ") })
			states[name] = filled + "\n" + serversState(t, sock)
			waitFor(t, "removal logged", 10*time.Second, func() bool {
				return strings.Contains(messages(h), "Server v/v2 is going DOWN for maintenance (entry removed from SRV record). 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n")
			})
			out := messages(h)
			for _, w := range []string{"b/m1 changed its IP from (none) to 127.0.0.2 by dns/ns1.", "b/m2 changed its IP from (none) to 127.0.0.3 by DNS cache.",
				"v/v1 changed its IP from (none) to 127.0.0.6 by DNS additional record.", "Server v/v2 ('a.svc.test') is UP/READY (resolves again).",
				"x/x1 changed its IP from (none) to 127.0.0.5 by dns/ns1.\nServer x/x1 ('a.svc.test') is UP/READY (resolves again).\nServer x/x1 administratively READY thanks to valid DNS answer."} {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in\n%s", w, out)
				}
			}
		})
	}
	if hs, ok := states["haproxy"]; ok && hs != states["halo"] {
		t.Errorf("show servers state:\nhalo\n%s\nhaproxy\n%s", states["halo"], hs)
	}
}

// checkDuration is the timing part of health check messages.
var checkDuration = regexp.MustCompile(`check duration: \d+ms`)

// TestResolversChecks: health checks of a server with resolvers are
// paused while its name does not resolve, follow the address the DNS
// gives, and resume at full health, side by side with haproxy (the same
// messages in the same order, `show servers state` at each step).
func TestResolversChecks(t *testing.T) {
	port, bes := backendsAt(t, "127.0.0.2", "127.0.0.3")
	bins := []string{haloBin}
	if hb := haproxyBin(); hb != "" {
		bins = append(bins, hb)
	}
	states, logs := map[string][]string{}, map[string]string{}
	for _, bin := range bins {
		name := filepath.Base(bin)
		t.Run(name, func(t *testing.T) {
			ns := dnsServer(t)
			ns.Set("app.test", resolvetest.Record{Rcode: dns.RcodeNameError})
			fe := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			sock := filepath.Join(t.TempDir(), "s.sock")
			cfg := fmt.Sprintf(`global
    stats socket %s level admin
%sresolvers dns
    nameserver ns1 %s
    hold valid 1s
    hold nx 1s
frontend f
    bind %s
    default_backend b
backend b
    option log-health-checks
    option tcp-check
    tcp-check expect rstring ^b[23]
    server s1 app.test:%d check inter 300ms resolvers dns init-addr none resolve-prefer ipv4
`, sock, defaults, ns.Addr, fe, port)
			h := startProc(t, bin, fe, nil, nil, "-db", "-f", writeConfig(t, cfg))
			var st []string
			state := func() string { return serversState(t, sock) }
			st = append(st, state())
			ns.SetAddrs("app.test", "127.0.0.2")
			waitFor(t, "checked UP at 127.0.0.2", 20*time.Second, func() bool { return strings.Contains(messages(h), "status: 3/3 UP.") })
			if got := hello(t, fe); got != "b2" {
				t.Fatalf("traffic went to %q", got)
			}
			st = append(st, state())
			b3 := bes["b3"].served()
			ns.SetAddrs("app.test", "127.0.0.3")
			// The checks alone (no client traffic) now reach 127.0.0.3.
			waitFor(t, "checks at 127.0.0.3", 20*time.Second, func() bool { return bes["b3"].served() >= b3+2 })
			st = append(st, state())
			ns.Set("app.test", resolvetest.Record{Rcode: dns.RcodeNameError})
			waitFor(t, "maintenance", 20*time.Second, func() bool { return strings.Contains(state(), " s1 - 0 32 ") })
			st = append(st, state())
			n := strings.Count(messages(h), "status: 3/3 UP.")
			ns.SetAddrs("app.test", "127.0.0.2")
			waitFor(t, "checks resumed", 20*time.Second, func() bool { return strings.Count(messages(h), "status: 3/3 UP.") > n })
			st = append(st, state())
			states[name] = st
			logs[name] = checkDuration.ReplaceAllString(messages(h), "check duration: Xms")
		})
	}
	if hs, ok := states["haproxy"]; ok {
		for i, s := range states["halo"] {
			if s != hs[i] {
				t.Errorf("show servers state, step %d:\nhalo    %s\nhaproxy %s", i, s, hs[i])
			}
		}
		if logs["halo"] != logs["haproxy"] {
			t.Errorf("messages differ:\nhalo\n%s\nhaproxy\n%s", logs["halo"], logs["haproxy"])
		}
	}
}

// TestResolversHold: an NXDOMAIN within `hold nx` keeps the last valid
// address in service; a name whose queries time out goes to maintenance
// once `hold timeout` has passed since its last valid answer. Side by
// side with haproxy.
func TestResolversHold(t *testing.T) {
	port := backendsOn(t, "127.0.0.2", "127.0.0.3")
	bins := []string{haloBin}
	if hb := haproxyBin(); hb != "" {
		bins = append(bins, hb)
	}
	states := map[string]string{}
	for _, bin := range bins {
		name := filepath.Base(bin)
		t.Run(name, func(t *testing.T) {
			ns := dnsServer(t)
			ns.SetAddrs("app.test", "127.0.0.2")
			ns.SetAddrs("slow.test", "127.0.0.3")
			fe := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			fe2 := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			sock := filepath.Join(t.TempDir(), "s.sock")
			cfg := fmt.Sprintf(`global
    stats socket %s level admin
%sresolvers keep
    nameserver ns1 %s
    hold valid 1s
    hold nx 1h
resolvers fast
    nameserver ns1 %s
    hold valid 1s
    hold timeout 1s
    timeout retry 200ms
    resolve_retries 2
frontend f
    bind %s
    default_backend a
frontend f2
    bind %s
    default_backend s
backend a
    server s1 app.test:%d resolvers keep init-addr none resolve-prefer ipv4
backend s
    server s2 slow.test:%d resolvers fast init-addr none resolve-prefer ipv4
`, sock, defaults, ns.Addr, ns.Addr, fe, fe2, port, port)
			h := startProc(t, bin, fe, nil, nil, "-db", "-f", writeConfig(t, cfg))
			waitFor(t, "both resolved", 20*time.Second, func() bool { return hello(t, fe) == "b2" && hello(t, fe2) == "b3" })
			ns.Set("app.test", resolvetest.Record{Rcode: dns.RcodeNameError})
			ns.Set("slow.test", resolvetest.Record{Drop: true})
			waitFor(t, "timeout maintenance", 20*time.Second, func() bool { return strings.Contains(serversState(t, sock), " s2 - 0 32 ") })
			// Several NXDOMAIN answers later, s1 still serves its last address.
			q := ns.Queries()
			waitFor(t, "more resolutions", 20*time.Second, func() bool { return ns.Queries() >= q+6 })
			if got := hello(t, fe); got != "b2" {
				t.Errorf("within hold nx the server answered %q, want b2", got)
			}
			states[name] = serversState(t, sock)
			want := "Server s/s2 is going DOWN for maintenance (DNS timeout status). 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.\n"
			waitFor(t, "timeout logged", 10*time.Second, func() bool { return strings.Contains(messages(h), want) })
			if strings.Contains(messages(h), "a/s1 is going DOWN") {
				t.Errorf("s1 went down within hold nx:\n%s", messages(h))
			}
		})
	}
	if hs, ok := states["haproxy"]; ok && hs != states["halo"] {
		t.Errorf("show servers state:\nhalo\n%s\nhaproxy\n%s", states["halo"], hs)
	}
}
