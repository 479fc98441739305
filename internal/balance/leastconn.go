package balance

// leastConn is `balance leastconn`: the server with the fewest current
// connections relative to its weight; equals are served in turn.
type leastConn struct {
	servers []Server
	next    int
}

func (l *leastConn) reset(servers []Server) { l.servers = servers; l.next = 0 }

func (l *leastConn) pick(_ []byte, avoid Server) Server {
	n := len(l.servers)
	var best Server
	bestIdx := 0
	for k := 0; k < n; k++ {
		i := (l.next + k) % n
		s := l.servers[i]
		if s == avoid && n > 1 {
			continue
		}
		// Compare conns/weight without division: a.c*b.w < b.c*a.w.
		if best == nil || (s.Conns()+1)*best.Weight() < (best.Conns()+1)*s.Weight() {
			best, bestIdx = s, i
		}
	}
	if best != nil {
		l.next = (bestIdx + 1) % n
	}
	return best
}
