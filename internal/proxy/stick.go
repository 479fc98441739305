package proxy

import (
	"context"
	"strconv"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/stick"
)

// newStickTables creates the configuration's tables, owned by the runtime.
func newStickTables(cfg *config.Config) map[string]*stick.Table {
	tables := map[string]*stick.Table{}
	for _, st := range cfg.StickTables() {
		tables[st.Name] = stick.New(st.Config, nil)
	}
	return tables
}

// tracked is the entry a sticky counter tracks.
type tracked struct {
	t *stick.Table
	e *stick.Entry
}

// trackers are the sticky counters sc0..sc2 of a session (tracked by
// tcp-request connection rules, and in tcp mode by content rules) or of
// one HTTP request (http-request rules; tcp-request content rules in
// http mode). A request's counters hide its session's of the same
// number; the session's are seen through them otherwise.
type trackers struct {
	tables  map[string]*stick.Table
	slot    [acl.MaxTrackers]tracked
	session *trackers // for a request: its session's counters
}

// Tracked implements acl.Counters.
func (k *trackers) Tracked(n int) (*stick.Table, *stick.Entry) {
	if n < 0 || n >= acl.MaxTrackers {
		return nil, nil
	}
	if s := k.slot[n]; s.t != nil {
		return s.t, s.e
	}
	if k.session != nil {
		return k.session.Tracked(n)
	}
	return nil, nil
}

// Table implements acl.Counters.
func (k *trackers) Table(name string) *stick.Table { return k.tables[name] }

// track starts tracking key in the action's table with counter n, unless
// that counter already tracks something at this level. It reports
// whether tracking started.
func (k *trackers) track(sa *config.StickAction, txn *acl.Txn) bool {
	if k.slot[sa.Slot].t != nil {
		return false
	}
	t := k.tables[sa.Table]
	if t == nil {
		return false
	}
	v, ok := sa.Key.Eval(txn)
	if !ok {
		return false
	}
	key, ok := t.Key(v)
	if !ok {
		return false
	}
	e := t.Track(key)
	if e == nil {
		return false
	}
	k.slot[sa.Slot] = tracked{t, e}
	return true
}

// each calls fn with every counter in effect: a request's own, else its
// session's.
func (k *trackers) each(fn func(tracked)) {
	for n := 0; n < acl.MaxTrackers; n++ {
		if t, e := k.Tracked(n); t != nil {
			fn(tracked{t, e})
		}
	}
}

// count records an event on every counter in effect.
func (k *trackers) count(ev stick.Event, n uint64) {
	if k == nil || n == 0 {
		return
	}
	k.each(func(c tracked) { c.t.Count(c.e, ev, n) })
}

// release lets the entries of this level go (conn_cur decreases).
func (k *trackers) release() {
	if k == nil {
		return
	}
	for n := range k.slot {
		if s := k.slot[n]; s.t != nil {
			s.t.Release(s.e)
			k.slot[n] = tracked{}
		}
	}
}

// apply runs a stick-table action of a rule.
func (k *trackers) apply(sa *config.StickAction, txn *acl.Txn, httpReq bool) {
	if k == nil {
		return
	}
	if sa.Kind == config.StickTrack {
		if k.track(sa, txn) && httpReq {
			// Tracked while the request is processed: it counts.
			s := k.slot[sa.Slot]
			s.t.Count(s.e, stick.EvHTTPReq, 1)
		}
		return
	}
	t, e := k.Tracked(sa.Slot)
	if t == nil {
		return
	}
	switch sa.Kind {
	case config.StickIncGPC0:
		t.Inc(e, stick.EvGPC0)
	case config.StickIncGPC1:
		t.Inc(e, stick.EvGPC1)
	case config.StickSetGPT0:
		v := sa.Value
		if sa.Expr != nil {
			s, ok := sa.Expr.Eval(txn)
			if !ok {
				return
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return
			}
			v = n
		}
		t.Set(e, stick.GPT0, v)
	}
}

type trackersKey struct{}

// withSession returns ctx carrying a session's counters.
func withSession(ctx context.Context, k *trackers) context.Context {
	if k == nil {
		return ctx
	}
	return context.WithValue(ctx, trackersKey{}, k)
}

// sessionOf returns the session's counters carried by ctx (nil: none).
func sessionOf(ctx context.Context) *trackers {
	k, _ := ctx.Value(trackersKey{}).(*trackers)
	return k
}

// counters returns the acl view of k (nil when the runtime has no table,
// so that fetches find nothing).
func (k *trackers) counters() acl.Counters {
	if k == nil {
		return nil
	}
	return k
}

// endCounters counts the end of a request on its counters in effect (a
// 4xx answer is an HTTP error; the bytes each way) and releases those it
// tracked itself.
func (tx *httpTxn) endCounters() {
	k := tx.stk
	if k == nil {
		return
	}
	// As HAProxy: a server's 4xx, or a request denied (deny, tarpit);
	// not the other local answers (return, auth, redirect).
	if tx.status >= 400 && tx.status < 500 && (tx.local == nil || tx.state == 'R' || tx.state == 'T') {
		k.count(stick.EvHTTPErr, 1)
	}
	k.count(stick.EvBytesIn, uint64(max(tx.rec.BytesIn, 0)))
	k.count(stick.EvBytesOut, uint64(max(tx.rec.BytesOut, 0)))
	k.release()
	tx.stk, tx.acl.Stick = nil, nil
}

// StickTables returns the tables in declaration order (the runtime API's
// show/clear/set table).
func (rt *Runtime) StickTables() []*stick.Table {
	var out []*stick.Table
	for _, st := range rt.cfg.StickTables() {
		if t := rt.tables[st.Name]; t != nil {
			out = append(out, t)
		}
	}
	return out
}
