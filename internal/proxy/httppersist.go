package proxy

import (
	"strings"
	"time"

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

// pathOf returns the path of a request target (no scheme, authority or
// query; empty for an absolute URI without a '/' after its authority, as
// the path fetch).
func pathOf(t string) string {
	if i := strings.Index(t, "://"); i >= 0 && !strings.HasPrefix(t, "/") {
		rest := t[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return ""
		}
		t = rest[j:]
	}
	p, _, _ := strings.Cut(t, "?")
	return p
}

// persistCookie is what the request's persistence cookie said.
type persistCookie struct {
	valid bool  // it named the server that was then used
	last  int64 // last-seen date it carried (unix seconds), 0 when none
	first int64 // first-seen date (maxlife), 0 when none
}

// cookieDateAlphabet encodes cookie dates: 30 bits of unix time / 4,
// five 6-bit digits, most significant first, as HAProxy writes them.
const cookieDateAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// encodeCookieDate renders a date for a persistence cookie, rounded up
// to the next 4-second step as HAProxy does.
func encodeCookieDate(b []byte, unix int64) []byte {
	v := (unix + 3) >> 2
	for i := 4; i >= 0; i-- {
		b = append(b, cookieDateAlphabet[(v>>(6*i))&63])
	}
	return b
}

// decodeCookieDate reads the five digits at the start of s; it returns
// 0 when they are not valid date digits or encode no date.
func decodeCookieDate(s string) int64 {
	if len(s) < 5 {
		return 0
	}
	var v int64
	for i := 0; i < 5; i++ {
		d := strings.IndexByte(cookieDateAlphabet, s[i])
		if d < 0 {
			return 0
		}
		v = v<<6 | int64(d)
	}
	return v << 2
}

// cookieSeg is one `name=value` of a Cookie header line.
type cookieSeg struct {
	lead, name, value, trail string
	eq                       bool // the segment has a '='
	spaced                   bool // blanks around its '=', which HAProxy removes
}

func (c cookieSeg) core() string {
	if !c.eq {
		return c.name
	}
	return c.name + "=" + c.value
}

// splitCookies cuts a Cookie header line at its semicolons. Blanks
// around '=' are dropped (HAProxy removes them when it parses the
// header); those around each cookie are kept to rebuild the line.
func splitCookies(line string) []cookieSeg {
	var out []cookieSeg
	for _, raw := range strings.Split(line, ";") {
		body := strings.TrimLeft(raw, " \t")
		c := cookieSeg{lead: raw[:len(raw)-len(body)]}
		trimmed := strings.TrimRight(body, " \t")
		c.trail = body[len(trimmed):]
		name, val, eq := strings.Cut(trimmed, "=")
		c.name, c.eq = strings.TrimRight(name, " \t"), eq
		c.value = strings.TrimLeft(val, " \t")
		c.spaced = len(c.name) != len(name) || len(c.value) != len(val)
		out = append(out, c)
	}
	return out
}

// joinCookies rebuilds a header line from the cookies kept. Where some
// were deleted between two kept ones, they are joined by "; "; a run
// deleted at the end goes with the semicolon before it; the line is
// empty when nothing is kept.
func joinCookies(segs []cookieSeg, keep []bool) string {
	var b strings.Builder
	last := -1 // index of the last kept segment written
	for i, c := range segs {
		if !keep[i] {
			continue
		}
		switch {
		case last < 0:
			if i == 0 {
				b.WriteString(c.lead)
			}
		case last == i-1:
			b.WriteString(segs[last].trail + ";" + c.lead)
		default:
			b.WriteString("; ")
		}
		b.WriteString(c.core())
		last = i
	}
	if last >= 0 {
		b.WriteString(segs[last].trail)
	}
	return b.String()
}

// cookieServer finds the server a persistence cookie designates and
// edits the Cookie headers as HAProxy does before forwarding: with
// `insert indirect` the persistence cookie is removed, with `prefix`
// the server's id and its '~' are cut from the value; in the other
// modes the server sees the cookie unchanged. The cookie's dates
// (maxidle, maxlife) are read, and a cookie past them is ignored. It
// returns nil when the request has no valid cookie for a usable server.
func (tx *httpTxn) cookieServer(be *backend) *server {
	ck := be.cfg.Cookie
	if ck == nil {
		return nil
	}
	v := &tx.view
	now := time.Now().Unix()
	var found *server
	seen, expired := false, byte(0)
	for i := 0; i < len(v.hdr); i++ {
		h := &v.hdr[i]
		if !strings.EqualFold(h.name, "cookie") {
			continue
		}
		segs := splitCookies(h.value)
		keep := make([]bool, len(segs))
		changed, dropped := false, false
		for j := range segs {
			c := &segs[j]
			keep[j] = true
			changed = changed || c.spaced
			if !c.eq || c.name != ck.Name {
				continue
			}
			seen = true
			id := c.value
			var last, first int64
			if ck.Mode == "prefix" {
				if k := strings.IndexByte(c.value, '~'); k >= 0 {
					id, c.value = c.value[:k], c.value[k+1:]
					changed = true
				}
			} else if k := strings.IndexByte(c.value, '|'); k >= 0 {
				id = c.value[:k]
				dates := c.value[k+1:]
				last = decodeCookieDate(dates)
				if k2 := strings.IndexByte(dates, '|'); k2 >= 0 && len(dates)-k2 > 5 {
					first = decodeCookieDate(dates[k2+1:])
				}
			}
			if ck.Mode == "insert" && ck.Indirect {
				keep[j], dropped = false, true
			}
			if found != nil || expired != 0 {
				continue
			}
			// Dates are checked, and kept for the cookie halo sets, even
			// when the server is unknown, as HAProxy does.
			maxLife, maxIdle := int64(ck.MaxLife/time.Second), int64(ck.MaxIdle/time.Second)
			switch {
			case maxLife > 0 && first > 0 && (now-first > maxLife || first-now > 86400):
				expired = 'O'
				last, first = 0, 0
			case maxIdle > 0 && last > 0 && (now-last > maxIdle || last-now > 86400):
				expired = 'E'
				last, first = 0, 0
			}
			tx.cookieState.last, tx.cookieState.first = last, first
			if expired != 0 {
				continue
			}
			if found = be.serverByCookie(id); found == nil {
				tx.cookieIn = 'I'
			}
		}
		if !dropped && !changed {
			continue
		}
		out := joinCookies(segs, keep)
		if out == "" {
			v.hdr = append(v.hdr[:i], v.hdr[i+1:]...)
			i--
			continue
		}
		h.value = out
	}
	switch {
	case expired != 0 && found == nil:
		tx.cookieIn = expired
		return nil
	case found != nil && !found.usable():
		tx.cookieIn = 'D'
		return nil
	case found != nil:
		tx.cookieIn = 'V'
		tx.cookieState.valid = true
	case !seen:
		tx.cookieIn = 'N'
	}
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

// persistResponse applies the persistence cookie to the response: the
// server's own cookie of that name is removed (insert, or indirect when
// the client already has a valid one), rewritten or prefixed, or left
// alone with preserve; in insert mode halo then sets the cookie when the
// client lacks a valid one or its dates need refreshing.
func (tx *httpTxn) persistResponse(be *backend, s *server) {
	ck := be.cfg.Cookie
	if ck == nil || s == nil {
		return
	}
	v := &tx.view
	direct := tx.cookieState.valid && tx.persisted == s
	srvSet := false
	for i := 0; i < len(v.rhdr); i++ {
		h := &v.rhdr[i]
		if !strings.EqualFold(h.name, "set-cookie") {
			continue
		}
		first, rest, _ := strings.Cut(h.value, ";")
		name, val, _ := strings.Cut(strings.TrimSpace(first), "=")
		if strings.TrimSpace(name) != ck.Name {
			continue
		}
		srvSet = true
		switch {
		case ck.Preserve:
			tx.cookieOut = 'P'
			continue
		case ck.Mode == "insert" || ck.Indirect && direct:
			v.rhdr = append(v.rhdr[:i], v.rhdr[i+1:]...)
			i--
			tx.cookieOut = 'D'
			continue
		case s.cfg.Cookie == "":
			continue
		case ck.Mode == "rewrite":
			val = s.cfg.Cookie
		default: // prefix
			val = s.cfg.Cookie + "~" + strings.TrimSpace(val)
		}
		h.value = strings.TrimSpace(name) + "=" + val
		if rest != "" {
			h.value += ";" + rest
		}
		tx.cookieOut = 'R'
	}
	if ck.Mode != "insert" || srvSet && ck.Preserve || ck.PostOnly && v.method != "POST" {
		return
	}
	now := time.Now().Unix()
	last, first := tx.cookieState.last, tx.cookieState.first
	refresh := (ck.MaxIdle > 0 || last > 0) && (last == 0 || last < now) ||
		ck.MaxLife > 0 && first == 0 || ck.MaxLife == 0 && first > 0
	if direct && !refresh {
		return
	}
	b := make([]byte, 0, 64)
	b = append(b, ck.Name...)
	b = append(b, '=')
	if s.cfg.Cookie == "" {
		// A server without a cookie value ends the client's persistence.
		b = append(b, "; Expires=Thu, 01-Jan-1970 00:00:01 GMT"...)
	} else {
		b = append(b, s.cfg.Cookie...)
		if ck.MaxIdle > 0 || ck.MaxLife > 0 {
			b = encodeCookieDate(append(b, '|'), now)
		}
		if ck.MaxLife > 0 {
			if first == 0 {
				first = now
			}
			b = encodeCookieDate(append(b, '|'), first)
		}
	}
	b = append(b, "; path=/"...)
	for _, d := range ck.Domain {
		b = append(b, "; domain="...)
		b = append(b, d...)
	}
	if ck.HTTPOnly {
		b = append(b, "; HttpOnly"...)
	}
	if ck.Secure {
		b = append(b, "; Secure"...)
	}
	for _, a := range ck.Attrs {
		b = append(b, "; "...)
		b = append(b, a...)
	}
	v.rhdr = append(v.rhdr, hdr{"set-cookie", string(b)})
	switch {
	case s.cfg.Cookie == "":
		tx.cookieOut = 'D'
	case direct:
		tx.cookieOut = 'U'
	default:
		tx.cookieOut = 'I'
	}
	if ck.NoCache && cacheable(v) {
		v.rhdr = append(v.rhdr, hdr{"cache-control", "private"})
	}
}

// cacheableStatus are the statuses a shared cache may store without
// explicit freshness information (RFC 9111 heuristics), as HAProxy's
// cacheability check lists them.
func cacheableStatus(s int) bool {
	switch s {
	case 200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// cacheable reports whether a shared cache could store the response,
// which `cookie ... nocache` must then prevent: a GET or HEAD, a
// cacheable status, no Pragma: no-cache nor Cache-Control private,
// no-cache, no-store or zero max-age, and freshness information
// (max-age, s-maxage, Expires) or a validator (ETag, Last-Modified).
func cacheable(v *httpView) bool {
	if v.method != "GET" && v.method != "HEAD" || !cacheableStatus(v.status) {
		return false
	}
	fresh := false
	for _, h := range v.rhdr {
		switch {
		case strings.EqualFold(h.name, "pragma"):
			if strings.EqualFold(strings.TrimSpace(h.value), "no-cache") {
				return false
			}
		case strings.EqualFold(h.name, "cache-control"):
			for _, d := range strings.Split(h.value, ",") {
				d = strings.TrimSpace(d)
				switch {
				case strings.EqualFold(d, "private"), strings.EqualFold(d, "no-cache"), strings.EqualFold(d, "no-store"),
					strings.EqualFold(d, "max-age=0"), strings.EqualFold(d, "s-maxage=0"):
					return false
				case hasPrefixFold(d, "max-age"), hasPrefixFold(d, "s-maxage"):
					fresh = true
				}
			}
		}
	}
	if fresh {
		return true
	}
	for _, n := range []string{"expires", "etag", "last-modified"} {
		if len(v.ResHeader(n)) > 0 {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }

func (tx *httpTxn) cookieFlags() (byte, byte) { return tx.cookieIn, tx.cookieOut }
