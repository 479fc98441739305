// Package health runs HAProxy-style health checks against one server:
// plain TCP connects, tcp-check programs and HTTP checks, with rise/fall
// hysteresis and HAProxy's exact log wording.
package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/tlsx"
)

// Params describes one server's checks (derived from config.Server and
// its proxy by the caller).
type Params struct {
	Backend, Server string
	Backup          bool   // a backup server: "Health check for backup server ..."
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
	// TLS, when set, makes every check connection a TLS client with it
	// (check-ssl); a failed handshake is a Layer6 failure.
	TLS *tls.Config
	// External describes the proxy and server to an external check
	// (Spec.Kind CheckExternal).
	External ExternalEnv
	// Passive health (observe): what Observe counts, how many consecutive
	// errors trigger OnError (default 10).
	Observe    config.Observe
	OnError    config.OnError
	ErrorLimit int
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
	p      Params
	report func(Event)
	up     atomic.Bool
	fast   chan struct{} // asks Run to check at fastinter at the latest

	mu       sync.Mutex // health and obsErrs; held while reporting, so events arrive in order
	health   int
	obsErrs  int                    // consecutive errors observed on live traffic
	hanaFail atomic.Int64           // times observed errors triggered on-error
	addr     atomic.Pointer[string] // set by SetAddr; p.Addr until then
	running  atomic.Bool            // a check is in progress
	paused   atomic.Bool            // Pause: no check runs
}

// Pause stops the checks, as HAProxy does for a server in maintenance
// waiting for its name to resolve; Resume restarts them.
func (c *Checker) Pause() { c.paused.Store(true) }

// Resume restarts paused checks with the server UP at full health, as
// HAProxy does when a server leaves resolution maintenance; a check runs
// within fastinter.
func (c *Checker) Resume() {
	c.mu.Lock()
	c.health = c.p.Rise + c.p.Fall - 1
	c.up.Store(true)
	c.mu.Unlock()
	c.paused.Store(false)
	select {
	case c.fast <- struct{}{}:
	default:
	}
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
	if p.ErrorLimit <= 0 {
		p.ErrorLimit = 10
	}
	c := &Checker{p: p, report: report, health: p.Rise + p.Fall - 1, fast: make(chan struct{}, 1)}
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
	due := time.Now().Add(delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.fast:
			// Observed errors: check at fastinter at the latest.
			if d := time.Until(due); d > c.p.FastInter {
				t.Reset(c.p.FastInter)
				due = time.Now().Add(c.p.FastInter)
			}
			continue
		case <-t.C:
		}
		if c.paused.Load() {
			t.Reset(c.p.Inter)
			due = time.Now().Add(c.p.Inter)
			continue
		}
		c.running.Store(true)
		r := c.check(ctx)
		c.running.Store(false)
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		ev := c.apply(r, first)
		first = false
		if c.report != nil {
			c.report(ev)
		}
		d := c.interval()
		c.mu.Unlock()
		t.Reset(d)
		due = time.Now().Add(d)
	}
}

// Observation is one outcome seen on live traffic to the server, which
// `observe` counts as a success or an error (HAProxy's health analysis).
type Observation int

// Observations; the strings are HAProxy's, shown in the on-error reason.
const (
	ObsL4OK        Observation = iota // connection established
	ObsL4Err                          // connection failed or timed out
	ObsHTTPOK                         // valid HTTP status: 100-499, 501, 505
	ObsHTTPStatus                     // any other status
	ObsHTTPHeaders                    // unparsable response head
	ObsReadError                      // read error while waiting for the response
	ObsReadTimeout                    // timeout server while waiting for the response
	ObsBrokenPipe                     // the server closed or refused the request
)

var obsDesc = [...]string{"L4 successful connection", "L4 unsuccessful connection", "Correct http response",
	"Wrong http response", "Invalid http response (headers)", "Read error (http)", "Read timeout (http)",
	"Write error (http)"}

func (o Observation) String() string { return obsDesc[o] }

// HTTPObservation classifies a server's HTTP status for observe layer7.
func HTTPObservation(status int) Observation {
	if (status >= 100 && status < 500) || status == 501 || status == 505 {
		return ObsHTTPOK
	}
	return ObsHTTPStatus
}

// judge says whether o counts in mode, and whether it is an error.
// layer4 counts connections only; layer7 counts connection failures and
// HTTP answers (a mere connection proves nothing there).
func judge(o Observation, mode config.Observe) (counts, failed bool) {
	switch {
	case mode == config.ObserveNone:
		return false, false
	case o == ObsL4Err:
		return true, true
	case o == ObsL4OK:
		return mode == config.ObserveLayer4, false
	case mode != config.ObserveLayer7:
		return false, false
	}
	return true, o != ObsHTTPOK
}

// Observe counts one outcome of live traffic when the server has
// `observe`. A success clears the error count; ErrorLimit consecutive
// errors apply on-error and force the fastinter interval. Safe for
// concurrent use.
func (c *Checker) Observe(o Observation) {
	counts, failed := judge(o, c.p.Observe)
	if !counts {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !failed {
		c.obsErrs = 0
		return
	}
	c.obsErrs++
	if c.obsErrs < c.p.ErrorLimit {
		return
	}
	r := Result{Status: "HANA", Desc: "Health analyze",
		Info: fmt.Sprintf("Detected %d consecutive errors, last one was: %s", c.obsErrs, o)}
	c.obsErrs = 0
	c.hanaFail.Add(1)
	select {
	case c.fast <- struct{}{}:
	default:
	}
	up := c.up.Load()
	switch c.p.OnError {
	case config.OnErrorFastInter:
		return
	case config.OnErrorSuddenDeath:
		if up && c.health > c.p.Rise+1 {
			c.health = c.p.Rise + 1 // the next failure leaves one before DOWN
		}
	case config.OnErrorMarkDown:
		if up {
			c.health = c.p.Rise // the failure below takes it DOWN
		}
	}
	ev := c.apply(r, false)
	if c.report != nil {
		c.report(ev)
	}
}

// HanaFail is how many times observed errors triggered on-error.
func (c *Checker) HanaFail() int64 { return c.hanaFail.Load() }

// apply updates health with a result (c.mu held), HAProxy's way: while UP a failure
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

// connectTimeout is the connect limit of a check: min(timeout connect,
// inter) with `timeout check`, else inter, which bounds the whole check.
func (c *Checker) connectTimeout() time.Duration {
	if c.p.TimeoutCheck > 0 && c.p.TimeoutConnect > 0 && c.p.TimeoutConnect < c.p.Inter {
		return c.p.TimeoutConnect
	}
	return c.p.Inter
}

// readDeadline is when a check connected now must have its answer:
// `timeout check` after the connection is established, else inter after
// the check began at start.
func (c *Checker) readDeadline(start time.Time) time.Time {
	if c.p.TimeoutCheck > 0 {
		return time.Now().Add(c.p.TimeoutCheck)
	}
	return start.Add(c.p.Inter)
}

func (c *Checker) check(ctx context.Context) Result {
	start := time.Now()
	var r Result
	switch c.p.Spec.Kind {
	case config.CheckTCP:
		r = c.tcpCheck(ctx)
	case config.CheckHTTP:
		r = c.httpCheck(ctx)
	case config.CheckExternal:
		r = c.externalCheck(ctx)
	default:
		r = c.l4Check(ctx)
	}
	r.Duration = time.Since(start)
	return r
}

func (c *Checker) dial(ctx context.Context, addr string) (net.Conn, *Result) {
	dctx, cancel := context.WithTimeout(ctx, c.connectTimeout())
	defer cancel()
	conn, err := c.p.Dial(dctx, "tcp", addr)
	if err != nil {
		r := &Result{Status: "L4CON", Desc: "Layer4 connection problem", Info: connErrInfo(err)}
		if dctx.Err() == context.DeadlineExceeded {
			r.Status, r.Desc, r.Info = "L4TOUT", "Layer4 timeout", ""
		}
		return nil, r
	}
	if c.p.TLS == nil {
		return conn, nil
	}
	// The handshake counts as the check's answer: it has the read limit
	// from the established connection, as HAProxy's.
	hctx, hcancel := context.WithDeadline(ctx, c.readDeadline(time.Now()))
	defer hcancel()
	tc := tls.Client(conn, c.p.TLS)
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		if hctx.Err() == context.DeadlineExceeded || isTimeout(err) {
			return nil, &Result{Status: "L6TOUT", Desc: "Layer6 timeout"}
		}
		return nil, &Result{Status: "L6RSP", Desc: "Layer6 invalid response", Info: handshakeErrInfo(err)}
	}
	return tc, nil
}

// handshakeErrInfo is HAProxy's reason for a failed TLS handshake of a
// check: the certificate names, or the handshake itself.
func handshakeErrInfo(err error) string {
	var hm *tlsx.HostMismatchError
	if errors.As(err, &hm) {
		if hm.FromSNI {
			return "Server presented an SSL certificate different from the expected one"
		}
		return "Server presented an SSL certificate different from the configured one"
	}
	return "SSL handshake failure"
}

func (c *Checker) l4Check(ctx context.Context) Result {
	conn, fail := c.dial(ctx, c.target())
	if fail != nil {
		return *fail
	}
	conn.Close()
	if c.p.TLS != nil {
		return Result{OK: true, Status: "L6OK", Desc: "Layer6 check passed"}
	}
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
	who := "server"
	if p.Backup {
		who = "backup server"
	}
	s := fmt.Sprintf("Health check for %s %s/%s %s, reason: %s", who, p.Backend, p.Server, verb, r.Desc)
	s += resultDetail(r)
	return s + fmt.Sprintf(", check duration: %dms, status: %s.", r.Duration.Milliseconds(), statusPart(ev))
}

func resultDetail(r Result) string {
	s := ""
	switch r.Status {
	case "L7OK", "L7OKC", "L7STS", "PROCOK", "PROCERR", "PROCTOUT":
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
func DownLine(backend, server string, backup bool, r *Result, activeLeft, backupLeft, sessions, requeued, queued int) string {
	s := fmt.Sprintf("%s %s/%s is DOWN", ServerWord(backup), backend, server)
	if r != nil {
		s += reasonPart(r)
	}
	return s + fmt.Sprintf(". %d active and %d backup servers left.%s %d sessions active, %d requeued, %d remaining in queue.", activeLeft, backupLeft, OnBackup(activeLeft, backupLeft), sessions, requeued, queued)
}

// reasonPart is ", reason: ..." of a state change line; observed errors
// (HANA) have no check duration.
func reasonPart(r *Result) string {
	s := fmt.Sprintf(", reason: %s%s", r.Desc, resultDetail(*r))
	if r.Status != "HANA" {
		s += fmt.Sprintf(", check duration: %dms", r.Duration.Milliseconds())
	}
	return s
}

// ServerWord starts server state lines: "Backup Server" for backups.
func ServerWord(backup bool) string {
	if backup {
		return "Backup Server"
	}
	return "Server"
}

// OnBackup is the " Running on backup." HAProxy adds to state change
// lines when only backup servers are left.
func OnBackup(active, backup int) string {
	if active == 0 && backup > 0 {
		return " Running on backup."
	}
	return ""
}

// UpLine is the "Server be/srv is UP" line.
func UpLine(backend, server string, backup bool, r *Result, activeOnline, backupOnline, requeued, queued int) string {
	s := fmt.Sprintf("%s %s/%s is UP", ServerWord(backup), backend, server)
	if r != nil {
		s += reasonPart(r)
	}
	return s + fmt.Sprintf(". %d active and %d backup servers online.%s %d sessions requeued, %d total in queue.", activeOnline, backupOnline, OnBackup(activeOnline, backupOnline), requeued, queued)
}

// NoServerLine is the alert when a backend loses its last server.
func NoServerLine(backend string) string {
	return fmt.Sprintf("backend %s has no server available!", backend)
}
