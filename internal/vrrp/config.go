package vrrp

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// VIP is one virtual_ipaddress entry.
type VIP struct {
	Prefix netip.Prefix // address and mask (/32 or /128 by default)
	Dev    string       // interface; empty means the instance's interface
	Label  string
	Brd    netip.Addr
	Scope  string // "global" (default), "host", "link", "site" or a number
}

// InstanceConfig is the configuration of one VRRP instance, independent of
// any configuration file syntax.
type InstanceConfig struct {
	Name      string
	Interface string
	VRID      uint8
	Version   int   // 2 or 3
	Priority  uint8 // base priority 1..255
	// AdvertInterval in centiseconds (100 = 1 s). VRRPv2 needs whole seconds.
	AdvertInterval    uint16
	StateMaster       bool // "state MASTER": only an initial wish, see Machine.Start
	NoPreempt         bool
	PreemptDelay      time.Duration
	VIPs              []VIP // carried in adverts
	ExcludedVIPs      []VIP // added and removed, not advertised
	AuthType          uint8 // VRRPv2: AuthNone or AuthPass
	AuthPass          string
	SrcAddr           netip.Addr   // unicast_src_ip / mcast_src_ip; zero: interface primary address
	UnicastPeers      []netip.Addr // non-empty: unicast mode
	DownTimerAdverts  int          // 0 means 3
	LowerPrioNoAdvert bool
	CheckUnicastSrc   bool
	SkipCheckAdvAddr  bool       // do not re-check the VIP list of adverts from the same master
	McastGroup        netip.Addr // mcast_dst_ip / vrrp_mcast_group4|6; zero: 224.0.0.18 / ff02::12
	UnicastTTL        int        // TTL of unicast IPv4 adverts (0: 255)
	// FastPreempt (halo extension, on by default in the keepalived adapter):
	// a preempting backup with a higher priority takes over on the first
	// lower-priority advert instead of waiting for Master_Down_Interval.
	FastPreempt bool
	// FastResign (halo extension, on by default in the keepalived adapter):
	// after a priority-0 advert the backup waits Skew_Time/16 instead of
	// Skew_Time, keeping the priority order between several backups.
	FastResign  bool
	GARPRepeat  int           // GARPs per VIP per burst (default 5)
	GARPDelay   time.Duration // second burst after this (default 5 s, 0 none)
	GARPRefresh time.Duration // periodic refresh while master (0 off)
}

// IPv6 reports whether the instance advertises IPv6 addresses (an
// instance without VIPs follows its unicast peers or source address).
func (c *InstanceConfig) IPv6() bool {
	switch {
	case len(c.VIPs) > 0:
		return !c.VIPs[0].Prefix.Addr().Is4()
	case len(c.UnicastPeers) > 0:
		return !c.UnicastPeers[0].Is4()
	case c.SrcAddr.IsValid():
		return !c.SrcAddr.Is4()
	}
	return false
}

// AdvertAddrs returns the addresses put in adverts, in config order.
func (c *InstanceConfig) AdvertAddrs() []netip.Addr {
	out := make([]netip.Addr, len(c.VIPs))
	for i, v := range c.VIPs {
		out[i] = v.Prefix.Addr()
	}
	return out
}

// Validate checks that the configuration produces adverts keepalived accepts.
func (c *InstanceConfig) Validate() error {
	if c.VRID == 0 {
		return fmt.Errorf("(%s) virtual_router_id missing or 0", c.Name)
	}
	if c.Priority == 0 {
		return fmt.Errorf("(%s) priority must be between 1 and 255", c.Name)
	}
	// No VIPs is allowed (notify-only instances): adverts then carry none.
	if len(c.VIPs) > 255 {
		return fmt.Errorf("(%s) more than 255 virtual addresses", c.Name)
	}
	v6 := c.IPv6()
	for _, v := range c.VIPs {
		if v.Prefix.Addr().Is4() == v6 {
			return fmt.Errorf("(%s) virtual_ipaddress %v: IPv4 and IPv6 mixed (use virtual_ipaddress_excluded)", c.Name, v.Prefix)
		}
	}
	switch c.Version {
	case 2:
		if v6 {
			return fmt.Errorf("(%s) IPv6 needs VRRP version 3", c.Name)
		}
		if c.AdvertInterval == 0 || c.AdvertInterval%100 != 0 || c.AdvertInterval > 25500 {
			return fmt.Errorf("(%s) VRRPv2 advert_int must be 1..255 whole seconds", c.Name)
		}
	case 3:
		if c.AdvertInterval == 0 || c.AdvertInterval > MaxInterval3 {
			return fmt.Errorf("(%s) VRRPv3 advert_int must be 0.01..40.95 s", c.Name)
		}
		if c.AuthType != AuthNone {
			return fmt.Errorf("(%s) authentication is not supported with VRRPv3", c.Name)
		}
	default:
		return fmt.Errorf("(%s) vrrp version %d unsupported", c.Name, c.Version)
	}
	if c.AuthType == AuthAH {
		return fmt.Errorf("(%s) auth_type AH is not supported", c.Name)
	}
	if c.NoPreempt && c.Priority == 255 {
		return fmt.Errorf("(%s) nopreempt is incompatible with priority 255", c.Name)
	}
	return nil
}

func (c *InstanceConfig) downAdverts() int {
	if c.DownTimerAdverts <= 0 {
		return 3
	}
	return c.DownTimerAdverts
}

func (c *InstanceConfig) authData() (d [8]byte) {
	if c.AuthType == AuthPass {
		copy(d[:], c.AuthPass)
	}
	return d
}

// Received describes how an advert arrived.
type Received struct {
	Src, Dst netip.Addr
	TTL      int // TTL or hop limit; -1 if unknown
}

// Receive-check errors, matching keepalived's reasons for dropping an advert.
var (
	ErrTTL          = errors.New("invalid TTL/HL")
	ErrWrongVersion = errors.New("wrong version")
	ErrAuth         = errors.New("authentication mismatch")
	ErrIntervalMis  = errors.New("advertisement interval mismatch")
	ErrAddrCount    = errors.New("received an unexpected ip number count")
	ErrCastMismatch = errors.New("unicast/multicast mismatch")
	ErrAddrMissing  = errors.New("ip address associated with VRID not present in MASTER advert")
	ErrUnknownPeer  = errors.New("unicast source is not a configured peer")
	ErrVRID         = errors.New("VRID mismatch")
)

// Check decodes b and applies keepalived's receive checks in its order
// (keepalived-behaviour.md §1.4). Adverts that fail are dropped by the caller.
func (c *InstanceConfig) Check(r Received, b []byte) (Advert, error) {
	a, err := Decode(b, r.Src, r.Dst)
	if err != nil {
		return a, err
	}
	if r.Dst.IsMulticast() && r.TTL >= 0 && r.TTL != 255 {
		return a, fmt.Errorf("%w %d", ErrTTL, r.TTL)
	}
	if a.Version != c.Version {
		return a, fmt.Errorf("%w. Received %d and expect %d", ErrWrongVersion, a.Version, c.Version)
	}
	if a.VRID != c.VRID {
		return a, fmt.Errorf("%w: %d", ErrVRID, a.VRID)
	}
	if a.Version == 2 {
		if a.AuthType != c.AuthType {
			return a, fmt.Errorf("%w: type %d, ours %d", ErrAuth, a.AuthType, c.AuthType)
		}
		if c.AuthType == AuthPass {
			want := c.authData()
			if subtle.ConstantTimeCompare(want[:], a.AuthData[:]) != 1 {
				return a, fmt.Errorf("%w: bad password", ErrAuth)
			}
		}
		if a.Interval != c.AdvertInterval {
			return a, fmt.Errorf("%w mine=%d sec rcv'd=%d sec", ErrIntervalMis, c.AdvertInterval/100, a.Interval/100)
		}
	}
	if len(a.Addrs) != len(c.VIPs) {
		return a, fmt.Errorf("%w %d, ours %d", ErrAddrCount, len(a.Addrs), len(c.VIPs))
	}
	unicast := len(c.UnicastPeers) > 0
	if r.Dst.IsMulticast() == unicast {
		return a, fmt.Errorf("%w: dst %v", ErrCastMismatch, r.Dst)
	}
	for _, v := range c.VIPs {
		if !slices.Contains(a.Addrs, v.Prefix.Addr()) {
			return a, fmt.Errorf("%w: %v (VRID %d)", ErrAddrMissing, v.Prefix.Addr(), c.VRID)
		}
	}
	if unicast && c.CheckUnicastSrc && !slices.Contains(c.UnicastPeers, r.Src) {
		return a, fmt.Errorf("%w: %v", ErrUnknownPeer, r.Src)
	}
	return a, nil
}
