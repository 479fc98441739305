package integration

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// captureServer records what each connection sends before "hello" (the
// PROXY protocol header a send-proxy server line writes), answers "ok"
// and closes. Health check connections, which send no "hello", are
// recorded too.
type captureServer struct {
	addr string
	mu   sync.Mutex
	got  []string
}

func newCaptureServer(t *testing.T) *captureServer {
	cs := &captureServer{}
	cs.addr = tcpServer(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		var buf []byte
		tmp := make([]byte, 512)
		for !bytes.Contains(buf, []byte("hello")) {
			n, err := c.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if err != nil {
				break
			}
		}
		io.WriteString(c, "ok\n")
		head, _, _ := bytes.Cut(buf, []byte("hello"))
		cs.mu.Lock()
		cs.got = append(cs.got, string(head))
		cs.mu.Unlock()
	})
	return cs
}

// wait returns the first recorded header matching pred.
func (cs *captureServer) wait(t *testing.T, what string, pred func(string) bool) string {
	t.Helper()
	var out string
	waitFor(t, what, 10*time.Second, func() bool {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		for _, g := range cs.got {
			if pred(g) {
				out = g
				return true
			}
		}
		return false
	})
	return out
}

func (cs *captureServer) reset() {
	cs.mu.Lock()
	cs.got = nil
	cs.mu.Unlock()
}

// sendRaw connects from 127.0.0.1, sends b, half-closes and reads the
// answer; it returns the client's port and what came back.
func sendRaw(t *testing.T, addr string, b []byte) (int, string) {
	t.Helper()
	port, out, err := halfCloseExchange(addr, b)
	if err != nil {
		t.Fatal(err)
	}
	return port, out
}

// halfCloseExchange sends b on a new connection, half-closes it and returns the
// local port and everything that came back.
func halfCloseExchange(addr string, b []byte) (int, string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(b)
	c.(*net.TCPConn).CloseWrite()
	out, _ := io.ReadAll(c)
	return c.LocalAddr().(*net.TCPAddr).Port, string(out), nil
}

// TestAcceptProxySideBySide: bind accept-proxy takes the client's
// addresses from a PROXY protocol header (v1 or v2; UNKNOWN and LOCAL
// keep the connection's own), logs, sends them on with send-proxy, and
// refuses what is not a valid header with HAProxy's log line;
// tcp-request connection rules see the real address.
func TestAcceptProxySideBySide(t *testing.T) {
	cs := newCaptureServer(t)
	v2, _ := hex.DecodeString("0d0a0d0a000d0a515549540a2111000cc0000201c6336402045708ae")
	v2local, _ := hex.DecodeString("0d0a0d0a000d0a515549540a20000000")
	cases := []struct {
		name, in string
		fwd      string // header forwarded by send-proxy; PORT is the client's port
		log      string // in the log line
	}{
		{"v1", "PROXY TCP4 192.0.2.1 198.51.100.2 1111 2222\r\nhello", "PROXY TCP4 192.0.2.1 198.51.100.2 1111 2222\r\n", " 192.0.2.1:1111 [DATE] app app/s1 "},
		{"connection rules see the real address", "PROXY TCP4 10.9.9.9 198.51.100.2 1111 2222\r\nhello", "PROXY TCP4 10.9.9.9 198.51.100.2 1111 2222\r\n", " 10.9.9.9:1111 [DATE] app app/s1 "},
		{"v2", string(v2) + "hello", "PROXY TCP4 192.0.2.1 198.51.100.2 1111 2222\r\n", " 192.0.2.1:1111 [DATE] app app/s1 "},
		{"unknown", "PROXY UNKNOWN\r\nhello", "PROXY TCP4 127.0.0.1 127.0.0.1 PORT FEPORT\r\n", " 127.0.0.1:PORT [DATE] app app/s1 "},
		{"v2 local", string(v2local) + "hello", "PROXY TCP4 127.0.0.1 127.0.0.1 PORT FEPORT\r\n", " 127.0.0.1:PORT [DATE] app app/s1 "},
		{"v1 tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 1111 2222\r\nhello", "PROXY TCP6 2001:db8::1 2001:db8::2 1111 2222\r\n", " 2001:db8::1:1111 [DATE] app app/s1 "},
		{"not a header", "GET / HTTP/1.0\r\n\r\n", "", " 127.0.0.1:PORT [DATE] app/1: Received something which does not look like a PROXY protocol header"},
		{"invalid", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\nhello", "", " 127.0.0.1:PORT [DATE] app/1: Received an invalid PROXY protocol header"},
		{"udp", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\nhello", "", " 127.0.0.1:PORT [DATE] app/1: Received an unhandled protocol in the PROXY protocol header"},
		{"empty", "", "", " 127.0.0.1:PORT [DATE] app/1: Connection closed while waiting for PROXY protocol header"},
	}
	date := regexp.MustCompile(`\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`)
	results := map[string][]string{}
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			sink := newSyslogSink(t)
			port := freePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			// The readiness probe connects from 127.0.0.1 without a header:
			// a rule on the real address lets a second listener take it.
			probe := freePort(t)
			startProc(t, bin.path, fmt.Sprintf("127.0.0.1:%d", probe), nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    log %s local0
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 1s
    timeout client 3s
    timeout server 5s
listen app
    bind %s accept-proxy
    tcp-request connection reject if { src 10.9.9.9 }
    server s1 %s send-proxy
listen probe
    bind 127.0.0.1:%d
    server s1 127.0.0.1:1
`, sink.addr(), addr, cs.addr, probe)))
			for _, tc := range cases {
				cs.reset()
				cport, answer := sendRaw(t, addr, []byte(tc.in))
				fill := func(s string) string {
					return strings.NewReplacer("FEPORT", fmt.Sprint(port), "PORT", fmt.Sprint(cport)).Replace(s)
				}
				if tc.fwd != "" {
					if answer != "ok\n" {
						t.Errorf("%s: client got %q", tc.name, answer)
					}
					got := cs.wait(t, tc.name+" at the server", func(string) bool { return true })
					if got != fill(tc.fwd) {
						t.Errorf("%s: server got %q, want %q", tc.name, got, fill(tc.fwd))
					}
				} else if answer != "" {
					t.Errorf("%s: a refused header got an answer: %q", tc.name, answer)
				}
				want := fill(tc.log)
				var line string
				waitFor(t, tc.name+" logged", 10*time.Second, func() bool {
					sink.mu.Lock()
					defer sink.mu.Unlock()
					for _, m := range sink.msgs {
						if m = date.ReplaceAllString(m, "[DATE]"); strings.Contains(m, want) {
							line = m[strings.Index(m, want):]
							return true
						}
					}
					return false
				})
				line = strings.Replace(line, fmt.Sprint(cport), "PORT", 1)
				results[bin.name] = append(results[bin.name], strings.Join(strings.Fields(line)[:4], " "))
			}
		})
	}
	if hp, ok := results["haproxy"]; ok && strings.Join(hp, "\n") != strings.Join(results["halo"], "\n") {
		t.Errorf("log lines differ:\nhalo    %q\nhaproxy %q", results["halo"], hp)
	}
}

// TestSendProxyChecksSideBySide: send-proxy-v2 on traffic (the client's
// addresses) and a LOCAL command on health checks; send-proxy (v1) checks
// carry the check connection's own addresses; with `port`, checks send
// no header unless check-send-proxy.
func TestSendProxyChecksSideBySide(t *testing.T) {
	for _, bin := range lbBins(t) {
		t.Run(bin.name, func(t *testing.T) {
			v1, v2, other := newCaptureServer(t), newCaptureServer(t), newCaptureServer(t)
			p1, p2 := freePort(t), freePort(t)
			_, otherPort, _ := net.SplitHostPort(other.addr)
			startProc(t, bin.path, fmt.Sprintf("127.0.0.1:%d", p2), nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 3s
    timeout server 5s
listen a1
    bind 127.0.0.1:%d
    server s1 %s send-proxy check inter 200
    server s2 %s send-proxy check inter 200 port %s check-send-proxy
listen a2
    bind 127.0.0.1:%d
    server s1 %s send-proxy-v2 check inter 200
`, p1, v1.addr, other.addr, otherPort, p2, v2.addr)))
			_, v1Port, _ := net.SplitHostPort(v1.addr)
			check1 := v1.wait(t, "a v1 check", func(g string) bool { return strings.HasPrefix(g, "PROXY TCP4 127.0.0.1 127.0.0.1 ") })
			if !strings.HasSuffix(check1, " "+v1Port+"\r\n") {
				t.Errorf("v1 check header %q: the check connection's addresses, to the server's port", check1)
			}
			other.wait(t, "a check-send-proxy check", func(g string) bool { return strings.HasPrefix(g, "PROXY TCP4 127.0.0.1 127.0.0.1 ") })
			// Checks send a LOCAL command (the readiness probe, traffic, a
			// PROXY one).
			v2.wait(t, "a v2 check with a LOCAL command", func(g string) bool {
				return hex.EncodeToString([]byte(g)) == "0d0a0d0a000d0a515549540a20000000"
			})
			cport, answer := sendRaw(t, fmt.Sprintf("127.0.0.1:%d", p2), []byte("hello"))
			if answer != "ok\n" {
				t.Fatalf("client got %q", answer)
			}
			want := "0d0a0d0a000d0a515549540a2111000c7f0000017f000001" + fmt.Sprintf("%04x%04x", cport, p2)
			v2.wait(t, "the v2 header of the client", func(g string) bool { return hex.EncodeToString([]byte(g)) == want })
		})
	}
}

// TestAcceptProxyHTTP: in http mode the PROXY protocol address is the
// client's for option forwardfor, and HTTP goes on after the header.
func TestAcceptProxyHTTP(t *testing.T) {
	app := httpBackend(t, "web")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	probe := freePort(t)
	startHalo(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 3s
    timeout server 5s
frontend fe
    bind %s accept-proxy
    bind 127.0.0.1:%d
    option forwardfor
    default_backend app
backend app
    server s1 %s
`, addr, probe, app), fmt.Sprintf("127.0.0.1:%d", probe))
	_, answer := sendRaw(t, addr, []byte("PROXY TCP4 192.0.2.7 198.51.100.2 1111 80\r\nGET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
	resp := strings.SplitN(answer, "\r\n\r\n", 2)
	if !strings.HasPrefix(answer, "HTTP/1.1 200") || len(resp) < 2 || resp[1] != "web GET /x xff=192.0.2.7 test= body=" {
		t.Errorf("answer %q", answer)
	}
}
