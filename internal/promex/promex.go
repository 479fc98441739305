// Package promex exposes a halo stats snapshot as Prometheus metrics with
// the names and labels of HAProxy 2.6's built-in exporter
// (haproxy_process_*, haproxy_frontend_*, haproxy_backend_*,
// haproxy_server_*), so that existing HAProxy dashboards work unchanged.
//
// The metrics are read from the same fields as `show info` and the CSV
// statistics, as HAProxy's exporter does: a field a row does not have
// (an unlimited server maxconn, a throttle that does not apply) is NaN.
package promex

import (
	"bytes"
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/halo-lb/halo/internal/stats"
)

// ContentType is the exposition format WriteMetrics produces.
var ContentType = "text/plain; version=0.0.4" // as HAProxy's exporter sends it

// Scope selects the metric families to export.
type Scope uint8

// Scopes, as the exporter's `scope` query parameter names them.
const (
	ScopeGlobal Scope = 1 << iota
	ScopeFrontend
	ScopeBackend
	ScopeServer
	ScopeAll = ScopeGlobal | ScopeFrontend | ScopeBackend | ScopeServer
)

// Options are what the scrape's query string asks for.
type Options struct {
	Scope   Scope
	NoMaint bool // skip servers in maintenance
}

// ErrBadScope is returned by ParseQuery for an unknown scope; HAProxy
// answers it with a 400.
var ErrBadScope = errors.New("unknown scope")

// ParseQuery reads the exporter's query parameters: no `scope` exports
// everything, each `scope=global|frontend|backend|server|*` adds its
// families, an empty `scope=` exports nothing, `no-maint` skips servers
// in maintenance (haproxy 2.6.12's behaviour).
func ParseQuery(rawQuery string) (Options, error) {
	o := Options{Scope: ScopeAll}
	seen := false
	for _, kv := range strings.Split(rawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		switch k {
		case "scope":
			if !seen {
				o.Scope, seen = 0, true
			}
			switch v {
			case "":
			case "*":
				o.Scope = ScopeAll
			case "global":
				o.Scope |= ScopeGlobal
			case "frontend":
				o.Scope |= ScopeFrontend
			case "backend":
				o.Scope |= ScopeBackend
			case "server":
				o.Scope |= ScopeServer
			default:
				return o, ErrBadScope
			}
		case "no-maint":
			o.NoMaint = true
		}
	}
	return o, nil
}

// metric maps an exporter metric to a stats field.
type metric struct {
	name, help string
	counter    bool
	field      string  // CSV column (`show info` field for process metrics)
	scale      float64 // factor applied to the field (ms to s); 0 means 1
	zero       bool    // an absent field is 0 rather than NaN
	http       bool    // only for HTTP proxies
}

var (
	processMetrics = []metric{
		{"nbthread", "Number of started threads (global.nbthread)", false, "Nbthread", 0, false, false},
		{"nbproc", "Number of started worker processes (always 1)", false, "Nbproc", 0, false, false},
		{"relative_process_id", "Relative worker process number (1)", false, "Process_num", 0, false, false},
		{"uptime_seconds", "How long ago this worker process was started (seconds)", false, "Uptime_sec", 0, false, false},
		{"pool_failures_total", "Failed pool allocations (always 0 in halo)", true, "PoolFailed", 0, false, false},
		{"max_fds", "Limit on the number of file descriptors", false, "Ulimit-n", 0, false, false},
		{"max_sockets", "Limit on the number of sockets", false, "Maxsock", 0, false, false},
		{"max_connections", "Limit on the number of connections (global.maxconn)", false, "Maxconn", 0, false, false},
		{"hard_max_connections", "Hard limit on the number of connections", false, "Hard_maxconn", 0, false, false},
		{"current_connections", "Current number of connections", false, "CurrConns", 0, false, false},
		{"connections_total", "Total number of connections since started", true, "CumConns", 0, false, false},
		{"requests_total", "Total number of requests since started", true, "CumReq", 0, false, false},
		{"max_ssl_connections", "Limit on SSL endpoints, 0 for unlimited", false, "MaxSslConns", 0, false, false},
		{"current_ssl_connections", "Current number of SSL endpoints", false, "CurrSslConns", 0, false, false},
		{"ssl_connections_total", "Total number of SSL endpoints since started", true, "CumSslConns", 0, false, false},
		{"max_pipes", "Limit on pipes for splicing, 0 for unlimited", false, "Maxpipes", 0, false, false},
		{"pipes_used_total", "Pipes in use", true, "PipesUsed", 0, false, false},
		{"pipes_free_total", "Pipes allocated and available", true, "PipesFree", 0, false, false},
		{"current_connection_rate", "Connections accepted over the last second", false, "ConnRate", 0, false, false},
		{"limit_connection_rate", "Limit on the connection rate (global.maxconnrate)", false, "ConnRateLimit", 0, false, false},
		{"max_connection_rate", "Highest connection rate reached since started", false, "MaxConnRate", 0, false, false},
		{"current_session_rate", "Sessions created over the last second", false, "SessRate", 0, false, false},
		{"limit_session_rate", "Limit on the session rate (global.maxsessrate)", false, "SessRateLimit", 0, false, false},
		{"max_session_rate", "Highest session rate reached since started", false, "MaxSessRate", 0, false, false},
		{"current_ssl_rate", "SSL connections created over the last second", false, "SslRate", 0, false, false},
		{"limit_ssl_rate", "Limit on the SSL connection rate (global.maxsslrate)", false, "SslRateLimit", 0, false, false},
		{"max_ssl_rate", "Highest SSL connection rate reached since started", false, "MaxSslRate", 0, false, false},
		{"current_frontend_ssl_key_rate", "SSL keys created on frontends over the last second", false, "SslFrontendKeyRate", 0, false, false},
		{"max_frontend_ssl_key_rate", "Highest frontend SSL key rate since started", false, "SslFrontendMaxKeyRate", 0, false, false},
		{"frontend_ssl_reuse", "Percent of frontend SSL connections that reused a session", false, "SslFrontendSessionReuse_pct", 0, false, false},
		{"current_backend_ssl_key_rate", "SSL keys created on backends over the last second", false, "SslBackendKeyRate", 0, false, false},
		{"max_backend_ssl_key_rate", "Highest backend SSL key rate since started", false, "SslBackendMaxKeyRate", 0, false, false},
		{"ssl_cache_lookups_total", "SSL session cache lookups", true, "SslCacheLookups", 0, false, false},
		{"ssl_cache_misses_total", "SSL session cache misses", true, "SslCacheMisses", 0, false, false},
		{"http_comp_bytes_in_total", "Bytes given to the HTTP compressor (halo does not compress)", true, "CompressBpsIn", 0, false, false},
		{"http_comp_bytes_out_total", "Bytes emitted by the HTTP compressor (halo does not compress)", true, "CompressBpsOut", 0, false, false},
		{"limit_http_comp", "Compression rate limit", false, "CompressBpsRateLim", 0, false, false},
		{"current_zlib_memory", "Memory used by compression (no zlib in halo)", false, "ZlibMemUsage", 0, false, false},
		{"max_zlib_memory", "Limit on compression memory (no zlib in halo)", false, "MaxZlibMemUsage", 0, false, false},
		{"current_tasks", "Tasks in the worker process", false, "Tasks", 0, false, false},
		{"current_run_queue", "Active tasks", false, "Run_queue", 0, false, false},
		{"idle_time_percent", "Percentage of the last second spent idle", false, "Idle_pct", 0, false, false},
		{"stopping", "1 while the process is stopping, otherwise 0", false, "Stopping", 0, false, false},
		{"jobs", "Active jobs (connections, listeners)", false, "Jobs", 0, false, false},
		{"unstoppable_jobs", "Unstoppable jobs", false, "Unstoppable Jobs", 0, false, false},
		{"listeners", "Active listeners", false, "Listeners", 0, false, false},
		{"active_peers", "Active peers connections", false, "ActivePeers", 0, false, false},
		{"connected_peers", "Connected peers", false, "ConnectedPeers", 0, false, false},
		{"dropped_logs_total", "Log messages dropped since started", true, "DroppedLogs", 0, false, false},
		{"busy_polling_enabled", "1 when busy-polling is in use", false, "BusyPolling", 0, false, false},
		{"failed_resolutions", "Failed DNS resolutions since started", true, "FailedResolutions", 0, false, false},
		{"bytes_out_total", "Bytes emitted since started", true, "TotalBytesOut", 0, false, false},
		{"spliced_bytes_out_total", "Bytes emitted through a kernel pipe since started", true, "TotalSplicdedBytesOut", 0, false, false},
		{"bytes_out_rate", "Bytes emitted over the last second", false, "BytesOutRate", 0, false, false},
		{"recv_logs_total", "Log messages received by log-forwarding listeners", true, "CumRecvLogs", 0, false, false},
		{"max_memory_bytes", "Limit on memory usage (bytes)", false, "Memmax_bytes", 0, false, false},
		{"pool_allocated_bytes", "Memory allocated in pools (bytes)", false, "PoolAlloc_bytes", 0, false, false},
		{"pool_used_bytes", "Pool memory in use (bytes)", false, "PoolUsed_bytes", 0, false, false},
		{"start_time_seconds", "Start time in seconds", false, "Start_time_sec", 0, false, false},
	}
	frontendMetrics = []metric{
		{"current_sessions", "Number of current sessions", false, "scur", 0, false, false},
		{"max_sessions", "Highest value of current sessions since started", false, "smax", 0, false, false},
		{"limit_sessions", "Configured session limit", false, "slim", 0, false, false},
		{"sessions_total", "Total number of sessions", true, "stot", 0, false, false},
		{"limit_session_rate", "Configured limit on new sessions per second", false, "rate_lim", 0, false, false},
		{"max_session_rate", "Highest number of sessions per second", false, "rate_max", 0, false, false},
		{"connections_rate_max", "Highest number of connections per second", false, "conn_rate_max", 0, false, false},
		{"connections_total", "Total number of connections", true, "conn_tot", 0, false, false},
		{"bytes_in_total", "Total number of request bytes", true, "bin", 0, false, false},
		{"bytes_out_total", "Total number of response bytes", true, "bout", 0, false, false},
		{"requests_denied_total", "Total number of denied requests", true, "dreq", 0, false, false},
		{"responses_denied_total", "Total number of denied responses", true, "dresp", 0, false, false},
		{"request_errors_total", "Total number of invalid requests", true, "ereq", 0, false, false},
		{"denied_connections_total", "Connections rejected by tcp-request connection rules", true, "dcon", 0, false, false},
		{"denied_sessions_total", "Sessions rejected by tcp-request session rules", true, "dses", 0, false, false},
		{"failed_header_rewriting_total", "Failed header rewrites", true, "wrew", 0, false, false},
		{"internal_errors_total", "Internal errors", true, "eint", 0, false, false},
		{"http_requests_rate_max", "Highest number of HTTP requests per second", false, "req_rate_max", 0, false, true},
		{"http_requests_total", "Total number of HTTP requests received", true, "req_tot", 0, false, true},
		{"intercepted_requests_total", "Requests answered by the proxy itself", true, "intercepted", 0, false, true},
		{"http_cache_lookups_total", "HTTP cache lookups (halo has no cache)", true, "cache_lookups", 0, false, true},
		{"http_cache_hits_total", "HTTP cache hits (halo has no cache)", true, "cache_hits", 0, false, true},
		{"http_comp_bytes_in_total", "Bytes given to the compressor", true, "comp_in", 0, false, true},
		{"http_comp_bytes_out_total", "Bytes emitted by the compressor", true, "comp_out", 0, false, true},
		{"http_comp_bytes_bypassed_total", "Bytes that bypassed the compressor", true, "comp_byp", 0, false, true},
		{"http_comp_responses_total", "Compressed responses", true, "comp_rsp", 0, false, true},
	}
	backendMetrics = []metric{
		{"current_queue", "Number of queued connections", false, "qcur", 0, false, false},
		{"max_queue", "Highest number of queued connections", false, "qmax", 0, false, false},
		{"current_sessions", "Number of current sessions", false, "scur", 0, false, false},
		{"max_sessions", "Highest value of current sessions since started", false, "smax", 0, false, false},
		{"limit_sessions", "Configured session limit (fullconn)", false, "slim", 0, false, false},
		{"sessions_total", "Total number of sessions", true, "stot", 0, false, false},
		{"max_session_rate", "Highest number of sessions per second", false, "rate_max", 0, false, false},
		{"last_session_seconds", "Seconds since the last session, -1 if none", false, "lastsess", 0, false, false},
		{"queue_time_average_seconds", "Average queue time over the last 1024 successful connections", false, "qtime", 0.001, false, false},
		{"connect_time_average_seconds", "Average connect time over the last 1024 successful connections", false, "ctime", 0.001, false, false},
		{"response_time_average_seconds", "Average response time over the last 1024 successful connections", false, "rtime", 0.001, false, false},
		{"total_time_average_seconds", "Average total time over the last 1024 successful connections", false, "ttime", 0.001, false, false},
		{"max_queue_time_seconds", "Longest queue time", false, "qtime_max", 0.001, false, false},
		{"max_connect_time_seconds", "Longest connect time", false, "ctime_max", 0.001, false, false},
		{"max_response_time_seconds", "Longest response time", false, "rtime_max", 0.001, false, false},
		{"max_total_time_seconds", "Longest total time", false, "ttime_max", 0.001, false, false},
		{"bytes_in_total", "Total number of request bytes", true, "bin", 0, false, false},
		{"bytes_out_total", "Total number of response bytes", true, "bout", 0, false, false},
		{"requests_denied_total", "Total number of denied requests", true, "dreq", 0, false, false},
		{"responses_denied_total", "Total number of denied responses", true, "dresp", 0, false, false},
		{"connection_errors_total", "Total number of connection errors", true, "econ", 0, false, false},
		{"response_errors_total", "Total number of response errors", true, "eresp", 0, false, false},
		{"retry_warnings_total", "Total number of connection retries", true, "wretr", 0, false, false},
		{"redispatch_warnings_total", "Total number of redispatches", true, "wredis", 0, false, false},
		{"failed_header_rewriting_total", "Failed header rewrites", true, "wrew", 0, false, false},
		{"internal_errors_total", "Internal errors", true, "eint", 0, false, false},
		{"client_aborts_total", "Transfers aborted by the client", true, "cli_abrt", 0, false, false},
		{"server_aborts_total", "Transfers aborted by the server", true, "srv_abrt", 0, false, false},
		{"weight", "Sum of the active servers' weights", false, "weight", 0, false, false},
		{"active_servers", "Number of usable active servers", false, "act", 0, false, false},
		{"backup_servers", "Number of usable backup servers", false, "bck", 0, false, false},
		{"check_up_down_total", "Number of UP to DOWN transitions", true, "chkdown", 0, false, false},
		{"check_last_change_seconds", "Seconds since the last UP/DOWN change", false, "lastchg", 0, false, false},
		{"downtime_seconds_total", "Total time without a usable server (seconds)", true, "downtime", 0, false, false},
		{"loadbalanced_total", "Times a server was selected", true, "lbtot", 0, false, false},
		{"connection_attempts_total", "Server connection attempts", true, "connect", 0, false, false},
		{"connection_reuses_total", "Server connection reuses", true, "reuse", 0, false, false},
		{"http_requests_total", "Total number of HTTP requests", true, "req_tot", 0, false, true},
		{"http_cache_lookups_total", "HTTP cache lookups (halo has no cache)", true, "cache_lookups", 0, false, true},
		{"http_cache_hits_total", "HTTP cache hits (halo has no cache)", true, "cache_hits", 0, false, true},
		{"http_comp_bytes_in_total", "Bytes given to the compressor", true, "comp_in", 0, false, true},
		{"http_comp_bytes_out_total", "Bytes emitted by the compressor", true, "comp_out", 0, false, true},
		{"http_comp_bytes_bypassed_total", "Bytes that bypassed the compressor", true, "comp_byp", 0, false, true},
		{"http_comp_responses_total", "Compressed responses", true, "comp_rsp", 0, false, true},
		{"uweight", "Sum of the active servers' user weights", false, "uweight", 0, false, false},
	}
	serverMetrics = []metric{
		{"current_queue", "Number of queued connections", false, "qcur", 0, false, false},
		{"max_queue", "Highest number of queued connections", false, "qmax", 0, false, false},
		{"queue_limit", "Configured maxqueue (NaN for none)", false, "qlimit", 0, false, false},
		{"current_sessions", "Number of current sessions", false, "scur", 0, false, false},
		{"max_sessions", "Highest value of current sessions since started", false, "smax", 0, false, false},
		{"limit_sessions", "Configured maxconn (NaN for none)", false, "slim", 0, false, false},
		{"sessions_total", "Total number of sessions", true, "stot", 0, false, false},
		{"max_session_rate", "Highest number of sessions per second", false, "rate_max", 0, false, false},
		{"last_session_seconds", "Seconds since the last session, -1 if none", false, "lastsess", 0, false, false},
		{"queue_time_average_seconds", "Average queue time over the last 1024 successful connections", false, "qtime", 0.001, false, false},
		{"connect_time_average_seconds", "Average connect time over the last 1024 successful connections", false, "ctime", 0.001, false, false},
		{"response_time_average_seconds", "Average response time over the last 1024 successful connections", false, "rtime", 0.001, false, false},
		{"total_time_average_seconds", "Average total time over the last 1024 successful connections", false, "ttime", 0.001, false, false},
		{"max_queue_time_seconds", "Longest queue time", false, "qtime_max", 0.001, false, false},
		{"max_connect_time_seconds", "Longest connect time", false, "ctime_max", 0.001, false, false},
		{"max_response_time_seconds", "Longest response time", false, "rtime_max", 0.001, false, false},
		{"max_total_time_seconds", "Longest total time", false, "ttime_max", 0.001, false, false},
		{"bytes_in_total", "Total number of request bytes", true, "bin", 0, false, false},
		{"bytes_out_total", "Total number of response bytes", true, "bout", 0, false, false},
		{"responses_denied_total", "Total number of denied responses", true, "dresp", 0, false, false},
		{"connection_errors_total", "Total number of connection errors", true, "econ", 0, false, false},
		{"response_errors_total", "Total number of response errors", true, "eresp", 0, false, false},
		{"retry_warnings_total", "Total number of connection retries", true, "wretr", 0, false, false},
		{"redispatch_warnings_total", "Total number of redispatches", true, "wredis", 0, false, false},
		{"failed_header_rewriting_total", "Failed header rewrites", true, "wrew", 0, false, false},
		{"internal_errors_total", "Internal errors", true, "eint", 0, false, false},
		{"client_aborts_total", "Transfers aborted by the client", true, "cli_abrt", 0, false, false},
		{"server_aborts_total", "Transfers aborted by the server", true, "srv_abrt", 0, false, false},
		{"weight", "Effective weight", false, "weight", 0, false, false},
		{"check_failures_total", "Failed health checks", true, "chkfail", 0, true, false},
		{"check_up_down_total", "Number of UP to DOWN transitions", true, "chkdown", 0, true, false},
		{"downtime_seconds_total", "Total time down (seconds)", true, "downtime", 0, true, false},
		{"check_last_change_seconds", "Seconds since the last state change", false, "lastchg", 0, false, false},
		{"current_throttle", "Slow-start throttle percentage (NaN when not throttled)", false, "throttle", 0, false, false},
		{"loadbalanced_total", "Times the server was selected", true, "lbtot", 0, false, false},
		{"connection_attempts_total", "Connection attempts", true, "connect", 0, false, false},
		{"connection_reuses_total", "Connection reuses", true, "reuse", 0, false, false},
		{"idle_connections_current", "Idle connections kept", false, "srv_icur", 0, false, false},
		{"idle_connections_limit", "Limit on idle connections (NaN for none)", false, "src_ilim", 0, false, false},
		{"unsafe_idle_connections_current", "Idle connections that may not be reused for any request", false, "idle_conn_cur", 0, false, false},
		{"safe_idle_connections_current", "Idle connections that may be reused", false, "safe_conn_cur", 0, false, false},
		{"used_connections_current", "Connections in use", false, "used_conn_cur", 0, false, false},
		{"need_connections_current", "Estimated connections needed", false, "need_conn_est", 0, false, false},
		{"uweight", "User weight", false, "uweight", 0, false, false},
	}
)

var (
	codes        = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
	serverStates = []string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}
	checkStates  = []string{"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}
)

// collector turns one snapshot into metrics.
type collector struct {
	snap *stats.Snapshot
	opts Options
}

// Describe sends nothing: the metrics depend on the configuration, so
// the collector is "unchecked".
func (c collector) Describe(chan<- *prometheus.Desc) {}

type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) emit(name, help string, counter bool, v float64, kv ...string) {
	var names, vals []string
	for j := 0; j+1 < len(kv); j += 2 {
		names, vals = append(names, kv[j]), append(vals, kv[j+1])
	}
	typ := prometheus.GaugeValue
	if counter {
		typ = prometheus.CounterValue
	}
	e.ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, names, nil), typ, v, vals...)
}

// value reads a field: NaN when empty (the row does not have it) unless
// zero says 0.
func value(raw string, present bool, m metric) float64 {
	if !present || raw == "" {
		if m.zero {
			return 0
		}
		return math.NaN()
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return math.NaN()
	}
	if m.scale != 0 {
		f *= m.scale
	}
	return f
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	e := emitter{ch}
	s := c.snap
	if c.opts.Scope&ScopeGlobal != 0 {
		info := stats.InfoValues(s.Info)
		e.emit("haproxy_process_build_info", "Build info", false, 1, "version", s.Info.Version)
		for _, m := range processMetrics {
			v, ok := info[m.field]
			if !ok {
				switch m.field {
				case "ZlibMemUsage", "MaxZlibMemUsage":
					e.emit("haproxy_process_"+m.name, m.help, m.counter, math.NaN())
					continue
				}
				v, ok = "0", true // a feature halo does not have counts nothing
			}
			e.emit("haproxy_process_"+m.name, m.help, m.counter, value(v, ok, m))
		}
	}
	rows := stats.Rows(s, stats.CSVOptions{Addr: true, NoMaint: c.opts.NoMaint})
	proxies := map[int]*stats.Proxy{}
	for i := range s.Proxies {
		proxies[s.Proxies[i].ID] = &s.Proxies[i]
	}
	for _, r := range rows {
		p := proxies[r.IID]
		if p == nil {
			continue
		}
		http := p.Mode == "http"
		cell := func(name string) (string, bool) {
			i := stats.Column(name)
			return r.Cells[i].Value, r.Cells[i].Present
		}
		switch r.Obj {
		case 'F':
			if c.opts.Scope&ScopeFrontend == 0 {
				continue
			}
			px := []string{"proxy", p.Name}
			st, _ := cell("status")
			for _, state := range []string{"DOWN", "UP"} {
				e.emit("haproxy_frontend_status", "Current status of the frontend, per state label value", false,
					b2f((st == "OPEN") == (state == "UP")), "proxy", p.Name, "state", state)
			}
			emitRow(e, "haproxy_frontend_", frontendMetrics, cell, http, px)
			if http {
				emitCodes(e, "haproxy_frontend_http_responses_total", cell, px)
			}
		case 'B':
			if c.opts.Scope&ScopeBackend == 0 {
				continue
			}
			px := []string{"proxy", p.Name}
			for _, state := range []string{"DOWN", "UP"} {
				e.emit("haproxy_backend_status", "Current status of the backend, per state label value", false,
					b2f((p.BEStatus == "UP") == (state == "UP")), "proxy", p.Name, "state", state)
			}
			emitRow(e, "haproxy_backend_", backendMetrics, cell, http, px)
			if http {
				emitCodes(e, "haproxy_backend_http_responses_total", cell, px)
			}
			aggregates(e, p, c.opts.NoMaint)
		case 'S':
			if c.opts.Scope&ScopeServer == 0 {
				continue
			}
			var sv *stats.Server
			for i := range p.Servers {
				if p.Servers[i].ID == r.SID {
					sv = &p.Servers[i]
				}
			}
			if sv == nil {
				continue
			}
			sl := []string{"proxy", p.Name, "server", sv.Name}
			cur := serverState(*sv)
			for _, state := range serverStates {
				e.emit("haproxy_server_status", "Current status of the server, per state label value", false, b2f(state == cur), append(sl, "state", state)...)
			}
			emitRow(e, "haproxy_server_", serverMetrics, cell, http, sl)
			if sv.CheckEnabled && sv.Admin != stats.AdminMaint {
				for _, state := range checkStates {
					e.emit("haproxy_server_check_status", "Status of the last health check, per state label value", false, b2f(state == sv.CheckStatus), append(sl, "state", state)...)
				}
				e.emit("haproxy_server_check_code", "Layer 5-7 code of the last health check, if any", false, float64(sv.CheckCode), sl...)
				e.emit("haproxy_server_check_duration_seconds", "Duration of the last health check (seconds)", false, sv.CheckDuration.Seconds(), sl...)
			}
			if http {
				emitCodes(e, "haproxy_server_http_responses_total", cell, sl)
			}
		}
	}
}

func emitRow(e emitter, prefix string, ms []metric, cell func(string) (string, bool), http bool, labels []string) {
	for _, m := range ms {
		if m.http && !http {
			continue
		}
		v, ok := cell(m.field)
		e.emit(prefix+m.name, m.help, m.counter, value(v, ok, m), labels...)
	}
}

func emitCodes(e emitter, name string, cell func(string) (string, bool), labels []string) {
	for _, code := range codes {
		v, ok := cell("hrsp_" + code)
		e.emit(name, "Total number of HTTP responses", true, value(v, ok, metric{}), append(append([]string{}, labels...), "code", code)...)
	}
}

// aggregates emits a backend's per-state server counts.
func aggregates(e emitter, p *stats.Proxy, noMaint bool) {
	if len(p.Servers) == 0 {
		return
	}
	srv := map[string]float64{}
	chk := map[string]float64{}
	for _, sv := range p.Servers {
		if noMaint && sv.Admin == stats.AdminMaint {
			continue
		}
		srv[serverState(sv)]++
		if sv.CheckEnabled && sv.CheckStatus != "" && sv.CheckStatus != "INI" {
			chk[sv.CheckStatus]++
		}
	}
	for _, state := range serverStates {
		e.emit("haproxy_backend_agg_server_status", "Servers of the backend per state label value", false, srv[state], "proxy", p.Name, "state", state)
	}
	for _, state := range serverStates {
		e.emit("haproxy_backend_agg_server_check_status", "Servers of the backend per state label value (deprecated name)", false, srv[state], "proxy", p.Name, "state", state)
	}
	for _, state := range checkStates {
		e.emit("haproxy_backend_agg_check_status", "Servers of the backend per last check status", false, chk[state], "proxy", p.Name, "state", state)
	}
}

func serverState(sv stats.Server) string {
	switch {
	case sv.Admin == stats.AdminMaint:
		return "MAINT"
	case sv.Admin == stats.AdminDrain:
		return "DRAIN"
	case strings.HasPrefix(sv.Status, "UP") || sv.Status == "no check":
		return "UP"
	}
	return "DOWN"
}

// WriteMetrics renders the snapshot in Prometheus' text format.
func WriteMetrics(s *stats.Snapshot, o Options) ([]byte, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collector{s, o}); err != nil {
		return nil, err
	}
	families, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}
