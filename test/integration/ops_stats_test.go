package integration

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const statsPageCfg = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%[1]d
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend app
backend app
    server web1 %[2]s check inter 300ms
    server web2 %[2]s disabled
    server web3 127.0.0.1:%[4]d check inter 300ms
backend other
    server o1 %[2]s
listen stats
    bind 127.0.0.1:%[3]d
    stats enable
    stats uri /stats
    stats scope app
    stats scope .
`

// getBody fetches a URL and returns status, content type and body.
func getBody(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestStatsPageSideBySide compares the stats page's ;csv and ;json and
// the Prometheus exporter of halo and haproxy for the same configuration
// (no stats socket: proxies are numbered from 1): rows and iids, which
// cells are empty, `stats scope` on both formats, metric families with
// their types and label sets, and the exporter's scope parameter.
func TestStatsPageSideBySide(t *testing.T) {
	hp, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	app := fixedHTTP(t)
	dead := closedPort(t)
	type side struct{ fe, stats string }
	start := func(bin string) side {
		p1, p2 := freePort(t), freePort(t)
		s := side{fmt.Sprintf("http://127.0.0.1:%d", p1), fmt.Sprintf("http://127.0.0.1:%d", p2)}
		h := startProc(t, bin, fmt.Sprintf("127.0.0.1:%d", p1), nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(statsPageCfg, p1, app, p2, dead)))
		waitListening(t, fmt.Sprintf("127.0.0.1:%d", p2), h)
		waitFor(t, "the first checks", 10*time.Second, func() bool {
			_, _, b := getBody(t, s.stats+"/stats;csv")
			return strings.Contains(b, "L4OK") && strings.Contains(b, "L4CON")
		})
		for i := 0; i < 3; i++ {
			getBody(t, s.fe+"/x")
		}
		return s
	}
	sides := map[string]side{"halo": start(haloBin), "haproxy": start(hp)}
	// ;csv: same rows (scope app and the stats proxy itself), same iids,
	// same empty cells.
	rows := map[string][][]string{}
	for name, s := range sides {
		code, ctype, body := getBody(t, s.stats+"/stats;csv")
		if code != 200 || ctype != "text/plain" {
			t.Errorf("%s ;csv: %d %s", name, code, ctype)
		}
		r, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "# "))).ReadAll()
		if err != nil {
			t.Fatalf("%s ;csv: %v", name, err)
		}
		rows[name] = r
	}
	h, p := rows["halo"], rows["haproxy"]
	t.Logf(";csv: %d rows compared", len(p)-1)
	if len(h) != len(p) {
		t.Fatalf(";csv rows: halo %d, haproxy %d\n%v\n%v", len(h), len(p), h, p)
	}
	for i := range p {
		for j, col := range p[0] {
			// "* " marks a check in progress at that instant, in both.
			hv, pv := strings.TrimPrefix(h[i][j], "* "), strings.TrimPrefix(p[i][j], "* ")
			switch col {
			case "pxname", "svname", "iid", "sid", "status", "type", "addr", "check_status", "mode":
				if hv != pv {
					t.Errorf(";csv %s/%s %s: halo %q haproxy %q", p[i][0], p[i][1], col, hv, pv)
				}
			default:
				if (hv == "") != (pv == "") {
					t.Errorf(";csv %s/%s %s: halo %q haproxy %q", p[i][0], p[i][1], col, hv, pv)
				}
			}
		}
	}
	// ;json: the same fields of the same rows.
	jsonKeys := func(s side) []string {
		code, ctype, body := getBody(t, s.stats+"/stats;json")
		if code != 200 || ctype != "application/json" {
			t.Errorf(";json: %d %s", code, ctype)
		}
		var rows [][]map[string]any
		if err := json.Unmarshal([]byte(body), &rows); err != nil {
			t.Fatalf(";json: %v\n%.200s", err, body)
		}
		var out []string
		for _, r := range rows {
			for _, f := range r {
				out = append(out, fmt.Sprint(f["objType"], f["proxyId"], f["id"], f["field"], f["tags"], f["value"].(map[string]any)["type"]))
			}
		}
		return out
	}
	if g, w := jsonKeys(sides["halo"]), jsonKeys(sides["haproxy"]); strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf(";json fields differ:\n%s", diffLines(g, w))
	}
	// Prometheus: the same families, types and label sets.
	families := func(s side, query string) (int, map[string]string) {
		resp, err := http.Get(s.fe + "/metrics" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]string{}
		if resp.StatusCode != 200 {
			return resp.StatusCode, out
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatalf("metrics%s do not parse: %v", query, err)
		}
		for name, f := range fams {
			var sets []string
			for _, m := range f.Metric {
				var ls []string
				for _, l := range m.Label {
					v := l.GetValue()
					if l.GetName() == "version" {
						v = "V"
					}
					ls = append(ls, l.GetName()+"="+v)
				}
				sort.Strings(ls)
				sets = append(sets, strings.Join(ls, ","))
			}
			sort.Strings(sets)
			out[name] = f.GetType().String() + " " + strings.Join(sets, " ")
		}
		return resp.StatusCode, out
	}
	for _, q := range []string{"", "?scope=", "?scope=global", "?scope=frontend&scope=server", "?scope=backend&no-maint", "?no-maint", "?scope=*", "?scope=bogus"} {
		hc, hf := families(sides["halo"], q)
		pc, pf := families(sides["haproxy"], q)
		if hc != pc {
			t.Errorf("metrics%s: halo %d, haproxy %d", q, hc, pc)
		}
		var diff []string
		for name, v := range pf {
			if hf[name] != v {
				diff = append(diff, fmt.Sprintf("%s:\n  halo    %s\n  haproxy %s", name, hf[name], v))
			}
		}
		for name := range hf {
			if _, ok := pf[name]; !ok {
				diff = append(diff, "halo only: "+name)
			}
		}
		sort.Strings(diff)
		t.Logf("metrics%s: %d families compared", q, len(pf))
		if len(diff) > 0 {
			t.Errorf("metrics%s differ:\n%s", q, strings.Join(diff, "\n"))
		}
	}
}

// TestStatsTimersAndBytes: the averages, maxima, byte and connection
// counters that HAProxy fills are filled too, from real traffic to a
// server that answers after 50ms (a lower bound, not a timing race).
func TestStatsTimersAndBytes(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	slow := tcpServer(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	})
	sock := t.TempDir() + "/halo.sock"
	port, tport := freePort(t), freePort(t)
	down := startBackend(t, "gone", false)
	startHalo(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    mode http
    bind 127.0.0.1:%d
    default_backend app
backend app
    mode http
    server s1 %s
listen tcp
    mode tcp
    bind 127.0.0.1:%d
    server t1 %s check inter 200ms fall 1
`, sock, port, slow, tport, down.addr), fmt.Sprintf("127.0.0.1:%d", port))
	req := "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789"
	const n = 4
	for i := 0; i < n; i++ {
		if r := oneShot(t, fmt.Sprintf("127.0.0.1:%d", port), req); !strings.Contains(r, " 200 ") {
			t.Fatalf("request %d: %q", i, r)
		}
	}
	// The tcp backend loses its only server: downtime and lastchg.
	down.stop()
	time.Sleep(1500 * time.Millisecond)
	r, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(socatCLI(t, sock, "show stat"), "# "))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range r[0] {
		col[c] = i
	}
	row := map[string][]string{}
	for _, l := range r[1:] {
		row[l[0]+"/"+l[1]] = l
	}
	num := func(k, c string) int {
		v, err := strconv.Atoi(row[k][col[c]])
		if err != nil {
			t.Errorf("%s %s = %q", k, c, row[k][col[c]])
		}
		return v
	}
	wire := len(strings.Replace(req, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1)) // oneShot adds the header
	for _, k := range []string{"fe/FRONTEND", "app/BACKEND", "app/s1"} {
		if got := num(k, "bin"); got != n*wire {
			t.Errorf("%s bin = %d, want %d (the requests as sent)", k, got, n*wire)
		}
		if num(k, "bout") == 0 {
			t.Errorf("%s bout = 0", k)
		}
	}
	for _, k := range []string{"app/BACKEND", "app/s1"} {
		if rt, rmax, tt := num(k, "rtime"), num(k, "rtime_max"), num(k, "ttime"); rt < 50 || rmax < rt || tt < rt {
			t.Errorf("%s rtime %d rtime_max %d ttime %d: the server answers after 50ms", k, rt, rmax, tt)
		}
		if num(k, "ttime_max") < num(k, "ttime") || num(k, "ctime_max") < num(k, "ctime") {
			t.Errorf("%s maxima below averages", k)
		}
		if got := num(k, "connect"); got != n {
			t.Errorf("%s connect = %d, want %d", k, got, n)
		}
	}
	if d := num("tcp/BACKEND", "downtime"); d < 1 || row["tcp/BACKEND"][col["status"]] != "DOWN" {
		t.Errorf("tcp backend without server for 1.5s: status %s downtime %d", row["tcp/BACKEND"][col["status"]], d)
	}
	if c := num("tcp/BACKEND", "lastchg"); c > num("app/BACKEND", "lastchg") {
		t.Errorf("tcp backend lastchg %d not reset by going DOWN", c)
	}
}
