package config

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// sharedDir finds ../shared beside the repository checkout.
func sharedDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	for _, d := range []string{filepath.Join(root, "..", "shared"), "/work/shared"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	t.Skip("shared/ folder (seed configs, corpus) not found beside the checkout")
	return ""
}

func noResolve(host string) error {
	if host == "localhost" {
		return nil
	}
	return errors.New("not found")
}

const base = "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n"

func load(t *testing.T, text string) (*Config, []Diagnostic) {
	t.Helper()
	cfg, err := LoadString("t.cfg", text, LoadOptions{LookupEnv: func(k string) (string, bool) {
		if k == "BA" {
			return "127.0.0.2", true
		}
		return "", false
	}, Resolve: noResolve})
	if err == nil {
		return cfg, nil
	}
	var el *ErrorList
	if !errors.As(err, &el) {
		t.Fatalf("error is %T, want *ErrorList", err)
	}
	return cfg, el.Errs
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown keyword", base + "frontend f\n  bind :80\n  balanse roundrobin\n", "t.cfg:8: unknown keyword 'balanse' in 'frontend' section; did you mean 'balance'?"},
		{"unknown option", base + "backend b\n  option foo\n", "t.cfg:7: unknown option 'foo'"},
		{"bad timeout", base + "backend b\n  timeout klient 1s\n", "t.cfg:7: 'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got 'klient'); did you mean 'client'?"},
		{"weight", base + "backend b\n  server s 127.0.0.1:80 weight 300\n", "t.cfg:7: 'server s' : 'weight' weight of server s is not within 0 and 256 (300)"},
		{"removed", base + "frontend f\n  bind :80\n  reqadd X-Foo:\\ bar\n", "t.cfg:8: The 'reqadd' directive is not supported anymore since HAProxy 2.1. Use 'http-request add-header' instead."},
		{"unsupported", base + "backend b\n  stick on src\n", "t.cfg:7: 'stick' is a valid HAProxy keyword that halo does not support yet."},
		{"default_backend", base + "frontend f\n  bind :80\n  default_backend nope\n", "t.cfg:8: Proxy 'f': unable to find required default_backend: 'nope'."},
		{"mode mismatch", base + "frontend f\n  mode http\n  bind :80\n  default_backend b\nbackend b\n  server s 127.0.0.1:80\n", "t.cfg:9: http frontend 'f' (t.cfg:6) tries to use incompatible tcp backend 'b' (t.cfg:10) as its default backend (see 'mode')."},
		{"bind port", base + "frontend f\n  bind 127.0.0.1:\n", "t.cfg:7: 'bind' : missing port specification in '127.0.0.1:'"},
		{"missing LF", base + "frontend f\n  bind :80", "t.cfg:7: Missing LF on last line, file might have been truncated at position 11."},
		{"unresolvable", base + "backend b\n  server s nosuchhost:80\n", "t.cfg:7: 'server b/s' : could not resolve address 'nosuchhost'."},
		{"ssl verify", base + "backend b\n  server s 127.0.0.1:443 ssl\n", "t.cfg:7: 'server b/s' : verify is enabled by default but no CA file specified."},
		{"acl", base + "frontend f\n  bind :80\n  use_backend b if { nosuchfetch }\nbackend b\n", "t.cfg:8: error detected while parsing 'if' condition : anonymous ACL: unknown fetch method 'nosuchfetch'"},
		{"no such acl", base + "frontend f\n  bind :80\n  use_backend b if is_foo\nbackend b\n", "t.cfg:8: error detected while parsing 'if' condition : no such ACL : 'is_foo'"},
		{"external-check global", base + "backend b\n  option external-check\n  external-check command /bin/true\n", "t.cfg:7: Proxy 'b' : 'option external-check' unable to find required 'global.external-check'."},
		{"external-check command", "global\n  external-check\n  insecure-fork-wanted\n" + base + "backend b\n  option external-check\n", "t.cfg:10: Proxy 'b' : 'option external-check' unable to find required 'external-check command'."},
		{"external-check word", base + "backend b\n  external-check cmd /bin/true\n", "t.cfg:7: 'external-check' only supports 'command' and 'path'. but got 'cmd'."},
		{"external-check arg", base + "backend b\n  external-check path\n", "t.cfg:7: missing argument after 'path'."},
		{"external-check extra", base + "backend b\n  external-check command /bin/true x\n", "t.cfg:7: 'external-check' cannot handle unexpected argument 'x'."},
		{"global external-check extra", "global\n  external-check preserve-env\n", "t.cfg:2: 'external-check' cannot handle unexpected argument 'preserve-env'."},
		{"set-log-level", base + "frontend f\n  mode http\n  bind :80\n  http-request set-log-level loud\n", "t.cfg:9: 'http-request set-log-level' : unknown log level 'loud' (emerg, alert, crit, err, warning, notice, info, debug or silent)"},
		{"capture id", base + "frontend f\n  mode http\n  bind :80\n  http-request capture req.hdr(host) id 0\n", "t.cfg:9: 'http-request capture ... id <n>' is a valid HAProxy form that halo does not support yet (it needs 'declare capture'); use 'len <n>'"},
		{"capture backend", base + "backend b\n  mode http\n  http-request capture req.hdr(host) len 5\n", "t.cfg:8: 'http-request capture <sample> len <n>' is only allowed in a frontend or listen section"},
		{"unset-var args", base + "frontend f\n  mode http\n  bind :80\n  http-request unset-var(txn.a) x\n", "t.cfg:9: 'http-request unset-var(txn.a)' expects no argument before the condition"},
		{"set-var-fmt scope", base + "frontend f\n  mode http\n  bind :80\n  http-request set-var-fmt(a) x\n", "t.cfg:9: 'http-request set-var-fmt' : variable name 'a' must be <scope>.<name>"},
		{"stats show-modules", base + "frontend f\n  mode http\n  bind :80\n  stats show-modules\n", "t.cfg:9: 'stats show-modules' is a valid HAProxy keyword that halo does not support yet (the page has no module counters); remove the line"},
		{"unsupported section", "peers p\n  peer a 127.0.0.1:1\n", "t.cfg:1: section 'peers' is recognised but not supported by halo yet"},
		{"dup proxy", base + "backend b\nbackend b\n", "t.cfg:7: backend 'b' has the same name as backend 'b' declared at t.cfg:6"},
		{"out of section", "bind :80\n", "t.cfg:1: unknown keyword 'bind' out of section"},
		{"unterminated if", ".if defined(X)\nglobal\n", "t.cfg:1: unterminated '.if' block"},
		{"set-var scope", base + "frontend f\n  mode http\n  bind :80\n  http-request set-var(user) src\n", "t.cfg:9: 'http-request set-var' : variable name 'user' must be <scope>.<name>"},
		{"set-var fetch", base + "frontend f\n  mode http\n  bind :80\n  http-request set-var(txn.a) srcc\n", "t.cfg:9: 'http-request set-var(txn.a)' : unknown fetch method 'srcc'; did you mean 'src'?"},
		{"format converter", base + "frontend f\n  mode http\n  bind :80\n  http-request set-header X %[src,lowr]\n", "t.cfg:9: 'http-request set-header' in log-format expression '%[src,lowr]': unknown converter 'lowr'"},
		{"format bracket", base + "frontend f\n  mode http\n  bind :80\n  http-request set-header X %[src\n", "t.cfg:9: 'http-request set-header' missing ']' in log-format expression"},
		{"yescrypt", "userlist u\n  user a password $y$j9T$abc$def\n", "t.cfg:2: user 'a' in userlist 'u': unsupported password hash $y$: halo verifies SHA-512 ($6$) and SHA-256 ($5$) crypt hashes"},
		{"forwardfor except", base + "frontend f\n  mode http\n  bind :80\n  option forwardfor except nonsense\n", "t.cfg:9: 'option forwardfor except' expects a network, got 'nonsense'"},
		{"pattern file", base + "frontend f\n  bind :80\n  acl bad src -f /nonexistent/list\n", "t.cfg:8: error detected while parsing ACL 'bad' : failed to open pattern file </nonexistent/list>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := load(t, tc.text)
			if len(errs) == 0 {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(errs[0].Error(), tc.want) {
				t.Errorf("got  %q\nwant %q", errs[0].Error(), tc.want)
			}
		})
	}
}

// TestPredefinedLogFormats: every format option compiles (httpslog's
// fetches included).
func TestPredefinedLogFormats(t *testing.T) {
	for _, opt := range []string{"tcplog", "httplog", "httplog clf", "httpslog"} {
		_, errs := load(t, base+"frontend f\n  mode http\n  bind :80\n  option "+opt+"\n")
		if len(errs) > 0 {
			t.Errorf("option %s: %v", opt, errs)
		}
	}
}

func TestLoadModel(t *testing.T) {
	cfg, errs := load(t, `global
    maxconn 4000
    spread-checks 5
defaults
    mode tcp
    timeout connect 5000
    timeout client 1m
    timeout server 1m
    retries 5
    option redispatch
    default-server inter 3s fall 4
frontend fe
    bind 127.0.0.1:8000-8002,:9000 transparent
    bind "fd@${NOPE-3}"
    maxconn 100
    acl local src 127.0.0.0/8
    use_backend be2 if local
    default_backend be
backend be
    balance leastconn
    option tcp-check
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    server s1 ${BA}:6379 check
    server s2 127.0.0.3:6379 check port 7000 weight 0 backup
backend be2
    balance random(3)
    hash-type consistent djb2
    option httpchk GET /healthz
    http-check expect status 200
    server a 127.0.0.1:+1 check rise 5 maxconn 10 maxqueue 2
listen both
    bind :7000
    server x 127.0.0.1
`)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if cfg.Global.MaxConn != 4000 || cfg.Global.SpreadChecks != 5 {
		t.Errorf("global: %+v", cfg.Global)
	}
	fe := cfg.Proxy("fe", CapFrontend)
	if len(fe.Binds) != 3 || fe.Binds[0].PortLow != 8000 || fe.Binds[0].PortHigh != 8002 || !fe.Binds[0].Transparent || fe.Binds[1].PortLow != 9000 || fe.Binds[2].Network != "fd" || fe.Binds[2].FD != 3 {
		t.Errorf("binds: %+v %+v %+v", fe.Binds[0], fe.Binds[1], fe.Binds[2])
	}
	if fe.MaxConn != 100 || fe.DefaultBackend.Backend == nil || fe.DefaultBackend.Backend.Name != "be" || fe.UseBackends[0].Backend.Name != "be2" || fe.UseBackends[0].Cond == nil {
		t.Errorf("frontend routing wrong")
	}
	be := cfg.Proxy("be", CapBackend)
	if be.Balance.Algo != AlgoLeastConn || be.Retries != 5 || be.Redispatch != -1 || be.Timeouts.Connect != 5*time.Second || be.Check.Kind != CheckTCP || len(be.Check.TCPSteps) != 2 {
		t.Errorf("backend be: %+v", be)
	}
	if string(be.Check.TCPSteps[0].Data) != "PING\r\n" || string(be.Check.TCPSteps[1].Pattern) != "+PONG" {
		t.Errorf("tcp-check steps: %+v", be.Check.TCPSteps)
	}
	s1, s2 := be.Servers[0], be.Servers[1]
	if s1.Host != "127.0.0.2" || s1.Port != 6379 || !s1.Check || s1.Inter != 3*time.Second || s1.Fall != 4 || s1.Rise != 2 || s1.ID != 1 || s1.FastInter != 3*time.Second {
		t.Errorf("s1: %+v", s1)
	}
	if s2.Weight != 0 || !s2.Backup || s2.CheckPort != 7000 || s2.ID != 2 {
		t.Errorf("s2: %+v", s2)
	}
	be2 := cfg.Proxy("be2", CapBackend)
	if be2.Balance.Algo != AlgoRandom || be2.Balance.Draws != 3 || be2.Balance.HashType != HashConsistent || be2.Balance.HashFunc != "djb2" {
		t.Errorf("be2 balance: %+v", be2.Balance)
	}
	if be2.Check.Kind != CheckHTTP || be2.Check.HTTP.Method != "GET" || be2.Check.HTTP.URI != "/healthz" || be2.Check.HTTP.Expect.Value != "200" {
		t.Errorf("be2 check: %+v", be2.Check)
	}
	a := be2.Servers[0]
	if !a.PortMap || a.PortOffset != 1 || a.Rise != 5 || a.MaxConn != 10 || a.MaxQueue != 2 {
		t.Errorf("be2/a: %+v", a)
	}
	if l := cfg.Proxy("both", CapListen); l == nil || l.Cap != CapListen || len(l.Servers) != 1 {
		t.Errorf("listen section wrong")
	}
	if !cfg.HasListeners() {
		t.Errorf("HasListeners false")
	}
}

func TestMissingTimeoutWarning(t *testing.T) {
	cfg, errs := load(t, "frontend f\n  bind :80\n  default_backend b\nbackend b\n  server s 127.0.0.1:80\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var msgs []string
	for _, w := range cfg.Warnings {
		msgs = append(msgs, w.Msg)
	}
	sort.Strings(msgs)
	if len(msgs) != 2 || !strings.HasPrefix(msgs[0], "missing timeouts for backend 'b'.") || !strings.Contains(msgs[0], "'connect', 'server'.") || !strings.Contains(msgs[1], "frontend 'f'") {
		t.Errorf("warnings: %q", msgs)
	}
}

func TestDefaultsInheritance(t *testing.T) {
	cfg, errs := load(t, `defaults first
    mode http
    timeout client 3s
    timeout connect 1s
    timeout server 1s
defaults
    mode tcp
    timeout client 9s
    timeout connect 1s
    timeout server 1s
frontend a
    bind :80
frontend b from first
    bind :81
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	a, b := cfg.Proxy("a", CapFrontend), cfg.Proxy("b", CapFrontend)
	if a.Mode != ModeTCP || a.Timeouts.Client != 9*time.Second {
		t.Errorf("a inherits the last defaults: %v %v", a.Mode, a.Timeouts.Client)
	}
	if b.Mode != ModeHTTP || b.Timeouts.Client != 3*time.Second {
		t.Errorf("b inherits 'first': %v %v", b.Mode, b.Timeouts.Client)
	}
}

func TestConditionalBlocks(t *testing.T) {
	cfg, errs := load(t, `.if defined(BA)
global
    maxconn 10
.elif 1
global
    maxconn 20
.else
global
    maxconn 30
.endif
.if !defined(BA)
    nbthread 4
.endif
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if cfg.Global.MaxConn != 10 || cfg.Global.NbThread != 0 {
		t.Errorf("got maxconn %d nbthread %d", cfg.Global.MaxConn, cfg.Global.NbThread)
	}
}

// TestSeedConfigs checks that every configuration of the guide loads.
func TestSeedConfigs(t *testing.T) {
	shared := sharedDir(t)
	dir := t.TempDir()
	out, err := exec.Command("bash", filepath.Join(shared, "seed-configs", "make-certs.sh"), dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make-certs.sh: %v\n%s", err, out)
	}
	seeds, _ := filepath.Glob(filepath.Join(shared, "seed-configs", "*.cfg"))
	if len(seeds) == 0 {
		t.Fatal("no seed configs")
	}
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	for _, s := range seeds {
		t.Run(filepath.Base(s), func(t *testing.T) {
			data, _ := os.ReadFile(s)
			dst := filepath.Join(dir, filepath.Base(s))
			os.WriteFile(dst, data, 0o644)
			if _, err := Load([]string{dst}, LoadOptions{}); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

// TestCorpusAgainstHAProxy runs the real haproxy -c and halo on each
// corpus file: whatever HAProxy refuses, halo must refuse too (with a
// file:line reason); what HAProxy accepts, halo accepts or refuses with a
// "not supported by halo yet" reason.
func TestCorpusAgainstHAProxy(t *testing.T) {
	shared := sharedDir(t)
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	files, _ := filepath.Glob(filepath.Join(shared, "corpus", "haproxy", "*.cfg"))
	accepted := 0
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			hapOK := exec.Command(haproxy, "-c", "-f", f).Run() == nil
			_, err := Load([]string{f}, LoadOptions{})
			switch {
			case !hapOK && err == nil:
				t.Errorf("haproxy refuses this file but halo accepts it")
			case err != nil:
				var el *ErrorList
				if !errors.As(err, &el) || len(el.Errs) == 0 || el.Errs[0].Pos.Line == 0 && !strings.Contains(el.Errs[0].Msg, "resolve") {
					t.Errorf("error without file:line: %v", err)
				}
				if hapOK && !strings.Contains(err.Error(), "halo") {
					t.Errorf("haproxy accepts this file; halo must say it is a halo limitation, got: %v", err)
				}
			default:
				accepted++
			}
		})
	}
	t.Logf("%d of %d corpus files accepted", accepted, len(files))
}

func FuzzLoad(f *testing.F) {
	f.Add(base + "frontend f\n  bind :80\n  default_backend b\nbackend b\n  server s 127.0.0.1:80 check\n")
	f.Add("global\n  setenv X \"a b\"\n  log \"${X}\" local0\n")
	f.Add(".if defined(X)\n.elif\n.endif\n")
	f.Add("frontend f\n  use_backend b if !{ src 1.2.3.4 } || { dst_port 80 }\n")
	f.Add("listen l\n  bind \"fd@${X}\"\n  server s [::1]:+1 weight 999\n")
	f.Fuzz(func(t *testing.T, text string) {
		_, _ = LoadString("fuzz.cfg", text, LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }, Resolve: noResolve})
	})
}

func FuzzLex(f *testing.F) {
	for _, s := range []string{`a "b c" 'd e' f\ g # h`, `"${A-b}" "${A[*]}" \x41`, `"unterminated`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lx := &lexer{file: "f", lookupEnv: func(string) (string, bool) { return "v w", true }}
		_, _ = lx.splitLine(s, 1)
	})
}

// TestSetenvAppliesToLaterLines: global setenv/presetenv/unsetenv change
// the environment of the lines that follow them, as in HAProxy.
func TestSetenvAppliesToLaterLines(t *testing.T) {
	cfg, errs := load(t, `global
    setenv FE_PORT 8123
    presetenv BA 10.9.9.9
    setenv GONE x
    unsetenv GONE
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
listen l
    bind "127.0.0.1:${FE_PORT}"
    server s ${BA}:80
    description "${GONE-none}"
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	l := cfg.Proxy("l", CapListen)
	if l.Binds[0].PortLow != 8123 {
		t.Errorf("bind port %d, want 8123 from setenv", l.Binds[0].PortLow)
	}
	if l.Servers[0].Host != "127.0.0.2" {
		t.Errorf("presetenv must not override BA: %s", l.Servers[0].Host)
	}
	if l.Description != "none" {
		t.Errorf("unsetenv: description %q", l.Description)
	}
	if len(cfg.Global.SetEnv) != 4 {
		t.Errorf("SetEnv recorded: %+v", cfg.Global.SetEnv)
	}
}
