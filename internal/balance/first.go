package balance

// first is `balance first`: the first server (lowest id) with a free
// connection slot; a server without maxconn always has one.
type first struct{ servers []Server }

func (f *first) reset(servers []Server) { f.servers = servers }

func (f *first) pick(_ []byte, avoid Server) Server {
	var fallback Server
	for _, s := range f.servers {
		if s == avoid {
			fallback = s
			continue
		}
		if m := s.MaxConn(); m == 0 || s.Conns() < m {
			return s
		}
	}
	if fallback != nil {
		return fallback
	}
	if len(f.servers) > 0 {
		return f.servers[0] // all full: the proxy queues on it
	}
	return nil
}
