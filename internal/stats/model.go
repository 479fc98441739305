// Package stats holds a point-in-time snapshot of a running halo process
// (frontends, backends, servers, process information) and renders it in
// HAProxy's formats: the HTML stats page, CSV (`;csv`, `show stat`),
// typed and JSON output, and Prometheus metrics.
//
// The proxy fills a Snapshot from its live counters; this package never
// reaches into the proxy. Renderers only read the snapshot.
package stats

import "time"

// ObjType is the kind of a stats row, numbered as HAProxy's CSV `type`
// column.
type ObjType int

// Row kinds.
const (
	TypeFrontend ObjType = 0
	TypeBackend  ObjType = 1
	TypeServer   ObjType = 2
	TypeListener ObjType = 3
)

// Snapshot is everything a renderer needs, taken at one instant.
type Snapshot struct {
	Info    Info
	Proxies []Proxy // in configuration order
}

// Info is the process-wide part (`show info`).
type Info struct {
	Name         string // "halo"
	Version      string
	ReleaseDate  string // "2026/11/24"
	Pid          int
	Nbthread     int
	Node         string
	Description  string
	Start        time.Time
	Now          time.Time
	UlimitN      int
	MaxSock      int
	MaxConn      int
	HardMaxConn  int
	CurrConns    int64
	CumConns     int64
	CumReq       int64
	MaxConnRate  int64
	ConnRate     int64
	SessRate     int64
	MaxSessRate  int64
	Stopping     bool
	Jobs         int64
	Listeners    int
	DroppedLogs  int64
	BytesOut     int64
	SplicedOut   int64
	CumSslConns  int64
	CurrSslConns int64
}

// Proxy is a frontend, backend or listen section with its servers.
type Proxy struct {
	Name string
	ID   int // iid
	Cap  Cap
	Mode string // "http" or "tcp"
	Algo string // balance algorithm name, backends only
	Desc string

	Frontend *Counters // nil when the proxy has no frontend side
	Backend  *Counters // nil when the proxy has no backend side
	Servers  []Server

	// Frontend fields.
	Status   string // "OPEN", "STOP" for frontends; "UP"/"DOWN" for backends
	MaxConn  int    // slim of the frontend
	BEStatus string // "UP" when at least one server is usable, else "DOWN"
	Weight   int    // sum of active usable servers' weights (backend row)
	Act, Bck int    // usable active/backup servers (backend row)
	LastChg  time.Duration
	Downtime time.Duration
	FullConn int // backend slim
	Cookie   string
}

// Cap says which rows a proxy has.
type Cap uint8

// Proxy capabilities.
const (
	CapFrontend Cap = 1 << iota
	CapBackend
)

// Counters are the cumulative and current figures of one row.
type Counters struct {
	QCur, QMax       int64 // queue
	SCur, SMax, STot int64 // sessions
	BytesIn          int64
	BytesOut         int64
	DeniedReq        int64
	DeniedConn       int64 // dcon: tcp-request connection rejects
	DeniedResp       int64
	ErrReq           int64
	ErrConn          int64
	ErrResp          int64
	Retries          int64
	Redispatches     int64
	Rate, RateMax    int64 // sessions per second (last second), max seen
	ReqRate          int64
	ReqRateMax       int64
	ReqTot           int64
	ConnRate         int64
	ConnRateMax      int64
	ConnTot          int64
	LBTot            int64    // times selected by the balancer
	HRsp             [6]int64 // 1xx, 2xx, 3xx, 4xx, 5xx, other
	CliAbrt          int64
	SrvAbrt          int64
	Intercepted      int64         // requests answered locally (stats, redirects, return)
	LastSess         time.Duration // time since last session, -1 if never
	QTime, CTime     time.Duration // average queue / connect time over the last 1024 sessions
	RTime, TTime     time.Duration // average response / total time
	QTimeMax         time.Duration
	CTimeMax         time.Duration
	RTimeMax         time.Duration
	TTimeMax         time.Duration
	Connect          int64 // server connections established
	Reuse            int64 // server connections reused
	IdleConnCur      int64
	SSLSess          int64
	SSLReusedSess    int64
	SSLFailedHS      int64
	CompIn, CompOut  int64 // bytes into and out of the HTTP compressor
	CompByp          int64 // bytes of responses sent with the identity algorithm
	CompRsp          int64 // responses through the compressor
}

// Server is one server row.
type Server struct {
	Name     string
	ID       int    // sid
	Addr     string // "127.0.0.1:9001"
	Counters Counters
	Status   string // "UP", "DOWN", "MAINT", "DRAIN", "NOLB", "UP 1/3", "DOWN 1/2", "no check"
	Weight   int    // current (effective) weight
	UWeight  int    // user weight
	IWeight  int    // initial weight from the configuration
	Backup   bool
	ChkFail  int64
	ChkDown  int64
	LastChg  time.Duration
	Downtime time.Duration
	QLimit   int   // maxqueue, 0 = none
	SLim     int   // maxconn, 0 = none
	Throttle int   // percent, -1 = not throttled
	Observe  bool  // passive health is on (observe): hanafail is shown
	HanaFail int64 // times observed errors triggered on-error
	Tracked  string

	// Health check.
	CheckEnabled  bool
	CheckStatus   string // "L7OK", "L4CON", ... ("" when no check ran)
	CheckRunning  bool   // a check is in progress: the CSV and the page show "* L7OK"
	CheckCode     int    // 0 when none
	CheckDuration time.Duration
	CheckDesc     string
	CheckRise     int
	CheckFall     int
	CheckHealth   int
	LastChk       string // check info, e.g. "Connection refused"

	Cookie string
	Mode   string
	Admin  AdminState
	Port   int
	// State-file fields (`show servers state`).
	OpState     int // 0 stopped, 1 starting, 2 running, 3 stopping
	CheckState  int
	CheckResult int
	CfgDisabled bool // `disabled` on the server line (admin flag 0x04 in state files)
	// DNS resolution (resolvers): the name resolved, the SRV record of a
	// server-template, and the maintenance while the name does not
	// resolve (admin flag 0x20, "MAINT (resolution)").
	FQDN      string
	SRVRecord string
	RMaint    bool
	HostMaint bool // an SRV-filled server: haproxy 2.6 shows admin flag 0x40 on it
}

// AdminState is a server's administrative state.
type AdminState int

// Administrative states, as in `set server ... state`.
const (
	AdminReady AdminState = iota
	AdminDrain
	AdminMaint
)
