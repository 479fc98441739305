package logging

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The predefined formats, as HAProxy 2.6 documents their exact
// log-format equivalents.
const (
	TCPLog     = `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`
	HTTPLog    = `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r`
	HTTPLogCLF = `%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl`
	HTTPSLog   = HTTPLog + ` %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc`
	// LegacyLog is what HAProxy logs, when a connection is accepted, for a
	// proxy without a log format option; the mode (TCP or HTTP) follows.
	LegacyLog = `Connect from %ci:%cp to %fi:%fp (%f/`
)

// Record is everything a traffic log line can show. Durations are -1
// when the step was not reached, which HAProxy prints as -1.
type Record struct {
	Accept   time.Time // connection accepted (%t)
	Request  time.Time // first byte of the request (%tr)
	Client   netip.AddrPort
	Frontend netip.AddrPort // address the client connected to (%fi:%fp)
	Source   netip.AddrPort // our side of the server connection (%bi:%bp)
	ServerIP netip.AddrPort // %si:%sp

	FrontendName string
	TLS          bool // adds "~" to %ft
	BackendName  string
	ServerName   string // "<NOSRV>" when none

	TH, TI, TR, Tw, Tc, Tr, Td, Ta, Tt time.Duration

	Status    int
	BytesOut  int64 // server to client (%B)
	BytesIn   int64 // client to server (%U)
	Term      [4]byte
	HTTP      bool // 4-character %tsc
	ActConn   int64
	FeConn    int64
	BeConn    int64
	SrvConn   int64
	Retries   int
	Redisp    bool
	SrvQueue  int
	BeQueue   int
	CaptReq   []string
	CaptRes   []string
	HasCaptRq bool // the frontend declares request captures
	HasCaptRs bool
	Method    string
	URI       string
	Version   string
	BadReq    bool
	// http-request set-log-level: Silent drops the line; with HasLevel,
	// SetLevel replaces its level.
	Silent, HasLevel bool
	SetLevel         Level
	ReqCookie        string
	ResCookie        string
	UniqueID         string
	ReqCounter       int64 // %rt: the process's request number
	Pid              int
	SSLVer           string
	SSLCipher        string
	// Ctx is handed to %[...] expressions.
	Ctx any
}

// Expr is a compiled %[...] sample expression.
type Expr interface {
	AppendTo(dst []byte, r *Record) []byte
}

// SampleHook compiles the text of a %[...] expression.
type SampleHook func(expr string) (Expr, error)

// Format is a compiled log-format string.
type Format struct {
	Text string
	// EmptyDash prints "-" for a %[...] expression that yields nothing,
	// as in logs; rule arguments leave it empty.
	EmptyDash bool
	nodes     []node
}

type flags uint8

const (
	fQuote flags = 1 << iota
	fHex
	fEscape
)

type node struct {
	lit   string
	vr    *variable
	expr  Expr
	flags flags
}

type variable struct {
	name    string
	num     bool // printed without quotes
	capture bool // prints nothing (and eats the following space) without captures
	fn      func(b []byte, r *Record) []byte
	quoted  func(b []byte, r *Record) []byte // rendering under +Q when it is not fn's output in quotes
}

// Compile parses a log-format string. hook compiles %[...] expressions;
// nil refuses them. A backslash is an ordinary character here, as in
// HAProxy: the configuration lexer has already taken the escapes it
// knows (`\\`, `\"`, `\ `, ...), and the rest reach the output as
// written (`a\.b` logs `a\.b`, and `\%f` is a backslash then %f).
func Compile(s string, hook SampleHook) (*Format, error) {
	f := &Format{Text: s}
	var lit strings.Builder
	var deflt flags
	flush := func() {
		if lit.Len() > 0 {
			f.nodes = append(f.nodes, node{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("log-format '%s': '%%' at the end of the string", s)
		}
		if s[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		fl := deflt
		j := i + 1
		if s[j] == '{' {
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				return nil, fmt.Errorf("log-format '%s': missing '}' after '%%{'", s)
			}
			for _, opt := range strings.Split(s[j+1:j+end], ",") {
				if len(opt) < 2 || (opt[0] != '+' && opt[0] != '-') {
					return nil, fmt.Errorf("log-format '%s': invalid option '%s' (expected +Q, -Q, +X, +E ...)", s, opt)
				}
				var bit flags
				switch opt[1:] {
				case "Q":
					bit = fQuote
				case "X":
					bit = fHex
				case "E":
					bit = fEscape
				default:
					return nil, fmt.Errorf("log-format '%s': unknown option '%s'", s, opt)
				}
				if opt[0] == '+' {
					fl |= bit
				} else {
					fl &^= bit
				}
			}
			j += end + 1
		}
		if j >= len(s) {
			return nil, fmt.Errorf("log-format '%s': missing variable after '%%'", s)
		}
		if s[j] == '[' {
			end := matchBracket(s, j)
			if end < 0 {
				return nil, fmt.Errorf("missing ']' in log-format expression '%s'", s)
			}
			if hook == nil {
				return nil, fmt.Errorf("log-format '%s': sample expressions are not allowed here", s)
			}
			e, err := hook(s[j+1 : end])
			if err != nil {
				return nil, fmt.Errorf("in log-format expression '%s': %w", s, err)
			}
			flush()
			f.nodes = append(f.nodes, node{expr: e, flags: fl})
			i = end
			continue
		}
		k := j
		for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z') {
			k++
		}
		name := s[j:k]
		if name == "o" {
			deflt = fl // %{+Q}o sets the options of the following variables
			if k < len(s) && s[k] == ' ' {
				k++
			}
			i = k - 1
			continue
		}
		v := lookupVar(name)
		if v == nil {
			return nil, fmt.Errorf("log-format '%s': no such variable '%%%s'", s, name)
		}
		flush()
		f.nodes = append(f.nodes, node{vr: v, flags: fl})
		i = k - 1
	}
	flush()
	return f, nil
}

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

// lookupVar finds a variable by name; the longest names are tried first
// so that %Tw is not read as %T followed by "w".
func lookupVar(name string) *variable {
	return vars[name]
}

// AppendTo renders the format for r.
func (f *Format) AppendTo(b []byte, r *Record) []byte {
	skipSpace := false
	for _, n := range f.nodes {
		switch {
		case n.vr != nil:
			if n.vr.capture && !captures(n.vr.name, r) {
				skipSpace = true
				continue
			}
			if n.vr.quoted != nil && n.flags&fQuote != 0 {
				b = n.vr.quoted(b, r)
				continue
			}
			start := len(b)
			b = n.vr.fn(b, r)
			b = applyFlags(b, start, n.flags, n.vr.num)
		case n.expr != nil:
			start := len(b)
			b = n.expr.AppendTo(b, r)
			if len(b) == start && f.EmptyDash {
				b = append(b, '-')
			}
			b = applyFlags(b, start, n.flags, false)
		default:
			lit := n.lit
			if skipSpace && len(lit) > 0 && lit[0] == ' ' {
				lit = lit[1:]
			}
			b = append(b, lit...)
		}
		skipSpace = false
	}
	return b
}

// String renders the format for r.
func (f *Format) String(r *Record) string { return string(f.AppendTo(nil, r)) }

// captures reports whether a capture variable prints: only when the
// frontend declares captures of its kind, and never for a request that
// could not be parsed (HAProxy logs those without a stream, so without
// the capture braces: `... 0/0 "<BADREQ>"`).
func captures(name string, r *Record) bool {
	if r.BadReq {
		return false
	}
	if strings.HasPrefix(name, "hr") {
		return r.HasCaptRq
	}
	return r.HasCaptRs
}

func applyFlags(b []byte, start int, fl flags, num bool) []byte {
	if fl&fHex != 0 && num {
		if n, err := strconv.ParseInt(string(b[start:]), 10, 64); err == nil {
			return append(b[:start], strings.ToUpper(strconv.FormatUint(uint64(n), 16))...)
		}
	}
	if fl&fEscape != 0 {
		val := string(b[start:])
		b = b[:start]
		for i := 0; i < len(val); i++ {
			if val[i] == '"' || val[i] == '\\' || val[i] == ']' {
				b = append(b, '\\')
			}
			b = append(b, val[i])
		}
	}
	if fl&fQuote != 0 && !num {
		val := string(b[start:])
		b = append(b[:start], '"')
		b = append(b, val...)
		b = append(b, '"')
	}
	return b
}

func ms(b []byte, d time.Duration) []byte {
	if d < 0 {
		return append(b, "-1"...)
	}
	return strconv.AppendInt(b, d.Milliseconds(), 10)
}

func addr(b []byte, a netip.AddrPort, port bool) []byte {
	if !a.IsValid() {
		return append(b, '-')
	}
	if port {
		return strconv.AppendInt(b, int64(a.Port()), 10)
	}
	return a.Addr().Unmap().AppendTo(b)
}

func orDash(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

func date(b []byte, t time.Time, layout string) []byte { return t.AppendFormat(b, layout) }

const (
	layoutMs  = "02/Jan/2006:15:04:05.000"
	layoutCLF = "02/Jan/2006:15:04:05 -0700"
)

func str(name string, fn func(b []byte, r *Record) []byte) *variable {
	return &variable{name: name, fn: fn}
}

func num(name string, fn func(b []byte, r *Record) []byte) *variable {
	return &variable{name: name, num: true, fn: fn}
}

func dur(name string, get func(r *Record) time.Duration) *variable {
	return num(name, func(b []byte, r *Record) []byte { return ms(b, get(r)) })
}

func count(name string, get func(r *Record) int64) *variable {
	return num(name, func(b []byte, r *Record) []byte { return strconv.AppendInt(b, get(r), 10) })
}

var vars = map[string]*variable{}

func init() {
	for _, v := range []*variable{
		str("ci", func(b []byte, r *Record) []byte { return addr(b, r.Client, false) }),
		num("cp", func(b []byte, r *Record) []byte { return addr(b, r.Client, true) }),
		str("fi", func(b []byte, r *Record) []byte { return addr(b, r.Frontend, false) }),
		num("fp", func(b []byte, r *Record) []byte { return addr(b, r.Frontend, true) }),
		str("bi", func(b []byte, r *Record) []byte { return addr(b, r.Source, false) }),
		num("bp", func(b []byte, r *Record) []byte { return addr(b, r.Source, true) }),
		str("si", func(b []byte, r *Record) []byte { return addr(b, r.ServerIP, false) }),
		num("sp", func(b []byte, r *Record) []byte { return addr(b, r.ServerIP, true) }),
		num("t", func(b []byte, r *Record) []byte { return date(b, r.Accept, layoutMs) }),
		num("tr", func(b []byte, r *Record) []byte { return date(b, reqDate(r), layoutMs) }),
		num("trg", func(b []byte, r *Record) []byte { return date(b, reqDate(r).UTC(), layoutCLF) }),
		num("trl", func(b []byte, r *Record) []byte { return date(b, reqDate(r).Local(), layoutCLF) }),
		num("T", func(b []byte, r *Record) []byte { return date(b, r.Accept.UTC(), layoutCLF) }),
		num("Tl", func(b []byte, r *Record) []byte { return date(b, r.Accept.Local(), layoutCLF) }),
		num("Ts", func(b []byte, r *Record) []byte { return strconv.AppendInt(b, r.Accept.Unix(), 10) }),
		num("ms", func(b []byte, r *Record) []byte {
			m := r.Accept.Nanosecond() / 1e6
			if m < 100 {
				b = append(b, '0')
			}
			if m < 10 {
				b = append(b, '0')
			}
			return strconv.AppendInt(b, int64(m), 10)
		}),
		str("f", func(b []byte, r *Record) []byte { return append(b, r.FrontendName...) }),
		str("ft", func(b []byte, r *Record) []byte {
			b = append(b, r.FrontendName...)
			if r.TLS {
				b = append(b, '~')
			}
			return b
		}),
		str("b", func(b []byte, r *Record) []byte { return append(b, r.BackendName...) }),
		str("s", func(b []byte, r *Record) []byte { return append(b, r.ServerName...) }),
		dur("Th", func(r *Record) time.Duration { return r.TH }),
		dur("Ti", func(r *Record) time.Duration { return r.TI }),
		dur("TR", func(r *Record) time.Duration { return r.TR }),
		dur("Tw", func(r *Record) time.Duration { return r.Tw }),
		dur("Tc", func(r *Record) time.Duration { return r.Tc }),
		dur("Tr", func(r *Record) time.Duration { return r.Tr }),
		dur("Td", func(r *Record) time.Duration { return r.Td }),
		dur("Ta", func(r *Record) time.Duration { return r.Ta }),
		dur("Tt", func(r *Record) time.Duration { return r.Tt }),
		dur("Tq", func(r *Record) time.Duration {
			if r.TR < 0 {
				return -1
			}
			return r.TH + r.TI + r.TR
		}),
		num("ST", func(b []byte, r *Record) []byte { return strconv.AppendInt(b, int64(r.Status), 10) }),
		count("B", func(r *Record) int64 { return r.BytesOut }),
		count("U", func(r *Record) int64 { return r.BytesIn }),
		num("ts", func(b []byte, r *Record) []byte { return append(b, r.Term[:2]...) }),
		num("tsc", func(b []byte, r *Record) []byte {
			if r.HTTP {
				return append(b, r.Term[:]...)
			}
			return append(b, r.Term[:2]...)
		}),
		count("ac", func(r *Record) int64 { return r.ActConn }),
		count("fc", func(r *Record) int64 { return r.FeConn }),
		count("bc", func(r *Record) int64 { return r.BeConn }),
		count("sc", func(r *Record) int64 { return r.SrvConn }),
		num("rc", func(b []byte, r *Record) []byte {
			if r.Redisp {
				b = append(b, '+')
			}
			return strconv.AppendInt(b, int64(r.Retries), 10)
		}),
		count("sq", func(r *Record) int64 { return int64(r.SrvQueue) }),
		count("bq", func(r *Record) int64 { return int64(r.BeQueue) }),
		{name: "CC", fn: func(b []byte, r *Record) []byte { return orDash(b, r.ReqCookie) },
			quoted: func(b []byte, r *Record) []byte { return quote(b, r.ReqCookie) }},
		{name: "CS", fn: func(b []byte, r *Record) []byte { return orDash(b, r.ResCookie) },
			quoted: func(b []byte, r *Record) []byte { return quote(b, r.ResCookie) }},
		{name: "hr", capture: true, fn: func(b []byte, r *Record) []byte { return braces(b, r.CaptReq) }},
		{name: "hs", capture: true, fn: func(b []byte, r *Record) []byte { return braces(b, r.CaptRes) }},
		{name: "hrl", capture: true, fn: func(b []byte, r *Record) []byte { return spaced(b, r.CaptReq, false) },
			quoted: func(b []byte, r *Record) []byte { return spaced(b, r.CaptReq, true) }},
		{name: "hsl", capture: true, fn: func(b []byte, r *Record) []byte { return spaced(b, r.CaptRes, false) },
			quoted: func(b []byte, r *Record) []byte { return spaced(b, r.CaptRes, true) }},
		str("r", func(b []byte, r *Record) []byte {
			if r.BadReq || r.Method == "" {
				return append(b, "<BADREQ>"...)
			}
			b = encode(b, r.Method, false)
			b = append(b, ' ')
			b = encode(b, r.URI, false)
			b = append(b, ' ')
			return encode(b, r.Version, false)
		}),
		str("HM", func(b []byte, r *Record) []byte { return orDash(b, r.Method) }),
		str("HU", func(b []byte, r *Record) []byte {
			if r.URI == "" {
				return append(b, '-')
			}
			return encode(b, r.URI, false)
		}),
		str("HP", func(b []byte, r *Record) []byte {
			p, _, _ := strings.Cut(r.URI, "?")
			if p == "" {
				return append(b, '-')
			}
			return encode(b, p, false)
		}),
		str("HQ", func(b []byte, r *Record) []byte {
			if _, q, ok := strings.Cut(r.URI, "?"); ok {
				return encode(append(b, '?'), q, false)
			}
			return b
		}),
		str("HV", func(b []byte, r *Record) []byte { return orDash(b, r.Version) }),
		str("ID", func(b []byte, r *Record) []byte { return orDash(b, r.UniqueID) }),
		num("pid", func(b []byte, r *Record) []byte { return strconv.AppendInt(b, int64(r.Pid), 10) }),
		str("H", func(b []byte, r *Record) []byte { return append(b, hostname()...) }),
		str("sslv", func(b []byte, r *Record) []byte { return orDash(b, r.SSLVer) }),
		str("sslc", func(b []byte, r *Record) []byte { return orDash(b, r.SSLCipher) }),
		count("rt", func(r *Record) int64 { return r.ReqCounter }),
	} {
		if _, dup := vars[v.name]; !dup {
			vars[v.name] = v
		}
	}
}

var (
	hostOnce sync.Once
	hostName string
)

func hostname() string {
	hostOnce.Do(func() { hostName, _ = os.Hostname() })
	return hostName
}

func reqDate(r *Record) time.Time {
	if r.Request.IsZero() {
		return r.Accept
	}
	return r.Request
}

func braces(b []byte, vals []string) []byte {
	b = append(b, '{')
	for i, v := range vals {
		if i > 0 {
			b = append(b, '|')
		}
		b = encode(b, v, true)
	}
	return append(b, '}')
}

// encode appends s with the bytes HAProxy escapes in logs written as
// #XX: '"', '#', control and non-ASCII bytes, and in captures also
// '{', '|' and '}', so that a client cannot forge log fields.
func encode(b []byte, s string, capture bool) []byte {
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '#' || capture && (c == '{' || c == '|' || c == '}') {
			b = append(b, '#', hexd[c>>4], hexd[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

func spaced(b []byte, vals []string, q bool) []byte {
	for i, v := range vals {
		if i > 0 {
			b = append(b, ' ')
		}
		switch {
		case q:
			b = append(b, '"')
			b = encode(b, v, true)
			b = append(b, '"')
		case v == "":
			b = append(b, '-')
		default:
			b = encode(b, v, true)
		}
	}
	return b
}

func quote(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
