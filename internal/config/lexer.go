package config

import (
	"fmt"
	"strings"
)

// Line is one statement of a configuration file: its words after quote
// removal, escape processing and environment expansion.
type Line struct {
	Pos   Pos
	Words []string
	// Raw tells, for each word, whether it was written without any quote,
	// so that address parsing can expand an unquoted ${VAR} as HAProxy does
	// on server lines.
	Unquoted []bool
}

// lexer turns the text of one file into Lines.
type lexer struct {
	file      string
	lookupEnv func(string) (string, bool)
	section   string // for the .SECTION pseudo-variable
}

// splitLine splits one line of text (without its line feed) into words.
// It returns nil words for blank and comment-only lines.
func (lx *lexer) splitLine(text string, line int) (*Line, error) {
	ln := &Line{Pos: Pos{File: lx.file, Line: line}}
	var (
		cur      strings.Builder
		inWord   bool
		quoted   bool // the current word had a quote
		hadVar   bool // the current word had a variable expansion
		hadLit   bool // the current word had literal characters or an empty pair of quotes
		splitAll bool // ${VAR[*]} produced several words
		extra    []string
	)
	flush := func() {
		if !inWord {
			return
		}
		w := cur.String()
		switch {
		case splitAll:
			ln.Words = append(ln.Words, extra...)
			for range extra {
				ln.Unquoted = append(ln.Unquoted, false)
			}
		case w == "" && hadVar && !hadLit:
			// "${UNSET}" as a whole word vanishes.
		default:
			ln.Words = append(ln.Words, w)
			ln.Unquoted = append(ln.Unquoted, !quoted)
		}
		cur.Reset()
		inWord, quoted, hadVar, hadLit, splitAll, extra = false, false, false, false, false, nil
	}
	i := 0
	n := len(text)
	for i < n {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			flush()
			i++
		case c == '#':
			flush()
			i = n
		case c == '\\':
			inWord, hadLit = true, true
			adv, err := escape(&cur, text, i)
			if err != nil {
				return nil, err
			}
			i += adv
		case c == '\'':
			inWord, quoted, hadLit = true, true, true
			end := strings.IndexByte(text[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unmatched quote at position %d", i+1)
			}
			cur.WriteString(text[i+1 : i+1+end])
			i += end + 2
		case c == '"':
			inWord, quoted = true, true
			j := i + 1
			start := cur.Len()
			closed := false
			for j < n {
				d := text[j]
				if d == '"' {
					closed = true
					j++
					break
				}
				if d == '\\' {
					adv, err := escape(&cur, text, j)
					if err != nil {
						return nil, err
					}
					hadLit = true
					j += adv
					continue
				}
				if d == '$' {
					name, def, hasDef, star, adv, ok := parseVar(text[j:])
					if !ok {
						cur.WriteByte(d)
						hadLit = true
						j++
						continue
					}
					hadVar = true
					val, set := lx.lookup(name, line)
					if !set && hasDef {
						val = def
					}
					if star && cur.Len() == start && j+adv < n && text[j+adv] == '"' && !hadLit {
						splitAll = true
						extra = strings.Fields(val)
					}
					cur.WriteString(val)
					j += adv
					continue
				}
				cur.WriteByte(d)
				hadLit = true
				j++
			}
			if !closed {
				return nil, fmt.Errorf("unmatched quote at position %d", i+1)
			}
			if j == i+2 {
				hadLit = true // "" is an explicit empty word
			}
			i = j
		default:
			inWord, hadLit = true, true
			cur.WriteByte(c)
			i++
		}
	}
	flush()
	if len(ln.Words) == 0 {
		return nil, nil
	}
	return ln, nil
}

func (lx *lexer) lookup(name string, line int) (string, bool) {
	switch name {
	case ".FILE":
		return lx.file, true
	case ".LINE":
		return fmt.Sprint(line), true
	case ".SECTION":
		return lx.section, true
	}
	return lx.lookupEnv(name)
}

// escape writes the character(s) that the escape sequence at text[i]
// (a backslash) stands for, and returns how many bytes it used.
func escape(b *strings.Builder, text string, i int) (int, error) {
	if i+1 >= len(text) {
		// A trailing backslash is kept literally.
		b.WriteByte('\\')
		return 1, nil
	}
	switch e := text[i+1]; e {
	case ' ', '#', '\\', '\'', '"', '$':
		b.WriteByte(e)
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'x':
		if i+3 >= len(text) {
			return 0, fmt.Errorf("truncated or invalid hexadecimal sequence at position %d", i+1)
		}
		h, ok := unhex2(text[i+2 : i+4])
		if !ok {
			return 0, fmt.Errorf("truncated or invalid hexadecimal sequence at position %d", i+1)
		}
		b.WriteByte(h)
		return 4, nil
	default:
		// Unknown escapes are kept as written (regex back-references like \1).
		b.WriteByte('\\')
		b.WriteByte(e)
	}
	return 2, nil
}

func unhex2(s string) (byte, bool) {
	var v byte
	for i := 0; i < 2; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// parseVar parses $NAME, ${NAME}, ${NAME-default} or ${NAME[*]} at the
// start of s.
func parseVar(s string) (name, def string, hasDef, star bool, adv int, ok bool) {
	if len(s) < 2 {
		return
	}
	if s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return
		}
		body := s[2:end]
		if strings.HasSuffix(body, "[*]") {
			star = true
			body = strings.TrimSuffix(body, "[*]")
		}
		if k := strings.IndexByte(body, '-'); k >= 0 {
			name, def, hasDef = body[:k], body[k+1:], true
		} else {
			name = body
		}
		if !validVarName(name) {
			return "", "", false, false, 0, false
		}
		return name, def, hasDef, star, end + 1, true
	}
	j := 1
	for j < len(s) && isVarChar(s[j], j == 1) {
		j++
	}
	if j == 1 {
		return
	}
	return s[1:j], "", false, false, j, true
}

func validVarName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !isVarChar(n[i], i == 0) {
			return false
		}
	}
	return true
}

func isVarChar(c byte, first bool) bool {
	switch {
	case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		return true
	case c == '.' && first:
		return true
	case c >= '0' && c <= '9':
		return !first
	}
	return false
}

// expandUnquoted expands ${VAR} and $VAR in an address written without
// quotes, as HAProxy does for server addresses.
func expandUnquoted(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '$' {
			if name, def, hasDef, _, adv, ok := parseVar(s[i:]); ok {
				v, set := lookup(name)
				if !set && hasDef {
					v = def
				}
				b.WriteString(v)
				i += adv
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
