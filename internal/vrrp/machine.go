package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is a VRRP instance state.
type State int

// Instance states; Fault is keepalived's extension (tracked failure).
const (
	Init State = iota
	Backup
	Master
	Fault
	Stopped
)

func (s State) String() string {
	switch s {
	case Init:
		return "INIT"
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	case Fault:
		return "FAULT"
	case Stopped:
		return "STOP"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// ActionKind says what the runtime must do.
type ActionKind int

// Actions emitted by the Machine, to be executed in order.
const (
	ActLog      ActionKind = iota // Msg: a log line (without the "(name) " prefix)
	ActSend                       // send an advert with Priority
	ActAddVIPs                    // add the VIPs to the interfaces
	ActDelVIPs                    // remove the VIPs
	ActGARP                       // start a gratuitous ARP / NA burst sequence
	ActState                      // state changed to State (run notifies)
	ActGARPOnce                   // one GARP/NA burst (split-brain recovery), no delayed repeat
)

// Action is one output of the Machine.
type Action struct {
	Kind     ActionKind
	Priority uint8
	State    State
	Msg      string
}

// Machine is the deterministic VRRP protocol core of one instance. It does
// no I/O and reads no clock: every input carries the current time and every
// output is a list of Actions. It is not safe for concurrent use.
type Machine struct {
	cfg   *InstanceConfig
	own   netip.Addr // our source address, for the tie-break
	state State
	prio  uint8 // effective priority
	fault bool

	masterAdverInt uint16 // centiseconds, learnt from adverts in v3
	downAt         time.Time
	advertAt       time.Time
	preemptUntil   time.Time // zero: preempt delay not running
	lowerGARPAt    time.Time // last lower-priority advert heard as master
	master         netip.Addr
}

// NewMachine returns a machine in Init state. own is the address our
// adverts come from (used for the equal-priority tie-break).
func NewMachine(cfg *InstanceConfig, own netip.Addr) *Machine {
	return &Machine{cfg: cfg, own: own, prio: cfg.Priority, masterAdverInt: cfg.AdvertInterval}
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority.
func (m *Machine) Priority() uint8 { return m.prio }

// Master returns the address of the last master heard from (zero if none).
func (m *Machine) MasterAddr() netip.Addr { return m.master }

func cs(v uint16) time.Duration { return time.Duration(v) * 10 * time.Millisecond }

// SkewTime returns Skew_Time for priority p, as keepalived computes it:
// (256-p)/256 s for VRRPv2, scaled by Master_Adver_Interval for VRRPv3.
func (m *Machine) SkewTime() time.Duration {
	p := time.Duration(256 - int(m.prio))
	if m.cfg.Version == 2 {
		return p * time.Second / 256
	}
	return p * cs(m.masterAdverInt) / 256
}

// MasterDownInterval returns down_timer_adverts × Master_Adver_Interval + Skew_Time.
func (m *Machine) MasterDownInterval() time.Duration {
	return time.Duration(m.cfg.downAdverts())*cs(m.masterAdverInt) + m.SkewTime()
}

// Deadline returns when Tick must next be called (zero: no timer).
func (m *Machine) Deadline() time.Time {
	switch m.state {
	case Backup:
		return m.downAt
	case Master:
		return m.advertAt
	}
	return time.Time{}
}

func logf(format string, a ...any) Action {
	return Action{Kind: ActLog, Msg: fmt.Sprintf(format, a...)}
}

// Start leaves Init: straight to MASTER for an address owner configured as
// MASTER, else BACKUP with a full Master_Down_Interval (keepalived's
// vrrp_init_state), or FAULT if a tracked object already failed.
func (m *Machine) Start(now time.Time, fault bool) []Action {
	m.fault = fault
	if fault {
		m.state = Fault
		return []Action{logf("Entering FAULT STATE (init)"), {Kind: ActState, State: Fault, Priority: m.prio}}
	}
	if m.cfg.StateMaster && m.cfg.Priority == 255 {
		return m.becomeMaster(now, nil)
	}
	return m.becomeBackup(now, "Entering BACKUP STATE (init)")
}

func (m *Machine) becomeMaster(now time.Time, acts []Action) []Action {
	m.state = Master
	m.preemptUntil = time.Time{}
	m.masterAdverInt = m.cfg.AdvertInterval
	m.advertAt = now.Add(cs(m.cfg.AdvertInterval))
	m.master = m.own
	return append(acts,
		logf("Entering MASTER STATE"),
		Action{Kind: ActSend, Priority: m.prio},
		Action{Kind: ActAddVIPs},
		Action{Kind: ActGARP},
		Action{Kind: ActState, State: Master, Priority: m.prio})
}

func (m *Machine) becomeBackup(now time.Time, msg string, acts ...Action) []Action {
	was := m.state
	m.state = Backup
	if was == Master {
		acts = append(acts, Action{Kind: ActDelVIPs})
	}
	m.downAt = now.Add(m.MasterDownInterval())
	return append(acts, logf("%s", msg), Action{Kind: ActState, State: Backup, Priority: m.prio})
}

// Advert handles an advert that passed InstanceConfig.Check.
func (m *Machine) Advert(now time.Time, src netip.Addr, a Advert) []Action {
	switch m.state {
	case Backup:
		return m.backupRx(now, src, a)
	case Master:
		return m.masterRx(now, src, a)
	}
	return nil
}

func (m *Machine) backupRx(now time.Time, src netip.Addr, a Advert) []Action {
	if a.Priority == 0 {
		wait := m.SkewTime()
		if m.cfg.FastResign {
			wait /= 16
		}
		m.downAt = now.Add(wait)
		return []Action{logf("Backup received priority 0 advertisement")}
	}
	var acts []Action
	hold := m.cfg.NoPreempt || a.Priority >= m.prio
	if !hold && m.cfg.PreemptDelay > 0 {
		if m.preemptUntil.IsZero() {
			m.preemptUntil = now.Add(m.cfg.PreemptDelay)
			acts = append(acts, logf("start preempt delay (%.2f s)", m.cfg.PreemptDelay.Seconds()))
		}
		hold = now.Before(m.preemptUntil)
	}
	if hold {
		if a.Priority >= m.prio && !m.preemptUntil.IsZero() {
			m.preemptUntil = time.Time{}
			acts = append(acts, logf("stop preempt delay"))
		}
		if m.cfg.Version == 3 && a.Interval != 0 {
			m.masterAdverInt = a.Interval
		}
		m.master = src
		m.downAt = now.Add(m.MasterDownInterval())
		return acts
	}
	if m.cfg.FastPreempt {
		acts = append(acts, logf("received lower priority (%d) advert from %v - preempting at once (ours %d)", a.Priority, src, m.prio))
		return m.becomeMaster(now, acts)
	}
	return append(acts, logf("received lower priority (%d) advert from %v - discarding", a.Priority, src))
}

func (m *Machine) masterRx(now time.Time, src netip.Addr, a Advert) []Action {
	if a.Priority == 0 {
		m.advertAt = now.Add(cs(m.cfg.AdvertInterval))
		return []Action{logf("Master received priority 0 advertisement from %v, sending advert", src), {Kind: ActSend, Priority: m.prio}}
	}
	var acts []Action
	if a.Priority == 255 && m.prio == 255 {
		acts = append(acts, logf("CONFIGURATION ERROR: local instance and a remote instance (%v) are both configured as address owner, please fix - reducing local priority", src))
		m.prio = 254
	}
	if a.Priority > m.prio || (a.Priority == m.prio && src.Compare(m.own) > 0) {
		// Like keepalived's higher_prio_send_advert (default in halo): one
		// last advert at our priority tells the winner that another master
		// existed, so it re-announces the VIPs (split-brain recovery).
		acts = append(acts, logf("Master received advert from %v with higher priority %d, ours %d", src, a.Priority, m.prio),
			Action{Kind: ActSend, Priority: m.prio})
		if m.cfg.Version == 3 && a.Interval != 0 {
			m.masterAdverInt = a.Interval
		}
		m.master = src
		return m.becomeBackup(now, "Entering BACKUP STATE", acts...)
	}
	if m.cfg.LowerPrioNoAdvert {
		return acts
	}
	m.advertAt = now.Add(cs(m.cfg.AdvertInterval))
	acts = append(acts,
		logf("Received advert from %v with lower priority %d, ours %d, forcing new election", src, a.Priority, m.prio),
		Action{Kind: ActSend, Priority: m.prio})
	// Another master existed (split brain): hosts may have its MAC for the
	// VIPs, so re-announce ours once per episode (an episode ends when no
	// lower-priority advert was heard for down_timer_adverts intervals).
	if m.lowerGARPAt.IsZero() || now.Sub(m.lowerGARPAt) > time.Duration(m.cfg.downAdverts())*cs(m.cfg.AdvertInterval) {
		acts = append(acts, Action{Kind: ActGARPOnce})
	}
	m.lowerGARPAt = now
	return acts
}

// Tick handles timer expiry; call it at or after Deadline.
func (m *Machine) Tick(now time.Time) []Action {
	switch m.state {
	case Backup:
		if !now.Before(m.downAt) {
			return m.becomeMaster(now, []Action{logf("Receive advertisement timeout")})
		}
	case Master:
		if !now.Before(m.advertAt) {
			m.advertAt = m.advertAt.Add(cs(m.cfg.AdvertInterval))
			if m.advertAt.Before(now) {
				m.advertAt = now.Add(cs(m.cfg.AdvertInterval))
			}
			return []Action{{Kind: ActSend, Priority: m.prio}}
		}
	}
	return nil
}

// SetPriority sets the effective priority (base + track weights, already
// clamped by EffectivePriority). A master advertises the change at once.
func (m *Machine) SetPriority(now time.Time, p uint8) []Action {
	if p == m.prio || p == 0 {
		return nil
	}
	acts := []Action{logf("Changing effective priority from %d to %d", m.prio, p)}
	m.prio = p
	if m.state == Master {
		m.advertAt = now.Add(cs(m.cfg.AdvertInterval))
		acts = append(acts, Action{Kind: ActSend, Priority: p})
	}
	return acts
}

// SetFault enters or leaves FAULT. A master entering FAULT resigns with a
// priority-0 advert and releases the VIPs at once.
func (m *Machine) SetFault(now time.Time, fault bool) []Action {
	if fault == m.fault {
		return nil
	}
	m.fault = fault
	if fault {
		if m.state == Stopped || m.state == Init {
			return nil
		}
		var acts []Action
		if m.state == Master {
			acts = append(acts, Action{Kind: ActSend, Priority: 0}, logf("sent 0 priority"), Action{Kind: ActDelVIPs})
		}
		m.state = Fault
		return append(acts, logf("Entering FAULT STATE"), Action{Kind: ActState, State: Fault, Priority: m.prio})
	}
	if m.state != Fault {
		return nil
	}
	if m.cfg.StateMaster && m.cfg.Priority == 255 {
		return m.becomeMaster(now, nil)
	}
	return m.becomeBackup(now, "Entering BACKUP STATE")
}

// Stop shuts the instance down: a master sends a priority-0 advert and
// removes its VIPs.
func (m *Machine) Stop(now time.Time) []Action {
	var acts []Action
	if m.state == Master {
		acts = append(acts, Action{Kind: ActSend, Priority: 0}, logf("sent 0 priority"), Action{Kind: ActDelVIPs})
	}
	m.state = Stopped
	return append(acts, Action{Kind: ActState, State: Stopped, Priority: m.prio})
}

// EffectivePriority returns base plus weights clamped to 1..254; an
// address owner (255) is never changed.
func EffectivePriority(base uint8, weights int) uint8 {
	if base == 255 {
		return 255
	}
	p := int(base) + weights
	return uint8(min(max(p, 1), 254))
}

// Reconfigure swaps in a new configuration for the same instance (reload)
// keeping the protocol state. The caller re-applies the effective priority.
func (m *Machine) Reconfigure(cfg *InstanceConfig, own netip.Addr) {
	m.cfg = cfg
	m.own = own
	if m.state != Backup {
		m.masterAdverInt = cfg.AdvertInterval
	}
	if cfg.Priority == 255 {
		m.prio = 255
	}
}

// Force moves the instance to MASTER, BACKUP or FAULT because another
// member of its sync group did (keepalived's vrrp_sync_group). Leaving a
// forced FAULT is ForceLeaveFault.
func (m *Machine) Force(now time.Time, to State) []Action {
	if m.state == to || m.state == Init || m.state == Stopped {
		return nil
	}
	switch to {
	case Master:
		if m.state != Backup {
			return nil
		}
		return m.becomeMaster(now, []Action{logf("sync group member became MASTER")})
	case Backup:
		if m.state != Master {
			return nil
		}
		return m.becomeBackup(now, "Entering BACKUP STATE (sync group)")
	case Fault:
		var acts []Action
		if m.state == Master {
			acts = append(acts, Action{Kind: ActSend, Priority: 0}, logf("sent 0 priority"), Action{Kind: ActDelVIPs})
		}
		m.state = Fault
		return append(acts, logf("Entering FAULT STATE (sync group)"), Action{Kind: ActState, State: Fault, Priority: m.prio})
	}
	return nil
}

// ForceLeaveFault ends a FAULT forced by the sync group unless the
// instance's own tracking still fails.
func (m *Machine) ForceLeaveFault(now time.Time) []Action {
	if m.state != Fault || m.fault {
		return nil
	}
	return m.becomeBackup(now, "Entering BACKUP STATE (sync group)")
}
