package proxy

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/halo-lb/halo/internal/config"
)

// afterProxies are the proxies whose http-after-response rules apply to
// the current response, in HAProxy's order: the backend's (once one is
// chosen), then the frontend's.
func (tx *httpTxn) afterProxies() []*config.Proxy {
	fe := tx.fe.cfg
	if tx.be != nil && tx.be.cfg != fe {
		return []*config.Proxy{tx.be.cfg, fe}
	}
	return []*config.Proxy{fe}
}

// hasAfterRules reports whether any http-after-response rule may apply.
func (tx *httpTxn) hasAfterRules() bool {
	for _, px := range tx.afterProxies() {
		if len(px.HTTPAfterResponse) > 0 {
			return true
		}
	}
	return false
}

// afterResponse runs the http-after-response rules on the response in
// the view: a server's, after its http-response rules and persistence
// cookie. `allow` ends a proxy's list; the actions are never final.
func (tx *httpTxn) afterResponse() {
	for _, px := range tx.afterProxies() {
		tx.applyRules(px, px.HTTPAfterResponse)
	}
}

// afterLocal runs the http-after-response rules on a response halo
// generated (tx.local): the head is loaded into the view, edited by the
// rules and written again, lower-case names and all, before the body.
// Empty answers (a connection closed without a response) are left alone.
func (tx *httpTxn) afterLocal() {
	if len(tx.local) == 0 || !tx.hasAfterRules() {
		return
	}
	end := bytes.Index(tx.local, []byte("\r\n\r\n"))
	if end < 0 {
		return
	}
	head, body := string(tx.local[:end+2]), tx.local[end+4:]
	line, rest, _ := strings.Cut(head, "\r\n")
	proto, st, _ := strings.Cut(line, " ")
	code, reason, _ := strings.Cut(st, " ")
	status, err := strconv.Atoi(code)
	if err != nil {
		return
	}
	v := &tx.view
	v.status, v.reason = status, reason
	v.rhdr = v.rhdr[:0]
	for rest != "" {
		var l string
		l, rest, _ = strings.Cut(rest, "\r\n")
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v.rhdr = append(v.rhdr, hdr{name, strings.TrimSpace(value)})
	}
	tx.afterResponse()
	b := make([]byte, 0, len(tx.local)+64)
	b = append(b, proto...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(v.status), 10)
	b = append(b, ' ')
	b = append(b, v.reason...)
	b = append(b, "\r\n"...)
	for _, h := range v.rhdr {
		b = appendHeader(b, h.name, h.value)
	}
	b = append(b, "\r\n"...)
	tx.local = append(b, body...)
	tx.status = v.status
}
