package config

import (
	"sort"
	"strings"

	"github.com/halo-lb/halo/internal/suggest"
)

// Status says how halo treats a keyword HAProxy knows.
type Status int

// Keyword statuses.
const (
	// Supported keywords are modelled and acted upon.
	Supported Status = iota
	// NoEffect keywords are accepted with a warning saying why they change
	// nothing in halo (never silently).
	NoEffect
	// Unsupported keywords are refused: HAProxy has them, halo not yet.
	Unsupported
	// Removed keywords were removed from HAProxy itself; the note says what
	// to write instead.
	Removed
)

func (s Status) String() string {
	return [...]string{"supported", "accepted, no effect", "not supported yet", "removed from HAProxy"}[s]
}

// Section bits for the keyword matrix.
const (
	InGlobal uint8 = 1 << iota
	InDefaults
	InFrontend
	InListen
	InBackend
	InCache // the `cache` section

	inAllProxies = InDefaults | InFrontend | InListen | InBackend
	inFE         = InDefaults | InFrontend | InListen
	inBE         = InDefaults | InListen | InBackend
	inFEnoDef    = InFrontend | InListen
	inBEnoDef    = InListen | InBackend
)

// Keyword is one entry of a section's keyword table: the single source of
// truth for what halo accepts and for docs/config.md.
type Keyword struct {
	Name     string
	Sections uint8
	Status   Status
	Note     string // why unsupported / what replaces a removed keyword / why no effect
	Doc      string
	parse    func(b *builder, ln *Line)
}

func (k *Keyword) allowed(sec sectionKind) bool {
	switch sec {
	case secGlobal:
		return k.Sections&InGlobal != 0
	case secDefaults:
		return k.Sections&InDefaults != 0
	case secFrontend:
		return k.Sections&InFrontend != 0
	case secListen:
		return k.Sections&InListen != 0
	case secBackend:
		return k.Sections&InBackend != 0
	case secCache:
		return k.Sections&InCache != 0
	}
	return false
}

// Keywords returns the keyword tables of the global and proxy sections,
// sorted by name, for documentation.
func Keywords() (global, proxy []Keyword) {
	for _, k := range globalKeywords {
		global = append(global, *k)
	}
	for _, k := range proxyKeywords {
		proxy = append(proxy, *k)
	}
	sort.Slice(global, func(i, j int) bool { return global[i].Name < global[j].Name })
	sort.Slice(proxy, func(i, j int) bool { return proxy[i].Name < proxy[j].Name })
	return global, proxy
}

// OptionKeywords returns the table of `option` keywords, sorted by name.
func OptionKeywords() []Keyword {
	var out []Keyword
	for _, k := range optionKeywords {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type kwTable map[string]*Keyword

func (t kwTable) names() []string {
	out := make([]string, 0, len(t))
	for n := range t {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func mkTable(kws []*Keyword) kwTable {
	t := kwTable{}
	for _, k := range kws {
		t[k.Name] = k
	}
	return t
}

// lookupKeyword finds the longest table entry that is a prefix of the
// line's words: "stats socket", "tune.bufsize", "http-request"...
func lookupKeyword(t kwTable, w []string) (*Keyword, int) {
	if len(w) >= 2 {
		if k, ok := t[w[0]+" "+w[1]]; ok {
			return k, 2
		}
	}
	if k, ok := t[w[0]]; ok {
		return k, 1
	}
	return nil, 0
}

// dispatch applies the table to a line, reporting unknown, misplaced,
// unsupported and removed keywords.
func (b *builder) dispatch(t kwTable, ln *Line, section string) {
	k, _ := lookupKeyword(t, ln.Words)
	if k == nil {
		b.errorf(ln.Pos, "unknown keyword '%s' in '%s' section%s", ln.Words[0], section, suggest.Hint(ln.Words[0], firstWords(t)))
		return
	}
	if !k.allowed(b.sec) {
		b.misplaced(ln, k.Name, k.Sections, section)
		return
	}
	switch k.Status {
	case Unsupported:
		b.errorf(ln.Pos, "'%s' is a valid HAProxy keyword that halo does not support yet%s", k.Name, noteSuffix(k.Note))
		return
	case Removed:
		b.errorf(ln.Pos, "The '%s' directive is not supported anymore since %s", k.Name, k.Note)
		return
	case NoEffect:
		b.warnf(ln.Pos, "'%s' is accepted but has no effect in halo: %s", k.Name, k.Note)
	}
	if k.parse != nil {
		k.parse(b, ln)
	}
}

func noteSuffix(n string) string {
	if n == "" {
		return "."
	}
	return ": " + n
}

func firstWords(t kwTable) []string {
	seen := map[string]bool{}
	var out []string
	for n := range t {
		f, _, _ := strings.Cut(n, " ")
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

func sectionList(m uint8) string {
	var s []string
	for _, x := range []struct {
		bit  uint8
		name string
	}{{InGlobal, "global"}, {InDefaults, "defaults"}, {InFrontend, "frontend"}, {InListen, "listen"}, {InBackend, "backend"}, {InCache, "cache"}} {
		if m&x.bit != 0 {
			s = append(s, x.name)
		}
	}
	return strings.Join(s, ", ")
}

// unsupported builds entries for keywords HAProxy has and halo refuses.
func unsupported(sections uint8, note string, names ...string) []*Keyword {
	var out []*Keyword
	for _, n := range names {
		out = append(out, &Keyword{Name: n, Sections: sections, Status: Unsupported, Note: note})
	}
	return out
}

// removed builds entries for keywords that HAProxy itself dropped.
func removed(sections uint8, since, instead string, names ...string) []*Keyword {
	var out []*Keyword
	for _, n := range names {
		note := since
		if instead != "" {
			note += ". Use " + instead + " instead."
		} else {
			note += "."
		}
		out = append(out, &Keyword{Name: n, Sections: sections, Status: Removed, Note: note})
	}
	return out
}

// argCount reports an error unless the line has between lo and hi
// arguments after the keyword (hi < 0: no upper bound).
func (b *builder) argCount(ln *Line, kwWords, lo, hi int, usage string) bool {
	n := len(ln.Words) - kwWords
	if n < lo || (hi >= 0 && n > hi) {
		name := strings.Join(ln.Words[:kwWords], " ")
		if usage != "" {
			b.errorf(ln.Pos, "'%s' expects %s", name, usage)
		} else if lo == hi {
			b.errorf(ln.Pos, "'%s' expects %d argument(s), got %d", name, lo, n)
		} else {
			b.errorf(ln.Pos, "'%s' expects between %d and %d arguments, got %d", name, lo, hi, n)
		}
		return false
	}
	return true
}

// misplaced reports a keyword used in a section that does not take it: an
// error in global/defaults, and HAProxy's warning when a frontend uses a
// backend keyword or the reverse (the line is ignored, and said so).
func (b *builder) misplaced(ln *Line, name string, sections uint8, section string) {
	if b.sec == secGlobal || b.sec == secDefaults || b.px == nil || sections&(InFrontend|InBackend|InListen) == 0 {
		b.errorf(ln.Pos, "'%s' is not allowed in a '%s' section (allowed in: %s)", name, section, sectionList(sections))
		return
	}
	missing := "backend"
	if sections&InFrontend != 0 {
		missing = "frontend"
	}
	b.warnf(ln.Pos, "'%s' ignored because %s '%s' has no %s capability.", name, section, b.px.Name, missing)
}

// noExtraArgs refuses words after the first n of a line, in HAProxy's
// words; it reports whether there were none.
func (b *builder) noExtraArgs(ln *Line, n int) bool {
	if len(ln.Words) > n {
		b.errorf(ln.Pos, "'%s' cannot handle unexpected argument '%s'.", ln.Words[0], ln.Words[n])
		return false
	}
	return true
}
