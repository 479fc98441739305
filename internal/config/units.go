package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// parseTime parses an HAProxy time value: a number with an optional unit
// us, ms, s, m, h or d; the default unit is ms.
func parseTime(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("expects a time value with an optional unit (us, ms, s, m, h, d), got '%s'", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("time value '%s' is out of range", s)
	}
	unit := time.Millisecond
	switch s[i:] {
	case "", "ms":
	case "us":
		unit = time.Microsecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	default:
		return 0, fmt.Errorf("unexpected character '%c' in time value '%s' (units are us, ms, s, m, h, d)", s[i], s)
	}
	if n > int64((1<<31-1)*time.Millisecond/unit) {
		return 0, fmt.Errorf("timer overflow in argument '%s' (maximum value is 2147483647 ms, ~24.8 days)", s)
	}
	return time.Duration(n) * unit, nil
}

// parseSize parses a size with an optional k, m or g suffix (powers of 1024).
func parseSize(s string) (int, error) {
	mult := 1
	t := s
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult, t = 1024, t[:len(t)-1]
		case 'm', 'M':
			mult, t = 1024*1024, t[:len(t)-1]
		case 'g', 'G':
			mult, t = 1024*1024*1024, t[:len(t)-1]
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expects a size with an optional unit (k, m, g), got '%s'", s)
	}
	return n * mult, nil
}

// parseInt parses a decimal integer within [lo, hi].
func parseInt(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("expects an integer, got '%s'", s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("value %d is not within %d and %d", n, lo, hi)
	}
	return n, nil
}

// addr is a parsed address as HAProxy's str2sa_range understands it.
type addr struct {
	family  string // "ipv4", "ipv6", "unix", "fd", "" (auto)
	host    string
	path    string
	fd      int
	portLo  int
	portHi  int
	hasPort bool
	offset  int  // +N / -N port offset
	mapped  bool // port written with a sign
}

// parseAddr parses "[family@]host[:port[-port]]" forms: *:80, :80,
// 1.2.3.4:80, [::1]:80, ::1:80 (last colon separates the port), ipv4@,
// ipv6@, unix@/path, /path, fd@N, abns@ (refused).
func parseAddr(s string, portRange bool) (addr, error) {
	var a addr
	if s == "" {
		return a, fmt.Errorf("missing address")
	}
	if i := strings.Index(s, "@"); i > 0 && !strings.Contains(s[:i], ":") {
		pfx := s[:i]
		rest := s[i+1:]
		switch pfx {
		case "ipv4", "ipv6":
			a.family = pfx
			s = rest
		case "unix":
			a.family, a.path = "unix", rest
			return a, nil
		case "fd", "sockpair":
			if pfx == "sockpair" {
				return a, fmt.Errorf("'sockpair@' addresses are not supported by halo")
			}
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return a, fmt.Errorf("invalid file descriptor in '%s'", s)
			}
			a.family, a.fd = "fd", n
			return a, nil
		case "abns", "udp", "udp4", "udp6", "quic4", "quic6", "uxst", "uxdg":
			return a, fmt.Errorf("address family '%s@' is not supported by halo", pfx)
		default:
			return a, fmt.Errorf("unknown address family '%s@' in '%s'", pfx, s)
		}
	}
	if strings.HasPrefix(s, "/") {
		a.family, a.path = "unix", s
		return a, nil
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return a, fmt.Errorf("missing ']' in address '%s'", s)
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return a, fmt.Errorf("invalid address '%s'", s)
			}
			port = rest[1:]
			a.hasPort = true
		}
	} else if i := strings.LastIndex(s, ":"); i >= 0 {
		host, port = s[:i], s[i+1:]
		a.hasPort = true
	}
	if host == "*" {
		host = ""
	}
	if host != "" {
		if ip := net.ParseIP(host); ip == nil {
			if a.family == "" && !validHostname(host) {
				return a, fmt.Errorf("invalid address: '%s' in '%s'", host, s)
			}
		} else if ip.To4() == nil && a.family == "" {
			a.family = "ipv6"
		}
	}
	a.host = host
	if a.hasPort {
		if port == "" {
			return a, fmt.Errorf("missing port specification in '%s'", s)
		}
		if port[0] == '+' || port[0] == '-' {
			n, err := strconv.Atoi(port[1:])
			if err != nil || n > 65535 {
				return a, fmt.Errorf("invalid port offset '%s' in '%s'", port, s)
			}
			if port[0] == '-' {
				n = -n
			}
			a.offset, a.mapped = n, true
			return a, nil
		}
		lo, hi := port, port
		if j := strings.IndexByte(port, '-'); j > 0 {
			if !portRange {
				return a, fmt.Errorf("port ranges are not allowed in '%s'", s)
			}
			lo, hi = port[:j], port[j+1:]
		}
		l, err1 := strconv.Atoi(lo)
		h, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || l < 1 || h > 65535 || l > h {
			if l == 0 && err1 == nil && lo == hi {
				a.portLo, a.portHi = 0, 0
				return a, nil
			}
			return a, fmt.Errorf("invalid port '%s' in '%s'", port, s)
		}
		a.portLo, a.portHi = l, h
	}
	return a, nil
}

func validHostname(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c == '-' || c == '.' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return h != ""
}
