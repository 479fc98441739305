package kaconf

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/vrrp"
	"github.com/halo-lb/halo/internal/vrrp/node"
)

const guide = `! the guide's configuration
global_defs {
   router_id lb1
}
vrrp_script chk_haproxy {
    script "killall -0 haproxy"   # cheap check
    interval 2
    weight 2
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 101
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secretpassword
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth0 label eth0:1
    }
    track_script {
        chk_haproxy
    }
    notify "/usr/local/bin/notify.sh n1"
}
`

func TestGuide(t *testing.T) {
	cfg, warns, err := Parse("guide.conf", []byte(guide))
	warns = slices.DeleteFunc(warns, func(w string) bool { return strings.Contains(w, "/usr/local/bin/notify.sh") })
	// router_id is accepted with a warning that it changes nothing here.
	if err != nil || len(warns) != 2 || !strings.Contains(warns[0], "'router_id' has no effect") || warns[1] != SecurityViolation {
		t.Fatalf("err %v warns %v", err, warns)
	}
	if len(cfg.Instances) != 1 || len(cfg.Checks) != 1 {
		t.Fatalf("%+v", cfg)
	}
	in := cfg.Instances[0]
	want := vrrp.VIP{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Dev: "eth0", Label: "eth0:1"}
	if in.Name != "VI_1" || in.VRID != 51 || in.Priority != 101 || !in.StateMaster || in.Version != 2 ||
		in.AdvertInterval != 100 || in.AuthType != vrrp.AuthPass || in.AuthPass != "secretpa" ||
		len(in.VIPs) != 1 || in.VIPs[0] != want || !in.FastPreempt || in.GARPRepeat != 5 || in.GARPDelay != 5*time.Second {
		t.Fatalf("%+v", in.InstanceConfig)
	}
	c := cfg.Checks[0]
	if c.Kind != node.CheckScript || strings.Join(c.Argv, " ") != "killall -0 haproxy" || c.Interval != 2*time.Second || c.Weight != 2 {
		t.Fatalf("%+v", c)
	}
	if len(in.TrackChecks) != 1 || in.TrackChecks[0].Name != "chk_haproxy" || strings.Join(in.Notify.Any, " ") != "/usr/local/bin/notify.sh n1" {
		t.Fatalf("%+v %+v", in.TrackChecks, in.Notify)
	}
}

func TestDefaultsAndV3(t *testing.T) {
	cfg, _, err := Parse("x.conf", []byte(`
vrrp_track_halo proxy {
  address 127.0.0.1:80
  interval 0.05
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 7
  advert_int 0.1
  virtual_ipaddress {
    2001:db8::100
  }
  track_halo {
    proxy weight -20
  }
  unicast_peer {
    2001:db8::2
  }
}
vrrp_instance M {
  state MASTER
  interface eth0
  virtual_router_id 8
  advert_int 1.4
  virtual_ipaddress {
    192.0.2.1
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	v6, m := cfg.Instances[0], cfg.Instances[1]
	if v6.Version != 3 || v6.AdvertInterval != 10 || v6.Priority != 100 || v6.VIPs[0].Prefix.Bits() != 128 ||
		len(v6.UnicastPeers) != 1 || v6.TrackChecks[0].Weight != -20 || !v6.TrackChecks[0].HasWeight {
		t.Fatalf("%+v", v6)
	}
	if m.Priority != 255 || m.AdvertInterval != 100 || m.VIPs[0].Prefix.Bits() != 32 {
		t.Fatalf("state MASTER without priority is 255, v2 rounds 1.4 to 1 s: %+v", m.InstanceConfig)
	}
	if cfg.Checks[0].Kind != node.CheckHalo || cfg.Checks[0].Interval != 50*time.Millisecond {
		t.Fatalf("%+v", cfg.Checks[0])
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ conf, want string }{
		{"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 300\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n", "x.conf:4: number '300' outside range [1, 255]"},
		{"vrrp_instance VI_1 {\n bogus_keyword\n}\n", "x.conf:2: unknown keyword 'bogus_keyword' in vrrp_instance"},
		{"vrrp_instance VI_1 {\n interface eth0\n", "missing '}'"},
		{"}\n", "x.conf:1: unexpected '}'"},
		{"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 192.0.2.1\n 2001:db8::1\n }\n}\n", "mixed"},
		{"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n version 3\n authentication {\n auth_type PASS\n }\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n", "authentication is not supported with VRRPv3"},
		{"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 192.0.2.300\n }\n}\n", "invalid virtual ip address"},
	}
	for _, tt := range tests {
		_, _, err := Parse("x.conf", []byte(tt.conf))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err %v, want %q", tt.conf, err, tt.want)
		}
	}
}

func TestInclude(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inst.conf"), []byte("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n"), 0o600)
	main := filepath.Join(dir, "main.conf")
	os.WriteFile(main, []byte("include inst.conf\n"), 0o600)
	cfg, _, err := Load(main)
	if err != nil || len(cfg.Instances) != 1 {
		t.Fatalf("%v %+v", err, cfg)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(guide))
	f.Add([]byte("vrrp_instance V { interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 2001:db8::1 dev eth0 scope link\n}\n unicast_peer {\n 192.0.2.1\n}\n}"))
	f.Add([]byte("vrrp_script s {\n script \"a \\\"b\\\" 'c'\"\n weight -2 reverse\n}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Contains(b, []byte("include")) {
			return // includes read other files (TestInclude covers them)
		}
		cfg, _, err := Parse("fuzz.conf", b)
		if err != nil {
			return
		}
		for _, in := range cfg.Instances {
			if in.Validate() != nil {
				t.Fatalf("accepted an invalid instance %+v", in)
			}
		}
	})
}

func TestSyncGroupParse(t *testing.T) {
	cfg, _, err := Parse("s.conf", []byte(`vrrp_script chk {
  script "/bin/true"
  weight 20
}
vrrp_sync_group G {
  group {
    A
    B
  }
  notify "/bin/notify g"
}
vrrp_instance A {
  interface eth0
  virtual_router_id 1
  virtual_ipaddress {
    192.0.2.1
  }
  track_script {
    chk
  }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress {
    192.0.2.2
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.SyncGroups[0]
	if g.Name != "G" || strings.Join(g.Members, ",") != "A,B" || strings.Join(g.Notify.Any, " ") != "/bin/notify g" {
		t.Fatalf("%+v", g)
	}
	if r := cfg.Instances[0].TrackChecks[0]; !r.HasWeight || r.Weight != 0 {
		t.Fatalf("track weight in a sync group must be forced to 0: %+v", r)
	}
	if _, _, err := Parse("s.conf", []byte("vrrp_sync_group G {\n group {\n X\n }\n}\n")); err == nil || !strings.Contains(err.Error(), "unknown vrrp_instance X") {
		t.Fatalf("unknown member: %v", err)
	}
}

func TestScriptUser(t *testing.T) {
	cfg, _, err := Parse("u.conf", []byte("global_defs {\n script_user nobody\n enable_script_security\n}\nvrrp_script a {\n script /bin/true\n}\nvrrp_script b {\n script /bin/true\n user root\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Checks {
		switch c.Name {
		case "a":
			if c.Cred == nil || c.Cred.Uid != 65534 {
				t.Errorf("a runs as %+v, want nobody", c.Cred)
			}
		case "b":
			if c.Cred != nil && c.Cred.Uid != 0 {
				t.Errorf("b runs as %+v, want root", c.Cred)
			}
		}
	}
	if _, _, err := Parse("u.conf", []byte("global_defs {\n script_user no_such_user_x\n}\n")); err == nil {
		t.Error("unknown script_user accepted")
	}
}

func TestMulticastOptions(t *testing.T) {
	cfg, _, err := Parse("m.conf", []byte("global_defs {\n vrrp_mcast_group4 224.0.0.100\n vrrp_skip_check_adv_addr\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 1\n unicast_ttl 64\n virtual_ipaddress {\n 192.0.2.1\n }\n}\nvrrp_instance B {\n interface eth0\n virtual_router_id 2\n mcast_dst_ip 224.0.0.200\n virtual_ipaddress {\n 192.0.2.2\n }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Instances[0], cfg.Instances[1]
	if a.McastGroup.String() != "224.0.0.100" || !a.SkipCheckAdvAddr || a.UnicastTTL != 64 || b.McastGroup.String() != "224.0.0.200" {
		t.Fatalf("%+v %+v", a.InstanceConfig, b.InstanceConfig)
	}
	if _, _, err := Parse("m.conf", []byte("vrrp_instance A {\n interface eth0\n virtual_router_id 1\n mcast_dst_ip 192.0.2.1\n virtual_ipaddress {\n 192.0.2.1\n }\n}\n")); err == nil {
		t.Error("unicast mcast_dst_ip accepted")
	}
}

// TestScriptSecurity checks the exact reasons given for unsafe scripts.
func TestScriptSecurity(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	safe := filepath.Join(dir, "safe.sh")
	os.WriteFile(safe, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	loose := filepath.Join(dir, "loose.sh")
	os.WriteFile(loose, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	os.Chmod(loose, 0o777)
	if os.Getuid() != 0 {
		t.Skip("ownership rules are checked as root")
	}
	conf := func(script string) string {
		return "global_defs {\n  enable_script_security\n  script_user root\n}\nvrrp_script chk {\n  script \"" + script + "\"\n}\n" +
			"vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 7\n  priority 100\n  virtual_ipaddress {\n    192.0.2.9\n  }\n  track_script {\n    chk\n  }\n}\n"
	}
	if _, _, err := Parse("ok.conf", []byte(conf(safe))); err != nil {
		t.Errorf("safe script refused: %v", err)
	}
	_, _, err := Parse("bad.conf", []byte(conf(loose)))
	if err == nil || !strings.Contains(err.Error(), loose+" is writable by every user (mode 0777)") {
		t.Errorf("unsafe script: %v", err)
	}
}
