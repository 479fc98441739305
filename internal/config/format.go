package config

import (
	"fmt"
	"strings"

	"github.com/halo-lb/halo/internal/acl"
)

// Format is a compiled log-format string, as used in rule arguments
// (set-header values, redirect targets, lf-string bodies) and dynamic
// use_backend names: literal text and %[sample] expressions.
type Format struct {
	Text  string // as written, for messages
	nodes []fmtNode
}

type fmtNode struct {
	lit string
	smp *acl.Sample
}

// CompileFormat parses a log-format string whose only variables are
// %[...] sample expressions. %% is a literal percent sign.
func CompileFormat(s string) (*Format, error) {
	f := &Format{Text: s}
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '%' || s[i+1] == '"') {
			lit.WriteByte(s[i+1])
			i++
			continue
		}
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '[' {
			end := i + 1
			for end < len(s) && (s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z') {
				end++
			}
			return nil, fmt.Errorf("log-format variable '%s' is not supported in this context by halo yet (use %%[...] sample expressions)", s[i:end])
		}
		end := matchBracket(s, i+1)
		if end < 0 {
			return nil, fmt.Errorf("missing ']' in log-format expression '%s'", s)
		}
		smp, err := acl.ParseSample(s[i+2 : end])
		if err != nil {
			return nil, fmt.Errorf("in log-format expression '%s': %w", s, err)
		}
		if lit.Len() > 0 {
			f.nodes = append(f.nodes, fmtNode{lit: lit.String()})
			lit.Reset()
		}
		f.nodes = append(f.nodes, fmtNode{smp: smp})
		i = end
	}
	if lit.Len() > 0 {
		f.nodes = append(f.nodes, fmtNode{lit: lit.String()})
	}
	return f, nil
}

// matchBracket returns the index of the ']' closing the '[' at open,
// skipping brackets nested in sample arguments.
func matchBracket(s string, open int) int {
	depth := 0
	for j := open; j < len(s); j++ {
		switch s[j] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// Literal reports whether f has no expression (its value never changes).
func (f *Format) Literal() bool {
	for _, n := range f.nodes {
		if n.smp != nil {
			return false
		}
	}
	return true
}

// String expands f for the transaction t. A sample that finds nothing
// expands to nothing, as in HAProxy.
func (f *Format) String(t *acl.Txn) string {
	if f == nil {
		return ""
	}
	if len(f.nodes) == 1 && f.nodes[0].smp == nil {
		return f.nodes[0].lit
	}
	var b strings.Builder
	for _, n := range f.nodes {
		if n.smp == nil {
			b.WriteString(n.lit)
			continue
		}
		if v, ok := n.smp.Eval(t); ok {
			b.WriteString(v)
		}
	}
	return b.String()
}
