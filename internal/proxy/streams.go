package proxy

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

// stream is an accepted client connection as the runtime API sees it:
// `show sess` lists them. The TCP and HTTP paths say which backend and
// server the connection uses and which server connection carries it.
// (Ending a server's sessions goes through the server's own live set:
// server.shutdownSessions.)
type stream struct {
	id     uint64
	start  time.Time
	fe     *frontend
	client net.Conn

	mu     sync.Mutex
	be     *backend
	srv    *server
	server net.Conn // the server connection in use; nil between HTTP requests
	// idle is the client connection while it waits, with nothing read,
	// for its next HTTP/1 request (nil otherwise), until when the wait
	// would end anyway (zero: never); cut: a soft stop shortened it.
	idle  net.Conn
	until time.Time
	cut   bool
	// onStop, when set, is what a soft stop does to the connection
	// (HTTP/2: a GOAWAY notice and an idle bound); it runs once.
	onStop func()
}

// stopGrace is how long an HTTP/1 keep-alive connection idle at a soft
// stop may still send a request (one already on its way, answered with
// "connection: close") before it is closed. HAProxy closes idle
// connections at once, which loses a request racing the close; without
// a bound, an idle client would keep the old process alive until its
// keep-alive timeout (forever with none).
const stopGrace = time.Second

// waitIdle records that the HTTP/1 connection c waits for its next
// request until at most until (c nil: it no longer waits). Leaving the
// wait, it reports whether a soft stop shortened it (the read deadline
// must then be set again). A wait that begins once the soft stop has
// begun is shortened at once.
func (st *stream) waitIdle(c net.Conn, until time.Time, stopping bool) (cut bool) {
	if st == nil {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if c == nil {
		cut = st.cut
		st.idle, st.cut = nil, false
		return cut
	}
	st.idle, st.until = c, until
	if stopping {
		st.cutIdle(time.Now().Add(stopGrace))
	}
	return false
}

// cutIdle brings the end of an idle connection's wait forward to
// deadline (st.mu held).
func (st *stream) cutIdle(deadline time.Time) {
	if st.idle != nil && !st.cut && (st.until.IsZero() || deadline.Before(st.until)) {
		st.idle.SetReadDeadline(deadline)
		st.cut = true
	}
}

// setOnStop installs what a soft stop does to the stream's connection;
// when the soft stop has already begun, it runs at once.
func (st *stream) setOnStop(f func(), stopping bool) {
	if st == nil {
		return
	}
	st.mu.Lock()
	st.onStop = f
	st.mu.Unlock()
	if stopping {
		st.stop()
	}
}

// stop runs the stream's soft-stop hook, once.
func (st *stream) stop() {
	st.mu.Lock()
	f := st.onStop
	st.onStop = nil
	st.mu.Unlock()
	if f != nil {
		f()
	}
}

// cutIdleStreams gives every HTTP/1 connection waiting for its next
// request stopGrace to send it, and runs the soft-stop hooks (HTTP/2).
func (rt *Runtime) cutIdleStreams() {
	deadline := time.Now().Add(stopGrace)
	rt.mu.Lock()
	list := make([]*stream, 0, len(rt.streams))
	for st := range rt.streams {
		list = append(list, st)
	}
	rt.mu.Unlock()
	for _, st := range list {
		st.mu.Lock()
		st.cutIdle(deadline)
		hook := st.onStop != nil
		st.mu.Unlock()
		if hook {
			go st.stop() // it writes to the client, which may not read
		}
	}
}

type streamKey struct{}

// openStream registers an accepted connection and returns ctx carrying
// it for the session code.
func (rt *Runtime) openStream(ctx context.Context, fe *frontend, c net.Conn) (context.Context, *stream) {
	st := &stream{id: rt.streamSeq.Add(1), start: time.Now(), fe: fe, client: c}
	rt.mu.Lock()
	if rt.streams == nil {
		rt.streams = map[*stream]struct{}{}
	}
	rt.streams[st] = struct{}{}
	rt.mu.Unlock()
	return context.WithValue(ctx, streamKey{}, st), st
}

func (rt *Runtime) closeStream(st *stream) {
	rt.mu.Lock()
	delete(rt.streams, st)
	rt.mu.Unlock()
}

// streamOf is the stream ctx carries, nil outside an accepted connection.
func streamOf(ctx context.Context) *stream {
	st, _ := ctx.Value(streamKey{}).(*stream)
	return st
}

// use records the backend, server and server connection the stream is
// on now; a nil conn means the stream holds no server connection.
func (st *stream) use(be *backend, srv *server, conn net.Conn) {
	if st == nil {
		return
	}
	st.mu.Lock()
	st.be, st.srv, st.server = be, srv, conn
	st.mu.Unlock()
}

// release forgets the server connection (the backend and server stay
// for `show sess`).
func (st *stream) release() {
	if st == nil {
		return
	}
	st.mu.Lock()
	st.server = nil
	st.mu.Unlock()
}

// ShowSess renders the proxied part of `show sess`: one line per
// client connection in HAProxy's layout, with the fields halo tracks (an
// id, protocol, source, frontend, backend, server, age). HAProxy's
// scheduler and buffer fields (calls, rate, cpu, lat, rq/rp flags,
// scf/scb, exp) have no equivalent in halo and are left out.
func (rt *Runtime) ShowSess() string {
	rt.mu.Lock()
	list := make([]*stream, 0, len(rt.streams))
	for st := range rt.streams {
		list = append(list, st)
	}
	rt.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	var b strings.Builder
	now := time.Now()
	for _, st := range list {
		st.mu.Lock()
		be, srv := "<NONE>", "<none>"
		if st.be != nil {
			be = st.be.cfg.Name
		}
		if st.srv != nil {
			srv = st.srv.cfg.Name
		}
		st.mu.Unlock()
		proto := "tcpv4"
		if ap := addrPort(st.client.RemoteAddr()); ap.Addr().Is6() && !ap.Addr().Is4In6() {
			proto = "tcpv6"
		}
		fmt.Fprintf(&b, "0x%08x: proto=%s src=%s fe=%s be=%s srv=%s ts=00 epoch=0 age=%s\n",
			st.id, proto, st.client.RemoteAddr(), st.fe.cfg.Name, be, srv, humanAge(now.Sub(st.start)))
	}
	return b.String()
}

// humanAge prints a duration as HAProxy's `show sess` does: 2s, 3m4s,
// 1h2m, 3d4h.
func humanAge(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
}
