package stick

import (
	"container/list"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// Config describes a table, as a stick-table line does.
type Config struct {
	Name    string
	Type    KeyType
	KeyLen  int // string and binary keys
	Size    int
	Expire  time.Duration // 0: entries never expire
	NoPurge bool          // a full table refuses new entries instead of evicting old ones
	Store   []Store
}

// Table is a stick table. Its methods are safe for concurrent use.
type Table struct {
	cfg     Config
	now     func() time.Time
	has     [numData]bool
	periods [numData]int64

	mu    sync.Mutex
	m     map[string]*Entry
	order *list.List // entries, least recently touched first
}

// Entry is one key of a table with its data. Its fields belong to the
// table's lock: use the table's methods.
type Entry struct {
	key  string
	exp  int64 // expiry in ms of the table's clock (0: none)
	refs int   // trackers and sessions holding the entry
	elem *list.Element
	dead bool // removed from its table (evicted, cleared, expired)

	serverID, gpt0 int64
	cnt            [numData]uint64 // the counters (by Data)
	freq           [numData]Freq   // the rates (by Data)
}

// New returns an empty table. now is its clock (nil: time.Now).
func New(cfg Config, now func() time.Time) *Table {
	if now == nil {
		now = time.Now
	}
	if cfg.KeyLen == 0 && (cfg.Type == KeyString || cfg.Type == KeyBinary) {
		cfg.KeyLen = DefaultKeyLen
	}
	t := &Table{cfg: cfg, now: now, m: map[string]*Entry{}, order: list.New()}
	for _, s := range cfg.Store {
		t.has[s.Data] = true
		t.periods[s.Data] = s.Period
	}
	return t
}

// Name is the table's name (its proxy's).
func (t *Table) Name() string { return t.cfg.Name }

// Config returns the table's description.
func (t *Table) Config() Config { return t.cfg }

// Stores reports whether the table stores d.
func (t *Table) Stores(d Data) bool { return t.has[d] }

func (t *Table) ms() int64 { return t.now().UnixMilli() }

// Key encodes a sample's text as a key of the table.
func (t *Table) Key(s string) (string, bool) { return encodeKey(t.cfg.Type, t.cfg.KeyLen, s) }

// expired reports an entry past its expiry that nobody holds (t.mu held).
func (t *Table) expired(e *Entry, now int64) bool {
	return e.refs == 0 && e.exp != 0 && now >= e.exp
}

func (t *Table) remove(e *Entry) {
	delete(t.m, e.key)
	t.order.Remove(e.elem)
	e.dead = true
}

// purge removes the expired entries (t.mu held).
func (t *Table) purge(now int64) {
	for el := t.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*Entry); t.expired(e, now) {
			t.remove(e)
		}
		el = next
	}
}

// touch renews an entry's expiry (t.mu held).
func (t *Table) touch(e *Entry, now int64) {
	if t.cfg.Expire > 0 {
		e.exp = now + t.cfg.Expire.Milliseconds()
	}
	t.order.MoveToBack(e.elem)
}

// lookup finds a live entry (t.mu held).
func (t *Table) lookup(key string, now int64) *Entry {
	e := t.m[key]
	if e != nil && t.expired(e, now) {
		t.remove(e)
		return nil
	}
	return e
}

// get finds or creates the entry of key; nil when the table is full and
// cannot make room (t.mu held). A full table first drops its expired
// entries, then, unless nopurge, the oldest unused ones: size/256+1 of
// them at once, as HAProxy does.
func (t *Table) get(key string, now int64) *Entry {
	if e := t.lookup(key, now); e != nil {
		return e
	}
	if len(t.m) >= t.cfg.Size {
		t.purge(now)
	}
	if len(t.m) >= t.cfg.Size {
		if t.cfg.NoPurge {
			return nil
		}
		n := t.cfg.Size>>8 + 1
		for el := t.order.Front(); el != nil && n > 0; {
			next := el.Next()
			if e := el.Value.(*Entry); e.refs == 0 {
				t.remove(e)
				n--
			}
			el = next
		}
		if len(t.m) >= t.cfg.Size {
			return nil
		}
	}
	e := &Entry{key: key}
	e.elem = t.order.PushBack(e)
	t.m[key] = e
	t.touch(e, now)
	return e
}

// Lookup returns the entry of an encoded key, nil when absent.
func (t *Table) Lookup(key string) *Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lookup(key, t.ms())
}

// Track finds or creates the entry of key and holds it (Release lets it
// go): tracking counts a connection (conn_cnt, conn_rate, conn_cur).
// It returns nil when the table is full.
func (t *Table) Track(key string) *Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.ms()
	e := t.get(key, now)
	if e == nil {
		return nil
	}
	e.refs++
	t.add(e, now, ConnCnt, 1)
	t.add(e, now, ConnRate, 1)
	t.add(e, now, ConnCur, 1)
	t.touch(e, now)
	return e
}

// Release ends a Track: conn_cur goes down and the entry's expiry starts
// again from now.
func (t *Table) Release(e *Entry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.refs > 0 {
		e.refs--
	}
	if t.has[ConnCur] && e.cnt[ConnCur] > 0 {
		e.cnt[ConnCur]--
	}
	if !e.dead {
		t.touch(e, t.ms())
	}
}

// add updates a counter or a rate, when stored (t.mu held).
func (t *Table) add(e *Entry, now int64, d Data, n uint64) {
	if !t.has[d] {
		return
	}
	if d.IsRate() {
		e.freq[d].Add(now, t.periods[d], n)
	} else {
		e.cnt[d] += n
	}
}

// Event is something that happens to tracked entries.
type Event int

// The events tracking counts.
const (
	EvSession  Event = iota // a session starts (sess_cnt, sess_rate)
	EvHTTPReq               // an HTTP request (http_req_cnt, http_req_rate)
	EvHTTPErr               // a 4xx answer (http_err_cnt, http_err_rate)
	EvBytesIn               // bytes from the client (bytes_in_cnt, bytes_in_rate)
	EvBytesOut              // bytes to the client (bytes_out_cnt, bytes_out_rate)
	EvGPC0                  // sc-inc-gpc0 (gpc0, gpc0_rate)
	EvGPC1                  // sc-inc-gpc1 (gpc1, gpc1_rate)
)

var eventData = [...][2]Data{EvSession: {SessCnt, SessRate}, EvHTTPReq: {HTTPReqCnt, HTTPReqRate},
	EvHTTPErr: {HTTPErrCnt, HTTPErrRate}, EvBytesIn: {BytesInCnt, BytesInRate}, EvBytesOut: {BytesOutCnt, BytesOutRate},
	EvGPC0: {GPC0, GPC0Rate}, EvGPC1: {GPC1, GPC1Rate}}

// Count records n occurrences of ev on the entry and renews its expiry.
func (t *Table) Count(e *Entry, ev Event, n uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.dead {
		return
	}
	now := t.ms()
	d := eventData[ev]
	t.add(e, now, d[0], n)
	t.add(e, now, d[1], n)
	t.touch(e, now)
}

// Get reads a data type of an entry: false when the table does not
// store it. A nil entry (a key not in the table) reads as 0.
func (t *Table) Get(e *Entry, d Data) (int64, bool) {
	if !t.has[d] {
		return 0, false
	}
	if e == nil {
		return 0, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.get1(e, d, t.ms()), true
}

func (t *Table) get1(e *Entry, d Data, now int64) int64 {
	switch {
	case d == ServerID:
		return e.serverID
	case d == GPT0:
		return e.gpt0
	case d.IsRate():
		return int64(e.freq[d].Rate(now, t.periods[d]))
	}
	return int64(e.cnt[d])
}

// Set writes a data type of an entry (server_id, gpt0, a counter; a rate
// restarts with v events now). It reports whether the table stores d.
func (t *Table) Set(e *Entry, d Data, v int64) bool {
	if !t.has[d] {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.dead {
		return true
	}
	now := t.ms()
	t.set1(e, d, v, now)
	t.touch(e, now)
	return true
}

func (t *Table) set1(e *Entry, d Data, v int64, now int64) {
	switch {
	case d == ServerID:
		e.serverID = v
	case d == GPT0:
		e.gpt0 = v
	case d.IsRate():
		e.freq[d] = Freq{}
		e.freq[d].Add(now, t.periods[d], uint64(v))
	default:
		e.cnt[d] = uint64(v)
	}
}

// Upsert finds or creates the entry of key (nil when the table is full)
// and renews its expiry, without holding it.
func (t *Table) Upsert(key string) *Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.ms()
	e := t.get(key, now)
	if e != nil {
		t.touch(e, now)
	}
	return e
}

// Inc adds one to gpc0 or gpc1 (and its rate) of the entry and returns
// the new count; false when the table stores neither the counter nor its
// rate.
func (t *Table) Inc(e *Entry, ev Event) (int64, bool) {
	d := eventData[ev]
	if !t.has[d[0]] && !t.has[d[1]] {
		return 0, false
	}
	t.Count(e, ev, 1)
	t.mu.Lock()
	defer t.mu.Unlock()
	return int64(e.cnt[d[0]]), true
}

// Clear sets gpc0 or gpc1 to zero and returns its former value.
func (t *Table) Clear(e *Entry, d Data) (int64, bool) {
	if !t.has[d] {
		return 0, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := int64(e.cnt[d])
	e.cnt[d] = 0
	return old, true
}

// Refs is the number of trackers holding the entry (`use` in show table).
func (t *Table) Refs(e *Entry) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return e.refs
}

// Len is the number of live entries.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.purge(t.ms())
	return len(t.m)
}

// Avail is the number of entries the table can still take.
func (t *Table) Avail() int { return t.cfg.Size - t.Len() }

// Filter keeps the entries whose data type compares with a value, as
// `show table <t> data.<type> <op> <value>`.
type Filter struct {
	Data  Data
	Op    string // eq ne le lt ge gt
	Value int64
}

func (f Filter) match(v int64) bool {
	switch f.Op {
	case "eq":
		return v == f.Value
	case "ne":
		return v != f.Value
	case "le":
		return v <= f.Value
	case "lt":
		return v < f.Value
	case "ge":
		return v >= f.Value
	case "gt":
		return v > f.Value
	}
	return false
}

// WriteHeader writes the table's `show table` line.
func (t *Table) WriteHeader(w io.Writer) {
	fmt.Fprintf(w, "# table: %s, type: %s, size:%d, used:%d\n", t.cfg.Name, t.cfg.Type, t.cfg.Size, t.Len())
}

// Dump writes the table's header then its entries in `show table`
// format: all of them, the one of key (when key != ""), or those every
// filter keeps. Entries are listed oldest first; the address HAProxy
// prints is an id of the entry.
func (t *Table) Dump(w io.Writer, key string, filters []Filter) {
	t.WriteHeader(w)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.ms()
	var es []*Entry
	if key != "" {
		if e := t.lookup(key, now); e != nil {
			es = append(es, e)
		}
	} else {
		for el := t.order.Front(); el != nil; el = el.Next() {
			es = append(es, el.Value.(*Entry))
		}
	}
next:
	for _, e := range es {
		for _, f := range filters {
			if !f.match(t.get1(e, f.Data, now)) {
				continue next
			}
		}
		t.writeEntry(w, e, now)
	}
}

func (t *Table) writeEntry(w io.Writer, e *Entry, now int64) {
	b := make([]byte, 0, 256)
	b = fmt.Appendf(b, "%p: key=%s use=%d exp=", e, formatKey(t.cfg.Type, e.key), e.refs)
	exp := int64(0)
	if e.exp != 0 {
		exp = max(e.exp-now, 0)
	}
	b = strconv.AppendInt(b, exp, 10)
	for d := Data(0); d < numData; d++ {
		if !t.has[d] {
			continue
		}
		b = append(b, ' ')
		b = append(b, d.String()...)
		if d.IsRate() {
			b = fmt.Appendf(b, "(%d)", t.periods[d])
		}
		b = append(b, '=')
		b = strconv.AppendInt(b, t.get1(e, d, now), 10)
	}
	b = append(b, '\n')
	w.Write(b)
}

// Delete removes the entry of key unless it is in use; false when it is.
func (t *Table) Delete(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.m[key]
	if e == nil {
		return true
	}
	if e.refs > 0 {
		return false
	}
	t.remove(e)
	return true
}

// ClearAll removes every entry not in use (and those filters keep, when
// given), as `clear table <t>`.
func (t *Table) ClearAll(filters []Filter) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.ms()
next:
	for el := t.order.Front(); el != nil; {
		nx := el.Next()
		e := el.Value.(*Entry)
		el = nx
		if e.refs > 0 {
			continue
		}
		for _, f := range filters {
			if !f.match(t.get1(e, f.Data, now)) {
				continue next
			}
		}
		t.remove(e)
	}
}

// KeyOf returns the encoded key of an entry.
func (t *Table) KeyOf(e *Entry) string { return e.key }
