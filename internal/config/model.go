package config

// This file holds the validated, typed model that the parser and the
// validation pass produce from haproxy.cfg text. Runtime code (proxy,
// balance, health, ...) consumes only these types: it never sees raw
// configuration words.

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/logging"
	"github.com/halo-lb/halo/internal/tlsx"
)

// Pos is a position in a configuration file.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Config is a whole validated configuration.
type Config struct {
	Files []string // configuration files in load order
	// Certs holds the certificate files the TLS lines load, for the
	// runtime API's set/commit ssl cert.
	Certs    *tlsx.Registry
	Global   Global
	Proxies  []*Proxy // frontends, backends and listens in file order
	Userlist map[string]*Userlist
	// Caches are the `cache` sections by name.
	Caches map[string]*Cache
	// Resolvers are the resolvers sections, in file order.
	Resolvers []*Resolvers
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
	MaxConn          int // 0 means HAProxy's default (derived from ulimit); halo uses DefaultGlobalMaxConn
	Daemon           bool
	PidFile          string
	Node             string
	Description      string
	NbThread         int
	SpreadChecks     int  // percent, 0..50
	ExternalCheck    bool // global external-check: commands may run as checks
	InsecureFork     bool // insecure-fork-wanted
	CABase           string
	CRTBase          string
	User, Group      string
	UID, GID         int // -1: keep halo's own (user/uid, group/gid)
	Chroot           string
	HardStopAfter    time.Duration
	TuneBufSize      int // tune.bufsize, default 16384
	TuneMaxHdr       int // tune.http.maxhdr, default 101
	TuneCompMaxLevel int // tune.comp.maxlevel, 1..9, default 1
	TuneMaxRewrite   int // tune.maxrewrite, default 1024
	Logs             []LogTarget
	LogTag           string
	LogSendHostname  *string
	SetEnv           []EnvOp // setenv/presetenv/unsetenv/resetenv, applied in order while parsing
	MasterWorker     bool
	ZeroWarning      bool
	Quiet            bool // global `quiet`, as -q
	StatsSockets     []StatsSocket
	ServerStateFile  string
	ServerStateBase  string
	StatsTimeout     time.Duration
	// TLS defaults applied to bind and server lines that do not say otherwise.
	SSLBindOptions   []string
	SSLBindCiphers   string
	SSLBindSuites    string
	SSLServerOptions []string
	SSLServerCiphers string
	SSLServerSuites  string
	SSLServerVerify  string // ssl-server-verify: "" (required) or none
}

// HeadLimit is the largest HTTP message head accepted: tune.bufsize minus
// tune.maxrewrite, which HAProxy caps at half of the buffer.
func (g *Global) HeadLimit() int {
	rw := g.TuneMaxRewrite
	if rw > g.TuneBufSize/2 {
		rw = g.TuneBufSize / 2
	}
	return g.TuneBufSize - rw
}

// StatsSocket is a `stats socket` line: the runtime API.
type StatsSocket struct {
	Pos      Pos
	Network  string // "unix" or "tcp"
	Address  string
	Mode     uint32
	Level    string // user | operator | admin
	ExposeFD bool
	UID, GID int // owner of a unix socket, -1 to keep halo's
	MaxConn  int // concurrent connections, 0 for no limit
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
	Spec     logging.TargetSpec // the typed target
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
	StickTable     *StickTable // the proxy's stick-table, nil: none

	// HTTP processing (mode http).
	HTTPRequest    []*HTTPRule
	HTTPResponse   []*HTTPRule
	Redirects      []*HTTPRule // `redirect` keyword rules, evaluated after http-request
	Captures       []Capture
	MonitorURI     string
	ErrorFiles     map[int]string // status -> raw HTTP response file
	ErrorFilesFrom []string       // `errorfiles <http-errors section>`
	ErrorPages     map[int][]byte // status -> complete response, from ErrorFiles and ErrorFilesFrom
	ForwardFor     *ForwardFor
	OriginalTo     *ForwardFor
	HTTPConnMode   HTTPConnMode
	HTTPReuse      string // safe (default), never, aggressive, always
	Cookie         *Cookie
	Compression    *Compression // `compression` lines; nil: none
	Stats          *Stats
	Description    string

	// HTTPAfterResponse are the http-after-response rules: run on every
	// response, halo's own too, after the http-response rules.
	HTTPAfterResponse []*HTTPRule

	// Logging.
	Logs      []LogTarget // includes the `log global` marker entry when set
	NoLog     bool
	LogFormat string // explicit log-format, "" when an option selects a format
	// LogFormatPos is where the explicit log-format was written.
	LogFormatPos Pos
	// LogFmt is the traffic log format in effect (log-format, or the one
	// option tcplog/httplog/httpslog selects, or HAProxy's default).
	LogFmt *Format
	// LogAtAccept: the legacy "Connect from" line is logged when a
	// connection is accepted, not when it ends.
	LogAtAccept bool

	// Backend side.
	Balance       Balance
	Servers       []*Server
	Retries       int // default 3
	RetryOn       RetryOn
	RetryOnPos    Pos // where retry-on was set (zero: HAProxy's default, conn-failure)
	Redispatch    int // 0 = off; N > 0: on every Nth retry; N < 0: on the Nth retry before the last (option redispatch = -1: the last)
	FullConn      int
	Check         CheckSpec
	DefaultServer *Server // the resolved default-server line, if any
	StateFrom     string  // load-server-state-from-file: global, local, none ("" = none)
	StateFileName string  // server-state-file-name
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
	PreferLastServer  bool
	AbortOnClose      bool
	HTTPIgnoreProbes  bool
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
	NoTickets  bool
	StrictSNI  bool
	// CAIgnore and CRTIgnore are ca-ignore-err and crt-ignore-err.
	CAIgnore, CRTIgnore tlsx.IgnoreSet
	// Config is the listener's TLS configuration built from the above.
	Config *tls.Config

	// CRTListBase is the directory of the relative names in CRTLists.
	CRTListBase string
}

// BackendRef names a backend from a frontend.
type BackendRef struct {
	Pos     Pos
	Name    string // literal name, or "" when Format is set
	Format  string // log-format name such as "be_%[req.hdr(host),lower]"; resolved at run time
	NameFmt *Format
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
	Action string // accept | reject | stick (Stick says which)
	Stick  *StickAction
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
	SendProxy   bool // PROXY protocol v1 header on server connections
	SendProxyV2 bool // version 2

	// Health checking.
	Check     bool
	CheckAddr string
	CheckPort int
	Inter     time.Duration // default 2s
	FastInter time.Duration // default Inter
	DownInter time.Duration // default Inter
	Rise      int           // default 2
	Fall      int           // default 3
	CheckSSL  bool
	CheckSNI  string   // check-sni: the SNI of TLS health checks
	CheckALPN []string // check-alpn; nil means the server's alpn
	// CheckSendProxy: checks send a PROXY protocol header even when they
	// do not go to the server's own address.
	CheckSendProxy bool

	// SlowStart is the ramp-up after the server comes back UP: its weight
	// (dynamic algorithms) and its connection limit grow from a minimum
	// to 100% over this time. 0 disables it.
	SlowStart time.Duration
	// Observe enables passive health (observe layer4|layer7): ErrorLimit
	// consecutive errors seen on live traffic trigger OnError.
	Observe    Observe
	OnError    OnError
	ErrorLimit int // default 10
	// ShutdownOnDown is `on-marked-down shutdown-sessions`: the server's
	// sessions are closed when it goes DOWN.
	ShutdownOnDown bool
	// ShutdownBackupsOnUp is `on-marked-up shutdown-backup-sessions`: the
	// sessions of every backup server are closed when this active server
	// comes UP.
	ShutdownBackupsOnUp bool

	SSL *ServerSSL

	// DNS: resolvers, resolve-*, init-addr.
	DNS ServerDNS
	// FQDN is the host name of a server whose address is found at
	// start-up (init-addr) or at run time (resolvers); Host is then the
	// first address, "" when there is none yet (InitMaint).
	FQDN string
	// InitMaint: no address at start-up (init-addr none): the server
	// starts in maintenance until the resolvers find one.
	InitMaint bool
	// SRVRecord is the SRV name of a server-template ("_svc._proto.name").
	SRVRecord string
	Template  bool // created by server-template
}

// Observe is a server's passive health mode.
type Observe int

// Observe modes.
const (
	ObserveNone   Observe = iota
	ObserveLayer4         // connection failures to the server
	ObserveLayer7         // HTTP answers too: 5xx (but 501 and 505), invalid or missing responses
)

// OnError is what passive health does after ErrorLimit consecutive errors.
type OnError int

// on-error modes; every one also forces the fastinter check interval.
const (
	OnErrorFailCheck   OnError = iota // count one failed check (default)
	OnErrorFastInter                  // only check at fastinter
	OnErrorSuddenDeath                // leave the server one failed check from DOWN
	OnErrorMarkDown                   // mark the server DOWN at once
)

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
	Ciphers    string
	Suites     string
	NoReuse    bool // no-ssl-reuse: no session resumption
	NoTickets  bool // no-tls-tickets
	// Client builds the TLS configuration of each connection from the
	// above; Config is its configuration for the fixed SNI (FixedSNI).
	// SNIExpr is the sni expression when it depends on the request.
	Client   *tlsx.Client
	Config   *tls.Config
	FixedSNI string
	SNIExpr  *acl.Sample
}

// CheckKind is the kind of health check a backend runs.
type CheckKind int

// Health check kinds.
const (
	CheckL4       CheckKind = iota // plain TCP connect
	CheckTCP                       // option tcp-check with tcp-check rules
	CheckHTTP                      // option httpchk
	CheckExternal                  // option external-check: a command's exit status
)

// CheckSpec is a backend's health-check program.
type CheckSpec struct {
	Kind     CheckKind
	TCPSteps []TCPCheckStep
	HTTP     HTTPCheck
	External ExternalCheck
}

// ExternalCheck is `external-check command|path` with where `option
// external-check` was set.
type ExternalCheck struct {
	Command string // run with <proxy addr> <proxy port> <server addr> <server port>
	Path    string // PATH of the command's environment (HAProxy's default: empty)
	Pos     Pos    // the `option external-check` line
	CmdPos  Pos    // the `external-check command` line
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
	MatchBinaryAt // Pattern at byte Offset of the response
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
	Offset  int            // MatchBinaryAt
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
	ConnectSSL   bool // http-check connect ssl
	ConnectPort  int  // http-check connect port
}

// HTTPExpect is an `http-check expect` rule.
type HTTPExpect struct {
	Pos     Pos
	Negate  bool
	Match   MatchKind // MatchStatus, MatchRStatus, MatchString, MatchRString
	Value   string
	Regexp  *regexp.Regexp
	Comment string // shown in failure reasons
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

// HTTPConnMode is the connection mode of an HTTP proxy.
type HTTPConnMode int

// HTTP connection modes.
const (
	HTTPKeepAlive   HTTPConnMode = iota // option http-keep-alive (default)
	HTTPServerClose                     // option http-server-close
	HTTPClose                           // option httpclose
)

// ForwardFor is `option forwardfor` / `option originalto`.
type ForwardFor struct {
	Except    string       // network excluded, "" for none
	ExceptNet netip.Prefix // parsed Except
	Header    string       // default X-Forwarded-For / X-Original-To
	IfNone    bool
}

// Cookie is a backend's `cookie` persistence setting.
type Cookie struct {
	Name     string
	Mode     string // insert | rewrite | prefix
	Indirect bool
	NoCache  bool
	PostOnly bool
	HTTPOnly bool
	Secure   bool
	Domain   []string
	Attrs    []string // attr values, appended to inserted cookies
	MaxIdle  time.Duration
	MaxLife  time.Duration
	Preserve bool
}

// Capture is a `capture request|response header` line.
type Capture struct {
	Pos      Pos
	Response bool
	Header   string // "" for a slot an http-request capture rule fills
	Len      int
}

// Stats is the statistics page of a proxy.
type Stats struct {
	Pos         Pos
	Enabled     bool
	URI         string // default /haproxy?stats
	Refresh     time.Duration
	ShowNode    bool
	NodeName    string // explicit name given to show-node, "" = global node
	ShowLegends bool
	ShowDesc    string
	HideVersion bool
	Realm       string
	Auth        []StatsUser
	Admin       []*acl.Cond
	Scope       []string
}

// StatsUser is a `stats auth user:pass` entry.
type StatsUser struct{ User, Password string }

// HTTPAction is an http-request/http-response verb.
type HTTPAction int

// HTTP rule actions.
const (
	ActAllow HTTPAction = iota
	ActDeny
	ActReturn
	ActRedirect
	ActSetHeader
	ActAddHeader
	ActDelHeader
	ActReplaceHeader
	ActReplaceValue
	ActSetPath
	ActSetQuery
	ActSetURI
	ActReplacePath
	ActSetMethod
	ActAuth
	ActSetVar
	ActSetStatus
	ActUseService
	ActTarpit
	ActReplaceURI
	ActReplacePathQ
	ActSetPathQ
	ActDisableL7Retry
	ActCacheUse   // http-request cache-use: Name is the cache
	ActCacheStore // http-response cache-store: Name is the cache
	ActSetVarFmt  // set-var-fmt(Name) Fmt
	ActUnsetVar   // unset-var(Name)
	ActReject     // http-request reject: close, no answer
	ActSilentDrop // http-request silent-drop: close without telling the client
	ActSetLogLevel
	ActCapture // http-request capture <Expr> len <Len>: into request capture slot Slot
)

// LogSilent is the set-log-level value that suppresses the request's log.
const LogSilent = -1

// HTTPRule is one http-request, http-response or redirect rule.
type HTTPRule struct {
	Pos          Pos
	Response     bool
	Action       HTTPAction
	Name         string         // header name, variable name, auth realm, service name, cache name
	Value        string         // log-format string (set-header, add-header, set-path, ...), or method
	Regexp       *regexp.Regexp // replace-header, replace-value, replace-path
	Status       int            // deny_status, return status, set-status, redirect code
	Reason       string         // set-status reason
	ContentType  string
	Body         string // return string / lf-string content
	BodyIsFormat bool
	BodyFormat   *Format     // compiled lf-string
	Fmt          *Format     // compiled Value for set-header, add-header, set-path, ...
	RedirectFmt  *Format     // compiled RedirectTo
	HeaderFmts   []*Format   // compiled values of Headers
	File         string      // return file / errorfile
	Raw          []byte      // errorfile content: a complete response sent as is
	Expr         *acl.Sample // set-var expression
	Headers      [][2]string // return hdr
	// Redirects.
	RedirectKind string // location | prefix | scheme
	RedirectTo   string // log-format target
	DropQuery    bool
	AppendSlash  bool
	SetCookie    string
	ClearCookie  string
	Cond         *acl.Cond

	// The replacement of replace-header, replace-value, replace-path(q)
	// and replace-uri: compiled once when constant, else a log-format
	// rendered then compiled per request.
	Replace    *acl.Replacement
	ReplaceFmt *Format

	Stick *StickAction // ActStick: track-sc<n>, sc-inc-gpc0/1, sc-set-gpt0

	Level int // set-log-level: a logging.Level, or LogSilent
	Slot  int // capture: index among the frontend's request captures
	Len   int // capture: at most this many bytes
}

// RetryOn is the set of failures after which a request is sent again
// (`retry-on`), up to `retries` times in all.
type RetryOn uint32

// The retry-on events. RetryConnFailure is the default.
const (
	RetryConnFailure     RetryOn = 1 << iota // the connection failed: the request was not sent
	RetryEmptyResponse                       // closed with nothing received after the request (or part of it) was sent
	RetryJunkResponse                        // something not an HTTP response head, or a partial one, then closed
	RetryResponseTimeout                     // timeout server struck before the response came
	Retry0RTTRejected                        // early data rejected (halo never sends early data to servers)
	Retry404
	Retry408
	Retry425
	Retry500
	Retry501
	Retry502
	Retry503
	Retry504

	// RetryL7 are the events that need the request kept for a resend.
	RetryL7 = ^RetryConnFailure
)

// retryOnWords names the retry-on keywords; all-retryable-errors and
// none are handled apart.
var retryOnWords = map[string]RetryOn{"conn-failure": RetryConnFailure, "empty-response": RetryEmptyResponse,
	"junk-response": RetryJunkResponse, "response-timeout": RetryResponseTimeout, "0rtt-rejected": Retry0RTTRejected,
	"404": Retry404, "408": Retry408, "425": Retry425, "500": Retry500, "501": Retry501, "502": Retry502,
	"503": Retry503, "504": Retry504}

// RetryAllRetryable is HAProxy's all-retryable-errors.
const RetryAllRetryable = RetryConnFailure | RetryEmptyResponse | RetryJunkResponse | RetryResponseTimeout |
	Retry0RTTRejected | Retry500 | Retry502 | Retry503 | Retry504

// Status reports whether a response with this status is retried.
func (r RetryOn) Status(code int) bool {
	var bit RetryOn
	switch code {
	case 404:
		bit = Retry404
	case 408:
		bit = Retry408
	case 425:
		bit = Retry425
	case 500:
		bit = Retry500
	case 501:
		bit = Retry501
	case 502:
		bit = Retry502
	case 503:
		bit = Retry503
	case 504:
		bit = Retry504
	}
	return bit != 0 && r&bit != 0
}
