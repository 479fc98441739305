package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/health"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/stats"
)

// Version is reported by the stats page and `show info`; cmd/halo sets it.
var Version = "dev"

// Errors of administrative operations, worded as HAProxy's runtime API.
var (
	ErrNoBackend = errors.New("No such backend.")
	ErrNoServer  = errors.New("No such server.")
)

// Snapshot takes the current figures of every proxy.
func (rt *Runtime) Snapshot() *stats.Snapshot {
	now := time.Now()
	s := &stats.Snapshot{Info: rt.info(now)}
	for _, p := range rt.cfg.Proxies {
		if p.Disabled {
			continue
		}
		sp := stats.Proxy{Name: p.Name, ID: p.ID, Mode: p.Mode.String(), Desc: p.Description, Status: "OPEN", MaxConn: p.MaxConn}
		if sp.MaxConn == 0 {
			sp.MaxConn = rt.maxConn()
		}
		if rt.isStopping() {
			sp.Status = "STOP"
		}
		if fe := rt.frontend(p); fe != nil {
			c := fe.stats.snapshot(now)
			c.ConnTot, c.ConnRate, c.ConnRateMax = c.STot, c.Rate, c.RateMax
			sp.Frontend = &c
		}
		if be := rt.backends[p.Name]; be != nil && be.cfg == p {
			c := be.stats.snapshot(now)
			c.QCur = int64(be.queued.Load())
			sp.Backend = &c
			sp.Algo = p.Balance.Algo.String()
			sp.FullConn = be.fullconn
			if p.Cookie != nil {
				sp.Cookie = p.Cookie.Name
			}
			var lb int64
			for _, sv := range be.servers {
				ss := sv.snapshot(now)
				lb += ss.Counters.LBTot
				if sv.usable() && sv.admin.Load() != adminDrain {
					if sv.cfg.Backup {
						sp.Bck++
						if sp.Act == 0 {
							sp.Weight += ss.Weight
						}
					} else {
						sp.Act++
						sp.Weight += ss.Weight
					}
				}
				sp.Servers = append(sp.Servers, ss)
			}
			sp.Backend.LBTot = lb
			sp.BEStatus = "UP"
			if sp.Act+sp.Bck == 0 && len(be.servers) > 0 {
				sp.BEStatus = "DOWN"
			}
			sp.LastChg = now.Sub(time.Unix(0, be.lastChange.Load()))
			sp.Downtime = time.Duration(be.downtime.Load())
			if d := be.downSince.Load(); d > 0 {
				sp.Downtime += now.Sub(time.Unix(0, d))
			}
		}
		s.Proxies = append(s.Proxies, sp)
	}
	return s
}

func (rt *Runtime) frontend(p *config.Proxy) *frontend {
	for _, fe := range rt.frontends {
		if fe.cfg == p {
			return fe
		}
	}
	return nil
}

func (rt *Runtime) maxConn() int {
	if rt.cfg.Global.MaxConn > 0 {
		return rt.cfg.Global.MaxConn
	}
	return DefaultGlobalMaxConn
}

func (rt *Runtime) isStopping() bool {
	select {
	case <-rt.closed:
		return true
	default:
		return false
	}
}

func (rt *Runtime) info(now time.Time) stats.Info {
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	i := stats.Info{Name: "halo", Version: Version, ReleaseDate: "2026/11/24", Pid: rt.opts.Pid, Nbthread: 1,
		Node: rt.cfg.Global.Node, Description: rt.cfg.Global.Description, Start: rt.start, Now: now,
		UlimitN: int(lim.Cur), MaxSock: int(lim.Cur), MaxConn: rt.maxConn(), HardMaxConn: rt.maxConn(),
		CurrConns: rt.active.Load(), CumReq: rt.reqs.Load(), Stopping: rt.isStopping(), Jobs: rt.active.Load(),
		Listeners: len(rt.listeners), DroppedLogs: rt.DroppedLogs()}
	if i.Node == "" {
		i.Node, _ = os.Hostname()
	}
	for _, fe := range rt.frontends {
		i.CumConns += fe.stats.total.Load()
		i.ConnRate += fe.stats.rate.value()
		i.MaxConnRate = max(i.MaxConnRate, fe.stats.rate.max.Load())
		i.BytesOut += fe.stats.bytesOut.Load()
		i.CumSslConns += fe.stats.sslSess.Load()
	}
	i.SessRate, i.MaxSessRate = i.ConnRate, i.MaxConnRate
	return i
}

func (c *counters) snapshot(now time.Time) stats.Counters {
	out := stats.Counters{SCur: c.cur.Load(), SMax: c.max.Load(), STot: c.total.Load(), BytesIn: c.bytesIn.Load(),
		BytesOut: c.bytesOut.Load(), DeniedReq: c.deniedReq.Load(), DeniedConn: c.deniedConn.Load(), DeniedResp: c.deniedResp.Load(), ErrReq: c.errReq.Load(),
		ErrConn: c.errConn.Load(), ErrResp: c.errResp.Load(), Retries: c.retries.Load(), Redispatches: c.redispatches.Load(),
		Rate: c.rate.value(), RateMax: c.rate.max.Load(), ReqRate: c.reqRate.value(), ReqRateMax: c.reqRate.max.Load(),
		ReqTot: c.reqTot.Load(), Intercepted: c.intercepted.Load(), CliAbrt: c.cliAbrt.Load(), SrvAbrt: c.srvAbrt.Load(),
		Connect: c.connect.Load(), Reuse: c.reuse.Load(), SSLSess: c.sslSess.Load(), SSLReusedSess: c.sslReused.Load(),
		SSLFailedHS: c.sslFailed.Load(), CompIn: c.compIn.Load(), CompOut: c.compOut.Load(),
		CompByp: c.compByp.Load(), CompRsp: c.compRsp.Load(), LastSess: -1, QMax: c.qmax.Load()}
	out.QTime, out.QTimeMax = c.qtime.get()
	out.CTime, out.CTimeMax = c.ctime.get()
	out.RTime, out.RTimeMax = c.rtime.get()
	out.TTime, out.TTimeMax = c.ttime.get()
	for i := range out.HRsp {
		out.HRsp[i] = c.hrsp[i].Load()
	}
	if t := c.lastSess.Load(); t > 0 {
		out.LastSess = now.Sub(time.Unix(0, t))
	}
	return out
}

func (s *server) snapshot(now time.Time) stats.Server {
	out := stats.Server{Name: s.cfg.Name, ID: s.cfg.ID, Addr: s.addrString(), Counters: s.stats.snapshot(now),
		Weight: s.Weight(), UWeight: int(s.uweight.Load()), IWeight: s.cfg.Weight, Backup: s.cfg.Backup,
		ChkFail: s.chkFail.Load(), ChkDown: s.chkDown.Load(), LastChg: now.Sub(time.Unix(0, s.lastChange.Load())),
		QLimit: s.cfg.MaxQueue, SLim: int(s.maxconn.Load()), Throttle: s.throttlePct(now), CheckEnabled: s.cfg.Check, Cookie: s.cfg.Cookie,
		Mode: s.be.cfg.Mode.String(), Admin: stats.AdminState(s.admin.Load()), Port: s.destination().port,
		CheckRise: s.cfg.Rise, CheckFall: s.cfg.Fall}
	out.Counters.LBTot = s.total.Load()
	if s.cfg.Observe != config.ObserveNone {
		out.Observe = true
		if s.checker != nil {
			out.HanaFail = s.checker.HanaFail()
		}
	}
	down := time.Duration(s.downtime.Load())
	if d := s.downSince.Load(); d > 0 {
		down += now.Sub(time.Unix(0, d))
	}
	out.Downtime = down
	out.OpState = 2
	if !s.usable() {
		out.OpState = 0
	}
	out.CfgDisabled = s.cfg.Disabled
	// Check state and result as HAProxy numbers them in state files:
	// state 6 configured+enabled, 14 also paused (maintenance); result
	// 0 unknown, 2 failed, 3 passed, 4 conditionally passed.
	if ev := s.lastEv.Load(); ev != nil && s.cfg.Check {
		out.CheckStatus, out.CheckCode, out.CheckDuration = ev.Result.Status, ev.Result.Code, ev.Result.Duration
		out.CheckDesc, out.LastChk, out.CheckHealth = ev.Result.Desc, ev.Result.Info, ev.Health
		switch {
		case !ev.Result.OK:
			out.CheckResult = 2
		case ev.Result.Status == "L7OKC":
			out.CheckResult = 4
		default:
			out.CheckResult = 3
		}
		out.CheckState = 6
		out.CheckRunning = s.checker.Running()
	} else if s.cfg.Check {
		out.CheckStatus, out.CheckDesc, out.CheckHealth = "INI", "Initializing", s.cfg.Rise+s.cfg.Fall-1
		out.CheckState = 6
	} else {
		out.CheckHealth = s.cfg.Rise // what HAProxy reports for a server without checks
	}
	if s.admin.Load() == adminMaint {
		// Checks are paused in maintenance: state 14 (configured,
		// enabled, paused), or 8 (paused) for a server without checks.
		out.CheckState, out.CheckHealth = 8, 0
		if s.cfg.Check {
			out.CheckState = 14
			if s.lastEv.Load() == nil {
				out.CheckStatus = ""
			}
		}
	}
	out.FQDN, out.SRVRecord, out.RMaint = s.fqdn(), s.cfg.SRVRecord, s.dns.maint.Load()
	out.HostMaint = s.dns.hadSRV.Load()
	if out.RMaint {
		out.OpState = 0
		if s.cfg.Check {
			// Checks are paused while the name does not resolve.
			out.CheckState, out.CheckHealth = 14, 0
			if s.lastEv.Load() == nil {
				out.CheckStatus = ""
			}
		}
	}
	if s.dns.wasMaint.Load() && !s.cfg.Check {
		out.CheckHealth = 0 // as haproxy 2.6.12 shows a server that waited for DNS
	}
	switch {
	case s.admin.Load() == adminMaint:
		out.Status = "MAINT"
	case out.RMaint:
		out.Status, out.Admin = "MAINT (resolution)", stats.AdminMaint
	case s.admin.Load() == adminDrain:
		out.Status = "DRAIN"
	case !s.cfg.Check:
		out.Status = "no check"
		if s.state.Load() != stateUp {
			out.Status = "DOWN"
		}
	default:
		ev := s.lastEv.Load()
		up := s.state.Load() == stateUp
		out.Status = "UP"
		if !up {
			out.Status = "DOWN"
		}
		// Transitional states show the health: "UP 1/3", "DOWN 1/2".
		if ev != nil {
			if up && ev.Health < ev.Rise+ev.Fall-1 {
				out.Status = fmt.Sprintf("UP %d/%d", ev.Health-ev.Rise+1, ev.Fall)
			} else if !up && ev.Health > 0 {
				out.Status = fmt.Sprintf("DOWN %d/%d", ev.Health, ev.Rise)
			}
		}
	}
	return out
}

func (s *server) addrString() string {
	d := s.destination()
	if d.port == 0 {
		return d.host
	}
	return net.JoinHostPort(d.host, strconv.Itoa(d.port))
}

// SetServerAddr is `set server <b>/<s> addr <ip> [port <port>]`: new
// connections and the health checks (unless `addr`/`port` fix the check
// address) go to the new address; idle connections to the old one are
// closed. The reply is HAProxy's.
func (rt *Runtime) SetServerAddr(backend, server, addr, port string) (string, error) {
	b, s, err := rt.findServer(backend, server)
	if err != nil {
		return "", err
	}
	const by = " by 'stats socket command'"
	ip, perr := netip.ParseAddr(addr)
	if perr != nil || ip.Zone() != "" {
		return "Invalid addr '" + addr + "'" + by, nil
	}
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
	cur := s.destination()
	next := cur
	var msg []string
	if old, _ := netip.ParseAddr(cur.host); old == ip {
		msg = append(msg, "no need to change the addr")
	} else {
		msg = append(msg, fmt.Sprintf("IP changed from '%s' to '%s'", cur.host, ip))
		next.host = ip.String()
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		switch {
		case err != nil || n < 0 || n > 65535:
			msg = append(msg, fmt.Sprintf("problem converting port '%s' to an int", port))
		case n == cur.port:
			msg = append(msg, "no need to change the port")
		default:
			msg = append(msg, fmt.Sprintf("port changed from '%d' to '%d'", cur.port, n))
			next.port = n
		}
	}
	if next != cur {
		b.setDest(s, next)
	}
	return strings.Join(msg, ", ") + by, nil
}

// setDest moves s to a new address at run time (`set server addr`, DNS
// resolution): new connections and the health checks (unless `addr`/
// `port` fix the check address) go there; idle connections to the old
// one are closed.
func (b *backend) setDest(s *server, next serverDest) {
	s.dest.Store(&next)
	s.closeIdle()
	if s.checker != nil {
		s.checker.SetAddr(b.checkTarget(s, next))
	}
}

// findServer resolves "backend/server" names.
func (rt *Runtime) findServer(backend, server string) (*backend, *server, error) {
	b := rt.backends[backend]
	if b == nil {
		return nil, nil, ErrNoBackend
	}
	for _, s := range b.servers {
		if s.cfg.Name == server {
			return b, s, nil
		}
	}
	return b, nil, ErrNoServer
}

// SetServerState is `set server <b>/<s> state ready|drain|maint`, also
// used by the stats page's admin form. It logs what haproxy 2.6.12 logs,
// with its severities: going to maintenance is an alert only for a
// server that was taking traffic (notice when it was draining or down).
func (rt *Runtime) SetServerState(backend, server string, st stats.AdminState) error {
	b, s, err := rt.findServer(backend, server)
	if err != nil {
		return err
	}
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
	old := s.admin.Swap(int32(st))
	if old == int32(st) {
		return nil
	}
	// "Server be/srv", or "Backup Server be/srv" as HAProxy words it.
	name := health.ServerWord(s.cfg.Backup) + " " + b.cfg.Name + "/" + s.cfg.Name
	s.lastChange.Store(time.Now().UnixNano())
	wasUp := s.usable()
	switch st {
	case stats.AdminMaint:
		if wasUp {
			s.chkDown.Add(1) // HAProxy counts going to maintenance as an UP->DOWN transition
		}
		sess := s.Conns() // before on-marked-down ends them
		b.setState(s, stateMaint)
		act, bck := b.counts()
		switch {
		case !wasUp:
			rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s was DOWN and now enters maintenance.", name))
		default:
			level := logging.Alert
			if old == adminDrain {
				level = logging.Notice // it was taking no new traffic already
			}
			rt.plog(b.cfg, level, LevelWarning, fmt.Sprintf("%s is going DOWN for maintenance. %d active and %d backup servers left.%s %d sessions active, 0 requeued, 0 remaining in queue.", name, act, bck, health.OnBackup(act, bck), sess))
		}
	case stats.AdminDrain:
		if old == adminMaint && s.dns.maint.Load() {
			b.refresh() // still waiting for a DNS answer: stays in maintenance
			break
		}
		if old == adminMaint {
			b.setState(s, stateUp)
			rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s is UP/DRAIN (leaving forced maintenance).", name))
			rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s remains in forced drain mode.", name))
			rt.leaveMaint(b, s)
			break
		}
		b.refresh()
		act, bck := b.counts()
		if wasUp {
			rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s enters drain state. %d active and %d backup servers online.%s 0 sessions requeued, 0 total in queue.", name, act, bck, health.OnBackup(act, bck)))
		} else {
			rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s enters drain state. %d active and %d backup servers left.%s %d sessions active, 0 requeued, 0 remaining in queue.", name, act, bck, health.OnBackup(act, bck), s.Conns()))
		}
	case stats.AdminReady:
		if old == adminMaint && s.dns.maint.Load() {
			b.refresh()
			break
		}
		if old == adminMaint {
			b.setState(s, stateUp)
			rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s is UP/READY (leaving forced maintenance).", name))
			rt.leaveMaint(b, s)
		} else {
			b.refresh()
			rt.plog(b.cfg, logging.Notice, LevelWarning, fmt.Sprintf("%s is UP (leaving forced drain).", name))
		}
	}
	b.noServerAlert()
	return nil
}

// leaveMaint settles a server that left maintenance as UP: when its
// checks say it is down, it goes DOWN at once with the reason, as
// HAProxy's next check does. Called with stateMu held.
func (rt *Runtime) leaveMaint(b *backend, s *server) {
	if s.healthy.Load() {
		return
	}
	b.setState(s, stateDown)
	var reason *health.Result
	if ev := s.lastEv.Load(); ev != nil {
		r := ev.Result
		reason = &r
	}
	act, bck := b.counts()
	rt.plog(b.cfg, logging.Alert, LevelWarning, health.DownLine(b.cfg.Name, s.cfg.Name, s.cfg.Backup, reason, act, bck, s.Conns(), 0, int(b.queued.Load())))
}

// SetServerWeight is `set weight` / `set server ... weight`: an absolute
// weight, or a percentage of the configured one.
func (rt *Runtime) SetServerWeight(backend, server string, w int, percent bool) error {
	b, s, err := rt.findServer(backend, server)
	if err != nil {
		return err
	}
	if percent {
		w = s.cfg.Weight * w / 100
	}
	if w < 0 || w > 256 {
		return errors.New("Absolute weight can only be between 0 and 256 inclusive.")
	}
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
	s.uweight.Store(int32(w))
	s.effWeight(b.now())
	b.refresh()
	return nil
}

// ServerWeight is `get weight`: current and initial weights.
func (rt *Runtime) ServerWeight(backend, server string) (int, int, error) {
	_, s, err := rt.findServer(backend, server)
	if err != nil {
		return 0, 0, err
	}
	return int(s.uweight.Load()), s.cfg.Weight, nil
}

// ShutdownServerSessions ends the sessions on a server: TCP sessions and
// tunnels are closed, HTTP requests in flight get a 502 (logged with
// termination flag K, as HAProxy), idle server connections are closed.
func (rt *Runtime) ShutdownServerSessions(backend, server string) (int, error) {
	_, s, err := rt.findServer(backend, server)
	if err != nil {
		return 0, err
	}
	return s.shutdownSessions('K'), nil
}

// ClearCounters resets the maximum values (all=false) or every counter.
func (rt *Runtime) ClearCounters(all bool) {
	reset := func(c *counters) {
		c.max.Store(c.cur.Load())
		c.rate.max.Store(0)
		c.reqRate.max.Store(0)
		c.qmax.Store(0)
		for _, t := range []*avgTime{&c.qtime, &c.ctime, &c.rtime, &c.ttime} {
			t.mu.Lock()
			t.max = 0
			t.mu.Unlock()
			if all {
				t.reset()
			}
		}
		if all {
			for _, a := range []interface{ Store(int64) }{&c.total, &c.bytesIn, &c.bytesOut, &c.deniedReq, &c.deniedConn, &c.deniedResp,
				&c.errReq, &c.errConn, &c.errResp, &c.retries, &c.redispatches, &c.reqTot, &c.intercepted, &c.cliAbrt,
				&c.srvAbrt, &c.connect, &c.reuse, &c.sslSess, &c.sslReused, &c.sslFailed,
				&c.compIn, &c.compOut, &c.compByp, &c.compRsp} {
				a.Store(0)
			}
			for i := range c.hrsp {
				c.hrsp[i].Store(0)
			}
		}
	}
	for _, fe := range rt.frontends {
		reset(&fe.stats)
	}
	for _, b := range rt.backends {
		reset(&b.stats)
		for _, s := range b.servers {
			reset(&s.stats)
			if all {
				s.total.Store(0)
				s.chkFail.Store(0)
				s.chkDown.Store(0)
			}
		}
	}
}

// BackendNames lists the backends in configuration order.
func (rt *Runtime) BackendNames() []string {
	var out []string
	for _, p := range rt.cfg.Proxies {
		if b := rt.backends[p.Name]; b != nil && b.cfg == p {
			out = append(out, p.Name)
		}
	}
	return out
}

// SetServerMaxConn is `set maxconn server`.
func (rt *Runtime) SetServerMaxConn(backend, server string, n int) error {
	b, s, err := rt.findServer(backend, server)
	if err != nil {
		return err
	}
	if s.minconn.Load() == s.maxconn.Load() {
		s.minconn.Store(int32(n)) // a static limit stays static; a dynamic one keeps its floor
	}
	s.maxconn.Store(int32(n))
	b.wakeFree() // a higher limit frees queued connections
	return nil
}

// ServerUp implements srv_is_up(): whether the server is usable.
func (rt *Runtime) ServerUp(backend, server string) (bool, bool) {
	_, s, err := rt.findServer(backend, server)
	if err != nil {
		return false, false
	}
	return s.usable(), true
}

// DumpStates answers SIGHUP as HAProxy does: every proxy's servers and
// connection counts go to its syslog targets (notice) and to stderr.
func (rt *Runtime) DumpStates() {
	rt.logf(LevelWarning, "SIGHUP received, dumping servers states.")
	for _, p := range rt.cfg.Proxies {
		if p.Disabled {
			continue
		}
		l := rt.loggerFor(p)
		l.Log(logging.Notice, fmt.Sprintf("SIGHUP received, dumping servers states for proxy %s.", p.Name))
		var feCur, feTot, beCur, beTot, queued int64
		if fe := rt.frontend(p); fe != nil {
			feCur, feTot = fe.stats.cur.Load(), fe.stats.total.Load()
		}
		b := rt.backends[p.Name]
		if b != nil && b.cfg != p {
			b = nil
		}
		summary := "has no servers."
		if b != nil {
			beCur, beTot, queued = b.stats.cur.Load(), b.stats.total.Load(), int64(b.queued.Load())
			for _, s := range b.servers {
				st := "DOWN"
				if s.usable() {
					st = "UP"
				}
				rt.plog(p, logging.Notice, LevelWarning, fmt.Sprintf("SIGHUP: Server %s/%s is %s. Conn: %d act, 0 pend, %d tot.",
					p.Name, s.cfg.Name, st, s.stats.cur.Load(), s.stats.total.Load()))
			}
			if len(b.servers) > 0 {
				act, bck := b.counts()
				summary = "has no server available !"
				if act+bck > 0 {
					summary = fmt.Sprintf("has %d active servers and %d backup servers available.", act, bck)
				}
			}
		}
		rt.plog(p, logging.Notice, LevelWarning, fmt.Sprintf("SIGHUP: Proxy %s %s Conn: act(FE+BE): %d+%d, %d pend (%d unass), tot(FE+BE): %d+%d.",
			p.Name, summary, feCur, beCur, queued, queued, feTot, beTot))
	}
}
