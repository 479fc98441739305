package logging

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ts(s string) time.Time {
	t, err := time.Parse("02/Jan/2006:15:04:05.000", s)
	if err != nil {
		panic(err)
	}
	return t
}

// The lines of §2.3 of the reference, observed from HAProxy 2.6.
func TestPredefinedFormats(t *testing.T) {
	base := Record{Client: netip.MustParseAddrPort("127.0.0.1:40792"), FrontendName: "fe_http", BackendName: "be_web",
		ServerName: "web1", Accept: ts("24/Nov/2026:00:18:15.930"), TR: 0, Tw: 0, Tc: 0, Tr: time.Millisecond,
		Ta: time.Millisecond, Status: 200, BytesOut: 203, Term: [4]byte{'-', '-', '-', '-'}, HTTP: true,
		ActConn: 1, FeConn: 1, Method: "GET", URI: "/foo?x=1", Version: "HTTP/1.1"}
	nosrv := base
	nosrv.Client, nosrv.Accept = netip.MustParseAddrPort("127.0.0.1:40810"), ts("24/Nov/2026:00:18:15.997")
	nosrv.BackendName, nosrv.ServerName, nosrv.Tw, nosrv.Tc, nosrv.Tr, nosrv.Ta = "be_dead", "<NOSRV>", -1, -1, -1, 0
	nosrv.Status, nosrv.BytesOut, nosrv.Term, nosrv.URI = 503, 217, [4]byte{'S', 'C', '-', '-'}, "/dead"
	bad := nosrv
	bad.BackendName, bad.TR, bad.BadReq, bad.Status, bad.BytesOut, bad.Term = "fe_http", -1, true, 400, 0, [4]byte{'P', 'R', '-', '-'}
	tcp := Record{Client: netip.MustParseAddrPort("127.0.0.1:54904"), FrontendName: "fe_tcp", BackendName: "be_tcp",
		ServerName: "t1", Accept: ts("24/Nov/2026:00:18:16.095"), Tw: time.Millisecond, Tc: 0, Tt: time.Millisecond,
		BytesOut: 358, Term: [4]byte{'-', '-'}, ActConn: 1, FeConn: 1}
	capt := base
	capt.HasCaptRq, capt.CaptReq = true, []string{"example.com", ""}
	badCapt := bad
	badCapt.HasCaptRq, badCapt.HasCaptRs = true, true
	for _, tc := range []struct {
		name, format string
		rec          Record
		want         string
	}{
		{"httplog", HTTPLog, base, `127.0.0.1:40792 [24/Nov/2026:00:18:15.930] fe_http be_web/web1 0/0/0/1/1 200 203 - - ---- 1/1/0/0/0 0/0 "GET /foo?x=1 HTTP/1.1"`},
		{"no server", HTTPLog, nosrv, `127.0.0.1:40810 [24/Nov/2026:00:18:15.997] fe_http be_dead/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET /dead HTTP/1.1"`},
		{"bad request", HTTPLog, bad, `127.0.0.1:40810 [24/Nov/2026:00:18:15.997] fe_http fe_http/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"`},
		// Observed: no capture braces on a <BADREQ> line, captures declared or not.
		{"bad request with captures", HTTPLog, badCapt, `127.0.0.1:40810 [24/Nov/2026:00:18:15.997] fe_http fe_http/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"`},
		{"bad request with captures, clf", HTTPLogCLF, badCapt, `127.0.0.1 - - [24/Nov/2026:00:18:15 +0000] "<BADREQ>" 400 0 "" "" 40810 997 "fe_http" "fe_http" "<NOSRV>" -1 -1 -1 -1 0 PR-- 1 1 0 0 0 0 0 "" "" `},
		{"tcplog", TCPLog, tcp, `127.0.0.1:54904 [24/Nov/2026:00:18:16.095] fe_tcp be_tcp/t1 1/0/1 358 -- 1/1/0/0/0 0/0`},
		{"captures", HTTPLog, capt, `127.0.0.1:40792 [24/Nov/2026:00:18:15.930] fe_http be_web/web1 0/0/0/1/1 200 203 - - ---- 1/1/0/0/0 0/0 {example.com|} "GET /foo?x=1 HTTP/1.1"`},
		{"clf", HTTPLogCLF, capt, `127.0.0.1 - - [24/Nov/2026:00:18:15 +0000] "GET /foo?x=1 HTTP/1.1" 200 203 "" "" 40792 930 "fe_http" "be_web" "web1" 0 0 0 1 1 ---- 1 1 0 0 0 0 0 "" "" "example.com" "" `},
		{"flags", `%{+Q}b %{+X}ST %{+E}HU`, Record{BackendName: "be", Status: 255, URI: `/a"b`}, `"be" FF /a#22b`},
		{"percent", `100%% %pid`, Record{Pid: 42}, `100% 42`},
		// Backslashes are literal (observed: haproxy logs "a\.b", and
		// "\%f" is a backslash then the frontend's name).
		{"backslashes", `a\.b|c\d|e\%f|\]|\`, Record{FrontendName: "fe"}, `a\.b|c\d|e\fe|\]|\`},
		{"encoding", `%{+Q}r %hr`, Record{Method: "GET", URI: "/a\"b#c\x01", Version: "HTTP/1.1", HasCaptRq: true, CaptReq: []string{"x|y}\""}},
			`"GET /a#22b#23c#01 HTTP/1.1" {x#7Cy#7D#22}`},
	} {
		f, err := Compile(tc.format, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := f.String(&tc.rec); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"%zz", "no such variable '%zz'"},
		{"%[src", "missing ']'"},
		{"%{+Z}ci", "unknown option '+Z'"},
		{"%[src]", "sample expressions are not allowed here"},
		{"abc %", "at the end"},
	} {
		_, err := Compile(tc.in, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// Framings as observed from HAProxy 2.6 (§2.2 of the reference and a
// capture of each `format` on 2026-11-24).
func TestFraming(t *testing.T) {
	now := time.Date(2026, 11, 4, 20, 23, 25, 464377000, time.UTC)
	h := Header{Tag: "haproxy", Pid: 2047}
	for _, tc := range []struct {
		f    Framing
		hdr  Header
		want string
	}{
		{FrameLocal, h, "<150>Nov  4 20:23:25 haproxy[2047]: msg\n"},
		{FrameLocal, Header{Tag: "mylb", Pid: 1, Hostname: "lb1"}, "<150>Nov  4 20:23:25 lb1 mylb[1]: msg\n"},
		{FrameRFC5424, h, "<150>1 2026-11-04T20:23:25.464377+00:00 - haproxy 2047 - - msg\n"},
		{FrameRaw, h, "msg\n"},
		{FrameShort, h, "<6>msg\n"},
		{FrameISO, h, "2026-11-04T20:23:25.464377+00:00 msg\n"},
		{FrameTimed, h, "<6>2026-11-04T20:23:25.464377+00:00 msg\n"},
		{FramePriority, h, "<150>msg\n"},
	} {
		got := string(frame(nil, TargetSpec{Framing: tc.f, Facility: 18, Len: 1024}, tc.hdr, Info, now, "msg"))
		if got != tc.want {
			t.Errorf("framing %d: got %q want %q", tc.f, got, tc.want)
		}
	}
	// len: haproxy 2.6.12 with `len 120` sends 120-byte raw datagrams
	// (newline included) and 121 bytes in every framing with a header.
	long := strings.Repeat("x", 300)
	for f := FrameLocal; f <= FramePriority; f++ {
		want := 121
		if f == FrameRaw {
			want = 120
		}
		got := frame(nil, TargetSpec{Framing: f, Facility: 18, Len: 120}, h, Info, now, long)
		if len(got) != want || got[len(got)-1] != '\n' {
			t.Errorf("framing %d with len 120: %d bytes %q", f, len(got), got)
		}
	}
}

func TestLoggerUDPAndUnix(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	sock := filepath.Join(t.TempDir(), "log.sock")
	ux, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ux.Close()
	l, err := New(Header{Tag: "halo", Pid: 7}, []TargetSpec{
		{Address: udp.LocalAddr().String(), Facility: 18, MaxLevel: Info},
		{Address: "unix@" + sock, Framing: FrameRaw, Facility: 16, MaxLevel: Notice},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(Info, "traffic")
	l.Log(Alert, "server down")
	l.Log(Debug, "filtered")
	l.Close()
	read := func(pc net.PacketConn) []string {
		var out []string
		buf := make([]byte, 2048)
		for {
			pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return out
			}
			out = append(out, string(buf[:n]))
		}
	}
	got := read(udp)
	if len(got) != 2 || !strings.HasPrefix(got[0], "<150>") || !strings.HasSuffix(got[0], " halo[7]: traffic\n") || !strings.HasPrefix(got[1], "<145>") {
		t.Errorf("udp datagrams: %q", got)
	}
	if got := read(ux); len(got) != 1 || got[0] != "server down\n" {
		t.Errorf("unix datagrams (max notice): %q", got)
	}
}

// TestNeverBlocks: a target that cannot take messages drops and counts
// them while Log returns at once.
func TestNeverBlocks(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "absent.sock")
	l, err := New(Header{}, []TargetSpec{{Address: sock, MaxLevel: Debug}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 5000; i++ {
		l.Log(Info, "x")
	}
	l.Close()
	if l.Dropped() != 5000 {
		t.Errorf("dropped %d of 5000 messages to an absent socket", l.Dropped())
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("logging blocked for %v", d)
	}
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct{ in, net, addr, err string }{
		{"127.0.0.1", "udp", "127.0.0.1:514", ""},
		{"127.0.0.1:5514", "udp", "127.0.0.1:5514", ""},
		{"udp6@[::1]:514", "udp6", "[::1]:514", ""},
		// As haproxy 2.6.12 reads them: the last colon of a bare IPv6
		// address starts the port, so "::1" alone is refused.
		{"::1:19591", "udp", "[::1]:19591", ""},
		{"[::1]", "udp", "[::1]:514", ""},
		{"[::1]:5514", "udp", "[::1]:5514", ""},
		{"ipv6@::1:5514", "udp6", "[::1]:5514", ""},
		{"ipv6@[::1]", "udp6", "[::1]:514", ""},
		{"udp4@127.0.0.1", "udp4", "127.0.0.1:514", ""},
		{"localhost:5514", "udp", "localhost:5514", ""},
		{"::1", "", "", "invalid address ':'"},
		{"udp6@::1", "", "", "invalid address ':'"},
		{"2001:db8::1", "", "", "invalid address '2001:db8:'"},
		{"[::1", "", "", "missing ']'"},
		{"ipv4@::1:514", "", "", "not an IPv4 address"},
		{"sctp@1.2.3.4", "", "", "unknown address family"},
		{"127.0.0.1:", "", "", "invalid port"},
		{"/dev/log", "unixgram", "/dev/log", ""},
		{"stdout", "stdout", "", ""},
		{"ring@buf", "", "", "ring buffers are not supported"},
		{"tcp@127.0.0.1:514", "", "", "TCP log servers"},
		{"127.0.0.1:99999", "", "", "invalid port"},
	} {
		n, a, err := ParseAddress(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || n != tc.net || a != tc.addr {
			t.Errorf("%s: %s %s %v", tc.in, n, a, err)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{HTTPLog, HTTPLogCLF, TCPLog, "%{+Q,+E}r %%%[x]", "%{-Q}o%{+X}Tt"} {
		f.Add(s)
	}
	rec := &Record{Method: "GET", URI: "/", Version: "HTTP/1.1", HasCaptRq: true, CaptReq: []string{"a"}}
	f.Fuzz(func(t *testing.T, s string) {
		if fm, err := Compile(s, nil); err == nil {
			fm.String(rec)
		}
	})
}

var _ = os.Getpid
