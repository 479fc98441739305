package proxy

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/health"
	"github.com/halo-lb/halo/internal/httpx"
	"github.com/halo-lb/halo/internal/logging"
)

// This file holds what a server's state changes set off at run time:
// slow start, the dynamic maxconn of minconn/fullconn, passive health
// (observe) and the on-marked-down / on-marked-up session shutdowns.

// throttle is the progress of a slow start in percent (0..100) once
// elapsed of ramp d have passed.
func throttle(elapsed, d time.Duration) int {
	if d <= 0 || elapsed >= d {
		return 100
	}
	if elapsed <= 0 {
		return 0
	}
	return int(int64(elapsed) * 100 / int64(d))
}

// rampWeight is the effective weight of user weight uw during a slow
// start: it grows linearly from 1 to uw over d (0 stays 0).
func rampWeight(uw int, elapsed, d time.Duration) int {
	if uw <= 0 || d <= 0 || elapsed >= d {
		return uw
	}
	if elapsed < 0 {
		elapsed = 0
	}
	w := int((int64(uw)*int64(elapsed) + int64(d) - 1) / int64(d)) // rounded up
	return min(max(w, 1), uw)
}

// dynMaxConn is a server's connection limit: maxconn, or with minconn
// below it, the ramp from minconn to maxconn as the backend's load
// approaches fullconn; a slow start scales the result from 1 up (pct
// percent). 0 means unlimited.
func dynMaxConn(minconn, maxconn, fullconn, load, pct int) int {
	m := maxconn
	if m <= 0 {
		return 0
	}
	if minconn < m && fullconn > 0 && load < fullconn {
		m = max(minconn, load*maxconn/fullconn, 1)
	}
	if pct < 100 {
		m = max(1, m*pct/100)
	}
	return m
}

// warmStep is the slow-start period between two weight updates.
func warmStep(d time.Duration) time.Duration {
	return min(time.Second, max(d/50, 50*time.Millisecond))
}

// limit is s's current connection limit (0 = unlimited).
func (s *server) limit(now time.Time) int {
	pct := 100
	if from := s.warmFrom.Load(); from != 0 {
		pct = throttle(now.Sub(time.Unix(0, from)), s.cfg.SlowStart)
	}
	return dynMaxConn(int(s.minconn.Load()), int(s.maxconn.Load()), s.be.fullconn, int(s.be.stats.cur.Load()), pct)
}

// throttlePct is the CSV throttle column: the slow start's progress, -1
// when the server runs at full speed.
func (s *server) throttlePct(now time.Time) int {
	from := s.warmFrom.Load()
	if from == 0 {
		return -1
	}
	return throttle(now.Sub(time.Unix(0, from)), s.cfg.SlowStart)
}

// effWeight recomputes the weight the balancer sees from the user
// weight and the slow start (dynamic algorithms only). stateMu held.
func (s *server) effWeight(now time.Time) {
	uw := int(s.uweight.Load())
	if from := s.warmFrom.Load(); from != 0 && s.be.dynWeights {
		uw = rampWeight(uw, now.Sub(time.Unix(0, from)), s.cfg.SlowStart)
	}
	s.weight.Store(int32(uw))
}

// fullConn is a backend's fullconn: the configured one, or as HAProxy
// 10% (rounded up) of the maxconn of the frontends that may use it, 1
// when none does.
func (rt *Runtime) fullConn(p *config.Proxy) int {
	if p.FullConn > 0 {
		return p.FullConn
	}
	sum := 0
	for _, fe := range rt.cfg.Frontends() {
		if fe.Disabled {
			continue
		}
		uses := fe == p
		if r := fe.DefaultBackend; r != nil && r.Backend == p {
			uses = true
		}
		for _, ub := range fe.UseBackends {
			uses = uses || ub.Backend == p
		}
		if uses {
			if fe.MaxConn > 0 {
				sum += fe.MaxConn
			} else {
				sum += rt.maxConn()
			}
		}
	}
	return max(1, (sum+9)/10)
}

// beginWarmup starts s's slow start after it came back UP. stateMu held.
func (b *backend) beginWarmup(s *server) {
	now := b.now()
	s.warmFrom.Store(now.UnixNano())
	s.effWeight(now)
	select {
	case b.warmKick <- struct{}{}:
	default:
	}
}

// warmup updates the servers in slow start until ctx is done: their
// weights follow the ramp, and a server that reaches full speed is
// logged UP again, as HAProxy does.
func (b *backend) warmup(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		if next := b.warmTick(b.now()); next > 0 {
			t.Reset(next)
		}
		select {
		case <-ctx.Done():
			return
		case <-b.warmKick:
		case <-t.C:
		}
	}
}

// warmTick applies the slow starts at now and returns the delay until
// the next update, 0 when no server is starting.
func (b *backend) warmTick(now time.Time) time.Duration {
	b.stateMu.Lock()
	defer b.stateMu.Unlock()
	var next time.Duration
	changed := false
	for _, s := range b.servers {
		from := s.warmFrom.Load()
		if from == 0 {
			continue
		}
		changed = true
		if now.Sub(time.Unix(0, from)) >= s.cfg.SlowStart {
			s.warmFrom.Store(0)
			s.effWeight(now)
			if s.usable() {
				act, bck := b.counts()
				b.rt.plog(b.cfg, logging.Notice, LevelWarning, health.UpLine(b.cfg.Name, s.cfg.Name, s.cfg.Backup, nil, act, bck, 0, int(b.queued.Load())))
			}
			continue
		}
		s.effWeight(now)
		if step := warmStep(s.cfg.SlowStart); next == 0 || step < next {
			next = step
		}
	}
	if changed {
		b.refresh()
		b.wakeFree()
	}
	return next
}

// victim is a session using a server, which a server state change may
// end (on-marked-down, on-marked-up, `shutdown sessions server`).
type victim interface {
	// kill ends the session; term is the termination cause logged.
	kill(term byte)
}

// liveSet is the set of sessions using a server.
type liveSet struct {
	mu sync.Mutex
	m  map[victim]struct{}
}

func (l *liveSet) add(v victim) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[victim]struct{}{}
	}
	l.m[v] = struct{}{}
	l.mu.Unlock()
}

func (l *liveSet) remove(v victim) {
	l.mu.Lock()
	delete(l.m, v)
	l.mu.Unlock()
}

// killAll ends every session in the set and returns how many there were.
func (l *liveSet) killAll(term byte) int {
	l.mu.Lock()
	vs := make([]victim, 0, len(l.m))
	for v := range l.m {
		vs = append(vs, v)
	}
	l.mu.Unlock()
	for _, v := range vs {
		v.kill(term)
	}
	return len(vs)
}

// shutdownSessions ends s's sessions (and its idle connections) with the
// termination cause term: 'D' (down), 'U' (another server up), 'K' (CLI).
func (s *server) shutdownSessions(term byte) int {
	n := s.live.killAll(term)
	s.closeIdle()
	return n
}

// connKill is an HTTP exchange with a server, which is ended by closing
// the server connection.
type connKill struct {
	conn io.Closer
	srv  *server
	term atomic.Int32 // the first kill's cause
}

func (k *connKill) kill(term byte) {
	if k.term.CompareAndSwap(0, int32(term)) {
		k.conn.Close()
	}
}

// killed returns the termination cause when the exchange was ended by a
// server state change, 0 otherwise.
func (k *connKill) killed() byte { return byte(k.term.Load()) }

// trackConn registers an HTTP exchange with s, ended by closing c; call
// untrack when the exchange is over.
func (s *server) trackConn(c io.Closer) *connKill {
	k := &connKill{conn: c, srv: s}
	s.live.add(k)
	return k
}

// untrack removes the exchange from its server's live set.
func (k *connKill) untrack() { k.srv.live.remove(k) }

// observe reports an outcome of live traffic to s's passive health.
func (s *server) observe(o health.Observation) {
	if s.checker != nil && s.cfg.Observe != config.ObserveNone {
		s.checker.Observe(o)
	}
}

// observeStatus reports a server's HTTP status to passive health.
func (s *server) observeStatus(status int) { s.observe(health.HTTPObservation(status)) }

// httpErrObservation classifies a failed HTTP exchange with a server for
// observe layer7.
func httpErrObservation(err error) health.Observation {
	var he *httpx.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return health.ObsReadTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return health.ObsBrokenPipe
	case errors.As(err, &he):
		if he.Reason == "empty response" {
			return health.ObsBrokenPipe
		}
		return health.ObsHTTPHeaders
	}
	return health.ObsReadError
}

// stateChanged applies what a server's change of effective state sets
// off: slow start when it comes back UP, and the on-marked-down and
// on-marked-up session shutdowns. stateMu held.
func (b *backend) stateChanged(s *server, old, st int32) {
	if st == stateUp {
		if s.cfg.SlowStart > 0 {
			b.beginWarmup(s)
		}
		if s.cfg.ShutdownBackupsOnUp && !s.cfg.Backup && s.Weight() > 0 {
			for _, o := range b.servers {
				if o.cfg.Backup {
					o.shutdownSessions('U')
				}
			}
		}
		return
	}
	if old == stateUp {
		if s.warmFrom.Swap(0) != 0 {
			s.effWeight(b.now())
		}
		if s.cfg.ShutdownOnDown {
			s.shutdownSessions('D')
		}
	}
}

// wakeFree wakes as many queued connections as the servers have free
// slots now: a raised or ramping limit may free several at once.
func (b *backend) wakeFree() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	free := 0
	for _, s := range b.servers {
		if !s.usable() {
			continue
		}
		m := s.limit(now)
		if m == 0 {
			free = len(b.waiters)
			break
		}
		free += max(0, m-s.Conns())
	}
	for ; free > 0 && len(b.waiters) > 0; free-- {
		b.wakeLocked()
	}
}
