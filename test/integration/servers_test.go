package integration

import (
	"bufio"
	"crypto/tls"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server options that act on state changes and live traffic: slowstart,
// minconn/fullconn, observe + on-error + error-limit, on-marked-down and
// on-marked-up; each run through halo and, when installed, the real
// haproxy with the same configuration.

type lbBin struct{ name, path string }

// lbBins is halo, then haproxy when it is installed.
func lbBins(t *testing.T) []lbBin {
	out := []lbBin{{"halo", haloBin}}
	if hp, err := exec.LookPath("haproxy"); err == nil {
		out = append(out, lbBin{"haproxy", hp})
	} else {
		t.Log("haproxy not installed: halo only")
	}
	return out
}

// statRows reads `show stat` into rows keyed "proxy/server".
func statRows(t *testing.T, sock string) map[string]map[string]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(socatCLI(t, sock, "show stat"), "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("show stat: %v %q", err, recs)
	}
	rows := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		if len(rec) < 2 {
			continue
		}
		m := map[string]string{}
		for i, h := range recs[0] {
			if i < len(rec) {
				m[h] = rec[i]
			}
		}
		rows[rec[0]+"/"+rec[1]] = m
	}
	return rows
}

func needSocat(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
}

// lineWith returns the first line of text containing sub.
func lineWith(text, sub string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			return l[strings.Index(l, sub):]
		}
	}
	return ""
}

// TestSlowStartSideBySide: slowstart does not apply at start-up; after
// the server comes back UP its effective weight (CSV weight) ramps with
// a throttle percentage while uweight stays, and it is logged UP again
// at full speed. The ramp is unit-tested with a fake clock; this checks
// that it is wired, with bounds that do not depend on machine speed.
func TestSlowStartSideBySide(t *testing.T) {
	needSocat(t)
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			s1, s2 := startBackend(t, "s1", false), startBackend(t, "s2", false)
			sock := filepath.Join(t.TempDir(), "lb.sock")
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			h := startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
listen app
    bind %s
    server s1 %s check inter 100 rise 1 fall 1 slowstart 6s weight 20
    server s2 %s weight 20
`, sock, addr, s1.addr, s2.addr)))
			row := func() map[string]string { return statRows(t, sock)["app/s1"] }
			waitFor(t, "first check", 10*time.Second, func() bool { return row()["check_status"] == "L4OK" })
			if r := row(); r["weight"] != "20" || r["throttle"] != "" {
				t.Errorf("at start-up: weight %q throttle %q; slow start must not apply", r["weight"], r["throttle"])
			}
			s1addr := s1.addr
			s1.stop()
			waitFor(t, "s1 DOWN", 10*time.Second, func() bool { return row()["status"] == "DOWN" })
			startBackendAt(t, "s1", s1addr, false)
			waitFor(t, "s1 UP", 10*time.Second, func() bool { return strings.HasPrefix(row()["status"], "UP") })
			r := row()
			w, _ := strconv.Atoi(r["weight"])
			th, err := strconv.Atoi(r["throttle"])
			if w < 1 || w >= 20 || err != nil || th < 0 || th >= 100 || r["uweight"] != "20" {
				t.Errorf("just UP: weight %q throttle %q uweight %q; want a ramping weight below 20", r["weight"], r["throttle"], r["uweight"])
			}
			prev := w
			waitFor(t, "full weight", 30*time.Second, func() bool {
				time.Sleep(150 * time.Millisecond)
				r := row()
				w, _ := strconv.Atoi(r["weight"])
				if w < prev {
					t.Errorf("weight went down from %d to %d during the slow start", prev, w)
				}
				prev = w
				return w == 20 && r["throttle"] == ""
			})
			waitFor(t, "UP line at full speed", 10*time.Second, func() bool {
				return strings.Contains(h.stderr.String(), "Server app/s1 is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.")
			})
		})
	}
}

// TestMinconnFullconnSideBySide: minconn makes maxconn follow the
// backend's load, fullconn defaulting to 10% of the frontends' maxconn:
// with minconn 1, maxconn 10 and fullconn 105 a second concurrent
// connection waits in the queue although maxconn is 10.
func TestMinconnFullconnSideBySide(t *testing.T) {
	needSocat(t)
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			s1 := startBackend(t, "s1", true)
			sock := filepath.Join(t.TempDir(), "lb.sock")
			p1, p2 := freePort(t), freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", p1)
			startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    maxconn 1000
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 20s
    timeout server 20s
    timeout queue 20s
frontend f1
    bind 127.0.0.1:%d
    default_backend be
frontend f2
    bind 127.0.0.1:%d
    maxconn 50
    default_backend be
backend be
    server s1 %s minconn 1 maxconn 10
    server s2 127.0.0.1:1 minconn 20 maxconn 10 disabled
`, sock, p1, p2, s1.addr)))
			rows := statRows(t, sock)
			if got := rows["be/BACKEND"]["slim"]; got != "105" {
				t.Errorf("backend slim (fullconn) %q, want 105", got)
			}
			if a, b := rows["be/s1"]["slim"], rows["be/s2"]["slim"]; a != "10" || b != "20" {
				t.Errorf("server slim %q and %q, want 10 and 20 (minconn above maxconn raises it)", a, b)
			}
			waitFor(t, "readiness probe gone", 5*time.Second, func() bool { return s1.active() == 0 })
			a, name := holdConn(t, addr)
			if name != "s1" {
				t.Fatalf("first connection: %q", name)
			}
			second := make(chan string, 1)
			go func() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					second <- err.Error()
					return
				}
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(15 * time.Second))
				l, _ := bufio.NewReader(c).ReadString('\n')
				second <- strings.TrimSpace(l)
			}()
			waitFor(t, "second connection queued", 10*time.Second, func() bool { return statRows(t, sock)["be/BACKEND"]["qcur"] == "1" })
			if n := s1.active(); n != 1 {
				t.Errorf("s1 has %d connections while one waits", n)
			}
			a.Close()
			select {
			case got := <-second:
				if got != "s1" {
					t.Errorf("queued connection got %q", got)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("queued connection not served after the first closed")
			}
		})
	}
}

// TestObserveLayer4SideBySide: connection failures to a server whose
// checks pass mark it DOWN with on-error mark-down after error-limit,
// with HAProxy's reason line, and count in hanafail.
func TestObserveLayer4SideBySide(t *testing.T) {
	needSocat(t)
	lines := map[string]string{}
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			chk, s2 := startBackend(t, "chk", false), startBackend(t, "s2", false)
			dead := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
			sock := filepath.Join(t.TempDir(), "lb.sock")
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			h := startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode tcp
    retries 0
    timeout connect 1s
    timeout client 10s
    timeout server 10s
listen app
    bind %s
    balance first
    server s1 %s check port %d inter 10s observe layer4 error-limit 2 on-error mark-down
    server s2 %s
`, sock, addr, dead, chk.port(), s2.addr)))
			const down = "Server app/s1 is DOWN, reason: Health analyze"
			for i := 0; i < 5 && !strings.Contains(h.stderr.String(), down); i++ {
				hello(t, addr) // refused by s1: one observed error each
				time.Sleep(50 * time.Millisecond)
			}
			waitFor(t, "DOWN by observed errors", 10*time.Second, func() bool { return strings.Contains(h.stderr.String(), down) })
			lines[bin.name] = lineWith(h.stderr.String(), down)
			want := `Server app/s1 is DOWN, reason: Health analyze, info: "Detected 2 consecutive errors, last one was: L4 unsuccessful connection". 1 active and 0 backup servers left.`
			if !strings.HasPrefix(lines[bin.name], want) {
				t.Errorf("DOWN line %q, want prefix %q", lines[bin.name], want)
			}
			r := statRows(t, sock)
			if r["app/s1"]["hanafail"] != "1" || r["app/s2"]["hanafail"] != "" || r["app/s1"]["status"] != "DOWN" {
				t.Errorf("s1 hanafail %q status %q, s2 hanafail %q", r["app/s1"]["hanafail"], r["app/s1"]["status"], r["app/s2"]["hanafail"])
			}
			if got := hello(t, addr); got != "s2" {
				t.Errorf("after s1 DOWN: %q", got)
			}
		})
	}
	if hp, ok := lines["haproxy"]; ok && hp != lines["halo"] {
		t.Errorf("DOWN lines differ:\nhalo    %q\nhaproxy %q", lines["halo"], hp)
	}
}

// TestObserveLayer7SideBySide: with observe layer7, 5xx answers are
// errors and a valid answer clears the run; error-limit consecutive
// errors mark the server DOWN.
func TestObserveLayer7SideBySide(t *testing.T) {
	needSocat(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/500" {
			w.WriteHeader(500)
		}
		io.WriteString(w, "app")
	})}
	go app.Serve(ln)
	t.Cleanup(func() { app.Close() })
	lines := map[string]string{}
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "lb.sock")
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			h := startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
listen app
    bind %s
    option httpchk GET /ok
    server s1 %s check inter 10s observe layer7 error-limit 3 on-error mark-down
`, sock, addr, ln.Addr())))
			status := func(path string) string {
				return strings.Fields(oneShot(t, addr, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n") + " - -")[1]
			}
			for _, p := range []string{"/500", "/500", "/ok", "/500", "/500"} {
				status(p)
			}
			if r := statRows(t, sock)["app/s1"]; r["hanafail"] != "0" || !strings.HasPrefix(r["status"], "UP") {
				t.Errorf("a 200 between errors must clear the count: hanafail %q status %q", r["hanafail"], r["status"])
			}
			if got := status("/500"); got != "500" {
				t.Errorf("the third 500 in a row is forwarded: %q", got)
			}
			const down = "Server app/s1 is DOWN, reason: Health analyze"
			waitFor(t, "DOWN by observed errors", 10*time.Second, func() bool { return strings.Contains(h.stderr.String(), down) })
			lines[bin.name] = lineWith(h.stderr.String(), down)
			if !strings.Contains(lines[bin.name], `info: "Detected 3 consecutive errors, last one was: Wrong http response"`) {
				t.Errorf("DOWN line %q", lines[bin.name])
			}
			if got := status("/ok"); got != "503" {
				t.Errorf("with s1 DOWN: %q, want 503", got)
			}
		})
	}
	if hp, ok := lines["haproxy"]; ok && hp != lines["halo"] {
		t.Errorf("DOWN lines differ:\nhalo    %q\nhaproxy %q", lines["halo"], hp)
	}
}

// readEOF waits until the server side closes c (EOF or reset), which a
// session shutdown does; a timeout means it stayed open.
func readEOF(c net.Conn, limit time.Duration) error {
	c.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return nil
}

// TestMarkedDownUpSideBySide: on-marked-down shutdown-sessions closes
// the server's sessions when a check takes it DOWN (logged D-), and
// on-marked-up shutdown-backup-sessions closes the backup's sessions
// when it comes back (logged U-).
func TestMarkedDownUpSideBySide(t *testing.T) {
	needSocat(t)
	got := map[string][]string{}
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			s1, bk := startBackend(t, "s1", true), startBackend(t, "bk", true)
			chk := startBackend(t, "chk", false)
			sink := newSyslogSink(t)
			sock := filepath.Join(t.TempDir(), "lb.sock")
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    stats socket %s level admin
    log %s local0
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 1s
    timeout client 20s
    timeout server 20s
listen app
    bind %s
    server s1 %s check port %d inter 100 rise 1 fall 1 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions
    server bk %s backup
`, sock, sink.addr(), addr, s1.addr, chk.port(), bk.addr)))
			status := func() string { return statRows(t, sock)["app/s1"]["status"] }
			waitFor(t, "first check", 10*time.Second, func() bool { return statRows(t, sock)["app/s1"]["check_status"] == "L4OK" })
			a, name := holdConn(t, addr)
			if name != "s1" {
				t.Fatalf("first session on %q", name)
			}
			chkAddr := chk.addr
			chk.stop()
			waitFor(t, "s1 DOWN", 10*time.Second, func() bool { return status() == "DOWN" })
			if err := readEOF(a, 10*time.Second); err != nil {
				t.Errorf("s1's session stayed open after s1 went DOWN: %v", err)
			}
			b, name := holdConn(t, addr)
			if name != "bk" {
				t.Fatalf("session with s1 DOWN on %q", name)
			}
			startBackendAt(t, "chk", chkAddr, false)
			waitFor(t, "s1 UP", 10*time.Second, func() bool { return strings.HasPrefix(status(), "UP") })
			if err := readEOF(b, 10*time.Second); err != nil {
				t.Errorf("the backup's session stayed open after s1 came UP: %v", err)
			}
			// s1 also served the readiness probe first.
			for _, want := range []struct {
				srv string
				n   int
			}{{" app app/s1 ", 2}, {" app app/bk ", 1}} {
				ls := sink.wait(t, want.srv, want.n)
				l := ls[len(ls)-1]
				f := strings.Fields(l[strings.Index(l, want.srv):])
				got[bin.name] = append(got[bin.name], f[1]+" "+f[4])
			}
			if strings.Join(got[bin.name], ",") != "app/s1 D-,app/bk U-" {
				t.Errorf("logged %q, want app/s1 D- and app/bk U-", got[bin.name])
			}
			if n := s1.active() + bk.active(); n != 0 {
				t.Errorf("%d server connections still open", n)
			}
		})
	}
	if hp, ok := got["haproxy"]; ok && strings.Join(hp, ",") != strings.Join(got["halo"], ",") {
		t.Errorf("halo %q, haproxy %q", got["halo"], hp)
	}
}

// TestMarkedDownHTTPInFlight: an HTTP request waiting for a server that
// goes into maintenance with on-marked-down shutdown-sessions gets a 502,
// logged DH-- as HAProxy does.
func TestMarkedDownHTTPInFlight(t *testing.T) {
	needSocat(t)
	release, arrived := make(chan struct{}), make(chan struct{}, 4)
	t.Cleanup(func() { close(release) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	})}
	go slow.Serve(ln)
	t.Cleanup(func() { slow.Close() })
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			sink := newSyslogSink(t)
			sock := filepath.Join(t.TempDir(), "lb.sock")
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    stats socket %s level admin
    log %s local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 20s
    timeout server 20s
listen app
    bind %s
    server s1 %s on-marked-down shutdown-sessions
`, sock, sink.addr(), addr, ln.Addr())))
			resp := make(chan string, 1)
			go func() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					resp <- err.Error()
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(15 * time.Second))
				io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
				b, _ := io.ReadAll(c)
				resp <- string(b)
			}()
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the request did not reach the server")
			}
			socatCLI(t, sock, "set server app/s1 state maint")
			select {
			case r := <-resp:
				if !strings.HasPrefix(r, "HTTP/1.1 502 ") {
					t.Errorf("in-flight request got %q", r)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("the request was not ended by the maintenance")
			}
			l := sink.wait(t, "GET /slow", 1)[0]
			if !strings.Contains(l, " 502 ") || !strings.Contains(l, " DH-- ") {
				t.Errorf("log line %q, want 502 and DH--", l)
			}
		})
	}
}

// TestTCPCheckConnectSSLSideBySide: `tcp-check connect ssl` runs the
// tcp-check program over TLS: a server answering +PONG only over TLS is
// UP, a clear-text one is DOWN.
func TestTCPCheckConnectSSLSideBySide(t *testing.T) {
	ca := newTestCA(t)
	bundle := ca.issue(t, t.TempDir(), "redis.pem", false, false, "redis.test")
	cert, err := tls.LoadX509KeyPair(bundle, bundle)
	if err != nil {
		t.Fatal(err)
	}
	pong := func(c net.Conn) {
		l, _ := bufio.NewReader(c).ReadString('\n')
		if strings.HasPrefix(l, "PING") {
			io.WriteString(c, "+PONG\r\n")
		}
	}
	tlsLn, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tlsLn.Close() })
	go func() {
		for {
			c, err := tlsLn.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); pong(c) }()
		}
	}()
	plain := tcpServer(t, pong)
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			h := startProc(t, bin.path, addr, nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
listen redis
    bind %s
    option tcp-check
    tcp-check connect ssl
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    server tls %s check inter 100 rise 1 fall 1 verify none
    server plain %s check inter 100 rise 1 fall 1 verify none
`, addr, tlsLn.Addr(), plain)))
			waitFor(t, "the clear-text server DOWN", 10*time.Second, func() bool {
				return strings.Contains(h.stderr.String(), "Server redis/plain is DOWN")
			})
			time.Sleep(500 * time.Millisecond) // several more checks
			if strings.Contains(h.stderr.String(), "Server redis/tls is DOWN") {
				t.Errorf("the TLS server failed its TLS checks:\n%s", h.stderr.String())
			}
		})
	}
}
