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
	"time"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/httpx"
	"github.com/halo-lb/halo/internal/logging"
)

// hopByHop are the headers a proxy must not forward (RFC 9110 7.6.1).
var hopByHop = []string{"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
	"upgrade", "proxy-authenticate"}

func isHopByHop(name string) bool {
	for _, h := range hopByHop {
		if len(h) == len(name) && strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// httpTxn is one request/response exchange on a client connection.
type httpTxn struct {
	fe     *frontend
	be     *backend
	client *idleConn
	br     *bufio.Reader
	view   httpView
	acl    acl.Txn

	body      httpx.BodyKind
	cl        int64
	reqKeep   bool
	expect    bool
	upgrade   bool
	persisted *server // server named by a valid persistence cookie
	lastSrv   *server // server of the connection's previous request
	srv       *server // server that answered

	cookieValid bool
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
	stream      *stream   // the connection as `show sess` sees it
}

// reset prepares tx, owned by one client connection, for its next request.
func (tx *httpTxn) reset() {
	tx.be, tx.persisted, tx.srv = nil, nil, nil
	tx.cookieIn, tx.cookieOut = 'N', 'N'
	tx.cookieValid, tx.local, tx.status, tx.term, tx.state = false, nil, 0, '-', '-'
	tx.captReq, tx.captRes = tx.captReq[:0], tx.captRes[:0]
	tx.view.status, tx.view.reason = 0, ""
	tx.view.hdr, tx.view.rhdr = tx.view.hdr[:0], tx.view.rhdr[:0]
	tx.acl.Backend = ""
	tx.ci = connInfo{}
	tx.tSent, tx.tResp = time.Time{}, time.Time{}
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
	lim := httpx.Limits{MaxHead: fe.rt.cfg.Global.TuneBufSize, MaxHeaders: fe.rt.cfg.Global.TuneMaxHdr}
	size := lim.MaxHead
	if size < 4096 {
		size = 16384
	}
	br := bufio.NewReaderSize(client, size)
	var req httpx.Request
	vars := map[string]string{} // sess.* variables live as long as the connection
	tx := &httpTxn{fe: fe, client: client, br: br, stream: streamOf(ctx)}
	tx.acl = acl.Txn{Src: addrPort(raw.RemoteAddr()), Dst: addrPort(raw.LocalAddr()), HTTP: &tx.view,
		Backends: fe.rt, Frontend: fe.cfg.Name, Vars: vars, Users: fe.rt}
	tx.rec = logging.Record{Accept: accepted, Client: tx.acl.Src, Frontend: tx.acl.Dst, FrontendName: fe.cfg.Name,
		HTTP: true, Pid: fe.rt.opts.Pid, Ctx: &tx.acl, HasCaptRq: hasCapture(fe.cfg, false), HasCaptRs: hasCapture(fe.cfg, true)}
	if tc, ok := raw.(tlsStater); ok && tc.ConnectionState().HandshakeComplete {
		tx.acl.SSL = tlsInfo(tc, &tx.rec)
	}
	first := true
	waitStart := accepted
	for ctx.Err() == nil {
		// Head: timeout http-request (else client); between keep-alive
		// requests timeout http-keep-alive.
		to := fe.cfg.Timeouts.HTTPRequest
		if !first && fe.cfg.Timeouts.HTTPKeepAlive > 0 {
			to = fe.cfg.Timeouts.HTTPKeepAlive
		}
		if to == 0 {
			to = fe.cfg.Timeouts.Client
		}
		client.to = to
		n, err := readHead(br, &req, lim)
		tx.reset()
		tx.tHead = time.Now()
		if err != nil {
			var he *httpx.Error
			switch {
			case errors.As(err, &he):
				client.Write(fe.errorPage(he.Status))
				tx.badRequest(he.Status, 'P', waitStart, first)
			case errors.Is(err, os.ErrDeadlineExceeded) && br.Buffered() > 0:
				client.Write(fe.errorPage(408))
				tx.badRequest(408, 'c', waitStart, first)
			case first && br.Buffered() == 0 && !fe.cfg.Options.DontLogNull:
				// A connection closed or timed out before any byte: HAProxy
				// logs it as an aborted bad request unless dontlognull.
				state := byte('C')
				if errors.Is(err, os.ErrDeadlineExceeded) {
					state = 'c'
				}
				tx.badRequest(400, state, waitStart, first)
			}
			return
		}
		client.to = fe.cfg.Timeouts.Client
		tx.startRecord(&req, waitStart, first)
		first = false
		out0 := client.out
		in0 := client.in - int64(br.Buffered()) // where this request starts in the client's stream
		keep, ok := tx.run(ctx, &req, n)
		tx.finishRecord(client.in-int64(br.Buffered())-in0, client.out-out0)
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
func readHead(br *bufio.Reader, req *httpx.Request, lim httpx.Limits) (int, error) {
	for {
		buf, _ := br.Peek(br.Buffered())
		n, err := httpx.ParseRequest(buf, req, lim)
		if err != httpx.ErrIncomplete {
			return n, err
		}
		if br.Buffered() >= br.Size() {
			return 0, &httpx.Error{Status: 431, Reason: "request head larger than the buffer"}
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return 0, err
		}
	}
}

// run serves one request whose head (n bytes) is buffered. It reports
// whether the client connection may carry another request (keep) and
// whether the connection is still sane (ok).
func (tx *httpTxn) run(ctx context.Context, req *httpx.Request, n int) (keep bool, ok bool) {
	fe := tx.fe
	v := &tx.view
	v.method, v.target, v.version = string(req.Method), string(req.Target), req.Version()
	if _, ok := tx.client.Conn.(*h2pipe); ok {
		v.version = "HTTP/2.0" // what fetches (req.ver) and logs see; servers get HTTP/1.1
	}
	v.hdr = v.hdr[:0]
	for _, h := range req.Headers {
		v.hdr = append(v.hdr, hdr{string(h.Name), string(h.Value)})
	}
	tx.body, tx.cl, tx.reqKeep, tx.expect, tx.upgrade = req.Body, req.ContentLength, req.KeepAlive, req.ExpectCont, req.Upgrade
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
	if tx.phase(fe.cfg) {
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
	if be.cfg != fe.cfg && tx.phase(be.cfg) {
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
// request had no body left to read and the client wants keep-alive.
func (tx *httpTxn) answerLocal() (bool, bool) {
	keep := tx.reqKeep && tx.body == httpx.BodyNone && tx.fe.cfg.HTTPConnMode != config.HTTPClose &&
		!httpx.ClosesConnection(tx.status)
	out := tx.local
	if !keep {
		out = withConnClose(out, tx.pbuf[:0])
	}
	if _, err := tx.client.Write(out); err != nil {
		return false, false
	}
	return keep, true
}

// withConnClose adds "connection: close" to a response head that has no
// Connection header, as HAProxy does when it closes after a local answer.
func withConnClose(resp, buf []byte) []byte {
	end := bytes.Index(resp, []byte("\r\n\r\n"))
	if end < 0 {
		return resp
	}
	for _, line := range bytes.Split(resp[:end], []byte("\r\n"))[1:] {
		if len(line) > 11 && bytes.EqualFold(line[:11], []byte("connection:")) {
			return resp
		}
	}
	buf = append(buf, resp[:end+2]...)
	buf = append(buf, "connection: close\r\n"...)
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
	reuse := be.cfg.HTTPReuse != "never" && fe.cfg.HTTPConnMode == config.HTTPKeepAlive &&
		be.cfg.HTTPConnMode == config.HTTPKeepAlive && !tunnel
	tx.persisted = tx.cookieServer(be)
	key := tx.httpKey(be)
	var (
		srv    *server
		scn    *serverConn
		reused bool
		held   *server
	)
	if tx.persisted != nil {
		if be.acquireServer(tx.persisted) {
			held = tx.persisted
		}
	} else if last := tx.lastSrv; last != nil && last.be == be && be.cfg.Options.PreferLastServer && be.acquireServer(last) {
		held = last // option prefer-last-server
	}
	// Idle connections serve only safe requests without a body, which can
	// be sent again on a new connection if the server closed the idle one.
	if reuse && tx.body == httpx.BodyNone && (v.method == "GET" || v.method == "HEAD" || v.method == "OPTIONS") {
		s := held
		if s == nil {
			if got, err := be.acquire(ctx, key, nil); err == nil {
				s = got
			}
		}
		if s != nil {
			if c := s.getIdle(); c != nil {
				srv, scn, reused, held = s, c, true, nil
			} else {
				held = s
			}
		}
	}
	keepServer := false
	defer func() {
		if scn == nil {
			return
		}
		if keepServer {
			srv.putIdle(scn)
		} else {
			scn.c.Close()
		}
		be.release(srv)
	}()
	defer tx.stream.release()
	head := tx.requestHead(reuse, tunnel)
	res := &tx.res
	var rn int
	sentBody := false
	for attempt := 0; ; attempt++ {
		if scn == nil {
			s, raw := be.connect(ctx, key, client.LocalAddr(), held, &tx.ci, &tx.acl)
			held = nil
			if raw == nil {
				tx.setLocal(503, tx.errorPage(be.cfg, 503), 'S')
				tx.state = 'C'
				if errors.Is(tx.ci.err, errQueueTimeout) || errors.Is(tx.ci.err, errQueueFull) {
					tx.term, tx.state = 's', 'Q'
				}
				return tx.answerLocal()
			}
			tx.rec.ServerIP, tx.rec.Source = addrPort(raw.RemoteAddr()), addrPort(raw.LocalAddr())
			c := &idleConn{Conn: raw, to: be.cfg.Timeouts.Server}
			srv, scn = s, &serverConn{c: c, br: bufio.NewReaderSize(c, 16384)}
		}
		tx.stream.use(be, srv, scn.c.Conn)
		var err error
		if tx.body == httpx.BodyLength && tx.cl <= smallBody && int64(br.Buffered()) >= tx.cl && !tx.expect {
			// A small body already read goes out with the head: one write.
			b, _ := br.Peek(int(tx.cl))
			if _, err = scn.c.Write(append(head[:len(head):len(head)], b...)); err == nil {
				br.Discard(int(tx.cl))
				sentBody = true
			}
		} else {
			_, err = scn.c.Write(head)
			if err == nil && !tx.expect {
				if err = sendBody(client, scn.c, br, tx.body, tx.cl); err != nil {
					return false, false
				}
				sentBody = true
			}
		}
		tx.tSent = time.Now()
		if err == nil {
			rn, err = readResponse(scn.br, v.method, res)
		}
		if err != nil && reused && attempt == 0 && !errors.Is(err, os.ErrDeadlineExceeded) {
			// The server closed the idle connection meanwhile: the request
			// had no body, send it again on a new connection.
			scn.c.Close()
			be.release(srv)
			scn, reused = nil, false
			continue
		}
		for err == nil && res.Status >= 100 && res.Status < 200 && res.Status != 101 {
			// Interim responses are forwarded as they are; a 100 Continue
			// releases the body the client holds back.
			h, _ := scn.br.Peek(rn)
			client.Write(h)
			scn.br.Discard(rn)
			if res.Status == 100 && !sentBody {
				if err = sendBody(client, scn.c, br, tx.body, tx.cl); err != nil {
					return false, false
				}
				sentBody = true
			}
			rn, err = readResponse(scn.br, v.method, res)
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
	tx.srv, tx.lastSrv = srv, srv
	srv.stats.open()
	defer srv.stats.close()
	tx.tResp = time.Now()
	if reused {
		srv.stats.reuse.Add(1)
	}
	sr := scn.br
	v.status, v.reason = res.Status, string(res.Reason)
	v.rhdr = v.rhdr[:0]
	for _, h := range res.Headers {
		v.rhdr = append(v.rhdr, hdr{string(h.Name), string(h.Value)})
	}
	rbody, rcl := res.Body, res.ContentLength
	resKeep := res.KeepAlive
	sr.Discard(rn)
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
	switching := res.Status == 101 && tx.upgrade || v.method == "CONNECT" && res.Status >= 200 && res.Status < 300
	keep = tx.reqKeep && rbody != httpx.BodyClose && fe.cfg.HTTPConnMode != config.HTTPClose && sentBody
	if switching {
		keep = false
	}
	tx.status = v.status
	out := tx.responseHead(res, keep, switching)
	if rbody == httpx.BodyLength && rcl <= smallBody && int64(sr.Buffered()) >= rcl {
		// A small body already read goes out with the head: one write.
		b, _ := sr.Peek(int(rcl))
		out = append(out, b...)
		sr.Discard(int(rcl))
		rbody = httpx.BodyNone
	}
	if _, err := client.Write(out); err != nil {
		return false, false
	}
	if switching {
		tx.tunnel(scn)
		scn.c.Close()
		scn = nil
		be.release(srv)
		return false, true
	}
	switch rbody {
	case httpx.BodyLength:
		if _, err := io.CopyN(client, sr, rcl); err != nil {
			return false, false
		}
	case httpx.BodyChunked:
		cw := httpx.ChunkedWriter{W: client}
		if _, err := io.Copy(cw, httpx.NewChunkedReader(sr)); err != nil {
			return false, false
		}
		cw.Close()
	case httpx.BodyClose:
		io.Copy(client, sr)
		return false, true
	}
	keepServer = reuse && resKeep && sentBody && (rbody == httpx.BodyLength || rbody == httpx.BodyChunked || rbody == httpx.BodyNone)
	return keep, true
}

// smallBody is the largest body sent in the same write as its head.
const smallBody = 8192

// requestHead renders the request head sent to the server.
func (tx *httpTxn) requestHead(reuse, tunnel bool) []byte {
	v := &tx.view
	b := tx.qbuf[:0]
	defer func() { tx.qbuf = b }()
	b = append(b, v.method...)
	b = append(b, ' ')
	b = append(b, v.target...)
	b = append(b, ' ')
	if v.version == "HTTP/2.0" {
		b = append(b, "HTTP/1.1"...)
	} else {
		b = append(b, v.version...)
	}
	b = append(b, "\r\n"...)
	for _, h := range v.hdr {
		if hop := isHopByHop(h.name); (hop && !(tx.upgrade && strings.EqualFold(h.name, "upgrade"))) ||
			(tx.body == httpx.BodyChunked && strings.EqualFold(h.name, "content-length")) {
			continue
		}
		b = appendHeader(b, h.name, h.value)
	}
	switch {
	case tx.body == httpx.BodyChunked:
		b = append(b, "transfer-encoding: chunked\r\n"...)
	}
	switch {
	case tx.upgrade:
		b = append(b, "connection: upgrade\r\n"...)
	case !reuse && !tunnel:
		b = append(b, "connection: close\r\n"...)
	}
	return append(b, "\r\n"...)
}

// responseHead renders the response head sent to the client.
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
	for _, h := range v.rhdr {
		if isHopByHop(h.name) && !(switching && strings.EqualFold(h.name, "upgrade")) {
			continue
		}
		b = appendHeader(b, h.name, h.value)
	}
	switch {
	case res.Body == httpx.BodyChunked:
		b = append(b, "transfer-encoding: chunked\r\n"...)
	}
	switch {
	case switching && tx.upgrade:
		b = append(b, "connection: upgrade\r\n"...)
	case !keep && !switching:
		b = append(b, "connection: close\r\n"...)
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
	client.Conn.SetDeadline(time.Time{})
	srv.Conn.SetDeadline(time.Time{})
	tx.fe.rt.pipe(client.Conn, srv.Conn, tx.srv, tx.fe.cfg.Timeouts, tx.be.cfg.Timeouts)
}

// sendBody forwards the request body as its framing says.
func sendBody(client net.Conn, conn net.Conn, br *bufio.Reader, body httpx.BodyKind, cl int64) error {
	switch body {
	case httpx.BodyLength:
		_, err := io.CopyN(conn, br, cl)
		return err
	case httpx.BodyChunked:
		cw := httpx.ChunkedWriter{W: conn}
		if _, err := io.Copy(cw, httpx.NewChunkedReader(br)); err != nil {
			var he *httpx.Error
			if errors.As(err, &he) {
				client.Write(httpx.ErrorResponse(he.Status))
			}
			return err
		}
		return cw.Close()
	}
	return nil
}

// serverConn is a server connection with its read buffer, kept between
// requests when the server allows it (http-reuse).
type serverConn struct {
	c  *idleConn
	br *bufio.Reader
}

// maxIdlePerServer bounds the idle connections kept per server.
const maxIdlePerServer = 64

// getIdle returns a live idle connection to s, or nil.
func (s *server) getIdle() *serverConn {
	for {
		s.idleMu.Lock()
		n := len(s.idle)
		if n == 0 {
			s.idleMu.Unlock()
			return nil
		}
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.idleMu.Unlock()
		// An idle connection must have nothing to read: bytes or EOF mean
		// the server closed it or misbehaved.
		to := c.c.to
		c.c.to = 0 // the probe's deadline must not be extended by Read
		c.c.Conn.SetReadDeadline(time.Now())
		_, err := c.br.Peek(1)
		c.c.Conn.SetReadDeadline(time.Time{})
		c.c.to = to
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return c
		}
		c.c.Close()
	}
}

func (s *server) putIdle(c *serverConn) {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	if len(s.idle) >= maxIdlePerServer || s.state.Load() != stateUp {
		c.c.Close()
		return
	}
	s.idle = append(s.idle, c)
}

// closeIdle closes the idle connections (at stop).
func (s *server) closeIdle() {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	for _, c := range s.idle {
		c.c.Close()
	}
	s.idle = nil
}

func readResponse(sr *bufio.Reader, method string, res *httpx.Response) (int, error) {
	for {
		buf, _ := sr.Peek(sr.Buffered())
		n, err := httpx.ParseResponse(buf, method, res, httpx.Limits{})
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
type idleConn struct {
	net.Conn
	to  time.Duration
	out int64 // bytes written
	in  int64 // bytes read
}

func (c *idleConn) Read(p []byte) (int, error) {
	if c.to > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.to))
	}
	n, err := c.Conn.Read(p)
	c.in += int64(n)
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	if c.to > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.to))
	}
	n, err := c.Conn.Write(p)
	c.out += int64(n)
	return n, err
}
