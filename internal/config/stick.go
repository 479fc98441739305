package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/stick"
)

// StickTable is a proxy's `stick-table` line: the table is named after
// the proxy.
type StickTable struct {
	Pos Pos
	stick.Config
}

// StickKind is the kind of a stick-table rule action.
type StickKind int

// The stick-table actions of tcp-request and http-request rules.
const (
	StickTrack   StickKind = iota // track-sc<n> <key> [table <t>]
	StickIncGPC0                  // sc-inc-gpc0(<n>)
	StickIncGPC1                  // sc-inc-gpc1(<n>)
	StickSetGPT0                  // sc-set-gpt0(<n>) <int>|<expr>
)

// StickAction is a stick-table action of a rule.
type StickAction struct {
	Kind  StickKind
	Slot  int         // the sticky counter, 0..2
	Key   *acl.Sample // track: the key expression
	Table string      // track: the table (the rule's proxy's by default)
	Value int64       // sc-set-gpt0 constant
	Expr  *acl.Sample // sc-set-gpt0 expression (nil: Value)
}

// ActStick is the HTTPAction of http-request stick-table actions (far
// from the other actions' numbers so that branches adding actions do
// not collide).
const ActStick HTTPAction = 1000

// stickTableKeyword is the `stick-table` entry of the proxy keywords.
var stickTableKeyword = &Keyword{Name: "stick-table", Sections: InFrontend | InListen | InBackend,
	Doc: "type ip|ipv6|integer|string [len N]|binary [len N] size N[k|m|g] [expire T] [nopurge] [store <types>]: " +
		"a table named after the proxy; store takes server_id, gpt0, gpc0, gpc0_rate(p), gpc1, gpc1_rate(p), conn_cnt, conn_cur, " +
		"conn_rate(p), sess_cnt, sess_rate(p), http_req_cnt, http_req_rate(p), http_err_cnt, http_err_rate(p), bytes_in_cnt, " +
		"bytes_in_rate(p), bytes_out_cnt, bytes_out_rate(p); 'peers' is refused (no peers section support)",
	parse: (*builder).parseStickTable}

func (b *builder) parseStickTable(ln *Line) {
	w := ln.Words
	if b.px.StickTable != nil {
		p := b.px.StickTable.Pos
		b.errorf(ln.Pos, "stick-table name '%s' conflicts with table declared in %s '%s' at %s:%d.", b.px.Name, b.pxKind(), b.px.Name, p.File, p.Line)
		return
	}
	st := &StickTable{Pos: ln.Pos, Config: stick.Config{Name: b.px.Name, Size: -1}}
	typed := false
	for i := 1; i < len(w); i++ {
		arg := func() (string, bool) {
			if i+1 >= len(w) {
				b.errorf(ln.Pos, "stick-table: missing argument after '%s'.", w[i])
				return "", false
			}
			i++
			return w[i], true
		}
		switch w[i] {
		case "type":
			v, ok := arg()
			if !ok {
				return
			}
			t, ok := stick.ParseKeyType(v)
			if !ok {
				b.errorf(ln.Pos, "stick-table: unknown type '%s'.", v)
				return
			}
			st.Type, typed = t, true
			if (t == stick.KeyString || t == stick.KeyBinary) && i+2 < len(w) && w[i+1] == "len" {
				n, err := parseInt(w[i+2], 1, 1<<20)
				if err != nil {
					b.errorf(ln.Pos, "stick-table: invalid length '%s'.", w[i+2])
					return
				}
				st.KeyLen = n
				i += 2
			}
		case "size":
			v, ok := arg()
			if !ok {
				return
			}
			n, err := parseSize(v)
			if err != nil || n < 0 {
				b.errorf(ln.Pos, "stick-table: invalid size '%s'.", v)
				return
			}
			st.Size = n
		case "expire":
			v, ok := arg()
			if !ok {
				return
			}
			d, err := parseTime(v)
			if err != nil {
				b.errorf(ln.Pos, "stick-table: %v", err)
				return
			}
			st.Expire = d
		case "nopurge":
			st.NoPurge = true
		case "peers":
			b.errorf(ln.Pos, "stick-table: 'peers' is valid in HAProxy but halo does not support peers sections yet (tables are local to the process).")
			return
		case "store":
			v, ok := arg()
			if !ok {
				return
			}
			if !b.parseStore(ln, st, v) {
				return
			}
		case "srvkey", "write-to", "recv-only":
			b.errorf(ln.Pos, "stick-table: '%s' is valid in HAProxy but not supported by halo yet.", w[i])
			return
		default:
			b.errorf(ln.Pos, "stick-table: unknown argument '%s'.", w[i])
			return
		}
	}
	if !typed {
		b.errorf(ln.Pos, "stick-table: missing type.")
		return
	}
	if st.Size < 0 {
		b.errorf(ln.Pos, "stick-table: missing size.")
		return
	}
	b.px.StickTable = st
}

// parseStore parses a store list: types, rates with their period.
func (b *builder) parseStore(ln *Line, st *StickTable, list string) bool {
	for _, item := range strings.Split(list, ",") {
		name, period, hasArg := strings.Cut(item, "(")
		if stick.OtherData[name] {
			b.errorf(ln.Pos, "stick-table: store option '%s' is valid in HAProxy but not supported by halo yet.", name)
			return false
		}
		d, ok := stick.ParseData(name)
		if !ok {
			b.errorf(ln.Pos, "stick-table: unknown store option '%s'.", name)
			return false
		}
		s := stick.Store{Data: d}
		if d.IsRate() {
			if !hasArg || !strings.HasSuffix(period, ")") {
				b.errorf(ln.Pos, "stick-table: missing argument to store option '%s'.", name)
				return false
			}
			p, err := parseTime(strings.TrimSuffix(period, ")"))
			if err != nil || p <= 0 {
				b.errorf(ln.Pos, "stick-table: invalid period for store option '%s'.", name)
				return false
			}
			s.Period = p.Milliseconds()
		} else if hasArg {
			b.errorf(ln.Pos, "stick-table: store option '%s' takes no argument.", name)
			return false
		}
		st.Store = append(st.Store, s)
	}
	return true
}

// stickActionNames reports a stick-table action word: track-sc<n>,
// sc-inc-gpc0(<n>), sc-inc-gpc1(<n>), sc-set-gpt0(<n>).
func isStickAction(w string) bool {
	return strings.HasPrefix(w, "track-sc") || strings.HasPrefix(w, "sc-inc-gpc0(") || strings.HasPrefix(w, "sc-inc-gpc1(") ||
		strings.HasPrefix(w, "sc-set-gpt0(")
}

// parseStickAction parses the stick-table action at w[i] of a rule
// (what: "http-request track-sc0" for messages); it returns the action
// and the index of the word after its arguments.
func (b *builder) parseStickAction(ln *Line, i int, at acl.Where) (*StickAction, int, bool) {
	w := ln.Words
	act := w[i]
	rule := strings.Join(w[:i+1], " ")
	fail := func(format string, args ...any) (*StickAction, int, bool) {
		b.errorf(ln.Pos, "error detected in %s '%s' while parsing '%s' rule : %s", b.pxKind(), b.px.Name, rule, fmt.Sprintf(format, args...))
		return nil, 0, false
	}
	if n, ok := strings.CutPrefix(act, "track-sc"); ok {
		slot, err := strconv.Atoi(n)
		if err != nil || slot < 0 {
			return fail("unknown action '%s'.", act)
		}
		if slot >= acl.MaxTrackers {
			return fail("%d track-sc number exceeding %d (MAX_SESS_STKCTR-1) value.", slot, acl.MaxTrackers-1)
		}
		if i+1 >= len(w) || w[i+1] == "if" || w[i+1] == "unless" {
			return fail("missing key.")
		}
		key, err := acl.ParseSample(w[i+1])
		if err != nil {
			return fail("'%s': %v", w[i+1], err)
		}
		if src := key.Unavailable(at); src != 0 {
			return fail("fetch method '%s' extracts information from '%s', none of which is available here.", key.Keyword(), src)
		}
		b.noteTableRefs(ln.Pos, key.BindTable(b.px.Name))
		sa := &StickAction{Kind: StickTrack, Slot: slot, Key: key, Table: b.px.Name}
		j := i + 2
		if j < len(w) && w[j] == "table" {
			if j+1 >= len(w) {
				return fail("missing table name after 'table'.")
			}
			sa.Table = w[j+1]
			j += 2
		}
		return sa, j, true
	}
	name, rest, _ := strings.Cut(act, "(")
	n, err := strconv.Atoi(strings.TrimSuffix(rest, ")"))
	if !strings.HasSuffix(rest, ")") || err != nil {
		return fail("invalid stick table track ID '%s'.", strings.TrimSuffix(rest, ")"))
	}
	if n < 0 || n >= acl.MaxTrackers {
		return fail("invalid stick table track ID. The max allowed ID is %d.", acl.MaxTrackers-1)
	}
	sa := &StickAction{Slot: n}
	j := i + 1
	switch name {
	case "sc-inc-gpc0":
		sa.Kind = StickIncGPC0
	case "sc-inc-gpc1":
		sa.Kind = StickIncGPC1
	case "sc-set-gpt0":
		sa.Kind = StickSetGPT0
		if j >= len(w) || w[j] == "if" || w[j] == "unless" {
			return fail("expects an integer or an expression.")
		}
		if v, err := strconv.ParseInt(w[j], 10, 64); err == nil {
			sa.Value = v
		} else {
			e, err := acl.ParseSample(w[j])
			if err != nil {
				return fail("'%s': %v", w[j], err)
			}
			b.noteTableRefs(ln.Pos, e.BindTable(b.px.Name))
			sa.Expr = e
		}
		j++
	}
	return sa, j, true
}

// stickRef is a table a rule or a sample names.
type stickRef struct {
	pos   Pos
	table string
	msg   string
}

// noteTableRefs binds the default table of an expression's stick-table
// fetches to the current proxy and records the tables it names.
func (b *builder) noteTableRefs(pos Pos, refs []acl.TableRef) {
	for _, r := range refs {
		var msg string
		if r.Conv != "" {
			msg = fmt.Sprintf("referenced in arg %d of conversion keyword '%s' for ACL keyword '%s' in proxy '%s'.", r.Arg, r.Conv, r.Keyword, b.px.Name)
		} else {
			msg = fmt.Sprintf("referenced in arg %d of ACL keyword '%s' in proxy '%s'.", r.Arg, r.Keyword, b.px.Name)
		}
		b.stickRefs = append(b.stickRefs, stickRef{pos: pos, table: r.Table, msg: "unable to find table '" + r.Table + "' " + msg})
	}
}

// checkStickRefs checks that the tables rules and fetches name exist.
func (b *builder) checkStickRefs() {
	tables := map[string]bool{}
	for _, p := range b.cfg.Proxies {
		if p.StickTable != nil {
			tables[p.Name] = true
		}
	}
	for _, r := range b.stickRefs {
		if !tables[r.table] {
			b.errorf(r.pos, "%s", r.msg)
		}
	}
	for _, p := range b.cfg.Proxies {
		for _, r := range p.TCPRequest {
			if r.Stick != nil && r.Stick.Kind == StickTrack && !tables[r.Stick.Table] {
				b.errorf(r.Pos, "Proxy '%s': unable to find table '%s' referenced by track-sc%d.", p.Name, r.Stick.Table, r.Stick.Slot)
			}
		}
		for _, r := range p.HTTPRequest {
			if r.Stick != nil && r.Stick.Kind == StickTrack && !tables[r.Stick.Table] {
				b.errorf(r.Pos, "Proxy '%s': unable to find table '%s' referenced by track-sc%d.", p.Name, r.Stick.Table, r.Stick.Slot)
			}
		}
	}
}

// StickTables returns the configuration's tables.
func (c *Config) StickTables() []*StickTable {
	var out []*StickTable
	for _, p := range c.Proxies {
		if p.StickTable != nil && !p.Disabled {
			out = append(out, p.StickTable)
		}
	}
	return out
}
