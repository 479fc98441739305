package proxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/httpx"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/stick"
)

// httpTxn is one request/response exchange on a client connection.
type httpTxn struct {
	fe     *frontend
	be     *backend
	client *idleConn
	br     *bufio.Reader
	view   httpView
	acl    acl.Txn
	stk    *trackers // the request's sticky counters (nil without stick tables)

	lim       httpx.Limits // tune.bufsize - tune.maxrewrite, tune.http.maxhdr
	body      httpx.BodyKind
	cl        int64
	reqKeep   bool
	expect    bool
	upgrade   bool
	minor     int           // the client's HTTP/1.x minor version
	headReq   bool          // the client sent HEAD: local answers carry no body
	notFirst  bool          // an earlier request was served on this client session
	own       []*serverConn // http-reuse never: the session's private server connections
	chunks    httpx.ChunkedReader
	tbuf      []byte  // scratch for the last chunk and trailers
	cbuf      []byte  // body copy buffer
	cbufp     *[]byte // its pool handle
	persisted *server // server named by a valid persistence cookie
	lastSrv   *server // server of the connection's previous request
	srv       *server // server that answered

	cookieState persistCookie
	cookieIn    byte   // 3rd termination letter: what the persistence cookie said
	cookieOut   byte   // 4th: what halo did with it
	local       []byte // locally generated response
	status      int    // status sent to the client
	term        byte   // first termination-state letter ('-' when normal)
	state       byte   // second letter: where the session was when it ended
	captReq     []string
	captRes     []string
	res         httpx.Response // reused for every request of the connection
	qbuf, pbuf  []byte         // request and response head buffers, reused
	rec         logging.Record // the log record of the current request
	ci          connInfo
	tHead       time.Time // request head received
	tSent       time.Time // request sent to the server
	tResp       time.Time // response head received

	tarpitWait time.Duration     // how long a tarpit rule held the request (logged as %Tw)
	drop       config.HTTPAction // ActReject or ActSilentDrop: close without an answer
	noL7Retry  bool              // http-request disable-l7-retry: retry-on keeps only conn-failure
	stream     *stream           // the connection as `show sess` sees it
	cache      txCache           // cache-use / cache-store state (cache.go)

	compAlgo int  // config.CompAlgo chosen on the request, or noComp
	compOn   bool // the response is being compressed
}

// noServer answers 503 when no server connection could be had: SC, or
// sQ after a queue timeout or a full queue.
func (tx *httpTxn) noServer() (bool, bool) {
	tx.setLocal(503, tx.errorPage(tx.be.cfg, 503), 'S')
	tx.state = 'C'
	if errors.Is(tx.ci.err, errQueueTimeout) || errors.Is(tx.ci.err, errQueueFull) {
		tx.term, tx.state = 's', 'Q'
	}
	return tx.answerLocal()
}

// clientAborted ends a request whose client closed while it waited for
// a server (option abortonclose): nothing is sent, the connection
// closes, and the log says CQ (queued) or CC (connecting) with status -1.
func (tx *httpTxn) clientAborted() (bool, bool) {
	tx.status, tx.term, tx.state = -1, 'C', 'C'
	if tx.ci.err == nil {
		tx.ci.err = context.Canceled // Tw is logged
	}
	if tx.ci.srv == nil {
		tx.state = 'Q'
	}
	tx.fe.stats.cliAbrt.Add(1)
	if tx.be != nil {
		tx.be.stats.cliAbrt.Add(1)
	}
	return false, false
}

// reset prepares tx, owned by one client connection, for its next request.
func (tx *httpTxn) reset() {
	tx.be, tx.persisted, tx.srv = nil, nil, nil
	tx.cookieIn, tx.cookieOut = 'N', 'N'
	tx.cookieState, tx.local, tx.status, tx.term, tx.state = persistCookie{}, nil, 0, '-', '-'
	tx.captReq, tx.captRes = tx.captReq[:0], tx.captRes[:0]
	tx.view.status, tx.view.reason = 0, ""
	tx.view.hdr, tx.view.rhdr = tx.view.hdr[:0], tx.view.rhdr[:0]
	tx.acl.Backend = ""
	tx.ci = connInfo{}
	tx.tSent, tx.tResp, tx.tarpitWait = time.Time{}, time.Time{}, 0
	tx.noL7Retry = false
	tx.drop = 0
	tx.cache = txCache{}
	tx.compAlgo, tx.compOn = noComp, false
}

// setLocal makes resp the answer to the client.
func (tx *httpTxn) setLocal(status int, resp []byte, term byte) {
	tx.local, tx.status, tx.term = resp, status, term
}

// serveHTTP runs an HTTP/1.1 client connection: requests one after the
// other with keep-alive, server connections reused as http-reuse allows.
func (fe *frontend) serveHTTP(ctx context.Context, raw net.Conn, accepted time.Time) {
	defer raw.Close()
	client := &idleConn{Conn: raw}
	g := &fe.rt.cfg.Global
	lim := httpx.Limits{MaxHead: g.HeadLimit(), MaxHeaders: g.TuneMaxHdr}
	br := fe.rt.readers.get(client)
	defer fe.rt.readers.put(br)
	var req httpx.Request
	vars := map[string]string{} // sess.* variables live as long as the connection
	tx := &httpTxn{fe: fe, client: client, br: br, lim: lim, stream: streamOf(ctx)}
	defer tx.closeOwn()
	defer tx.putCopyBuffer()
	tx.acl = acl.Txn{Src: addrPort(raw.RemoteAddr()), Dst: addrPort(raw.LocalAddr()), HTTP: &tx.view,
		Backends: fe.rt, Frontend: fe.cfg.Name, Vars: vars, Users: fe.rt}
	tx.rec = logging.Record{Accept: accepted, Client: tx.acl.Src, Frontend: tx.acl.Dst, FrontendName: fe.cfg.Name,
		HTTP: true, Pid: fe.rt.opts.Pid, Ctx: &tx.acl, HasCaptRq: hasCapture(fe.cfg, false), HasCaptRs: hasCapture(fe.cfg, true)}
	if tc, ok := raw.(tlsStater); ok && tc.ConnectionState().HandshakeComplete {
		tx.acl.SSL = tlsInfo(tc, &tx.rec)
	}
	if p, ok := raw.(*h2pipe); ok {
		tx.notFirst = p.notFirst // a later stream of an HTTP/2 connection
	}
	first := true
	waitStart := accepted
	sess := sessionOf(ctx)
	for ctx.Err() == nil {
		n, err := tx.readHead(&req, first, waitStart)
		tx.reset()
		tx.tHead = time.Now()
		if err != nil {
			var he *httpx.Error
			// null: nothing came on the connection; it is logged unless
			// dontlognull, and with http-ignore-probes nothing at all
			// happens (no 408, no log, not counted).
			null := first && br.Buffered() == 0
			switch {
			case errors.As(err, &he):
				client.Write(fe.errorPage(he.Status))
				tx.badRequest(he.Status, 'P', waitStart, first, true)
			case null && fe.cfg.Options.HTTPIgnoreProbes:
			case errors.Is(err, os.ErrDeadlineExceeded) && (first || br.Buffered() > 0):
				// timeout http-request (or client) expired before a whole
				// head: 408, also on a first request that sent nothing, as
				// HAProxy does. An idle keep-alive connection just closes.
				client.Write(fe.errorPage(408))
				tx.badRequest(408, 'c', waitStart, first, !null || !fe.cfg.Options.DontLogNull)
			case null:
				// A connection closed before any byte: HAProxy counts it as
				// an aborted bad request, logged unless dontlognull.
				tx.badRequest(400, 'C', waitStart, first, !fe.cfg.Options.DontLogNull)
			}
			return
		}
		tx.loadRequest(&req, n)
		if sess != nil {
			tx.stk = &trackers{tables: sess.tables, session: sess}
			tx.acl.Stick = tx.stk
		}
		tx.startRecord(&req, waitStart, first)
		first = false
		out0 := client.out
		in0 := client.in - int64(br.Buffered()) // where this request starts in the client's stream
		keep, ok := tx.run(ctx, &req, n)
		tx.finishRecord(client.in-int64(br.Buffered())-in0, client.out-out0)
		tx.endCounters()
		tx.notFirst = true
		waitStart = time.Now()
		for k := range vars {
			if !strings.HasPrefix(k, "sess.") {
				delete(vars, k)
			}
		}
		if !ok || !keep || fe.rt.isStopping() {
			return
		}
	}
}

// errorPage is the frontend's response for a status (its errorfile or
// the built-in page).
func (fe *frontend) errorPage(status int) []byte {
	if p, ok := fe.cfg.ErrorPages[status]; ok {
		return p
	}
	return httpx.ErrorResponse(status)
}

// readHead reads until a whole request head is buffered and parses it.
//
// `timeout http-request` bounds the whole head, however slowly it
// drips in: from the accept for the first request, from its first byte
// for the next ones. Before that first byte a keep-alive connection
// waits `timeout http-keep-alive` (else http-request). Without these,
// `timeout client` applies to each read.
func (tx *httpTxn) readHead(req *httpx.Request, first bool, since time.Time) (int, error) {
	c, br, t := tx.client, tx.br, &tx.fe.cfg.Timeouts
	var until time.Time // when the wait ends at the latest (zero: never)
	arm := func(total time.Duration, from time.Time) {
		if total > 0 {
			c.setTimeout(0)
			until = from.Add(total)
			c.setReadDeadline(until)
		} else {
			c.setTimeout(t.Client)
			if t.Client > 0 {
				until = time.Now().Add(t.Client + t.Client>>4)
			}
		}
	}
	waiting := !first && br.Buffered() == 0
	if _, ok := c.Conn.(*h2pipe); ok {
		since = time.Now() // an HTTP/2 stream's head is already complete
	}
	switch {
	case waiting && t.HTTPKeepAlive > 0:
		arm(t.HTTPKeepAlive, since)
	case waiting:
		arm(t.HTTPRequest, since)
	case first:
		arm(t.HTTPRequest, since)
	default: // a pipelined request is already there
		arm(t.HTTPRequest, time.Now())
	}
	if waiting {
		// A soft stop may shorten this wait (stopGrace). The inactivity
		// deadline is armed first, so that the next read does not arm it
		// again over the soft stop's.
		if c.to > 0 {
			c.armRead(time.Now())
		}
		tx.stream.waitIdle(c.Conn, until, tx.fe.rt.isStopping())
	}
	defer func() {
		if waiting && tx.stream.waitIdle(nil, time.Time{}, false) {
			c.setReadDeadline(time.Time{}) // the error returned ends the connection anyway
		}
		if c.to != t.Client || c.to == 0 {
			// An absolute head deadline (or none at all) gives way to
			// timeout client again.
			c.setReadDeadline(time.Time{})
			c.setTimeout(t.Client)
		}
	}()
	for {
		buf, _ := br.Peek(br.Buffered())
		n, err := httpx.ParseRequest(buf, req, tx.lim)
		if err != httpx.ErrIncomplete {
			return n, err
		}
		if br.Buffered() >= br.Size() {
			return 0, &httpx.Error{Status: 431, Reason: "request head larger than the buffer"}
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return 0, err
		}
		if waiting {
			waiting = false
			if tx.stream.waitIdle(nil, time.Time{}, false) {
				c.setReadDeadline(time.Time{}) // undo the soft stop's deadline
			}
			arm(t.HTTPRequest, time.Now())
		}
	}
}

// loadRequest fills the request side of the view from the parsed head
// (n bytes buffered): one string holds the whole head, and the method,
// target and headers are substrings of it.
func (tx *httpTxn) loadRequest(req *httpx.Request, n int) {
	v := &tx.view
	raw, _ := tx.br.Peek(n)
	ht := newHeadText(raw)
	v.method, v.target, v.version = ht.str(req.Method), ht.str(req.Target), req.Version()
	if _, ok := tx.client.Conn.(*h2pipe); ok {
		v.version = "HTTP/2.0" // what fetches (req.ver) and logs see; servers get HTTP/1.1
	}
	v.hdr = v.hdr[:0]
	for _, h := range req.Headers {
		v.hdr = append(v.hdr, hdr{ht.str(h.Name), ht.str(h.Value)})
	}
}

// run serves one request whose head (n bytes) is buffered. It reports
// whether the client connection may carry another request (keep) and
// whether the connection is still sane (ok).
func (tx *httpTxn) run(ctx context.Context, req *httpx.Request, n int) (keep bool, ok bool) {
	fe := tx.fe
	tx.body, tx.cl, tx.reqKeep, tx.expect, tx.upgrade = req.Body, req.ContentLength, req.KeepAlive, req.ExpectCont, req.Upgrade
	tx.minor, tx.headReq = req.Minor, tx.view.method == "HEAD"
	if fe.rt.isStopping() {
		// A soft stop: the response says connection: close and the client
		// goes to the process that holds the listeners now. Idle
		// connections are not closed under their clients' feet: a request
		// may be on its way; they get this answer when it comes.
		tx.reqKeep = false
	}
	tx.br.Discard(n)
	tx.capture(fe.cfg.Captures, false)

	if tx.route() {
		if tx.cache.hit != nil {
			return tx.serveCached()
		}
		return tx.answerLocal()
	}
	be := tx.be
	be.stats.open()
	defer be.stats.close()
	if ff := firstNonNil(fe.cfg.ForwardFor, be.cfg.ForwardFor); ff != nil {
		tx.forwardedFor(ff, tx.acl.Src.Addr().Unmap(), "X-Forwarded-For")
	}
	if ot := firstNonNil(fe.cfg.OriginalTo, be.cfg.OriginalTo); ot != nil {
		tx.forwardedFor(ot, tx.acl.Dst.Addr().Unmap(), "X-Original-To")
	}
	return tx.forward(ctx)
}

func firstNonNil(a, b *config.ForwardFor) *config.ForwardFor {
	if a != nil {
		return a
	}
	return b
}

// route runs the frontend's request processing and chooses the backend.
// It returns true when the request is answered locally (tx.local).
func (tx *httpTxn) route() bool {
	fe := tx.fe
	if fe.cfg.MonitorURI != "" && tx.view.target == fe.cfg.MonitorURI {
		tx.setLocal(200, fe.errorPageOr(200, monitorPage), 'L')
		return true
	}
	for _, r := range fe.cfg.TCPRequest {
		// In HTTP mode, content rules see the parsed request.
		if r.Layer == "content" && r.Cond.Match(&tx.acl) {
			if r.Stick != nil {
				tx.stk.apply(r.Stick, &tx.acl, false)
				continue
			}
			if r.Action == "reject" {
				tx.setLocal(0, []byte{}, 'P')
				tx.state = 'R'
				tx.reqKeep = false
				fe.stats.deniedReq.Add(1)
				return true
			}
			break
		}
	}
	// The request counts for the counters tracked so far (the http-request
	// rules' count when they track).
	tx.stk.count(stick.EvHTTPReq, 1)
	if tx.phase(fe.cfg) || tx.cache.hit != nil {
		return true
	}
	if st := fe.cfg.Stats; st != nil && st.Enabled && fe.cfg.Cap&config.CapBackend == 0 && tx.serveStats(fe.cfg) {
		return true
	}
	be := fe.pick(&tx.acl, &tx.rec)
	if be == nil {
		tx.setLocal(503, tx.errorPage(fe.cfg, 503), 'S')
		return true
	}
	tx.be = be
	tx.acl.Backend = be.cfg.Name
	if be.cfg != fe.cfg && tx.phase(be.cfg) || tx.cache.hit != nil {
		return true
	}
	if st := be.cfg.Stats; st != nil && st.Enabled && tx.serveStats(be.cfg) {
		return true
	}
	return false
}

// phase runs a proxy's http-request rules then its redirect rules.
func (tx *httpTxn) phase(px *config.Proxy) bool {
	switch tx.applyRules(px, px.HTTPRequest) {
	case ruleLocal:
		return true
	}
	return tx.applyRules(px, px.Redirects) == ruleLocal
}

// monitorPage is HAProxy's monitor-uri answer.
var monitorPage = []byte("HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n" +
	"<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n")

func (fe *frontend) errorPageOr(status int, def []byte) []byte {
	if p, ok := fe.cfg.ErrorPages[status]; ok {
		return p
	}
	return def
}

// answerLocal sends tx.local. The connection stays open when the
// request had no body left to read and the client wants keep-alive. A
// HEAD request gets the head only (Content-Length kept, as HAProxy).
func (tx *httpTxn) answerLocal() (bool, bool) {
	if tx.drop != 0 {
		if tx.drop == config.ActSilentDrop {
			silentClose(tx.client)
		}
		return false, false
	}
	tx.afterLocal()
	keep := tx.reqKeep && tx.body == httpx.BodyNone && tx.fe.cfg.HTTPConnMode != config.HTTPClose &&
		!httpx.ClosesConnection(tx.status) && !closeDelimited(tx.local)
	out := tx.local
	if tx.headReq {
		out = httpx.HeadOnly(out)
	}
	switch {
	case !keep:
		out = withConnHeader(out, tx.pbuf[:0], "close")
	case tx.minor == 0:
		out = withConnHeader(out, tx.pbuf[:0], "keep-alive") // an HTTP/1.0 client must be told
	}
	if _, err := tx.client.Write(out); err != nil {
		return false, false
	}
	return keep, true
}

// withConnHeader adds "connection: <value>" to a response head that has
// no Connection header, as HAProxy does for its local answers.
func withConnHeader(resp, buf []byte, value string) []byte {
	end := bytes.Index(resp, []byte("\r\n\r\n"))
	if end < 0 || bytes.HasPrefix(resp, []byte("HTTP/1.0 ")) {
		return resp // an HTTP/1.0 answer closes without saying so
	}
	for rest := resp[:end]; len(rest) > 0; {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			break
		}
		rest = rest[i+2:]
		if len(rest) > 11 && bytes.EqualFold(rest[:11], []byte("connection:")) {
			return resp
		}
	}
	buf = append(buf, resp[:end+2]...)
	buf = append(buf, "connection: "...)
	buf = append(buf, value...)
	buf = append(buf, "\r\n"...)
	return append(buf, resp[end+2:]...)
}

// capture records the configured request or response headers for logs.
func (tx *httpTxn) capture(cs []config.Capture, response bool) {
	for _, c := range cs {
		if c.Response != response {
			continue
		}
		var vals []string
		if response {
			vals = tx.view.ResHeader(c.Header)
		} else {
			vals = tx.view.Header(c.Header)
		}
		val := ""
		if len(vals) > 0 {
			val = vals[len(vals)-1]
			if c.Len > 0 && len(val) > c.Len {
				val = val[:c.Len]
			}
		}
		if response {
			tx.captRes = append(tx.captRes, val)
		} else {
			tx.captReq = append(tx.captReq, val)
		}
	}
}

// forwardedFor adds X-Forwarded-For / X-Original-To unless the address
// is in the `except` network or `if-none` finds the header present.
func (tx *httpTxn) forwardedFor(ff *config.ForwardFor, ip netip.Addr, def string) {
	if ff.ExceptNet.IsValid() && ff.ExceptNet.Contains(ip) {
		return
	}
	name := ff.Header
	if name == "" {
		name = def
	}
	if ff.IfNone && len(tx.view.Header(name)) > 0 {
		return
	}
	tx.view.hdr = append(tx.view.hdr, hdr{name, ip.String()})
}

// forward sends the request to a server of tx.be and relays the answer.
func (tx *httpTxn) forward(ctx context.Context) (keep bool, ok bool) {
	fe, be, v := tx.fe, tx.be, &tx.view
	client, br := tx.client, tx.br
	tunnel := tx.upgrade || tx.body == httpx.BodyTunnel
	// The server connection is kept after the response unless a side
	// runs http-server-close or httpclose; http-reuse decides who may use
	// it next.
	srvKeep := fe.cfg.HTTPConnMode == config.HTTPKeepAlive && be.cfg.HTTPConnMode == config.HTTPKeepAlive && !tunnel
	tx.persisted = tx.cookieServer(be)
	tx.ci.direct = tx.persisted != nil
	key := tx.httpKey(be)
	var (
		srv    *server
		scn    *serverConn
		reused bool
		held   *server
	)
	// option abortonclose: a client that closes while its request waits
	// for a server slot or a connection is dropped (CQ, CC), not served.
	cctx, watch := ctx, (*closeWatch)(nil)
	if be.cfg.Options.AbortOnClose {
		var cancel context.CancelFunc
		cctx, cancel = context.WithCancel(ctx)
		defer cancel()
		watch = watchClose(client, cancel)
	}
	if tx.persisted != nil {
		if be.acquireServer(tx.persisted) {
			held = tx.persisted
		}
	} else if last := tx.lastSrv; last != nil && last.be == be && be.cfg.Options.PreferLastServer && be.acquireServer(last) {
		held = last // option prefer-last-server
	}
	if srvKeep {
		s := held
		if s == nil {
			got, err := be.acquire(cctx, key, nil, &tx.ci)
			if err != nil {
				if watch.stop() {
					return tx.clientAborted()
				}
				// No slot (queue timeout or full, no usable server): the
				// same answer as a failed connect, without queueing again.
				tx.ci.err = err
				return tx.noServer()
			}
			s = got
		}
		if s != nil {
			if c := tx.reusable(s, be.cfg.HTTPReuse, s.sni(&tx.acl)); c != nil {
				srv, scn, reused, held = s, c, true, nil
			} else {
				held = s
			}
		}
	}
	var (
		kill    *connKill // on-marked-down & co end the exchange through it
		tracked bool
	)
	// releaseServer gives the server connection back (for reuse when
	// keep) or closes it, and frees the server slot; it runs once, as
	// soon as the response has been read whole or when forward returns.
	// A connection killed by a server state change, or that began with a
	// client's PROXY protocol header (it serves that client only), is
	// never kept.
	releaseServer := func(keep bool) {
		if tracked {
			kill.untrack()
			tracked = false
		}
		if scn == nil {
			return
		}
		switch {
		case !keep || kill.killed() != 0 || srv.cfg.SendProxy || srv.cfg.SendProxyV2:
			scn.close()
		case be.cfg.HTTPReuse == "never":
			tx.keepOwn(scn)
		default:
			srv.putIdle(scn)
		}
		be.release(srv)
		scn = nil
	}
	defer func() { releaseServer(false) }()
	defer tx.stream.release()
	tx.selectCompression()
	head := tx.requestHead(srvKeep, tunnel)
	hlen := len(head)
	// A small body already read goes out with the head, in one write; it
	// stays buffered until the response comes, so that the request can
	// be sent again if a reused connection turns out closed.
	small := tx.body == httpx.BodyLength && tx.cl <= smallBody && int64(br.Buffered()) >= tx.cl && !tx.expect
	// kept: the whole request can be sent again (retry-on, and a reused
	// connection found closed).
	kept := (tx.body == httpx.BodyNone && !tx.expect) || small
	retryOn := be.cfg.RetryOn
	if tx.noL7Retry {
		retryOn &= config.RetryConnFailure // http-request disable-l7-retry
	}
	retryable := idempotent(v.method) && kept && retryOn&config.RetryConnFailure != 0
	res := &tx.res
	var rn int
	sentBody := false
	for attempt := 0; ; attempt++ {
		if scn == nil {
			s, raw := be.connect(cctx, key, client.LocalAddr(), held, &tx.ci, &tx.acl)
			held = nil
			if watch.stop() {
				if raw != nil {
					raw.Close()
					be.release(s)
				}
				return tx.clientAborted()
			}
			watch = nil
			if raw == nil {
				return tx.noServer()
			}
			tx.rec.ServerIP, tx.rec.Source = addrPort(raw.RemoteAddr()), addrPort(raw.LocalAddr())
			c := &idleConn{Conn: raw, to: be.cfg.Timeouts.Server}
			srv, scn = s, &serverConn{c: c, br: fe.rt.readers.get(c), srv: s, sni: s.sni(&tx.acl)}
		}
		if tracked {
			kill.untrack()
		}
		kill, tracked = srv.trackConn(scn.c), true
		tx.stream.use(be, srv, scn.c.Conn)
		var err error
		sentBody = false
		if small {
			b, _ := br.Peek(int(tx.cl))
			out := append(head[:hlen], b...)
			head, tx.qbuf = out[:hlen], out[:0]
			_, err = scn.c.Write(out)
			sentBody = err == nil
		} else {
			_, err = scn.c.Write(head)
			if err == nil && !tx.expect {
				if err = tx.sendBody(scn.c); err != nil {
					return false, false
				}
				sentBody = true
			}
		}
		tx.tSent = time.Now()
		if err == nil {
			rn, err = readResponse(scn.br, v.method, res, tx.lim)
		}
		if err != nil && reused && attempt == 0 && retryable && !errors.Is(err, os.ErrDeadlineExceeded) && kill.killed() == 0 {
			// The server closed the idle connection meanwhile: the request
			// is idempotent and whole, send it again on a new connection.
			scn.close()
			be.release(srv)
			scn, reused = nil, false
			continue
		}
		interim := false
		for err == nil && res.Status >= 100 && res.Status < 200 && res.Status != 101 {
			// Interim responses are forwarded as they are; a 100 Continue
			// releases the body the client holds back.
			h, _ := scn.br.Peek(rn)
			client.Write(h)
			scn.br.Discard(rn)
			interim = true
			if res.Status == 100 && !sentBody {
				if err = tx.sendBody(scn.c); err != nil {
					return false, false
				}
				sentBody = true
			}
			rn, err = readResponse(scn.br, v.method, res, tx.lim)
		}
		if kept && !interim && tx.ci.retries < be.cfg.Retries && kill.killed() == 0 && retryOn&config.RetryL7 != 0 &&
			l7Retry(retryOn, err, res.Status, scn.br.Buffered()) {
			// retry-on: this failure, or this status, sends the request
			// again, counted in retries, to the same server unless option
			// redispatch sends it to another.
			if err != nil {
				srv.observe(httpErrObservation(err))
			} else {
				srv.observeStatus(res.Status)
			}
			s := srv
			scn.close()
			be.release(s)
			scn, reused, held = nil, false, nil
			tx.ci.retries++
			s.stats.retries.Add(1)
			be.stats.retries.Add(1)
			switch {
			case be.redispatchNow(tx.ci.retries, tx.persisted != nil):
				tx.ci.avoid, tx.ci.redispatched = s, true
				be.stats.redispatches.Add(1)
			case be.acquireServer(s):
				held = s
			}
			continue
		}
		if small && sentBody {
			br.Discard(int(tx.cl))
		}
		if err != nil {
			status := 502
			var he *httpx.Error
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				status, tx.term = 504, 's'
			case errors.As(err, &he) && !errors.Is(err, io.EOF) && he.Reason != "empty response":
				tx.term = 'P' // the server sent something unparsable
			default:
				tx.term = 'S'
			}
			if t := kill.killed(); t != 0 {
				status, tx.term = 502, t // a server state change ended it
			} else {
				srv.observe(httpErrObservation(err))
			}
			tx.state = 'H'
			be.stats.errResp.Add(1)
			srv.stats.errResp.Add(1)
			tx.srv = srv
			tx.setLocal(status, tx.errorPage(be.cfg, status), tx.term)
			tx.reqKeep = tx.reqKeep && sentBody
			return tx.answerLocal()
		}
		break
	}
	srv.observeStatus(res.Status)
	scn.uses++
	tx.srv, tx.lastSrv = srv, srv
	srv.stats.open()
	defer srv.stats.close()
	tx.tResp = time.Now()
	if reused {
		srv.stats.reuse.Add(1)
	}
	sr := scn.br
	rawRes, _ := scn.br.Peek(rn)
	ht := newHeadText(rawRes)
	v.status, v.reason = res.Status, ht.str(res.Reason)
	v.rhdr = v.rhdr[:0]
	for _, h := range res.Headers {
		v.rhdr = append(v.rhdr, hdr{ht.str(h.Name), ht.str(h.Value)})
	}
	rbody, rcl := res.Body, res.ContentLength
	resKeep := res.KeepAlive
	sr.Discard(rn)
	// As HAProxy, compression is decided on the server's headers, before
	// the http-response rules; its header changes come after them.
	tx.compOn = tx.compressResponse(res)
	tx.capture(fe.cfg.Captures, true)
	// http-response rules: the backend's, then the frontend's.
	pxs := []*config.Proxy{be.cfg}
	if fe.cfg != be.cfg {
		pxs = append(pxs, fe.cfg)
	}
	for _, px := range pxs {
		if tx.applyRules(px, px.HTTPResponse) == ruleLocal {
			// The server's response is dropped with its connection.
			tx.reqKeep = false
			tx.state = 'H'
			tx.pxStats(px).deniedResp.Add(1)
			return tx.answerLocal()
		}
	}
	tx.persistResponse(be, srv)
	tx.afterResponse()
	// Compression's header changes come last: the http-response and
	// http-after-response rules see the server's headers, as in HAProxy.
	if tx.compOn {
		tx.compressHeaders(res)
	}
	switching := res.Status == 101 && tx.upgrade || v.method == "CONNECT" && res.Status >= 200 && res.Status < 300
	keep = tx.reqKeep && rbody != httpx.BodyClose && fe.cfg.HTTPConnMode != config.HTTPClose && sentBody
	if switching {
		keep = false
	}
	tx.status = v.status
	out := tx.responseHead(res, keep, switching)
	if v.status != res.Status && (v.status == 204 || v.status == 304) && rbody != httpx.BodyNone {
		// http-response set-status made it a response without a body:
		// the server's body is read and dropped (a close-delimited one
		// goes with its connection), the client gets the head only.
		if _, err := client.Write(out); err != nil {
			return false, false
		}
		switch rbody {
		case httpx.BodyLength:
			_, err := io.CopyBuffer(io.Discard, io.LimitReader(sr, rcl), tx.copyBuffer())
			resKeep = resKeep && err == nil
		case httpx.BodyChunked:
			resKeep = resKeep && tx.copyChunked(io.Discard, sr) == nil
		default:
			resKeep = false
		}
		releaseServer(srvKeep && resKeep && sentBody)
		return keep, true
	}
	if rbody == httpx.BodyLength && rcl <= smallBody && int64(sr.Buffered()) >= rcl && !tx.compOn {
		// A small body already read goes out with the head: one write.
		b, _ := sr.Peek(int(rcl))
		out = append(out, b...)
		if p := tx.cache.pend; p != nil {
			p.Write(b)
		}
		tx.pbuf = out[:0]
		sr.Discard(int(rcl))
		rbody = httpx.BodyNone
	}
	reusable := srvKeep && resKeep && sentBody
	if rbody == httpx.BodyNone && !switching {
		// Read whole: the server connection is free before the client
		// gets the answer (so its next request finds it idle).
		releaseServer(reusable)
	}
	if _, err := client.Write(out); err != nil {
		return false, false
	}
	if switching {
		tx.tunnel(scn)
		return false, true
	}
	if tx.compOn {
		var src io.Reader = &exactReader{r: sr, left: rcl}
		var trailers func() []byte
		if rbody == httpx.BodyChunked {
			cr := &tx.chunks
			cr.Reset(sr, tx.lim)
			src, trailers = cr, cr.Trailers
		}
		if p := tx.cache.pend; p != nil {
			src = io.TeeReader(src, p) // cache-store keeps the server's body
		}
		if err := tx.compressed(src, sr, trailers, be); err != nil {
			return false, false
		}
		releaseServer(reusable)
		tx.cacheCommit()
		return keep, true
	}
	var body io.Writer = client
	if p := tx.cache.pend; p != nil {
		body = io.MultiWriter(client, p) // cache-store collects the body
	}
	switch rbody {
	case httpx.BodyLength:
		if _, err := io.CopyBuffer(body, io.LimitReader(sr, rcl), tx.copyBuffer()); err != nil {
			return false, false
		}
	case httpx.BodyChunked:
		if err := tx.copyChunked(client, sr); err != nil {
			return false, false
		}
	case httpx.BodyClose:
		if _, err := io.CopyBuffer(body, sr, tx.copyBuffer()); err == nil {
			tx.cacheCommit()
		}
		return false, true
	}
	releaseServer(reusable)
	tx.cacheCommit()
	return keep, true
}

// l7Retry reports whether retry-on names the outcome of an attempt: the
// response's status, or the error reading it with received bytes of it
// buffered (none: empty-response; some, or an unparsable head:
// junk-response).
func l7Retry(on config.RetryOn, err error, status, received int) bool {
	switch {
	case err == nil:
		return on.Status(status)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return on&config.RetryResponseTimeout != 0
	case received == 0:
		return on&config.RetryEmptyResponse != 0
	}
	return on&config.RetryJunkResponse != 0
}

// idempotent reports whether a request with this method may be sent
// again after a failure (RFC 9110 9.2.2).
func idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// reusable returns an existing connection to s this request may use
// under the backend's http-reuse mode, or nil:
//   - never: only the session's own previous connection (kept private);
//   - safe (default): none for the session's first request, then any
//     idle one;
//   - aggressive: for a first request only connections that already
//     served more than one request (proven to support reuse);
//   - always: any idle connection.
func (tx *httpTxn) reusable(s *server, mode, sni string) *serverConn {
	switch mode {
	case "never":
		return tx.takeOwn(s, sni)
	case "always":
		return s.getIdle(sni, false)
	case "aggressive":
		return s.getIdle(sni, !tx.notFirst)
	default:
		if !tx.notFirst {
			return nil
		}
		return s.getIdle(sni, false)
	}
}

// maxOwnConns bounds the private server connections a session keeps
// with http-reuse never (HAProxy's max-session-srv-conns default).
const maxOwnConns = 5

// takeOwn removes and returns the session's private connection to s
// when it is still usable.
func (tx *httpTxn) takeOwn(s *server, sni string) *serverConn {
	for i, c := range tx.own {
		if c.srv != s || c.sni != sni {
			continue
		}
		tx.own = append(tx.own[:i], tx.own[i+1:]...)
		if c.alive() {
			return c
		}
		c.close()
		return nil
	}
	return nil
}

// keepOwn keeps c for the session's next requests (http-reuse never).
func (tx *httpTxn) keepOwn(c *serverConn) {
	if len(tx.own) >= maxOwnConns {
		tx.own[0].close()
		tx.own = append(tx.own[:0], tx.own[1:]...)
	}
	tx.own = append(tx.own, c)
}

// closeOwn closes the session's private connections when it ends.
func (tx *httpTxn) closeOwn() {
	for _, c := range tx.own {
		c.close()
	}
	tx.own = nil
}

// copyBuffer is the connection's body copy buffer, taken from the pool
// on first use.
func (tx *httpTxn) copyBuffer() []byte {
	if tx.cbuf == nil {
		tx.cbufp = tx.fe.rt.copyBufs.get()
		tx.cbuf = *tx.cbufp
	}
	return tx.cbuf
}

// putCopyBuffer gives the body copy buffer back when the connection ends.
func (tx *httpTxn) putCopyBuffer() {
	if tx.cbufp != nil {
		tx.fe.rt.copyBufs.put(tx.cbufp)
		tx.cbuf, tx.cbufp = nil, nil
	}
}

// copyChunked relays a chunked body from r to w, re-encoding the chunks
// and forwarding the trailer fields (within the head limits).
func (tx *httpTxn) copyChunked(w io.Writer, r *bufio.Reader) error {
	cr := &tx.chunks
	cr.Reset(r, tx.lim)
	cw := httpx.ChunkedWriter{W: w}
	var src io.Reader = cr
	if p := tx.cache.pend; p != nil && w != io.Discard {
		src = io.TeeReader(cr, p) // cache-store collects the decoded body
	}
	if _, err := io.CopyBuffer(cw, src, tx.copyBuffer()); err != nil {
		return err
	}
	var err error
	tx.tbuf, err = cw.CloseTrailers(cr.Trailers(), tx.tbuf)
	return err
}

// smallBody is the largest body sent in the same write as its head.
const smallBody = 8192

// requestHead renders the request head sent to the server. Like
// HAProxy, halo writes its own Connection header and forwards the other
// hop-by-hop headers (Keep-Alive, TE, Trailer, Proxy-Connection);
// Upgrade goes only with an upgrade. An HTTP/1.0 request keeps its
// version, with "connection: keep-alive" when the server connection is
// to stay open; other versions are sent as HTTP/1.1.
func (tx *httpTxn) requestHead(srvKeep, tunnel bool) []byte {
	v := &tx.view
	b := tx.qbuf[:0]
	defer func() { tx.qbuf = b }()
	b = append(b, v.method...)
	b = append(b, ' ')
	b = append(b, v.target...)
	if tx.minor == 0 {
		b = append(b, " HTTP/1.0\r\n"...)
	} else {
		b = append(b, " HTTP/1.1\r\n"...)
	}
	chunked := tx.body == httpx.BodyChunked
	for _, h := range v.hdr {
		switch {
		case chunked && isName(h.name, "transfer-encoding"):
			// Normalised where it was received (HAProxy keeps the place).
			b = append(b, "transfer-encoding: chunked\r\n"...)
			chunked = false
			continue
		case isName(h.name, "connection") || isName(h.name, "transfer-encoding") ||
			(!tx.upgrade && isName(h.name, "upgrade")) ||
			(tx.body == httpx.BodyChunked && isName(h.name, "content-length")):
			continue
		}
		b = appendHeader(b, h.name, h.value)
	}
	if chunked {
		b = append(b, "transfer-encoding: chunked\r\n"...)
	}
	switch {
	case tx.upgrade:
		b = append(b, "connection: upgrade\r\n"...)
	case tunnel:
	case !srvKeep && tx.minor > 0:
		b = append(b, "connection: close\r\n"...)
	case srvKeep && tx.minor == 0:
		b = append(b, "connection: keep-alive\r\n"...)
	}
	return append(b, "\r\n"...)
}

// isName compares a header name with a lower-case name, ignoring case.
func isName(name, lower string) bool {
	return len(name) == len(lower) && strings.EqualFold(name, lower)
}

// responseHead renders the response head sent to the client: the
// server's headers but Connection and Transfer-Encoding, which halo
// writes (chunked is kept for HEAD and 304 answers too, as HAProxy).
// An HTTP/1.0 peer on either side is told "connection: keep-alive" when
// the client connection stays open.
func (tx *httpTxn) responseHead(res *httpx.Response, keep, switching bool) []byte {
	v := &tx.view
	b := tx.pbuf[:0]
	defer func() { tx.pbuf = b }()
	b = append(b, "HTTP/1."...)
	b = strconv.AppendInt(b, int64(res.Minor), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(v.status), 10)
	b = append(b, ' ')
	b = append(b, v.reason...)
	b = append(b, "\r\n"...)
	chunked := (res.Chunked || tx.compOn) && !switching
	// A status turned into 204 by http-response rules loses its framing
	// headers, as HAProxy sends it (a 304 keeps them, without a body).
	no204 := v.status == 204 && res.Status != 204
	if no204 {
		chunked = false
	}
	for _, h := range v.rhdr {
		switch {
		case no204 && (isName(h.name, "content-length") || isName(h.name, "transfer-encoding")):
			continue
		case chunked && isName(h.name, "transfer-encoding"):
			b = append(b, "transfer-encoding: chunked\r\n"...)
			chunked = false
			continue
		case isName(h.name, "connection") || isName(h.name, "transfer-encoding") ||
			(res.Chunked && isName(h.name, "content-length")):
			continue
		}
		b = appendHeader(b, h.name, h.value)
	}
	if chunked {
		b = append(b, "transfer-encoding: chunked\r\n"...)
	}
	switch {
	case switching && tx.upgrade:
		b = append(b, "connection: upgrade\r\n"...)
	case switching:
	case !keep:
		b = append(b, "connection: close\r\n"...)
	case tx.minor == 0 || res.Minor == 0:
		b = append(b, "connection: keep-alive\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendHeader writes a header line with the name in lower case, as
// HAProxy emits them.
func appendHeader(b []byte, name, value string) []byte {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// tunnel relays raw bytes both ways after a protocol switch (WebSocket
// upgrade, CONNECT), with `timeout tunnel` as the idle timeout.
func (tx *httpTxn) tunnel(scn *serverConn) {
	client, srv := tx.client, scn.c
	// Bytes already read past the heads belong to the new protocol.
	if n := tx.br.Buffered(); n > 0 {
		b, _ := tx.br.Peek(n)
		if _, err := srv.Conn.Write(b); err != nil {
			return
		}
		tx.br.Discard(n)
	}
	if n := scn.br.Buffered(); n > 0 {
		b, _ := scn.br.Peek(n)
		if _, err := client.Conn.Write(b); err != nil {
			return
		}
		scn.br.Discard(n)
	}
	client.setTimeout(0)
	client.setDeadline(time.Time{})
	srv.setTimeout(0)
	srv.setDeadline(time.Time{})
	tx.fe.rt.pipe(client.Conn, srv.Conn, tx.srv, tx.fe.cfg.Timeouts, tx.be.cfg.Timeouts)
}

// sendBody forwards the request body as its framing says; a chunked
// body that is malformed gets the client a 400.
func (tx *httpTxn) sendBody(conn net.Conn) error {
	switch tx.body {
	case httpx.BodyLength:
		_, err := io.CopyBuffer(conn, io.LimitReader(tx.br, tx.cl), tx.copyBuffer())
		return err
	case httpx.BodyChunked:
		if err := tx.copyChunked(conn, tx.br); err != nil {
			var he *httpx.Error
			if errors.As(err, &he) {
				tx.client.Write(httpx.ErrorResponse(he.Status))
			}
			return err
		}
	}
	return nil
}

// serverConn is a server connection with its read buffer, kept between
// requests when the server allows it (http-reuse).
type serverConn struct {
	c     *idleConn
	br    *bufio.Reader
	srv   *server
	uses  int    // responses received on it
	sni   string // the TLS server name it was opened with: reused only for the same
	probe *peekProbe
}

// maxIdlePerServer bounds the idle connections kept per server.
const maxIdlePerServer = 64

// getIdle returns a live idle connection to s opened with the TLS
// server name sni (as HAProxy, a connection is reused only for the same
// SNI), the most recently used first (among those that served more than
// one request when provenOnly), or nil.
func (s *server) getIdle(sni string, provenOnly bool) *serverConn {
	for {
		s.idleMu.Lock()
		i := len(s.idle) - 1
		for i >= 0 && (s.idle[i].sni != sni || provenOnly && s.idle[i].uses < 2) {
			i--
		}
		if i < 0 {
			s.idleMu.Unlock()
			return nil
		}
		c := s.idle[i]
		s.idle = append(s.idle[:i], s.idle[i+1:]...)
		s.idleMu.Unlock()
		if c.alive() {
			return c
		}
		c.close()
	}
}

// close closes a server connection its holder owns and gives its read
// buffer back to the pool.
func (c *serverConn) close() {
	c.c.Close()
	if c.srv != nil && c.br != nil {
		c.srv.be.rt.readers.put(c.br)
		c.br = nil
	}
}

// alive reports whether an idle connection has nothing to read: bytes or
// EOF mean the server closed it or misbehaved.
func (c *serverConn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.probe == nil {
		c.probe = newPeekProbe(c.c.Conn)
	}
	return c.probe.quiet()
}

// peekProbe tells whether anything, bytes or EOF, waits to be read on a
// socket, with one non-blocking recv(MSG_PEEK). (A read under an expired
// deadline would not do: Go answers it with a timeout before looking at
// the socket.) It is made once per connection so that probing does not
// allocate.
type peekProbe struct {
	rc  syscall.RawConn // nil when the connection is not a socket
	buf [1]byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func newPeekProbe(c net.Conn) *peekProbe {
	p := &peekProbe{}
	// Under TLS the socket is probed: any record, even a close_notify, is
	// a reason to drop the connection.
	p.rc, p.err = socketOf(c)
	p.fn = func(fd uintptr) bool {
		p.n, _, p.err = unix.Recvfrom(int(fd), p.buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return true
	}
	return p
}

// quiet reports whether nothing is waiting; connections that are not
// sockets count as quiet.
func (p *peekProbe) quiet() bool {
	if p.rc == nil {
		return p.err == nil
	}
	if err := p.rc.Read(p.fn); err != nil {
		return false
	}
	return p.n < 0 && errors.Is(p.err, unix.EAGAIN)
}

func (s *server) putIdle(c *serverConn) {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	if len(s.idle) >= maxIdlePerServer || s.state.Load() != stateUp {
		c.close()
		return
	}
	s.idle = append(s.idle, c)
}

// closeIdle closes the idle connections (at stop).
func (s *server) closeIdle() {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	for _, c := range s.idle {
		c.close()
	}
	s.idle = nil
}

// readResponse reads until a whole response head is buffered and parses
// it within lim (a larger head is a 502).
func readResponse(sr *bufio.Reader, method string, res *httpx.Response, lim httpx.Limits) (int, error) {
	for {
		buf, _ := sr.Peek(sr.Buffered())
		n, err := httpx.ParseResponse(buf, method, res, lim)
		if err != httpx.ErrIncomplete {
			return n, err
		}
		if _, err := sr.Peek(sr.Buffered() + 1); err != nil {
			if len(buf) == 0 && err == io.EOF {
				return 0, &httpx.Error{Status: 502, Reason: "empty response"}
			}
			return 0, err
		}
	}
}

// pick chooses the backend: use_backend rules, then default_backend.
func (fe *frontend) pick(txn *acl.Txn, rec *logging.Record) *backend {
	for _, ub := range fe.cfg.UseBackends {
		if !ub.Cond.Match(txn) {
			continue
		}
		if ub.Backend != nil {
			return fe.rt.backends[ub.Backend.Name]
		}
		if ub.NameFmt != nil {
			// A dynamic name that names no backend sends the request to
			// the default backend, as in HAProxy.
			if b := fe.rt.backends[ub.NameFmt.String(rec)]; b != nil {
				return b
			}
			break
		}
	}
	if d := fe.cfg.DefaultBackend; d != nil {
		if d.Backend != nil {
			return fe.rt.backends[d.Backend.Name]
		}
		if d.NameFmt != nil {
			if b := fe.rt.backends[d.NameFmt.String(rec)]; b != nil {
				return b
			}
		}
	}
	return fe.own
}

// idleConn applies an inactivity timeout to every read and write, for
// the HTTP path (which copies through buffers, so wrapping costs nothing).
//
// Re-arming a deadline costs a runtime timer update, so it is done at
// most every to/16: the deadline set is to + to/16 ahead, and the
// timeout fires between to and 17/16 of to after the last read (or
// write) began, never early.
type idleConn struct {
	net.Conn
	to     time.Duration
	out    int64     // bytes written
	in     int64     // bytes read
	rArmed time.Time // when the read deadline was last set from to (zero: not armed)
	wArmed time.Time
}

func (c *idleConn) Read(p []byte) (int, error) {
	if c.to > 0 {
		if now := time.Now(); c.rArmed.IsZero() || now.Sub(c.rArmed) > c.to>>4 {
			c.armRead(now)
		}
	}
	n, err := c.Conn.Read(p)
	c.in += int64(n)
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	if c.to > 0 {
		if now := time.Now(); c.wArmed.IsZero() || now.Sub(c.wArmed) > c.to>>4 {
			c.Conn.SetWriteDeadline(now.Add(c.to + c.to>>4))
			c.wArmed = now
		}
	}
	n, err := c.Conn.Write(p)
	c.out += int64(n)
	return n, err
}

// armRead sets the read deadline from the inactivity timeout.
func (c *idleConn) armRead(now time.Time) {
	c.Conn.SetReadDeadline(now.Add(c.to + c.to>>4))
	c.rArmed = now
}

// setTimeout changes the inactivity timeout; the next read and write
// arm it.
func (c *idleConn) setTimeout(to time.Duration) {
	if c.to != to {
		c.to = to
		c.rArmed, c.wArmed = time.Time{}, time.Time{}
	}
}

// setReadDeadline sets an absolute read deadline (zero clears it); the
// inactivity timeout, if any, is armed again by the next read.
func (c *idleConn) setReadDeadline(t time.Time) {
	c.Conn.SetReadDeadline(t)
	c.rArmed = time.Time{}
}

// setDeadline is setReadDeadline for both directions.
func (c *idleConn) setDeadline(t time.Time) {
	c.Conn.SetDeadline(t)
	c.rArmed, c.wArmed = time.Time{}, time.Time{}
}
