// Package proxy runs a validated configuration: listeners, frontends,
// backends with their servers, queues and health checks, and the
// sessions that forward bytes between clients and servers.
package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/halo-lb/halo/internal/cache"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"

	"github.com/halo-lb/halo/internal/cli"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/stick"
	"github.com/halo-lb/halo/internal/tlsx"
)

// Level is the severity of a process message.
type Level int

// Message levels, printed as HAProxy's [NOTICE], [WARNING], [ALERT].
const (
	LevelNotice Level = iota
	LevelWarning
	LevelAlert
)

// Options tune a Runtime.
type Options struct {
	// Log receives process messages (server state changes, health checks,
	// stop notices); nil discards them.
	Log func(level Level, msg string)
	// Tag and Pid go in syslog headers ("halo" and the process id by default).
	Tag string
	Pid int
}

// Runtime serves one configuration.
type Runtime struct {
	cfg       *config.Config
	opts      Options
	frontends []*frontend
	backends  map[string]*backend

	global   chan struct{} // global maxconn slots
	sessions sync.WaitGroup
	active   atomic.Int64

	mu        sync.Mutex
	listeners []net.Listener
	stopping  bool
	closed    chan struct{} // closed when listeners are closed (soft stop)
	conns     map[net.Conn]struct{}
	piped     map[*session]struct{}
	inherited map[string]*os.File // listening sockets taken over from an old process (-sf)
	tick      time.Duration       // reaper period

	cli     *cli.Server
	cliLns  []cliListener
	loggers map[*config.Proxy]*logging.Logger
	glog    *logging.Logger // global section's targets
	logSink *logging.Sink   // the senders of every logger
	start   time.Time
	reqs    atomic.Int64 // requests served (%rt, CumReq)

	workers  workers      // session goroutines
	readers  readerPool   // connection read buffers (tune.bufsize)
	copyBufs slicePool    // body copy buffers
	encoders encoderPools // HTTP compression states, per algorithm

	caches    map[string]*cache.Store // the cache sections' stores, by name
	streams   map[*stream]struct{}    // accepted connections, under mu (show sess)
	streamSeq atomic.Uint64

	tables map[string]*stick.Table // the stick tables, by name (their proxy's)
}

// DefaultGlobalMaxConn is the process-wide connection limit when the
// global section sets none.
const DefaultGlobalMaxConn = 4096

// New prepares a runtime for cfg, which config.Load validated.
func New(cfg *config.Config, opts Options) (*Runtime, error) {
	maxconn := cfg.Global.MaxConn
	if maxconn == 0 {
		maxconn = DefaultGlobalMaxConn
	}
	rt := &Runtime{cfg: cfg, opts: opts, backends: map[string]*backend{}, global: make(chan struct{}, maxconn),
		closed: make(chan struct{}), conns: map[net.Conn]struct{}{}, piped: map[*session]struct{}{}}
	var tos []time.Duration
	for _, p := range cfg.Proxies {
		t := p.Timeouts
		tos = append(tos, t.Client, t.Server, t.Tunnel, t.ClientFin, t.ServerFin)
	}
	rt.tick = watchInterval(tos...)
	rt.readers.size = max(cfg.Global.TuneBufSize, 4096)
	rt.copyBufs.size = 32 << 10
	rt.encoders.level = cfg.Global.TuneCompMaxLevel
	rt.caches = newCaches(cfg)
	rt.tables = newStickTables(cfg)
	for _, p := range cfg.Backends() {
		if !p.Disabled {
			rt.backends[p.Name] = newBackend(rt, p)
		}
	}
	for _, p := range cfg.Frontends() {
		if !p.Disabled {
			rt.frontends = append(rt.frontends, newFrontend(rt, p))
		}
	}
	if rt.opts.Pid == 0 {
		rt.opts.Pid = os.Getpid()
	}
	rt.start = time.Now()
	if err := rt.logSetup(); err != nil {
		return nil, err
	}
	rt.loadServerState()
	return rt, nil
}

func (rt *Runtime) logf(l Level, format string, args ...any) {
	if rt.opts.Log != nil {
		rt.opts.Log(l, fmt.Sprintf(format, args...))
	}
}

// Listen binds every listener. It is separate from Serve so that the
// caller can tell old processes (-sf) to stop once the new one listens.
func (rt *Runtime) Listen(ctx context.Context) error {
	if err := rt.listenCLI(); err != nil {
		return err
	}
	for _, fe := range rt.frontends {
		for _, bd := range fe.cfg.Binds {
			if bd.Network == "fd" {
				lns, err := listenBind(ctx, bd, 0)
				if err != nil {
					rt.closeListeners()
					return fmt.Errorf("Starting %s %s: %w", capWord(fe.cfg), fe.cfg.Name, err)
				}
				fe.listeners = append(fe.listeners, boundListener{lns[0], bd, "", listenerName(bd, len(fe.listeners))})
				rt.listeners = append(rt.listeners, lns[0])
				continue
			}
			for port := bd.PortLow; port <= bd.PortHigh; port++ {
				key := bindKey(bd, port)
				ln, err := rt.takeInherited(key)
				if ln == nil && err == nil {
					var lns []net.Listener
					lns, err = listenBind(ctx, bd, port)
					if err == nil {
						ln = lns[0]
					}
				}
				if err != nil {
					rt.closeListeners()
					return fmt.Errorf("Starting %s %s: %w", capWord(fe.cfg), fe.cfg.Name, err)
				}
				fe.listeners = append(fe.listeners, boundListener{ln, bd, key, listenerName(bd, len(fe.listeners))})
				rt.listeners = append(rt.listeners, ln)
			}
		}
	}
	return nil
}

func capWord(p *config.Proxy) string {
	if p.Cap == config.CapListen {
		return "proxy"
	}
	return "frontend"
}

// Addrs returns the bound listener addresses, in configuration order.
func (rt *Runtime) Addrs() []net.Addr {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []net.Addr
	for _, ln := range rt.listeners {
		out = append(out, ln.Addr())
	}
	return out
}

// Serve runs health checks and accepts connections until ctx is done
// (hard stop: every session is closed) or Shutdown closed the listeners
// and the last session ended.
func (rt *Runtime) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var bg sync.WaitGroup
	for _, b := range rt.backends {
		b.startChecks(ctx, &bg)
	}
	for _, s := range rt.caches {
		bg.Add(1)
		go func() {
			defer bg.Done()
			s.Run(ctx, time.Second) // expired objects give their memory back
		}()
	}
	rt.startResolvers(ctx, &bg)
	bg.Add(2)
	go func() {
		defer bg.Done()
		rt.reap(ctx)
	}()
	go func() {
		defer bg.Done()
		rt.serveHandover(ctx)
	}()
	for _, l := range rt.cliLns {
		bg.Add(1)
		go func() {
			defer bg.Done()
			if err := rt.cli.Serve(ctx, l.ln, l.level); err != nil {
				rt.logf(LevelWarning, "stats socket: %v", err)
			}
		}()
	}
	var acceptors sync.WaitGroup
	for _, fe := range rt.frontends {
		for _, bl := range fe.listeners {
			acceptors.Add(1)
			go func() {
				defer acceptors.Done()
				fe.acceptLoop(ctx, bl)
			}()
		}
	}
	select {
	case <-ctx.Done():
		rt.closeListeners()
		rt.closeSessions()
	case <-rt.closed:
	}
	acceptors.Wait()
	done := make(chan struct{})
	go func() { rt.sessions.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		rt.closeSessions()
		<-done
	}
	cancel()
	bg.Wait()
	for _, b := range rt.backends {
		for _, s := range b.servers {
			s.closeIdle()
		}
	}
	rt.workers.close()
	rt.closeLogs()
	return nil
}

// Shutdown is the soft stop (SIGUSR1): listeners close at once, running
// sessions go on until they end (HTTP keep-alive connections after their
// current request); Serve then returns. Every proxy logs
// that it stopped, as HAProxy does at a soft stop (a hard stop logs
// nothing).
func (rt *Runtime) Shutdown() {
	rt.stopListening(rt.logStopped)
}

// logStopped logs "Proxy X stopped" for every proxy: those with a
// frontend side first, then the backends, each in configuration order,
// as haproxy 2.6 does.
func (rt *Runtime) logStopped() {
	var fes, bes []*config.Proxy
	for _, p := range rt.cfg.Proxies {
		switch {
		case p.Disabled:
		case p.Cap&config.CapFrontend != 0:
			fes = append(fes, p)
		default:
			bes = append(bes, p)
		}
	}
	for _, p := range append(fes, bes...) {
		var fe, be int64
		if f := rt.frontend(p); f != nil {
			fe = f.stats.total.Load()
		}
		if b := rt.backends[p.Name]; b != nil && b.cfg == p {
			be = b.stats.total.Load()
		}
		rt.plog(p, logging.Warning, LevelWarning, fmt.Sprintf("Proxy %s stopped (cumulated conns: FE: %d, BE: %d).", p.Name, fe, be))
	}
}

// Active returns the number of client sessions in progress.
func (rt *Runtime) Active() int64 { return rt.active.Load() }

// closeListeners stops accepting; it reports whether this call did it.
func (rt *Runtime) closeListeners() bool { return rt.stopListening(nil) }

// stopListening closes the listeners and, if this call did it, runs
// before (if any) and only then marks the runtime stopping: Serve cannot
// return, and the process exit, while before still runs (the soft stop's
// "Proxy X stopped" lines were lost that way).
func (rt *Runtime) stopListening(before func()) bool {
	rt.mu.Lock()
	if rt.stopping {
		rt.mu.Unlock()
		return false
	}
	rt.stopping = true
	for _, ln := range rt.listeners {
		ln.Close()
	}
	rt.mu.Unlock()
	if before != nil {
		before()
	}
	close(rt.closed)
	go rt.cutIdleStreams() // (takes rt.mu)
	return true
}

func (rt *Runtime) closeSessions() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for c := range rt.conns {
		c.Close()
	}
	for s := range rt.piped {
		s.close()
	}
}

func (rt *Runtime) addSession(s *session) {
	rt.mu.Lock()
	rt.piped[s] = struct{}{}
	rt.mu.Unlock()
}

func (rt *Runtime) removeSession(s *session) {
	rt.mu.Lock()
	delete(rt.piped, s)
	rt.mu.Unlock()
}

// reap closes sessions idle past their timeouts, every rt.tick.
func (rt *Runtime) reap(ctx context.Context) {
	t := time.NewTicker(rt.tick)
	defer t.Stop()
	var batch []*session
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			rt.mu.Lock()
			batch = batch[:0]
			for s := range rt.piped {
				batch = append(batch, s)
			}
			rt.mu.Unlock()
			for _, s := range batch {
				if s.expired(now) {
					s.close()
				}
			}
		}
	}
}

func (rt *Runtime) track(c net.Conn, add bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if add {
		rt.conns[c] = struct{}{}
	} else {
		delete(rt.conns, c)
	}
}

type boundListener struct {
	net.Listener
	bind *config.Bind
	key  string // bind specification, for hand-over to a successor
	name string // in connection error logs: the bind's name, else its number in the frontend
}

// frontend accepts connections and routes them to backends.
type frontend struct {
	rt        *Runtime
	cfg       *config.Proxy
	listeners []boundListener
	slots     chan struct{} // frontend maxconn
	own       *backend      // the backend half of a listen section
	stats     counters
}

func newFrontend(rt *Runtime, p *config.Proxy) *frontend {
	fe := &frontend{rt: rt, cfg: p}
	if p.MaxConn > 0 {
		fe.slots = make(chan struct{}, p.MaxConn)
	}
	if p.Cap&config.CapBackend != 0 {
		fe.own = rt.backends[p.Name]
	}
	return fe
}

// acceptLoop accepts while slots are free: when global or frontend
// maxconn is reached it stops accepting, and the kernel queues clients.
func (fe *frontend) acceptLoop(ctx context.Context, bl boundListener) {
	var bindSlots chan struct{}
	if bl.bind.MaxConn > 0 {
		bindSlots = make(chan struct{}, bl.bind.MaxConn)
	}
	rt := fe.rt
	for {
		select {
		case rt.global <- struct{}{}:
		case <-ctx.Done():
			return
		case <-rt.closed:
			return
		}
		release := func() { <-rt.global }
		if fe.slots != nil {
			select {
			case fe.slots <- struct{}{}:
			case <-ctx.Done():
				release()
				return
			case <-rt.closed:
				release()
				return
			}
			r0 := release
			release = func() { <-fe.slots; r0() }
		}
		if bindSlots != nil {
			select {
			case bindSlots <- struct{}{}:
			case <-ctx.Done():
				release()
				return
			case <-rt.closed:
				release()
				return
			}
			r1 := release
			release = func() { <-bindSlots; r1() }
		}
		c, err := bl.Accept()
		if err != nil {
			release()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			rt.logf(LevelWarning, "accept error on %s: %v", bl.Addr(), err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		// tcp-request connection rules, on the connection's own addresses
		// (before a PROXY protocol header), in every mode: a rejected
		// connection is closed at once and not logged, as HAProxy does.
		sess, keep := fe.acceptConn(c)
		if !keep {
			sess.release()
			c.Close()
			release()
			continue
		}
		// TCP keep-alive only with option tcpka/clitcpka, at the system's
		// timers as HAProxy: Go enables it on accepted connections (every
		// 15s) unless told otherwise, inherited listeners included.
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetKeepAlive(fe.cfg.Options.TCPKeepAlive || fe.cfg.Options.ClientKeepAlive)
		}
		rt.sessions.Add(1)
		rt.active.Add(1)
		fe.stats.open()
		accepted := time.Now()
		rt.workers.run(func() {
			defer rt.sessions.Done()
			defer rt.active.Add(-1)
			defer fe.stats.close()
			defer release()
			rt.track(c, true)
			defer rt.track(c, false)
			if bl.bind.AcceptProxy {
				pc, err := fe.readProxy(c)
				if err != nil {
					fe.connError(c, bl, err.Error())
					c.Close()
					return
				}
				c = pc
			}
			defer sess.release()
			ctx := withSession(ctx, sess)
			ctx, st := rt.openStream(ctx, fe, c)
			defer rt.closeStream(st)
			fe.acceptLog(c)
			if ssl := bl.bind.SSL; ssl != nil && ssl.Config != nil {
				tc, err := fe.handshake(c, ssl.Config, bl)
				if err != nil {
					c.Close()
					return
				}
				c = tc
				if fe.cfg.Mode == config.ModeHTTP && tc.ConnectionState().NegotiatedProtocol == "h2" {
					fe.serveH2(ctx, c, accepted)
					return
				}
			}
			if fe.cfg.Mode == config.ModeHTTP && bl.bind.Proto == "h2" {
				fe.serveH2(ctx, c, accepted)
				return
			}
			if fe.cfg.Mode == config.ModeHTTP {
				fe.serveHTTP(ctx, c, accepted)
			} else {
				fe.serve(ctx, c, accepted)
			}
		})
	}
}

// handshake terminates TLS on a new client connection, within the
// client timeout (10s when unset).
func (fe *frontend) handshake(c net.Conn, cfg *tls.Config, bl boundListener) (*tls.Conn, error) {
	to := fe.cfg.Timeouts.Client
	if to == 0 {
		to = 10 * time.Second
	}
	raw := c
	if v := bl.bind.SSL.Verify; v == "optional" || v == "required" {
		raw = tlsx.WrapConn(c) // keeps the client certificate's verdict for ssl_c_verify
	}
	tc := tls.Server(raw, cfg)
	tc.SetDeadline(time.Now().Add(to))
	err := tc.Handshake()
	tc.SetDeadline(time.Time{})
	if err != nil {
		fe.stats.sslFailed.Add(1)
		fe.rt.loggerFor(fe.cfg).Log(logging.Info, fmt.Sprintf("%s:%d [%s] %s/%s: %s",
			addrPort(c.RemoteAddr()).Addr().Unmap(), addrPort(c.RemoteAddr()).Port(),
			time.Now().Format("02/Jan/2006:15:04:05.000"), fe.cfg.Name, fe.listenerName(bl), handshakeFailure(err)))
		return nil, err
	}
	fe.stats.sslSess.Add(1)
	if tc.ConnectionState().DidResume {
		fe.stats.sslReused.Add(1)
	}
	return tc, nil
}

// listenerName names a listener in logs as HAProxy: its bind 'name',
// else its number in the frontend (from 1).
func (fe *frontend) listenerName(bl boundListener) string {
	if bl.bind.Name != "" {
		return bl.bind.Name
	}
	for i, l := range fe.listeners {
		if l.Listener == bl.Listener {
			return strconv.Itoa(i + 1)
		}
	}
	return "?"
}

// handshakeFailure is HAProxy's reason for a failed TLS handshake.
func handshakeFailure(err error) string {
	var ve *tlsx.VerifyError
	if errors.As(err, &ve) {
		if ve.Depth > 0 {
			return "SSL client CA chain cannot be verified"
		}
		return "SSL client certificate not trusted"
	}
	return "SSL handshake failure"
}

// cliListener is a runtime API socket with its access level.
type cliListener struct {
	ln    net.Listener
	level cli.Level
}

// listenCLI opens the `stats socket` listeners. A unix socket path left
// by a previous process is replaced, and never removed at exit, so that
// a reload (-sf) hands the path to the new process.
func (rt *Runtime) listenCLI() error {
	g := rt.cfg.Global
	rt.cli = &cli.Server{Target: rt, Version: Version, Timeout: g.StatsTimeout}
	for _, s := range g.StatsSockets {
		level, _ := cli.ParseLevel(s.Level)
		var ln net.Listener
		var err error
		if s.Network == "unix" {
			os.Remove(s.Address)
			var ul *net.UnixListener
			ul, err = net.ListenUnix("unix", &net.UnixAddr{Name: s.Address, Net: "unix"})
			if err == nil {
				ul.SetUnlinkOnClose(false)
				err = os.Chmod(s.Address, os.FileMode(s.Mode))
				if err == nil && (s.UID >= 0 || s.GID >= 0) {
					err = os.Chown(s.Address, s.UID, s.GID) // user/uid, group/gid
				}
				ln = ul
			}
		} else {
			ln, err = net.Listen("tcp", s.Address)
		}
		if err != nil {
			if ln != nil {
				ln.Close()
			}
			for _, l := range rt.cliLns {
				l.ln.Close()
			}
			return fmt.Errorf("%s: cannot open stats socket '%s': %w", s.Pos, s.Address, err)
		}
		if s.MaxConn > 0 {
			ln = netutil.LimitListener(ln, s.MaxConn) // further clients wait in the backlog
		}
		rt.cliLns = append(rt.cliLns, cliListener{ln, level})
	}
	return nil
}
