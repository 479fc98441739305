package proxy

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// An idle server connection is alive only while the server has neither
// closed it nor sent anything.
func TestIdleProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		name  string
		peer  func(net.Conn)
		alive bool
	}{
		{"silent", func(net.Conn) {}, true},
		{"closed", func(c net.Conn) { c.Close() }, false},
		{"stray bytes", func(c net.Conn) { c.Write([]byte("HTTP/1.1 408 x\r\n\r\n")) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			peer, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			ic := &idleConn{Conn: c, to: time.Second}
			sc := &serverConn{c: ic, br: bufio.NewReader(ic)}
			tc.peer(peer)
			// Whatever the peer did reaches our socket soon; poll until the
			// probe's answer is the expected one or time runs out.
			deadline := time.Now().Add(5 * time.Second)
			got := sc.alive()
			for got != tc.alive && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
				got = sc.alive()
			}
			if got != tc.alive {
				t.Fatalf("alive() = %v, want %v", got, tc.alive)
			}
			if tc.alive {
				// The probe must leave the connection usable.
				peer.Write([]byte("x"))
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if b, err := sc.br.ReadByte(); err != nil || b != 'x' {
					t.Fatalf("read after probe: %q %v", b, err)
				}
			}
		})
	}
}
