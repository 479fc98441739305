package proxy

import (
	"sync"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/config"
)

func TestRampArithmetic(t *testing.T) {
	const d = 10 * time.Second
	for _, tc := range []struct {
		elapsed time.Duration
		pct, w  int // throttle, weight of user weight 50
	}{
		{0, 0, 1}, // the minimal step at once, never 0
		{100 * time.Millisecond, 1, 1},
		{1200 * time.Millisecond, 12, 6},
		{1210 * time.Millisecond, 12, 7}, // rounded up (HAProxy showed 7 at 12%)
		{5 * time.Second, 50, 25},
		{9999 * time.Millisecond, 99, 50},
		{d, 100, 50},
		{time.Hour, 100, 50},
	} {
		if got := throttle(tc.elapsed, d); got != tc.pct {
			t.Errorf("throttle(%v) = %d, want %d", tc.elapsed, got, tc.pct)
		}
		if got := rampWeight(50, tc.elapsed, d); got != tc.w {
			t.Errorf("rampWeight(50, %v) = %d, want %d", tc.elapsed, got, tc.w)
		}
	}
	if got := rampWeight(0, time.Second, d); got != 0 {
		t.Errorf("weight 0 ramps to %d", got)
	}
	for _, tc := range []struct {
		minc, maxc, full, load, pct, want int
	}{
		{0, 0, 10, 0, 100, 0},           // unlimited
		{100, 100, 10, 0, 100, 100},     // static: minconn = maxconn
		{100, 1000, 10000, 0, 100, 100}, // the manual's example: idle backend
		{100, 1000, 10000, 5000, 100, 500},
		{100, 1000, 10000, 10000, 100, 1000}, // fullconn reached
		{100, 1000, 10000, 20000, 100, 1000},
		{10, 40, 100, 50, 50, 10}, // dynamic 20, halfway through a slow start
		{40, 40, 1, 0, 0, 1},      // a slow start begins at 1 connection
		{40, 40, 1, 0, 25, 10},
	} {
		if got := dynMaxConn(tc.minc, tc.maxc, tc.full, tc.load, tc.pct); got != tc.want {
			t.Errorf("dynMaxConn(min %d, max %d, full %d, load %d, %d%%) = %d, want %d", tc.minc, tc.maxc, tc.full, tc.load, tc.pct, got, tc.want)
		}
	}
}

// fakeClock is a settable clock for backends under test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func (c *fakeClock) set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// TestSlowStartRamp walks a slow start with a fake clock: nothing at
// start-up, then after the server comes back UP its weight and maxconn
// ramp, and it is logged UP again at full speed.
func TestSlowStartRamp(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	var mu sync.Mutex
	var msgs []string
	b := testBackend(t, &config.Server{Weight: 50, MaxConn: 40, MinConn: 40, SlowStart: 10 * time.Second}, &config.Server{Weight: 50})
	b.now = clk.now
	b.rt.opts.Log = func(_ Level, m string) { mu.Lock(); msgs = append(msgs, m); mu.Unlock() }
	s := b.servers[0]
	if w, l, th := s.Weight(), s.limit(clk.now()), s.throttlePct(clk.now()); w != 50 || l != 40 || th != -1 {
		t.Fatalf("at start-up: weight %d, limit %d, throttle %d; slow start must not apply", w, l, th)
	}
	b.stateMu.Lock()
	b.setState(s, stateDown)
	b.setState(s, stateUp)
	b.stateMu.Unlock()
	for _, step := range []struct {
		at            time.Duration
		w, limit, thr int
	}{
		{0, 1, 1, 0},
		{2500 * time.Millisecond, 13, 10, 25},
		{5 * time.Second, 25, 20, 50},
		{10 * time.Second, 50, 40, -1},
	} {
		clk.set(time.Unix(1000, 0).Add(step.at))
		next := b.warmTick(clk.now())
		if w, l, th := s.Weight(), s.limit(clk.now()), s.throttlePct(clk.now()); w != step.w || l != step.limit || th != step.thr {
			t.Errorf("+%v: weight %d limit %d throttle %d, want %d %d %d", step.at, w, l, th, step.w, step.limit, step.thr)
		}
		if (next == 0) != (step.thr == -1) {
			t.Errorf("+%v: next update in %v", step.at, next)
		}
	}
	if got := b.servers[1].Weight(); got != 50 {
		t.Errorf("the other server's weight changed to %d", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(msgs) != 1 || msgs[0] != "Server be/s1 is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue." {
		t.Errorf("messages %q", msgs)
	}
}

// TestSlowStartStaticAlgorithm: with static-rr only maxconn ramps, and
// `set weight` during a slow start changes the target.
func TestSlowStartStaticAlgorithm(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	b := testBackend(t, &config.Server{Weight: 8, MaxConn: 8, MinConn: 8, SlowStart: 4 * time.Second})
	b.dynWeights = false
	b.now = clk.now
	s := b.servers[0]
	b.stateMu.Lock()
	b.setState(s, stateMaint)
	b.setState(s, stateUp)
	b.stateMu.Unlock()
	clk.add(time.Second)
	b.warmTick(clk.now())
	if w, l := s.Weight(), s.limit(clk.now()); w != 8 || l != 2 {
		t.Errorf("static-rr: weight %d limit %d, want 8 and 2", w, l)
	}
	b.dynWeights = true
	s.uweight.Store(4)
	b.warmTick(clk.now())
	if w := s.Weight(); w != 1 {
		t.Errorf("weight %d after set weight 4 at 25%%, want 1", w)
	}
}

// TestDynamicMaxConn: minconn/maxconn follow the backend's load.
func TestDynamicMaxConn(t *testing.T) {
	b := testBackend(t, &config.Server{MinConn: 2, MaxConn: 10})
	b.fullconn = 20
	s := b.servers[0]
	for _, tc := range []struct{ load, want int }{{0, 2}, {5, 2}, {10, 5}, {20, 10}, {30, 10}} {
		b.stats.cur.Store(int64(tc.load))
		if got := s.MaxConn(); got != tc.want {
			t.Errorf("load %d: limit %d, want %d", tc.load, got, tc.want)
		}
	}
	// set maxconn server keeps a dynamic limit dynamic, and a static one static.
	rt := b.rt
	rt.backends["be"] = b
	b.stats.cur.Store(0)
	if err := rt.SetServerMaxConn("be", "s1", 30); err != nil {
		t.Fatal(err)
	}
	if got := s.MaxConn(); got != 2 {
		t.Errorf("dynamic after set maxconn: %d, want the minconn 2", got)
	}
	st := testBackend(t, &config.Server{MinConn: 5, MaxConn: 5})
	st.rt.backends["be"] = st
	if err := st.rt.SetServerMaxConn("be", "s1", 7); err != nil {
		t.Fatal(err)
	}
	if got := st.servers[0].MaxConn(); got != 7 {
		t.Errorf("static after set maxconn: %d, want 7", got)
	}
}

// TestFullConnDefault: 10% of the maxconn of the frontends that may use
// the backend, rounded up, as HAProxy 2.6 showed (105, 100, 6 and 1).
func TestFullConnDefault(t *testing.T) {
	cfg, err := config.LoadString("t.cfg", `global
  maxconn 1000
defaults
  mode http
  timeout connect 1s
  timeout client 1s
  timeout server 1s
frontend f1
  bind 127.0.0.1:1
  use_backend b2 if { path /x }
  use_backend b%[req.hdr(host)]
  default_backend b1
frontend f2
  bind 127.0.0.1:2
  maxconn 50
  default_backend b1
listen l1
  bind 127.0.0.1:3
  maxconn 55
  server s 127.0.0.1:4
backend b1
  server s 127.0.0.1:4
backend b2
  server s 127.0.0.1:4
backend b3
  fullconn 33
  server s 127.0.0.1:4
backend b4
  server s 127.0.0.1:4
`, config.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt := &Runtime{cfg: cfg}
	for name, want := range map[string]int{"b1": 105, "b2": 100, "l1": 6, "b3": 33, "b4": 1} {
		if got := rt.fullConn(cfg.Proxy(name, config.CapBackend)); got != want {
			t.Errorf("%s: fullconn %d, want %d", name, got, want)
		}
	}
}

type fakeSession struct{ term byte }

func (f *fakeSession) kill(term byte) { f.term = term }

// TestMarkedDownUpShutdowns: on-marked-down ends the server's sessions
// with 'D', entering maintenance too; on-marked-up ends the backups'
// sessions with 'U'.
func TestMarkedDownUpShutdowns(t *testing.T) {
	b := testBackend(t, &config.Server{ShutdownOnDown: true, ShutdownBackupsOnUp: true}, &config.Server{}, &config.Server{Backup: true})
	s1, s2, bk := b.servers[0], b.servers[1], b.servers[2]
	var a, c, k fakeSession
	s1.live.add(&a)
	s2.live.add(&c)
	bk.live.add(&k)
	b.stateMu.Lock()
	b.setState(s2, stateDown) // no on-marked-down: its session stays
	b.setState(s1, stateDown)
	b.stateMu.Unlock()
	if a.term != 'D' || c.term != 0 || k.term != 0 {
		t.Errorf("after DOWN: s1 %q s2 %q backup %q", a.term, c.term, k.term)
	}
	b.stateMu.Lock()
	b.setState(s1, stateUp)
	b.stateMu.Unlock()
	if k.term != 'U' || c.term != 0 {
		t.Errorf("after UP: backup %q s2 %q", k.term, c.term)
	}
	var m fakeSession
	s1.live.add(&m)
	b.stateMu.Lock()
	b.setState(s1, stateMaint)
	b.stateMu.Unlock()
	if m.term != 'D' {
		t.Errorf("maintenance: %q", m.term)
	}
	// The CLI's shutdown sessions server uses the same registry.
	var x fakeSession
	s2.live.add(&x)
	if n := s2.shutdownSessions('K'); n != 2 || x.term != 'K' || c.term != 'K' {
		t.Errorf("shutdown sessions: %d ended, %q %q", n, x.term, c.term)
	}
}

// TestRedispatchAt: option redispatch <interval> as HAProxy documents
// it, with retries 3: -1 (the default) on the last retry, -2 on the one
// before, 1 on every retry, 2 on every second, 0 never.
func TestRedispatchAt(t *testing.T) {
	for _, tc := range []struct {
		interval int
		want     string // for attempts 0..3
	}{{-1, "---R"}, {-2, "--R-"}, {1, "-RRR"}, {2, "--R-"}, {3, "---R"}, {0, "----"}} {
		got := ""
		for a := 0; a <= 3; a++ {
			if redispatchAt(tc.interval, 3, a) {
				got += "R"
			} else {
				got += "-"
			}
		}
		if got != tc.want {
			t.Errorf("interval %d: %s, want %s", tc.interval, got, tc.want)
		}
	}
}
