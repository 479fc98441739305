package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadDNS loads text with a fake libc resolver: app.test is 127.0.0.2
// and ::2, everything else fails.
func loadDNS(t *testing.T, text string, opts LoadOptions) (*Config, []Diagnostic) {
	t.Helper()
	opts.LookupEnv = func(string) (string, bool) { return "", false }
	opts.Resolve = func(host string) error {
		if host == "app.test" {
			return nil
		}
		return noResolve(host)
	}
	opts.ResolveAddrs = func(host string) ([]netip.Addr, error) {
		if host == "app.test" {
			return []netip.Addr{netip.MustParseAddr("::2"), netip.MustParseAddr("127.0.0.2")}, nil
		}
		return nil, errors.New("not found")
	}
	cfg, err := LoadString("t.cfg", text, opts)
	if err == nil {
		return cfg, cfg.Warnings
	}
	var el *ErrorList
	if !errors.As(err, &el) {
		t.Fatalf("error is %T, want *ErrorList", err)
	}
	return cfg, append(el.Errs, cfg.Warnings...)
}

const dnsBase = base + "resolvers dns\n  nameserver ns1 127.0.0.1:53\n"

// TestResolversSection checks the resolvers keywords and haproxy 2.6.12's
// messages for them (the lines are 6 and 7 of base + "resolvers r\n").
func TestResolversSection(t *testing.T) {
	for _, tc := range []struct {
		name, lines, want string
	}{
		{"nameserver args", "nameserver ns1", "t.cfg:7: 'nameserver' expects <name> and <addr>[:<port>] as arguments."},
		{"nameserver port", "nameserver ns1 1.2.3.4", "t.cfg:7: 'nameserver ns1' : missing port specification in '1.2.3.4'"},
		{"nameserver port 0", "nameserver ns1 127.0.0.1:0", "t.cfg:7: 'nameserver ns1' : invalid port '0'"},
		{"nameserver dup", "nameserver ns1 127.0.0.1:53\n  nameserver ns1 127.0.0.1:54", "t.cfg:8: nameserver 'ns1' has same name as another nameserver (declared at t.cfg:7)."},
		{"nameserver unix", "nameserver ns1 unix@/tmp/x", "t.cfg:7: 'nameserver ns1' : address family 'unix@' of nameserver 'unix@/tmp/x' is not supported by halo (use udp@ or tcp@ with an IP address)"},
		{"payload", "accepted_payload_size 70000", "t.cfg:7: 'accepted_payload_size' must be between 12 and 65535 inclusive (was 70000)."},
		{"payload word", "accepted_payload_size x", "t.cfg:7: 'accepted_payload_size' must be between 12 and 65535 inclusive (was x)."},
		{"timeout kind", "timeout foo 1s", "t.cfg:7: 'timeout' expects 'retry' or 'resolve' and <time> as arguments got 'foo'."},
		{"timeout value", "timeout resolve", "t.cfg:7: 'timeout resolve' expects <time> as argument."},
		{"hold event", "hold foo 1s", "t.cfg:7: 'hold' unknown <event>: 'foo', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'."},
		{"hold args", "hold valid", "t.cfg:7: 'hold' expects an <event> and a <time> as arguments."},
		{"unknown", "bogus 1", "t.cfg:7: unknown keyword 'bogus' in 'resolvers' section"},
		{"retries", "resolve_retries 0", "t.cfg:7: 'resolve_retries' expects a positive number of queries, got '0'."},
		{"no nameserver", "hold valid 1s", "resolvers 'r' [t.cfg:6] has no nameservers configured!"},
		{"extra", "nameserver a 127.0.0.1:53 extra", "t.cfg:7: 'nameserver' : extra argument 'extra' ignored (HAProxy ignores it too)."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := loadDNS(t, base+"resolvers r\n  "+tc.lines+"\n", LoadOptions{})
			for _, d := range diags {
				if d.Error() == tc.want {
					return
				}
			}
			t.Errorf("want %q, got %v", tc.want, diags)
		})
	}
	_, diags := loadDNS(t, base+"resolvers\n", LoadOptions{})
	if len(diags) != 1 || diags[0].Error() != "t.cfg:6: missing name for resolvers section." {
		t.Errorf("unnamed section: %v", diags)
	}
	_, diags = loadDNS(t, base+"resolvers r\n  nameserver a 127.0.0.1:53\nresolvers r\n", LoadOptions{})
	if len(diags) != 1 || diags[0].Error() != "t.cfg:8: resolvers 'r' has same name as another resolvers (declared at t.cfg:6)." {
		t.Errorf("duplicate section: %v", diags)
	}
}

func TestResolversModel(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	os.WriteFile(rc, []byte("search example\nnameserver 127.0.0.53\nnameserver ::1\nnameserver bogus\n"), 0o644)
	cfg, diags := loadDNS(t, base+`resolvers r
  nameserver ns1 127.0.0.1:5353
  nameserver ns2 tcp@[::1]:53
  parse-resolv-conf
  accepted_payload_size 8192
  resolve_retries 5
  timeout resolve 2s
  timeout retry 300ms
  hold valid 3s
  hold nx 4s
  hold obsolete 5s
`, LoadOptions{ResolvConf: rc})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	r := cfg.Resolver("r")
	var ns []string
	for _, n := range r.Nameservers {
		ns = append(ns, n.ID+"="+n.Network+":"+n.Addr.String())
	}
	if got := strings.Join(ns, " "); got != "ns1=udp:127.0.0.1:5353 ns2=tcp:[::1]:53 127.0.0.53=udp:127.0.0.53:53 ::1=udp:[::1]:53" {
		t.Errorf("nameservers %s", got)
	}
	if r.PayloadSize != 8192 || r.Retries != 5 || r.TimeoutResolve != 2*time.Second || r.TimeoutRetry != 300*time.Millisecond ||
		r.Hold.Valid != 3*time.Second || r.Hold.NX != 4*time.Second || r.Hold.Obsolete != 5*time.Second || r.Hold.Other != 30*time.Second {
		t.Errorf("settings %+v", r)
	}
}

// TestServerDNS checks the server options and init-addr, with haproxy
// 2.6.12's messages.
func TestServerDNS(t *testing.T) {
	for _, tc := range []struct {
		name, line, want string
	}{
		{"prefer", "server s app.test:80 resolvers dns resolve-prefer ipv5", "t.cfg:9: 'server s' : 'resolve-prefer' expects either ipv4 or ipv6 as argument."},
		{"init-addr", "server s app.test:80 init-addr foo", "t.cfg:9: 'server s' : 'init-addr' : unknown init-addr method 'foo', supported methods are 'libc', 'last', 'none'."},
		{"net", "server s app.test:80 resolve-net 10.0.0.0/8,x", "t.cfg:9: 'server s' : 'resolve-net' invalid network 'x'."},
		{"opts", "server s app.test:80 resolve-opts foo", "t.cfg:9: 'server s' : 'resolve-opts' : unknown resolve-opts option 'foo', supported methods are 'allow-dup-ip', 'ignore-weight', and 'prevent-dup-ip'."},
		{"unknown resolvers", "server s app.test:80 resolvers nope", "t.cfg:9: backend 'b', server 's': unable to find required resolvers 'nope'"},
		{"libc fails", "server s nx.test:80 resolvers dns init-addr libc", "t.cfg:9: 'server b/s' : could not resolve address 'nx.test'."},
		{"last fails", "server s nx.test:80 resolvers dns init-addr last", "t.cfg:9: 'server b/s' : no method found to resolve address 'nx.test'."},
		{"implicit none", "server s nx.test:80 resolvers dns", "t.cfg:9: 'server b/s' : could not resolve address 'nx.test', disabling server."},
		{"then none", "server s nx.test:80 init-addr last,libc,none", "t.cfg:9: 'server b/s' : could not resolve address 'nx.test', disabling server."},
		{"net without resolvers", "server s app.test:80 resolve-net 127.0.0.0/8", "t.cfg:9: 'server b/s' : 'resolve-net' and 'resolve-opts' have no effect without 'resolvers': the address is found once at start-up (HAProxy ignores them too)."},
		{"template n", "server-template s 0 app.test:80", "t.cfg:9: Wrong server-template number or range arg '0'."},
		{"template range", "server-template s 3-1 app.test:80", "t.cfg:9: Wrong server-template number or range arg '3-1'."},
		{"template args", "server-template s 3", "t.cfg:9: 'server-template' expects <prefix> <nb | range> <addr>[:<port>] as arguments."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := loadDNS(t, dnsBase+"backend b\n  "+tc.line+"\n", LoadOptions{})
			for _, d := range diags {
				if d.Error() == tc.want {
					return
				}
			}
			t.Errorf("want %q, got %v", tc.want, diags)
		})
	}
}

func TestServerInitAddr(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.WriteFile(state, []byte("1\n# be_id be_name srv_id srv_name srv_addr ...\n3 b 1 last 127.0.0.9 2 0 1 1 3 1 0 0 0 0 0 0 nx.test 80 - 0 0 - - 0\n"), 0o644)
	cfg, diags := loadDNS(t, "global\n  server-state-file "+state+"\n"+dnsBase+`backend b
  load-server-state-from-file global
  default-server resolvers dns init-addr none
  server none app.test:80
  server libc4 app.test:80 init-addr libc resolve-prefer ipv4
  server libc6 app.test:80 init-addr libc resolve-prefer ipv6
  server libc app.test:80 init-addr libc
  server ip nx.test:80 init-addr 127.0.0.7
  server last nx.test:80 init-addr last,libc
  server addr 127.0.0.3:80
  server-template t 2-3 app.test:81 init-addr none resolve-opts prevent-dup-ip
  server-template v 2 _http._tcp.app.test check
`, LoadOptions{})
	for _, d := range diags {
		if d.Severity == SevAlert {
			t.Fatal(diags)
		}
	}
	var got []string
	for _, s := range cfg.Proxy("b", CapBackend).Servers {
		got = append(got, s.Name+"="+s.Host+"/"+s.FQDN+"/"+s.SRVRecord+"/"+map[bool]string{true: "maint", false: "ok"}[s.InitMaint])
	}
	want := "none=/app.test//maint libc4=127.0.0.2/app.test//ok libc6=::2/app.test//ok libc=::2/app.test//ok ip=127.0.0.7/nx.test//ok last=127.0.0.9/nx.test//ok addr=127.0.0.3///ok t2=/app.test//maint t3=/app.test//maint v1=/_http._tcp.app.test/_http._tcp.app.test/maint v2=/_http._tcp.app.test/_http._tcp.app.test/maint"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if s := cfg.Proxy("b", CapBackend).Servers[8]; !s.Template || !s.DNS.PreventDupIP || s.Port != 81 {
		t.Errorf("template server %+v", s)
	}
}

// TestHostnameResolvedOnce: a host name without resolvers is resolved at
// start-up (init-addr libc, HAProxy's default) and the address kept.
func TestHostnameResolvedOnce(t *testing.T) {
	cfg, diags := loadDNS(t, base+"backend b\n  server s app.test:80\n", LoadOptions{})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	s := cfg.Proxy("b", CapBackend).Servers[0]
	if s.Host != "::2" || s.FQDN != "app.test" {
		t.Errorf("host %q fqdn %q", s.Host, s.FQDN)
	}
}

// TestDefaultResolvers: `resolvers default` exists without being
// written, with resolv.conf's nameservers, as in HAProxy 2.6.
func TestDefaultResolvers(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "resolv.conf")
	os.WriteFile(rc, []byte("nameserver 127.0.0.53\n"), 0o644)
	cfg, diags := loadDNS(t, base+"backend b\n  server s app.test:80 resolvers default\n", LoadOptions{ResolvConf: rc})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	r := cfg.Resolver("default")
	if r == nil || !r.Implicit || len(r.Nameservers) != 1 || r.Nameservers[0].ID != "127.0.0.53" {
		t.Fatalf("default section %+v", r)
	}
	cfg, _ = loadDNS(t, base+"resolvers default\n  nameserver mine 127.0.0.1:53\n", LoadOptions{ResolvConf: rc})
	if r := cfg.Resolver("default"); r.Implicit || r.Nameservers[0].ID != "mine" || len(cfg.Resolvers) != 1 {
		t.Errorf("a written default section is the one used: %+v", cfg.Resolvers)
	}
}
