package cache

import (
	"crypto/sha1"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a manual clock for expiry tests.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newClock() *clock               { c := &clock{}; c.ns.Store(time.Unix(1e9, 0).UnixNano()); return c }
func key(s string) Key               { return sha1.Sum([]byte(s)) }
func entry(c *clock, k string, body int) *Entry {
	return &Entry{Key: key(k), Status: 200, Body: make([]byte, body), Stored: c.now(), Expire: c.now().Add(10 * time.Second)}
}

type hdrs map[string]string

func (h hdrs) Header(n string) []string {
	if v, ok := h[n]; ok {
		return []string{v}
	}
	return nil
}

func TestLookupExpiry(t *testing.T) {
	c := newClock()
	s := New(Options{MaxBytes: 1 << 20, MaxObject: 1 << 19, MaxSecondary: 10, Now: c.now})
	if !s.Insert(entry(c, "a", 10)) {
		t.Fatal("not stored")
	}
	if s.Lookup(key("a"), nil) == nil || s.Lookup(key("b"), nil) != nil {
		t.Fatal("lookup")
	}
	c.add(9 * time.Second)
	if s.Lookup(key("a"), nil) == nil {
		t.Fatal("expired early")
	}
	c.add(time.Second)
	if s.Lookup(key("a"), nil) != nil {
		t.Fatal("served after its expiry")
	}
	if n := s.Sweep(); n != 1 || s.Stats().Entries != 0 || s.Stats().Used != 0 {
		t.Fatalf("sweep removed %d, stats %+v", n, s.Stats())
	}
}

func TestSizeBounds(t *testing.T) {
	c := newClock()
	s := New(Options{MaxBytes: 1000, MaxObject: 400, MaxSecondary: 10, Now: c.now})
	if s.Insert(entry(c, "big", 500)) {
		t.Error("an object over max-object-size was stored")
	}
	for i := 0; i < 10; i++ {
		if !s.Insert(entry(c, fmt.Sprint(i), 200)) {
			t.Fatalf("entry %d not stored", i)
		}
		if st := s.Stats(); st.Used > 1000 {
			t.Fatalf("used %d > budget", st.Used)
		}
		if i == 1 {
			s.Lookup(key("0"), nil) // 0 is now more recent than 1
		}
	}
	// 264 bytes each: three fit; the most recent ones stay.
	if st := s.Stats(); st.Entries != 3 {
		t.Errorf("entries %d, want 3", st.Entries)
	}
	if s.Lookup(key("9"), nil) == nil || s.Lookup(key("1"), nil) != nil {
		t.Error("LRU order not kept")
	}
	// Expired entries go first, before live ones.
	s2 := New(Options{MaxBytes: 600, MaxObject: 300, MaxSecondary: 10, Now: c.now})
	old := entry(c, "old", 200)
	old.Expire = c.now().Add(time.Second)
	s2.Insert(old)
	s2.Insert(entry(c, "live", 200))
	s2.Lookup(key("old"), nil) // recently used, but it will expire
	c.add(2 * time.Second)
	s2.Insert(entry(c, "new", 200))
	if s2.Lookup(key("live"), nil) == nil {
		t.Error("a live entry was evicted before an expired one")
	}
}

func TestVariants(t *testing.T) {
	c := newClock()
	s := New(Options{MaxBytes: 1 << 20, MaxObject: 1 << 19, MaxSecondary: 2, Now: c.now})
	variant := func(ref string, sig uint64) *Entry {
		e := entry(c, "k", 10)
		e.Vary = sig
		e.Variant = func(r Request) bool { v := r.Header("referer"); return len(v) == 1 && v[0] == ref }
		return e
	}
	if !s.Insert(variant("x", 1)) || !s.Insert(variant("y", 2)) {
		t.Fatal("variants not stored")
	}
	if s.Insert(variant("z", 3)) {
		t.Error("a third variant was stored with max-secondary-entries 2")
	}
	if e := s.Lookup(key("k"), hdrs{"referer": "y"}); e == nil || e.Vary != 2 {
		t.Errorf("lookup y = %+v", e)
	}
	if s.Lookup(key("k"), hdrs{"referer": "z"}) != nil {
		t.Error("no variant should match z")
	}
	// The same signature replaces its variant.
	if !s.Insert(variant("y", 2)) || s.Stats().Entries != 2 {
		t.Errorf("replacing a variant: %+v", s.Stats())
	}
	s.Delete(key("k"))
	if s.Stats().Entries != 0 || s.Stats().Used != 0 {
		t.Errorf("after delete: %+v", s.Stats())
	}
	// An entry without Vary replaces the previous one.
	s.Insert(entry(c, "p", 10))
	s.Insert(entry(c, "p", 20))
	if e := s.Lookup(key("p"), nil); e == nil || len(e.Body) != 20 || s.Stats().Entries != 1 {
		t.Errorf("replace: %+v %+v", e, s.Stats())
	}
}

// TestConcurrent is for -race: writers, readers, deleters and sweeps on
// a small store, which must stay within its budget.
func TestConcurrent(t *testing.T) {
	s := New(Options{MaxBytes: 10000, MaxObject: 2000, MaxSecondary: 3})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k := key(fmt.Sprint(i % 37))
				switch (g + i) % 4 {
				case 0:
					s.Insert(&Entry{Key: k, Body: make([]byte, i%900), Expire: time.Now().Add(time.Duration(i%3) * time.Millisecond)})
				case 1:
					if e := s.Lookup(k, nil); e != nil {
						_ = len(e.Body)
					}
				case 2:
					if i%50 == 0 {
						s.Delete(k)
					}
				case 3:
					if i%100 == 0 {
						s.Sweep()
						s.Live()
					}
				}
				if st := s.Stats(); st.Used > 10000 || st.Used < 0 {
					t.Errorf("used %d", st.Used)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	var sum int64
	for el := s.lru.Front(); el != nil; el = el.Next() {
		sum += el.Value.(*Entry).Size()
	}
	if sum != s.Stats().Used {
		t.Errorf("accounted %d, entries sum to %d", s.Stats().Used, sum)
	}
}
