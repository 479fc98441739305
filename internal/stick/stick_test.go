package stick

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The rates HAProxy's sliding counter gives: events of the current
// period plus the previous period's weighted by the time left.
func TestFreq(t *testing.T) {
	// Times are after a base, as the clock's milliseconds are.
	const p, base = 10000, 1 << 40
	type step struct {
		at   int64 // ms
		add  uint64
		want uint64 // rate read at `at` after adding
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"within one period", []step{{1000, 1, 1}, {2000, 1, 2}, {9000, 3, 5}}},
		// 1000: the period starts at 1000. At 11000 a new period starts:
		// 4 events of the past period, all of it still in the window.
		{"rotation", []step{{1000, 4, 4}, {11000, 0, 4}, {13500, 0, 3}, {16000, 0, 2}, {16000, 2, 4}, {20999, 0, 2}}},
		// Past the end of the next period, nothing is left.
		{"two periods", []step{{1000, 4, 4}, {21000, 0, 0}, {21000, 1, 1}}},
		// Read without adding: a period over is the past one.
		{"read after rotation time", []step{{1000, 10, 10}, {16000, 0, 5}, {21000, 0, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f Freq
			for i, s := range tc.steps {
				at := base + s.at
				if s.add > 0 {
					f.Add(at, p, s.add)
				}
				if got := f.Rate(at, p); got != s.want {
					t.Errorf("step %d (t=%d): rate %d, want %d", i, s.at, got, s.want)
				}
			}
		})
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_000_000)} }

func TestKeys(t *testing.T) {
	tests := []struct {
		typ     KeyType
		n       int
		in      string
		ok      bool
		printed string
	}{
		{KeyIP, 0, "127.0.0.1", true, "127.0.0.1"},
		{KeyIP, 0, "::ffff:10.0.0.1", true, "10.0.0.1"},
		{KeyIP, 0, "::1", false, ""},
		{KeyIPv6, 0, "127.0.0.1", true, "::ffff:127.0.0.1"},
		{KeyIPv6, 0, "::1", true, "::1"},
		{KeyInteger, 0, "42", true, "42"},
		{KeyInteger, 0, "x", false, ""},
		{KeyString, 4, "abcdef", true, "abcd"},
		{KeyBinary, 4, "ab", true, "61620000"},
	}
	for _, tc := range tests {
		k, ok := encodeKey(tc.typ, tc.n, tc.in)
		if ok != tc.ok {
			t.Errorf("%s %q: ok %v", tc.typ, tc.in, ok)
			continue
		}
		if ok && formatKey(tc.typ, k) != tc.printed {
			t.Errorf("%s %q: printed %q, want %q", tc.typ, tc.in, formatKey(tc.typ, k), tc.printed)
		}
	}
}

func TestTrackAndRates(t *testing.T) {
	c := newClock()
	tb := New(Config{Name: "fe", Type: KeyIP, Size: 100, Expire: 10 * time.Second,
		Store: []Store{{ConnCur, 0}, {ConnCnt, 0}, {HTTPReqRate, 10000}, {GPC0, 0}}}, c.now)
	k, _ := tb.Key("10.0.0.1")
	e1 := tb.Track(k)
	e2 := tb.Track(k)
	if e1 != e2 {
		t.Fatal("same key, different entries")
	}
	if v, _ := tb.Get(e1, ConnCur); v != 2 {
		t.Errorf("conn_cur %d, want 2", v)
	}
	for i := 0; i < 7; i++ {
		tb.Count(e1, EvHTTPReq, 1)
	}
	if v, _ := tb.Get(e1, HTTPReqRate); v != 7 {
		t.Errorf("http_req_rate %d, want 7", v)
	}
	if _, ok := tb.Get(e1, HTTPErrRate); ok {
		t.Error("http_err_rate is not stored")
	}
	if n, ok := tb.Inc(e1, EvGPC0); !ok || n != 1 {
		t.Errorf("inc gpc0: %d %v", n, ok)
	}
	tb.Release(e1)
	tb.Release(e2)
	if v, _ := tb.Get(e1, ConnCur); v != 0 {
		t.Errorf("conn_cur %d after release, want 0", v)
	}
	if v, _ := tb.Get(e1, ConnCnt); v != 2 {
		t.Errorf("conn_cnt %d, want 2", v)
	}
	// Unused, it expires 10s after its last use.
	c.advance(9 * time.Second)
	if tb.Len() != 1 {
		t.Fatal("expired too early")
	}
	c.advance(time.Second)
	if tb.Len() != 0 || tb.Lookup(k) != nil {
		t.Fatal("not expired")
	}
}

func TestHeldEntriesDoNotExpire(t *testing.T) {
	c := newClock()
	tb := New(Config{Name: "t", Type: KeyString, Size: 10, Expire: time.Second, Store: []Store{{GPC0, 0}}}, c.now)
	e := tb.Track("a")
	c.advance(time.Hour)
	if tb.Lookup("a") != e {
		t.Fatal("held entry expired")
	}
	tb.Release(e)
	c.advance(999 * time.Millisecond)
	if tb.Lookup("a") == nil {
		t.Fatal("the expiry restarts at release")
	}
}

func TestEviction(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		nopurge bool
		add     int
		wantLen int
		gone    []string // keys evicted
	}{
		{"oldest evicted", 3, false, 4, 3, []string{"k0"}},
		{"nopurge refuses", 3, true, 4, 3, []string{"k3"}},
		// 512 entries: 3 are evicted at once (512/256+1).
		{"batch", 512, false, 513, 510, []string{"k0", "k1", "k2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			tb := New(Config{Name: "t", Type: KeyString, Size: tc.size, NoPurge: tc.nopurge, Store: []Store{{GPC0, 0}}}, c.now)
			for i := 0; i < tc.add; i++ {
				tb.Upsert("k" + strconv.Itoa(i))
				c.advance(time.Millisecond)
			}
			if n := tb.Len(); n != tc.wantLen {
				t.Errorf("len %d, want %d", n, tc.wantLen)
			}
			for _, k := range tc.gone {
				if tb.Lookup(k) != nil {
					t.Errorf("%s still there", k)
				}
			}
		})
	}
	// Held entries are never evicted: a full table of them refuses.
	tb := New(Config{Name: "t", Type: KeyString, Size: 1, Store: []Store{{GPC0, 0}}}, nil)
	if tb.Track("a") == nil || tb.Track("b") != nil {
		t.Error("a held entry was evicted")
	}
}

func TestDump(t *testing.T) {
	c := newClock()
	tb := New(Config{Name: "fe", Type: KeyIP, Size: 204800, Expire: 10 * time.Second,
		Store: []Store{{HTTPReqRate, 10000}, {GPC0, 0}, {ServerID, 0}}}, c.now)
	k1, _ := tb.Key("127.0.0.1")
	k2, _ := tb.Key("127.0.0.2")
	e := tb.Track(k1)
	tb.Count(e, EvHTTPReq, 3)
	tb.Upsert(k2)
	c.advance(72 * time.Millisecond)
	var b strings.Builder
	tb.Dump(&b, "", []Filter{{HTTPReqRate, "gt", 2}})
	got := b.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 2 || lines[0] != "# table: fe, type: ip, size:204800, used:2" ||
		!strings.HasSuffix(lines[1], ": key=127.0.0.1 use=1 exp=9928 server_id=0 gpc0=0 http_req_rate(10000)=3") {
		t.Errorf("dump:\n%s", got)
	}
}
