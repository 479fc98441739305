package integration

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runCheck runs `<bin> -c -f file` and returns rc, stdout, stderr.
func runCheck(t *testing.T, bin, file string, extra ...string) (int, string, string) {
	t.Helper()
	var so, se bytes.Buffer
	cmd := exec.Command(bin, append([]string{"-c", "-f", file}, extra...)...)
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	rc := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return rc, so.String(), se.String()
}

// TestCheckModeSideBySide compares `halo -c` with `haproxy -c` on valid
// and broken configurations: same exit code, and for errors both name
// the same line.
func TestCheckModeSideBySide(t *testing.T) {
	const tmo = "    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
	cases := []struct {
		name, text string
		rc         int
		line       int // line an error must name (0: none)
		stdout     string
	}{
		{"valid", "defaults\n    mode tcp\n" + tmo + "listen l\n    bind 127.0.0.1:1\n    server s 127.0.0.1:2\n", 0, 0, "Configuration file is valid"},
		{"warning", "listen l\n    bind 127.0.0.1:1\n    server s 127.0.0.1:2\n", 0, 0, "Warnings were found.\nConfiguration file is valid"},
		{"no listener", "defaults\n" + tmo + "backend b\n    server s 127.0.0.1:2\n", 2, 0, "Configuration file has no error but will not start (no listener) => exit(2)."},
		{"unknown keyword", "defaults\n" + tmo + "frontend f\n    bind :1\n    bogus_keyword x\n", 1, 7, ""},
		{"bad default_backend", "defaults\n" + tmo + "frontend f\n    bind :1\n    default_backend nope\n", 1, 0, ""},
		{"mode mismatch", "defaults\n" + tmo + "frontend f\n    mode http\n    bind :1\n    default_backend b\nbackend b\n    mode tcp\n    server s 127.0.0.1:2\n", 1, 0, ""},
		{"bad weight", "defaults\n" + tmo + "backend b\n    server s 127.0.0.1:2 weight 300\nfrontend f\n    bind :1\n    default_backend b\n", 1, 6, ""},
		{"removed keyword", "defaults\n" + tmo + "frontend f\n    bind :1\n    reqadd X-A:\\ b\n", 1, 7, ""},
		{"bad timeout", "defaults\n" + tmo + "    timeout klient 3s\nfrontend f\n    bind :1\n", 1, 5, ""},
		{"bad bind port", "defaults\n" + tmo + "frontend f\n    bind 127.0.0.1:\n", 1, 6, ""},
		{"missing LF", "defaults\n" + tmo + "frontend f\n    bind :1", 1, 6, ""},
		{"unknown option", "defaults\n" + tmo + "backend b\n    option bogus\nfrontend f\n    bind :1\n", 1, 6, ""},
	}
	haproxy, _ := exec.LookPath("haproxy")
	lineRe := regexp.MustCompile(`:(\d+)\]?:? `)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "t.cfg")
			os.WriteFile(f, []byte(tc.text), 0o644)
			rc, so, se := runCheck(t, haloBin, f)
			if rc != tc.rc {
				t.Errorf("halo -c rc=%d, want %d\nstdout: %s\nstderr: %s", rc, tc.rc, so, se)
			}
			if tc.stdout != "" && strings.TrimSpace(so) != tc.stdout {
				t.Errorf("halo -c stdout %q, want %q", so, tc.stdout)
			}
			if rc == 1 && !strings.Contains(se, "[ALERT]") {
				t.Errorf("errors must be [ALERT] lines: %s", se)
			}
			if tc.line > 0 && !strings.Contains(se, fmt.Sprintf("t.cfg:%d: ", tc.line)) {
				t.Errorf("halo must name t.cfg:%d:\n%s", tc.line, se)
			}
			if haproxy == "" {
				return
			}
			hrc, _, hse := runCheck(t, haproxy, f)
			if hrc != rc {
				t.Errorf("haproxy -c rc=%d, halo rc=%d\nhaproxy: %s\nhalo: %s", hrc, rc, hse, se)
			}
			if tc.line > 0 {
				m := lineRe.FindStringSubmatch(hse)
				if m == nil || m[1] != fmt.Sprint(tc.line) {
					t.Errorf("haproxy names another line than %d: %s", tc.line, hse)
				}
			}
		})
	}
	// -dW turns warnings into a failure, as in HAProxy.
	f := filepath.Join(t.TempDir(), "w.cfg")
	os.WriteFile(f, []byte(cases[1].text), 0o644)
	if rc, _, se := runCheck(t, haloBin, f, "-dW"); rc != 1 || !strings.Contains(se, "'zero-warning' is set") {
		t.Errorf("-dW: rc=%d %s", rc, se)
	}
}

// TestSeedSSLPassthrough serves the guide's TLS pass-through config
// unchanged (tcp mode): bytes reach the servers, checks use ports 9101/9102.
func TestSeedSSLPassthrough(t *testing.T) {
	seed := filepath.Join("..", "..", "..", "shared", "seed-configs", "ssl-passthrough.cfg")
	if _, err := os.Stat(seed); err != nil {
		t.Skip("shared/seed-configs not found beside the checkout")
	}
	var servers []*backend
	for _, a := range []string{"127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9101", "127.0.0.1:9102"} {
		b, err := tryBackend(t, a)
		if err != nil {
			t.Skipf("port %s is taken: %v", a, err)
		}
		servers = append(servers, b)
	}
	h := startProc(t, haloBin, "127.0.0.1:8443", nil, nil, "-db", "-f", seed)
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		seen[hello(t, "127.0.0.1:8443")] = true
	}
	if !seen["127.0.0.1:9001"] || !seen["127.0.0.1:9002"] {
		t.Errorf("both servers should serve: %v", seen)
	}
	waitFor(t, "checks on 9101/9102", 10*time.Second, func() bool { return servers[2].served() > 0 && servers[3].served() > 0 })
	_ = h
}

func tryBackend(t *testing.T, addr string) (*backend, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return serveBackend(t, addr, ln, false), nil
}
