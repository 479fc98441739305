package integration

import (
	"encoding/csv"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestSeedHTTPRoundRobin serves the guide's http-roundrobin.cfg unchanged:
// traffic on 8080 balanced over 9001/9002 with HTTP checks, and the stats
// page on 8404 with basic auth, refresh, node name and CSV.
func TestSeedHTTPRoundRobin(t *testing.T) {
	seed, _ := filepath.Abs(filepath.Join("..", "..", "..", "shared", "seed-configs", "http-roundrobin.cfg"))
	if _, err := os.Stat(seed); err != nil {
		t.Skip("shared/seed-configs not found beside the checkout")
	}
	// The installed package's test (test/packaging) listens on 8080 and
	// 8404 too: take turns.
	if f, err := os.OpenFile("/tmp/halo-test-port-8404.lock", os.O_CREATE|os.O_RDWR, 0o600); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		t.Cleanup(func() { f.Close() })
	}
	for _, a := range []struct{ addr, name string }{{"127.0.0.1:9001", "web1"}, {"127.0.0.1:9002", "web2"}} {
		if _, err := startHTTPAt(t, a.addr, a.name); err != nil {
			t.Skipf("port %s is taken: %v", a.addr, err)
		}
	}
	h := startProc(t, haloBin, "127.0.0.1:8404", nil, nil, "-db", "-f", seed)
	waitListening(t, "127.0.0.1:8080", h)
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		resp, err := http.Get("http://127.0.0.1:8080/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[string(b)] = true
	}
	if !seen["web1"] || !seen["web2"] {
		t.Errorf("round robin: %v", seen)
	}
	// No credentials: 401 with HAProxy's realm.
	resp, err := http.Get("http://127.0.0.1:8404/haproxy/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("Www-Authenticate") != `Basic realm="HAProxy Statistics"` {
		t.Errorf("stats without auth: %d %v", resp.StatusCode, resp.Header)
	}
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:8404"+path, nil)
		req.SetBasicAuth("haproxy", "passw0rd")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	var page string
	waitFor(t, "both servers UP with L7OK on the page", 15*time.Second, func() bool {
		_, page = get("/haproxy/stats")
		return strings.Count(page, "L7OK/200") == 2
	})
	resp, page = get("/haproxy/stats")
	host, _ := os.Hostname()
	if resp.Header.Get("Refresh") != "10" || !strings.Contains(page, "<title>Statistics Report for halo on "+host+"</title>") ||
		!strings.Contains(page, `class="active_up"`) || !strings.Contains(page, ">http-in<") {
		t.Errorf("stats page: %v\n%s", resp.Header, page)
	}
	resp, body := get("/haproxy/stats;csv")
	if resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("csv content type %q", resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "# "))).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, body)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	got := map[string][]string{}
	for _, r := range rows[1:] {
		if len(r) != len(rows[0]) {
			t.Errorf("row %v has %d fields, header %d", r[:2], len(r), len(rows[0]))
		}
		got[r[0]+"/"+r[1]] = r
	}
	for _, k := range []string{"stats/FRONTEND", "stats/BACKEND", "http-in/FRONTEND", "app/srv1", "app/srv2", "app/BACKEND"} {
		if got[k] == nil {
			t.Errorf("no CSV row %s", k)
		}
	}
	if r := got["app/srv1"]; r != nil {
		if r[col["status"]] != "UP" || r[col["check_status"]] != "L7OK" || r[col["check_code"]] != "200" || r[col["type"]] != "2" {
			t.Errorf("srv1 row: status=%s check=%s/%s type=%s", r[col["status"]], r[col["check_status"]], r[col["check_code"]], r[col["type"]])
		}
	}
	num := func(r []string, c string) int { n, _ := strconv.Atoi(r[col[c]]); return n }
	if r := got["http-in/FRONTEND"]; r != nil && (num(r, "req_tot") < 4 || num(r, "hrsp_2xx") < 4 || num(r, "stot") < 1 || r[col["slim"]] != "3000") {
		t.Errorf("frontend row: req_tot=%s 2xx=%s stot=%s slim=%s", r[col["req_tot"]], r[col["hrsp_2xx"]], r[col["stot"]], r[col["slim"]])
	}
	// The header is the one HAProxy 2.6 prints, byte for byte.
	if !strings.HasPrefix(body, "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,") {
		t.Errorf("CSV header: %q", strings.SplitN(body, "\n", 2)[0])
	}

}

// startHTTPAt serves name on addr: "/healthz" answers 200, anything
// else the name.
func startHTTPAt(t *testing.T, addr, name string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv, nil
}

// TestRuntimeAPI drives halo's stats socket with socat as an operator
// would: put a server in maintenance, see traffic avoid it and the CSV
// say MAINT, bring it back.
func TestRuntimeAPI(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	a, b := httpBackend(t, "web1"), httpBackend(t, "web2")
	sock := filepath.Join(t.TempDir(), "halo.sock")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, fmt.Sprintf(`global
    stats socket %s mode 600 level admin
    stats timeout 30s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    server web1 %s
    server web2 %s
`, sock, port, a, b), addr)
	cli := func(cmd string) string { return socatCLI(t, sock, cmd) }
	if st, _ := os.Stat(sock); st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v", st)
	}
	if got := cli("set server web/web2 state maint"); got != "\n" {
		t.Fatalf("set server: %q", got)
	}
	for i := 0; i < 4; i++ {
		if body := oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.Contains(body, "web1 GET") {
			t.Errorf("request %d with web2 in maintenance: %q", i, body)
		}
	}
	stat := cli("show stat")
	if !strings.Contains(stat, "\nweb,web2,") || !strings.Contains(stat, ",MAINT,") || !strings.Contains(stat, ","+b+",") {
		t.Errorf("show stat:\n%s", stat)
	}
	if got := cli("show servers state web"); !strings.Contains(got, " web2 127.0.0.1 0 1 1 1 ") {
		t.Errorf("show servers state:\n%s", got)
	}
	cli("set server web/web2 state ready")
	if got := cli("get weight web/web2"); got != "1 (initial 1)\n\n" {
		t.Errorf("get weight: %q", got)
	}
	body := oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n") + oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.Contains(body, "web1 GET") || !strings.Contains(body, "web2 GET") {
		t.Errorf("after ready, both serve: %q", body)
	}
	if got := cli("show info"); !strings.HasPrefix(got, "Name: halo\n") || !strings.Contains(got, "\nCurrConns: ") {
		t.Errorf("show info: %q", got)
	}
}

// TestPrometheus scrapes `use-service prometheus-exporter` and parses it
// with Prometheus' own text parser.
func TestPrometheus(t *testing.T) {
	a := httpBackend(t, "web1")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend app
backend app
    server web1 %s
`, port, a), addr)
	for i := 0; i < 3; i++ {
		oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("content type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	value := func(name string, labels map[string]string) float64 {
		f := fams[name]
		if f == nil {
			t.Fatalf("no metric %s", name)
		}
	next:
		for _, m := range f.Metric {
			got := map[string]string{}
			for _, l := range m.Label {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	if v := value("haproxy_backend_http_responses_total", map[string]string{"proxy": "app", "code": "2xx"}); v != 3 {
		t.Errorf("backend 2xx = %v, want 3", v)
	}
	if v := value("haproxy_server_status", map[string]string{"proxy": "app", "server": "web1", "state": "UP"}); v != 1 {
		t.Errorf("server UP = %v", v)
	}
	if v := value("haproxy_frontend_http_requests_total", map[string]string{"proxy": "fe"}); v < 4 {
		t.Errorf("frontend requests = %v", v)
	}
	if v := value("haproxy_process_max_connections", nil); v <= 0 {
		t.Errorf("max connections = %v", v)
	}
}

// TestStatsPageInChromium renders the stats page in a real headless
// Chromium and checks the screenshot shows the state colours: the UP
// server's green row and the DOWN server's red one.
func TestStatsPageInChromium(t *testing.T) {
	browser := ""
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("chromium not installed")
	}
	up := httpBackend(t, "web1")
	port, dead := freePort(t), closedPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	startHalo(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /stats
listen app
    bind 127.0.0.1:%d
    server up %s check inter 200ms
    server down 127.0.0.1:%d check inter 200ms
`, port, freePort(t), up, dead), addr)
	waitFor(t, "the dead server DOWN on the page", 10*time.Second, func() bool {
		return strings.Contains(oneShot(t, addr, "GET /stats HTTP/1.1\r\nHost: a\r\n\r\n"), `class="active_down"`)
	})
	shot := filepath.Join(t.TempDir(), "stats.png")
	if d := os.Getenv("HALO_KEEP_SCREENSHOT"); d != "" {
		shot = d
	}
	cmd := exec.Command(browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--window-size=1200,700", "--screenshot="+shot, "http://"+addr+"/stats;norefresh")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 700 {
		t.Errorf("screenshot size %v", b)
	}
	// Count the pixels of the UP (#c4f7c4) and DOWN (#ff9999) row colours.
	var green, red int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case r == 0xc4 && g == 0xf7 && bl == 0xc4:
				green++
			case r == 0xff && g == 0x99 && bl == 0x99:
				red++
			}
		}
	}
	if green < 500 || red < 500 {
		t.Errorf("rendered page: %d green and %d red pixels, want rows of both", green, red)
	}
}

// TestServerStateFile: the state saved with `show servers state` before a
// restart is applied by the next process (load-server-state-from-file):
// a server in maintenance stays there, a weight is kept.
func TestServerStateFile(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	a, b := httpBackend(t, "web1"), httpBackend(t, "web2")
	dir := t.TempDir()
	sock, state := filepath.Join(dir, "halo.sock"), filepath.Join(dir, "state")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`global
    stats socket %s level admin
    server-state-file %s
defaults
    mode http
    load-server-state-from-file global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen web
    bind 127.0.0.1:%d
    server web1 %s
    server web2 %s
`, sock, state, port, a, b)
	cli := func(cmd string) string { return socatCLI(t, sock, cmd) }
	h := startHalo(t, cfg, addr)
	cli("set server web/web2 state maint")
	cli("set weight web/web1 7")
	if err := os.WriteFile(state, []byte(cli("show servers state")), 0o644); err != nil {
		t.Fatal(err)
	}
	h.cmd.Process.Kill()
	<-h.done
	startHalo(t, cfg, addr)
	if got := cli("get weight web/web1"); got != "7 (initial 1)\n\n" {
		t.Errorf("weight after restart: %q", got)
	}
	if stat := cli("show stat"); !strings.Contains(stat, ",MAINT,") {
		t.Errorf("web2 not in maintenance after restart:\n%s", stat)
	}
	for i := 0; i < 4; i++ {
		if body := oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.Contains(body, "web1 GET") {
			t.Errorf("request %d: %q", i, body)
		}
	}
}

// socatCLI sends one command to a unix CLI socket with socat, as an
// operator would, and returns the reply.
func socatCLI(t *testing.T, sock, cmd string) string {
	t.Helper()
	c := exec.Command("socat", "stdio", "unix-connect:"+sock)
	c.Stdin = strings.NewReader(cmd + "\n")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("socat %q: %v", cmd, err)
	}
	return string(out)
}
