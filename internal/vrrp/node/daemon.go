package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/halo-lb/halo/internal/vrrp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TrackRef refers to a tracked object from an instance, optionally
// overriding its weight (track_script { NAME weight N [reverse] }).
type TrackRef struct {
	Name      string
	Weight    int
	HasWeight bool
	Reverse   bool
}

// Notify holds the notify commands of an instance (argv form).
type Notify struct {
	Master, Backup, Fault, Stop []string
	Any                         []string            // "notify": gets INSTANCE name STATE priority appended
	Cred                        *syscall.Credential // run as this user (script_user); nil: our own
}

// Instance is one vrrp_instance with its tracking and notifies.
type Instance struct {
	vrrp.InstanceConfig
	TrackChecks     []TrackRef // vrrp_script, vrrp_track_process, track_halo names
	TrackInterfaces []TrackRef
	Notify          Notify
}

// SyncGroup is a vrrp_sync_group: its members change state together.
type SyncGroup struct {
	Name    string
	Members []string
	Notify  Notify // "notify" gets GROUP name STATE 0 appended
}

// Config is everything the daemon runs.
type Config struct {
	Instances  []*Instance
	Checks     []*Check
	SyncGroups []*SyncGroup
}

// Options tune the daemon.
type Options struct {
	// Logf receives keepalived-style log lines. Required.
	Logf func(format string, args ...any)
	// Detail enables per-packet diagnostics (-D).
	Detail bool
}

// Daemon runs VRRP instances until its context ends.
type Daemon struct {
	opt   Options
	c4    *conn4
	c6    *conn6
	rx    chan rxPacket
	insts []*inst
	// tracked state
	checks    map[string]*Check
	checkUp   map[string]bool
	linkUp    map[string]bool
	checkStop context.CancelFunc
	checkEv   chan checkEvent
	wg        sync.WaitGroup // background goroutines (checks, GARP bursts, readers)
	done      chan struct{}
	groups    map[string]*groupState // instance name -> its sync group
	syncing   bool                   // propagating a sync-group transition
}

type groupState struct {
	g     *SyncGroup
	state vrrp.State
}

type inst struct {
	cfg     *Instance
	ifi     *net.Interface
	src     netip.Addr
	dsts    []netip.Addr
	m       *vrrp.Machine
	gen     atomic.Int64 // bumped on every MASTER entry/exit; cancels delayed GARP
	lastErr string
	state   vrrp.State // last state reported by the machine
	pending error      // interface or source address missing: FAULT until it appears
}

// New returns a daemon for cfg.
func New(opt Options) *Daemon {
	return &Daemon{opt: opt, rx: make(chan rxPacket, 64), checkEv: make(chan checkEvent, 16), done: make(chan struct{})}
}

func (d *Daemon) logf(format string, a ...any) { d.opt.Logf(format, a...) }

// Run starts cfg and runs until ctx is cancelled; then every master resigns
// (priority 0) and removes its VIPs. Configurations received on reload
// replace the running one, keeping VIPs and state of unchanged instances.
func (d *Daemon) Run(ctx context.Context, cfg *Config, reload <-chan *Config) error {
	defer func() {
		close(d.done)
		if d.c4 != nil {
			d.c4.close()
		}
		if d.c6 != nil {
			d.c6.close()
		}
		if d.checkStop != nil {
			d.checkStop()
		}
		d.wg.Wait()
	}()
	links := make(chan netlink.LinkUpdate, 16)
	lctx, lcancel := context.WithCancel(context.Background())
	defer lcancel()
	if err := netlink.LinkSubscribeWithOptions(links, lctx.Done(), netlink.LinkSubscribeOptions{}); err != nil {
		return fmt.Errorf("netlink link subscription: %w", err)
	}
	d.linkUp = map[string]bool{}
	if err := d.apply(cfg, time.Now()); err != nil {
		d.stopAll(time.Now())
		return err
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		next := now.Add(time.Hour)
		for _, in := range d.insts {
			if dl := in.m.Deadline(); !dl.IsZero() && dl.Before(next) {
				next = dl
			}
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			d.stopAll(time.Now())
			return nil
		case nc := <-reload:
			d.logf("Reloading")
			if err := d.apply(nc, time.Now()); err != nil {
				d.logf("reload failed: %v", err)
			}
		case p := <-d.rx:
			d.receive(time.Now(), p)
		case ev := <-d.checkEv:
			if ev.up {
				d.logf("VRRP_Script(%s) succeeded", ev.name)
			} else {
				d.logf("VRRP_Script(%s) failed (%s)", ev.name, ev.msg)
			}
			d.checkUp[ev.name] = ev.up
			d.recompute(time.Now())
		case lu, ok := <-links:
			if !ok {
				return errors.New("netlink link subscription closed")
			}
			name := lu.Attrs().Name
			up := lu.Attrs().Flags&net.FlagUp != 0 && lu.Attrs().RawFlags&unix.IFF_RUNNING != 0
			if up {
				d.retryPending(name)
			}
			if old, seen := d.linkUp[name]; !seen || old != up {
				d.linkUp[name] = up
				if !up {
					d.logf("Netlink reports %s down", name)
				} else {
					d.logf("Netlink reports %s up", name)
				}
				d.recompute(time.Now())
			}
		case <-timer.C:
			now := time.Now()
			for _, in := range d.insts {
				if dl := in.m.Deadline(); !dl.IsZero() && !now.Before(dl) {
					d.exec(in, in.m.Tick(now))
				}
			}
		}
	}
}

// apply installs cfg (first start or reload).
func (d *Daemon) apply(cfg *Config, now time.Time) error {
	// Checks: restart them all (their state starts from init again).
	if d.checkStop != nil {
		d.checkStop()
	}
	d.checks = map[string]*Check{}
	d.checkUp = map[string]bool{}
	cctx, cancel := context.WithCancel(context.Background())
	d.checkStop = cancel
	for _, c := range cfg.Checks {
		d.checks[c.Name] = c
		d.checkUp[c.Name] = !c.InitFail
		d.wg.Add(1)
		go func() { defer d.wg.Done(); runCheck(cctx, c, d.checkEv) }()
	}
	d.groups = map[string]*groupState{}
	for _, g := range cfg.SyncGroups {
		gs := &groupState{g: g}
		for _, m := range g.Members {
			d.groups[m] = gs
		}
	}
	old := map[string]*inst{}
	for _, in := range d.insts {
		old[in.cfg.Name] = in
	}
	var next []*inst
	for _, ic := range cfg.Instances {
		if err := ic.Validate(); err != nil {
			return err
		}
		in, err := d.setup(ic)
		if err != nil {
			if errors.Is(err, errNoAddr) || isNoSuchInterface(err) {
				// keepalived keeps such an instance in FAULT until the interface is usable.
				d.logf("%v - instance stays in FAULT until it is usable", err)
				in = &inst{cfg: ic, pending: err}
			} else {
				return err
			}
		}
		if o := old[ic.Name]; o != nil && o.cfg.Interface == ic.Interface && o.cfg.VRID == ic.VRID && o.cfg.IPv6() == ic.IPv6() {
			delete(old, ic.Name)
			if o.m.State() == vrrp.Master {
				for _, v := range append(slices.Clone(o.cfg.VIPs), o.cfg.ExcludedVIPs...) {
					if !slices.ContainsFunc(append(slices.Clone(ic.VIPs), ic.ExcludedVIPs...), func(n vrrp.VIP) bool { return n.Prefix == v.Prefix }) {
						if err := delVIP(v, o.cfg.Interface); err != nil {
							d.logf("(%s) %v", ic.Name, err)
						}
					}
				}
				d.addVIPs(in)
			}
			in.m = o.m
			in.m.Reconfigure(&ic.InstanceConfig, in.src)
			in.gen.Store(o.gen.Load())
			next = append(next, in)
			continue
		}
		if in.pending == nil {
			d.removeResidual(in)
		}
		in.m = vrrp.NewMachine(&ic.InstanceConfig, in.src)
		next = append(next, in)
	}
	for _, o := range old {
		d.exec(o, o.m.Stop(now))
	}
	fresh := []*inst{}
	for _, in := range next {
		if in.m.State() == vrrp.Init {
			fresh = append(fresh, in)
		}
	}
	d.insts = next
	for _, in := range d.insts {
		if _, seen := d.linkUp[in.cfg.Interface]; !seen && in.ifi != nil {
			d.linkUp[in.cfg.Interface] = in.ifi.Flags&net.FlagUp != 0
		}
		for _, t := range in.cfg.TrackInterfaces {
			if _, seen := d.linkUp[t.Name]; !seen {
				if ifi, err := net.InterfaceByName(t.Name); err == nil {
					d.linkUp[t.Name] = ifi.Flags&net.FlagUp != 0
				}
			}
		}
	}
	for _, in := range fresh {
		fault, prio := d.trackState(in)
		in.m.SetPriority(now, prio)
		d.exec(in, in.m.Start(now, fault))
	}
	d.recompute(now)
	return nil
}

// setup resolves the interface and addresses and opens sockets.
func (d *Daemon) setup(ic *Instance) (*inst, error) {
	ifi, err := net.InterfaceByName(ic.Interface)
	if err != nil {
		return nil, fmt.Errorf("(%s) interface %s: %w", ic.Name, ic.Interface, err)
	}
	in := &inst{cfg: ic, ifi: ifi, src: ic.SrcAddr}
	v6 := ic.IPv6()
	if !in.src.IsValid() {
		if in.src, err = primaryAddr(ifi, v6, append(slices.Clone(ic.VIPs), ic.ExcludedVIPs...)); err != nil {
			return nil, fmt.Errorf("(%s) %w", ic.Name, err)
		}
	}
	group := vrrp.Group4
	if v6 {
		group = vrrp.Group6
	}
	if ic.McastGroup.IsValid() {
		group = ic.McastGroup
	}
	if len(ic.UnicastPeers) > 0 {
		in.dsts = ic.UnicastPeers
	} else {
		in.dsts = []netip.Addr{group}
	}
	if v6 {
		if d.c6 == nil {
			if d.c6, err = openConn6(); err != nil {
				return nil, err
			}
			d.wg.Add(1)
			go func() { defer d.wg.Done(); d.c6.read(d.rx, d.done) }()
		}
		if len(ic.UnicastPeers) == 0 {
			if err := d.c6.join(ifi, group); err != nil {
				return nil, err
			}
		}
	} else {
		if d.c4 == nil {
			if d.c4, err = openConn4(); err != nil {
				return nil, err
			}
			d.wg.Add(1)
			go func() { defer d.wg.Done(); d.c4.read(d.rx, d.done) }()
		}
		if len(ic.UnicastPeers) == 0 {
			if err := d.c4.join(ifi, group); err != nil {
				return nil, err
			}
		}
	}
	return in, nil
}

// retryPending sets up instances whose interface was missing once it
// appears; recompute then lets them leave FAULT.
func (d *Daemon) retryPending(ifname string) {
	for _, in := range d.insts {
		if in.pending == nil || in.cfg.Interface != ifname {
			continue
		}
		n, err := d.setup(in.cfg)
		if err != nil {
			in.pending = err
			continue
		}
		in.ifi, in.src, in.dsts, in.pending = n.ifi, n.src, n.dsts, nil
		in.m.Reconfigure(&in.cfg.InstanceConfig, in.src)
		d.logf("(%s) interface %s is usable now", in.cfg.Name, ifname)
	}
}

func isNoSuchInterface(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such network interface")
}

// removeResidual removes VIPs of in left on the interfaces by a previous
// run that crashed (keepalived does the same at start).
func (d *Daemon) removeResidual(in *inst) {
	found := false
	for _, v := range append(slices.Clone(in.cfg.VIPs), in.cfg.ExcludedVIPs...) {
		if hasVIP(v, in.cfg.Interface) {
			found = true
		}
	}
	if !found {
		return
	}
	d.logf("(%s) removing VIPs.", in.cfg.Name)
	d.delVIPs(in)
}

// trackState returns whether in is in fault and its effective priority.
func (d *Daemon) trackState(in *inst) (bool, uint8) {
	fault := !d.linkUp[in.cfg.Interface] || in.pending != nil
	sum := 0
	apply := func(up bool, w int, reverse bool) {
		if reverse {
			up = !up
		}
		switch {
		case w == 0:
			if !up {
				fault = true
			}
		case w > 0 && up, w < 0 && !up:
			sum += w
		}
	}
	for _, t := range in.cfg.TrackChecks {
		c := d.checks[t.Name]
		if c == nil {
			continue
		}
		w, rev := c.Weight, c.Reverse
		if t.HasWeight {
			w, rev = t.Weight, t.Reverse
		}
		apply(d.checkUp[t.Name], w, rev)
	}
	for _, t := range in.cfg.TrackInterfaces {
		up, seen := d.linkUp[t.Name]
		apply(up && seen, t.Weight, t.Reverse)
	}
	return fault, vrrp.EffectivePriority(in.cfg.Priority, sum)
}

func (d *Daemon) recompute(now time.Time) {
	for _, in := range d.insts {
		if in.m.State() == vrrp.Init || in.m.State() == vrrp.Stopped {
			continue
		}
		fault, prio := d.trackState(in)
		if fault {
			d.exec(in, in.m.SetPriority(now, prio))
			d.exec(in, in.m.SetFault(now, true))
		} else {
			d.exec(in, in.m.SetFault(now, false))
			d.exec(in, in.m.SetPriority(now, prio))
		}
	}
}

func (d *Daemon) receive(now time.Time, p rxPacket) {
	if len(p.data) < 2 {
		return
	}
	vrid := p.data[1]
	for _, in := range d.insts {
		if in.pending != nil || in.cfg.VRID != vrid || in.cfg.IPv6() == p.src.Is4() || p.src == in.src {
			continue
		}
		unicast := len(in.cfg.UnicastPeers) > 0
		if !unicast && p.ifIndex != 0 && p.ifIndex != in.ifi.Index {
			continue
		}
		if unicast && p.dst != in.src && !p.dst.IsMulticast() {
			continue
		}
		a, err := in.cfg.Check(vrrp.Received{Src: p.src, Dst: p.dst, TTL: p.ttl}, p.data)
		if errors.Is(err, vrrp.ErrAddrMissing) && in.cfg.SkipCheckAdvAddr && p.src == in.m.MasterAddr() {
			err = nil // skip_check_adv_addr: same master as before
		}
		if err != nil {
			if msg := err.Error(); msg != in.lastErr || d.opt.Detail {
				in.lastErr = msg
				d.logf("(%s) %v, dropping advert from %v", in.cfg.Name, err, p.src)
			}
			continue
		}
		in.lastErr = ""
		d.exec(in, in.m.Advert(now, p.src, a))
	}
}

func (d *Daemon) stopAll(now time.Time) {
	for _, in := range d.insts {
		d.exec(in, in.m.Stop(now))
	}
}

func (d *Daemon) send(in *inst, prio uint8) {
	if in.pending != nil {
		return
	}
	c := &in.cfg.InstanceConfig
	a := vrrp.Advert{Version: c.Version, VRID: c.VRID, Priority: prio, Interval: c.AdvertInterval,
		AuthType: c.AuthType, Addrs: c.AdvertAddrs()}
	if c.AuthType == vrrp.AuthPass {
		copy(a.AuthData[:], c.AuthPass)
	}
	for _, dst := range in.dsts {
		b, err := vrrp.Encode(a, in.src, dst)
		if err != nil {
			d.logf("(%s) encode advert: %v", c.Name, err)
			return
		}
		if c.IPv6() {
			err = d.c6.send(in.ifi, in.src, dst, b)
		} else {
			err = d.c4.send(in.ifi, in.src, dst, b, in.cfg.UnicastTTL)
		}
		if err != nil && d.opt.Detail {
			d.logf("(%s) %v", c.Name, err)
		}
	}
}

func (d *Daemon) addVIPs(in *inst) {
	for _, v := range append(slices.Clone(in.cfg.VIPs), in.cfg.ExcludedVIPs...) {
		if err := addVIP(v, in.cfg.Interface); err != nil {
			d.logf("(%s) %v", in.cfg.Name, err)
		}
	}
}

func (d *Daemon) delVIPs(in *inst) {
	for _, v := range append(slices.Clone(in.cfg.VIPs), in.cfg.ExcludedVIPs...) {
		if err := delVIP(v, in.cfg.Interface); err != nil {
			d.logf("(%s) %v", in.cfg.Name, err)
		}
	}
}

func (d *Daemon) exec(in *inst, acts []vrrp.Action) {
	name := in.cfg.Name
	for _, a := range acts {
		switch a.Kind {
		case vrrp.ActLog:
			d.logf("(%s) %s", name, a.Msg)
		case vrrp.ActSend:
			d.send(in, a.Priority)
		case vrrp.ActAddVIPs:
			d.logf("(%s) setting VIPs.", name)
			d.addVIPs(in)
		case vrrp.ActDelVIPs:
			d.logf("(%s) removing VIPs.", name)
			d.delVIPs(in)
		case vrrp.ActGARP:
			d.garp(in, false)
		case vrrp.ActGARPOnce:
			d.garp(in, true)
		case vrrp.ActState:
			in.gen.Add(1)
			prev := in.state
			in.state = a.State
			d.notify(in, a.State, a.Priority)
			d.syncGroup(in, prev, a.State)
		}
	}
}

// garp sends the announcement bursts: GARPRepeat now and again after
// GARPDelay if still master, then every GARPRefresh.
func (d *Daemon) garp(in *inst, once bool) {
	c := in.cfg
	vips := append(slices.Clone(c.VIPs), c.ExcludedVIPs...)
	repeat := c.GARPRepeat
	if repeat <= 0 {
		repeat = 5
	}
	for _, v := range vips {
		d.logf("Sending gratuitous ARP on %s for %v", vipDev(v, c.Interface), v.Prefix.Addr())
	}
	gen := in.gen.Load() + 1 // the ActState that follows bumps it
	if once {
		gen--
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := sendAnnouncements(vips, c.Interface, repeat); err != nil {
			d.logf("(%s) %v", c.Name, err)
		}
		delay, refresh := c.GARPDelay, c.GARPRefresh
		for !once && (delay > 0 || refresh > 0) {
			wait := delay
			if wait <= 0 {
				wait = refresh
			}
			select {
			case <-time.After(wait):
			case <-d.done:
				return
			}
			if in.gen.Load() != gen {
				return
			}
			if err := sendAnnouncements(vips, c.Interface, repeat); err != nil {
				d.logf("(%s) %v", c.Name, err)
			}
			delay = 0
		}
	}()
}

// syncGroup moves the other members of in's sync group along with it.
func (d *Daemon) syncGroup(in *inst, prev, to vrrp.State) {
	gs := d.groups[in.cfg.Name]
	if gs == nil || d.syncing || to == vrrp.Stopped {
		return
	}
	d.syncing = true
	defer func() { d.syncing = false }()
	now := time.Now()
	for _, o := range d.insts {
		if o == in || d.groups[o.cfg.Name] != gs {
			continue
		}
		if prev == vrrp.Fault && to == vrrp.Backup {
			d.exec(o, o.m.ForceLeaveFault(now))
		} else {
			d.exec(o, o.m.Force(now, to))
		}
	}
	if gs.state != to {
		gs.state = to
		n := gs.g.Notify
		var spec []string
		switch to {
		case vrrp.Master:
			spec = n.Master
		case vrrp.Backup:
			spec = n.Backup
		case vrrp.Fault:
			spec = n.Fault
		}
		var all []string
		if len(n.Any) > 0 {
			all = append(slices.Clone(n.Any), "GROUP", gs.g.Name, to.String(), "0")
		}
		d.logf("(%s) Syncing instances to %s state", gs.g.Name, to)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			runNotify(spec, n.Cred, false, d.logf)
			runNotify(all, n.Cred, false, d.logf)
		}()
	}
}

func (d *Daemon) notify(in *inst, s vrrp.State, prio uint8) {
	n := in.cfg.Notify
	var spec []string
	switch s {
	case vrrp.Master:
		spec = n.Master
	case vrrp.Backup:
		spec = n.Backup
	case vrrp.Fault:
		spec = n.Fault
	case vrrp.Stopped:
		spec = n.Stop
	}
	stop := s == vrrp.Stopped
	var any []string
	if len(n.Any) > 0 {
		any = append(slices.Clone(n.Any), "INSTANCE", in.cfg.Name, s.String(), strconv.Itoa(int(prio)))
	}
	run := func() {
		runNotify(spec, n.Cred, stop, d.logf)
		runNotify(any, n.Cred, stop, d.logf)
	}
	if stop {
		run() // notify_stop runs before exit, bounded to 1 s each
		return
	}
	d.wg.Add(1)
	go func() { defer d.wg.Done(); run() }()
}
