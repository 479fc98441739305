package config

import (
	"strings"
)

// httpAfterActions are the http-after-response actions halo runs. They
// are the http-response ones HAProxy 2.6 also allows there; the rules see
// what http-response rules see (the same fetches are valid).
var httpAfterActions = []string{"allow", "set-header", "add-header", "del-header", "replace-header", "replace-value",
	"set-status", "set-var"}

// haproxyAfterActions are the actions HAProxy 2.6 takes in
// http-after-response (halo refuses those not in httpAfterActions as not
// supported yet).
var haproxyAfterActions = []string{"add-header", "allow", "capture", "del-header", "replace-header", "replace-value",
	"set-header", "set-status", "strict-mode", "set-var-fmt(*)", "set-var(*)", "unset-var(*)"}

// afterResponseAction checks an http-after-response action against
// HAProxy's list: one HAProxy refuses there (deny, return, redirect...)
// is refused in its words; one it takes and halo does not yet is refused
// as not supported. It reports whether parsing may go on.
func (b *builder) afterResponseAction(ln *Line, act string) bool {
	name, _, call := strings.Cut(act, "(")
	if call {
		name += "(*)"
	}
	if hasWord(httpAfterActions, strings.TrimSuffix(name, "(*)")) {
		return true
	}
	if !hasWord(haproxyAfterActions, name) {
		b.errorf(ln.Pos, "'http-after-response' expects '%s', but got '%s'.", strings.Join(haproxyAfterActions, "', '"), act)
		return false
	}
	b.errorf(ln.Pos, "'http-after-response %s' is a valid HAProxy action that halo does not support yet", strings.TrimSuffix(name, "(*)"))
	return false
}

// ignoreHTTPRules drops, with HAProxy's warning, the HTTP rules of a
// proxy in TCP mode: they need HTTP mode. The warning is at the first
// rule of each kind.
func (b *builder) ignoreHTTPRules(px *Proxy) {
	for _, l := range []struct {
		kw    string
		rules *[]*HTTPRule
	}{{"http-request", &px.HTTPRequest}, {"http-response", &px.HTTPResponse}, {"http-after-response", &px.HTTPAfterResponse}} {
		if len(*l.rules) > 0 {
			b.warnf((*l.rules)[0].Pos, "'%s' rules ignored for %s '%s' as they require HTTP mode.", l.kw, capName(px.Cap), px.Name)
		}
		*l.rules = nil
	}
}
