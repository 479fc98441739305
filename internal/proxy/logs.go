package proxy

import (
	"crypto/tls"
	"net"

	"github.com/halo-lb/halo/internal/tlsx"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/httpx"
	"github.com/halo-lb/halo/internal/logging"
)

// counters are the live figures of a frontend, backend or server, read
// by the stats page, the runtime API and Prometheus.
type counters struct {
	cur, max, total   atomic.Int64 // sessions
	bytesIn, bytesOut atomic.Int64
	deniedReq         atomic.Int64
	deniedConn        atomic.Int64 // tcp-request connection reject
	deniedResp        atomic.Int64
	errReq            atomic.Int64
	errConn           atomic.Int64
	errResp           atomic.Int64
	retries           atomic.Int64
	redispatches      atomic.Int64
	reqTot            atomic.Int64
	hrsp              [6]atomic.Int64 // 1xx..5xx, other
	intercepted       atomic.Int64
	cliAbrt, srvAbrt  atomic.Int64
	connect, reuse    atomic.Int64
	lastSess          atomic.Int64 // unix nanoseconds of the last session
	qmax              atomic.Int64 // longest queue seen
	qtime, ctime      avgTime      // queue, connect, response and total times
	rtime, ttime      avgTime
	rate              rateCounter
	reqRate           rateCounter
	sslSess           atomic.Int64
	sslReused         atomic.Int64
	sslFailed         atomic.Int64
	compIn, compOut   atomic.Int64 // bytes into and out of the HTTP compressor
	compByp, compRsp  atomic.Int64 // bytes sent with identity; responses through the compressor
}

func (c *counters) open() {
	n := c.cur.Add(1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	c.total.Add(1)
	c.rate.add()
	c.lastSess.Store(time.Now().UnixNano())
}

func (c *counters) close() { c.cur.Add(-1) }

func (c *counters) status(code int) {
	c.reqTot.Add(1)
	c.reqRate.add()
	i := code/100 - 1
	if i < 0 || i > 4 {
		i = 5
	}
	c.hrsp[i].Add(1)
}

// timing folds the times of one session that reached a server into the
// averages and maxima; a negative time was not measured (no response
// time in tcp mode).
func (c *counters) timing(q, cn, r, t time.Duration) {
	c.qtime.add(q)
	c.ctime.add(cn)
	c.rtime.add(r)
	c.ttime.add(t)
}

// timeSamples is HAProxy's averaging window: the last 1024 samples.
const timeSamples = 1024

// avgTime is an average over the last timeSamples durations and the
// longest one seen. Until the window is full it is the exact mean of the
// samples so far (HAProxy's averages do not start from zero either);
// then each sample weighs 1/1024, HAProxy's sliding-window average.
type avgTime struct {
	mu  sync.Mutex
	n   int64
	avg float64 // microseconds
	max int64   // microseconds
}

func (a *avgTime) add(d time.Duration) {
	if d < 0 {
		return
	}
	us := d.Microseconds()
	a.mu.Lock()
	if a.n < timeSamples {
		a.n++
	}
	a.avg += (float64(us) - a.avg) / float64(a.n)
	if us > a.max {
		a.max = us
	}
	a.mu.Unlock()
}

// get returns the average and the maximum.
func (a *avgTime) get() (avg, max time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Duration(a.avg+0.5) * time.Microsecond, time.Duration(a.max) * time.Microsecond
}

func (a *avgTime) reset() {
	a.mu.Lock()
	a.n, a.avg, a.max = 0, 0, 0
	a.mu.Unlock()
}

// setMax raises m to v.
func setMax(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// rateCounter counts events in the current and the previous second.
type rateCounter struct {
	sec       atomic.Int64
	cur, prev atomic.Int64
	max       atomic.Int64
}

func (r *rateCounter) add() {
	now := time.Now().Unix()
	if s := r.sec.Load(); s != now && r.sec.CompareAndSwap(s, now) {
		if s == now-1 {
			r.prev.Store(r.cur.Load())
		} else {
			r.prev.Store(0)
		}
		r.cur.Store(0)
	}
	n := r.cur.Add(1)
	for {
		m := r.max.Load()
		if n <= m || r.max.CompareAndSwap(m, n) {
			break
		}
	}
}

// value is the number of events over the last second.
func (r *rateCounter) value() int64 {
	now := time.Now().Unix()
	switch r.sec.Load() {
	case now:
		return r.cur.Load()
	case now - 1:
		return r.prev.Load()
	}
	return 0
}

// logSetup opens the loggers of every proxy: `log global` means the
// global section's targets, and a proxy's own targets add to them. All
// share one sink, so that lines to one destination keep their order.
func (rt *Runtime) logSetup() error {
	g := rt.cfg.Global
	hdr := logging.Header{Tag: rt.opts.Tag, Pid: rt.opts.Pid}
	if g.LogTag != "" {
		hdr.Tag = g.LogTag
	}
	if g.LogSendHostname != nil {
		hdr.Hostname = *g.LogSendHostname
	}
	var gspecs []logging.TargetSpec
	for _, t := range g.Logs {
		gspecs = append(gspecs, t.Spec)
	}
	rt.logSink = logging.NewSink(hdr, nil)
	rt.loggers = map[*config.Proxy]*logging.Logger{}
	if len(gspecs) > 0 {
		l, err := rt.logSink.Logger(gspecs)
		if err != nil {
			return err
		}
		rt.glog = l
	}
	for _, px := range rt.cfg.Proxies {
		if px.NoLog || px.Disabled {
			continue
		}
		var specs []logging.TargetSpec
		for _, t := range px.Logs {
			if t.Global {
				specs = append(specs, gspecs...)
			} else {
				specs = append(specs, t.Spec)
			}
		}
		if len(specs) == 0 {
			continue
		}
		l, err := rt.logSink.Logger(specs)
		if err != nil {
			return err
		}
		rt.loggers[px] = l
	}
	return nil
}

// closeLogs flushes and stops the loggers.
func (rt *Runtime) closeLogs() {
	rt.logSink.Close()
}

// DroppedLogs is the number of log messages dropped so far.
func (rt *Runtime) DroppedLogs() int64 {
	return rt.logSink.Dropped()
}

// plog sends a process message about px to its syslog targets (the
// global ones when px has none) at level, and to the process's own
// output at stderr level, as HAProxy does (a server going DOWN is an
// alert in syslog but a [WARNING] on stderr).
func (rt *Runtime) plog(px *config.Proxy, level logging.Level, stderr Level, msg string) {
	rt.loggerFor(px).Log(level, msg)
	rt.logf(stderr, "%s", msg)
}

// loggerFor is px's logger, or the global one when px has none.
func (rt *Runtime) loggerFor(px *config.Proxy) *logging.Logger {
	if px != nil {
		if l := rt.loggers[px]; l != nil {
			return l
		}
	}
	return rt.glog
}

// trafficLog emits the log line of a finished session or request.
func (fe *frontend) trafficLog(rec *logging.Record) {
	l := fe.rt.loggers[fe.cfg]
	if l == nil || fe.cfg.LogFmt == nil || fe.cfg.LogAtAccept {
		return
	}
	errorish := rec.Term[0] != '-' || rec.Status >= 500 || rec.BadReq
	if fe.cfg.Options.DontLogNormal && !errorish {
		return
	}
	if rec.Silent {
		return // http-request set-log-level silent
	}
	level := logging.Info
	if errorish && fe.cfg.Options.LogSeparateErrors {
		level = logging.Err
	}
	if rec.HasLevel {
		level = rec.SetLevel
	}
	if !l.Enabled(level) {
		return
	}
	bp := logBufPool.Get().(*[]byte)
	b := fe.cfg.LogFmt.AppendTo((*bp)[:0], rec)
	l.Log(level, string(b))
	*bp = b
	logBufPool.Put(bp)
}

var logBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func hasCapture(px *config.Proxy, response bool) bool {
	for _, c := range px.Captures {
		if c.Response == response {
			return true
		}
	}
	return false
}

// startRecord fills the request part of the log record.
func (tx *httpTxn) startRecord(req *httpx.Request, waitStart time.Time, first bool) {
	r := &tx.rec
	r.Request = waitStart
	r.TH, r.TI, r.TR = 0, 0, tx.tHead.Sub(waitStart)
	if !first {
		// Between keep-alive requests the wait is idle time, not request time.
		r.TI, r.TR = r.TR, 0
	}
	r.Method, r.URI, r.Version, r.BadReq = tx.view.method, tx.view.target, req.Version(), false
	r.Silent, r.HasLevel = false, false
	if _, h2 := tx.client.Conn.(*h2pipe); h2 {
		// As HAProxy logs HTTP/2 requests: absolute URI, version 2.0.
		scheme := "http"
		if r.TLS {
			scheme = "https"
		}
		if h := req.Get("host"); h != nil {
			r.URI = scheme + "://" + string(h) + r.URI
		}
		r.Version = "HTTP/2.0"
	}
	r.BackendName, r.ServerName = tx.fe.cfg.Name, "<NOSRV>"
	r.ServerIP, r.Source = netip.AddrPort{}, netip.AddrPort{}
	r.ReqCounter = tx.fe.rt.reqs.Add(1)
	tx.fe.stats.reqRate.add()
}

// badRequest counts, and logs when log is set, a request that could not
// be parsed (400, 431, ...) or did not arrive in time (408).
func (tx *httpTxn) badRequest(status int, term byte, waitStart time.Time, first, log bool) {
	if !first && status == 408 {
		return
	}
	tx.fe.stats.errReq.Add(1)
	tx.fe.stats.status(status)
	if !log {
		return
	}
	r := &tx.rec
	r.Request, r.TH, r.TI, r.TR, r.Tw, r.Tc, r.Tr = waitStart, 0, 0, -1, -1, -1, -1
	r.Ta = time.Since(waitStart)
	r.Status, r.BytesOut, r.BadReq = status, 0, true
	r.BackendName, r.ServerName = tx.fe.cfg.Name, "<NOSRV>"
	r.Term = [4]byte{term, 'R', '-', '-'}
	r.ActConn, r.FeConn = tx.fe.rt.active.Load(), tx.fe.stats.cur.Load()
	r.CaptReq, r.CaptRes = nil, nil
	tx.fe.trafficLog(r)
}

// finishRecord completes the record once the response is sent, updates
// the counters and logs. bytesIn is what the request took from the
// client (head and body: %U, bin), bytesOut what went back (%B, bout).
func (tx *httpTxn) finishRecord(bytesIn, bytesOut int64) {
	r := &tx.rec
	fe := tx.fe
	now := time.Now()
	r.Status, r.BytesOut, r.BytesIn = tx.status, bytesOut, bytesIn
	fe.stats.bytesIn.Add(bytesIn)
	r.Tw, r.Tc, r.Tr = -1, -1, -1
	if tx.be != nil {
		r.BackendName = tx.be.cfg.Name
		if tx.srv != nil || tx.ci.err != nil {
			r.Tw = tx.ci.queue
		}
		tx.be.stats.status(tx.status)
		tx.be.stats.bytesOut.Add(bytesOut)
		tx.be.stats.bytesIn.Add(bytesIn)
	}
	if tx.state == 'T' {
		r.TR, r.Tw = -1, tx.tarpitWait // HAProxy counts the tarpit as a wait
	}
	if tx.drop != 0 {
		r.TR = -1 // reject, silent-drop: logged as haproxy does
	}
	if tx.srv != nil {
		r.ServerName = tx.srv.cfg.Name
		r.Tc = tx.ci.connect
		tx.srv.stats.status(tx.status)
		tx.srv.stats.bytesOut.Add(bytesOut)
		tx.srv.stats.bytesIn.Add(bytesIn)
		tx.srv.stats.lastSess.Store(now.UnixNano())
		if !tx.tResp.IsZero() {
			r.Tr = tx.tResp.Sub(tx.tSent)
		}
	} else if tx.ci.srv != nil {
		r.ServerName = tx.ci.srv.cfg.Name // the server a connection was attempted to
	} else if tx.cache.served {
		r.ServerName = "<CACHE>" // haproxy logs the cache's timers as 0
		r.Tw, r.Tc, r.Tr = 0, 0, 0
	} else {
		r.ServerName = "<NOSRV>"
	}
	r.Retries, r.Redisp = tx.ci.retries, tx.ci.redispatched
	r.Ta = now.Sub(r.Request) - r.TI
	r.Tt = now.Sub(r.Accept)
	r.Term = [4]byte{tx.term, tx.state, '-', '-'}
	if tx.local != nil && tx.srv == nil && tx.state == '-' {
		r.Term[1] = 'R' // answered while still on the request
	}
	if tx.be != nil && tx.be.cfg.Cookie != nil {
		r.Term[2], r.Term[3] = tx.cookieFlags()
	}
	if len(tx.captRes) == 0 {
		// No server response: the capture slots are logged empty ({|}).
		tx.capture(fe.cfg.Captures, true)
	}
	r.CaptReq, r.CaptRes = tx.captReq, tx.captRes
	r.ActConn, r.FeConn = fe.rt.active.Load(), fe.stats.cur.Load()
	if tx.be != nil {
		r.BeConn, r.BeQueue = tx.be.stats.cur.Load(), tx.ci.queuePos
		if tx.srv != nil {
			r.SrvConn = tx.srv.stats.cur.Load()
		}
	}
	fe.stats.status(tx.status)
	fe.stats.bytesOut.Add(bytesOut)
	if tx.local != nil {
		fe.stats.intercepted.Add(1)
	}
	if tx.srv != nil {
		// Averages cover requests that reached a server, as HAProxy's.
		tx.be.stats.timing(r.Tw, r.Tc, r.Tr, r.Ta)
		tx.srv.stats.timing(r.Tw, r.Tc, r.Tr, r.Ta)
	}
	fe.trafficLog(r)
}

// pxStats returns the counters of px, the frontend or the backend of tx.
func (tx *httpTxn) pxStats(px *config.Proxy) *counters {
	if tx.be != nil && px == tx.be.cfg {
		return &tx.be.stats
	}
	return &tx.fe.stats
}

// tlsInfo describes a terminated TLS connection for ssl_* fetches and
// fills the record's TLS fields (%ft's "~", %sslv, %sslc).
func tlsInfo(tc tlsStater, rec *logging.Record) *tlsx.Info {
	if p, ok := tc.(*h2pipe); ok {
		if parent, ok := p.parent.(tlsStater); ok {
			tc = parent // an HTTP/2 stream: its connection's TLS state
		}
	}
	var info *tlsx.Info
	if c, ok := tc.(*tls.Conn); ok {
		info = tlsx.NewInfo(c)
	} else {
		info = &tlsx.Info{State: tc.ConnectionState()}
	}
	rec.TLS, rec.SSLVer, rec.SSLCipher = true, info.Protocol(), info.Cipher()
	return info
}

// tlsStater is a connection that knows its TLS state: *tls.Conn, and the
// in-memory connection an HTTP/2 stream is served on.
type tlsStater interface {
	ConnectionState() tls.ConnectionState
}

// acceptLog emits the legacy "Connect from" line of proxies without a
// log format option, when the connection is accepted (as HAProxy).
func (fe *frontend) acceptLog(c net.Conn) {
	l := fe.rt.loggers[fe.cfg]
	if l == nil || !fe.cfg.LogAtAccept || !l.Enabled(logging.Info) {
		return
	}
	rec := &logging.Record{Client: addrPort(c.RemoteAddr()), Frontend: addrPort(c.LocalAddr()), FrontendName: fe.cfg.Name}
	l.Log(logging.Info, fe.cfg.LogFmt.String(rec))
}
