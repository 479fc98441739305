// Package crypt verifies crypt(3) password hashes of the kinds found in
// HAProxy userlists: SHA-512 ($6$) and SHA-256 ($5$) crypt as defined by
// Ulrich Drepper's specification, which `mkpasswd -m sha-512` and
// `openssl passwd -6` produce.
package crypt

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// ErrUnsupported is returned for hash kinds halo cannot verify.
var ErrUnsupported = errors.New("unsupported password hash")

// Check reports whether the hash is of a kind Verify understands, with
// an error that says which kinds are when it is not.
func Check(h string) error {
	if strings.HasPrefix(h, "$5$") || strings.HasPrefix(h, "$6$") {
		_, _, _, err := split(h)
		return err
	}
	id := "DES"
	if strings.HasPrefix(h, "$") {
		if i := strings.IndexByte(h[1:], '$'); i >= 0 {
			id = "$" + h[1:i+1] + "$"
		}
	}
	return fmt.Errorf("%w %s: halo verifies SHA-512 ($6$) and SHA-256 ($5$) crypt hashes; create one with `mkpasswd -m sha-512` or `openssl passwd -6`", ErrUnsupported, id)
}

// Verify reports whether password matches the crypt hash h.
func Verify(h, password string) bool {
	rounds, custom, salt, err := split(h)
	if err != nil {
		return false
	}
	var got string
	if strings.HasPrefix(h, "$6$") {
		got = shaCrypt("$6$", sha512.New, []byte(password), []byte(salt), rounds, custom)
	} else {
		got = shaCrypt("$5$", sha256.New, []byte(password), []byte(salt), rounds, custom)
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(h)) == 1
}

// split parses "$id$[rounds=N$]salt$hash".
func split(h string) (rounds int, custom bool, salt string, err error) {
	rest := h[3:]
	rounds = 5000
	if strings.HasPrefix(rest, "rounds=") {
		r, after, ok := strings.Cut(rest[len("rounds="):], "$")
		n, err2 := strconv.Atoi(r)
		if !ok || err2 != nil {
			return 0, false, "", errors.New("malformed rounds in password hash")
		}
		rounds, custom, rest = min(max(n, 1000), 999999999), true, after
	}
	salt, _, ok := strings.Cut(rest, "$")
	if !ok {
		return 0, false, "", errors.New("malformed password hash: missing '$' after the salt")
	}
	if len(salt) > 16 {
		salt = salt[:16]
	}
	return rounds, custom, salt, nil
}

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func shaCrypt(id string, newHash func() hash.Hash, p, s []byte, rounds int, custom bool) string {
	size := newHash().Size()
	b := newHash()
	b.Write(p)
	b.Write(s)
	b.Write(p)
	sumB := b.Sum(nil)

	a := newHash()
	a.Write(p)
	a.Write(s)
	for n := len(p); n > 0; n -= size {
		a.Write(sumB[:min(n, size)])
	}
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(sumB)
		} else {
			a.Write(p)
		}
	}
	sumA := a.Sum(nil)

	dp := newHash()
	for range len(p) {
		dp.Write(p)
	}
	sumDP := dp.Sum(nil)
	pp := make([]byte, 0, len(p))
	for n := len(p); n > 0; n -= size {
		pp = append(pp, sumDP[:min(n, size)]...)
	}

	ds := newHash()
	for range 16 + int(sumA[0]) {
		ds.Write(s)
	}
	sumDS := ds.Sum(nil)
	sp := make([]byte, 0, len(s))
	for n := len(s); n > 0; n -= size {
		sp = append(sp, sumDS[:min(n, size)]...)
	}

	c := sumA
	for i := range rounds {
		h := newHash()
		if i&1 != 0 {
			h.Write(pp)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sp)
		}
		if i%7 != 0 {
			h.Write(pp)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pp)
		}
		c = h.Sum(nil)
	}

	var out strings.Builder
	out.WriteString(id)
	if custom {
		out.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	out.Write(s)
	out.WriteByte('$')
	enc := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for range n {
			out.WriteByte(itoa64[w&0x3f])
			w >>= 6
		}
	}
	if size == 64 {
		perm := [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
			{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
			{56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}}
		for _, t := range perm {
			enc(c[t[0]], c[t[1]], c[t[2]], 4)
		}
		enc(0, 0, c[63], 2)
	} else {
		perm := [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14}, {15, 25, 5},
			{6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
		for _, t := range perm {
			enc(c[t[0]], c[t[1]], c[t[2]], 4)
		}
		enc(0, c[31], c[30], 3)
	}
	return out.String()
}
