package resolve

import (
	"encoding/binary"
	"math/bits"
)

const (
	xxP1 uint32 = 2654435761
	xxP2 uint32 = 2246822519
	xxP3 uint32 = 3266489917
	xxP4 uint32 = 668265263
	xxP5 uint32 = 374761393
)

// xxh32 is the 32-bit xxHash of b with seed. HAProxy 2.6 keys its DNS
// answer records by it, which decides the order in which records are
// handed to servers; halo orders them the same way.
func xxh32(b []byte, seed uint32) uint32 {
	n := len(b)
	var h uint32
	if n >= 16 {
		v1, v2, v3, v4 := seed+xxP1+xxP2, seed+xxP2, seed, seed-xxP1
		round := func(v uint32, lane []byte) uint32 {
			return bits.RotateLeft32(v+binary.LittleEndian.Uint32(lane)*xxP2, 13) * xxP1
		}
		for ; len(b) >= 16; b = b[16:] {
			v1, v2, v3, v4 = round(v1, b), round(v2, b[4:]), round(v3, b[8:]), round(v4, b[12:])
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = seed + xxP5
	}
	h += uint32(n)
	for ; len(b) >= 4; b = b[4:] {
		h = bits.RotateLeft32(h+binary.LittleEndian.Uint32(b)*xxP3, 17) * xxP4
	}
	for _, c := range b {
		h = bits.RotateLeft32(h+uint32(c)*xxP5, 11) * xxP1
	}
	h ^= h >> 15
	h *= xxP2
	h ^= h >> 13
	h *= xxP3
	h ^= h >> 16
	return h
}
