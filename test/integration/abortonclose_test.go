package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAbortOnCloseSideBySide: a server with maxconn 1 is busy with a
// held request; a second client sends its request, waits in the queue,
// then closes its side. With option abortonclose the request is dropped
// (nothing sent, the server never sees it, logged CQ with status -1 and
// its queue position); without it, it is served when the slot frees. In
// HTTP and TCP mode, under halo and haproxy alike.
func TestAbortOnCloseSideBySide(t *testing.T) {
	needSocat(t)
	var mu sync.Mutex
	seen := map[string]int{}
	release := make(chan struct{}, 1)
	held := make(chan struct{}, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/hold" {
			held <- struct{}{}
			select { // never held for ever, whatever a failed test left
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		io.WriteString(w, "ok\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	web := ln.Addr().String()
	tcpSeen := make(chan string, 16)
	tcpRelease := make(chan struct{}, 1)
	tcpApp := tcpServer(t, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		tcpSeen <- strings.TrimSpace(line)
		if strings.HasPrefix(line, "hold") {
			select {
			case <-tcpRelease:
			case <-time.After(10 * time.Second):
			}
		}
		io.WriteString(c, "ok\n")
	})
	for _, bin := range lbBins(t) {
		for _, abort := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/abortonclose=%v", bin.name, abort), func(t *testing.T) {
				sink := newSyslogSink(t)
				opt := ""
				if abort {
					opt = "    option abortonclose\n"
				}
				ph, pt := freePort(t), freePort(t)
				sock := filepath.Join(t.TempDir(), "lb.sock")
				queued := func(px string) {
					waitFor(t, px+" request queued", 10*time.Second, func() bool {
						return statRows(t, sock)[px+"/BACKEND"]["qcur"] == "1"
					})
				}
				h := startProc(t, bin.path, fmt.Sprintf("127.0.0.1:%d", ph), nil, nil, "-db", "-f", writeConfig(t, fmt.Sprintf(`global
    log %s local0
    stats socket %s level admin
defaults
    log global
    timeout client 10s
    timeout server 10s
    timeout connect 5s
    timeout queue 10s
listen web
    mode http
    option httplog
    bind 127.0.0.1:%d
%s    server s %s maxconn 1
listen raw
    mode tcp
    option tcplog
    bind 127.0.0.1:%d
%s    server s %s maxconn 1
`, sink.addr(), sock, ph, opt, web, pt, opt, tcpApp)))
				defer func() { h.cmd.Process.Kill(); <-h.done }()
				mu.Lock()
				clear(seen)
				mu.Unlock()

				// HTTP: /hold takes the only slot.
				hold := make(chan string, 1)
				go func() {
					hold <- oneShot(t, fmt.Sprintf("127.0.0.1:%d", ph), "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
				}()
				<-held
				c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ph))
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(c, "GET /second HTTP/1.1\r\nHost: a\r\n\r\n")
				queued("web")
				c.(*net.TCPConn).CloseWrite()
				if abort {
					sink.wait(t, "GET /second", 1)
				}
				release <- struct{}{}
				if got := <-hold; !strings.Contains(got, "200 OK") {
					t.Errorf("held request: %q", got)
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				got, _ := io.ReadAll(c)
				c.Close()
				mu.Lock()
				n := seen["/second"]
				mu.Unlock()
				line := sink.wait(t, "GET /second", 1)[0]
				if abort {
					if len(got) != 0 || n != 0 {
						t.Errorf("aborted request: client got %q, server saw it %d times", got, n)
					}
					if !strings.Contains(line, "/<NOSRV> ") || !strings.Contains(line, " -1 0 - - CQ-- ") || !strings.Contains(line, " 0/1 \"GET") {
						t.Errorf("log line of the aborted request: %s", line)
					}
				} else {
					if !strings.Contains(string(got), "200 OK") || n != 1 {
						t.Errorf("half-closed request without abortonclose: client got %q, server saw it %d times", got, n)
					}
					// It waited in the queue: Tw (the second timer) counts that
					// wait, and its queue position is 1.
					if m := regexp.MustCompile(` web/s \d+/(\d+)/`).FindStringSubmatch(line); m == nil || m[1] == "0" || !strings.Contains(line, " 0/1 \"GET") {
						t.Errorf("log line of the queued request: %s", line)
					}
				}

				// TCP: the same with a held connection.
				tc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", pt))
				if err != nil {
					t.Fatal(err)
				}
				defer tc.Close()
				io.WriteString(tc, "hold\n")
				if s := <-tcpSeen; s != "hold" {
					t.Fatalf("tcp server saw %q first", s)
				}
				c2, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", pt))
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(c2, "second\n")
				queued("raw")
				c2.(*net.TCPConn).CloseWrite()
				if abort {
					tl := sink.wait(t, " CQ ", 1)[0]
					if !strings.Contains(tl, "raw raw/<NOSRV> ") {
						t.Errorf("tcp log line of the aborted connection: %s", tl)
					}
				}
				tcpRelease <- struct{}{}
				// The held session ends, and frees the slot, when its client
				// leaves too.
				tc.SetReadDeadline(time.Now().Add(10 * time.Second))
				if l, _ := bufio.NewReader(tc).ReadString('\n'); l != "ok\n" {
					t.Errorf("held tcp connection got %q", l)
				}
				tc.Close()
				c2.SetReadDeadline(time.Now().Add(10 * time.Second))
				got2, _ := io.ReadAll(c2)
				c2.Close()
				if abort {
					if len(got2) != 0 {
						t.Errorf("aborted tcp connection got %q", got2)
					}
				} else {
					var s string
					select {
					case s = <-tcpSeen:
					case <-time.After(10 * time.Second):
					}
					if s != "second" || !strings.Contains(string(got2), "ok") {
						t.Errorf("half-closed tcp connection without abortonclose: server saw %q, client got %q; logs %q", s, got2, sink.wait(t, "raw", 1))
					}
				}
			})
		}
	}
}
