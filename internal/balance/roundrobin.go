package balance

// roundRobin is `balance roundrobin` (and `static-rr` with static set):
// smooth weighted round robin, which interleaves servers in proportion to
// their weights (weights 3:1 give a a b a, a a b a, ...; equal weights
// alternate s1, s2, s1 as HAProxy does).
type roundRobin struct {
	static  bool
	servers []Server
	weights []int // weights captured at reset
	current []int
	total   int
}

func (r *roundRobin) reset(servers []Server) {
	r.servers = servers
	r.weights = make([]int, len(servers))
	r.current = make([]int, len(servers))
	r.total = 0
	for i, s := range servers {
		r.weights[i] = s.Weight()
		r.total += r.weights[i]
	}
}

func (r *roundRobin) pick(_ []byte, avoid Server) Server {
	if len(r.servers) == 0 {
		return nil
	}
	if !r.static {
		// Dynamic weights: pick up weight changes without a reset.
		r.total = 0
		for i, s := range r.servers {
			r.weights[i] = s.Weight()
			r.total += r.weights[i]
		}
	}
	for tries := 0; tries < 2; tries++ {
		best := -1
		for i := range r.servers {
			r.current[i] += r.weights[i]
			if best < 0 || r.current[i] > r.current[best] {
				best = i
			}
		}
		r.current[best] -= r.total
		s := r.servers[best]
		if avoid == nil || s != avoid || len(r.servers) == 1 {
			return s
		}
	}
	return r.servers[0]
}
