package config

// This file holds the validated, typed model that the parser and the
// validation pass produce from haproxy.cfg text. Runtime code (proxy,
// balance, health, ...) consumes only these types: it never sees raw
// configuration words.

import (
	"fmt"
	"regexp"
	"time"

	"github.com/halo-lb/halo/internal/acl"
)

// Pos is a position in a configuration file.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Config is a whole validated configuration.
type Config struct {
	Files    []string // configuration files in load order
	Global   Global
	Proxies  []*Proxy // frontends, backends and listens in file order
	Userlist map[string]*Userlist
	// Warnings are non-fatal diagnostics, as HAProxy prints with [WARNING].
	Warnings []Diagnostic
}

// Frontends returns the proxies that accept connections.
func (c *Config) Frontends() []*Proxy { return c.withCap(CapFrontend) }

// Backends returns the proxies that hold servers.
func (c *Config) Backends() []*Proxy { return c.withCap(CapBackend) }

// Proxy returns the proxy called name with capability cap, or nil.
func (c *Config) Proxy(name string, cap Cap) *Proxy {
	for _, p := range c.Proxies {
		if p.Name == name && p.Cap&cap != 0 {
			return p
		}
	}
	return nil
}

func (c *Config) withCap(cap Cap) []*Proxy {
	var out []*Proxy
	for _, p := range c.Proxies {
		if p.Cap&cap != 0 {
			out = append(out, p)
		}
	}
	return out
}

// Severity of a diagnostic.
type Severity int

// Diagnostic severities, in HAProxy's wording.
const (
	SevNotice Severity = iota
	SevWarning
	SevAlert
)

// Diagnostic is one message about the configuration, with its position
// when it concerns a line (Pos.Line == 0 otherwise).
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
}

func (d Diagnostic) Error() string {
	if d.Pos.Line > 0 {
		return fmt.Sprintf("%s: %s", d.Pos, d.Msg)
	}
	return d.Msg
}

// Global is the typed content of the global section.
type Global struct {
	MaxConn         int // 0 means HAProxy's default (derived from ulimit); halo uses DefaultGlobalMaxConn
	Daemon          bool
	PidFile         string
	Node            string
	Description     string
	NbThread        int
	SpreadChecks    int // percent, 0..50
	CABase          string
	CRTBase         string
	User, Group     string
	Chroot          string
	HardStopAfter   time.Duration
	TuneBufSize     int // tune.bufsize, default 16384
	TuneMaxHdr      int // tune.http.maxhdr, default 101
	Logs            []LogTarget
	LogTag          string
	LogSendHostname *string
	SetEnv          []EnvOp // setenv/presetenv/unsetenv/resetenv, applied in order while parsing
	MasterWorker    bool
	ZeroWarning     bool
}

// EnvOp is a global setenv/presetenv/unsetenv/resetenv line.
type EnvOp struct {
	Op, Name, Value string
}

// LogTarget is a parsed `log` line.
type LogTarget struct {
	Pos      Pos
	Global   bool   // `log global`
	Address  string // "127.0.0.1:514", "/dev/log", "stdout", ...
	Len      int
	Format   string
	Facility string
	MaxLevel string
	MinLevel string
}

// Cap says what a proxy does.
type Cap uint8

// Proxy capabilities: a frontend accepts, a backend forwards; a listen
// section does both.
const (
	CapFrontend Cap = 1 << iota
	CapBackend
	CapListen = CapFrontend | CapBackend
)

// Mode is a proxy's protocol mode.
type Mode int

// Proxy modes.
const (
	ModeTCP Mode = iota
	ModeHTTP
)

func (m Mode) String() string {
	if m == ModeHTTP {
		return "http"
	}
	return "tcp"
}

// Proxy is a frontend, a backend or a listen section.
type Proxy struct {
	Name string
	Pos  Pos
	Cap  Cap
	Mode Mode
	ID   int // numeric id (iid), 1-based in declaration order unless `id` is set

	Disabled bool
	MaxConn  int // frontend maxconn; 0 = defaults/global
	Timeouts Timeouts
	Options  Options

	// Frontend side.
	Binds          []*Bind
	ACLs           *acl.Set
	DefaultBackend *BackendRef
	UseBackends    []*UseBackend
	TCPRequest     []*TCPRule // tcp-request connection/content rules
	InspectDelay   time.Duration

	// Backend side.
	Balance       Balance
	Servers       []*Server
	Retries       int // default 3
	Redispatch    int // 0 = off; N = redispatch on every Nth retry (option redispatch = 1)
	FullConn      int
	Check         CheckSpec
	DefaultServer *Server // the resolved default-server line, if any
}

// Options are the `option` keywords of a proxy.
type Options struct {
	AllBackups        bool
	LogHealthChecks   bool
	DontLogNull       bool
	DontLogNormal     bool
	TCPLog            bool
	HTTPLog           bool
	HTTPLogCLF        bool
	HTTPSLog          bool
	LogSeparateErrors bool
	TCPKeepAlive      bool
	ClientKeepAlive   bool
	ServerKeepAlive   bool
	SpliceAuto        bool
}

// Timeouts of a proxy; zero means unset.
type Timeouts struct {
	Connect       time.Duration
	Client        time.Duration
	Server        time.Duration
	Queue         time.Duration
	Tunnel        time.Duration
	ClientFin     time.Duration
	ServerFin     time.Duration
	Check         time.Duration
	HTTPRequest   time.Duration
	HTTPKeepAlive time.Duration
	Tarpit        time.Duration
}

// Bind is one listening address of a frontend (a bind line can yield
// several when it lists addresses separated by commas or a port range).
type Bind struct {
	Pos Pos
	// Network is "tcp", "tcp4", "tcp6", "unix" or "fd".
	Network string
	// Host is the address to bind ("" for any address).
	Host string
	// PortLow..PortHigh is the port range (equal for a single port).
	PortLow, PortHigh int
	// FD is an inherited file descriptor for `fd@N` / `fd@${NAME}`.
	FD          int
	Path        string // unix socket path
	Name        string
	Transparent bool
	FreeBind    bool
	V4V6        bool
	V6Only      bool
	Backlog     int
	MaxConn     int
	Interface   string
	Mode        uint32 // unix socket permission bits, 0 = default
	AcceptProxy bool
	SSL         *BindSSL
	ALPN        []string
	Proto       string // "h2" for `proto h2`
}

// BindSSL holds the TLS settings of a bind line (termination).
type BindSSL struct {
	Certs      []string // crt files or directories, resolved against crt-base
	CRTLists   []string
	CAFile     string
	CRLFile    string
	Verify     string // none | optional | required
	MinVer     string
	MaxVer     string
	NoVersions []string // no-sslv3, no-tlsv10, ...
	Ciphers    string
	Suites     string
}

// BackendRef names a backend from a frontend.
type BackendRef struct {
	Pos     Pos
	Name    string // literal name, or "" when Format is set
	Format  string // log-format name such as "be_%[req.hdr(host),lower]"; resolved at run time
	Backend *Proxy // resolved target when Name is literal
}

// UseBackend is a `use_backend <name> [if|unless cond]` rule.
type UseBackend struct {
	BackendRef
	Cond *acl.Cond // nil means always
}

// TCPRule is a tcp-request connection|content rule.
type TCPRule struct {
	Pos    Pos
	Layer  string // "connection" or "content"
	Action string // accept | reject
	Cond   *acl.Cond
}

// Algo is a load-balancing algorithm.
type Algo int

// Balancing algorithms.
const (
	AlgoRoundRobin Algo = iota
	AlgoStaticRR
	AlgoLeastConn
	AlgoFirst
	AlgoSource
	AlgoRandom
	AlgoURI
	AlgoURLParam
	AlgoHdr
)

var algoNames = [...]string{"roundrobin", "static-rr", "leastconn", "first", "source", "random", "uri", "url_param", "hdr"}

func (a Algo) String() string { return algoNames[a] }

// HashType is the hash-type setting of a backend.
type HashType int

// Hash types.
const (
	HashMapBased HashType = iota
	HashConsistent
)

// Balance is a backend's `balance` and `hash-type` settings.
type Balance struct {
	Algo      Algo
	Draws     int // random(<draws>), default 2
	HashType  HashType
	HashFunc  string // sdbm (default), djb2, wt6, crc32, none
	Avalanche bool
	// HTTP algorithms' parameters.
	Param         string // url_param name, hdr name
	URIWhole      bool
	URILen        int
	URIDepth      int
	URIPathOnly   bool
	UseDomainOnly bool
}

// Server is a server line after default-server has been applied.
type Server struct {
	Pos  Pos
	ID   int // 1-based, in declaration order unless `id` is set
	Name string
	// Host and Port are the address to connect to. Port 0 means "same as
	// the port the client connected to"; PortOffset carries `+N`/`-N`.
	Host       string
	Port       int
	PortOffset int
	PortMap    bool // port was written "+N" or "-N"

	Weight      int // 0..256, default 1
	Backup      bool
	Disabled    bool
	MaxConn     int
	MaxQueue    int
	MinConn     int
	Cookie      string
	SendProxy   bool
	SendProxyV2 bool

	// Health checking.
	Check        bool
	CheckAddr    string
	CheckPort    int
	Inter        time.Duration // default 2s
	FastInter    time.Duration // default Inter
	DownInter    time.Duration // default Inter
	Rise         int           // default 2
	Fall         int           // default 3
	SlowStart    time.Duration
	Observe      string
	OnMarkedDown string
	CheckSSL     bool

	SSL *ServerSSL
}

// ServerSSL holds the TLS settings of a server line.
type ServerSSL struct {
	Enabled    bool
	Verify     string // none | required
	CAFile     string
	CRT        string
	SNI        string
	VerifyHost string
	ALPN       []string
	NoVersions []string
	MinVer     string
	MaxVer     string
}

// CheckKind is the kind of health check a backend runs.
type CheckKind int

// Health check kinds.
const (
	CheckL4   CheckKind = iota // plain TCP connect
	CheckTCP                   // option tcp-check with tcp-check rules
	CheckHTTP                  // option httpchk
)

// CheckSpec is a backend's health-check program.
type CheckSpec struct {
	Kind     CheckKind
	TCPSteps []TCPCheckStep
	HTTP     HTTPCheck
}

// TCPCheckAction is a tcp-check rule's verb.
type TCPCheckAction int

// tcp-check rule verbs.
const (
	TCPCheckConnect TCPCheckAction = iota
	TCPCheckSend
	TCPCheckExpect
	TCPCheckComment
)

// MatchKind is what an expect rule compares.
type MatchKind int

// Expect match kinds.
const (
	MatchString MatchKind = iota
	MatchRString
	MatchBinary
	MatchStatus
	MatchRStatus
)

// TCPCheckStep is one tcp-check rule.
type TCPCheckStep struct {
	Pos     Pos
	Action  TCPCheckAction
	Port    int    // connect port (0 = server's check port)
	Addr    string // connect addr
	SSL     bool
	Data    []byte // send / send-binary payload
	Match   MatchKind
	Negate  bool
	Pattern []byte         // string / binary pattern
	Regexp  *regexp.Regexp // rstring
	Comment string
}

// HTTPCheck is `option httpchk` plus `http-check` rules.
type HTTPCheck struct {
	Method       string // default OPTIONS
	URI          string // default /
	Version      string // default HTTP/1.0
	Headers      [][2]string
	Body         string
	Expect       *HTTPExpect // nil: 2xx and 3xx pass
	DisableOn404 bool
}

// HTTPExpect is an `http-check expect` rule.
type HTTPExpect struct {
	Pos    Pos
	Negate bool
	Match  MatchKind // MatchStatus, MatchRStatus, MatchString, MatchRString
	Value  string
	Regexp *regexp.Regexp
}

// Userlist is a userlist section.
type Userlist struct {
	Name   string
	Pos    Pos
	Users  map[string]*User
	Groups map[string][]string
}

// User is a userlist user.
type User struct {
	Name     string
	Password string // clear text when Insecure, crypt(3) hash otherwise
	Insecure bool
	Groups   []string
}
