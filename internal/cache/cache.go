// Package cache is the memory store behind HAProxy's small object cache
// (`cache` sections): complete HTTP responses under a primary key (a
// hash of the request's Host and URI), with up to a few variants per key
// when responses vary, bounded in bytes, expiring, least recently used
// evicted first. It knows nothing of HTTP rules: the proxy decides what
// is stored and which variant a request may use.
package cache

import (
	"container/list"
	"context"
	"sort"
	"sync"
	"time"
)

// Key is a primary key: the SHA-1 of the request's scheme, host and URI.
type Key [20]byte

// Hash is the 32-bit form of the key HAProxy prints in `show cache`.
func (k Key) Hash() uint32 {
	return uint32(k[0]) | uint32(k[1])<<8 | uint32(k[2])<<16 | uint32(k[3])<<24
}

// Request is what a variant is matched against: the request's headers.
type Request interface {
	Header(name string) []string
}

// Header is one stored response header.
type Header struct{ Name, Value string }

// Entry is one stored response. It is immutable once inserted: readers
// share it without locks.
type Entry struct {
	Key     Key
	Status  int
	Reason  string
	Headers []Header
	Body    []byte
	Chunked bool // the server sent it chunked (and so it is sent again)

	// Variant is what a request must match to get this entry (nil: any);
	// Vary is its 64-bit signature for `show cache`.
	Variant func(Request) bool
	Vary    uint64

	Stored time.Time // when it was stored
	Age    int64     // the server's Age header, in seconds, when stored
	Expire time.Time // when it stops being served

	ETag         string
	LastModified time.Time // Last-Modified, else Date, else Stored

	elem *list.Element
}

// Size is what the entry counts against the store's budget.
func (e *Entry) Size() int64 {
	n := int64(len(e.Body) + len(e.Reason) + len(e.ETag) + 64)
	for _, h := range e.Headers {
		n += int64(len(h.Name) + len(h.Value) + 4)
	}
	return n
}

// Options bound a Store.
type Options struct {
	MaxBytes     int64 // total budget
	MaxObject    int64 // largest entry accepted
	MaxSecondary int   // variants per primary key (at least 1)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store is a bounded, expiring response store, safe for concurrent use.
type Store struct {
	opts Options

	mu    sync.Mutex
	byKey map[Key][]*Entry
	lru   *list.List // front: most recently used
	used  int64
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.MaxSecondary < 1 {
		opts.MaxSecondary = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{opts: opts, byKey: map[Key][]*Entry{}, lru: list.New()}
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.opts.Now() }

// MaxObject is the largest entry the store accepts.
func (s *Store) MaxObject() int64 { return s.opts.MaxObject }

// Lookup returns the live entry under k that accepts req (its Variant is
// nil or says yes), marking it recently used, or nil.
func (s *Store) Lookup(k Key, req Request) *Entry {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.byKey[k] {
		if !now.Before(e.Expire) {
			continue
		}
		if e.Variant == nil || e.Variant(req) {
			s.lru.MoveToFront(e.elem)
			return e
		}
	}
	return nil
}

// Insert stores e. An entry under the same key that e's Variant would
// also have answered with the same signature is replaced; without a
// Vary signature e replaces every entry of the key. It reports false
// (e not stored) when e is larger than MaxObject or the key already has
// MaxSecondary live variants.
func (s *Store) Insert(e *Entry) bool {
	size := e.Size()
	if size > s.opts.MaxObject || size > s.opts.MaxBytes {
		return false
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	live := 0
	for _, o := range s.byKey[e.Key] {
		switch {
		case !now.Before(o.Expire), e.Vary == 0, o.Vary == 0, o.Vary == e.Vary:
			s.remove(o)
		default:
			live++
		}
	}
	if live >= s.opts.MaxSecondary {
		return false
	}
	for s.used+size > s.opts.MaxBytes {
		if !s.evictOne(now) {
			return false
		}
	}
	e.elem = s.lru.PushFront(e)
	s.byKey[e.Key] = append(s.byKey[e.Key], e)
	s.used += size
	return true
}

// Delete removes every entry under k (a successful unsafe request on
// the URL invalidates it).
func (s *Store) Delete(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range append([]*Entry(nil), s.byKey[k]...) {
		s.remove(e)
	}
}

// evictOne removes an expired entry if there is one, else the least
// recently used; it reports false when the store is empty.
func (s *Store) evictOne(now time.Time) bool {
	for el := s.lru.Back(); el != nil; el = el.Prev() {
		if e := el.Value.(*Entry); !now.Before(e.Expire) {
			s.remove(e)
			return true
		}
	}
	el := s.lru.Back()
	if el == nil {
		return false
	}
	s.remove(el.Value.(*Entry))
	return true
}

func (s *Store) remove(e *Entry) {
	list := s.byKey[e.Key]
	for i, o := range list {
		if o == e {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.byKey, e.Key)
	} else {
		s.byKey[e.Key] = list
	}
	s.lru.Remove(e.elem)
	s.used -= e.Size()
}

// Sweep removes the expired entries and returns how many it removed.
func (s *Store) Sweep() int {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for el := s.lru.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*Entry); !now.Before(e.Expire) {
			s.remove(e)
			n++
		}
		el = next
	}
	return n
}

// Run sweeps expired entries every interval until ctx ends, so that
// memory is given back even when nothing is stored any more.
func (s *Store) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Stats is a snapshot of the store's use.
type Stats struct {
	Entries int
	Used    int64
	Max     int64
}

// Stats returns the store's current use.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Entries: s.lru.Len(), Used: s.used, Max: s.opts.MaxBytes}
}

// Live returns the entries not yet expired, by hash then storage time.
func (s *Store) Live() []*Entry {
	now := s.opts.Now()
	s.mu.Lock()
	var out []*Entry
	for el := s.lru.Front(); el != nil; el = el.Next() {
		if e := el.Value.(*Entry); now.Before(e.Expire) {
			out = append(out, e)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].Key.Hash(), out[j].Key.Hash(); a != b {
			return a < b
		}
		return out[i].Stored.Before(out[j].Stored)
	})
	return out
}
