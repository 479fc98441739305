package config

import (
	"fmt"
	"strings"

	"github.com/halo-lb/halo/internal/suggest"
)

// Section is one section of the parsed configuration (the AST): its
// header line and its statements, every word with its position. Parsing
// resolves quoting, environment variables and .if blocks; building the
// typed model from sections is the validation pass (build.go).
type Section struct {
	Kind   sectionKind
	Header *Line // nil for statements before the first section
	Lines  []*Line
}

// parser turns configuration files into sections.
type parser struct {
	lookupEnv func(string) (string, bool)
	sections  []*Section
	errs      []Diagnostic
	warns     []Diagnostic
}

func (p *parser) errorf(pos Pos, format string, args ...any) {
	p.errs = append(p.errs, Diagnostic{Pos: pos, Severity: SevAlert, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(pos Pos, format string, args ...any) {
	p.warns = append(p.warns, Diagnostic{Pos: pos, Severity: SevWarning, Msg: fmt.Sprintf(format, args...)})
}

// add appends a statement to the current section. Environment directives
// of the global section take effect at once, for the lines that follow,
// and addresses written without quotes get ${VAR} expanded, both as
// HAProxy does while reading the file.
func (p *parser) add(ln *Line) {
	if len(p.sections) == 0 {
		p.sections = append(p.sections, &Section{Kind: secNone})
	}
	cur := p.sections[len(p.sections)-1]
	cur.Lines = append(cur.Lines, ln)
	w := ln.Words
	switch {
	case cur.Kind == secGlobal:
		p.applyEnv(w)
	case w[0] == "server" && len(w) > 2 && ln.Unquoted[2]:
		w[2] = expandUnquoted(w[2], p.lookupEnv)
	case w[0] == "bind" && len(w) > 1 && ln.Unquoted[1]:
		w[1] = expandUnquoted(w[1], p.lookupEnv)
	}
}

// applyEnv runs setenv, presetenv, unsetenv and resetenv (arity errors are
// reported by the global keyword table).
func (p *parser) applyEnv(w []string) {
	prev := p.lookupEnv
	switch {
	case (w[0] == "setenv" || w[0] == "presetenv") && len(w) == 3:
		name, val := w[1], w[2]
		if _, set := prev(name); set && w[0] == "presetenv" {
			return
		}
		p.lookupEnv = func(k string) (string, bool) {
			if k == name {
				return val, true
			}
			return prev(k)
		}
	case w[0] == "unsetenv" && len(w) > 1:
		drop := setOf(w[1:]...)
		p.lookupEnv = func(k string) (string, bool) {
			if drop[k] {
				return "", false
			}
			return prev(k)
		}
	case w[0] == "resetenv":
		keep := setOf(w[1:]...)
		p.lookupEnv = func(k string) (string, bool) {
			if !keep[k] {
				return "", false
			}
			return prev(k)
		}
	}
}

func (p *parser) file(name, text string) {
	lx := &lexer{file: name, lookupEnv: func(k string) (string, bool) { return p.lookupEnv(k) }}
	lines := strings.Split(text, "\n")
	missingLF := false
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else if text != "" {
		missingLF = true
	}
	var conds []condState
	on := func() bool { return len(conds) == 0 || conds[len(conds)-1].active }
	for i, raw := range lines {
		pos := Pos{File: name, Line: i + 1}
		if missingLF && i == len(lines)-1 {
			p.errorf(pos, "Missing LF on last line, file might have been truncated at position %d.", len(raw)+1)
			break
		}
		if strings.IndexByte(raw, 0) >= 0 {
			p.errorf(pos, "NUL character at position %d", strings.IndexByte(raw, 0)+1)
			continue
		}
		ln, err := lx.splitLine(raw, i+1)
		if err != nil {
			p.errorf(pos, "%v", err)
			continue
		}
		if ln == nil {
			continue
		}
		w0 := ln.Words[0]
		if strings.HasPrefix(w0, ".") {
			switch w0 {
			case ".if":
				parent := on()
				v := parent && p.evalCond(ln)
				conds = append(conds, condState{pos: pos, active: v, taken: v, parentOn: parent})
				continue
			case ".elif", ".else":
				if len(conds) == 0 {
					p.errorf(pos, "'%s' without a matching '.if'", w0)
					continue
				}
				c := &conds[len(conds)-1]
				if c.inElse {
					p.errorf(pos, "'%s' after '.else'", w0)
					continue
				}
				v := false
				if w0 == ".else" {
					c.inElse = true
					v = c.parentOn && !c.taken
				} else {
					v = c.parentOn && !c.taken && p.evalCond(ln)
				}
				c.active = v
				c.taken = c.taken || v
				continue
			case ".endif":
				if len(conds) == 0 {
					p.errorf(pos, "'.endif' without a matching '.if'")
					continue
				}
				conds = conds[:len(conds)-1]
				continue
			case ".diag", ".notice", ".warning", ".alert":
				if !on() {
					continue
				}
				msg := strings.Join(ln.Words[1:], " ")
				switch w0 {
				case ".alert":
					p.errorf(pos, "%s", msg)
				case ".warning":
					p.warnf(pos, "%s", msg)
				default:
					p.warns = append(p.warns, Diagnostic{Pos: pos, Severity: SevNotice, Msg: msg})
				}
				continue
			}
			if !on() {
				continue
			}
			p.errorf(pos, "unknown directive '%s'%s", w0, suggest.Hint(w0, []string{".if", ".elif", ".else", ".endif", ".diag", ".notice", ".warning", ".alert"}))
			continue
		}
		if !on() {
			continue
		}
		if k, ok := sectionNames[w0]; ok {
			lx.section = w0
			p.sections = append(p.sections, &Section{Kind: k, Header: ln})
			continue
		}
		p.add(ln)
	}
	for _, c := range conds {
		p.errorf(c.pos, "unterminated '.if' block")
	}
}

// evalCond evaluates the term of a .if/.elif line: a number, defined(),
// feature(), version_atleast(), version_before(), streq(), strneq(),
// optionally negated with '!'.
func (p *parser) evalCond(ln *Line) bool {
	if len(ln.Words) < 2 {
		p.errorf(ln.Pos, "'%s' expects a condition", ln.Words[0])
		return false
	}
	term := strings.Join(ln.Words[1:], " ")
	neg := false
	for strings.HasPrefix(term, "!") {
		neg = !neg
		term = strings.TrimSpace(term[1:])
	}
	fn, arg := term, ""
	if i := strings.IndexByte(term, '('); i >= 0 && strings.HasSuffix(term, ")") {
		fn, arg = term[:i], term[i+1:len(term)-1]
	}
	var v bool
	switch fn {
	case "defined":
		_, v = p.lookupEnv(arg)
	case "feature":
		switch arg {
		case "OPENSSL", "LINUX_SPLICE", "TPROXY", "LINUX_TPROXY", "GETADDRINFO", "REGPARM", "CPU_AFFINITY":
			v = true
		}
	case "version_atleast":
		v = compareVersion(Version, arg) >= 0
	case "version_before":
		v = compareVersion(Version, arg) < 0
	case "streq", "strneq":
		a := strings.SplitN(arg, ",", 2)
		if len(a) != 2 {
			p.errorf(ln.Pos, "%s() expects two comma-separated strings", fn)
			return false
		}
		v = a[0] == a[1]
		if fn == "strneq" {
			v = !v
		}
	default:
		if n, err := parseInt(term, -1<<31, 1<<31-1); err == nil {
			v = n != 0
		} else {
			p.errorf(ln.Pos, "unknown condition predicate '%s' (expected defined, feature, version_atleast, version_before, streq, strneq or a number)", fn)
			return false
		}
	}
	return v != neg
}
