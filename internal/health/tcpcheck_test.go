package health

import (
	"context"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/config"
)

// TestTCPCheckFailureInfo: failure reports name the step, the rule and
// its comment in HAProxy's words (checked against haproxy 2.6.12).
func TestTCPCheckFailureInfo(t *testing.T) {
	errSrv := server(t, func(c net.Conn) { c.Read(make([]byte, 64)); c.Write([]byte("-ERR\r\n")) })
	silent := server(t, func(c net.Conn) { c.Read(make([]byte, 64)); time.Sleep(2 * time.Second) })
	send := config.TCPCheckStep{Action: config.TCPCheckSend, Data: []byte("PING\r\n")}
	for _, tc := range []struct {
		name  string
		addr  string
		steps []config.TCPCheckStep
		want  string
	}{
		{"regex", errSrv, []config.TCPCheckStep{send, {Action: config.TCPCheckExpect, Match: config.MatchRString, Regexp: regexp.MustCompile(`^\+PONG`), Comment: "c2"}},
			"TCPCHK did not match content (regex) at step 2 comment: c2"},
		{"binary", errSrv, []config.TCPCheckStep{send, {Action: config.TCPCheckExpect, Match: config.MatchBinary, Pattern: []byte("+PONG")}},
			"TCPCHK did not match content (binary) at step 2"},
		{"unwanted", errSrv, []config.TCPCheckStep{send, {Action: config.TCPCheckExpect, Negate: true, Match: config.MatchString, Pattern: []byte("-ERR"), Comment: "neg"}},
			"TCPCHK matched unwanted content '-ERR' at step 2 comment: neg"},
		{"connect", closedPort(t), []config.TCPCheckStep{{Action: config.TCPCheckConnect, Comment: "cc"}},
			"Connection refused at step 1 of tcp-check (connect) comment: 'cc'"},
		{"timeout", silent, []config.TCPCheckStep{{Action: config.TCPCheckComment, Comment: "hello"}, send, {Action: config.TCPCheckExpect, Match: config.MatchString, Pattern: []byte("+PONG"), Comment: "expect phase"}},
			" at step 3 of tcp-check (expect string '+PONG') comment: 'expect phase'"},
	} {
		c := New(Params{Addr: tc.addr, Spec: config.CheckSpec{Kind: config.CheckTCP, TCPSteps: tc.steps},
			Inter: 10 * time.Second, TimeoutConnect: 10 * time.Second, TimeoutCheck: 300 * time.Millisecond}, nil)
		r := c.check(context.Background())
		if r.OK || r.Info != tc.want {
			t.Errorf("%s: %+v, want info %q", tc.name, r, tc.want)
		}
		// timeout check runs from the connection, not connect+check (1.5s
		// for haproxy's 1s in a test); here far below the 10s of inter.
		if tc.name == "timeout" && r.Duration > 5*time.Second {
			t.Errorf("timeout check 300ms took %v", r.Duration)
		}
	}
}

// TestHTTPCheckExpectComment: the expect rule's comment ends the reason.
func TestHTTPCheckExpectComment(t *testing.T) {
	addr := server(t, httpResponder("500 Internal Server Error", ""))
	c := New(Params{Addr: addr, Inter: 5 * time.Second, Spec: config.CheckSpec{Kind: config.CheckHTTP,
		HTTP: config.HTTPCheck{Expect: &config.HTTPExpect{Match: config.MatchStatus, Value: "200", Comment: "exp c"}}}}, nil)
	if r := c.check(context.Background()); r.Status != "L7STS" || r.Info != "Internal Server Error comment: exp c" {
		t.Errorf("%+v", r)
	}
}
