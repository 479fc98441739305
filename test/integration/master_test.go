package integration

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMasterWorkerReload reloads a master-worker halo 50 times while
// clients keep sending requests, on new connections and on keep-alive
// ones, and counts the requests that fail. The goal, met here, is zero: each new worker takes
// the listening sockets over from the old one, which then drains.
func TestMasterWorkerReload(t *testing.T) {
	a, b := httpBackend(t, "web1"), httpBackend(t, "web2")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := writeConfig(t, fmt.Sprintf(`global
    hard-stop-after 10s
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
listen web
    bind 127.0.0.1:%d
    server web1 %s
    server web2 %s
`, port, a, b))
	msock := filepath.Join(t.TempDir(), "master.sock")
	h := startProc(t, haloBin, addr, nil, nil, "-W", "-db", "-S", msock+",level,admin", "-f", cfg)
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 6; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Four clients open a connection per request, two keep their
			// connections alive across reloads: the old worker must close
			// them cleanly (connection: close, idle ones closed) so that
			// no request is lost.
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: c < 4}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get("http://" + addr + "/")
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 && strings.HasPrefix(string(body), "web") {
						ok.Add(1)
						continue
					}
					err = fmt.Errorf("status %d body %q", resp.StatusCode, body)
				}
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	const reloads = 50
	for i := 1; i <= reloads; i++ {
		before := strings.Count(h.stderr.String(), "Loading success.")
		h.signal(syscall.SIGUSR2)
		waitFor(t, fmt.Sprintf("reload %d", i), 20*time.Second, func() bool {
			return strings.Count(h.stderr.String(), "Loading success.") > before
		})
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d reloads: %d requests served, %d failed", reloads, ok.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during reloads; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
	}
	if ok.Load() == 0 {
		t.Error("no request was served")
	}
	out := h.stderr.String()
	if strings.Count(out, "New worker (") < reloads+1 || !strings.Contains(out, "Former worker (") {
		t.Errorf("master messages:\n%s", out)
	}
	// The former workers do not wait for hard-stop-after (10s): their
	// keep-alive connections are closed after the request in progress.
	waitFor(t, "the former workers to exit", 8*time.Second, func() bool {
		return strings.Count(h.stderr.String(), "Former worker (") >= reloads
	})
	// The master CLI: show proc, and reload like SIGUSR2.
	if _, err := exec.LookPath("socat"); err == nil {
		mcli := func(cmd string) string { return socatCLI(t, msock, cmd) }
		proc := mcli("show proc")
		if !strings.Contains(proc, " master ") || !strings.Contains(proc, "# workers\n") || !strings.Contains(proc, fmt.Sprintf("%d [failed: 0]", reloads)) {
			t.Errorf("show proc:\n%s", proc)
		}
		before := strings.Count(h.stderr.String(), "Loading success.")
		mcli("reload")
		waitFor(t, "master CLI reload", 20*time.Second, func() bool {
			return strings.Count(h.stderr.String(), "Loading success.") > before
		})
	}
	// A broken configuration is refused and the current worker goes on.
	if err := os.WriteFile(cfg, []byte("frontend f\n  bind 127.0.0.1:1\n  bogus_keyword\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.signal(syscall.SIGUSR2)
	waitFor(t, "the refused reload", 10*time.Second, func() bool {
		return strings.Contains(h.stderr.String(), "Failed to load the new configuration")
	})
	if body := oneShot(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); !strings.Contains(body, " 200 ") {
		t.Errorf("after a refused reload: %q", body)
	}
	h.signal(syscall.SIGTERM)
	h.wait(t, 15*time.Second)
	if !strings.Contains(h.stderr.String(), "Exiting Master process...") {
		t.Errorf("no exit message:\n%s", h.stderr.String())
	}
}
