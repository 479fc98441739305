package acl

import (
	"errors"
	"regexp"
)

// Replacement is the replacement text of HAProxy's regex rewrites
// (replace-header, replace-value, replace-path, replace-uri and the
// regsub converter): literal bytes, \0 to \9 for the regex's groups,
// \xHH for a byte and \c for the character c.
type Replacement struct {
	parts []replPart
}

// replPart is a literal (group < 0) or a reference to a regex group.
type replPart struct {
	lit   string
	group int
}

// ParseReplacement compiles a replacement text. It fails on a lone
// backslash at the end or an incomplete \x escape, which HAProxy treats
// as a failed rewrite.
func ParseReplacement(s string) (*Replacement, error) {
	r := &Replacement{}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			r.parts = append(r.parts, replPart{lit: string(lit), group: -1})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			lit = append(lit, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, errors.New("replacement ends with a lone backslash")
		}
		switch c = s[i]; {
		case c >= '0' && c <= '9':
			flush()
			r.parts = append(r.parts, replPart{group: int(c - '0')})
		case c == 'x':
			if i+2 >= len(s) {
				return nil, errors.New("incomplete \\x escape in replacement")
			}
			lit = append(lit, hexNibble(s[i+1])<<4+hexNibble(s[i+2]))
			i += 2
		default:
			lit = append(lit, c)
		}
	}
	flush()
	return r, nil
}

// hexNibble is the value of a hex digit, computed as HAProxy does (so a
// non-hex character gives the same byte as there).
func hexNibble(c byte) byte {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	n := c - '0'
	if n > 9 {
		n -= 'A' - '9' - 1
	}
	return n
}

// Expand appends the replacement for a match of re in src (loc as
// returned by FindStringSubmatchIndex) to dst. Groups that did not take
// part in the match, or that the regex does not have, expand to nothing.
func (r *Replacement) Expand(dst []byte, src string, loc []int) []byte {
	for _, p := range r.parts {
		if p.group < 0 {
			dst = append(dst, p.lit...)
			continue
		}
		if 2*p.group+1 < len(loc) && loc[2*p.group] >= 0 {
			dst = append(dst, src[loc[2*p.group]:loc[2*p.group+1]]...)
		}
	}
	return dst
}

// ReplaceMatch returns the replacement expanded for the first match of
// re in s, and false when re does not match: HAProxy's rewrites replace
// the whole input by the expansion, not only the matched part.
func (r *Replacement) ReplaceMatch(re *regexp.Regexp, s string) (string, bool) {
	loc := re.FindStringSubmatchIndex(s)
	if loc == nil {
		return s, false
	}
	return string(r.Expand(nil, s, loc)), true
}
