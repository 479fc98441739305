package integration

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cliSide is halo or haproxy running cliCfg, with its sockets.
type cliSide struct {
	h                 *halo
	admin, op, user   string // unix sockets
	tcp               string // ipv4@ socket address
	fe, tcpfe         string // listeners
	cli               func(string) string
	holdSrv, slowSrv  string
	dir               string
	bin               string
	webAddr, web2Addr string
}

const cliCfg = `global
    stats socket %[1]s/admin.sock level admin
    stats socket %[1]s/op.sock level operator
    stats socket %[1]s/user.sock level user
    stats socket ipv4@%[2]s level admin
    stats timeout 2s
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %[3]s
    default_backend app
backend app
    cookie SRV insert indirect nocache
    server web1 %[4]s check inter 200ms cookie a
    server web2 %[5]s check inter 200ms
    server web3 %[4]s
    server dead 127.0.0.1:%[6]d check inter 200ms
    server slow %[8]s disabled
listen tcp
    mode tcp
    bind %[7]s
    server t1 %[9]s
`

func startCLISide(t *testing.T, bin string, web1, web2, slow, hold string, dead int) *cliSide {
	s := &cliSide{dir: t.TempDir(), bin: bin, webAddr: web1, web2Addr: web2}
	os.Chmod(s.dir, 0o755)
	s.admin, s.op, s.user = filepath.Join(s.dir, "admin.sock"), filepath.Join(s.dir, "op.sock"), filepath.Join(s.dir, "user.sock")
	s.tcp = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.fe, s.tcpfe = fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf(cliCfg, s.dir, s.tcp, s.fe, web1, web2, dead, s.tcpfe, slow, hold)
	s.h = startProc(t, bin, s.fe, nil, nil, "-db", "-f", writeConfig(t, cfg))
	waitListening(t, s.tcpfe, s.h)
	s.cli = func(cmd string) string { return socatCLI(t, s.admin, cmd) }
	// Wait for the first checks: web1/web2 UP with L4OK, dead DOWN.
	waitFor(t, "the first health checks", 10*time.Second, func() bool {
		st := s.cli("show stat")
		return strings.Contains(st, ",web1,") && strings.Contains(st, "L4OK") && strings.Contains(st, "L4CON")
	})
	return s
}

// TestRuntimeAPISideBySide runs the same runtime API session on halo and
// haproxy with the same configuration and compares the replies: byte for
// byte where nothing depends on time, field by field (names, positions,
// tags, types, which cells are empty) for the statistics.
func TestRuntimeAPISideBySide(t *testing.T) {
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	web1, web2, slow := fixedHTTP(t), fixedHTTP(t), fixedHTTP(t)
	hold := startBackend(t, "t1", true).addr
	dead := closedPort(t)
	sides := map[string]*cliSide{"halo": startCLISide(t, haloBin, web1, web2, slow, hold, dead), "haproxy": startCLISide(t, hp, web1, web2, slow, hold, dead)}
	// Replies compared byte for byte, in order (some change state).
	exact := []struct{ sock, cmd string }{
		{"op", "clear counters all"},
		{"op", "clear counters"},
		{"user", "set server app/web1 state drain"},
		{"user", "show cli level"},
		{"op", "show cli level"},
		{"admin", "show cli level"},
		{"admin", "show backend"},
		{"admin", "get weight app/web1"},
		{"admin", "get weight app/nope"},
		{"admin", "set weight app/web1 300"},
		{"admin", "set weight nope/web1 3"},
		{"admin", "set server app/web1 weight 7"},
		{"admin", "get weight app/web1"},
		{"admin", "set weight app/web1 100%"},
		{"admin", "get weight app/web1"},
		{"admin", "set server app/web3 addr 127.0.0.2"},
		{"admin", "set server app/web3 addr 127.0.0.2"},
		{"admin", "set server app/web3 addr 127.0.0.1 port 1"},
		{"admin", "set server app/web3 addr 127.0.0.1 port abc"},
		{"admin", "set server app/web3 addr ::1"},
		{"admin", "set server app/web3 addr bogus"},
		{"admin", "set server app/web3 addr"},
		{"admin", "set server app/web3 port 80"},
		{"admin", "set server app/web3 bogus"},
		{"admin", "set server app/nope state ready"},
		{"admin", "set server nope/web1 state ready"},
		{"admin", "set server app/web3 state bogus"},
		{"admin", "disable server app"},
		{"admin", "set maxconn server app/web2 10"},
		{"admin", "shutdown sessions server app/nope"},
		{"admin", "show servers state nope"},
		{"admin", "help show stat"},
		{"admin", "help clear"},
		{"admin", "set maxconn server app/web2 abc"},
		{"admin", "show stat -1 4 -1 typed"},
		{"admin", "show stat app 2 -1 typed"},
		{"admin", "show stat 3 4 1 typed"},
		{"admin", "show stat nope 2 -1"},
	}
	got := map[string][]string{}
	for name, s := range sides {
		for _, c := range exact {
			sock := map[string]string{"admin": s.admin, "op": s.op, "user": s.user}[c.sock]
			got[name] = append(got[name], socatCLI(t, sock, c.cmd))
		}
	}
	typedKey := regexp.MustCompile(`(?m):[^:\n]*$`) // drop the values of typed lines
	for i, c := range exact {
		g, w := got["halo"][i], got["haproxy"][i]
		if strings.HasSuffix(c.cmd, "typed") {
			g, w = typedKey.ReplaceAllString(g, ""), typedKey.ReplaceAllString(w, "")
		}
		if strings.HasPrefix(c.cmd, "help") {
			// HAProxy lists commands halo does not have; halo's lines
			// must be HAProxy's, in the same order.
			var kept []string
			for _, l := range strings.SplitAfter(w, "\n") {
				if strings.Contains(g, l) {
					kept = append(kept, l)
				}
			}
			w = strings.Join(kept, "")
		}
		if g != w {
			t.Errorf("%s %q:\nhalo    %q\nhaproxy %q", c.sock, c.cmd, g, w)
		}
	}
	time.Sleep(500 * time.Millisecond) // the checks see the new addresses
	// show servers state: same lines but the seconds since the last change.
	state := func(s *cliSide) []string {
		var out []string
		for _, l := range strings.Split(s.cli("show servers state"), "\n") {
			f := strings.Fields(l)
			if len(f) > 10 && f[0] != "#" {
				f[9] = "T"
			}
			out = append(out, strings.Join(f, " "))
		}
		return out
	}
	// A check in progress at that instant shows in its server's line
	// (check state 7, result 0): the lines are taken again until no
	// side is caught in the middle of a check, or ten times.
	var g, w []string
	for i := 0; i < 10; i++ {
		g, w = state(sides["halo"]), state(sides["haproxy"])
		if strings.Join(g, "\n") == strings.Join(w, "\n") {
			break
		}
		time.Sleep(30 * time.Millisecond)
	}
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("show servers state:\nhalo\n%s\nhaproxy\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
	// show stat: the same rows and, in each, the same empty and filled
	// cells; names, ids, types and states are equal.
	for _, opt := range []string{"", " up", " no-maint"} {
		rows := map[string][][]string{}
		for name, s := range sides {
			r, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(s.cli("show stat"+opt), "# "))).ReadAll()
			if err != nil {
				t.Fatalf("%s show stat%s: %v", name, opt, err)
			}
			rows[name] = r
		}
		h, p := rows["halo"], rows["haproxy"]
		if len(h) != len(p) {
			t.Errorf("show stat%s: %d rows from halo, %d from haproxy", opt, len(h), len(p))
			continue
		}
		for i := range h {
			for j := range h[i] {
				col := p[0][j]
				// "* " marks a check in progress at that instant, in both.
				hv, pv := strings.TrimPrefix(h[i][j], "* "), strings.TrimPrefix(p[i][j], "* ")
				switch col {
				case "pxname", "svname", "status", "iid", "sid", "type", "check_status", "weight", "act", "bck", "addr", "cookie", "mode", "algo", "uweight", "check_code", "check_desc", "last_chk", "check_rise", "check_fall", "check_health":
					if hv != pv {
						t.Errorf("show stat%s row %s/%s %s: halo %q haproxy %q", opt, p[i][0], p[i][1], col, hv, pv)
					}
				case "slim", "qtime", "ctime", "rtime", "ttime", "lastchg", "lastsess", "hrsp_other":
					// values differ between two processes; presence must not
					fallthrough
				default:
					if (hv == "") != (pv == "") {
						t.Errorf("show stat%s row %s/%s column %s: halo %q haproxy %q", opt, p[i][0], p[i][1], col, hv, pv)
					}
				}
			}
		}
	}
	// show stat json and show info json: the same fields with the same
	// tags and types.
	jsonFields := func(cmd string, s *cliSide) []string {
		var rows [][]map[string]any
		body := s.cli(cmd)
		if err := json.Unmarshal([]byte(body), &rows); err != nil {
			var info []map[string]any
			if err2 := json.Unmarshal([]byte(body), &info); err2 != nil {
				t.Fatalf("%s %s: %v\n%.300s", s.bin, cmd, err, body)
			}
			rows = [][]map[string]any{info}
		}
		var out []string
		for _, r := range rows {
			for _, f := range r {
				v := f["value"].(map[string]any)
				out = append(out, fmt.Sprint(f["objType"], f["proxyId"], f["id"], f["field"], f["tags"], v["type"]))
			}
		}
		return out
	}
	for _, cmd := range []string{"show stat json", "show info json"} {
		g, w := jsonFields(cmd, sides["halo"]), jsonFields(cmd, sides["haproxy"])
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s fields differ:\n%s", cmd, diffLines(g, w))
		}
	}
	infoKeys := func(s *cliSide) []string {
		return strings.Split(typedKey.ReplaceAllString(s.cli("show info typed"), ""), "\n")
	}
	if g, w := infoKeys(sides["halo"]), infoKeys(sides["haproxy"]); strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("show info typed fields differ:\n%s", diffLines(g, w))
	}
	// show sess lists the asking connection as HAProxy does.
	for name, s := range sides {
		if !regexp.MustCompile(`(?m)^0x[0-9a-f]+: proto=unix_stream src=unix:\d+ fe=GLOBAL be=<NONE> srv=<none> ts=00 epoch=0 age=\d+s`).MatchString(s.cli("show sess")) {
			t.Errorf("%s show sess: %q", name, s.cli("show sess"))
		}
	}
}

// diffLines lists the lines only one side has.
func diffLines(a, b []string) string {
	in := func(xs []string) map[string]int {
		m := map[string]int{}
		for _, x := range xs {
			m[x]++
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for k, n := range ma {
		if mb[k] < n {
			out = append(out, "halo only:    "+k)
		}
	}
	for k, n := range mb {
		if ma[k] < n {
			out = append(out, "haproxy only: "+k)
		}
	}
	sort.Strings(out)
	if len(out) > 40 {
		out = append(out[:40], "...")
	}
	return strings.Join(out, "\n")
}

// TestRuntimeAPIOperations drives a real halo with socat as an operator
// would and checks the effect on real traffic: drain, weight, enable and
// disable, maxconn, clear counters, shutdown sessions (TCP and an HTTP
// request in flight), server address changes followed by the checks,
// the ipv4@ socket, levels, and `stats timeout`.
func TestRuntimeAPIOperations(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	web1, web2 := httpBackend(t, "web1"), httpBackend(t, "web2")
	// slow holds requests until released.
	release := make(chan struct{})
	var releaseOnce bool
	slow := tcpServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		select {
		case <-release:
		case <-time.After(20 * time.Second):
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
	})
	t.Cleanup(func() {
		if !releaseOnce {
			close(release)
		}
	})
	hold := startBackend(t, "t1", true)
	s := startCLISide(t, haloBin, web1, web2, slow, hold.addr, freePort(t))
	get := func() string {
		r := oneShot(t, s.fe, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if i := strings.Index(r, "\r\n\r\n"); i >= 0 {
			return strings.Fields(r[i+4:] + " ")[0]
		}
		return r
	}
	served := func(n int) map[string]int {
		m := map[string]int{}
		for i := 0; i < n; i++ {
			m[get()]++
		}
		return m
	}
	// web3 shares web1's address; dead is DOWN, slow is disabled.
	if m := served(6); m["web1"] != 4 || m["web2"] != 2 {
		t.Errorf("round robin over web1, web2, web3: %v", m)
	}
	// Drain: no new traffic; weight 0 as well.
	s.cli("set server app/web1 state drain")
	s.cli("set server app/web3 weight 0")
	if m := served(4); m["web2"] != 4 {
		t.Errorf("web1 draining, web3 weight 0: %v", m)
	}
	if !strings.Contains(s.cli("show stat"), ",web1,") || !regexp.MustCompile(`\napp,web1,[^\n]*,DRAIN,`).MatchString(s.cli("show stat")) {
		t.Errorf("show stat does not say DRAIN:\n%s", s.cli("show stat"))
	}
	s.cli("set server app/web1 state ready")
	s.cli("set server app/web3 weight 1")
	// disable/enable server (deprecated forms).
	s.cli("disable server app/web2")
	if m := served(4); m["web2"] != 0 {
		t.Errorf("web2 disabled: %v", m)
	}
	s.cli("enable server app/web2")
	if m := served(6); m["web2"] == 0 {
		t.Errorf("web2 enabled again: %v", m)
	}
	// set maxconn server: with maxconn 1 on the only usable server and one
	// request held, the next one waits in the queue.
	s.cli("disable server app/web1")
	s.cli("disable server app/web2")
	s.cli("disable server app/web3")
	s.cli("enable server app/slow")
	s.cli("set maxconn server app/slow 1")
	held := make(chan string, 2)
	for i := 0; i < 2; i++ {
		go func() { held <- oneShot(t, s.fe, "GET /held HTTP/1.1\r\nHost: a\r\n\r\n") }()
	}
	waitFor(t, "one request queued behind maxconn 1", 10*time.Second, func() bool {
		return regexp.MustCompile(`\napp,BACKEND,1,1,`).MatchString(s.cli("show stat"))
	})
	if sess := s.cli("show sess"); !strings.Contains(sess, " fe=fe be=app srv=slow ") {
		t.Errorf("show sess:\n%s", sess)
	}
	// shutdown sessions server: the request in flight gets a 502.
	if r := s.cli("shutdown sessions server app/slow"); r != "\n" {
		t.Errorf("shutdown sessions: %q", r)
	}
	first := <-held
	if !strings.HasPrefix(first, "HTTP/1.1 502 ") {
		t.Errorf("request in flight on a shut down server: %q", first)
	}
	releaseOnce = true
	close(release)
	if second := <-held; !strings.Contains(second, "slow") {
		t.Errorf("queued request: %q", second)
	}
	// TCP: a held session is closed.
	c, name := holdConn(t, s.tcpfe)
	if name != "t1" {
		t.Fatalf("tcp session: %q", name)
	}
	waitFor(t, "the tcp session on the server", 5*time.Second, func() bool { return hold.active() == 1 })
	s.cli("shutdown sessions server tcp/t1")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the held tcp session is still open")
	}
	// clear counters: maxima; clear counters all: everything.
	statCol := func(row, col string) string {
		r, _ := csv.NewReader(strings.NewReader(strings.TrimPrefix(s.cli("show stat"), "# "))).ReadAll()
		idx := -1
		for i, c := range r[0] {
			if c == col {
				idx = i
			}
		}
		for _, l := range r[1:] {
			if l[0]+"/"+l[1] == row {
				return l[idx]
			}
		}
		return ""
	}
	if statCol("app/BACKEND", "qmax") != "1" || statCol("app/slow", "stot") == "0" {
		t.Errorf("before clear: qmax %s, slow stot %s", statCol("app/BACKEND", "qmax"), statCol("app/slow", "stot"))
	}
	s.cli("clear counters")
	if statCol("app/BACKEND", "qmax") != "0" || statCol("app/slow", "stot") == "0" {
		t.Errorf("clear counters: qmax %s, stot %s", statCol("app/BACKEND", "qmax"), statCol("app/slow", "stot"))
	}
	s.cli("clear counters all")
	if statCol("app/slow", "stot") != "0" || statCol("fe/FRONTEND", "req_tot") != "0" {
		t.Errorf("clear counters all: stot %s, req_tot %s", statCol("app/slow", "stot"), statCol("fe/FRONTEND", "req_tot"))
	}
	// set server addr: traffic and checks follow. dead moves onto web2's
	// address and comes UP.
	_, port, _ := net.SplitHostPort(web2)
	if r := s.cli("set server app/dead addr 127.0.0.1 port " + port); !strings.Contains(r, "port changed from ") {
		t.Errorf("set server addr: %q", r)
	}
	s.cli("disable server app/slow")
	waitFor(t, "dead UP at its new address", 10*time.Second, func() bool {
		return regexp.MustCompile(`\napp,dead,[^\n]*,UP,`).MatchString(s.cli("show stat"))
	})
	if m := served(3); m["web2"] != 3 {
		t.Errorf("dead now points at web2's address: %v", m)
	}
	// The ipv4@ socket, through socat too.
	cmd := exec.Command("socat", "stdio", "tcp:"+s.tcp)
	cmd.Stdin = strings.NewReader("show backend\n")
	if out, err := cmd.Output(); err != nil || string(out) != "# name\napp\ntcp\n\n" {
		t.Errorf("ipv4@ socket: %q %v", out, err)
	}
	// Levels: a user may read, not act.
	if r := socatCLI(t, s.user, "set server app/web1 state maint"); r != "Permission denied\n\n" {
		t.Errorf("user level: %q", r)
	}
	if r := socatCLI(t, s.op, "shutdown sessions server app/web1"); r != "Permission denied\n\n" {
		t.Errorf("operator level: %q", r)
	}
	// stats timeout 2s: an idle interactive session is closed.
	conn, err := net.Dial("unix", s.admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "prompt\n")
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	io.ReadAll(conn)
	if d := time.Since(start); d < time.Second || d > 12*time.Second {
		t.Errorf("idle CLI session closed after %v, stats timeout is 2s", d)
	}
}

// TestStatsSocketOptions: `stats socket` user/group own the socket,
// maxconn bounds the runtime API connections, and the options halo
// cannot honour are named at -c rather than dropped.
func TestStatsSocketOptions(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "halo.sock")
	port := freePort(t)
	owner := ""
	if os.Geteuid() == 0 {
		owner = " user nobody group nogroup" // chown needs root
	}
	cfgText := fmt.Sprintf(`global
    stats socket %s mode 660 level admin maxconn 1%s
    stats socket ipv4@127.0.0.1:%d level user severity-output number name cli2
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen l
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
`, sock, owner, freePort(t), port, freePort(t))
	cfg := writeConfig(t, cfgText)
	rc, stdout, stderr := runCheck(t, haloBin, cfg)
	if rc != 0 || !strings.Contains(stdout, "Configuration file is valid") ||
		!strings.Contains(stderr, "'severity-output number' has no effect") || !strings.Contains(stderr, "'name' has no effect") {
		t.Errorf("halo -c: rc %d\n%s%s", rc, stdout, stderr)
	}
	startProc(t, haloBin, fmt.Sprintf("127.0.0.1:%d", port), nil, nil, "-db", "-f", cfg)
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v", st.Mode().Perm())
	}
	if owner != "" {
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65534 || sys.Gid != 65534 {
			t.Errorf("socket owned by %d:%d, want nobody:nogroup", sys.Uid, sys.Gid)
		}
	}
	// maxconn 1: while one interactive session is open, a second
	// connection gets no answer; it is served once the first leaves.
	first, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(first, "prompt\n")
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := first.Read(make([]byte, 16)); err != nil {
		t.Fatalf("first session: %v", err)
	}
	second, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	io.WriteString(second, "show cli level\n")
	second.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if n, _ := second.Read(make([]byte, 64)); n > 0 {
		t.Error("a second runtime API connection was served beyond maxconn 1")
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, _ := io.ReadAll(second); string(b) != "admin\n\n" {
		t.Errorf("second session after the first left: %q", b)
	}
}
