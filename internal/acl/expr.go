package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/halo-lb/halo/internal/suggest"
)

// kind is the type of a sample.
type kind int

const (
	kStr kind = iota
	kInt
	kIP
	kBool
)

// method is a pattern matching method (-m).
type method int

const (
	mFound method = iota
	mBool
	mInt
	mIP
	mStr
	mBeg
	mEnd
	mSub
	mReg
	mDir
	mDom
	mLen
)

var methodNames = map[string]method{"found": mFound, "bool": mBool, "int": mInt, "ip": mIP, "str": mStr,
	"beg": mBeg, "end": mEnd, "sub": mSub, "reg": mReg, "dir": mDir, "dom": mDom, "len": mLen}

// fetchDef describes a sample fetch.
type fetchDef struct {
	kind  kind
	def   method
	nargs int // required arguments (inside parentheses); -1: optional
	// each calls fn for every value the fetch yields, stopping when fn
	// returns true; it reports whether fn returned true.
	each func(t *Txn, args []string, fn func(sample) bool) bool
	// use is where the fetch takes its information from, which decides
	// the rules it can be used in (see phases.go).
	use Source
}

type sample struct {
	s  string
	i  int64
	ip netip.Addr
}

func one(v sample, fn func(sample) bool) bool { return fn(v) }

func strFetch(get func(t *Txn, args []string) (string, bool)) func(*Txn, []string, func(sample) bool) bool {
	return func(t *Txn, a []string, fn func(sample) bool) bool {
		s, ok := get(t, a)
		return ok && fn(sample{s: s})
	}
}

func intFetch(get func(t *Txn, args []string) (int64, bool)) func(*Txn, []string, func(sample) bool) bool {
	return func(t *Txn, a []string, fn func(sample) bool) bool {
		n, ok := get(t, a)
		return ok && fn(sample{i: n})
	}
}

func boolFetch(get func(t *Txn) bool) func(*Txn, []string, func(sample) bool) bool {
	return func(t *Txn, _ []string, fn func(sample) bool) bool {
		if get(t) {
			return fn(sample{i: 1})
		}
		return fn(sample{i: 0})
	}
}

func hdrFetch(res bool) func(*Txn, []string, func(sample) bool) bool {
	return func(t *Txn, a []string, fn func(sample) bool) bool {
		var vals []string
		if res {
			if t.HTTP == nil {
				return false
			}
			vals = t.HTTP.ResHeader(a[0])
		} else {
			m := t.request()
			if m == nil {
				return false
			}
			vals = m.Header(a[0])
		}
		// hdr() splits on commas, as HAProxy does for multi-value headers.
		var parts []string
		for _, v := range vals {
			for _, part := range strings.Split(v, ",") {
				parts = append(parts, strings.TrimSpace(part))
			}
		}
		if len(a) > 1 {
			// An occurrence: 1 is the first value, -1 the last.
			occ, _ := strconv.Atoi(a[1])
			if occ < 0 {
				occ = len(parts) + occ + 1
			}
			if occ < 1 || occ > len(parts) {
				return false
			}
			return fn(sample{s: parts[occ-1]})
		}
		for _, p := range parts {
			if fn(sample{s: p}) {
				return true
			}
		}
		return false
	}
}

func checkOcc(a []string) error {
	if len(a) > 2 {
		return errors.New("expects (<name>[,<occurrence>])")
	}
	if len(a) == 2 {
		if _, err := strconv.Atoi(a[1]); err != nil {
			return fmt.Errorf("occurrence '%s' is not an integer", a[1])
		}
	}
	return nil
}

// path is the path of a request target: in an absolute URI it starts at
// the first '/' after "://", and is empty without one (the authority
// runs up to that '/', so "http://host?q=1" has no path), as HAProxy's
// path fetch returns it.
func path(uri string) string {
	if i := strings.Index(uri, "://"); i >= 0 && !strings.HasPrefix(uri, "/") {
		rest := uri[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return ""
		}
		uri = rest[j:]
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		return uri[:i]
	}
	return uri
}

var fetches = map[string]fetchDef{
	"always_true":  {kBool, mBool, 0, boolFetch(func(*Txn) bool { return true }), SrcInternal},
	"always_false": {kBool, mBool, 0, boolFetch(func(*Txn) bool { return false }), SrcInternal},
	"src": {kIP, mIP, 0, func(t *Txn, _ []string, fn func(sample) bool) bool {
		return t.Src.IsValid() && fn(sample{ip: t.Src.Addr().Unmap()})
	}, SrcL4Client},
	"dst": {kIP, mIP, 0, func(t *Txn, _ []string, fn func(sample) bool) bool {
		return t.Dst.IsValid() && fn(sample{ip: t.Dst.Addr().Unmap()})
	}, SrcL4Client},
	"src_port": {kInt, mInt, 0, intFetch(func(t *Txn, _ []string) (int64, bool) { return int64(t.Src.Port()), t.Src.IsValid() }), SrcL4Client},
	"dst_port": {kInt, mInt, 0, intFetch(func(t *Txn, _ []string) (int64, bool) { return int64(t.Dst.Port()), t.Dst.IsValid() }), SrcL4Client},
	"ssl_fc":   {kBool, mBool, 0, boolFetch(func(t *Txn) bool { return t.SSL != nil }), SrcL5Client},
	"ssl_fc_sni": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		if t.SSL == nil {
			return "", false
		}
		return t.SSL.SNI(), t.SSL.SNI() != ""
	}), SrcL5Client},
	"ssl_fc_protocol": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		if t.SSL == nil {
			return "", false
		}
		return t.SSL.Protocol(), true
	}), SrcL5Client},
	"ssl_fc_cipher": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		if t.SSL == nil {
			return "", false
		}
		return t.SSL.Cipher(), true
	}), SrcL5Client},
	"ssl_c_used": {kBool, mBool, 0, boolFetch(func(t *Txn) bool { return t.SSL != nil && t.SSL.ClientCertUsed() }), SrcL5Client},
	"ssl_c_verify": {kInt, mInt, 0, intFetch(func(t *Txn, _ []string) (int64, bool) {
		if t.SSL == nil {
			return 0, false
		}
		return int64(t.SSL.ClientVerify()), true
	}), SrcL5Client},
	"ssl_c_s_dn": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		if t.SSL == nil || !t.SSL.ClientCertUsed() {
			return "", false
		}
		return t.SSL.ClientSubjectDN(), true
	}), SrcL5Client},
	"ssl_c_i_dn": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		if t.SSL == nil || !t.SSL.ClientCertUsed() {
			return "", false
		}
		return t.SSL.ClientIssuerDN(), true
	}), SrcL5Client},
	"req.len": {kInt, mInt, 0, intFetch(func(t *Txn, _ []string) (int64, bool) {
		if t.HTTP != nil && t.Payload == nil {
			// In HTTP mode HAProxy measures its buffered request, never
			// empty: the size of the request head stands for it.
			return int64(t.HTTP.HeadLen()), true
		}
		return int64(len(t.Payload)), true
	}), SrcReqBuffer},
	"req.ssl_sni": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		h, err := ParseClientHello(t.Payload)
		if err != nil || h.SNI == "" {
			return "", false
		}
		return h.SNI, true
	}), SrcReqBuffer},
	"req.ssl_hello_type": {kInt, mInt, 0, intFetch(func(t *Txn, _ []string) (int64, bool) {
		h, err := ParseClientHello(t.Payload)
		if err != nil {
			return 0, false
		}
		return int64(h.Type), true
	}), SrcReqBuffer},
	"req.proto_http": {kBool, mBool, 0, boolFetch(func(t *Txn) bool { return t.request() != nil }), SrcRequest},
	"method": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		m := t.request()
		if m == nil {
			return "", false
		}
		return m.Method(), true
	}), SrcRequest},
	"path": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		m := t.request()
		if m == nil {
			return "", false
		}
		return path(m.URI()), true
	}), SrcReqHeaders},
	"url": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		m := t.request()
		if m == nil {
			return "", false
		}
		return m.URI(), true
	}), SrcReqHeaders},
	"query": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		m := t.request()
		if m == nil {
			return "", false
		}
		_, q, ok := strings.Cut(m.URI(), "?")
		return q, ok
	}), SrcReqHeaders},
	"base": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		m := t.request()
		if m == nil {
			return "", false
		}
		h := m.Header("host")
		if len(h) == 0 {
			return path(m.URI()), true
		}
		return h[0] + path(m.URI()), true
	}), SrcReqHeaders},
	"url_param": {kStr, mStr, 1, func(t *Txn, a []string, fn func(sample) bool) bool {
		m := t.request()
		if m == nil {
			return false
		}
		_, q, ok := strings.Cut(m.URI(), "?")
		if !ok {
			return false
		}
		// Every occurrence is matched; as a sample, the first counts.
		for _, kv := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
			if k, v, _ := strings.Cut(kv, "="); k == a[0] && fn(sample{s: v}) {
				return true
			}
		}
		return false
	}, SrcReqHeaders},
	"req.ver": {kStr, mStr, 0, strFetch(func(t *Txn, _ []string) (string, bool) {
		m := t.request()
		if m == nil {
			return "", false
		}
		return strings.TrimPrefix(m.Version(), "HTTP/"), true
	}), SrcReqHeaders},
	"req.hdr": {kStr, mStr, 1, hdrFetch(false), SrcReqHeaders},
	// hdr reads the message being processed: the request's headers in
	// request rules, the response's in response rules (see resAlt).
	"hdr":     {kStr, mStr, 1, hdrFetch(false), SrcReqHeaders | SrcResHeaders},
	"res.hdr": {kStr, mStr, 1, hdrFetch(true), SrcResHeaders},
	"req.fhdr": {kStr, mStr, 1, func(t *Txn, a []string, fn func(sample) bool) bool {
		m := t.request()
		if m == nil {
			return false
		}
		for _, v := range m.Header(a[0]) {
			if fn(sample{s: v}) {
				return true
			}
		}
		return false
	}, SrcReqHeaders},
	"hdr_cnt": {kInt, mInt, 1, intFetch(func(t *Txn, a []string) (int64, bool) {
		m := t.request()
		if m == nil {
			return 0, false
		}
		n := 0
		for _, v := range m.Header(a[0]) {
			n += strings.Count(v, ",") + 1
		}
		return int64(n), true
	}), SrcReqHeaders},
	"req.hdr_val": {kInt, mInt, 1, intFetch(func(t *Txn, a []string) (int64, bool) {
		m := t.request()
		if m == nil {
			return 0, false
		}
		v := m.Header(a[0])
		if len(v) == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v[len(v)-1]), 10, 64)
		return n, err == nil
	}), SrcReqHeaders},
	"req.cook": {kStr, mStr, 1, func(t *Txn, a []string, fn func(sample) bool) bool {
		m := t.request()
		if m == nil {
			return false
		}
		for _, h := range m.Header("cookie") {
			if eachCookie(h, a[0], fn) {
				return true
			}
		}
		return false
	}, SrcReqHeaders},
	"status": {kInt, mInt, 0, intFetch(func(t *Txn, _ []string) (int64, bool) {
		if t.HTTP == nil || t.HTTP.ResStatus() == 0 {
			return 0, false
		}
		return int64(t.HTTP.ResStatus()), true
	}), SrcResponse},
	"nbsrv": {kInt, mInt, 1, intFetch(func(t *Txn, a []string) (int64, bool) {
		if t.Backends == nil {
			return 0, false
		}
		n, ok := t.Backends.UsableServers(a[0])
		return int64(n), ok
	}), SrcInternal},
}

// eachCookie calls fn with the value of every cookie called name in a
// Cookie header line, blanks around '=' ignored, until fn returns true.
// As in HAProxy, a cookie without '=' has no value, and neither has a
// line made of a single empty cookie ("c="): it is not found.
func eachCookie(line, name string, fn func(sample) bool) bool {
	parts := strings.Split(line, ";")
	for _, c := range parts {
		k, v, eq := strings.Cut(c, "=")
		if !eq || strings.TrimSpace(k) != name {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" && len(parts) == 1 {
			continue
		}
		if fn(sample{s: v}) {
			return true
		}
	}
	return false
}

// firstValue are the fetches that give their first value as a sample
// (outside an ACL), where hdr() and the others give their last one.
var firstValue = map[string]bool{"url_param": true}

// aliases maps HAProxy's other names of the same fetches.
var aliases = map[string]string{
	"req_len": "req.len", "req_ssl_sni": "req.ssl_sni", "req.ssl_hello_type": "req.ssl_hello_type",
	"req_ssl_hello_type": "req.ssl_hello_type", "cook": "req.cook", "req.hdr_cnt": "hdr_cnt", "hdr_val": "req.hdr_val",
	"req_ver": "req.ver", "res.hdr": "res.hdr", "shdr": "res.hdr", "urlp": "url_param",
}

type derivedFetch struct {
	fetch string
	m     method
}

// derived are HAProxy's ACL keywords that are a fetch with a matching
// method, such as path_beg = path -m beg (HAProxy knows no other:
// query_beg or req.hdr_beg are unknown keywords there).
var derived = buildDerived()

func buildDerived() map[string]derivedFetch {
	d := map[string]derivedFetch{"url_ip": {"url", mIP}, "ssl_fc_sni_end": {"ssl_fc_sni", mEnd}, "ssl_fc_sni_reg": {"ssl_fc_sni", mReg}}
	for _, f := range []string{"path", "url", "hdr", "base", "urlp", "cook", "shdr"} {
		for _, s := range []string{"beg", "end", "sub", "reg", "dir", "dom", "len"} {
			d[f+"_"+s] = derivedFetch{f, methodNames[s]}
		}
	}
	return d
}

// aclKeywords are the ACL keywords that stand for a fetch of another
// name: in an ACL, hdr (and hdr_beg...) is req.hdr, the request's header
// even in a response rule, where the sample fetch hdr is the response's.
var aclKeywords = map[string]string{"hdr": "req.hdr", "cook": "req.cook", "shdr": "res.hdr"}

// resAlt are the fetches that read the message being processed: in
// response rules they are their response variant.
var resAlt = map[string]string{"hdr": "res.hdr"}

// Expr is one `<fetch>[,conv...] [flags] [-m method] [op] <patterns...>` test.
type Expr struct {
	smp      *Sample
	m        method
	op       string // for int: eq ge gt le lt
	strs     []string
	fold     []bool // strs[i] is matched ignoring case (-i before it)
	anyFold  bool
	regs     []*regexp.Regexp
	nets     []netip.Prefix
	ranges   [][2]int64
	boolNeed bool
	uid      int  // -u <id>
	hasUID   bool // -u was given
	// methods is set for the method fetch matched its own way: per
	// pattern, whether it names one of HTTP's methods, which only match
	// exactly (with or without -i).
	methods []bool
	bare    bool // no flag and no pattern: HAProxy warns that it never matches
}

// pattern is a pattern and whether -i applies to it.
type pattern struct {
	text  string
	icase bool
}

// Resolver turns a host name of an IP pattern into an address, as
// HAProxy resolves them when it loads the configuration.
type Resolver func(host string) (netip.Addr, error)

// ParseExpr parses the words of an ACL expression. Host names in IP
// patterns are not resolved (see Set.Resolve).
func ParseExpr(words []string) (*Expr, error) { return parseExpr(words, nil) }

func parseExpr(words []string, resolve Resolver) (*Expr, error) {
	if len(words) == 0 {
		return nil, errors.New("missing fetch method")
	}
	smp, forced, err := parseSample(words[0], true)
	if err != nil {
		return nil, err
	}
	name := smp.name
	e := &Expr{smp: smp, bare: len(words) == 1}
	f := fetchDef{kind: smp.kind, def: defaultMethod(smp)}
	e.m = f.def
	if forced >= 0 {
		e.m = forced
	}
	// -i applies to the patterns after it, those of a later -f included.
	var filePats []pattern
	icase, noDNS, explicitM := false, false, false
	i := 1
	for ; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") || w == "-" {
			break
		}
		switch w {
		case "-i":
			icase = true
		case "-n":
			noDNS = true
		case "-u":
			if i+1 >= len(words) {
				continue
			}
			id, err := strconv.Atoi(words[i+1])
			if err != nil {
				return nil, errors.New("the argument of -u must be an integer.")
			}
			e.uid, e.hasUID = id, true
			i++
		case "--":
			i++
			goto patterns
		case "-m":
			if i+1 >= len(words) {
				return nil, errors.New("'-m' expects a matching method")
			}
			m, ok := methodNames[words[i+1]]
			if !ok {
				return nil, fmt.Errorf("unknown matching method '%s'%s", words[i+1], suggest.Hint(words[i+1], keysOf(methodNames)))
			}
			if f.kind == kInt && m != mInt && m != mFound && m != mBool {
				return nil, fmt.Errorf("'-m %s' cannot be used with the integer fetch '%s'", words[i+1], name)
			}
			e.m, explicitM = m, true
			i++
		case "-f":
			if i+1 >= len(words) {
				return nil, errors.New("'-f' expects a file name")
			}
			lines, err := readPatternFile(words[i+1])
			if err != nil {
				return nil, err
			}
			for _, l := range lines {
				filePats = append(filePats, pattern{l.text, icase})
			}
			i++
		case "-M":
			return nil, errors.New("'-M' map files are not supported by halo yet")
		default:
			if _, err := strconv.Atoi(w); err == nil && e.m == mInt {
				goto patterns
			}
			return nil, fmt.Errorf("'%s' is not a valid ACL option. Please use '--' before any pattern beginning with a '-'.", w)
		}
	}
patterns:
	pats := filePats
	for _, w := range words[i:] {
		pats = append(pats, pattern{w, icase})
	}
	switch e.m {
	case mFound:
		if len(pats) > 0 {
			return nil, errors.New("'-m found' takes no pattern")
		}
	case mBool:
		if len(pats) > 0 {
			return nil, fmt.Errorf("boolean fetch '%s' takes no pattern", name)
		}
	case mInt, mLen:
		if len(pats) > 0 {
			switch pats[0].text {
			case "eq", "ge", "gt", "le", "lt":
				e.op, pats = pats[0].text, pats[1:]
			}
		}
		for _, pt := range pats {
			p := pt.text
			lo, hi, isRange := strings.Cut(p, ":")
			var r [2]int64
			var err1, err2 error
			r[0], err1 = strconv.ParseInt(lo, 10, 64)
			r[1] = r[0]
			if isRange {
				if lo == "" {
					r[0], err1 = -1<<63, nil
				}
				if hi == "" {
					r[1] = 1<<63 - 1
				} else {
					r[1], err2 = strconv.ParseInt(hi, 10, 64)
				}
			}
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("'%s' is not a number or range", p)
			}
			e.ranges = append(e.ranges, r)
		}
	case mIP:
		for _, pt := range pats {
			pf, err := ipPattern(pt.text, resolve, noDNS)
			if err != nil {
				return nil, err
			}
			e.nets = append(e.nets, pf)
		}
	case mReg:
		for _, pt := range pats {
			p := pt.text
			if pt.icase {
				p = "(?i)" + p
			}
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("invalid regex '%s': %v", pt.text, err)
			}
			e.regs = append(e.regs, re)
		}
	default:
		meth := name == "method" && !explicitM && len(smp.convs) == 0
		for _, pt := range pats {
			p := pt.text
			if meth {
				e.methods = append(e.methods, knownMethod(p))
			}
			if pt.icase && !(meth && knownMethod(p)) {
				p = strings.ToLower(p)
				e.anyFold = true
			} else {
				pt.icase = false
			}
			e.strs = append(e.strs, p)
			e.fold = append(e.fold, pt.icase)
		}
	}
	return e, nil
}

// knownMethod reports one of the methods HAProxy knows by name; the
// method ACL matches those exactly and compares other names as strings.
func knownMethod(m string) bool {
	switch m {
	case "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT":
		return true
	}
	return false
}

// ipPattern parses an IP pattern: an address, a network in CIDR or
// netmask form, or, unless noDNS (-n), a host name resolved now, as
// HAProxy does when it loads the configuration.
func ipPattern(p string, resolve Resolver, noDNS bool) (netip.Prefix, error) {
	if pf, err := netip.ParsePrefix(p); err == nil {
		return pf.Masked(), nil
	}
	if a, err := netip.ParseAddr(p); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if q, err := maskPrefix(p); err == nil {
		return q.Masked(), nil
	}
	bad := fmt.Errorf("'%s' is not a valid IPv4 or IPv6 address", p)
	if noDNS || resolve == nil {
		return netip.Prefix{}, bad
	}
	host, bits, hasBits := strings.Cut(p, "/")
	a, err := resolve(host)
	if err != nil {
		return netip.Prefix{}, bad
	}
	a = a.Unmap()
	n := a.BitLen()
	if hasBits {
		if n, err = strconv.Atoi(bits); err != nil || n < 0 || n > a.BitLen() {
			return netip.Prefix{}, bad
		}
	}
	return netip.PrefixFrom(a, n).Masked(), nil
}

// UniqueID returns the -u id of the expression, for the configuration
// to check that ids are unique.
func (e *Expr) UniqueID() (int, bool) { return e.uid, e.hasUID }

// NeverMatches reports an expression written with neither flag nor
// pattern although its matching method needs patterns: it never
// matches, which HAProxy accepts with a warning.
func (e *Expr) NeverMatches() bool {
	return e.bare && e.m != mFound && e.m != mBool
}

// maskPrefix accepts "a.b.c.d/255.255.0.0" netmask notation.
func maskPrefix(p string) (netip.Prefix, error) {
	a, m, ok := strings.Cut(p, "/")
	if !ok {
		return netip.Prefix{}, errors.New("not a prefix")
	}
	addr, err := netip.ParseAddr(a)
	mask, err2 := netip.ParseAddr(m)
	if err != nil || err2 != nil || !mask.Is4() {
		return netip.Prefix{}, errors.New("bad mask")
	}
	b := mask.As4()
	bits := 0
	for _, x := range b {
		for k := 7; k >= 0; k-- {
			if x&(1<<k) == 0 {
				return netip.PrefixFrom(addr, bits), nil
			}
			bits++
		}
	}
	return netip.PrefixFrom(addr, bits), nil
}

var knownUnsupported = map[string]bool{"sc_http_req_rate": true, "src_conn_rate": true,
	"fc_rcvd_proxy": true, "so_id": true, "be_id": true, "fe_id": true, "payload": true, "req.payload": true,
	"req.body": true, "req.body_param": true, "capture.req.hdr": true,
	"sc0_http_req_rate": true, "sc1_http_req_rate": true, "sc2_http_req_rate": true, "src_http_req_rate": true,
	"ssl_c_sha1": true, "ssl_fc_alpn": true, "ssl_fc_has_crt": true, "req.ssl_alpn": true,
	"req.ssl_ver": true, "rdp_cookie": true, "be_conn": true, "connslots": true, "fe_conn": true,
	"queue": true, "avg_queue": true, "nbproc": true}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// splitCall splits "name(a,b)" into name and arguments.
func splitCall(s string) (string, []string, error) {
	i := strings.IndexByte(s, '(')
	if i < 0 {
		return s, nil, nil
	}
	if !strings.HasSuffix(s, ")") {
		return "", nil, fmt.Errorf("missing closing ')' after arguments to '%s'", s[:i])
	}
	inner := s[i+1 : len(s)-1]
	if inner == "" {
		return s[:i], nil, nil
	}
	return s[:i], splitArgs(inner), nil
}

// Match reports whether any value of the fetch matches any pattern.
func (e *Expr) Match(t *Txn) bool {
	return e.smp.each(t, e.matchOne)
}

// matchAt is Match in a rule at w.
func (e *Expr) matchAt(t *Txn, w Where) bool {
	return e.smp.eachAt(t, w, e.matchOne)
}

func (e *Expr) matchOne(v sample) bool {
	s, low := v.s, v.s
	if e.anyFold {
		low = strings.ToLower(s)
	}
	switch e.m {
	case mFound:
		return true
	case mBool:
		if e.smp.kind == kStr {
			return v.s != ""
		}
		return v.i != 0
	case mInt, mLen:
		n := v.i
		if e.m == mLen {
			n = int64(len(v.s))
		} else if e.smp.kind == kStr {
			x, err := strconv.ParseInt(strings.TrimSpace(v.s), 10, 64)
			if err != nil {
				return false
			}
			n = x
		}
		for _, r := range e.ranges {
			switch e.op {
			case "eq", "":
				if n >= r[0] && n <= r[1] {
					return true
				}
			case "ge":
				if n >= r[0] {
					return true
				}
			case "gt":
				if n > r[0] {
					return true
				}
			case "le":
				if n <= r[0] {
					return true
				}
			case "lt":
				if n < r[0] {
					return true
				}
			}
		}
	case mIP:
		ip := v.ip
		if !ip.IsValid() {
			a, err := netip.ParseAddr(v.s)
			if err != nil {
				return false
			}
			ip = a.Unmap()
		}
		for _, n := range e.nets {
			if n.Contains(ip) {
				return true
			}
		}
	case mReg:
		for _, re := range e.regs {
			if re.MatchString(v.s) {
				return true
			}
		}
	case mStr, mBeg, mEnd, mSub, mDir, mDom:
		known := e.methods != nil && knownMethod(s)
		for i, p := range e.strs {
			if e.methods != nil && (known || e.methods[i]) {
				if s == p {
					return true
				}
				continue
			}
			in := s
			if e.fold[i] {
				in = low
			}
			if strMatch(e.m, in, p) {
				return true
			}
		}
	}
	return false
}

// strMatch applies a string matching method to one pattern.
func strMatch(m method, s, p string) bool {
	switch m {
	case mStr:
		return s == p
	case mBeg:
		return strings.HasPrefix(s, p)
	case mEnd:
		return strings.HasSuffix(s, p)
	case mSub:
		return strings.Contains(s, p)
	case mDir:
		return delimited(s, p, '/')
	case mDom:
		return delimited(s, p, '.') || delimited(s, p, '/')
	}
	return false
}

// delimited reports whether p appears in s bounded by sep or the ends.
func delimited(s, p string, sep byte) bool {
	p = strings.Trim(p, string(sep))
	if p == "" {
		return false
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == rune(sep) || r == '?' || r == ':' }) {
		if part == p {
			return true
		}
	}
	return strings.Contains(string(sep)+strings.Trim(s, string(sep))+string(sep), string(sep)+p+string(sep))
}
