package config

import (
	"encoding/hex"
	"regexp"
	"strings"
)

func (b *builder) parseTCPCheck(ln *Line) {
	w := ln.Words
	if len(w) < 2 {
		b.errorf(ln.Pos, "'tcp-check' expects 'comment', 'connect', 'send', 'send-binary', 'expect' or 'set-var'")
		return
	}
	st := TCPCheckStep{Pos: ln.Pos}
	switch w[1] {
	case "comment":
		st.Action, st.Comment = TCPCheckComment, strings.Join(w[2:], " ")
	case "connect":
		st.Action = TCPCheckConnect
		for i := 2; i < len(w); i++ {
			switch w[i] {
			case "port", "addr", "comment", "alpn", "sni", "proto":
				if i+1 >= len(w) {
					b.errorf(ln.Pos, "'tcp-check connect' option '%s' expects an argument", w[i])
					return
				}
				v := w[i+1]
				switch w[i] {
				case "port":
					n, err := parseInt(v, 1, 65535)
					if err != nil {
						b.errorf(ln.Pos, "'tcp-check connect port' %v", err)
						return
					}
					st.Port = n
				case "addr":
					st.Addr = v
				case "comment":
					st.Comment = v
				default:
					b.errorf(ln.Pos, "'tcp-check connect %s' is not supported by halo yet", w[i])
					return
				}
				i++
			case "ssl":
				st.SSL = true
			case "linger":
				// Close cleanly rather than with a RST: what halo's checks
				// always do.
			case "send-proxy", "via-socks4", "default":
				b.errorf(ln.Pos, "'tcp-check connect %s' is not supported by halo yet", w[i])
				return
			default:
				b.errorf(ln.Pos, "'tcp-check connect' expects 'comment', 'port', 'addr', 'ssl', 'sni', 'alpn', 'proto', 'send-proxy', 'via-socks4', 'linger' or 'default', got '%s'", w[i])
				return
			}
		}
	case "send", "send-binary":
		if len(w) < 3 {
			b.errorf(ln.Pos, "'tcp-check %s' expects a string as argument", w[1])
			return
		}
		if len(w) > 3 && !(len(w) == 5 && w[3] == "comment") {
			b.errorf(ln.Pos, "'tcp-check %s' expects a single string (quote it or escape spaces)", w[1])
			return
		}
		if len(w) == 5 {
			st.Comment = w[4]
		}
		st.Action = TCPCheckSend
		if w[1] == "send-binary" {
			data, err := hex.DecodeString(w[2])
			if err != nil {
				b.errorf(ln.Pos, "'tcp-check send-binary' expects a hexadecimal string, got '%s'", w[2])
				return
			}
			st.Data = data
		} else {
			st.Data = []byte(w[2])
		}
	case "send-lf", "send-binary-lf", "set-var", "unset-var":
		b.errorf(ln.Pos, "'tcp-check %s' is not supported by halo yet", w[1])
		return
	case "expect":
		st.Action = TCPCheckExpect
		i := 2
		if i < len(w) && w[i] == "!" {
			st.Negate = true
			i++
		}
		for i < len(w) && (w[i] == "min-recv" || w[i] == "comment" || w[i] == "ok-status" || w[i] == "error-status" || w[i] == "tout-status" || w[i] == "on-success" || w[i] == "on-error" || w[i] == "status-code") {
			if w[i] != "comment" {
				b.errorf(ln.Pos, "'tcp-check expect %s' is not supported by halo yet", w[i])
				return
			}
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'tcp-check expect comment' expects an argument")
				return
			}
			st.Comment = w[i+1]
			i += 2
		}
		if i+1 >= len(w) {
			b.errorf(ln.Pos, "'tcp-check expect' expects 'string', 'rstring', 'binary' or 'rbinary' followed by a pattern")
			return
		}
		pat := w[i+1]
		switch w[i] {
		case "string":
			st.Match, st.Pattern = MatchString, []byte(pat)
		case "rstring":
			re, err := regexp.Compile(pat)
			if err != nil {
				b.errorf(ln.Pos, "'tcp-check expect rstring' invalid regex '%s': %v", pat, err)
				return
			}
			st.Match, st.Regexp = MatchRString, re
		case "binary":
			data, err := hex.DecodeString(pat)
			if err != nil {
				b.errorf(ln.Pos, "'tcp-check expect binary' expects a hexadecimal string, got '%s'", pat)
				return
			}
			st.Match, st.Pattern = MatchBinary, data
		case "rbinary", "string-lf", "binary-lf", "custom":
			b.errorf(ln.Pos, "'tcp-check expect %s' is not supported by halo yet", w[i])
			return
		default:
			b.errorf(ln.Pos, "'tcp-check expect' only supports 'string', 'rstring', 'binary', 'rbinary', 'string-lf', 'binary-lf', got '%s'", w[i])
			return
		}
		for j := i + 2; j < len(w); j++ {
			if w[j] == "comment" && j+1 < len(w) {
				st.Comment = w[j+1]
				j++
				continue
			}
			b.errorf(ln.Pos, "'tcp-check expect' unexpected argument '%s' after the pattern", w[j])
			return
		}
	default:
		b.errorf(ln.Pos, "'tcp-check' expects 'comment', 'connect', 'send', 'send-binary', 'expect' or 'set-var', got '%s'", w[1])
		return
	}
	// A `tcp-check comment` rule names the rule after it in failure
	// reports, unless that rule has its own comment.
	if n := len(b.px.Check.TCPSteps); n > 0 && st.Comment == "" && st.Action != TCPCheckComment && b.px.Check.TCPSteps[n-1].Action == TCPCheckComment {
		st.Comment = b.px.Check.TCPSteps[n-1].Comment
	}
	b.px.Check.TCPSteps = append(b.px.Check.TCPSteps, st)
}

func (b *builder) parseHTTPCheck(ln *Line) {
	w := ln.Words
	if len(w) < 2 {
		b.errorf(ln.Pos, "'http-check' expects 'comment', 'connect', 'disable-on-404', 'expect', 'send', 'send-state', 'set-var' or 'unset-var'")
		return
	}
	h := &b.px.Check.HTTP
	switch w[1] {
	case "connect":
		for i := 2; i < len(w); i++ {
			switch w[i] {
			case "ssl":
				h.ConnectSSL = true
			case "linger":
			case "port":
				if i+1 >= len(w) {
					b.errorf(ln.Pos, "'http-check connect port' expects a port")
					return
				}
				n, err := parseInt(w[i+1], 1, 65535)
				if err != nil {
					b.errorf(ln.Pos, "'http-check connect port' %v", err)
					return
				}
				h.ConnectPort = n
				i++
			case "comment":
				i++
			default:
				b.errorf(ln.Pos, "'http-check connect' supports 'port', 'ssl', 'linger' and 'comment' in halo (got '%s')", w[i])
				return
			}
		}
	case "disable-on-404":
		h.DisableOn404 = true
	case "send":
		if h.Method == "" {
			h.Method, h.URI, h.Version = "OPTIONS", "/", "HTTP/1.0"
		}
		for i := 2; i < len(w); i++ {
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'http-check send %s' expects an argument", w[i])
				return
			}
			switch w[i] {
			case "meth":
				h.Method = w[i+1]
			case "uri":
				h.URI = w[i+1]
			case "ver":
				h.Version = w[i+1]
			case "body":
				h.Body = w[i+1]
			case "hdr":
				if i+2 >= len(w) {
					b.errorf(ln.Pos, "'http-check send hdr' expects <name> and <value>")
					return
				}
				h.Headers = append(h.Headers, [2]string{w[i+1], w[i+2]})
				i++
			case "comment":
			default:
				b.errorf(ln.Pos, "'http-check send' only supports 'meth', 'uri', 'ver', 'hdr', 'body' and 'comment' here (got '%s')", w[i])
				return
			}
			i++
		}
	case "expect":
		e := &HTTPExpect{Pos: ln.Pos}
		i := 2
		if i < len(w) && w[i] == "!" {
			e.Negate = true
			i++
		}
		for i < len(w) && (w[i] == "comment" || w[i] == "min-recv" || w[i] == "ok-status" || w[i] == "error-status" || w[i] == "tout-status" || w[i] == "on-success" || w[i] == "on-error" || w[i] == "status-code") {
			if w[i] != "comment" {
				b.errorf(ln.Pos, "'http-check expect %s' is not supported by halo yet", w[i])
				return
			}
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "'http-check expect comment' expects an argument")
				return
			}
			e.Comment = w[i+1]
			i += 2
		}
		if i+1 >= len(w) {
			b.errorf(ln.Pos, "'http-check expect' expects 'status', 'rstatus', 'string' or 'rstring' followed by a pattern")
			return
		}
		pat := w[i+1]
		switch w[i] {
		case "status":
			for _, part := range strings.Split(pat, ",") {
				lo, hi, ok := strings.Cut(part, "-")
				if _, err := parseInt(lo, 100, 999); err != nil {
					b.errorf(ln.Pos, "'http-check expect status' expects a status code or range, got '%s'", pat)
					return
				}
				if ok {
					if _, err := parseInt(hi, 100, 999); err != nil {
						b.errorf(ln.Pos, "'http-check expect status' expects a status code or range, got '%s'", pat)
						return
					}
				}
			}
			e.Match, e.Value = MatchStatus, pat
		case "string":
			e.Match, e.Value = MatchString, pat
		case "rstatus", "rstring":
			re, err := regexp.Compile(pat)
			if err != nil {
				b.errorf(ln.Pos, "'http-check expect %s' invalid regex '%s': %v", w[i], pat, err)
				return
			}
			e.Regexp, e.Value = re, pat
			e.Match = MatchRString
			if w[i] == "rstatus" {
				e.Match = MatchRStatus
			}
		case "hdr", "fhdr", "string-lf", "status-lf", "custom":
			b.errorf(ln.Pos, "'http-check expect %s' is not supported by halo yet", w[i])
			return
		default:
			b.errorf(ln.Pos, "'http-check expect' only supports 'status', 'rstatus', 'string', 'rstring', 'hdr', 'fhdr', 'custom', got '%s'", w[i])
			return
		}
		if len(w) == i+4 && w[i+2] == "comment" {
			e.Comment = w[i+3]
		} else if len(w) > i+2 {
			b.errorf(ln.Pos, "'http-check expect' unexpected argument '%s' after the pattern", w[i+2])
			return
		}
		if h.Expect != nil {
			b.errorf(ln.Pos, "several 'http-check expect' rules are not supported by halo yet (previous one at %s)", h.Expect.Pos)
			return
		}
		h.Expect = e
	case "comment", "send-state", "set-var", "unset-var":
		b.errorf(ln.Pos, "'http-check %s' is not supported by halo yet", w[1])
	default:
		b.errorf(ln.Pos, "'http-check' expects 'comment', 'connect', 'disable-on-404', 'expect', 'send', 'send-state', 'set-var' or 'unset-var', got '%s'", w[1])
	}
}
