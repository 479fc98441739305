package proxy

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func idleWorkers(w *workers) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.idle)
}

func waitIdle(t *testing.T, w *workers, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for idleWorkers(w) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers, want %d", idleWorkers(w), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Sessions run on workers that are reused while idle, leave after their
// idle time, and all end on close.
func TestWorkers(t *testing.T) {
	// Workers that never time out while the test looks at them (a busy
	// machine may leave any short idle time behind between two looks).
	w := &workers{idleTime: time.Hour}
	var wg sync.WaitGroup
	ran := make(chan int, 10)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		w.run(func() { defer wg.Done(); ran <- 1 })
	}
	wg.Wait()
	waitIdle(t, w, 3)
	// An idle worker takes the next session: no new worker.
	before := runtime.NumGoroutine()
	wg.Add(1)
	w.run(func() { defer wg.Done() })
	wg.Wait()
	waitIdle(t, w, 3)
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines %d -> %d: the idle worker was not reused", before, after)
	}
	// Past their idle time they leave.
	short := &workers{idleTime: 50 * time.Millisecond}
	base := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		wg.Add(1)
		short.run(func() { defer wg.Done() })
	}
	wg.Wait()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > base || idleWorkers(short) > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers and %d goroutines (%d before) after their idle time", idleWorkers(short), runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
	// close ends idle workers at once; run still runs what it is given.
	w.close()
	waitIdle(t, w, 0)
	done := make(chan struct{})
	w.run(func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("run after close did not run")
	}
	if len(ran) != 3 {
		t.Errorf("%d of 3 sessions ran", len(ran))
	}
}
