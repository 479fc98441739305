package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/stats"
)

type fakeTarget struct {
	state   map[string]stats.AdminState
	weight  map[string]int
	cleared string
}

var errNoServer = errors.New("No such server.")

func (f *fakeTarget) Snapshot() *stats.Snapshot {
	c := stats.Counters{LastSess: -1}
	return &stats.Snapshot{Info: stats.Info{Name: "halo", Version: "t", Node: "n", Start: time.Unix(0, 0), Now: time.Unix(5, 0)},
		Proxies: []stats.Proxy{{Name: "be", ID: 2, Mode: "http", Backend: &c, BEStatus: "UP",
			Servers: []stats.Server{{Name: "s1", ID: 1, Addr: "127.0.0.1:80", Status: "UP", OpState: 2, Weight: f.weight["be/s1"], UWeight: f.weight["be/s1"], IWeight: 1, Counters: c}}}}}
}
func (f *fakeTarget) SetServerState(b, s string, st stats.AdminState) error {
	if b+"/"+s != "be/s1" {
		return errNoServer
	}
	f.state[b+"/"+s] = st
	return nil
}
func (f *fakeTarget) SetServerWeight(b, s string, w int, pct bool) error {
	if b != "be" {
		return errors.New("No such backend.")
	}
	if w > 256 {
		return errors.New("Absolute weight can only be between 0 and 256 inclusive.")
	}
	f.weight[b+"/"+s] = w
	return nil
}
func (f *fakeTarget) ServerWeight(b, s string) (int, int, error) {
	if b+"/"+s != "be/s1" {
		return 0, 0, errNoServer
	}
	return f.weight["be/s1"], 1, nil
}
func (f *fakeTarget) SetServerMaxConn(b, s string, n int) error       { return nil }
func (f *fakeTarget) ShutdownServerSessions(b, s string) (int, error) { return 0, nil }
func (f *fakeTarget) ClearCounters(all bool) {
	f.cleared = map[bool]string{true: "all", false: "max"}[all]
}
func (f *fakeTarget) BackendNames() []string { return []string{"be"} }
func (f *fakeTarget) SetServerAddr(b, s, addr, port string) (string, error) {
	if b+"/"+s != "be/s1" {
		return "", errNoServer
	}
	return "IP changed from '127.0.0.1' to '" + addr + "' by 'stats socket command'", nil
}
func (f *fakeTarget) ShowSess() string {
	return "0x00000001: proto=tcpv4 src=127.0.0.1:4000 fe=fe be=be srv=s1 ts=00 epoch=0 age=1s\n"
}

func start(t *testing.T, network string, level Level) (string, *fakeTarget) {
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "cli.sock")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	ft := &fakeTarget{state: map[string]stats.AdminState{}, weight: map[string]int{"be/s1": 1}}
	s := &Server{Target: ft, Version: "1.2.3", Timeout: time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, ln, level); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String(), ft
}

func ask(t *testing.T, network, addr, line string) string {
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, line+"\n")
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestCommands(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		addr, ft := start(t, network, LevelAdmin)
		for _, tc := range []struct{ in, want string }{
			{"get weight be/s1", "1 (initial 1)\n\n"},
			{"get weight be/nope", "No such server.\n\n"},
			{"set weight be/s1 50", "\n"},
			{"get weight be/s1", "50 (initial 1)\n\n"},
			{"set weight be/s1 500", "Absolute weight can only be between 0 and 256 inclusive.\n\n"},
			{"set server be/s1 state drain", "\n"},
			{"set server be/s1 state bogus", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"},
			{"disable server be/s1", "\n"},
			{"show backend", "# name\nbe\n\n"},
			{"show cli level", "admin\n\n"},
			{"show version", "1.2.3\n\n"},
			{"clear counters all", "\n"},
			{"show cli level; get weight be/s1", "admin\n\n50 (initial 1)\n\n"},
			{"operator; show cli level", "operator\n\n"},
			{"user; set weight be/s1 3", "Permission denied\n\n"},
		} {
			if got := ask(t, network, addr, tc.in); got != tc.want {
				t.Errorf("%s %q:\n got %q\nwant %q", network, tc.in, got, tc.want)
			}
		}
		if ft.state["be/s1"] != stats.AdminMaint || ft.cleared != "all" {
			t.Errorf("%s: state %v cleared %q", network, ft.state, ft.cleared)
		}
		if got := ask(t, network, addr, "show servers state"); !strings.HasPrefix(got, "1\n# be_id be_name srv_id srv_name") || !strings.Contains(got, "\n2 be 1 s1 127.0.0.1 2 0 50 1 ") {
			t.Errorf("show servers state: %q", got)
		}
		if got := ask(t, network, addr, "show stat"); !strings.HasPrefix(got, "# pxname,svname,") || !strings.Contains(got, "\nbe,s1,") {
			t.Errorf("show stat: %q", got)
		}
		if got := ask(t, network, addr, "frobnicate weight"); !strings.HasPrefix(got, "Unknown command, but maybe one of the following ones is a better match:\n  get weight <bk>/<srv>") {
			t.Errorf("unknown: %q", got)
		}
	}
}

func TestLevels(t *testing.T) {
	addr, _ := start(t, "unix", LevelUser)
	if got := ask(t, "unix", addr, "set server be/s1 state maint"); got != "Permission denied\n\n" {
		t.Errorf("user level: %q", got)
	}
	if got := ask(t, "unix", addr, "help"); strings.Contains(got, "set server") || !strings.Contains(got, "show stat") {
		t.Errorf("help at user level lists: %q", got)
	}
}

func TestPromptAndTimeout(t *testing.T) {
	addr, _ := start(t, "unix", LevelAdmin)
	c, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "prompt\n")
	read := func(n int) string {
		buf := make([]byte, n)
		io.ReadFull(br, buf)
		return string(buf)
	}
	if got := read(3); got != "\n> " {
		t.Fatalf("prompt: %q", got)
	}
	io.WriteString(c, "show cli level\n")
	if got := read(9); got != "admin\n\n> " {
		t.Fatalf("interactive answer: %q", got)
	}
	// The idle timeout (1s here) closes an interactive session.
	start := time.Now()
	if _, err := br.ReadByte(); err == nil {
		t.Error("connection still open after the timeout")
	}
	if time.Since(start) > 4*time.Second {
		t.Error("timeout not applied")
	}
}

func TestSocat(t *testing.T) {
	if _, err := exec.LookPath("socat"); err != nil {
		t.Skip("socat not installed")
	}
	addr, _ := start(t, "unix", LevelAdmin)
	cmd := exec.Command("socat", "stdio", "unix-connect:"+addr)
	cmd.Stdin = strings.NewReader("get weight be/s1\n")
	out, err := cmd.Output()
	if err != nil || string(out) != "1 (initial 1)\n\n" {
		t.Errorf("socat: %q %v", out, err)
	}
}

func FuzzSplitCommands(f *testing.F) {
	f.Add(`show stat; show info\; x;;`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range SplitCommands(s) {
			if strings.Contains(c, ";") && !strings.Contains(s, `\;`) {
				t.Fatalf("%q split into %q", s, c)
			}
		}
	})
}

// Options halo cannot honour are refused with a message, never ignored.
func TestRefusedOptions(t *testing.T) {
	addr, _ := start(t, "tcp", LevelAdmin)
	for _, tc := range []struct{ cmd, want string }{
		{"show info desc", "'desc' is not supported by halo"},
		{"show stat typed desc", "'desc' is not supported by halo"},
		{"show sess 0x1", "'show sess <id>' is not supported by halo"},
		{"set server be/s1 agent up", "'set server ... agent' is not supported by halo yet"},
	} {
		if got := ask(t, "tcp", addr, tc.cmd); !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, "\n\n") {
			t.Errorf("%q: %q", tc.cmd, got)
		}
	}
	// show stat desc in CSV is the plain CSV, as in HAProxy.
	if got, want := ask(t, "tcp", addr, "show stat desc"), ask(t, "tcp", addr, "show stat"); got != want {
		t.Errorf("show stat desc:\n%s\nshow stat:\n%s", got, want)
	}
	if got := ask(t, "tcp", addr, "show sess"); !strings.Contains(got, "fe=fe be=be srv=s1") || !strings.Contains(got, "proto=tcpv4 src=127.0.0.1:") || !strings.Contains(got, "fe=GLOBAL") {
		t.Errorf("show sess: %q", got)
	}
}
