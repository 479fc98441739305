package config

import (
	"strings"
	"testing"
	"time"
)

// TestServerHealthOptions covers the server options of slow start,
// dynamic maxconn, passive health and the marked-down/up actions: their
// model, defaults and HAProxy's error texts.
func TestServerHealthOptions(t *testing.T) {
	be := func(srv string) string {
		return base + "backend b\n  mode http\n  server s 127.0.0.1:80 " + srv + "\n"
	}
	t.Run("model", func(t *testing.T) {
		cfg, errs := load(t, be("check slowstart 30s minconn 10 maxconn 100 observe layer7 on-error sudden-death error-limit 5 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions"))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		s := cfg.Proxy("b", CapBackend).Servers[0]
		if s.SlowStart != 30*time.Second || s.MinConn != 10 || s.MaxConn != 100 || s.Observe != ObserveLayer7 ||
			s.OnError != OnErrorSuddenDeath || s.ErrorLimit != 5 || !s.ShutdownOnDown || !s.ShutdownBackupsOnUp {
			t.Errorf("server %+v", s)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		cfg, errs := load(t, be("check"))
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		s := cfg.Proxy("b", CapBackend).Servers[0]
		if s.SlowStart != 0 || s.Observe != ObserveNone || s.OnError != OnErrorFailCheck || s.ErrorLimit != 10 || s.ShutdownOnDown || s.ShutdownBackupsOnUp {
			t.Errorf("server %+v", s)
		}
	})
	t.Run("default-server", func(t *testing.T) {
		cfg, errs := load(t, base+"backend b\n  default-server check observe layer4 on-error mark-down error-limit 2 slowstart 1m\n  server s 127.0.0.1:80\n")
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		s := cfg.Proxy("b", CapBackend).Servers[0]
		if s.Observe != ObserveLayer4 || s.OnError != OnErrorMarkDown || s.ErrorLimit != 2 || s.SlowStart != time.Minute {
			t.Errorf("server %+v", s)
		}
	})
	// minconn and maxconn as HAProxy settles them (its stats show the
	// resulting maxconn as slim).
	for _, tc := range []struct {
		opts       string
		minc, maxc int
	}{
		{"maxconn 10", 10, 10},
		{"minconn 10", 10, 10},
		{"minconn 20 maxconn 10", 20, 20},
		{"minconn 5 maxconn 50", 5, 50},
		{"", 0, 0},
	} {
		cfg, errs := load(t, be(tc.opts))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", tc.opts, errs)
		}
		s := cfg.Proxy("b", CapBackend).Servers[0]
		if s.MinConn != tc.minc || s.MaxConn != tc.maxc {
			t.Errorf("%q: minconn %d maxconn %d, want %d %d", tc.opts, s.MinConn, s.MaxConn, tc.minc, tc.maxc)
		}
	}
	for _, tc := range []struct{ opts, want string }{
		{"observe foo", "t.cfg:8: 'server s' : 'observe' expects one of 'none', 'layer4', 'layer7' but got 'foo'"},
		{"on-error foo", "t.cfg:8: 'server s' : 'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got 'foo'"},
		{"on-marked-down foo", "t.cfg:8: 'server s' : 'on-marked-down' expects 'shutdown-sessions' but got 'foo'"},
		{"on-marked-up foo", "t.cfg:8: 'server s' : 'on-marked-up' expects 'shutdown-backup-sessions' but got 'foo'"},
		{"error-limit 0", "t.cfg:8: 'server s' : 'error-limit' has to be > 0"},
		{"error-limit x", "t.cfg:8: 'server s' : 'error-limit' has to be > 0"},
		{"slowstart x", "t.cfg:8: 'server s' : 'slowstart'"},
	} {
		_, errs := load(t, be(tc.opts))
		if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), tc.want) {
			t.Errorf("%q: errors %v, want %q", tc.opts, errs, tc.want)
		}
	}
	// slowstart 0 is valid (no slow start), as in HAProxy.
	if _, errs := load(t, be("slowstart 0")); len(errs) > 0 {
		t.Errorf("slowstart 0: %v", errs)
	}
}

// TestObserveWithoutEffect: observe without check, or layer7 in a tcp
// proxy, changes nothing, and halo -c says so instead of staying silent.
func TestObserveWithoutEffect(t *testing.T) {
	for _, tc := range []struct{ text, warn string }{
		{base + "backend b\n  server s 127.0.0.1:80 observe layer4\n", "t.cfg:7: 'server b/s' : 'observe' has no effect without 'check'"},
		{base + "backend b\n  server s 127.0.0.1:80 check observe layer7\n", "t.cfg:7: 'server b/s' : 'observe layer7' has no effect: it can only be used in http proxies"},
	} {
		cfg, errs := load(t, tc.text)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		found := false
		for _, w := range cfg.Warnings {
			found = found || strings.HasPrefix(w.Error(), tc.warn)
		}
		if !found {
			t.Errorf("warnings %v, want %q", cfg.Warnings, tc.warn)
		}
		if s := cfg.Proxy("b", CapBackend).Servers[0]; s.Observe != ObserveNone {
			t.Errorf("observe left at %v", s.Observe)
		}
	}
}

// TestTCPCheckConnectSSL: `tcp-check connect ssl` makes the checks speak
// TLS with the server's settings (it was parsed and ignored), with the
// same CA rule as check-ssl; mixing TLS and clear-text connects is
// refused rather than run wrong.
func TestTCPCheckConnectSSL(t *testing.T) {
	prog := base + "backend b\n  option tcp-check\n  tcp-check connect ssl\n  tcp-check send PING\\r\\n\n  tcp-check expect string +PONG\n"
	cfg, errs := load(t, prog+"  server s 127.0.0.1:6379 check verify none\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if s := cfg.Proxy("b", CapBackend).Servers[0]; !s.CheckSSL || s.SSL == nil || s.SSL.Config == nil || s.SSL.Enabled {
		t.Errorf("server %+v: checks must use TLS, traffic stays clear", s)
	}
	if _, errs := load(t, prog+"  server s 127.0.0.1:6379 check\n"); len(errs) == 0 || !strings.Contains(errs[0].Error(), "verify is enabled by default but no CA file specified") {
		t.Errorf("without verify none: %v", errs)
	}
	for _, mixed := range []string{
		base + "backend b\n  option tcp-check\n  tcp-check send PING\\r\\n\n  tcp-check connect ssl port 6380\n  server s 127.0.0.1:6379 check verify none\n",
		base + "backend b\n  option tcp-check\n  tcp-check connect ssl\n  tcp-check connect port 6380\n  server s 127.0.0.1:6379 check verify none\n",
	} {
		if _, errs := load(t, mixed); len(errs) == 0 || !strings.Contains(errs[0].Error(), "is not supported by halo yet; add 'ssl' to every connect rule") {
			t.Errorf("mixed program: %v", errs)
		}
	}
}

// TestListenerRefusals: what listeners cannot do is refused by -c with
// file:line (it used to pass -c and fail only at start-up), and the
// PROXY protocol options are plain supported options now.
func TestListenerRefusals(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{base + "frontend f\n  bind /run/x.sock\n", "t.cfg:7: 'bind /run/x.sock' : unix socket listeners are not supported by halo yet"},
		{base + "frontend f\n  bind 127.0.0.1:8080 proto h2\n", "t.cfg:7: frontend 'f' : MUX protocol 'h2' is not usable for 'bind 127.0.0.1:8080'"},
	} {
		_, errs := load(t, tc.text)
		if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), tc.want) {
			t.Errorf("errors %v, want %q", errs, tc.want)
		}
	}
	cfg, errs := load(t, base+"frontend f\n  bind 127.0.0.1:8080 accept-proxy\n  default_backend b\nbackend b\n  server s 127.0.0.1:80 send-proxy-v2 check-send-proxy\n  server t 127.0.0.1:80 send-proxy no-send-proxy\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s, u := cfg.Proxy("b", CapBackend).Servers[0], cfg.Proxy("b", CapBackend).Servers[1]
	if !cfg.Proxy("f", CapFrontend).Binds[0].AcceptProxy || !s.SendProxyV2 || !s.CheckSendProxy || u.SendProxy {
		t.Errorf("bind %+v, servers %+v %+v", cfg.Proxy("f", CapFrontend).Binds[0], s, u)
	}
}

// TestTCPCheckComments: a `tcp-check comment` rule names the rule after
// it (the field was parsed and never shown), a rule's own comment wins,
// and `tcp-check send ... comment` keeps its comment.
func TestTCPCheckComments(t *testing.T) {
	cfg, errs := load(t, base+"backend b\n  option tcp-check\n  tcp-check comment first\n  tcp-check send PING\\r\\n comment own\n  tcp-check comment second\n  tcp-check expect string +PONG\n  tcp-check expect string x\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, st := range cfg.Proxy("b", CapBackend).Check.TCPSteps {
		got = append(got, st.Comment)
	}
	if strings.Join(got, ",") != "first,own,second,second," {
		t.Errorf("comments %q", got)
	}
}

// TestHTTPCheckExpectComment: `http-check expect ... comment <text>`
// (before or after the pattern) loads as in HAProxy; it was refused.
func TestHTTPCheckExpectComment(t *testing.T) {
	for _, line := range []string{"http-check expect status 200 comment \"exp c\"", "http-check expect comment \"exp c\" status 200"} {
		cfg, errs := load(t, base+"backend b\n  option httpchk\n  "+line+"\n")
		if len(errs) > 0 {
			t.Fatalf("%s: %v", line, errs)
		}
		if e := cfg.Proxy("b", CapBackend).Check.HTTP.Expect; e == nil || e.Comment != "exp c" || e.Value != "200" {
			t.Errorf("%s: %+v", line, e)
		}
	}
}

// TestTCPCheckConnectLinger: `tcp-check connect ... linger` (the manual's
// POP example) loads: halo's checks always close cleanly, which is what
// linger asks for; it was refused.
func TestTCPCheckConnectLinger(t *testing.T) {
	cfg, errs := load(t, base+"backend b\n  option tcp-check\n  tcp-check connect port 110 linger\n  tcp-check expect string +OK\n  server s 127.0.0.1:110 check\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if st := cfg.Proxy("b", CapBackend).Check.TCPSteps[0]; st.Action != TCPCheckConnect || st.Port != 110 {
		t.Errorf("step %+v", st)
	}
}
