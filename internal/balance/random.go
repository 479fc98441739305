package balance

import "math/rand/v2"

// random is `balance random(<draws>)`: draw that many servers at random
// (weighted) and keep the one with the fewest connections.
type random struct {
	draws   int
	servers []Server
	cum     []int // cumulative weights
}

func newRandom(draws int) *random { return &random{draws: draws} }

func (r *random) reset(servers []Server) {
	r.servers = servers
	r.cum = make([]int, len(servers))
	t := 0
	for i, s := range servers {
		t += s.Weight()
		r.cum[i] = t
	}
}

func (r *random) pick(_ []byte, avoid Server) Server {
	if len(r.servers) == 0 {
		return nil
	}
	total := r.cum[len(r.cum)-1]
	var best Server
	for d := 0; d < r.draws; d++ {
		x := rand.IntN(total)
		i := 0
		for r.cum[i] <= x {
			i++
		}
		s := r.servers[i]
		if s == avoid && len(r.servers) > 1 {
			d--
			continue
		}
		if best == nil || s.Conns() < best.Conns() {
			best = s
		}
	}
	return best
}
