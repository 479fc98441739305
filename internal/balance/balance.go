// Package balance implements HAProxy's load-balancing algorithms: each
// algorithm lives in its own file (roundrobin.go, leastconn.go, ...).
//
// A Balancer is told which servers are eligible with Set after every
// state or weight change, and picks one per connection with Pick.
package balance

import (
	"sort"
	"sync"

	"github.com/halo-lb/halo/internal/config"
)

// Server is the view of a server that algorithms need; the proxy's
// runtime server implements it.
type Server interface {
	ID() int      // server id (declaration order, 1-based)
	Weight() int  // current effective weight, 0..256 (0 = takes no new load-balanced traffic)
	Conns() int   // current connections (served + being established)
	MaxConn() int // 0 = unlimited
}

// Balancer picks servers. It is safe for concurrent use.
type Balancer interface {
	// Pick returns an eligible server, or nil when none is. key is the
	// hash input of hashing algorithms (nil otherwise). avoid, when
	// non-nil, is skipped if another server is eligible.
	Pick(key []byte, avoid Server) Server
	// Set replaces the eligible servers: the active and backup servers
	// that are usable now. Backups serve only when no active server is
	// usable: the first backup (lowest id) unless allbackups is set.
	Set(active, backup []Server)
	// Done tells the balancer a connection to s ended.
	Done(s Server)
}

// algorithm is one balancing algorithm over a fixed set of servers.
type algorithm interface {
	// reset installs the servers (weight > 0 only, sorted by id).
	reset(servers []Server)
	// pick chooses among them; avoid may be nil.
	pick(key []byte, avoid Server) Server
}

// New returns the Balancer for a backend's `balance` settings.
func New(cfg config.Balance, allBackups bool) Balancer {
	var mk func() algorithm
	switch cfg.Algo {
	case config.AlgoStaticRR:
		mk = func() algorithm { return &roundRobin{static: true} }
	case config.AlgoLeastConn:
		mk = func() algorithm { return &leastConn{} }
	case config.AlgoFirst:
		mk = func() algorithm { return &first{} }
	case config.AlgoRandom:
		draws := cfg.Draws
		if draws < 1 {
			draws = 2
		}
		mk = func() algorithm { return newRandom(draws) }
	case config.AlgoSource, config.AlgoURI, config.AlgoURLParam, config.AlgoHdr:
		mk = func() algorithm { return newHash(cfg) }
	default:
		mk = func() algorithm { return &roundRobin{} }
	}
	return &pool{active: mk(), backup: mk(), allBackups: allBackups}
}

// pool applies HAProxy's active/backup rule around an algorithm.
type pool struct {
	mu         sync.Mutex
	active     algorithm
	backup     algorithm
	hasActive  bool
	hasBackup  bool
	allBackups bool
}

func eligible(in []Server) []Server {
	out := make([]Server, 0, len(in))
	for _, s := range in {
		if s.Weight() > 0 {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out
}

func (p *pool) Set(active, backup []Server) {
	a, b := eligible(active), eligible(backup)
	if !p.allBackups && len(b) > 1 {
		b = b[:1]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active.reset(a)
	p.backup.reset(b)
	p.hasActive, p.hasBackup = len(a) > 0, len(b) > 0
}

func (p *pool) Pick(key []byte, avoid Server) Server {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.hasActive:
		return p.active.pick(key, avoid)
	case p.hasBackup:
		return p.backup.pick(key, avoid)
	}
	return nil
}

func (p *pool) Done(Server) {}

// Dynamic reports whether an algorithm follows weight changes as they
// happen (HAProxy's "dynamic" algorithms: roundrobin, leastconn, first,
// random and consistent hashing). Static ones (static-rr, map-based
// hashing) keep the weights of the last server set: a slow start ramps
// only their connection limit.
func Dynamic(cfg config.Balance) bool {
	switch cfg.Algo {
	case config.AlgoStaticRR:
		return false
	case config.AlgoSource, config.AlgoURI, config.AlgoURLParam, config.AlgoHdr:
		return cfg.HashType == config.HashConsistent
	}
	return true
}
