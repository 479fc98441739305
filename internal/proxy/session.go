package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/health"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/stick"
)

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

// route applies tcp-request content rules and use_backend rules (the
// connection rules ran at accept). It returns false when the connection
// must be closed.
func (fe *frontend) route(c net.Conn, rec *logging.Record, sess *trackers) (*backend, bool) {
	txn := &acl.Txn{Src: addrPort(c.RemoteAddr()), Dst: addrPort(c.LocalAddr()), Backends: fe.rt, Frontend: fe.cfg.Name,
		Stick: sess.counters()}
	if tc, ok := c.(*tls.Conn); ok {
		txn.SSL = tlsInfo(tc, rec)
	}
	rec.Ctx = txn
	if !fe.inspect(c, txn, sess) {
		return nil, false
	}
	return fe.pick(txn, rec), true
}

// inspect runs tcp-request content rules on the start of the client's
// stream: it reads until a rule accepts or rejects, the buffer is full,
// the client stops sending, or inspect-delay expires; then rules are
// evaluated a last time and no decision means accept. The bytes read
// stay in txn.Payload and are sent to the server first.
//
// In tcp mode the stream is the session: content rules track with the
// session's counters. A stick-table action runs once, when its rule
// first matches.
func (fe *frontend) inspect(c net.Conn, txn *acl.Txn, sess *trackers) bool {
	var rules []*config.TCPRule
	for _, r := range fe.cfg.TCPRequest {
		if r.Layer == "content" {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return true
	}
	var done map[*config.TCPRule]bool
	decide := func() (decided, accept bool) {
		for _, r := range rules {
			if r.Cond.Match(txn) {
				if r.Stick != nil {
					if !done[r] {
						if done == nil {
							done = map[*config.TCPRule]bool{}
						}
						done[r] = true
						sess.apply(r.Stick, txn, false)
					}
					continue
				}
				return true, r.Action != "reject"
			}
		}
		return false, true
	}
	buf := make([]byte, 0, 16384)
	deadline := time.Now().Add(fe.cfg.InspectDelay)
	for fe.cfg.InspectDelay > 0 && len(buf) < cap(buf) {
		c.SetReadDeadline(deadline)
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		txn.Payload = buf
		if n > 0 {
			if decided, accept := decide(); decided {
				c.SetReadDeadline(time.Time{})
				return accept
			}
		}
		if err != nil {
			break
		}
	}
	c.SetReadDeadline(time.Time{})
	txn.Payload = buf
	_, accept := decide()
	return accept
}

// serve runs one client session in tcp mode.
func (fe *frontend) serve(ctx context.Context, client net.Conn, accepted time.Time) {
	defer client.Close()
	rec := &logging.Record{Accept: accepted, Client: addrPort(client.RemoteAddr()), Frontend: addrPort(client.LocalAddr()),
		FrontendName: fe.cfg.Name, BackendName: fe.cfg.Name, ServerName: "<NOSRV>", Term: [4]byte{'-', '-'},
		Tw: -1, Tc: -1, Tt: -1, Pid: fe.rt.opts.Pid}
	var be *backend
	var srv *server
	defer func() {
		rec.Tt = time.Since(accepted)
		// The connection counts are read when the line is logged, after
		// this session left its backend and server (as HAProxy: 1/1/0/0/0).
		rec.ActConn, rec.FeConn = fe.rt.active.Load(), fe.stats.cur.Load()
		if be != nil {
			rec.BeConn = be.stats.cur.Load()
		}
		if srv != nil {
			rec.SrvConn = srv.stats.cur.Load()
		}
		if rec.BytesIn == 0 && fe.cfg.Options.DontLogNull {
			return
		}
		fe.trafficLog(rec)
	}()
	var ok bool
	sess := sessionOf(ctx)
	be, ok = fe.route(client, rec, sess)
	if !ok {
		rec.Term = [4]byte{'P', 'R'}
		fe.stats.deniedReq.Add(1)
		return
	}
	if be == nil || len(be.servers) == 0 {
		rec.Term = [4]byte{'S', 'C'}
		return
	}
	rec.BackendName = be.cfg.Name
	be.stats.open()
	defer be.stats.close()
	key := hashKey(be, client)
	var ci connInfo
	var conn net.Conn
	cctx, watch := ctx, (*closeWatch)(nil)
	if be.cfg.Options.AbortOnClose {
		var cancel context.CancelFunc
		cctx, cancel = context.WithCancel(ctx)
		defer cancel()
		watch = watchCloseReading(client, cancel, fe.rt.readers.size)
	}
	srv, conn = be.connect(cctx, key, client.LocalAddr(), nil, &ci, rec.Ctx.(*acl.Txn))
	rec.Tw, rec.Retries, rec.Redisp, rec.BeQueue = ci.queue, ci.retries, ci.redispatched, ci.queuePos
	aborted := watch.stop()
	if b := watch.taken(); len(b) > 0 {
		// What the client sent while it waited goes to the server first.
		txn := rec.Ctx.(*acl.Txn)
		txn.Payload = append(txn.Payload, b...)
	}
	if aborted {
		// option abortonclose: the client left while queued or connecting.
		if conn != nil {
			conn.Close()
			be.release(srv)
			srv = nil
		}
		if ci.srv != nil {
			rec.ServerName = ci.srv.cfg.Name
		}
		rec.Term = [4]byte{'C', 'C'}
		if ci.srv == nil {
			rec.Term = [4]byte{'C', 'Q'}
		}
		fe.stats.cliAbrt.Add(1)
		be.stats.cliAbrt.Add(1)
		return
	}
	if conn == nil {
		if ci.srv != nil {
			rec.ServerName = ci.srv.cfg.Name
			rec.Tc = -1
		}
		rec.Term = [4]byte{'S', 'C'}
		if errors.Is(ci.err, errQueueTimeout) || errors.Is(ci.err, errQueueFull) {
			rec.Term = [4]byte{'s', 'Q'}
		}
		return
	}
	rec.Tc, rec.ServerName, rec.ServerIP = ci.connect, srv.cfg.Name, addrPort(conn.RemoteAddr())
	rec.Source = addrPort(conn.LocalAddr())
	streamOf(ctx).use(be, srv, conn)
	srv.stats.open()
	defer srv.stats.close()
	// The slot is free before the server sees the connection close: who
	// watches the server (leastconn's next pick, a test) sees it free.
	defer conn.Close()
	defer be.release(srv)
	var sent int64
	if p := rec.Ctx.(*acl.Txn).Payload; len(p) > 0 {
		// What inspection read goes first, untouched.
		if _, err := conn.Write(p); err != nil {
			rec.Term = [4]byte{'S', 'D'}
			return
		}
		sent = int64(len(p))
	}
	up, down, killed := fe.rt.pipe(client, conn, srv, fe.cfg.Timeouts, be.cfg.Timeouts)
	if killed != 0 {
		rec.Term = [4]byte{killed, '-'} // ended by a server state change or the CLI
	}
	up += sent
	rec.BytesIn, rec.BytesOut = up, down
	sess.count(stick.EvBytesIn, uint64(up))
	sess.count(stick.EvBytesOut, uint64(down))
	for _, c := range []*counters{&fe.stats, &be.stats, &srv.stats} {
		c.bytesIn.Add(up)
		c.bytesOut.Add(down)
	}
	tt := time.Since(accepted)
	be.stats.timing(ci.queue, ci.connect, -1, tt)
	srv.stats.timing(ci.queue, ci.connect, -1, tt)
}

// hashKey is the input of `balance source`: the client address.
func hashKey(be *backend, c net.Conn) []byte {
	if be.cfg.Balance.Algo != config.AlgoSource {
		return nil
	}
	a := addrPort(c.RemoteAddr()).Addr().Unmap()
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

// connect obtains a server and a connection to it, retrying on failure
// as `retries` and `option redispatch` say.
//
// held, when not nil, is a server slot the caller already acquired: the
// first attempt goes to it.
func (be *backend) connect(ctx context.Context, key []byte, dst net.Addr, held *server, ci *connInfo, txn *acl.Txn) (*server, net.Conn) {
	// The attempts continue the count of the request's earlier ones
	// (retry-on); without conn-failure in an HTTP backend's retry-on, a
	// failed connection is not retried.
	last := be.cfg.Retries
	if be.cfg.Mode == config.ModeHTTP && be.cfg.RetryOn&config.RetryConnFailure == 0 {
		last = ci.retries
	}
	ct := be.cfg.Timeouts.Connect
	if ct == 0 {
		ct = 5 * time.Second // HAProxy would wait forever; halo does not
	}
	turn := ct
	if turn > time.Second {
		turn = time.Second
	}
	srv, avoid := held, ci.avoid
	for attempt := ci.retries; attempt <= last; attempt++ {
		redispatch := be.redispatchNow(attempt, ci.direct)
		if srv == nil || redispatch || !srv.usable() {
			if srv != nil {
				avoid = srv
				be.release(srv)
				srv = nil
				ci.redispatched = true
				be.stats.redispatches.Add(1)
			}
			s, err := be.acquire(ctx, key, avoid, ci)
			if err != nil {
				ci.err = err
				return nil, nil
			}
			srv = s
		}
		ci.srv = srv
		t0 := time.Now()
		srv.stats.connect.Add(1) // connection attempts, as HAProxy's connect column
		be.stats.connect.Add(1)
		// TCP keep-alive only with option tcpka/srvtcpka, at the system's
		// timers as HAProxy (Go would enable it every 15s otherwise).
		d := net.Dialer{Timeout: ct, KeepAlive: -1}
		conn, err := d.DialContext(ctx, "tcp", srv.dialAddr(dst))
		if err == nil && (be.cfg.Options.TCPKeepAlive || be.cfg.Options.ServerKeepAlive) {
			setKeepAlive(conn)
		}
		if err == nil && txn != nil {
			// send-proxy: the client's addresses (those of its own PROXY
			// header with accept-proxy) go first, before any TLS.
			if err = sendProxy(conn, srv.cfg, txn.Src, txn.Dst); err != nil {
				conn.Close()
			}
		}
		if err == nil {
			conn, err = srv.tlsClient(ctx, conn, txn, ct)
		}
		ci.connect = time.Since(t0)
		if err == nil {
			srv.observe(health.ObsL4OK)
			return srv, conn
		}
		if ctx.Err() == nil {
			srv.observe(health.ObsL4Err)
		}
		ci.err = err
		srv.stats.errConn.Add(1)
		be.stats.errConn.Add(1)
		if ctx.Err() != nil || attempt == last {
			break
		}
		ci.retries++
		srv.stats.retries.Add(1)
		be.stats.retries.Add(1)
		select {
		case <-time.After(turn):
		case <-ctx.Done():
		}
	}
	if srv != nil {
		be.release(srv)
	}
	return nil, nil
}

// redispatchNow reports whether retry number attempt (0 is the first
// try) goes to another server. With option redispatch, HAProxy 2.6
// redispatches as its interval says, and also at every retry when the
// server was not chosen by persistence (direct), the backend has more
// than one usable active server and balances by round robin, least
// connections or first (a hash-based algorithm would pick the same
// server again).
func (be *backend) redispatchNow(attempt int, direct bool) bool {
	if be.cfg.Redispatch == 0 || attempt == 0 {
		return false
	}
	if redispatchAt(be.cfg.Redispatch, be.cfg.Retries, attempt) {
		return true
	}
	switch be.cfg.Balance.Algo {
	case config.AlgoSource, config.AlgoURI, config.AlgoURLParam, config.AlgoHdr, config.AlgoRandom:
		return false
	}
	act, _ := be.counts()
	return !direct && act > 1
}

// redispatchAt reports whether retry number attempt (0 is the first
// try) goes to another server under option redispatch <interval>: every
// interval-th retry when it is positive, the -interval-th retry before
// the last (counted from retries) when negative, never when 0.
func redispatchAt(interval, retries, attempt int) bool {
	switch {
	case attempt == 0 || interval == 0:
		return false
	case interval > 0:
		return attempt%interval == 0
	}
	return attempt == retries+1+interval
}

// connInfo is what connect reports for logs: time queued, time of the
// last connection attempt, retries, and the last error.
type connInfo struct {
	queue, connect time.Duration
	queuePos       int // %bq: see backend.acquire
	retries        int
	redispatched   bool
	err            error
	srv            *server // last server tried
	avoid          *server // a server a redispatched retry leaves (retry-on)
	direct         bool    // the server was chosen by a persistence cookie
}

// session is a connected client/server pair being forwarded.
type session struct {
	client, server net.Conn
	srv            *server
	cliTO, srvTO   time.Duration
	cliFin, srvFin time.Duration
	start          time.Time
	half           atomic.Bool  // one direction has finished
	killed         atomic.Int32 // termination cause when a server state change ended it
}

// kill ends the session for a server state change (on-marked-down,
// on-marked-up) or the CLI; term is the cause logged.
func (s *session) kill(term byte) {
	s.killed.CompareAndSwap(0, int32(term))
	s.close()
}

// expired reports whether a side stayed idle longer than its timeout.
func (s *session) expired(now time.Time) bool {
	c, v := s.cliTO, s.srvTO
	if s.half.Load() {
		if s.cliFin > 0 {
			c = s.cliFin
		}
		if s.srvFin > 0 {
			v = s.srvFin
		}
	}
	since := now.Sub(s.start)
	return (c > 0 && idle(s.client, since) >= c) || (v > 0 && idle(s.server, since) >= v)
}

func (s *session) close() {
	s.client.Close()
	s.server.Close()
}

// pipe forwards bytes both ways until both directions are done. Copies
// go straight between the TCP sockets so that Linux splices them; idle
// timeouts are enforced by the runtime's reaper, which reads the
// kernel's TCP_INFO counters instead of wrapping every read.
func (rt *Runtime) pipe(client, server net.Conn, srv *server, fet, bet config.Timeouts) (up, down int64, killed byte) {
	s := &session{client: client, server: server, srv: srv, cliTO: fet.Client, srvTO: bet.Server,
		cliFin: fet.ClientFin, srvFin: bet.ServerFin, start: time.Now()}
	if bet.Tunnel > 0 {
		s.cliTO, s.srvTO = bet.Tunnel, bet.Tunnel
	}
	rt.addSession(s)
	defer rt.removeSession(s)
	srv.live.add(s)
	defer srv.live.remove(s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		down = forward(client, server)
		closeWrite(client)
		s.half.Store(true)
	}()
	up = forward(server, client)
	closeWrite(server)
	s.half.Store(true)
	<-done
	return up, down, byte(s.killed.Load())
}

// bufPool holds the per-direction buffers of small exchanges, 16 KiB as
// HAProxy's tune.bufsize.
var bufPool = sync.Pool{New: func() any { return new([16384]byte) }}

// forward copies src to dst. Small exchanges go through a pooled buffer
// (read/write: two system calls, no pipe); once a read fills the whole
// buffer the stream is bulk and the rest is spliced in the kernel, which
// is what HAProxy's splice-auto does too.
func forward(dst, src net.Conn) int64 {
	buf := bufPool.Get().(*[16384]byte)
	defer bufPool.Put(buf)
	var total int64
	for {
		n, err := src.Read(buf[:])
		if n > 0 {
			w, werr := dst.Write(buf[:n])
			total += int64(w)
			if werr != nil {
				return total
			}
		}
		if err != nil {
			return total
		}
		if n == len(buf) {
			m, _ := io.Copy(dst, src)
			return total + m
		}
	}
}

// setKeepAlive turns SO_KEEPALIVE on with the system's timers.
func setKeepAlive(c net.Conn) {
	if tc, ok := c.(interface{ SetKeepAlive(bool) error }); ok {
		tc.SetKeepAlive(true)
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		tc.CloseWrite() // close_notify
		c = tc.NetConn()
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite() // *net.TCPConn, or the wrapper of a verified TLS client
	}
}

func watchInterval(ds ...time.Duration) time.Duration {
	m := time.Second
	for _, d := range ds {
		if d > 0 && d/4 < m {
			m = d / 4
		}
	}
	if m < 5*time.Millisecond {
		m = 5 * time.Millisecond
	}
	return m
}

// idle is how long the socket has neither received nor sent data.
func idle(c net.Conn, since time.Duration) time.Duration {
	rc, err := socketOf(c)
	if rc == nil || err != nil {
		return 0
	}
	var info *unix.TCPInfo
	rc.Control(func(fd uintptr) { info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) })
	if info == nil {
		return 0
	}
	ms := info.Last_data_recv
	if info.Last_data_sent < ms {
		ms = info.Last_data_sent
	}
	d := time.Duration(ms) * time.Millisecond
	if d > since {
		d = since
	}
	return d
}
