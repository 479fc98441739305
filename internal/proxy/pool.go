package proxy

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// readerPool recycles the read buffers of client and server connections
// (tune.bufsize each), and slicePool the body copy buffers: a proxy that
// makes new buffers for every connection spends its time zeroing memory
// and collecting it again (measured: a fifth of the CPU of short HTTP
// connections).
type readerPool struct {
	size int
	p    sync.Pool
}

func (rp *readerPool) get(r io.Reader) *bufio.Reader {
	if br, ok := rp.p.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, rp.size)
}

// put takes br back; nothing may read from it or hold its bytes after.
func (rp *readerPool) put(br *bufio.Reader) {
	if br == nil || br.Size() != rp.size {
		return
	}
	br.Reset(nil)
	rp.p.Put(br)
}

// slicePool recycles byte slices of one size.
type slicePool struct {
	size int
	p    sync.Pool
}

func (bp *slicePool) get() *[]byte {
	if b, ok := bp.p.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, bp.size)
	return &b
}

func (bp *slicePool) put(b *[]byte) {
	if b != nil && len(*b) == bp.size {
		bp.p.Put(b)
	}
}

// workers runs sessions on goroutines that outlive them. A session's
// goroutine grows its stack to what the HTTP path needs; a new goroutine
// per connection pays for that growth, and for its creation, every time
// (measured: about a tenth of the CPU of short HTTP connections). An
// idle worker waits workerIdle for its next session, then exits; close
// ends the idle ones at once.
type workers struct {
	mu       sync.Mutex
	idle     []chan func() // most recently idle last: its stack is warm
	closed   bool
	idleTime time.Duration // workerIdle when zero
}

const workerIdle = 10 * time.Second

// run runs f on an idle worker, or on a new one.
func (w *workers) run(f func()) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 && !w.closed {
		ch := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		ch <- f
		return
	}
	closed := w.closed
	w.mu.Unlock()
	if closed {
		go f()
		return
	}
	go w.loop(f)
}

func (w *workers) loop(f func()) {
	ch := make(chan func())
	idle := w.idleTime
	if idle == 0 {
		idle = workerIdle
	}
	t := time.NewTimer(idle)
	defer t.Stop()
	for f != nil {
		f()
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return
		}
		w.idle = append(w.idle, ch)
		w.mu.Unlock()
		t.Reset(idle)
		select {
		case f = <-ch:
		case <-t.C:
			if w.remove(ch) {
				return
			}
			f = <-ch // run took ch just now and is sending
		}
	}
}

// remove takes ch off the idle list; false when run already took it.
func (w *workers) remove(ch chan func()) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, c := range w.idle {
		if c == ch {
			w.idle = append(w.idle[:i], w.idle[i+1:]...)
			return true
		}
	}
	return false
}

// close ends the idle workers; busy ones end after their session.
func (w *workers) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, ch := range w.idle {
		close(ch)
	}
	w.idle = nil
}
