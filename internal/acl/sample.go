package acl

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/halo-lb/halo/internal/suggest"
)

// Sample is a fetch followed by converters, such as
// `req.hdr(host),lower,map(/etc/halo/hosts.map,default)`. It is what
// %[...] in log-format strings and rule arguments evaluates.
type Sample struct {
	text  string // as written
	kw    string // the fetch keyword as written (hdr, path_beg)
	name  string
	fetch fetchDef
	res   *fetchDef // the fetch used in response rules, for hdr()
	args  []string
	convs []conv
	kind  kind        // output kind after the converters
	at    Where       // the rule place the sample is bound to, 0 when unbound
	sf    *stickFetch // a stick-table fetch (see stick.go), with its argument
	stk   stickArg
}

// conv is a converter: it turns one sample into another.
type conv struct {
	name string
	out  kind // kind produced; -1 keeps the input kind
	fn   func(v sample, in kind) (sample, bool)
	// tfn, when set, is a converter that reads the transaction (the
	// table_* converters); stick is its table argument.
	tfn   func(t *Txn, v sample, in kind) (sample, bool)
	stick *stickArg
}

// ParseSample parses a sample expression (the text between %[ and ]).
func ParseSample(spec string) (*Sample, error) {
	s, _, err := parseSample(spec, false)
	return s, err
}

// parseSample also returns the matching method implied by a derived
// fetch name such as path_beg (-1 when none). In an ACL (acl), the
// keywords are HAProxy's ACL keywords: hdr is req.hdr there, and the
// derived names are known.
func parseSample(spec string, acl bool) (*Sample, method, error) {
	parts, err := splitTop(spec, ',')
	if err != nil {
		return nil, -1, err
	}
	name, args, err := splitCall(parts[0])
	if err != nil {
		return nil, -1, err
	}
	kw := name
	forced := method(-1)
	if acl {
		mapped := false
		if d, ok := derived[name]; ok {
			name, forced, mapped = d.fetch, d.m, true
		}
		if a, ok := aclKeywords[name]; ok {
			name, mapped = a, true
		}
		if mapped && len(parts) > 1 {
			// Followed by converters, an ACL keyword is the fetch it
			// stands for, and HAProxy's messages name that fetch.
			kw = name
		}
	}
	if a, ok := aliases[name]; ok {
		name = a
	}
	f, ok := fetches[name]
	if !ok {
		if knownUnsupported[name] {
			return nil, -1, fmt.Errorf("fetch method '%s' is valid in HAProxy but not supported by halo yet", name)
		}
		all := keysOf(fetches)
		all = append(all, keysOf(derived)...)
		return nil, -1, fmt.Errorf("unknown fetch method '%s'%s", name, suggest.Hint(name, all))
	}
	if f.nargs > 0 && len(args) < f.nargs {
		return nil, -1, fmt.Errorf("fetch method '%s' expects %d argument(s) in parentheses", name, f.nargs)
	}
	if f.nargs == 0 && len(args) > 0 {
		return nil, -1, fmt.Errorf("fetch method '%s' takes no argument", name)
	}
	if check := fetchChecks[name]; check != nil {
		if err := check(args); err != nil {
			return nil, -1, fmt.Errorf("fetch method '%s': %w", name, err)
		}
	}
	s := &Sample{text: spec, kw: kw, name: name, fetch: f, args: args, kind: f.kind}
	if sf := stickFetches[name]; sf != nil {
		s.sf = sf
		if s.stk, err = compileStick(name, sf, args); err != nil {
			return nil, -1, fmt.Errorf("fetch method '%s': %w", name, err)
		}
	}
	if r, ok := resAlt[name]; ok {
		rf := fetches[r]
		s.res = &rf
	}
	for _, c := range parts[1:] {
		cn, cargs, err := splitCall(c)
		if err != nil {
			return nil, -1, err
		}
		def, ok := converters[cn]
		if !ok {
			return nil, -1, fmt.Errorf("unknown converter '%s'%s", cn, suggest.Hint(cn, keysOf(converters)))
		}
		if len(cargs) < def.min || len(cargs) > def.max {
			return nil, -1, fmt.Errorf("converter '%s' expects %s", cn, def.usage)
		}
		cv, err := def.build(cargs)
		if err != nil {
			return nil, -1, fmt.Errorf("converter '%s': %w", cn, err)
		}
		cv.name = cn
		if cv.out >= 0 {
			s.kind = cv.out
		}
		s.convs = append(s.convs, cv)
	}
	return s, forced, nil
}

// each calls fn with every value of the sample after the converters,
// where the sample is bound.
func (s *Sample) each(t *Txn, fn func(sample) bool) bool { return s.eachAt(t, s.at, fn) }

// eachAt is each at the rule place w.
func (s *Sample) eachAt(t *Txn, w Where, fn func(sample) bool) bool {
	f := s.fetchAt(w)
	if f == nil {
		return false
	}
	each := f.each
	if s.sf != nil {
		each = func(t *Txn, _ []string, fn func(sample) bool) bool { return s.eachStick(t, s.sf, fn) }
	}
	if len(s.convs) == 0 {
		return each(t, s.args, fn)
	}
	return each(t, s.args, func(v sample) bool {
		k := f.kind
		for _, c := range s.convs {
			var ok bool
			if c.tfn != nil {
				v, ok = c.tfn(t, v, k)
			} else {
				v, ok = c.fn(v, k)
			}
			if !ok {
				return false
			}
			if c.out >= 0 {
				k = c.out
			}
		}
		return fn(v)
	})
}

// Eval returns the sample's value as text: the last value for fetches
// that yield several (as HAProxy's hdr() used outside an ACL), and false
// when the fetch finds nothing.
func (s *Sample) Eval(t *Txn) (string, bool) {
	var last sample
	found, first := false, firstValue[s.name]
	s.each(t, func(v sample) bool {
		last, found = v, true
		return first
	})
	if !found {
		return "", false
	}
	return last.text(s.kind), true
}

// text renders a sample of kind k as HAProxy prints it.
func (v sample) text(k kind) string {
	switch k {
	case kInt, kBool:
		return strconv.FormatInt(v.i, 10)
	case kIP:
		if v.ip.IsValid() {
			return v.ip.String()
		}
	}
	return v.s
}

// asString converts a sample of kind k to a string sample.
func asString(v sample, k kind) sample { return sample{s: v.text(k)} }

// splitTop splits s on sep outside parentheses and quotes.
func splitTop(s string, sep byte) ([]string, error) {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ')' in '%s'", s)
			}
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("missing closing ')' in '%s'", s)
	}
	return append(out, s[start:]), nil
}

// splitArgs splits the inside of a call's parentheses on commas,
// honouring quotes as HAProxy does. A backslash escapes a backslash or
// a quote; before anything else it is kept, so that regex escapes and
// \1 references reach the converter.
func splitArgs(inner string) []string {
	var out []string
	var b strings.Builder
	var quote byte
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch {
		case c == '\\' && i+1 < len(inner):
			if n := inner[i+1]; n == '\\' || n == '\'' || n == '"' {
				i++
				c = n
			}
			b.WriteByte(c)
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				b.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote = c
		case c == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

type convDef struct {
	min, max int
	usage    string
	build    func(args []string) (conv, error)
}

func strConv(f func(string) string) func([]string) (conv, error) {
	return func([]string) (conv, error) {
		return conv{out: kStr, fn: func(v sample, k kind) (sample, bool) { return sample{s: f(asString(v, k).s)}, true }}, nil
	}
}

var converters map[string]convDef

func init() {
	converters = map[string]convDef{
		"lower": {0, 0, "no argument", strConv(strings.ToLower)},
		"upper": {0, 0, "no argument", strConv(strings.ToUpper)},
		"hex": {0, 0, "no argument", func([]string) (conv, error) {
			return conv{out: kStr, fn: func(v sample, k kind) (sample, bool) {
				if k == kInt || k == kBool {
					// Integers are 8 bytes, big endian, as HAProxy casts them.
					return sample{s: fmt.Sprintf("%016X", uint64(v.i))}, true
				}
				return sample{s: strings.ToUpper(hex.EncodeToString([]byte(asString(v, k).s)))}, true
			}}, nil
		}},
		"base64": {0, 0, "no argument", strConv(func(s string) string {
			return base64.StdEncoding.EncodeToString([]byte(s))
		})},
		"b64dec": {0, 0, "no argument", func([]string) (conv, error) {
			return conv{out: kStr, fn: func(v sample, k kind) (sample, bool) {
				b, err := base64.StdEncoding.DecodeString(asString(v, k).s)
				return sample{s: string(b)}, err == nil
			}}, nil
		}},
		"url_dec": {0, 0, "no argument", func([]string) (conv, error) {
			return conv{out: kStr, fn: func(v sample, k kind) (sample, bool) {
				s, err := url.QueryUnescape(asString(v, k).s)
				return sample{s: s}, err == nil
			}}, nil
		}},
		"length": {0, 0, "no argument", func([]string) (conv, error) {
			return conv{out: kInt, fn: func(v sample, k kind) (sample, bool) {
				return sample{i: int64(len(asString(v, k).s))}, true
			}}, nil
		}},
		"regsub": {2, 3, "(<regex>,<subst>[,<flags>])", buildRegsub},
		"field":  {2, 3, "(<index>,<delimiters>[,<count>])", buildField(false)},
		"word":   {2, 3, "(<index>,<delimiters>[,<count>])", buildField(true)},
		"ipmask": {1, 2, "(<mask4>[,<mask6>])", buildIPMask},
		"bytes":  {1, 2, "(<offset>[,<length>])", buildBytes},
		"ltrim": {1, 1, "(<chars>)", func(a []string) (conv, error) {
			return strConv(func(s string) string { return strings.TrimLeft(s, a[0]) })(a)
		}},
		"rtrim": {1, 1, "(<chars>)", func(a []string) (conv, error) {
			return strConv(func(s string) string { return strings.TrimRight(s, a[0]) })(a)
		}},
		"json":    {0, 1, "([<input-code>])", buildJSON},
		"add":     {1, 1, "(<integer>)", intArith(func(a, b int64) int64 { return a + b })},
		"sub":     {1, 1, "(<integer>)", intArith(func(a, b int64) int64 { return a - b })},
		"mul":     {1, 1, "(<integer>)", intArith(func(a, b int64) int64 { return a * b })},
		"map":     {1, 2, "(<map file>[,<default>])", buildMap(mStr, kStr)},
		"map_str": {1, 2, "(<map file>[,<default>])", buildMap(mStr, kStr)},
	}
	for _, m := range []string{"str", "beg", "sub", "dir", "dom", "end", "reg", "ip", "int"} {
		for _, o := range []string{"", "_str", "_int", "_ip"} {
			out := kStr
			switch o {
			case "_int":
				out = kInt
			case "_ip":
				out = kIP
			}
			converters["map_"+m+o] = convDef{1, 2, "(<map file>[,<default>])", buildMap(methodNames[m], out)}
		}
	}
}

func intArith(op func(a, b int64) int64) func([]string) (conv, error) {
	return func(a []string) (conv, error) {
		n, err := strconv.ParseInt(a[0], 10, 64)
		if err != nil {
			return conv{}, fmt.Errorf("'%s' is not an integer", a[0])
		}
		return conv{out: kInt, fn: func(v sample, k kind) (sample, bool) {
			x := v.i
			if k == kStr {
				var err error
				if x, err = strconv.ParseInt(strings.TrimSpace(v.s), 10, 64); err != nil {
					return sample{}, false
				}
			}
			return sample{i: op(x, n)}, true
		}}, nil
	}
}

func buildRegsub(a []string) (conv, error) {
	pat := a[0]
	global := false
	if len(a) == 3 {
		for _, f := range a[2] {
			switch f {
			case 'i':
				pat = "(?i)" + pat
			case 'g':
				global = true
			default:
				return conv{}, fmt.Errorf("unknown flag '%c' (expected i or g)", f)
			}
		}
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return conv{}, fmt.Errorf("invalid regex '%s': %v", a[0], err)
	}
	repl, err := ParseReplacement(a[1])
	if err != nil {
		return conv{}, err
	}
	return conv{out: kStr, fn: func(v sample, k kind) (sample, bool) {
		s := asString(v, k).s
		// As sed's s///: the matched part is replaced, the rest kept; with
		// g every non-overlapping match.
		n := 1
		if global {
			n = -1
		}
		var out []byte
		pos := 0
		for _, loc := range re.FindAllStringSubmatchIndex(s, n) {
			out = append(out, s[pos:loc[0]]...)
			out = repl.Expand(out, s, loc)
			pos = loc[1]
		}
		out = append(out, s[pos:]...)
		return sample{s: string(out)}, true
	}}, nil
}

// buildField implements field() (every delimiter separates) and word()
// (runs of delimiters separate, empty words skipped).
func buildField(word bool) func([]string) (conv, error) {
	return func(a []string) (conv, error) {
		idx, err := strconv.Atoi(a[0])
		if err != nil || idx == 0 {
			return conv{}, fmt.Errorf("index '%s' must be a non-zero integer", a[0])
		}
		delims := a[1]
		if delims == "" {
			return conv{}, errors.New("empty delimiter list")
		}
		count := 1
		if len(a) == 3 {
			if count, err = strconv.Atoi(a[2]); err != nil || count < 0 {
				return conv{}, fmt.Errorf("count '%s' must be a positive integer", a[2])
			}
		}
		return conv{out: kStr, fn: func(v sample, k kind) (sample, bool) {
			s := asString(v, k).s
			isDelim := func(r rune) bool { return strings.ContainsRune(delims, r) }
			var parts []string
			if word {
				parts = strings.FieldsFunc(s, isDelim)
			} else {
				parts = splitAny(s, delims)
			}
			i := idx
			if i < 0 {
				i = len(parts) + i + 1
			}
			if i < 1 || i > len(parts) {
				return sample{}, true
			}
			end := len(parts)
			if count > 0 && i-1+count < end {
				end = i - 1 + count
			}
			sep := delims[:1]
			return sample{s: strings.Join(parts[i-1:end], sep)}, true
		}}, nil
	}
}

func splitAny(s, delims string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(delims, s[i]) >= 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func buildIPMask(a []string) (conv, error) {
	bits4, err := maskBits(a[0], 32)
	if err != nil {
		return conv{}, err
	}
	bits6 := 128
	if len(a) == 2 {
		if bits6, err = maskBits(a[1], 128); err != nil {
			return conv{}, err
		}
	}
	return conv{out: kIP, fn: func(v sample, k kind) (sample, bool) {
		ip := v.ip
		if k != kIP {
			var err error
			if ip, err = netip.ParseAddr(asString(v, k).s); err != nil {
				return sample{}, false
			}
		}
		ip = ip.Unmap()
		b := bits4
		if ip.Is6() {
			b = bits6
		}
		p, err := ip.Prefix(b)
		if err != nil {
			return sample{}, false
		}
		return sample{ip: p.Addr()}, true
	}}, nil
}

func maskBits(s string, max int) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= max {
		return n, nil
	}
	if p, err := maskPrefix("0.0.0.0/" + s); err == nil && max == 32 {
		return p.Bits(), nil
	}
	return 0, fmt.Errorf("invalid mask '%s'", s)
}

func buildBytes(a []string) (conv, error) {
	off, err := strconv.Atoi(a[0])
	if err != nil || off < 0 {
		return conv{}, fmt.Errorf("invalid offset '%s'", a[0])
	}
	n := -1
	if len(a) == 2 {
		if n, err = strconv.Atoi(a[1]); err != nil || n < 0 {
			return conv{}, fmt.Errorf("invalid length '%s'", a[1])
		}
	}
	return strConv(func(s string) string {
		if off >= len(s) {
			return ""
		}
		s = s[off:]
		if n >= 0 && n < len(s) {
			s = s[:n]
		}
		return s
	})(a)
}

// buildJSON implements json([ascii|utf8|utf8s|utf8p|utf8ps]): the
// output is ASCII; quote, backslash and slash are escaped, \b \f \n \r
// \t have their short forms and other controls and non-ASCII characters
// are \u00XX (ascii: each byte) or \uXXXX (utf8: each code point). The
// utf8 decoders fail on a bad sequence, or drop it (s), and accept an
// overlong encoding (p).
func buildJSON(a []string) (conv, error) {
	code := "ascii"
	if len(a) == 1 && a[0] != "" {
		code = a[0]
	}
	switch code {
	case "ascii", "utf8", "utf8s", "utf8p", "utf8ps":
	default:
		return conv{}, fmt.Errorf("unknown input code '%s' (expected ascii, utf8, utf8s, utf8p or utf8ps)", code)
	}
	skip, permissive := strings.HasSuffix(code, "s"), strings.Contains(code, "p")
	return conv{out: kStr, fn: func(v sample, k kind) (sample, bool) {
		in := asString(v, k).s
		var b strings.Builder
		for i := 0; i < len(in); {
			r, n := rune(in[i]), 1
			if code != "ascii" && in[i] >= 0x80 {
				var ok bool
				if r, n, ok = decodeUTF8(in[i:], permissive); !ok || r > 0xffff {
					if !skip {
						return sample{}, false
					}
					i += n
					continue
				}
			}
			i += n
			switch r {
			case '"', '\\', '/':
				b.WriteByte('\\')
				b.WriteRune(r)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if r < 0x20 || r >= 0x7f {
					fmt.Fprintf(&b, "\\u%04x", r)
				} else {
					b.WriteRune(r)
				}
			}
		}
		return sample{s: b.String()}, true
	}}, nil
}

// decodeUTF8 decodes the sequence at the start of s. It reports the
// bytes taken (at least 1) and whether the sequence is valid: well
// formed, outside the surrogates, not overlong unless permissive.
func decodeUTF8(s string, permissive bool) (rune, int, bool) {
	c := s[0]
	var n int
	var r rune
	switch {
	case c&0xe0 == 0xc0:
		n, r = 2, rune(c&0x1f)
	case c&0xf0 == 0xe0:
		n, r = 3, rune(c&0x0f)
	case c&0xf8 == 0xf0:
		n, r = 4, rune(c&0x07)
	default:
		return 0, 1, false // a continuation byte or an invalid lead
	}
	if len(s) < n {
		return 0, 1, false
	}
	for j := 1; j < n; j++ {
		if s[j]&0xc0 != 0x80 {
			return 0, j, false
		}
		r = r<<6 | rune(s[j]&0x3f)
	}
	min := [...]rune{0, 0, 0x80, 0x800, 0x10000}[n]
	if r < min && !permissive || r >= 0xd800 && r <= 0xdfff || r > 0x10ffff {
		return 0, n, false
	}
	return r, n, true
}

// mapEntry is one line of a map file.
type mapEntry struct {
	key   string
	value string
	re    *regexp.Regexp
	net   netip.Prefix
}

// buildMap loads a map file: one `key value` per line, `#` comments,
// blank lines ignored; the first matching line wins.
func buildMap(m method, out kind) func([]string) (conv, error) {
	return func(a []string) (conv, error) {
		entries, err := loadMap(a[0], m)
		if err != nil {
			return conv{}, err
		}
		def, hasDef := "", len(a) == 2
		if hasDef {
			def = a[1]
		}
		result := func(s string) (sample, bool) {
			switch out {
			case kInt:
				n, err := strconv.ParseInt(s, 10, 64)
				return sample{i: n}, err == nil
			case kIP:
				ip, err := netip.ParseAddr(s)
				return sample{ip: ip.Unmap()}, err == nil
			}
			return sample{s: s}, true
		}
		return conv{out: out, fn: func(v sample, k kind) (sample, bool) {
			key := asString(v, k).s
			for _, e := range entries {
				if mapMatch(e, m, key) {
					return result(e.value)
				}
			}
			if hasDef {
				return result(def)
			}
			return sample{}, false
		}}, nil
	}
}

func mapMatch(e mapEntry, m method, key string) bool {
	switch m {
	case mBeg:
		return strings.HasPrefix(key, e.key)
	case mEnd:
		return strings.HasSuffix(key, e.key)
	case mSub:
		return strings.Contains(key, e.key)
	case mDir:
		return delimited(key, e.key, '/')
	case mDom:
		return delimited(key, e.key, '.') || delimited(key, e.key, '/')
	case mReg:
		return e.re.MatchString(key)
	case mIP:
		ip, err := netip.ParseAddr(key)
		return err == nil && e.net.Contains(ip.Unmap())
	case mInt:
		a, err1 := strconv.ParseInt(key, 10, 64)
		b, err2 := strconv.ParseInt(e.key, 10, 64)
		return err1 == nil && err2 == nil && a == b
	}
	return key == e.key
}

func loadMap(file string, m method) ([]mapEntry, error) {
	lines, err := readPatternFile(file)
	if err != nil {
		return nil, err
	}
	var out []mapEntry
	for _, l := range lines {
		k, v, _ := strings.Cut(l.text, " ")
		if i := strings.IndexAny(l.text, " \t"); i >= 0 {
			k, v = l.text[:i], strings.TrimLeft(l.text[i:], " \t")
		}
		e := mapEntry{key: k, value: v}
		switch m {
		case mReg:
			if e.re, err = regexp.Compile(k); err != nil {
				return nil, fmt.Errorf("%s:%d: invalid regex '%s': %v", file, l.line, k, err)
			}
		case mIP:
			if e.net, err = parseNet(k); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, l.line, err)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

type patternLine struct {
	line int
	text string
}

// readPatternFile reads an ACL pattern or map file: one entry per line,
// surrounding blanks removed, empty lines and `#` comments skipped.
func readPatternFile(file string) ([]patternLine, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("failed to open pattern file <%s>: %w", file, err)
	}
	var out []patternLine
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		out = append(out, patternLine{i + 1, l})
	}
	return out, nil
}

func parseNet(p string) (netip.Prefix, error) {
	if pf, err := netip.ParsePrefix(p); err == nil {
		return netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-map[bool]int{true: 96, false: 0}[pf.Addr().Is4In6()]).Masked(), nil
	}
	if a, err := netip.ParseAddr(p); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if q, err := maskPrefix(p); err == nil {
		return q.Masked(), nil
	}
	return netip.Prefix{}, fmt.Errorf("'%s' is not a valid IPv4 or IPv6 address", p)
}

// defaultMethod is the matching method used without -m: the fetch's own
// unless converters changed the sample's type.
func defaultMethod(s *Sample) method {
	if s.kind == s.fetch.kind {
		return s.fetch.def
	}
	switch s.kind {
	case kInt:
		return mInt
	case kIP:
		return mIP
	case kBool:
		return mBool
	}
	return mStr
}

// fetchChecks validate fetch arguments at parse time.
var fetchChecks = map[string]func(args []string) error{
	"var": checkVarName,
	"srv_is_up": func(a []string) error {
		if b, s, ok := strings.Cut(a[0], "/"); !ok || b == "" || s == "" {
			return fmt.Errorf("expects <backend>/<server>, got '%s'", a[0])
		}
		return nil
	},
	"hdr":     checkOcc,
	"req.hdr": checkOcc,
	"res.hdr": checkOcc,
}

// checkVarName validates a variable name such as txn.user.
func checkVarName(args []string) error { return CheckVarName(args[0]) }

// CheckVarName validates a variable name: a scope (sess, txn, req, res)
// followed by a dot and a name.
func CheckVarName(name string) error {
	scope, n, ok := strings.Cut(name, ".")
	if !ok || n == "" {
		return fmt.Errorf("variable name '%s' must be <scope>.<name> with scope sess, txn, req or res", name)
	}
	switch scope {
	case "sess", "txn", "req", "res":
	case "proc":
		return fmt.Errorf("variable '%s': the proc scope is not supported by halo yet", name)
	default:
		return fmt.Errorf("unknown variable scope '%s' in '%s' (expected sess, txn, req or res)", scope, name)
	}
	for _, c := range n {
		if !(c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("invalid character '%c' in variable name '%s'", c, name)
		}
	}
	return nil
}

func init() {
	fetches["var"] = fetchDef{kStr, mStr, 1, strFetch(func(t *Txn, a []string) (string, bool) {
		if v, ok := t.Vars[a[0]]; ok {
			return v, true
		}
		if len(a) > 1 {
			return a[1], true
		}
		return "", false
	}), SrcInternal}
	fetches["str"] = fetchDef{kStr, mStr, 1, strFetch(func(_ *Txn, a []string) (string, bool) { return a[0], true }), SrcInternal}
	fetches["int"] = fetchDef{kInt, mInt, 1, intFetch(func(_ *Txn, a []string) (int64, bool) {
		n, err := strconv.ParseInt(a[0], 10, 64)
		return n, err == nil
	}), SrcInternal}
	fetches["env"] = fetchDef{kStr, mStr, 1, strFetch(func(_ *Txn, a []string) (string, bool) { return os.LookupEnv(a[0]) }), SrcInternal}
	fetches["fe_name"] = fetchDef{kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) { return t.Frontend, t.Frontend != "" }), SrcFrontend}
	// Until a backend is chosen, the transaction's backend is its
	// frontend (HAProxy's be_name in a frontend's http-request rules).
	fetches["be_name"] = fetchDef{kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		if t.Backend == "" {
			return t.Frontend, t.Frontend != ""
		}
		return t.Backend, true
	}), SrcBackend}
	fetches["req.cook_cnt"] = fetchDef{kInt, mInt, 1, intFetch(func(t *Txn, a []string) (int64, bool) {
		n := 0
		m := t.request()
		if m != nil {
			for _, h := range m.Header("cookie") {
				eachCookie(h, a[0], func(sample) bool { n++; return false })
			}
		}
		return int64(n), m != nil
	}), SrcReqHeaders}
	fetches["res.cook"] = fetchDef{kStr, mStr, 1, func(t *Txn, a []string, fn func(sample) bool) bool {
		if t.HTTP == nil {
			return false
		}
		for _, h := range t.HTTP.ResHeader("set-cookie") {
			first, _, _ := strings.Cut(h, ";")
			if k, v, _ := strings.Cut(strings.TrimSpace(first), "="); k == a[0] && fn(sample{s: v}) {
				return true
			}
		}
		return false
	}, SrcResHeaders}
	fetches["http_auth"] = fetchDef{kBool, mBool, 1, boolFetch2(func(t *Txn, a []string) bool {
		_, ok := authGroups(t, a[0])
		return ok
	}), SrcReqHeaders}
	fetches["http_auth_group"] = fetchDef{kStr, mStr, 1, func(t *Txn, a []string, fn func(sample) bool) bool {
		groups, ok := authGroups(t, a[0])
		if !ok {
			return false
		}
		for _, g := range groups {
			if fn(sample{s: g}) {
				return true
			}
		}
		return false
	}, SrcReqHeaders}
	// Error fetches of option httpslog: halo logs established connections
	// only, so fc_err and ssl_fc_err are 0; ssl_c_err and ssl_c_ca_err
	// are the client certificate errors that crt-ignore-err and
	// ca-ignore-err let through (the TLS ones have no value on clear-text
	// connections, as HAProxy's).
	fetches["fc_err"] = fetchDef{kInt, mInt, 0, intFetch(func(*Txn, []string) (int64, bool) { return 0, true }), SrcL4Client}
	fetches["ssl_fc_err"] = fetchDef{kInt, mInt, 0, intFetch(func(t *Txn, _ []string) (int64, bool) { return 0, t.SSL != nil }), SrcL5Client}
	fetches["ssl_c_err"] = fetchDef{kInt, mInt, 0, intFetch(func(t *Txn, _ []string) (int64, bool) {
		if t.SSL == nil {
			return 0, false
		}
		return int64(t.SSL.ClientErr()), true
	}), SrcL5Client}
	fetches["ssl_c_ca_err"] = fetchDef{kInt, mInt, 0, intFetch(func(t *Txn, _ []string) (int64, bool) {
		if t.SSL == nil {
			return 0, false
		}
		return int64(t.SSL.ClientCAErr()), true
	}), SrcL5Client}
	fetches["ssl_fc_is_resumed"] = fetchDef{kBool, mBool, 0, boolFetch(func(t *Txn) bool { return t.SSL != nil && t.SSL.Resumed() }), SrcL5Client}
	fetches["srv_is_up"] = fetchDef{kBool, mBool, 1, func(t *Txn, a []string, fn func(sample) bool) bool {
		be, srv, _ := strings.Cut(a[0], "/")
		if t.Backends == nil {
			return false
		}
		up, found := t.Backends.ServerUp(be, srv)
		if !found {
			return false
		}
		if up {
			return fn(sample{i: 1})
		}
		return fn(sample{i: 0})
	}, SrcInternal}
	fetches["ssl_fc_has_sni"] = fetchDef{kBool, mBool, 0, boolFetch(func(t *Txn) bool { return t.SSL != nil && t.SSL.SNI() != "" }), SrcL5Client}
	aliases["scook"] = "res.cook"
	aliases["cook_cnt"] = "req.cook_cnt"
}

func boolFetch2(get func(t *Txn, a []string) bool) func(*Txn, []string, func(sample) bool) bool {
	return func(t *Txn, a []string, fn func(sample) bool) bool {
		if get(t, a) {
			return fn(sample{i: 1})
		}
		return fn(sample{i: 0})
	}
}

// authGroups checks the request's Basic credentials against a userlist.
func authGroups(t *Txn, list string) ([]string, bool) {
	m := t.request()
	if m == nil || t.Users == nil {
		return nil, false
	}
	h := m.Header("authorization")
	if len(h) == 0 {
		return nil, false
	}
	user, pass, ok := BasicCredentials(h[0])
	if !ok {
		return nil, false
	}
	return t.Users.CheckUser(list, user, pass)
}

// BasicCredentials decodes an Authorization: Basic header value.
func BasicCredentials(v string) (user, pass string, ok bool) {
	const prefix = "basic "
	if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}
