package balance

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/halo-lb/halo/internal/config"
)

type srv struct {
	id, w, max int
	conns      atomic.Int64
}

func (s *srv) ID() int      { return s.id }
func (s *srv) Weight() int  { return s.w }
func (s *srv) Conns() int   { return int(s.conns.Load()) }
func (s *srv) MaxConn() int { return s.max }

func servers(weights ...int) []Server {
	out := make([]Server, len(weights))
	for i, w := range weights {
		out[i] = &srv{id: i + 1, w: w}
	}
	return out
}

func seq(b Balancer, n int, key []byte) string {
	var ids []string
	for i := 0; i < n; i++ {
		s := b.Pick(key, nil)
		if s == nil {
			ids = append(ids, "-")
			continue
		}
		ids = append(ids, fmt.Sprint(s.ID()))
	}
	return strings.Join(ids, "")
}

func TestSequences(t *testing.T) {
	for _, tc := range []struct {
		name    string
		algo    config.Algo
		weights []int
		want    string
	}{
		{"rr equal", config.AlgoRoundRobin, []int{1, 1}, "121212"},
		{"rr three", config.AlgoRoundRobin, []int{1, 1, 1}, "123123"},
		{"rr weights 3:1", config.AlgoRoundRobin, []int{3, 1}, "11211121"},
		{"rr weight 0 skipped", config.AlgoRoundRobin, []int{1, 0, 1}, "1313"},
		{"static-rr", config.AlgoStaticRR, []int{2, 1}, "121121"},
		{"first", config.AlgoFirst, []int{1, 1}, "1111"},
		{"leastconn idle", config.AlgoLeastConn, []int{1, 1, 1}, "123123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(config.Balance{Algo: tc.algo}, false)
			b.Set(servers(tc.weights...), nil)
			if got := seq(b, len(tc.want), nil); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLeastConnPrefersIdle(t *testing.T) {
	ss := servers(1, 1, 1)
	ss[0].(*srv).conns.Store(5)
	ss[2].(*srv).conns.Store(2)
	b := New(config.Balance{Algo: config.AlgoLeastConn}, false)
	b.Set(ss, nil)
	if got := b.Pick(nil, nil).ID(); got != 2 {
		t.Errorf("picked %d, want 2 (no connections)", got)
	}
	// Weights: conns/weight, so a weight-4 server with 3 conns beats a weight-1 with 1.
	ws := []Server{&srv{id: 1, w: 1}, &srv{id: 2, w: 4}}
	ws[0].(*srv).conns.Store(1)
	ws[1].(*srv).conns.Store(3)
	b.Set(ws, nil)
	if got := b.Pick(nil, nil).ID(); got != 2 {
		t.Errorf("picked %d, want 2", got)
	}
}

func TestFirstFillsInOrder(t *testing.T) {
	ss := []Server{&srv{id: 1, w: 1, max: 2}, &srv{id: 2, w: 1, max: 2}}
	b := New(config.Balance{Algo: config.AlgoFirst}, false)
	b.Set(ss, nil)
	var got []int
	for i := 0; i < 4; i++ {
		s := b.Pick(nil, nil)
		s.(*srv).conns.Add(1)
		got = append(got, s.ID())
	}
	if fmt.Sprint(got) != "[1 1 2 2]" {
		t.Errorf("got %v", got)
	}
}

func TestBackups(t *testing.T) {
	act := servers(1, 1)
	bk := []Server{&srv{id: 3, w: 1}, &srv{id: 4, w: 1}}
	b := New(config.Balance{}, false)
	b.Set(act, bk)
	if got := seq(b, 4, nil); got != "1212" {
		t.Errorf("actives up: %s", got)
	}
	b.Set(nil, bk)
	if got := seq(b, 4, nil); got != "3333" {
		t.Errorf("only the first backup serves: %s", got)
	}
	b = New(config.Balance{}, true)
	b.Set(nil, bk)
	if got := seq(b, 4, nil); got != "3434" {
		t.Errorf("allbackups: %s", got)
	}
	b.Set(nil, nil)
	if b.Pick(nil, nil) != nil {
		t.Errorf("no server: want nil")
	}
}

func TestAvoid(t *testing.T) {
	for _, algo := range []config.Algo{config.AlgoRoundRobin, config.AlgoLeastConn, config.AlgoFirst, config.AlgoRandom, config.AlgoSource} {
		ss := servers(1, 1)
		b := New(config.Balance{Algo: algo, Draws: 2}, false)
		b.Set(ss, nil)
		for i := 0; i < 20; i++ {
			if s := b.Pick([]byte{1, 2, 3, byte(i)}, ss[0]); s != ss[1] {
				t.Errorf("%v: picked the avoided server", algo)
				break
			}
		}
	}
}

func TestHashStable(t *testing.T) {
	for _, ht := range []config.HashType{config.HashMapBased, config.HashConsistent} {
		b := New(config.Balance{Algo: config.AlgoSource, HashType: ht}, false)
		b.Set(servers(1, 1, 1, 1), nil)
		for k := 0; k < 50; k++ {
			key := []byte(fmt.Sprintf("10.0.0.%d", k))
			a := b.Pick(key, nil)
			if b.Pick(key, nil) != a {
				t.Fatalf("hash %v not stable", ht)
			}
		}
	}
}

func TestConsistentMovesOnlyRemovedKeys(t *testing.T) {
	ss := servers(1, 1, 1, 1)
	b := New(config.Balance{Algo: config.AlgoSource, HashType: config.HashConsistent}, false)
	b.Set(ss, nil)
	before := map[string]Server{}
	for k := 0; k < 2000; k++ {
		key := fmt.Sprintf("192.0.2.%d:%d", k%250, k)
		before[key] = b.Pick([]byte(key), nil)
	}
	b.Set([]Server{ss[0], ss[1], ss[3]}, nil) // server 3 goes down
	moved, total := 0, 0
	for key, s := range before {
		now := b.Pick([]byte(key), nil)
		if s.ID() != 3 {
			total++
			if now != s {
				moved++
			}
		}
	}
	if moved != 0 {
		t.Errorf("%d of %d keys of surviving servers moved", moved, total)
	}
}

func TestDistributionProportional(t *testing.T) {
	for _, algo := range []config.Algo{config.AlgoRoundRobin, config.AlgoRandom, config.AlgoSource} {
		b := New(config.Balance{Algo: algo, Draws: 1}, false)
		b.Set(servers(1, 3), nil)
		count := map[int]int{}
		for i := 0; i < 8000; i++ {
			count[b.Pick([]byte(fmt.Sprint(i)), nil).ID()]++
		}
		ratio := float64(count[2]) / float64(count[1])
		if ratio < 2.4 || ratio > 3.6 {
			t.Errorf("%v: weight 3:1 gave %v (ratio %.2f)", algo, count, ratio)
		}
	}
}

func TestConcurrentPick(t *testing.T) {
	b := New(config.Balance{Algo: config.AlgoLeastConn}, false)
	ss := servers(1, 2, 3)
	b.Set(ss, nil)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				s := b.Pick(nil, nil).(*srv)
				s.conns.Add(1)
				if i%10 == 0 {
					b.Set(ss, nil)
				}
				s.conns.Add(-1)
			}
		}()
	}
	wg.Wait()
}

func BenchmarkPickRoundRobin(b *testing.B) {
	bl := New(config.Balance{}, false)
	bl.Set(servers(1, 2, 3, 4), nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		bl.Pick(nil, nil)
	}
}

// TestDynamic: the algorithms HAProxy's manual calls dynamic (weights
// change on the fly, so a slow start ramps them) and the static ones.
func TestDynamic(t *testing.T) {
	for _, tc := range []struct {
		bal  config.Balance
		want bool
	}{
		{config.Balance{Algo: config.AlgoRoundRobin}, true},
		{config.Balance{Algo: config.AlgoLeastConn}, true},
		{config.Balance{Algo: config.AlgoFirst}, true},
		{config.Balance{Algo: config.AlgoRandom}, true},
		{config.Balance{Algo: config.AlgoStaticRR}, false},
		{config.Balance{Algo: config.AlgoSource}, false},
		{config.Balance{Algo: config.AlgoURI, HashType: config.HashConsistent}, true},
		{config.Balance{Algo: config.AlgoHdr, HashType: config.HashMapBased}, false},
	} {
		if got := Dynamic(tc.bal); got != tc.want {
			t.Errorf("%v (hash-type %v): dynamic %v, want %v", tc.bal.Algo, tc.bal.HashType, got, tc.want)
		}
	}
}
