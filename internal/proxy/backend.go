package proxy

import (
	"crypto/tls"
	"fmt"
	"os"

	"crypto/subtle"
	"github.com/halo-lb/halo/internal/acl"

	"context"
	"errors"
	"github.com/halo-lb/halo/internal/crypt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/halo-lb/halo/internal/balance"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/health"
	"github.com/halo-lb/halo/internal/logging"
)

// Server states.
const (
	stateUp int32 = iota
	stateDown
	stateMaint
)

// server is a backend server at run time. It implements balance.Server.
type server struct {
	cfg     *config.Server
	be      *backend
	addr    string       // host:port, "" port when the client's port is used
	uweight atomic.Int32 // user weight: configured, `set weight`, server state file
	weight  atomic.Int32 // effective weight the balancer sees: uweight, ramped during a slow start
	conns   atomic.Int32 // under be.mu for changes, atomic for reads
	state   atomic.Int32
	checker *health.Checker
	total   atomic.Int64 // connections served (lbtot)
	// Idle keep-alive connections (HTTP mode).
	idleMu  sync.Mutex
	idle    []*serverConn
	stats   counters
	maxconn atomic.Int32 // maxconn, changed by `set maxconn server`
	minconn atomic.Int32 // minconn (= maxconn for a static limit)
	// warmFrom is when the slow start began (unix nanoseconds), 0 when
	// the server runs at full speed.
	warmFrom atomic.Int64
	live     liveSet // sessions using the server
	// State for the stats page and the runtime API.
	healthy    atomic.Bool                  // the health checks' verdict (true without checks)
	admin      atomic.Int32                 // adminReady, adminDrain, adminMaint
	lastEv     atomic.Pointer[health.Event] // the last check
	lastChange atomic.Int64                 // unix nanoseconds of the last state change
	downSince  atomic.Int64                 // unix nanoseconds, 0 while up
	downtime   atomic.Int64                 // accumulated nanoseconds down
	chkFail    atomic.Int64
	chkDown    atomic.Int64
	dest       atomic.Pointer[serverDest] // set by `set server ... addr` and DNS; the configured address until then
	dns        serverDNS                  // run-time resolution state (resolvers)
}

// serverDest is where a server is reached; port 0 means the client's port.
type serverDest struct {
	host string
	port int
}

// destination is the server's current address.
func (s *server) destination() serverDest {
	if d := s.dest.Load(); d != nil {
		return *d
	}
	return serverDest{s.cfg.Host, s.cfg.Port}
}

// Administrative states (set server ... state).
const (
	adminReady int32 = iota
	adminDrain
	adminMaint
)

func (s *server) ID() int      { return s.cfg.ID }
func (s *server) Weight() int  { return int(s.weight.Load()) }
func (s *server) Conns() int   { return int(s.conns.Load()) }
func (s *server) MaxConn() int { return s.limit(s.be.now()) }

func (s *server) usable() bool { return s.state.Load() == stateUp }

func (s *server) full() bool {
	m := s.limit(s.be.now())
	return m > 0 && int(s.conns.Load()) >= m
}

// dialAddr is the address to connect to for a client that connected to
// dst: the server's own port, the client's port, or that port plus an
// offset.
func (s *server) dialAddr(dst net.Addr) string {
	d := s.destination()
	port := d.port
	if port == 0 {
		if ta, ok := dst.(*net.TCPAddr); ok {
			port = ta.Port + s.cfg.PortOffset
		}
	}
	return net.JoinHostPort(d.host, strconv.Itoa(port))
}

// backend is a backend (or the backend half of a listen section).
type backend struct {
	cfg     *config.Proxy
	rt      *Runtime
	servers []*server
	lb      balance.Balancer

	mu      sync.Mutex
	waiters []chan struct{} // queued connections, oldest first
	served  uint64          // waiters woken so far, under mu (queue positions)
	queued  atomic.Int32
	stateMu sync.Mutex // serialises server state changes (checks, admin)
	hadSrv  bool       // at least one usable server before the last change; under stateMu
	stats   counters

	fullconn   int              // backend load at which dynamic maxconn reaches maxconn
	dynWeights bool             // the algorithm follows weight changes (slow start ramps weights)
	warmKick   chan struct{}    // a slow start began
	now        func() time.Time // the clock (tests replace it)

	// Backend UP/DOWN history for lastchg and downtime (unix nanoseconds).
	lastChange atomic.Int64
	downSince  atomic.Int64 // 0 while some server is usable
	downtime   atomic.Int64 // accumulated nanoseconds without a usable server
}

var (
	errNoServer     = errors.New("no server available")
	errQueueTimeout = errors.New("queue timeout")
	errQueueFull    = errors.New("queue full")
)

func newBackend(rt *Runtime, p *config.Proxy) *backend {
	b := &backend{cfg: p, rt: rt, lb: balance.New(p.Balance, p.Options.AllBackups),
		fullconn: rt.fullConn(p), dynWeights: balance.Dynamic(p.Balance), warmKick: make(chan struct{}, 1), now: time.Now}
	for _, sc := range p.Servers {
		s := &server{cfg: sc, be: b}
		s.uweight.Store(int32(sc.Weight))
		s.weight.Store(int32(sc.Weight))
		s.healthy.Store(true)
		s.maxconn.Store(int32(sc.MaxConn))
		s.minconn.Store(int32(sc.MinConn))
		if sc.MinConn == 0 {
			s.minconn.Store(int32(sc.MaxConn)) // a static limit
		}
		s.lastChange.Store(time.Now().UnixNano())
		if sc.Disabled {
			s.state.Store(stateMaint)
			s.admin.Store(adminMaint)
		}
		s.initDNS()
		b.servers = append(b.servers, s)
	}
	b.refresh()
	b.hadSrv = b.usableCount() > 0
	now := time.Now().UnixNano()
	b.lastChange.Store(now)
	if !b.hadSrv && len(b.servers) > 0 {
		b.downSince.Store(now)
	}
	return b
}

// refresh gives the balancer the currently usable servers.
func (b *backend) refresh() {
	var act, bck []balance.Server
	for _, s := range b.servers {
		if !s.usable() || s.admin.Load() == adminDrain {
			continue // a draining server keeps only persistent sessions
		}
		if s.cfg.Backup {
			bck = append(bck, s)
		} else {
			act = append(act, s)
		}
	}
	b.lb.Set(act, bck)
	b.wakeFree()
}

func (b *backend) usableCount() int {
	n := 0
	for _, s := range b.servers {
		if s.usable() {
			n++
		}
	}
	return n
}

// UsableServers answers nbsrv().
func (rt *Runtime) UsableServers(name string) (int, bool) {
	b, ok := rt.backends[name]
	if !ok {
		return 0, false
	}
	return b.usableCount(), true
}

// acquire picks a server with a free connection slot, queueing when all
// are full, until the queue timeout (timeout queue, else timeout connect).
// ci, when not nil, gets the time spent queued and, for a request that
// was queued, its queue position as HAProxy logs it (%bq: how many
// requests left the queue from its arrival to its own turn, itself
// included).
func (b *backend) acquire(ctx context.Context, key []byte, avoid *server, ci *connInfo) (*server, error) {
	var queued time.Time // when it first had to wait (reading the clock only then)
	if ci != nil {
		defer func() {
			if !queued.IsZero() {
				ci.queue += time.Since(queued)
			}
		}()
	}
	qt := b.cfg.Timeouts.Queue
	if qt == 0 {
		qt = b.cfg.Timeouts.Connect
	}
	var timer <-chan time.Time
	for {
		b.mu.Lock()
		s, anyUsable := b.pickFree(key, avoid)
		if s != nil {
			s.conns.Add(1)
			b.mu.Unlock()
			s.total.Add(1)
			return s, nil
		}
		if !anyUsable {
			b.mu.Unlock()
			return nil, errNoServer
		}
		if max := b.maxQueue(); max > 0 && int(b.queued.Load()) >= max {
			b.mu.Unlock()
			return nil, errQueueFull
		}
		ch := make(chan struct{}, 1)
		b.waiters = append(b.waiters, ch)
		setMax(&b.stats.qmax, int64(b.queued.Add(1)))
		arrived := b.served
		b.mu.Unlock()
		if queued.IsZero() {
			queued = time.Now()
		}
		if timer == nil && qt > 0 {
			t := time.NewTimer(qt)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ch:
			b.queued.Add(-1)
			if ci != nil {
				b.mu.Lock()
				ci.queuePos = int(b.served - arrived)
				b.mu.Unlock()
			}
		case <-timer:
			b.leaveQueue(ch, arrived, ci)
			return nil, errQueueTimeout
		case <-ctx.Done():
			b.leaveQueue(ch, arrived, ci)
			return nil, ctx.Err()
		}
	}
}

// maxQueue is the sum of the servers' maxqueue, 0 for unlimited.
func (b *backend) maxQueue() int {
	n := 0
	for _, s := range b.servers {
		if s.cfg.MaxQueue == 0 {
			return 0
		}
		n += s.cfg.MaxQueue
	}
	return n
}

// leaveQueue takes a waiter that gave up out of the queue; its logged
// position counts itself, as HAProxy's does.
func (b *backend) leaveQueue(ch chan struct{}, arrived uint64, ci *connInfo) {
	b.dequeue(ch)
	if ci != nil {
		b.mu.Lock()
		ci.queuePos = int(b.served-arrived) + 1
		b.mu.Unlock()
	}
}

func (b *backend) dequeue(ch chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, w := range b.waiters {
		if w == ch {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			b.queued.Add(-1)
			return
		}
	}
	// Already woken: leave the queue and pass the wake-up on.
	b.queued.Add(-1)
	b.wakeLocked()
}

// pickFree asks the balancer, then falls back to any usable server with
// a free slot. It reports whether any server is usable at all.
func (b *backend) pickFree(key []byte, avoid *server) (*server, bool) {
	var av balance.Server
	if avoid != nil {
		av = avoid
	}
	cand := b.lb.Pick(key, av)
	if cand == nil {
		return nil, false
	}
	s := cand.(*server)
	if !s.full() {
		return s, true
	}
	if c := b.lb.Pick(key, s); c != nil && !c.(*server).full() {
		return c.(*server), true
	}
	for _, o := range b.servers {
		if o.usable() && o.Weight() > 0 && !o.full() && o.cfg.Backup == s.cfg.Backup {
			return o, true
		}
	}
	return nil, true
}

// release frees a connection slot and serves the oldest queued connection.
func (b *backend) release(s *server) {
	b.mu.Lock()
	s.conns.Add(-1)
	b.wakeLocked()
	b.mu.Unlock()
	b.lb.Done(s)
}

func (b *backend) wake() {
	b.mu.Lock()
	b.wakeLocked()
	b.mu.Unlock()
}

func (b *backend) wakeLocked() {
	if len(b.waiters) == 0 {
		return
	}
	w := b.waiters[0]
	b.waiters = b.waiters[1:]
	b.served++
	w <- struct{}{}
}

// startChecks runs the health checkers of servers with `check`, and the
// slow starts; they stop when ctx is done.
func (b *backend) startChecks(ctx context.Context, wg *sync.WaitGroup) {
	for _, s := range b.servers {
		if s.cfg.SlowStart > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.warmup(ctx)
			}()
			break
		}
	}
	for _, s := range b.servers {
		if !s.cfg.Check {
			continue
		}
		p := health.Params{
			Backend: b.cfg.Name, Server: s.cfg.Name, Backup: s.cfg.Backup,
			Addr:  b.checkTarget(s, s.destination()),
			Spec:  b.cfg.Check,
			Inter: s.cfg.Inter, FastInter: s.cfg.FastInter, DownInter: s.cfg.DownInter,
			Rise: s.cfg.Rise, Fall: s.cfg.Fall,
			TimeoutCheck: b.cfg.Timeouts.Check, TimeoutConnect: b.cfg.Timeouts.Connect,
			SpreadChecks: b.rt.cfg.Global.SpreadChecks,
			StartDown:    !s.healthy.Load(),
			Observe:      s.cfg.Observe, OnError: s.cfg.OnError, ErrorLimit: s.cfg.ErrorLimit,
		}
		var d net.Dialer
		p.Dial = noAddrDial(d.DialContext)
		if sc := s.cfg; sc.CheckSendProxy || (sc.SendProxy || sc.SendProxyV2) && sc.CheckPort == 0 && sc.CheckAddr == "" {
			// PROXY protocol on checks: with check-send-proxy, or send-proxy
			// when checks go to the server's own address (HAProxy's rule).
			p.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := noAddrDial(d.DialContext)(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				if _, err := c.Write(checkProxyHeader(sc, c)); err != nil {
					c.Close()
					return nil, err
				}
				return c, nil
			}
		}
		p.TLS = s.checkTLS()
		if b.cfg.Check.Kind == config.CheckExternal {
			p.External = b.externalEnv(s)
		}
		srv := s
		s.checker = health.New(p, func(ev health.Event) { b.onCheck(srv, p, ev) })
		if s.dns.maint.Load() {
			s.checker.Pause() // init-addr none: no check until the name resolves
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv.checker.Run(ctx)
		}()
	}
}

// onCheck applies a check result to the server and reports it.
func (b *backend) onCheck(s *server, p health.Params, ev health.Event) {
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
	logChecks := b.cfg.Options.LogHealthChecks
	prev := s.lastEv.Swap(&ev)
	if !ev.Result.OK {
		s.chkFail.Add(1)
	}
	resumed := s.dns.resumed.Swap(false) // the first check after resolution maintenance is logged, as HAProxy
	if logChecks && (prev == nil || ev.Result.Status != prev.Result.Status || ev.Health != prev.Health || resumed) {
		// As HAProxy: every check that changes the status or the health.
		b.rt.plog(b.cfg, logging.Notice, LevelWarning, health.CheckLine(p, ev))
	}
	if !ev.Changed {
		return
	}
	s.healthy.Store(ev.Up)
	if !ev.Up {
		s.chkDown.Add(1)
	}
	if s.admin.Load() == adminMaint || s.dns.maint.Load() {
		return
	}
	var reason *health.Result
	if !logChecks {
		r := ev.Result
		reason = &r
	}
	if ev.Up {
		b.setState(s, stateUp)
		act, bck := b.counts()
		b.rt.plog(b.cfg, logging.Notice, LevelWarning, health.UpLine(b.cfg.Name, s.cfg.Name, s.cfg.Backup, reason, act, bck, 0, int(b.queued.Load())))
	} else {
		sess := s.Conns() // before on-marked-down ends them
		b.setState(s, stateDown)
		act, bck := b.counts()
		b.rt.plog(b.cfg, logging.Alert, LevelWarning, health.DownLine(b.cfg.Name, s.cfg.Name, s.cfg.Backup, reason, act, bck, sess, 0, int(b.queued.Load())))
	}
	b.noServerAlert()
}

// setState changes s's effective state and gives the balancer the new
// server set. Called with stateMu held.
func (b *backend) setState(s *server, st int32) {
	now := time.Now().UnixNano()
	old := s.state.Swap(st)
	if old == st {
		b.refresh()
		return
	}
	s.lastChange.Store(now)
	if st == stateUp {
		if d := s.downSince.Swap(0); d > 0 {
			s.downtime.Add(now - d)
		}
	} else if s.downSince.Load() == 0 {
		s.downSince.Store(now)
	}
	b.stateChanged(s, old, st)
	b.refresh()
}

// counts returns the usable active and backup servers.
func (b *backend) counts() (act, bck int) {
	for _, o := range b.servers {
		if o.usable() && o.admin.Load() != adminDrain {
			if o.cfg.Backup {
				bck++
			} else {
				act++
			}
		}
	}
	return act, bck
}

// noServerAlert says once that the backend lost its last server.
func (b *backend) noServerAlert() {
	act, bck := b.counts()
	has := act+bck > 0
	now := time.Now().UnixNano()
	if b.hadSrv && !has {
		b.rt.loggerFor(b.cfg).Log(logging.Emerg, "backend "+b.cfg.Name+" has no server available!")
		b.rt.logf(LevelAlert, "backend '%s' has no server available!", b.cfg.Name)
		b.lastChange.Store(now)
		b.downSince.Store(now)
	} else if !b.hadSrv && has {
		b.lastChange.Store(now)
		if d := b.downSince.Swap(0); d > 0 {
			b.downtime.Add(now - d)
		}
	}
	b.hadSrv = has
}

// acquireServer takes a connection slot on s (cookie persistence) when it
// is usable and not full.
func (b *backend) acquireServer(s *server) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !s.usable() || s.full() {
		return false
	}
	s.conns.Add(1)
	s.total.Add(1)
	return true
}

// CheckUser implements acl.UserChecker with the configuration's userlists.
func (rt *Runtime) CheckUser(list, user, pass string) ([]string, bool) {
	ul := rt.cfg.Userlist[list]
	if ul == nil {
		return nil, false
	}
	u := ul.Users[user]
	if u == nil {
		return nil, false
	}
	if u.Insecure {
		if subtle.ConstantTimeCompare([]byte(u.Password), []byte(pass)) != 1 {
			return nil, false
		}
	} else if !crypt.Verify(u.Password, pass) {
		return nil, false
	}
	groups := append([]string(nil), u.Groups...)
	for g, members := range ul.Groups {
		for _, m := range members {
			if m == user {
				groups = append(groups, g)
			}
		}
	}
	return groups, true
}

// checkTLS is the TLS configuration of s's health checks (check-sni,
// check-alpn), nil when they do not use TLS.
func (s *server) checkTLS() *tls.Config {
	if !s.cfg.ChecksUseTLS() || s.cfg.SSL.Client == nil {
		return nil
	}
	return s.cfg.SSL.Client.CheckConfig(s.cfg.CheckSNI, s.cfg.CheckALPNList())
}

// sni is the SNI of a new TLS connection to s: the sni expression
// evaluated on txn, else the fixed name ("" for none, and for a server
// without TLS).
func (s *server) sni(txn *acl.Txn) string {
	ss := s.cfg.SSL
	if ss == nil || !ss.Enabled || ss.Client == nil {
		return ""
	}
	if ss.SNIExpr != nil && txn != nil {
		if name, ok := ss.SNIExpr.Eval(txn); ok {
			return name
		}
		return ""
	}
	return ss.FixedSNI
}

// tlsClient wraps a new server connection in TLS when the server line
// says ssl; txn gives the sni expression its request.
func (s *server) tlsClient(ctx context.Context, conn net.Conn, txn *acl.Txn, timeout time.Duration) (net.Conn, error) {
	ss := s.cfg.SSL
	if ss == nil || !ss.Enabled || ss.Client == nil {
		return conn, nil
	}
	tc := tls.Client(conn, ss.Client.Config(s.sni(txn)))
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("SSL handshake failure: %w", err)
	}
	return tc, nil
}

// externalEnv describes the backend and s to an external check.
func (b *backend) externalEnv(s *server) health.ExternalEnv {
	e := health.ExternalEnv{Check: b.cfg.Check.External, ProxyName: b.cfg.Name, ProxyID: b.cfg.ID,
		ServerID: s.cfg.ID, MaxConn: s.cfg.MaxConn, Proto: "tcp", SSL: s.cfg.SSL != nil,
		CurConn: s.stats.cur.Load, Stdout: os.Stdout, Stderr: os.Stderr}
	if b.cfg.Mode == config.ModeHTTP {
		e.Proto = "h1"
	}
	for _, bd := range b.cfg.Binds {
		if bd.Network == "tcp" || bd.Network == "tcp4" || bd.Network == "tcp6" {
			e.ProxyAddr, e.ProxyPort = bd.Host, strconv.Itoa(bd.PortLow)
			if bd.Host == "" {
				e.ProxyAddr = "0.0.0.0"
				if bd.Network == "tcp6" {
					e.ProxyAddr = "::"
				}
			}
			break
		}
	}
	return e
}

// checkTarget is where s's health checks go when s's traffic goes to
// dst: check addr and check port (or http-check connect port) override it.
func (b *backend) checkTarget(s *server, dst serverDest) string {
	host, port := dst.host, dst.port
	if s.cfg.CheckAddr != "" {
		host = s.cfg.CheckAddr
	}
	if s.cfg.CheckPort != 0 {
		port = s.cfg.CheckPort
	} else if p := b.cfg.Check.HTTP.ConnectPort; p != 0 && b.cfg.Check.Kind == config.CheckHTTP {
		port = p
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
