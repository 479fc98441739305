package vrrp

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testCfg(version int, prio uint8) *InstanceConfig {
	c := &InstanceConfig{Name: "VI_1", Interface: "eth0", VRID: 51, Version: version, Priority: prio,
		AdvertInterval: 100, VIPs: []VIP{{Prefix: netip.MustParsePrefix("192.0.2.100/24")}}}
	if version == 3 {
		c.AdvertInterval = 10
	}
	return c
}

func kinds(acts []Action) []ActionKind {
	var k []ActionKind
	for _, a := range acts {
		if a.Kind != ActLog {
			k = append(k, a.Kind)
		}
	}
	return k
}

func adv(prio uint8, interval uint16) Advert {
	return Advert{Version: 2, VRID: 51, Priority: prio, Interval: interval, Addrs: []netip.Addr{vip}}
}

func TestTimers(t *testing.T) {
	tests := []struct {
		version    int
		prio       uint8
		skew, down time.Duration
	}{
		{2, 102, 154 * time.Second / 256, 3*time.Second + 154*time.Second/256},
		{2, 255, time.Second / 256, 3*time.Second + time.Second/256},
		{3, 102, 154 * 100 * time.Millisecond / 256, 300*time.Millisecond + 154*100*time.Millisecond/256},
	}
	for _, tt := range tests {
		m := NewMachine(testCfg(tt.version, tt.prio), n1)
		if got := m.SkewTime(); got != tt.skew {
			t.Errorf("v%d prio %d skew %v want %v", tt.version, tt.prio, got, tt.skew)
		}
		if got := m.MasterDownInterval(); got != tt.down {
			t.Errorf("v%d prio %d down %v want %v", tt.version, tt.prio, got, tt.down)
		}
	}
}

func TestBackupTimesOutToMaster(t *testing.T) {
	m := NewMachine(testCfg(2, 100), n1)
	acts := m.Start(t0, false)
	if m.State() != Backup || !slices.Equal(kinds(acts), []ActionKind{ActState}) {
		t.Fatalf("start: %v %v", m.State(), acts)
	}
	d := m.Deadline()
	if d.Sub(t0) != m.MasterDownInterval() {
		t.Fatalf("deadline %v", d.Sub(t0))
	}
	if acts := m.Tick(d.Add(-time.Nanosecond)); acts != nil {
		t.Fatalf("early tick: %v", acts)
	}
	acts = m.Tick(d)
	if m.State() != Master || !slices.Equal(kinds(acts), []ActionKind{ActSend, ActAddVIPs, ActGARP, ActState}) {
		t.Fatalf("timeout: %v %v", m.State(), acts)
	}
	// Adverts every interval.
	if got := m.Deadline().Sub(d); got != time.Second {
		t.Fatalf("next advert in %v", got)
	}
	if acts := m.Tick(m.Deadline()); len(acts) != 1 || acts[0].Kind != ActSend || acts[0].Priority != 100 {
		t.Fatalf("advert tick: %v", acts)
	}
}

func TestOwnerStartsMaster(t *testing.T) {
	c := testCfg(2, 255)
	c.StateMaster = true
	m := NewMachine(c, n1)
	m.Start(t0, false)
	if m.State() != Master {
		t.Fatal(m.State())
	}
	// state MASTER below 255 still starts as BACKUP (keepalived).
	c = testCfg(2, 101)
	c.StateMaster = true
	m = NewMachine(c, n1)
	m.Start(t0, false)
	if m.State() != Backup {
		t.Fatal(m.State())
	}
}

func TestBackupReceive(t *testing.T) {
	type step struct {
		at    time.Duration
		prio  uint8
		state State
	}
	tests := []struct {
		name   string
		mut    func(*InstanceConfig)
		steps  []step
		wantAt time.Duration // when the down timer fires after the last step (relative to t0)
	}{
		{"higher resets timer", nil, []step{{time.Second, 110, Backup}}, time.Second + 3*time.Second + 156*time.Second/256},
		{"equal resets timer", nil, []step{{time.Second, 100, Backup}}, time.Second + 3*time.Second + 156*time.Second/256},
		{"priority 0 -> skew", nil, []step{{time.Second, 0, Backup}}, time.Second + 156*time.Second/256},
		{"priority 0 -> skew/16 (fast resign)", func(c *InstanceConfig) { c.FastResign = true }, []step{{time.Second, 0, Backup}}, time.Second + 156*time.Second/256/16},
		{"lower discarded (RFC)", nil, []step{{time.Second, 90, Backup}}, 3*time.Second + 156*time.Second/256},
		{"lower preempts at once (fast)", func(c *InstanceConfig) { c.FastPreempt = true }, []step{{time.Second, 90, Master}}, 0},
		{"nopreempt holds on lower", func(c *InstanceConfig) { c.NoPreempt = true; c.FastPreempt = true },
			[]step{{time.Second, 90, Backup}}, time.Second + 3*time.Second + 156*time.Second/256},
		{"preempt_delay holds then preempts", func(c *InstanceConfig) { c.PreemptDelay = 2 * time.Second; c.FastPreempt = true },
			[]step{{time.Second, 90, Backup}, {2 * time.Second, 90, Backup}, {3 * time.Second, 90, Master}}, 0},
		{"preempt_delay stopped by higher", func(c *InstanceConfig) { c.PreemptDelay = 2 * time.Second; c.FastPreempt = true },
			[]step{{time.Second, 90, Backup}, {2 * time.Second, 110, Backup}, {2500 * time.Millisecond, 90, Backup}},
			2500*time.Millisecond + 3*time.Second + 156*time.Second/256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testCfg(2, 100)
			if tt.mut != nil {
				tt.mut(c)
			}
			m := NewMachine(c, n1)
			m.Start(t0, false)
			for _, s := range tt.steps {
				m.Advert(t0.Add(s.at), n2, adv(s.prio, 100))
				if m.State() != s.state {
					t.Fatalf("after prio %d at %v: %v, want %v", s.prio, s.at, m.State(), s.state)
				}
			}
			if m.State() == Backup {
				if got := m.Deadline().Sub(t0); got != tt.wantAt {
					t.Fatalf("down timer at %v, want %v", got, tt.wantAt)
				}
			}
		})
	}
}

func masterAt(t *testing.T, c *InstanceConfig, own netip.Addr) *Machine {
	t.Helper()
	m := NewMachine(c, own)
	m.Start(t0, false)
	m.Tick(m.Deadline())
	if m.State() != Master {
		t.Fatal("not master")
	}
	return m
}

func TestMasterReceive(t *testing.T) {
	tests := []struct {
		name      string
		own, src  netip.Addr
		prio      uint8
		wantState State
		want      []ActionKind
	}{
		{"higher priority", n1, n2, 101, Backup, []ActionKind{ActSend, ActDelVIPs, ActState}},
		{"equal, higher address wins", n1, n2, 100, Backup, []ActionKind{ActSend, ActDelVIPs, ActState}},
		{"equal, lower address loses", n2, n1, 100, Master, []ActionKind{ActSend, ActGARPOnce}},
		{"lower forces election and re-announces", n1, n2, 99, Master, []ActionKind{ActSend, ActGARPOnce}},
		{"priority 0 answered", n1, n2, 0, Master, []ActionKind{ActSend}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := masterAt(t, testCfg(2, 100), tt.own)
			acts := m.Advert(t0.Add(10*time.Second), tt.src, adv(tt.prio, 100))
			if m.State() != tt.wantState || !slices.Equal(kinds(acts), tt.want) {
				t.Fatalf("%v %v", m.State(), acts)
			}
		})
	}
}

func TestFaultAndStop(t *testing.T) {
	m := masterAt(t, testCfg(2, 100), n1)
	now := t0.Add(10 * time.Second)
	acts := m.SetFault(now, true)
	if m.State() != Fault || !slices.Equal(kinds(acts), []ActionKind{ActSend, ActDelVIPs, ActState}) || acts[0].Priority != 0 {
		t.Fatalf("fault: %v", acts)
	}
	if m.Advert(now, n2, adv(50, 100)) != nil || m.Deadline() != (time.Time{}) {
		t.Fatal("FAULT must ignore adverts and have no timer")
	}
	m.SetFault(now, false)
	if m.State() != Backup || m.Deadline().Sub(now) != m.MasterDownInterval() {
		t.Fatalf("leave fault: %v", m.State())
	}
	m = masterAt(t, testCfg(2, 100), n1)
	acts = m.Stop(now)
	if !slices.Equal(kinds(acts), []ActionKind{ActSend, ActDelVIPs, ActState}) || acts[0].Priority != 0 {
		t.Fatalf("stop: %v", acts)
	}
	m = NewMachine(testCfg(2, 100), n1)
	if m.Start(t0, true); m.State() != Fault {
		t.Fatal("init fault")
	}
}

func TestPriorityChangeAdvertisesAtOnce(t *testing.T) {
	m := masterAt(t, testCfg(2, 103), n1)
	acts := m.SetPriority(t0.Add(5*time.Second), 101)
	if !slices.Equal(kinds(acts), []ActionKind{ActSend}) || acts[1].Priority != 101 || m.Priority() != 101 {
		t.Fatalf("%v", acts)
	}
	if m.SetPriority(t0, 101) != nil {
		t.Fatal("no change must be silent")
	}
}

// Two machines wired back to back with a fake network and clock: exactly
// one master at every instant after the election, and a weight drop on
// the master moves mastership in one advert with FastPreempt.
func TestPairConverges(t *testing.T) {
	ca, cb := testCfg(3, 103), testCfg(3, 102)
	ca.FastPreempt, cb.FastPreempt = true, true
	a, b := NewMachine(ca, n1), NewMachine(cb, n2)
	now := t0
	var queue []struct {
		to   *Machine
		from netip.Addr
		ad   Advert
	}
	deliver := func(from *Machine, fromAddr netip.Addr, acts []Action) {
		for _, x := range acts {
			if x.Kind == ActSend {
				to := a
				if from == a {
					to = b
				}
				queue = append(queue, struct {
					to   *Machine
					from netip.Addr
					ad   Advert
				}{to, fromAddr, Advert{Version: 3, VRID: 51, Priority: x.Priority, Interval: 10, Addrs: []netip.Addr{vip}}})
			}
		}
	}
	deliver(a, n1, a.Start(now, false))
	deliver(b, n2, b.Start(now.Add(50*time.Millisecond), false))
	masters := func() int {
		n := 0
		for _, m := range []*Machine{a, b} {
			if m.State() == Master {
				n++
			}
		}
		return n
	}
	step := func(until time.Time) {
		for now.Before(until) {
			now = now.Add(time.Millisecond)
			for len(queue) > 0 {
				q := queue[0]
				queue = queue[1:]
				from := a
				if q.to == a {
					from = b
				}
				deliver(q.to, map[*Machine]netip.Addr{a: n1, b: n2}[q.to], q.to.Advert(now, q.from, q.ad))
				_ = from
			}
			for _, m := range []*Machine{a, b} {
				if d := m.Deadline(); !d.IsZero() && !now.Before(d) {
					deliver(m, map[*Machine]netip.Addr{a: n1, b: n2}[m], m.Tick(now))
				}
			}
		}
	}
	step(t0.Add(2 * time.Second))
	if a.State() != Master || b.State() != Backup {
		t.Fatalf("election: a %v b %v", a.State(), b.State())
	}
	deliver(a, n1, a.SetPriority(now, 101))
	step(now.Add(2 * time.Millisecond))
	if a.State() != Backup || b.State() != Master || masters() != 1 {
		t.Fatalf("after weight drop: a %v b %v", a.State(), b.State())
	}
	step(now.Add(2 * time.Second))
	if masters() != 1 {
		t.Fatal("two masters")
	}
}

func TestEffectivePriority(t *testing.T) {
	tests := []struct {
		base    uint8
		weights int
		want    uint8
	}{{100, 2, 102}, {100, -200, 1}, {250, 10, 254}, {255, -50, 255}, {101, 0, 101}}
	for _, tt := range tests {
		if got := EffectivePriority(tt.base, tt.weights); got != tt.want {
			t.Errorf("EffectivePriority(%d,%d)=%d want %d", tt.base, tt.weights, got, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	base := testCfg(2, 100)
	enc := func(a Advert, src, dst netip.Addr) []byte {
		b, err := Encode(a, src, dst)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := enc(adv(101, 100), n2, Group4)
	tests := []struct {
		name string
		cfg  func(*InstanceConfig)
		r    Received
		b    []byte
		want error
	}{
		{"ok", nil, Received{n2, Group4, 255}, good, nil},
		{"ttl", nil, Received{n2, Group4, 254}, good, ErrTTL},
		{"version", func(c *InstanceConfig) { c.Version = 3; c.AdvertInterval = 100 }, Received{n2, Group4, 255}, good, ErrWrongVersion},
		{"interval", func(c *InstanceConfig) { c.AdvertInterval = 200 }, Received{n2, Group4, 255}, good, ErrIntervalMis},
		{"auth", func(c *InstanceConfig) { c.AuthType = AuthPass; c.AuthPass = "x" }, Received{n2, Group4, 255}, good, ErrAuth},
		{"count", func(c *InstanceConfig) { c.VIPs = append(c.VIPs, VIP{Prefix: netip.MustParsePrefix("192.0.2.101/32")}) }, Received{n2, Group4, 255}, good, ErrAddrCount},
		{"missing vip", func(c *InstanceConfig) { c.VIPs = []VIP{{Prefix: netip.MustParsePrefix("192.0.2.101/32")}} }, Received{n2, Group4, 255}, good, ErrAddrMissing},
		{"multicast in unicast mode", func(c *InstanceConfig) { c.UnicastPeers = []netip.Addr{n2} }, Received{n2, Group4, 255}, good, ErrCastMismatch},
		{"unicast ok, ttl not checked", func(c *InstanceConfig) { c.UnicastPeers = []netip.Addr{n2}; c.CheckUnicastSrc = true },
			Received{n2, n1, 64}, enc(adv(101, 100), n2, n1), nil},
		{"unicast unknown peer", func(c *InstanceConfig) { c.UnicastPeers = []netip.Addr{n2}; c.CheckUnicastSrc = true },
			Received{vip, n1, 255}, enc(adv(101, 100), vip, n1), ErrUnknownPeer},
		{"checksum", nil, Received{n2, Group4, 255}, append(append([]byte(nil), good[:7]...), append([]byte{good[7] ^ 1}, good[8:]...)...), ErrChecksum},
		{"vrid", nil, Received{n2, Group4, 255}, enc(Advert{Version: 2, VRID: 52, Priority: 1, Interval: 100, Addrs: []netip.Addr{vip}}, n2, Group4), ErrVRID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *base
			if tt.cfg != nil {
				tt.cfg(&c)
			}
			_, err := c.Check(tt.r, tt.b)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestForce(t *testing.T) {
	m := NewMachine(testCfg(2, 100), n1)
	m.Start(t0, false)
	if acts := m.Force(t0, Master); m.State() != Master || !slices.Equal(kinds(acts), []ActionKind{ActSend, ActAddVIPs, ActGARP, ActState}) {
		t.Fatalf("force master: %v", acts)
	}
	if acts := m.Force(t0, Fault); m.State() != Fault || acts[0].Kind != ActSend || acts[0].Priority != 0 {
		t.Fatalf("force fault: %v", acts)
	}
	m.ForceLeaveFault(t0)
	if m.State() != Backup {
		t.Fatal(m.State())
	}
	// Own tracking failure keeps FAULT even if the group leaves it.
	m.SetFault(t0, true)
	if m.ForceLeaveFault(t0) != nil || m.State() != Fault {
		t.Fatal("left FAULT despite own failure")
	}
}
