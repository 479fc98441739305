package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/httpx"
)

// httpView adapts a parsed request (and later its response) to the ACL
// engine's HTTPMessage.
type httpView struct {
	req *httpx.Request
	res *httpx.Response
	hdr []hdr // the request headers as they will be forwarded
}

// hdr is a header being forwarded; rules edit this list.
type hdr struct{ name, value string }

func (v *httpView) Method() string  { return string(v.req.Method) }
func (v *httpView) URI() string     { return string(v.req.Target) }
func (v *httpView) Version() string { return v.req.Version() }
func (v *httpView) Header(name string) []string {
	var out []string
	for _, h := range v.hdr {
		if strings.EqualFold(h.name, name) {
			out = append(out, h.value)
		}
	}
	return out
}
func (v *httpView) ResStatus() int {
	if v.res == nil {
		return 0
	}
	return v.res.Status
}
func (v *httpView) ResHeader(name string) []string {
	if v.res == nil {
		return nil
	}
	var out []string
	for _, h := range v.res.Headers {
		if strings.EqualFold(string(h.Name), name) {
			out = append(out, string(h.Value))
		}
	}
	return out
}

// hopByHop are the headers a proxy must not forward (RFC 9110 7.6.1).
var hopByHop = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true, "proxy-authenticate": true}

// serveHTTP runs an HTTP/1.1 client connection: requests one after the
// other (keep-alive on the client side, a new server connection per
// request as with `option http-server-close`).
func (fe *frontend) serveHTTP(ctx context.Context, raw net.Conn) {
	defer raw.Close()
	client := &idleConn{Conn: raw}
	lim := httpx.Limits{MaxHead: fe.rt.cfg.Global.TuneBufSize, MaxHeaders: fe.rt.cfg.Global.TuneMaxHdr}
	size := lim.MaxHead
	if size < 4096 {
		size = 16384
	}
	br := bufio.NewReaderSize(client, size)
	var req httpx.Request
	first := true
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
		if err != nil {
			var he *httpx.Error
			switch {
			case errors.As(err, &he):
				client.Write(httpx.ErrorResponse(he.Status))
			case errors.Is(err, os.ErrDeadlineExceeded) && br.Buffered() > 0:
				client.Write(httpx.ErrorResponse(408))
			}
			return
		}
		first = false
		client.to = fe.cfg.Timeouts.Client
		keep, ok := fe.exchange(ctx, client, br, &req, n)
		if !ok || !keep {
			return
		}
	}
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

// exchange serves one request whose head (n bytes) is buffered in br. It
// reports whether the client connection may carry another request.
func (fe *frontend) exchange(ctx context.Context, client net.Conn, br *bufio.Reader, req *httpx.Request, n int) (keep bool, ok bool) {
	view := &httpView{req: req}
	for _, h := range req.Headers {
		view.hdr = append(view.hdr, hdr{string(h.Name), string(h.Value)})
	}
	// The head bytes stay in br until the request is forwarded: copy what
	// the rules and the forwarder need first.
	method, target, version := string(req.Method), string(req.Target), req.Version()
	body, cl, reqKeep := req.Body, req.ContentLength, req.KeepAlive
	br.Discard(n)
	txn := &acl.Txn{Src: addrPort(client.RemoteAddr()), Dst: addrPort(client.LocalAddr()), HTTP: view, Backends: fe.rt}
	if local := applyRequestRules(fe.cfg, txn, view); local != nil {
		client.Write(local)
		return false, true
	}
	be := fe.pick(txn)
	if be == nil {
		client.Write(httpx.ErrorResponse(503))
		return false, true
	}
	if be.cfg != fe.cfg {
		// The backend's own http-request rules run after switching.
		if local := applyRequestRules(be.cfg, txn, view); local != nil {
			client.Write(local)
			return false, true
		}
	}
	if fe.cfg.ForwardFor != nil || be.cfg.ForwardFor != nil {
		ff := fe.cfg.ForwardFor
		if ff == nil {
			ff = be.cfg.ForwardFor
		}
		addXFF(view, ff, txn.Src.Addr().Unmap().String())
	}
	reuse := be.cfg.HTTPReuse != "never" && fe.cfg.HTTPConnMode == config.HTTPKeepAlive && be.cfg.HTTPConnMode == config.HTTPKeepAlive
	key := hashKey(be, client)
	var (
		srv    *server
		scn    *serverConn
		reused bool
	)
	// Idle connections serve only safe requests without a body, which can be
	// sent again on a new connection if the server closed the idle one.
	var held *server
	if reuse && body == httpx.BodyNone && (method == "GET" || method == "HEAD" || method == "OPTIONS") {
		if s, err := be.acquire(ctx, key, nil); err == nil {
			if c := s.getIdle(); c != nil {
				srv, scn, reused = s, c, true
			} else {
				held = s // no idle connection: dial this server
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
	// Request head to the server.
	var w strings.Builder
	w.WriteString(method + " " + target + " " + version + "\r\n")
	for _, h := range view.hdr {
		ln := strings.ToLower(h.name)
		if hopByHop[ln] || (ln == "content-length" && body == httpx.BodyChunked) {
			continue
		}
		w.WriteString(ln + ": " + h.value + "\r\n")
	}
	if body == httpx.BodyChunked {
		w.WriteString("transfer-encoding: chunked\r\n")
	}
	if !reuse {
		w.WriteString("connection: close\r\n")
	}
	w.WriteString("\r\n")
	head := w.String()
	var res httpx.Response
	var rn int
	for attempt := 0; ; attempt++ {
		if scn == nil {
			s, raw := be.connect(ctx, key, client.LocalAddr(), held)
			held = nil
			if raw == nil {
				client.Write(httpx.ErrorResponse(503))
				return false, true
			}
			c := &idleConn{Conn: raw, to: be.cfg.Timeouts.Server}
			srv, scn = s, &serverConn{c: c, br: bufio.NewReaderSize(c, 16384)}
		}
		conn := scn.c
		_, err := io.WriteString(conn, head)
		if err == nil {
			err = sendBody(client, conn, br, body, cl)
			if err != nil {
				return false, false
			}
			rn, err = readResponse(scn.br, method, &res)
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
			// Interim responses are forwarded as they are.
			h, _ := scn.br.Peek(rn)
			client.Write(h)
			scn.br.Discard(rn)
			rn, err = readResponse(scn.br, method, &res)
		}
		if err != nil {
			status := 502
			if errors.Is(err, os.ErrDeadlineExceeded) {
				status = 504
			}
			client.Write(httpx.ErrorResponse(status))
			return false, true
		}
		break
	}
	sr := scn.br
	view.res = &res
	keep = reqKeep && res.Body != httpx.BodyClose && fe.cfg.HTTPConnMode != config.HTTPClose
	w.Reset()
	w.WriteString("HTTP/1." + strconv.Itoa(res.Minor) + " " + strconv.Itoa(res.Status) + " " + string(res.Reason) + "\r\n")
	for _, h := range res.Headers {
		ln := strings.ToLower(string(h.Name))
		if hopByHop[ln] {
			continue
		}
		w.WriteString(ln + ": " + string(h.Value) + "\r\n")
	}
	if res.Body == httpx.BodyChunked {
		w.WriteString("transfer-encoding: chunked\r\n")
	}
	if !keep {
		w.WriteString("connection: close\r\n")
	}
	w.WriteString("\r\n")
	rbody := res.Body
	rcl := res.ContentLength
	sr.Discard(rn)
	if _, err := io.WriteString(client, w.String()); err != nil {
		return false, false
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
	keepServer = reuse && res.KeepAlive && (rbody == httpx.BodyLength || rbody == httpx.BodyChunked || rbody == httpx.BodyNone)
	return keep, true
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
	case httpx.BodyTunnel:
		client.Write(httpx.ErrorResponse(501))
		return errors.New("tunnels are not supported yet")
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
	if len(s.idle) >= maxIdlePerServer {
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
func (fe *frontend) pick(txn *acl.Txn) *backend {
	for _, ub := range fe.cfg.UseBackends {
		if ub.Backend != nil && ub.Cond.Match(txn) {
			return fe.rt.backends[ub.Backend.Name]
		}
	}
	if fe.cfg.DefaultBackend != nil && fe.cfg.DefaultBackend.Backend != nil {
		return fe.rt.backends[fe.cfg.DefaultBackend.Backend.Name]
	}
	return fe.own
}

func addXFF(v *httpView, ff *config.ForwardFor, ip string) {
	name := ff.Header
	if name == "" {
		name = "X-Forwarded-For"
	}
	if ff.IfNone && len(v.Header(name)) > 0 {
		return
	}
	v.hdr = append(v.hdr, hdr{name, ip})
}

// applyRequestRules runs a proxy's http-request rules (then its redirect
// rules) in order; it returns a complete local response when one answers.
func applyRequestRules(px *config.Proxy, txn *acl.Txn, v *httpView) []byte {
	for _, r := range append(append([]*config.HTTPRule(nil), px.HTTPRequest...), px.Redirects...) {
		if r.Cond != nil && !r.Cond.Match(txn) {
			continue
		}
		switch r.Action {
		case config.ActAllow:
			return nil
		case config.ActDeny:
			return httpx.ErrorResponse(r.Status)
		case config.ActReturn:
			return returnResponse(r)
		case config.ActRedirect:
			return redirectResponse(r, v)
		case config.ActSetHeader:
			v.del(r.Name)
			v.hdr = append(v.hdr, hdr{r.Name, r.Value})
		case config.ActAddHeader:
			v.hdr = append(v.hdr, hdr{r.Name, r.Value})
		case config.ActDelHeader:
			v.del(r.Name)
		case config.ActReplaceHeader, config.ActReplaceValue:
			for i := range v.hdr {
				if !strings.EqualFold(v.hdr[i].name, r.Name) {
					continue
				}
				if r.Action == config.ActReplaceHeader {
					v.hdr[i].value = r.Regexp.ReplaceAllString(v.hdr[i].value, backrefs(r.Replace))
					continue
				}
				parts := strings.Split(v.hdr[i].value, ",")
				for j, p := range parts {
					parts[j] = r.Regexp.ReplaceAllString(strings.TrimSpace(p), backrefs(r.Replace))
				}
				v.hdr[i].value = strings.Join(parts, ",")
			}
		}
	}
	return nil
}

func (v *httpView) del(name string) {
	out := v.hdr[:0]
	for _, h := range v.hdr {
		if !strings.EqualFold(h.name, name) {
			out = append(out, h)
		}
	}
	v.hdr = out
}

// backrefs turns HAProxy's \1 references into Go's ${1}.
func backrefs(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func returnResponse(r *config.HTTPRule) []byte {
	reason := httpx.Reason(r.Status)
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(r.Status) + " " + reason + "\r\n")
	b.WriteString("content-length: " + strconv.Itoa(len(r.Body)) + "\r\n")
	if r.ContentType != "" {
		b.WriteString("content-type: " + r.ContentType + "\r\n")
	}
	for _, h := range r.Headers {
		b.WriteString(strings.ToLower(h[0]) + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n" + r.Body)
	return []byte(b.String())
}

func redirectResponse(r *config.HTTPRule, v *httpView) []byte {
	target := string(v.req.Target)
	host := ""
	if h := v.Header("host"); len(h) > 0 {
		host = h[0]
	}
	loc := r.RedirectTo
	switch r.RedirectKind {
	case "prefix":
		path := target
		if r.DropQuery {
			path, _, _ = strings.Cut(path, "?")
		}
		loc = strings.TrimSuffix(r.RedirectTo, "/") + path
	case "scheme":
		path := target
		if u, err := url.Parse(target); err == nil && u.Host != "" {
			path = u.RequestURI()
		}
		if r.DropQuery {
			path, _, _ = strings.Cut(path, "?")
		}
		loc = r.RedirectTo + "://" + host + path
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + strconv.Itoa(r.Status) + " " + httpx.Reason(r.Status) + "\r\n")
	b.WriteString("content-length: 0\r\nlocation: " + loc + "\r\ncache-control: no-cache\r\n\r\n")
	return []byte(b.String())
}

// idleConn applies an inactivity timeout to every read and write, for
// the HTTP path (which copies through buffers, so wrapping costs nothing).
type idleConn struct {
	net.Conn
	to time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if c.to > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.to))
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	if c.to > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.to))
	}
	return c.Conn.Write(p)
}
