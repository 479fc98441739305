package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/proxyproto"
	"github.com/halo-lb/halo/internal/stick"
)

// acceptConn runs the tcp-request connection rules on a new connection's
// own addresses and reports whether to keep it. A rejected connection is
// only counted (dcon), as HAProxy does. It returns the session's sticky
// counters (nil without stick tables), which the caller releases.
func (fe *frontend) acceptConn(c net.Conn) (*trackers, bool) {
	var sess *trackers
	if len(fe.rt.tables) > 0 {
		sess = &trackers{tables: fe.rt.tables}
	}
	var txn *acl.Txn
	for _, r := range fe.cfg.TCPRequest {
		if r.Layer != "connection" {
			continue
		}
		if txn == nil {
			txn = &acl.Txn{Src: addrPort(c.RemoteAddr()), Dst: addrPort(c.LocalAddr()), Backends: fe.rt, Frontend: fe.cfg.Name,
				Stick: sess.counters()}
		}
		if r.Cond.Match(txn) {
			if r.Stick != nil {
				sess.apply(r.Stick, txn, false)
				continue
			}
			if r.Action == "reject" {
				fe.stats.deniedConn.Add(1)
				return sess, false
			}
			break
		}
	}
	// The session starts: its counters count it.
	sess.count(stick.EvSession, 1)
	return sess, true
}

// listenerName names a listener in connection error logs as HAProxy:
// the bind line's name, else its number in the frontend (1-based).
func listenerName(bd *config.Bind, index int) string {
	if bd.Name != "" {
		return bd.Name
	}
	return strconv.Itoa(index + 1)
}

// connError logs a connection that failed before its session started
// (a PROXY protocol header refused), as HAProxy: only for proxies with
// a log format.
func (fe *frontend) connError(c net.Conn, bl boundListener, msg string) {
	if fe.cfg.LogFmt == nil || fe.cfg.LogAtAccept {
		return
	}
	src := addrPort(c.RemoteAddr())
	fe.rt.loggerFor(fe.cfg).Log(logging.Info, fmt.Sprintf("%s:%d [%s] %s/%s: %s", src.Addr().Unmap(), src.Port(),
		time.Now().Format("02/Jan/2006:15:04:05.000"), fe.cfg.Name, bl.name, msg))
}

// proxiedConn is a client connection whose addresses come from the
// PROXY protocol header it started with (bind ... accept-proxy).
type proxiedConn struct {
	*net.TCPConn
	src, dst net.Addr
}

func (c *proxiedConn) RemoteAddr() net.Addr { return c.src }
func (c *proxiedConn) LocalAddr() net.Addr  { return c.dst }

// readProxy reads the PROXY protocol header a connection starts with,
// within the client timeout (10s when unset), and returns the connection
// with the addresses it carries. As HAProxy, the header must arrive in
// one piece (the protocol asks senders for it): the bytes first queued
// are peeked, and exactly the header is consumed.
func (fe *frontend) readProxy(c net.Conn) (net.Conn, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, proxyproto.ErrAbort
	}
	to := fe.cfg.Timeouts.Client
	if to == 0 {
		to = 10 * time.Second
	}
	tc.SetReadDeadline(time.Now().Add(to))
	defer tc.SetReadDeadline(time.Time{})
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, proxyproto.ErrAbort
	}
	buf := make([]byte, 256)
	var n int
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, perr = unix.Recvfrom(int(fd), buf, unix.MSG_PEEK)
		return perr != unix.EAGAIN
	})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, proxyproto.ErrTimeout
	case err != nil || perr != nil:
		return nil, proxyproto.ErrAbort
	case n == 0:
		return nil, proxyproto.ErrEmpty
	}
	h, hl, err := proxyproto.Parse(buf[:n])
	if errors.Is(err, proxyproto.ErrTruncated) && hl > n {
		// A version 2 header with TLVs longer than the peek: read it whole.
		buf = make([]byte, hl)
		if _, rerr := io.ReadFull(tc, buf); rerr != nil {
			return nil, proxyproto.ErrTruncated
		}
		h, _, err = proxyproto.Parse(buf)
		hl = 0
	}
	if err != nil {
		return nil, err
	}
	if hl > 0 {
		if _, err := io.ReadFull(tc, buf[:hl]); err != nil {
			return nil, proxyproto.ErrAbort
		}
	}
	if h.Local {
		return tc, nil
	}
	return &proxiedConn{TCPConn: tc, src: net.TCPAddrFromAddrPort(h.Src), dst: net.TCPAddrFromAddrPort(h.Dst)}, nil
}

// sendProxy writes the PROXY protocol header of server line s (send-proxy
// or send-proxy-v2) on a new connection to it, for a client connection
// from src to dst.
func sendProxy(conn net.Conn, s *config.Server, src, dst netip.AddrPort) error {
	var b []byte
	switch {
	case s.SendProxyV2:
		b = proxyproto.AppendV2(nil, src, dst, false)
	case s.SendProxy:
		b = proxyproto.AppendV1(nil, src, dst)
	default:
		return nil
	}
	_, err := conn.Write(b)
	return err
}

// checkProxyHeader is the header health checks send with send-proxy
// (checks on the server's own address) or check-send-proxy: version 1
// with the check connection's addresses, a LOCAL command in version 2,
// as HAProxy.
func checkProxyHeader(s *config.Server, conn net.Conn) []byte {
	if s.SendProxyV2 {
		return proxyproto.AppendV2(nil, netip.AddrPort{}, netip.AddrPort{}, true)
	}
	return proxyproto.AppendV1(nil, addrPort(conn.LocalAddr()), addrPort(conn.RemoteAddr()))
}
