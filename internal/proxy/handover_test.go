package proxy

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/halo-lb/halo/internal/config"
)

// A successor taking our listeners over must leave them non-blocking:
// a blocking listener keeps the old process's accept loop asleep in
// accept(2) after a soft stop, and the old process never exits.
func TestHandoverKeepsListenersNonBlocking(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg, err := config.LoadString("t.cfg", "defaults\n mode tcp\n timeout client 5s\n timeout server 5s\n timeout connect 1s\n"+
		"listen l\n bind 127.0.0.1:"+strconv.Itoa(port)+"\n server s 127.0.0.1:1\n", config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := rt.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rt.Serve(ctx) }()

	var files map[string]*os.File
	deadline := time.Now().Add(5 * time.Second)
	for {
		files, err = fetchListeners(os.Getpid())
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // the hand-over socket is opened by Serve
	}
	if err != nil {
		t.Fatalf("fetchListeners: %v", err)
	}
	if len(files) != 1 {
		t.Fatalf("got %d listeners, want 1", len(files))
	}
	for _, f := range files {
		f.Close()
	}
	raw, err := rt.frontends[0].listeners[0].Listener.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	raw.Control(func(fd uintptr) { flags, err = unix.FcntlInt(fd, unix.F_GETFL, 0) })
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.O_NONBLOCK == 0 {
		t.Fatal("hand-over left the listening socket in blocking mode")
	}

	rt.Shutdown()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Shutdown with no session open")
	}
}
