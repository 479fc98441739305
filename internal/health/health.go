// Package health runs HAProxy-style health checks against one server:
// plain TCP connects, tcp-check programs and HTTP checks, with rise/fall
// hysteresis and HAProxy's exact log wording.
package health

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"

	"github.com/halo-lb/halo/internal/config"
)

// Params describes one server's checks (derived from config.Server and
// its proxy by the caller).
type Params struct {
	Backend, Server string
	Addr            string // host:port to check (check addr/port already applied)
	Spec            config.CheckSpec
	Inter           time.Duration
	FastInter       time.Duration
	DownInter       time.Duration
	Rise, Fall      int
	TimeoutCheck    time.Duration // 0 = unset
	TimeoutConnect  time.Duration // 0 = unset
	SpreadChecks    int           // percent
	// StartDown starts the server DOWN with no health (a server state
	// file said it was down); it must pass Rise checks to come up.
	StartDown bool
	// Dial opens check connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Result is the outcome of one check, in HAProxy's terms.
type Result struct {
	OK       bool
	Status   string // L4OK L4CON L4TOUT L6OK L6TOUT L6RSP L7OK L7TOUT L7RSP L7STS SOCKERR
	Code     int    // HTTP status for L7 checks
	Desc     string // "Layer4 check passed", "Layer4 connection problem", ...
	Info     string // "Connection refused", "OK", ...
	Duration time.Duration
}

// Event is reported after every check.
type Event struct {
	Result  Result
	Health  int // 0 .. Rise+Fall-1; UP while >= Rise
	Rise    int
	Fall    int
	Up      bool
	Changed bool // the server went UP->DOWN or DOWN->UP with this check
}

// Checker runs the checks of one server. Create it with New and run it
// with Run in a goroutine the caller owns.
type Checker struct {
	p       Params
	report  func(Event)
	up      atomic.Bool
	health  int
	addr    atomic.Pointer[string] // set by SetAddr; p.Addr until then
	running atomic.Bool            // a check is in progress
}

// Running reports whether a check is in progress (HAProxy's stats prefix
// the last check status with "* " then).
func (c *Checker) Running() bool { return c != nil && c.running.Load() }

// SetAddr moves the checks to a new host:port (the runtime API's
// `set server ... addr`); the next check uses it.
func (c *Checker) SetAddr(addr string) { c.addr.Store(&addr) }

// target is the host:port checked now.
func (c *Checker) target() string {
	if a := c.addr.Load(); a != nil {
		return *a
	}
	return c.p.Addr
}

// New returns a checker; servers start UP with full health, as in HAProxy.
func New(p Params, report func(Event)) *Checker {
	if p.Rise <= 0 {
		p.Rise = 2
	}
	if p.Fall <= 0 {
		p.Fall = 3
	}
	if p.Inter <= 0 {
		p.Inter = 2 * time.Second
	}
	if p.FastInter <= 0 {
		p.FastInter = p.Inter
	}
	if p.DownInter <= 0 {
		p.DownInter = p.Inter
	}
	if p.Dial == nil {
		var d net.Dialer
		p.Dial = d.DialContext
	}
	c := &Checker{p: p, report: report, health: p.Rise + p.Fall - 1}
	c.up.Store(true)
	if p.StartDown {
		c.health = 0
		c.up.Store(false)
	}
	return c
}

// Up reports the current state.
func (c *Checker) Up() bool { return c.up.Load() }

// Run checks until ctx is done.
func (c *Checker) Run(ctx context.Context) {
	// HAProxy spreads the first checks over the interval.
	delay := time.Duration(rand.Int64N(int64(c.p.Inter)/2 + 1))
	first := true
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.running.Store(true)
		r := c.check(ctx)
		c.running.Store(false)
		if ctx.Err() != nil {
			return
		}
		ev := c.apply(r, first)
		first = false
		if c.report != nil {
			c.report(ev)
		}
		t.Reset(c.interval())
	}
}

// apply updates health with a result, HAProxy's way: while UP a failure
// costs one point of health and the server goes DOWN when health falls
// below rise; while DOWN a success adds one and it goes UP at rise. A
// failure of the very first check takes the server DOWN at once.
func (c *Checker) apply(r Result, first bool) Event {
	wasUp := c.up.Load()
	max := c.p.Rise + c.p.Fall - 1
	if r.OK {
		if c.health < max {
			c.health++
		}
		if !wasUp && c.health >= c.p.Rise {
			c.health = max
			c.up.Store(true)
		}
	} else {
		switch {
		case first && wasUp:
			c.health = 0
			c.up.Store(false)
		case wasUp:
			c.health--
			if c.health < c.p.Rise {
				c.health = 0
				c.up.Store(false)
			}
		case c.health > 0:
			c.health--
		}
	}
	up := c.up.Load()
	return Event{Result: r, Health: c.health, Rise: c.p.Rise, Fall: c.p.Fall, Up: up, Changed: up != wasUp}
}

func (c *Checker) interval() time.Duration {
	max := c.p.Rise + c.p.Fall - 1
	d := c.p.Inter
	switch {
	case !c.up.Load() && c.health == 0:
		d = c.p.DownInter
	case c.health != max:
		d = c.p.FastInter
	}
	if c.p.SpreadChecks > 0 {
		j := int64(d) * int64(c.p.SpreadChecks) / 100
		if j > 0 {
			d += time.Duration(rand.Int64N(2*j+1) - j)
		}
	}
	return d
}

// timeouts returns the connect and read limits of one check: with
// `timeout check`, connect = min(timeout connect, inter) and the read
// limit is timeout check; without it, inter bounds the whole check.
func (c *Checker) timeouts() (connect, total time.Duration) {
	if c.p.TimeoutCheck > 0 {
		connect = c.p.Inter
		if c.p.TimeoutConnect > 0 && c.p.TimeoutConnect < connect {
			connect = c.p.TimeoutConnect
		}
		return connect, connect + c.p.TimeoutCheck
	}
	return c.p.Inter, c.p.Inter
}

func (c *Checker) check(ctx context.Context) Result {
	start := time.Now()
	var r Result
	switch c.p.Spec.Kind {
	case config.CheckTCP:
		r = c.tcpCheck(ctx)
	case config.CheckHTTP:
		r = c.httpCheck(ctx)
	default:
		r = c.l4Check(ctx)
	}
	r.Duration = time.Since(start)
	return r
}

func (c *Checker) dial(ctx context.Context, addr string) (net.Conn, *Result) {
	connect, _ := c.timeouts()
	dctx, cancel := context.WithTimeout(ctx, connect)
	defer cancel()
	conn, err := c.p.Dial(dctx, "tcp", addr)
	if err != nil {
		r := &Result{Status: "L4CON", Desc: "Layer4 connection problem", Info: connErrInfo(err)}
		if dctx.Err() == context.DeadlineExceeded {
			r.Status, r.Desc, r.Info = "L4TOUT", "Layer4 timeout", ""
		}
		return nil, r
	}
	return conn, nil
}

func (c *Checker) l4Check(ctx context.Context) Result {
	conn, fail := c.dial(ctx, c.target())
	if fail != nil {
		return *fail
	}
	conn.Close()
	return Result{OK: true, Status: "L4OK", Desc: "Layer4 check passed"}
}

// connErrInfo turns a dial error into HAProxy's short reason.
func connErrInfo(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "no route to host", "network is unreachable", "connection reset by peer", "host is down"} {
		if contains(s, k) {
			return string(upperFirst(k))
		}
	}
	return s
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func upperFirst(s string) []byte {
	b := []byte(s)
	if len(b) > 0 && b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return b
}

// CheckLine is the `option log-health-checks` line for a check result.
func CheckLine(p Params, ev Event) string {
	r := ev.Result
	verb := "failed"
	if r.OK {
		verb = "succeeded"
	}
	s := fmt.Sprintf("Health check for server %s/%s %s, reason: %s", p.Backend, p.Server, verb, r.Desc)
	s += resultDetail(r)
	return s + fmt.Sprintf(", check duration: %dms, status: %s.", r.Duration.Milliseconds(), statusPart(ev))
}

func resultDetail(r Result) string {
	s := ""
	switch r.Status {
	case "L7OK", "L7OKC", "L7STS":
		s += fmt.Sprintf(", code: %d", r.Code)
	}
	if r.Info != "" {
		s += fmt.Sprintf(", info: \"%s\"", r.Info)
	}
	return s
}

// statusPart is "x/y UP" or "x/y DOWN": while UP, (health-rise+1)/fall;
// while DOWN, health/rise.
func statusPart(ev Event) string {
	if ev.Up {
		return fmt.Sprintf("%d/%d UP", ev.Health-ev.Rise+1, ev.Fall)
	}
	return fmt.Sprintf("%d/%d DOWN", ev.Health, ev.Rise)
}

// DownLine is the "Server be/srv is DOWN" line; r is nil with
// log-health-checks (the check line already gave the reason).
func DownLine(backend, server string, r *Result, activeLeft, backupLeft, sessions, requeued, queued int) string {
	s := fmt.Sprintf("Server %s/%s is DOWN", backend, server)
	if r != nil {
		s += fmt.Sprintf(", reason: %s%s, check duration: %dms", r.Desc, resultDetail(*r), r.Duration.Milliseconds())
	}
	return s + fmt.Sprintf(". %d active and %d backup servers left. %d sessions active, %d requeued, %d remaining in queue.", activeLeft, backupLeft, sessions, requeued, queued)
}

// UpLine is the "Server be/srv is UP" line.
func UpLine(backend, server string, r *Result, activeOnline, backupOnline, requeued, queued int) string {
	s := fmt.Sprintf("Server %s/%s is UP", backend, server)
	if r != nil {
		s += fmt.Sprintf(", reason: %s%s, check duration: %dms", r.Desc, resultDetail(*r), r.Duration.Milliseconds())
	}
	return s + fmt.Sprintf(". %d active and %d backup servers online. %d sessions requeued, %d total in queue.", activeOnline, backupOnline, requeued, queued)
}

// NoServerLine is the alert when a backend loses its last server.
func NoServerLine(backend string) string {
	return fmt.Sprintf("backend %s has no server available!", backend)
}
