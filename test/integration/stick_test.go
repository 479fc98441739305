package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// stickBoth runs the configuration cfg(port, socket) under halo and the
// real haproxy (when installed), one after the other, and gives probe the
// address and the admin socket of each.
func stickBoth(t *testing.T, cfg func(port int, sock string) string, probe func(t *testing.T, addr, sock string) string) {
	t.Helper()
	bins := []string{haloBin}
	if hb := haproxyBin(); hb != "" {
		bins = append(bins, hb)
	} else {
		t.Log("haproxy not installed: halo only")
	}
	var outs []string
	for _, bin := range bins {
		name := filepath.Base(bin)
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		sock := filepath.Join(t.TempDir(), "admin.sock")
		h := startProc(t, bin, addr, nil, nil, "-db", "-f", writeConfig(t, cfg(port, sock)))
		var out string
		t.Run(name, func(t *testing.T) { out = probe(t, addr, sock) })
		h.cmd.Process.Kill()
		<-h.done
		outs = append(outs, out)
	}
	if len(outs) == 2 && outs[0] != outs[1] {
		t.Errorf("halo and haproxy differ:\n--- halo\n%s\n--- haproxy\n%s", outs[0], outs[1])
	}
}

// cliAsk sends one runtime API command and returns the answer.
func cliAsk(t *testing.T, sock, cmd string) string {
	t.Helper()
	return socatCLI(t, sock, cmd)
}

var (
	entryAddr = regexp.MustCompile(`(?m)^0x[0-9a-f]+:`)
	entryExp  = regexp.MustCompile(`exp=\d+`)
)

// maskTable hides what differs between runs in `show table` output: the
// entries' addresses and their expiry timers.
func maskTable(s string) string {
	return entryExp.ReplaceAllString(entryAddr.ReplaceAllString(s, "ENTRY:"), "exp=T")
}

// get sends a request on a new connection and returns the status and body.
func stickGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStickRateLimit: with a 10s period, the 11th request and the next
// ones get 429 in both; gpc0 counts abuse, src_* and table_* read the
// same entry, and show table prints the same line.
func TestStickRateLimit(t *testing.T) {
	cfg := func(port int, sock string) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 200k expire 30s store gpc0,conn_cnt,conn_cur,http_req_cnt,http_req_rate(10s),http_err_cnt
    http-request track-sc0 src
    http-request sc-inc-gpc0(0) if { path /abuse }
    http-request return status 403 content-type text/plain string blocked if { path /blocked } { src_get_gpc0 gt 2 }
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 10 }
    http-request return status 200 content-type text/plain lf-string "%%[sc_http_req_rate(0)] %%[sc0_get_gpc0] %%[src,table_http_req_cnt(fe)] %%[sc_tracked(1)]"
`, sock, port)
	}
	stickBoth(t, cfg, func(t *testing.T, addr, sock string) string {
		var codes, bodies []string
		for i := 0; i < 13; i++ {
			code, body := stickGet(t, addr, "/")
			codes = append(codes, fmt.Sprint(code))
			if code == 200 {
				bodies = append(bodies, body)
			}
		}
		want := strings.Repeat("200 ", 10) + "429 429 429"
		if got := strings.Join(codes, " "); got != want {
			t.Errorf("statuses %s, want %s", got, want)
		}
		if len(bodies) == 10 && bodies[9] != "10 0 10 0" {
			t.Errorf("10th body %q, want rate 10, gpc0 0, count 10, sc1 not tracked", bodies[9])
		}
		for i := 0; i < 3; i++ {
			stickGet(t, addr, "/abuse")
		}
		if code, _ := stickGet(t, addr, "/blocked"); code != 403 {
			t.Errorf("/blocked after 3 abuses: %d, want 403", code)
		}
		var out string
		waitFor(t, "entry released", 5*time.Second, func() bool {
			out = maskTable(cliAsk(t, sock, "show table fe"))
			return strings.Contains(out, "use=0")
		})
		want = "# table: fe, type: ip, size:204800, used:1\n" +
			"ENTRY: key=127.0.0.1 use=0 exp=T gpc0=3 conn_cnt=17 conn_cur=0 http_req_cnt=17 http_req_rate(10000)=17 http_err_cnt=6\n\n"
		if out != want {
			t.Errorf("show table:\n%s\nwant:\n%s", out, want)
		}
		return out + cliAsk(t, sock, "show table")
	})
}

// TestStickConnCur: tcp-request connection rules limit concurrent
// connections per source: the third is refused while two are open.
func TestStickConnCur(t *testing.T) {
	be := startBackend(t, "s1", true)
	cfg := func(port int, sock string) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 1k expire 30s store conn_cur,conn_cnt,sess_cnt
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc_conn_cur(0) gt 2 }
    default_backend b
backend b
    server s1 %s
`, sock, port, be.addr)
	}
	stickBoth(t, cfg, func(t *testing.T, addr, sock string) string {
		// The probe that saw the proxy listening was counted: wait until
		// it is gone.
		waitFor(t, "probe released", 5*time.Second, func() bool {
			return strings.Contains(cliAsk(t, sock, "show table fe"), "conn_cur=0")
		})
		var held []net.Conn
		for i := 0; i < 2; i++ {
			c, greeting := holdConn(t, addr)
			held = append(held, c)
			if greeting != "s1" {
				t.Fatalf("connection %d: %q", i, greeting)
			}
		}
		// Refused: closed at once (haproxy resets it, which the dial or
		// the read may see).
		if c, err := net.Dial("tcp", addr); err == nil {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			if len(b) != 0 {
				t.Errorf("third connection got %q, want it closed", b)
			}
		}
		out := maskTable(cliAsk(t, sock, "show table fe"))
		// The refused connection was counted then let go.
		if want := "ENTRY: key=127.0.0.1 use=2 exp=T conn_cnt=4 conn_cur=2 sess_cnt=3\n"; !strings.Contains(out, want) {
			t.Errorf("show table:\n%s\nwant %q", out, want)
		}
		for _, c := range held {
			c.Close()
		}
		waitFor(t, "connections released", 5*time.Second, func() bool {
			return strings.Contains(cliAsk(t, sock, "show table fe"), "conn_cur=0")
		})
		return out
	})
}

// TestStickTableCLI: set, show (key, filters), clear, errors, compared.
func TestStickTableCLI(t *testing.T) {
	cfg := func(port int, sock string) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 1m store gpc0,gpt0,http_req_rate(10s)
    http-request return status 200
backend strings
    stick-table type string len 8 size 10 store server_id,gpc1
`, sock, port)
	}
	cmds := []string{
		"set table fe key 10.0.0.1 data.gpc0 7",
		"set table fe key 10.0.0.2 data.gpc0 1 data.gpt0 5",
		"set table fe key 10.0.0.3 data.http_req_rate 4",
		"show table fe data.gpc0 gt 2",
		"show table fe data.gpc0 ge 1 data.gpt0 eq 5",
		"show table fe key 10.0.0.3",
		"show table fe key 10.9.9.9",
		"show table fe data.nope gt 1",
		"show table fe data.gpc0 xx 1",
		"set table fe key 10.0.0.1 data.gpc0 x",
		"clear table fe key 10.0.0.1",
		"show table fe",
		"set table strings key abcdefghij data.gpc1 2",
		"show table strings",
		"clear table strings",
		"show table",
		"show table nope",
	}
	stickBoth(t, cfg, func(t *testing.T, addr, sock string) string {
		var b strings.Builder
		for _, c := range cmds {
			fmt.Fprintf(&b, "> %s\n%s", c, maskTable(cliAsk(t, sock, c)))
		}
		out := b.String()
		for _, want := range []string{
			"> show table fe data.gpc0 gt 2\n# table: fe, type: ip, size:100, used:3\nENTRY: key=10.0.0.1 use=0 exp=T gpt0=0 gpc0=7 http_req_rate(10000)=0\n\n",
			"ENTRY: key=10.0.0.3 use=0 exp=T gpt0=0 gpc0=0 http_req_rate(10000)=4\n",
			"> show table fe key 10.9.9.9\n\n",
			"ENTRY: key=abcdefgh use=0 exp=T server_id=0 gpc1=2\n",
			"> show table\n# table: strings, type: string, size:10, used:0\n# table: fe, type: ip, size:100, used:2\n\n",
			"> show table nope\nNo such table\n\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %q in:\n%s", want, out)
			}
		}
		return out
	})
}
