package config

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/crypt"
	"github.com/halo-lb/halo/internal/suggest"
)

// LoadOptions tunes Load.
type LoadOptions struct {
	// LookupEnv resolves environment variables; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Resolve checks that a server host name resolves, as HAProxy does at
	// start-up; nil means the system resolver with a 2 s time limit.
	Resolve func(host string) error
	// ResolveAddrs resolves the host name of a server with `resolvers`
	// (init-addr libc); nil means the system resolver with a 2 s limit.
	ResolveAddrs func(host string) ([]netip.Addr, error)
	// ResolvConf is the file parse-resolv-conf reads; "" means /etc/resolv.conf.
	ResolvConf string
}

// ErrorList is every error found in a configuration, in file order.
type ErrorList struct {
	Errs []Diagnostic
}

func (e *ErrorList) Error() string {
	var b strings.Builder
	for i, d := range e.Errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.Error())
	}
	return b.String()
}

// HasListeners reports whether any enabled frontend has a bind line, which
// HAProxy requires to start.
func (c *Config) HasListeners() bool {
	for _, p := range c.Frontends() {
		if !p.Disabled && len(p.Binds) > 0 {
			return true
		}
	}
	return false
}

// Load reads, parses and validates configuration files and directories
// (a directory contributes its *.cfg files in lexical order). It returns
// a *ErrorList when anything is wrong.
func Load(paths []string, opts LoadOptions) (*Config, error) {
	opts = defaultOpts(opts)
	p := &parser{lookupEnv: opts.LookupEnv}
	var files []string
	for _, path := range paths {
		names, err := expandPath(path)
		if err != nil {
			p.errs = append(p.errs, Diagnostic{Severity: SevAlert, Msg: err.Error()})
			continue
		}
		for _, f := range names {
			data, err := os.ReadFile(f)
			if err != nil {
				p.errs = append(p.errs, Diagnostic{Severity: SevAlert, Msg: fmt.Sprintf("Cannot open configuration file/directory %s : %v", f, unwrapPathErr(err))})
				continue
			}
			files = append(files, f)
			p.file(f, string(data))
		}
	}
	if len(files) == 0 && len(p.errs) == 0 {
		p.errs = append(p.errs, Diagnostic{Severity: SevAlert, Msg: "no configuration file given (use -f)"})
	}
	return build(files, p, opts)
}

// build is the validation pass: it turns the parsed sections into the
// typed model.
func build(files []string, p *parser, opts LoadOptions) (*Config, error) {
	opts.LookupEnv = p.lookupEnv
	b := newBuilder(opts)
	b.cfg.Files = files
	b.errs = append(b.errs, p.errs...)
	b.cfg.Warnings = append(b.cfg.Warnings, p.warns...)
	for _, s := range p.sections {
		if s.Header != nil {
			b.openSection(s.Kind, s.Header)
		}
		for _, ln := range s.Lines {
			b.defPath.file = ln.Pos.File
			if b.defPath.mode != "" {
				l := *ln
				l.Words = b.pathWords(ln.Words)
				ln = &l
			}
			b.line(ln)
		}
	}
	b.finish()
	if len(b.errs) > 0 {
		return b.cfg, &ErrorList{Errs: b.errs}
	}
	return b.cfg, nil
}

// LoadString parses configuration text as if read from a file called name.
// It is meant for tests and tools.
func LoadString(name, text string, opts LoadOptions) (*Config, error) {
	opts = defaultOpts(opts)
	p := &parser{lookupEnv: opts.LookupEnv}
	p.file(name, text)
	return build([]string{name}, p, opts)
}

func defaultOpts(o LoadOptions) LoadOptions {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Resolve == nil {
		o.Resolve = func(host string) error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := net.DefaultResolver.LookupHost(ctx, host)
			return err
		}
	}
	if o.ResolveAddrs == nil {
		o.ResolveAddrs = func(host string) ([]netip.Addr, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if o.ResolvConf == "" {
		o.ResolvConf = "/etc/resolv.conf"
	}
	return o
}

func unwrapPathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, fs.ErrNotExist) {
			return "No such file or directory"
		}
		if errors.Is(pe.Err, fs.ErrPermission) {
			return "Permission denied"
		}
		return pe.Err.Error()
	}
	return err.Error()
}

func expandPath(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("Cannot open configuration file/directory %s : %s", p, unwrapPathErr(err))
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("Cannot open configuration file/directory %s : %s", p, unwrapPathErr(err))
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".cfg") {
			out = append(out, filepath.Join(p, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// sectionKind identifies a configuration section.
type sectionKind int

const (
	secNone sectionKind = iota
	secGlobal
	secDefaults
	secFrontend
	secBackend
	secListen
	secUserlist
	secHTTPErrors
	secCache
	secResolvers
	secUnsupported
)

var sectionNames = map[string]sectionKind{
	"global": secGlobal, "defaults": secDefaults, "frontend": secFrontend, "backend": secBackend,
	"listen": secListen, "userlist": secUserlist, "http-errors": secHTTPErrors,
	"peers": secUnsupported, "resolvers": secResolvers, "ring": secUnsupported, "cache": secCache,
	"program": secUnsupported, "mailers": secUnsupported, "log-forward": secUnsupported,
	"fcgi-app": secUnsupported, "dynamic-update": secUnsupported, "traces": secUnsupported,
}

// builder holds parsing state across files.
type builder struct {
	opts LoadOptions
	cfg  *Config
	errs []Diagnostic

	sec        sectionKind
	secName    string
	px         *Proxy // current frontend/backend/listen/defaults
	defaults   *Proxy // last anonymous or named defaults, inherited by the next proxies
	named      map[string]*Proxy
	userlist   *Userlist
	cache      *Cache // the cache section being parsed
	httpErrors map[string]map[int]string
	curErrors  map[int]string
	resolvers  *Resolvers // the resolvers section being parsed
	proxyPos   map[*Proxy]Pos
	aclChecks  aclChecks  // userlists and -u ids named by ACLs, checked across the configuration
	stickRefs  []stickRef // stick tables named by fetches, checked across the configuration
	// deferred checks done in finish, on fully parsed proxies
	optNeg bool // the option being parsed was written "no option"

	defPath defaultPath // global default-path: how relative file names resolve
}

func newBuilder(opts LoadOptions) *builder {
	b := &builder{
		opts:       opts,
		cfg:        &Config{Userlist: map[string]*Userlist{}, Caches: map[string]*Cache{}},
		named:      map[string]*Proxy{},
		httpErrors: map[string]map[int]string{},
		proxyPos:   map[*Proxy]Pos{},
	}
	b.cfg.Global.TuneBufSize = 16384
	b.cfg.Global.TuneMaxHdr = 101
	b.cfg.Global.TuneCompMaxLevel = 1
	b.cfg.Global.UID, b.cfg.Global.GID = -1, -1
	b.cfg.Global.TuneMaxRewrite = 1024
	b.defaults = newDefaults()
	return b
}

// newDefaults returns HAProxy's built-in defaults.
func newDefaults() *Proxy {
	return &Proxy{
		Name:    "",
		Retries: 3,
		RetryOn: RetryConnFailure,
		Balance: Balance{Algo: AlgoRoundRobin, Draws: 2},
		Check:   CheckSpec{Kind: CheckL4},
	}
}

func (b *builder) errorf(pos Pos, format string, args ...any) {
	b.errs = append(b.errs, Diagnostic{Pos: pos, Severity: SevAlert, Msg: fmt.Sprintf(format, args...)})
}

func (b *builder) warnf(pos Pos, format string, args ...any) {
	b.cfg.Warnings = append(b.cfg.Warnings, Diagnostic{Pos: pos, Severity: SevWarning, Msg: fmt.Sprintf(format, args...)})
}

// condState tracks one .if/.elif/.else/.endif level.
type condState struct {
	pos      Pos
	active   bool // the current branch is taken
	taken    bool // a branch was already taken
	parentOn bool
	inElse   bool
}

// Version is the HAProxy version halo reports to version predicates; halo
// implements the configuration language of HAProxy 2.6.
const Version = "2.6.0"

func compareVersion(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(pa) {
			fmt.Sscanf(pa[i], "%d", &x)
		}
		if i < len(pb) {
			fmt.Sscanf(pb[i], "%d", &y)
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (b *builder) openSection(k sectionKind, ln *Line) {
	b.sec, b.px, b.userlist, b.curErrors, b.cache = k, nil, nil, nil, nil
	w := ln.Words
	b.secName = w[0]
	switch k {
	case secGlobal:
		if len(w) > 1 {
			b.errorf(ln.Pos, "'global' takes no argument")
		}
	case secDefaults, secFrontend, secBackend, secListen:
		b.openProxy(k, ln)
	case secUserlist:
		if len(w) != 2 {
			b.errorf(ln.Pos, "'userlist' expects <name> as argument")
			return
		}
		if _, dup := b.cfg.Userlist[w[1]]; dup {
			b.errorf(ln.Pos, "userlist '%s' is already defined", w[1])
		}
		b.userlist = &Userlist{Name: w[1], Pos: ln.Pos, Users: map[string]*User{}, Groups: map[string][]string{}}
		b.cfg.Userlist[w[1]] = b.userlist
	case secHTTPErrors:
		if len(w) != 2 {
			b.errorf(ln.Pos, "'http-errors' expects <name> as argument")
			return
		}
		b.curErrors = map[int]string{}
		b.httpErrors[w[1]] = b.curErrors
	case secCache:
		b.openCache(ln)
	case secResolvers:
		b.openResolvers(ln)
	case secUnsupported:
		b.errorf(ln.Pos, "section '%s' is recognised but not supported by halo yet", w[0])
	}
}

func (b *builder) openProxy(k sectionKind, ln *Line) {
	w := ln.Words
	name := ""
	from := ""
	args := w[1:]
	if len(args) > 0 && args[0] != "from" {
		name, args = args[0], args[1:]
	}
	if len(args) >= 1 && args[0] == "from" {
		if len(args) != 2 {
			b.errorf(ln.Pos, "'from' expects the name of a defaults section")
			return
		}
		from = args[1]
		args = args[2:]
	}
	if len(args) > 0 {
		b.errorf(ln.Pos, "unexpected argument '%s' after the name of the '%s' section", args[0], w[0])
	}
	base := b.defaults
	if from != "" {
		d, ok := b.named[from]
		if !ok {
			b.errorf(ln.Pos, "defaults section '%s' not found for %s '%s'", from, w[0], name)
		} else {
			base = d
		}
	}
	if k != secDefaults && name == "" {
		b.errorf(ln.Pos, "'%s' expects <name> as argument", w[0])
		name = fmt.Sprintf("<unnamed@%d>", ln.Pos.Line)
	}
	px := cloneProxy(base)
	px.Name, px.Pos = name, ln.Pos
	switch k {
	case secDefaults:
		px.Cap = 0
		b.defaults = px
		if name != "" {
			b.named[name] = px
		}
	case secFrontend:
		px.Cap = CapFrontend
	case secBackend:
		px.Cap = CapBackend
	case secListen:
		px.Cap = CapListen
	}
	if k != secDefaults {
		for _, o := range b.cfg.Proxies {
			if o.Name == name && (o.Cap&px.Cap != 0) {
				b.errorf(ln.Pos, "%s '%s' has the same name as %s '%s' declared at %s", capName(px.Cap), name, capName(o.Cap), name, o.Pos)
			}
		}
		px.ACLs = acl.NewSet()
		px.ACLs.Resolve = resolveACLHost
		px.ID = 0 // numbered in finish, after explicit `id` lines
		b.cfg.Proxies = append(b.cfg.Proxies, px)
	}
	b.px = px
}

func capName(c Cap) string {
	switch c {
	case CapFrontend:
		return "frontend"
	case CapBackend:
		return "backend"
	case CapListen:
		return "listen"
	}
	return "defaults"
}

// cloneProxy copies the inheritable settings of a defaults section.
func cloneProxy(d *Proxy) *Proxy {
	p := *d
	p.Binds, p.Servers, p.UseBackends, p.TCPRequest = nil, nil, nil, nil
	p.HTTPRequest = append([]*HTTPRule(nil), d.HTTPRequest...)
	p.HTTPResponse = append([]*HTTPRule(nil), d.HTTPResponse...)
	p.HTTPAfterResponse = append([]*HTTPRule(nil), d.HTTPAfterResponse...)
	p.Redirects = nil
	p.Captures = nil
	p.DefaultBackend = nil
	p.Check.TCPSteps = append([]TCPCheckStep(nil), d.Check.TCPSteps...)
	p.Check.HTTP.Headers = append([][2]string(nil), d.Check.HTTP.Headers...)
	p.Logs = append([]LogTarget(nil), d.Logs...)
	if d.ErrorFiles != nil {
		p.ErrorFiles = map[int]string{}
		for k, v := range d.ErrorFiles {
			p.ErrorFiles[k] = v
		}
	}
	if d.DefaultServer != nil {
		ds := *d.DefaultServer
		p.DefaultServer = &ds
	}
	if d.Stats != nil {
		st := *d.Stats
		p.Stats = &st
	}
	if d.ForwardFor != nil {
		f := *d.ForwardFor
		p.ForwardFor = &f
	}
	p.Compression = d.Compression.clone()
	if d.Cookie != nil {
		c := *d.Cookie
		p.Cookie = &c
	}
	return &p
}

// line dispatches a statement to the current section's keyword table.
func (b *builder) line(ln *Line) {
	switch b.sec {
	case secNone:
		b.errorf(ln.Pos, "unknown keyword '%s' out of section%s", ln.Words[0], suggest.Hint(ln.Words[0], []string{"global", "defaults", "frontend", "backend", "listen", "userlist"}))
	case secGlobal:
		b.globalLine(ln)
	case secDefaults, secFrontend, secBackend, secListen:
		if b.px == nil {
			return
		}
		b.proxyLine(ln)
	case secUserlist:
		if b.userlist != nil {
			b.userlistLine(ln)
		}
	case secHTTPErrors:
		b.httpErrorsLine(ln)
	case secCache:
		if b.cache != nil {
			b.dispatch(cacheKeywords, ln, "cache")
		}
	case secResolvers:
		if b.resolvers != nil {
			b.resolversLine(ln)
		}
	case secUnsupported:
		// One error was reported on the section line.
	}
}

func (b *builder) userlistLine(ln *Line) {
	w := ln.Words
	ul := b.userlist
	switch w[0] {
	case "group":
		if len(w) < 2 {
			b.errorf(ln.Pos, "'group' expects <name> as argument")
			return
		}
		var users []string
		for i := 2; i+1 < len(w); i += 2 {
			if w[i] != "users" {
				b.errorf(ln.Pos, "'group' only supports the 'users' option, got '%s'", w[i])
				return
			}
			users = append(users, strings.Split(w[i+1], ",")...)
		}
		ul.Groups[w[1]] = append(ul.Groups[w[1]], users...)
	case "user":
		if len(w) < 2 {
			b.errorf(ln.Pos, "'user' expects <name> as argument")
			return
		}
		u := &User{Name: w[1]}
		for i := 2; i < len(w); i++ {
			switch w[i] {
			case "password", "insecure-password":
				if i+1 >= len(w) {
					b.errorf(ln.Pos, "'%s' expects a value", w[i])
					return
				}
				u.Password, u.Insecure = w[i+1], w[i] == "insecure-password"
				if !u.Insecure {
					if err := crypt.Check(u.Password); err != nil {
						b.errorf(ln.Pos, "user '%s' in userlist '%s': %v", u.Name, ul.Name, err)
						return
					}
				}
				i++
			case "groups":
				if i+1 >= len(w) {
					b.errorf(ln.Pos, "'groups' expects a comma-separated list")
					return
				}
				u.Groups = strings.Split(w[i+1], ",")
				i++
			default:
				b.errorf(ln.Pos, "'user' only supports 'password', 'insecure-password' and 'groups', got '%s'", w[i])
				return
			}
		}
		if _, dup := ul.Users[u.Name]; dup {
			b.errorf(ln.Pos, "user '%s' is already defined in userlist '%s'", u.Name, ul.Name)
		}
		ul.Users[u.Name] = u
	default:
		b.errorf(ln.Pos, "unknown keyword '%s' in 'userlist' section%s", w[0], suggest.Hint(w[0], []string{"user", "group"}))
	}
}

func (b *builder) httpErrorsLine(ln *Line) {
	w := ln.Words
	if w[0] != "errorfile" {
		b.errorf(ln.Pos, "unknown keyword '%s' in 'http-errors' section%s", w[0], suggest.Hint(w[0], []string{"errorfile"}))
		return
	}
	if len(w) != 3 {
		b.errorf(ln.Pos, "'errorfile' expects <status_code> and <file> as arguments")
		return
	}
	code, err := parseErrorFile(w[1], b.path(w[2]))
	if err != nil {
		b.errorf(ln.Pos, "%v", err)
		return
	}
	if b.curErrors != nil {
		b.curErrors[code] = b.path(w[2])
	}
}

// errorFileCodes are the statuses HAProxy accepts for errorfile.
var errorFileCodes = map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 405: true, 407: true, 408: true, 410: true, 413: true, 425: true, 429: true, 500: true, 501: true, 502: true, 503: true, 504: true}

func parseErrorFile(codeStr, file string) (int, error) {
	code, err := parseInt(codeStr, 100, 599)
	if err != nil || !errorFileCodes[code] {
		return 0, fmt.Errorf("status code '%s' cannot be overridden by errorfile (supported: 200 400 401 403 404 405 407 408 410 413 425 429 500 501 502 503 504)", codeStr)
	}
	st, err := os.Stat(file)
	if err != nil {
		return 0, fmt.Errorf("error opening file <%s>: %s", file, unwrapPathErr(err))
	}
	if st.Size() > 16384 {
		return 0, fmt.Errorf("errorfile <%s> is larger than tune.bufsize (16384 bytes)", file)
	}
	return code, nil
}
