package balance

import (
	"hash/crc32"
	"sort"

	"github.com/halo-lb/halo/internal/config"
)

// hashed is `balance source|uri|url_param|hdr`: the key is hashed, then
// mapped onto the servers either by weight slots (map-based, the default:
// any change remaps most keys) or on a consistent-hashing ring
// (hash-type consistent: removing a server moves only its own keys).
type hashed struct {
	fn         func([]byte) uint32
	avalanche  bool
	consistent bool
	servers    []Server
	slots      []Server // map-based: each server repeated weight times
	ring       []ringPoint
	rr         roundRobin // when the key is absent
}

type ringPoint struct {
	h uint32
	s Server
}

func newHash(cfg config.Balance) *hashed {
	h := &hashed{avalanche: cfg.Avalanche, consistent: cfg.HashType == config.HashConsistent}
	switch cfg.HashFunc {
	case "djb2":
		h.fn = djb2
	case "wt6":
		h.fn = wt6
	case "crc32":
		h.fn = crc32.ChecksumIEEE
	case "none":
		h.fn = noHash
	default:
		h.fn = sdbm
	}
	return h
}

// pointsPerWeight is how many ring points a server gets per unit of weight.
const pointsPerWeight = 16

func (h *hashed) reset(servers []Server) {
	h.servers = servers
	h.rr.reset(servers)
	h.slots = h.slots[:0]
	h.ring = h.ring[:0]
	for _, s := range servers {
		for i := 0; i < s.Weight(); i++ {
			h.slots = append(h.slots, s)
		}
		if h.consistent {
			for i := 0; i < s.Weight()*pointsPerWeight; i++ {
				h.ring = append(h.ring, ringPoint{fullAvalanche(uint32(s.ID())*2654435761 + uint32(i)*40503), s})
			}
		}
	}
	sort.Slice(h.ring, func(i, j int) bool { return h.ring[i].h < h.ring[j].h })
}

func (h *hashed) pick(key []byte, avoid Server) Server {
	if len(h.servers) == 0 {
		return nil
	}
	if key == nil {
		return h.rr.pick(nil, avoid)
	}
	v := h.fn(key)
	if h.avalanche || h.consistent {
		v = fullAvalanche(v)
	}
	if h.consistent {
		i := sort.Search(len(h.ring), func(i int) bool { return h.ring[i].h >= v })
		for k := 0; k < len(h.ring); k++ {
			p := h.ring[(i+k)%len(h.ring)]
			if p.s != avoid || len(h.servers) == 1 {
				return p.s
			}
		}
	}
	s := h.slots[v%uint32(len(h.slots))]
	if s == avoid && len(h.servers) > 1 {
		return h.rr.pick(nil, avoid)
	}
	return s
}

func sdbm(b []byte) uint32 {
	var h uint32
	for _, c := range b {
		h = uint32(c) + (h << 6) + (h << 16) - h
	}
	return h
}

func djb2(b []byte) uint32 {
	h := uint32(5381)
	for _, c := range b {
		h = h*33 + uint32(c)
	}
	return h
}

// wt6 is a fast mixing hash selected by `hash-type ... wt6`; its values
// differ from HAProxy's wt6, so keys map to other servers than there.
func wt6(b []byte) uint32 {
	var h0, h1 uint32 = 0xa53c965a, 0x5ca6953a
	for _, c := range b {
		t := uint32(c)
		h0 = h0*0x9e3779b1 ^ t
		h1 = (h1 << 7) ^ (h1 >> 25) ^ t
	}
	return h0 ^ h1
}

func noHash(b []byte) uint32 {
	var h uint32
	for _, c := range b {
		h = h<<8 | uint32(c)
	}
	return h
}

// fullAvalanche mixes all bits of a hash (Bob Jenkins' 32-bit mix).
func fullAvalanche(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a
}
