package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// closeWatch implements option abortonclose: while a request waits for
// a server (queued for a slot, or connecting), it watches the client's
// socket and cancels the wait when the client closes its side (EOF or
// reset) before sending anything more. Bytes waiting to be read end the
// watch without cancelling: the client is still talking.
//
// The watch waits in the runtime's poller (RawConn.Read) and never
// consumes data: it only peeks.
type closeWatch struct {
	c      net.Conn
	done   chan struct{}
	closed atomic.Bool
	data   []byte // bytes taken from the client (watchCloseReading)
}

// watchClose starts watching c, or returns nil when c is not a socket
// (an HTTP/2 stream). cancel is called when the client closes.
func watchClose(c net.Conn, cancel context.CancelFunc) *closeWatch {
	return startWatch(c, cancel, 0)
}

// watchCloseReading is watchClose for a TCP session: what the client
// sends meanwhile (up to max bytes) is read and kept, to go to the
// server first, so that its close behind those bytes is seen, as
// HAProxy's buffer sees it.
func watchCloseReading(c net.Conn, cancel context.CancelFunc, max int) *closeWatch {
	return startWatch(c, cancel, max)
}

func startWatch(c net.Conn, cancel context.CancelFunc, keep int) *closeWatch {
	// Under TLS the socket is watched: an alert is bytes, so the watch
	// ends and nothing is cancelled.
	rc, err := socketOf(c)
	if rc == nil || err != nil {
		return nil
	}
	w := &closeWatch{c: c, done: make(chan struct{})}
	if keep > 0 {
		w.data = make([]byte, 0, keep)
	}
	go func() {
		defer close(w.done)
		var one [1]byte
		rc.Read(func(fd uintptr) bool {
			var n int
			var err error
			if keep > 0 {
				n, _, err = unix.Recvfrom(int(fd), w.data[len(w.data):cap(w.data)], unix.MSG_DONTWAIT)
			} else {
				n, _, err = unix.Recvfrom(int(fd), one[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			}
			switch {
			case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
				return false // nothing yet: wait for the socket to be readable
			case n == 0 || err != nil:
				w.closed.Store(true) // EOF, or reset
				cancel()
				return true
			case keep > 0:
				w.data = w.data[:len(w.data)+n]
				return len(w.data) == cap(w.data) // full: the watch ends
			}
			return true // bytes: the client is still talking
		})
	}()
	return w
}

// taken returns the bytes a reading watch took from the client; call it
// after stop.
func (w *closeWatch) taken() []byte {
	if w == nil {
		return nil
	}
	return w.data
}

// stop ends the watch (waking it with a read deadline, then clearing
// the deadline so the connection's own timeouts apply again) and
// reports whether the client closed. A nil watch reports false.
func (w *closeWatch) stop() bool {
	if w == nil {
		return false
	}
	select {
	case <-w.done:
	default:
		w.c.SetReadDeadline(time.Now())
		<-w.done
	}
	if ic, ok := w.c.(*idleConn); ok {
		ic.setReadDeadline(time.Time{})
	} else {
		w.c.SetReadDeadline(time.Time{})
	}
	return w.closed.Load()
}

// silentClose closes a client connection without telling the client
// (http-request silent-drop): with TCP_REPAIR, which needs CAP_NET_ADMIN,
// nothing at all is sent; else the connection is reset (SO_LINGER 0), so
// that at least no FIN, no answer and no TIME_WAIT stay behind.
func silentClose(c net.Conn) {
	rc, err := socketOf(c)
	if rc == nil || err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_REPAIR, 1) != nil {
			unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		}
	})
}

// socketOf returns the socket under c, through halo's idleConn and TLS
// wrappers; nil (and no error) when c is not a socket, as an HTTP/2
// stream is not.
func socketOf(c net.Conn) (syscall.RawConn, error) {
	if ic, ok := c.(*idleConn); ok {
		c = ic.Conn
	}
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, nil
	}
	return sc.SyscallConn()
}
