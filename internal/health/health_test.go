package health

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/config"
)

// server runs a TCP server on 127.0.0.1 that handles each connection with h.
func server(t *testing.T, h func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); h(c) }()
		}
	}()
	return ln.Addr().String()
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func httpResponder(status string, body string) func(net.Conn) {
	return func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			l, err := br.ReadString('\n')
			if err != nil || l == "\r\n" {
				break
			}
		}
		fmt.Fprintf(c, "HTTP/1.1 %s\r\ncontent-length: %d\r\n\r\n%s", status, len(body), body)
	}
}

// runChecks runs a checker until n events arrived and returns them.
func runChecks(t *testing.T, p Params, n int) []Event {
	t.Helper()
	p.Inter, p.Backend, p.Server = 20*time.Millisecond, "be", "s1"
	var mu sync.Mutex
	var evs []Event
	done := make(chan struct{})
	c := New(p, func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		evs = append(evs, ev)
		if len(evs) == n {
			close(done)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { c.Run(ctx); close(stopped) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("checks did not run")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop on cancel")
	}
	mu.Lock()
	defer mu.Unlock()
	return evs[:n]
}

func lines(p Params, evs []Event) []string {
	p.Backend, p.Server = "be", "s1"
	var out []string
	for _, ev := range evs {
		ev.Result.Duration = 0
		out = append(out, CheckLine(p, ev))
	}
	return out
}

func TestChecks(t *testing.T) {
	redisOK := server(t, func(c net.Conn) {
		buf := make([]byte, 64)
		if n, _ := c.Read(buf); strings.HasPrefix(string(buf[:n]), "PING") {
			c.Write([]byte("+PONG\r\n"))
		}
	})
	redisBad := server(t, func(c net.Conn) { c.Read(make([]byte, 64)); c.Write([]byte("-ERR\r\n")) })
	tcpSpec := config.CheckSpec{Kind: config.CheckTCP, TCPSteps: []config.TCPCheckStep{
		{Action: config.TCPCheckSend, Data: []byte("PING\r\n")},
		{Action: config.TCPCheckExpect, Match: config.MatchString, Pattern: []byte("+PONG")},
	}}
	httpSpec := config.CheckSpec{Kind: config.CheckHTTP, HTTP: config.HTTPCheck{Method: "GET", URI: "/healthz", Version: "HTTP/1.0"}}
	for _, tc := range []struct {
		name string
		addr string
		spec config.CheckSpec
		want []string
	}{
		{"l4 ok", server(t, func(net.Conn) {}), config.CheckSpec{}, []string{
			"Health check for server be/s1 succeeded, reason: Layer4 check passed, check duration: 0ms, status: 3/3 UP."}},
		{"l4 refused", closedPort(t), config.CheckSpec{}, []string{
			`Health check for server be/s1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms, status: 0/2 DOWN.`,
			`Health check for server be/s1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms, status: 0/2 DOWN.`}},
		{"http 200", server(t, httpResponder("200 OK", "")), httpSpec, []string{
			"Health check for server be/s1 succeeded, reason: Layer7 check passed, code: 200, check duration: 0ms, status: 3/3 UP."}},
		{"http 500", server(t, httpResponder("500 Internal Server Error", "")), httpSpec, []string{
			"Health check for server be/s1 failed, reason: Layer7 wrong status, code: 500, info: \"Internal Server Error\", check duration: 0ms, status: 0/2 DOWN."}},
		{"tcp-check ok", redisOK, tcpSpec, []string{
			`Health check for server be/s1 succeeded, reason: Layer7 check passed, code: 0, info: "(tcp-check)", check duration: 0ms, status: 3/3 UP.`}},
		{"tcp-check mismatch", redisBad, tcpSpec, []string{
			`Health check for server be/s1 failed, reason: Layer7 invalid response, info: "TCPCHK did not match content '+PONG' at step 2", check duration: 0ms, status: 0/2 DOWN.`}},
		{"tcp-check refused", closedPort(t), tcpSpec, []string{
			`Health check for server be/s1 failed, reason: Layer4 connection problem, info: "Connection refused at initial connection step of tcp-check", check duration: 0ms, status: 0/2 DOWN.`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Params{Addr: tc.addr, Spec: tc.spec, Rise: 2, Fall: 3}
			got := lines(p, runChecks(t, p, len(tc.want)))
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("check %d:\n got  %s\n want %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestExpectStatus(t *testing.T) {
	addr := server(t, httpResponder("404 Not Found", "gone"))
	for _, tc := range []struct {
		expect *config.HTTPExpect
		ok     bool
	}{
		{&config.HTTPExpect{Match: config.MatchStatus, Value: "404"}, true},
		{&config.HTTPExpect{Match: config.MatchStatus, Value: "200-299"}, false},
		{&config.HTTPExpect{Match: config.MatchStatus, Value: "404", Negate: true}, false},
		{&config.HTTPExpect{Match: config.MatchString, Value: "gone"}, true},
	} {
		p := Params{Addr: addr, Spec: config.CheckSpec{Kind: config.CheckHTTP, HTTP: config.HTTPCheck{Expect: tc.expect}}}
		if ev := runChecks(t, p, 1)[0]; ev.Result.OK != tc.ok {
			t.Errorf("expect %+v: ok=%v, want %v (%+v)", tc.expect, ev.Result.OK, tc.ok, ev.Result)
		}
	}
}

// TestTransitions drives the state machine with a flapping server:
// UP(3/3) -> fail 2/3 -> 1/3 -> DOWN 0/2 -> 1/2 DOWN -> UP 3/3.
func TestTransitions(t *testing.T) {
	c := New(Params{Rise: 2, Fall: 3}, nil)
	ok, bad := Result{OK: true}, Result{}
	var got []string
	for i, r := range []Result{ok, bad, bad, bad, ok, ok, bad} {
		ev := c.apply(r, i == 0)
		s := statusPart(ev)
		if ev.Changed {
			s += "*"
		}
		got = append(got, s)
	}
	want := "3/3 UP,2/3 UP,1/3 UP,0/2 DOWN*,1/2 DOWN,3/3 UP*,2/3 UP"
	if strings.Join(got, ",") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, ","), want)
	}
	// A first check that fails takes the server down at once.
	c = New(Params{Rise: 2, Fall: 3}, nil)
	if ev := c.apply(bad, true); ev.Up || !ev.Changed || statusPart(ev) != "0/2 DOWN" {
		t.Errorf("first failure: %+v", ev)
	}
}

func TestMessages(t *testing.T) {
	r := &Result{Status: "L4CON", Desc: "Layer4 connection problem", Info: "Connection refused"}
	if got, want := DownLine("be_dead", "dead1", false, r, 0, 0, 0, 0, 0), `Server be_dead/dead1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`; got != want {
		t.Errorf("DownLine:\n got  %s\n want %s", got, want)
	}
	if got, want := UpLine("be_web", "web1", false, nil, 2, 0, 0, 0), "Server be_web/web1 is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue."; got != want {
		t.Errorf("UpLine: %s", got)
	}
	if got := NoServerLine("be_dead"); got != "backend be_dead has no server available!" {
		t.Errorf("NoServerLine: %s", got)
	}
}
