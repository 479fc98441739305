package proxy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/config"
)

func testBackend(t *testing.T, servers ...*config.Server) *backend {
	t.Helper()
	for i, s := range servers {
		s.ID, s.Name, s.Host, s.Port = i+1, "s"+string(rune('1'+i)), "127.0.0.1", 1
		if s.Weight == 0 {
			s.Weight = 1
		}
	}
	p := &config.Proxy{Name: "be", Cap: config.CapBackend, Servers: servers, Retries: 3,
		Timeouts: config.Timeouts{Queue: 200 * time.Millisecond, Connect: time.Second}}
	rt := &Runtime{cfg: &config.Config{}, backends: map[string]*backend{}}
	return newBackend(rt, p)
}

func TestQueueServesInOrder(t *testing.T) {
	b := testBackend(t, &config.Server{MaxConn: 1})
	ctx := context.Background()
	s, err := b.acquire(ctx, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		s2, err := b.acquire(ctx, nil, nil, nil)
		if err == nil {
			b.release(s2)
		}
		got <- err
	}()
	// The second connection waits in the queue until the slot frees.
	waitQueued(t, b, 1)
	b.release(s)
	if err := <-got; err != nil {
		t.Fatalf("queued acquire: %v", err)
	}
	if n := b.queued.Load(); n != 0 {
		t.Errorf("queue length %d after serving", n)
	}
}

func TestQueueTimeoutAndLimits(t *testing.T) {
	b := testBackend(t, &config.Server{MaxConn: 1, MaxQueue: 1})
	ctx := context.Background()
	s, _ := b.acquire(ctx, nil, nil, nil)
	defer b.release(s)
	done := make(chan error, 1)
	go func() { _, err := b.acquire(ctx, nil, nil, nil); done <- err }()
	waitQueued(t, b, 1)
	// maxqueue 1: a third connection is refused at once.
	if _, err := b.acquire(ctx, nil, nil, nil); !errors.Is(err, errQueueFull) {
		t.Errorf("over maxqueue: %v", err)
	}
	if err := <-done; !errors.Is(err, errQueueTimeout) {
		t.Errorf("queued connection: %v, want queue timeout", err)
	}
	if n := b.queued.Load(); n != 0 {
		t.Errorf("queue length %d after timeout", n)
	}
}

func TestNoUsableServer(t *testing.T) {
	b := testBackend(t, &config.Server{Disabled: true})
	if _, err := b.acquire(context.Background(), nil, nil, nil); !errors.Is(err, errNoServer) {
		t.Errorf("all servers in maintenance: %v", err)
	}
	if got, _ := (&Runtime{backends: map[string]*backend{"be": b}}).UsableServers("be"); got != 0 {
		t.Errorf("nbsrv = %d", got)
	}
}

func TestFullServerSkipped(t *testing.T) {
	b := testBackend(t, &config.Server{MaxConn: 1}, &config.Server{MaxConn: 1})
	ctx := context.Background()
	a, _ := b.acquire(ctx, nil, nil, nil)
	c, err := b.acquire(ctx, nil, nil, nil)
	if err != nil || c == a {
		t.Fatalf("second acquire: %v (same server: %v)", err, c == a)
	}
	b.release(a)
	b.release(c)
}

func waitQueued(t *testing.T, b *backend, n int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.queued.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue length %d, want %d", b.queued.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
