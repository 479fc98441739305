package proxy

import (
	"strings"

	"github.com/halo-lb/halo/internal/config"
)

// httpKey is the hashing input of `balance uri|url_param|hdr` (and
// source), nil when the request lacks it: the balancer then falls back
// to round robin, as HAProxy does.
func (tx *httpTxn) httpKey(be *backend) []byte {
	bc := be.cfg.Balance
	v := &tx.view
	switch bc.Algo {
	case config.AlgoSource:
		return hashKey(be, tx.client)
	case config.AlgoURI:
		u := v.target
		if bc.URIPathOnly {
			u = pathOf(u)
		} else if !bc.URIWhole {
			u, _, _ = strings.Cut(u, "?")
		}
		if bc.URIDepth > 0 {
			n := 0
			for i := 0; i < len(u); i++ {
				if u[i] == '/' {
					n++
					if n > bc.URIDepth {
						u = u[:i]
						break
					}
				}
			}
		}
		if bc.URILen > 0 && len(u) > bc.URILen {
			u = u[:bc.URILen]
		}
		return []byte(u)
	case config.AlgoURLParam:
		_, q, ok := strings.Cut(v.target, "?")
		if !ok {
			return nil
		}
		for _, kv := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
			if k, val, _ := strings.Cut(kv, "="); k == bc.Param && val != "" {
				return []byte(val)
			}
		}
		return nil
	case config.AlgoHdr:
		vals := v.Header(bc.Param)
		if len(vals) == 0 || vals[len(vals)-1] == "" {
			return nil
		}
		h := vals[len(vals)-1]
		if bc.UseDomainOnly {
			h, _, _ = strings.Cut(h, ":")
			// The last two labels (the domain), as HAProxy's use_domain_only.
			if i := strings.LastIndexByte(h, '.'); i > 0 {
				if j := strings.LastIndexByte(h[:i], '.'); j >= 0 {
					h = h[j+1:]
				}
			}
		}
		return []byte(h)
	}
	return nil
}

// pathOf returns the path of a request target (no scheme, authority or query).
func pathOf(t string) string {
	if i := strings.Index(t, "://"); i >= 0 && !strings.HasPrefix(t, "/") {
		rest := t[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return "/"
		}
		t = rest[j:]
	}
	p, _, _ := strings.Cut(t, "?")
	return p
}

// cookieServer finds the server a persistence cookie designates and
// removes what HAProxy removes before forwarding: the whole cookie with
// `indirect` or `insert`, the prefix with `prefix`. It returns nil when
// the request has no valid cookie for a usable server.
func (tx *httpTxn) cookieServer(be *backend) *server {
	ck := be.cfg.Cookie
	if ck == nil {
		return nil
	}
	v := &tx.view
	var found *server
	for i := 0; i < len(v.hdr); i++ {
		h := &v.hdr[i]
		if !strings.EqualFold(h.name, "cookie") {
			continue
		}
		parts := strings.Split(h.value, ";")
		out := parts[:0]
		for _, p := range parts {
			name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			if name != ck.Name {
				out = append(out, p)
				continue
			}
			id := val
			if ck.Mode == "prefix" {
				id, val, _ = strings.Cut(val, "~")
			}
			if s := be.serverByCookie(id); s != nil && found == nil {
				found = s
			} else if s == nil {
				tx.cookieIn = 'I'
			}
			switch {
			case ck.Mode == "prefix":
				out = append(out, " "+name+"="+val)
			case ck.Mode == "insert" || ck.Indirect:
				// dropped: the server never sees its persistence cookie
			default:
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			v.hdr = append(v.hdr[:i], v.hdr[i+1:]...)
			i--
			continue
		}
		h.value = strings.TrimSpace(strings.Join(out, ";"))
	}
	if found != nil && !found.usable() {
		tx.cookieIn = 'D'
		return nil
	}
	if found != nil {
		tx.cookieIn = 'V'
	}
	tx.cookieValid = found != nil
	return found
}

func (b *backend) serverByCookie(id string) *server {
	if id == "" {
		return nil
	}
	for _, s := range b.servers {
		if s.cfg.Cookie == id {
			return s
		}
	}
	return nil
}

// persistResponse adds or rewrites the persistence cookie in the response.
func (tx *httpTxn) persistResponse(be *backend, s *server) {
	ck := be.cfg.Cookie
	if ck == nil || s == nil || s.cfg.Cookie == "" {
		return
	}
	v := &tx.view
	switch ck.Mode {
	case "insert":
		if tx.cookieValid && tx.persisted == s {
			return
		}
		c := ck.Name + "=" + s.cfg.Cookie + "; path=/"
		for _, d := range ck.Domain {
			c += "; domain=" + d
		}
		if ck.HTTPOnly {
			c += "; HttpOnly"
		}
		if ck.Secure {
			c += "; Secure"
		}
		v.rhdr = append(v.rhdr, hdr{"set-cookie", c})
		tx.cookieOut = 'I'
		if ck.NoCache && cacheable(v) {
			v.rhdr = append(v.rhdr, hdr{"cache-control", "private"})
		}
	case "rewrite", "prefix":
		for i := range v.rhdr {
			h := &v.rhdr[i]
			if !strings.EqualFold(h.name, "set-cookie") {
				continue
			}
			first, rest, _ := strings.Cut(h.value, ";")
			name, val, _ := strings.Cut(strings.TrimSpace(first), "=")
			if name != ck.Name {
				continue
			}
			if ck.Mode == "rewrite" {
				val = s.cfg.Cookie
			} else {
				val = s.cfg.Cookie + "~" + val
			}
			h.value = name + "=" + val
			if rest != "" {
				h.value += ";" + rest
			}
			tx.cookieOut = 'R'
		}
	}
}

// cacheable reports whether a shared cache could store the response,
// which `cookie ... nocache` must then prevent.
func cacheable(v *httpView) bool {
	for _, cc := range v.ResHeader("cache-control") {
		l := strings.ToLower(cc)
		if strings.Contains(l, "private") || strings.Contains(l, "no-cache") || strings.Contains(l, "no-store") {
			return false
		}
		if strings.Contains(l, "public") || strings.Contains(l, "max-age") {
			return true
		}
	}
	return len(v.ResHeader("expires")) > 0
}

func (tx *httpTxn) cookieFlags() (byte, byte) { return tx.cookieIn, tx.cookieOut }
