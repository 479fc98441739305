package acl

import (
	"fmt"
	"strconv"

	"github.com/halo-lb/halo/internal/stick"
)

// Counters is what the stick-table fetches and converters read: the
// entries a transaction tracks (track-sc0..2) and the tables of the
// configuration. The proxy implements it.
type Counters interface {
	// Tracked returns the table and entry counter n tracks (nil: none).
	Tracked(n int) (*stick.Table, *stick.Entry)
	// Table returns the table called name (nil: none).
	Table(name string) *stick.Table
}

// MaxTrackers is the number of sticky counters (sc0..sc2), HAProxy's
// MAX_SESS_STKCTR.
const MaxTrackers = 3

// stickArg is the compiled argument of a stick-table fetch or converter:
// the counter number and the table (the proxy's own by default, bound by
// the configuration with BindTable).
type stickArg struct {
	slot     int
	table    string
	tableArg int  // 1-based position of the table argument (for messages)
	explicit bool // the table was written
}

// stickFetch reads one data type.
type stickFetch struct {
	mode int // stkSC (sc_*(n[,t])), stkSCn (scN_*([t])), stkSrc (src_*([t]))
	op   stickOp
}

const (
	stkSC = iota
	stkSCn
	stkSrc
	stkTable // table_cnt, table_avl
)

// stickOp is what a fetch does with the entry.
type stickOp struct {
	data  stick.Data
	kind  int // opGet, opInc, opClr, opTracked, opTrackers, opKB
	event stick.Event
}

const (
	opGet = iota
	opKB
	opInc
	opClr
	opTracked
	opTrackers
)

// stickOps are the names after sc_, scN_, src_ and table_.
var stickOps = map[string]stickOp{
	"conn_cnt": {data: stick.ConnCnt}, "conn_cur": {data: stick.ConnCur}, "conn_rate": {data: stick.ConnRate},
	"sess_cnt": {data: stick.SessCnt}, "sess_rate": {data: stick.SessRate},
	"http_req_cnt": {data: stick.HTTPReqCnt}, "http_req_rate": {data: stick.HTTPReqRate},
	"http_err_cnt": {data: stick.HTTPErrCnt}, "http_err_rate": {data: stick.HTTPErrRate},
	"bytes_in_rate": {data: stick.BytesInRate}, "bytes_out_rate": {data: stick.BytesOutRate},
	"kbytes_in": {data: stick.BytesInCnt, kind: opKB}, "kbytes_out": {data: stick.BytesOutCnt, kind: opKB},
	"get_gpc0": {data: stick.GPC0}, "get_gpc1": {data: stick.GPC1}, "get_gpt0": {data: stick.GPT0},
	"gpc0_rate": {data: stick.GPC0Rate}, "gpc1_rate": {data: stick.GPC1Rate},
	"inc_gpc0": {kind: opInc, event: stick.EvGPC0, data: stick.GPC0}, "inc_gpc1": {kind: opInc, event: stick.EvGPC1, data: stick.GPC1},
	"clr_gpc0": {kind: opClr, data: stick.GPC0}, "clr_gpc1": {kind: opClr, data: stick.GPC1},
	"trackers": {kind: opTrackers},
}

// tableConvs are the table_* converters' names after table_ (and their
// data types, as the fetches' except server_id, gpt0, gpc0 spelled so).
var tableConvs = map[string]stickOp{
	"server_id": {data: stick.ServerID}, "gpt0": {data: stick.GPT0}, "gpc0": {data: stick.GPC0}, "gpc1": {data: stick.GPC1},
}

// stickFetches are the stick-table fetches, by name.
var stickFetches = map[string]*stickFetch{}

func addStick(name string, k kind, m method, nargs int, use Source, sf *stickFetch) {
	// eachStick runs them; each is never called.
	fetches[name] = fetchDef{k, m, nargs, func(*Txn, []string, func(sample) bool) bool { return false }, use}
	stickFetches[name] = sf
}

func init() {
	for name, op := range stickOps {
		addStick("sc_"+name, kInt, mInt, 1, SrcInternal, &stickFetch{stkSC, op})
		for n := 0; n < MaxTrackers; n++ {
			addStick("sc"+strconv.Itoa(n)+"_"+name, kInt, mInt, -1, SrcInternal, &stickFetch{stkSCn, op})
		}
		if op.kind != opTrackers {
			addStick("src_"+name, kInt, mInt, -1, SrcL4Client, &stickFetch{stkSrc, op})
		}
	}
	tracked := stickOp{kind: opTracked}
	addStick("sc_tracked", kBool, mBool, 1, SrcInternal, &stickFetch{stkSC, tracked})
	for n := 0; n < MaxTrackers; n++ {
		addStick("sc"+strconv.Itoa(n)+"_tracked", kBool, mBool, -1, SrcInternal, &stickFetch{stkSCn, tracked})
	}
	addStick("table_cnt", kInt, mInt, -1, SrcInternal, &stickFetch{stkTable, stickOp{kind: 0}})
	addStick("table_avl", kInt, mInt, -1, SrcInternal, &stickFetch{stkTable, stickOp{kind: 1}})
	for _, n := range []string{"sc_http_req_rate", "src_conn_rate", "sc0_http_req_rate", "sc1_http_req_rate", "sc2_http_req_rate", "src_http_req_rate"} {
		delete(knownUnsupported, n)
	}

	convOps := map[string]stickOp{}
	for name, op := range stickOps {
		if op.kind == opGet || op.kind == opKB || op.kind == opTrackers {
			convOps[name] = op
		}
	}
	delete(convOps, "get_gpc0")
	delete(convOps, "get_gpc1")
	delete(convOps, "get_gpt0")
	for name, op := range tableConvs {
		convOps[name] = op
	}
	for name, op := range convOps {
		op := op
		converters["table_"+name] = convDef{1, 1, "a table name", func(a []string) (conv, error) {
			arg := &stickArg{table: a[0], tableArg: 1, explicit: true}
			return conv{out: kInt, stick: arg, tfn: func(t *Txn, v sample, k kind) (sample, bool) {
				tb := t.table(arg.table)
				if tb == nil {
					return sample{}, false
				}
				key, ok := tb.Key(v.text(k))
				if !ok {
					return sample{}, false
				}
				return stickValue(tb, tb.Lookup(key), op)
			}}, nil
		}}
	}
	converters["in_table"] = convDef{1, 1, "a table name", func(a []string) (conv, error) {
		arg := &stickArg{table: a[0], tableArg: 1, explicit: true}
		return conv{out: kBool, stick: arg, tfn: func(t *Txn, v sample, k kind) (sample, bool) {
			tb := t.table(arg.table)
			if tb == nil {
				return sample{}, false
			}
			key, ok := tb.Key(v.text(k))
			if !ok {
				return sample{i: 0}, true
			}
			if tb.Lookup(key) != nil {
				return sample{i: 1}, true
			}
			return sample{i: 0}, true
		}}, nil
	}}
}

func (t *Txn) table(name string) *stick.Table {
	if t.Stick == nil {
		return nil
	}
	return t.Stick.Table(name)
}

// compileStick builds the argument of a stick-table fetch at parse time.
func compileStick(name string, sf *stickFetch, args []string) (stickArg, error) {
	a := stickArg{}
	switch sf.mode {
	case stkSC:
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 || n >= MaxTrackers {
			return a, fmt.Errorf("invalid stick counter '%s' (0..%d)", args[0], MaxTrackers-1)
		}
		a.slot = n
		if len(args) > 2 {
			return a, fmt.Errorf("expects (<counter>[,<table>])")
		}
		if len(args) == 2 {
			a.table, a.tableArg, a.explicit = args[1], 2, true
		}
	case stkSCn:
		a.slot = int(name[2] - '0')
		fallthrough
	default:
		if len(args) > 1 {
			return a, fmt.Errorf("expects at most one argument, a table name")
		}
		a.tableArg = 1
		if len(args) == 1 {
			a.table, a.explicit = args[0], true
		}
	}
	return a, nil
}

// eachStick runs a stick-table fetch.
func (s *Sample) eachStick(t *Txn, sf *stickFetch, fn func(sample) bool) bool {
	if t.Stick == nil {
		return false
	}
	a := &s.stk
	var tb *stick.Table
	var e *stick.Entry
	switch sf.mode {
	case stkTable:
		tb = t.Stick.Table(a.table)
		if tb == nil {
			return false
		}
		if sf.op.kind == 0 {
			return fn(sample{i: int64(tb.Len())})
		}
		return fn(sample{i: int64(tb.Avail())})
	case stkSrc:
		tb = t.Stick.Table(a.table)
		if tb == nil || !t.Src.IsValid() {
			return false
		}
		key, ok := tb.Key(t.Src.Addr().String())
		if !ok {
			return false
		}
		if sf.op.kind == opInc {
			// src_inc_gpc0 creates the entry of the source.
			e = tb.Upsert(key)
		} else {
			e = tb.Lookup(key)
		}
	default:
		tb, e = t.Stick.Tracked(a.slot)
		if sf.op.kind == opTracked {
			return fn(sample{i: b2i(tb != nil)})
		}
		if tb == nil {
			return false
		}
		if a.explicit {
			// The tracked key, looked up in another table.
			key := tb.KeyOf(e)
			tb = t.Stick.Table(a.table)
			if tb == nil {
				return false
			}
			e = tb.Lookup(key)
		}
	}
	v, ok := stickValue(tb, e, sf.op)
	return ok && fn(v)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// stickValue applies op to an entry of tb (nil: the key is not there,
// which reads as 0).
func stickValue(tb *stick.Table, e *stick.Entry, op stickOp) (sample, bool) {
	switch op.kind {
	case opTrackers:
		if e == nil {
			return sample{i: 0}, true
		}
		return sample{i: int64(tb.Refs(e))}, true
	case opInc:
		if e == nil {
			return sample{}, false
		}
		n, ok := tb.Inc(e, op.event)
		return sample{i: n}, ok
	case opClr:
		if e == nil {
			_, ok := tb.Get(nil, op.data)
			return sample{i: 0}, ok
		}
		n, ok := tb.Clear(e, op.data)
		return sample{i: n}, ok
	}
	v, ok := tb.Get(e, op.data)
	if op.kind == opKB {
		v >>= 10
	}
	return sample{i: v}, ok
}

// TableRef is a stick table a sample names, explicitly or as the
// default table of its proxy, which the configuration must declare.
type TableRef struct {
	Table   string
	Arg     int    // argument position, 1-based
	Keyword string // the fetch keyword
	Conv    string // the converter keyword, "" for a fetch
}

// BindTable makes proxy's table the table of the sample's stick-table
// fetches that name none, as HAProxy does, and lists the tables the
// sample refers to.
func (s *Sample) BindTable(proxy string) []TableRef {
	var refs []TableRef
	if sf := s.sf; sf != nil {
		// sc_* fetches read the tracked entry's own table unless told.
		scOwn := (sf.mode == stkSC || sf.mode == stkSCn) && !s.stk.explicit
		if !scOwn {
			if !s.stk.explicit {
				s.stk.table = proxy
			}
			refs = append(refs, TableRef{Table: s.stk.table, Arg: s.stk.tableArg, Keyword: s.kw})
		}
	}
	for _, c := range s.convs {
		if c.stick != nil {
			refs = append(refs, TableRef{Table: c.stick.table, Arg: c.stick.tableArg, Keyword: s.kw, Conv: c.name})
		}
	}
	return refs
}

// BindTable binds the expression's sample (see Sample.BindTable).
func (e *Expr) BindTable(proxy string) []TableRef { return e.smp.BindTable(proxy) }
