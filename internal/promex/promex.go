// Package promex exposes a halo stats snapshot as Prometheus metrics with
// the names and labels of HAProxy's built-in exporter
// (haproxy_process_*, haproxy_frontend_*, haproxy_backend_*,
// haproxy_server_*), so that existing HAProxy dashboards work unchanged.
package promex

import (
	"bytes"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/halo-lb/halo/internal/stats"
)

// ContentType is the exposition format WriteMetrics produces.
var ContentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// collector turns one snapshot into metrics.
type collector struct{ snap *stats.Snapshot }

// Describe sends nothing: the metrics depend on the configuration, so
// the collector is "unchecked".
func (c collector) Describe(ch chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.snap
	i := s.Info
	g, ct := prometheus.GaugeValue, prometheus.CounterValue
	emit := func(name, help string, typ prometheus.ValueType, v float64, kv ...string) {
		var names, vals []string
		for j := 0; j+1 < len(kv); j += 2 {
			names, vals = append(names, kv[j]), append(vals, kv[j+1])
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, names, nil), typ, v, vals...)
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	emit("haproxy_process_build_info", "Build info", g, 1, "version", i.Version)
	emit("haproxy_process_nbthread", "Number of started threads (global.nbthread)", g, float64(i.Nbthread))
	emit("haproxy_process_nbproc", "Number of started worker processes (historical, always 1)", g, 1)
	emit("haproxy_process_relative_process_id", "Relative worker process number (1)", g, 1)
	emit("haproxy_process_uptime_seconds", "How long ago this worker process was started (seconds)", g, i.Now.Sub(i.Start).Seconds())
	emit("haproxy_process_start_time_seconds", "Start time in seconds", g, float64(i.Start.Unix()))
	emit("haproxy_process_max_connections", "Maximum number of concurrent connections (global.maxconn)", g, float64(i.MaxConn))
	emit("haproxy_process_current_connections", "Number of active sessions", g, float64(i.CurrConns))
	emit("haproxy_process_connections_total", "Total number of terminated sessions since started", ct, float64(i.CumConns))
	emit("haproxy_process_requests_total", "Total number of requests since started", ct, float64(i.CumReq))
	emit("haproxy_process_max_fds", "Maximum number of open file descriptors", g, float64(i.UlimitN))
	emit("haproxy_process_current_connection_rate", "Number of front connections created on the last second", g, float64(i.ConnRate))
	emit("haproxy_process_max_connection_rate", "Highest front connection creation rate reached", g, float64(i.MaxConnRate))
	emit("haproxy_process_current_session_rate", "Number of sessions created on the last second", g, float64(i.SessRate))
	emit("haproxy_process_max_session_rate", "Highest session creation rate reached", g, float64(i.MaxSessRate))
	emit("haproxy_process_current_ssl_connections", "Number of active SSL connections", g, float64(i.CurrSslConns))
	emit("haproxy_process_ssl_connections_total", "Total number of SSL connections since started", ct, float64(i.CumSslConns))
	emit("haproxy_process_jobs", "Number of active jobs (listeners, sessions, open devices)", g, float64(i.Jobs))
	emit("haproxy_process_listeners", "Number of active listeners", g, float64(i.Listeners))
	emit("haproxy_process_stopping", "Non-zero means stopping in progress", g, b2f(i.Stopping))
	emit("haproxy_process_dropped_logs_total", "Total number of dropped logs", ct, float64(i.DroppedLogs))
	emit("haproxy_process_bytes_out_total", "Total number of bytes emitted", ct, float64(i.BytesOut))

	codes := []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
	for _, p := range s.Proxies {
		if f := p.Frontend; f != nil {
			px := []string{"proxy", p.Name}
			l := func(kv ...string) []string { return append(append([]string{}, px...), kv...) }
			status := 1.0
			if p.Status != "OPEN" {
				status = 0
			}
			emit("haproxy_frontend_status", "Current status of the service (1 open, 0 stopped)", g, status, px...)
			emit("haproxy_frontend_current_sessions", "Number of current sessions", g, float64(f.SCur), px...)
			emit("haproxy_frontend_max_sessions", "Maximum observed number of active sessions", g, float64(f.SMax), px...)
			emit("haproxy_frontend_limit_sessions", "Configured session limit", g, float64(p.MaxConn), px...)
			emit("haproxy_frontend_sessions_total", "Total number of sessions", ct, float64(f.STot), px...)
			emit("haproxy_frontend_limit_session_rate", "Configured limit on new sessions per second", g, 0, px...)
			emit("haproxy_frontend_current_session_rate", "Current number of sessions per second over last elapsed second", g, float64(f.Rate), px...)
			emit("haproxy_frontend_max_session_rate", "Maximum observed number of sessions per second", g, float64(f.RateMax), px...)
			emit("haproxy_frontend_connections_rate_max", "Maximum observed number of connections per second", g, float64(f.ConnRateMax), px...)
			emit("haproxy_frontend_connections_total", "Total number of connections", ct, float64(f.ConnTot), px...)
			emit("haproxy_frontend_bytes_in_total", "Current total of incoming bytes", ct, float64(f.BytesIn), px...)
			emit("haproxy_frontend_bytes_out_total", "Current total of outgoing bytes", ct, float64(f.BytesOut), px...)
			emit("haproxy_frontend_requests_denied_total", "Total number of denied requests", ct, float64(f.DeniedReq), px...)
			emit("haproxy_frontend_responses_denied_total", "Total number of denied responses", ct, float64(f.DeniedResp), px...)
			emit("haproxy_frontend_request_errors_total", "Total number of request errors", ct, float64(f.ErrReq), px...)
			emit("haproxy_frontend_intercepted_requests_total", "Total number of intercepted HTTP requests", ct, float64(f.Intercepted), px...)
			if p.Mode == "http" {
				emit("haproxy_frontend_http_requests_rate_max", "Maximum observed number of HTTP requests per second", g, float64(f.ReqRateMax), px...)
				emit("haproxy_frontend_http_requests_total", "Total number of HTTP requests received", ct, float64(f.ReqTot), px...)
				for k, code := range codes {
					emit("haproxy_frontend_http_responses_total", "Total number of HTTP responses", ct, float64(f.HRsp[k]), l("code", code)...)
				}
			}
		}
		if b := p.Backend; b != nil {
			px := []string{"proxy", p.Name}
			l := func(kv ...string) []string { return append(append([]string{}, px...), kv...) }
			emit("haproxy_backend_status", "Current status of the service (1 UP, 0 DOWN)", g, b2f(p.BEStatus == "UP"), px...)
			emit("haproxy_backend_current_queue", "Current number of queued requests", g, float64(b.QCur), px...)
			emit("haproxy_backend_max_queue", "Maximum observed number of queued requests", g, float64(b.QMax), px...)
			emit("haproxy_backend_current_sessions", "Number of current sessions", g, float64(b.SCur), px...)
			emit("haproxy_backend_max_sessions", "Maximum observed number of active sessions", g, float64(b.SMax), px...)
			emit("haproxy_backend_limit_sessions", "Configured session limit", g, float64(p.FullConn), px...)
			emit("haproxy_backend_sessions_total", "Total number of sessions", ct, float64(b.STot), px...)
			emit("haproxy_backend_current_session_rate", "Current number of sessions per second over last elapsed second", g, float64(b.Rate), px...)
			emit("haproxy_backend_max_session_rate", "Maximum observed number of sessions per second", g, float64(b.RateMax), px...)
			emit("haproxy_backend_last_session_seconds", "Number of seconds since last session assigned to server/backend", g, secs(b), px...)
			emit("haproxy_backend_queue_time_average_seconds", "Avg. queue time for last 1024 successful connections", g, b.QTime.Seconds(), px...)
			emit("haproxy_backend_connect_time_average_seconds", "Avg. connect time for last 1024 successful connections", g, b.CTime.Seconds(), px...)
			emit("haproxy_backend_response_time_average_seconds", "Avg. response time for last 1024 successful connections", g, b.RTime.Seconds(), px...)
			emit("haproxy_backend_total_time_average_seconds", "Avg. total time for last 1024 successful connections", g, b.TTime.Seconds(), px...)
			emit("haproxy_backend_bytes_in_total", "Current total of incoming bytes", ct, float64(b.BytesIn), px...)
			emit("haproxy_backend_bytes_out_total", "Current total of outgoing bytes", ct, float64(b.BytesOut), px...)
			emit("haproxy_backend_requests_denied_total", "Total number of denied requests", ct, float64(b.DeniedReq), px...)
			emit("haproxy_backend_responses_denied_total", "Total number of denied responses", ct, float64(b.DeniedResp), px...)
			emit("haproxy_backend_connection_errors_total", "Total number of connection errors", ct, float64(b.ErrConn), px...)
			emit("haproxy_backend_response_errors_total", "Total number of response errors", ct, float64(b.ErrResp), px...)
			emit("haproxy_backend_retry_warnings_total", "Total number of retry warnings", ct, float64(b.Retries), px...)
			emit("haproxy_backend_redispatch_warnings_total", "Total number of redispatch warnings", ct, float64(b.Redispatches), px...)
			emit("haproxy_backend_weight", "Service weight", g, float64(p.Weight), px...)
			emit("haproxy_backend_active_servers", "Current number of active servers", g, float64(p.Act), px...)
			emit("haproxy_backend_backup_servers", "Current number of backup servers", g, float64(p.Bck), px...)
			emit("haproxy_backend_downtime_seconds_total", "Total downtime (in seconds) for the service", ct, p.Downtime.Seconds(), px...)
			emit("haproxy_backend_loadbalanced_total", "Total number of times a service was selected", ct, float64(b.LBTot), px...)
			emit("haproxy_backend_connection_attempts_total", "Total number of connection establishment attempts", ct, float64(b.Connect), px...)
			emit("haproxy_backend_connection_reuses_total", "Total number of connection reuses", ct, float64(b.Reuse), px...)
			if p.Mode == "http" {
				emit("haproxy_backend_http_requests_total", "Total number of HTTP requests received", ct, float64(b.ReqTot), px...)
				for k, code := range codes {
					emit("haproxy_backend_http_responses_total", "Total number of HTTP responses", ct, float64(b.HRsp[k]), l("code", code)...)
				}
			}
			for _, sv := range p.Servers {
				sl := []string{"proxy", p.Name, "server", sv.Name}
				with := func(kv ...string) []string { return append(append([]string{}, sl...), kv...) }
				cur := serverState(sv)
				for _, st := range []string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"} {
					emit("haproxy_server_status", "Current status of the service, per state label value", g, b2f(st == cur), with("state", st)...)
				}
				c := &sv.Counters
				emit("haproxy_server_current_queue", "Current number of queued requests", g, float64(c.QCur), sl...)
				emit("haproxy_server_max_queue", "Maximum observed number of queued requests", g, float64(c.QMax), sl...)
				emit("haproxy_server_queue_limit", "Configured maxqueue for the server (0 meaning no limit)", g, float64(sv.QLimit), sl...)
				emit("haproxy_server_current_sessions", "Number of current sessions", g, float64(c.SCur), sl...)
				emit("haproxy_server_max_sessions", "Maximum observed number of active sessions", g, float64(c.SMax), sl...)
				emit("haproxy_server_limit_sessions", "Configured session limit", g, float64(sv.SLim), sl...)
				emit("haproxy_server_sessions_total", "Total number of sessions", ct, float64(c.STot), sl...)
				emit("haproxy_server_last_session_seconds", "Number of seconds since last session assigned to server/backend", g, secs(c), sl...)
				emit("haproxy_server_queue_time_average_seconds", "Avg. queue time for last 1024 successful connections", g, c.QTime.Seconds(), sl...)
				emit("haproxy_server_connect_time_average_seconds", "Avg. connect time for last 1024 successful connections", g, c.CTime.Seconds(), sl...)
				emit("haproxy_server_response_time_average_seconds", "Avg. response time for last 1024 successful connections", g, c.RTime.Seconds(), sl...)
				emit("haproxy_server_total_time_average_seconds", "Avg. total time for last 1024 successful connections", g, c.TTime.Seconds(), sl...)
				emit("haproxy_server_bytes_in_total", "Current total of incoming bytes", ct, float64(c.BytesIn), sl...)
				emit("haproxy_server_bytes_out_total", "Current total of outgoing bytes", ct, float64(c.BytesOut), sl...)
				emit("haproxy_server_responses_denied_total", "Total number of denied responses", ct, float64(c.DeniedResp), sl...)
				emit("haproxy_server_connection_errors_total", "Total number of connection errors", ct, float64(c.ErrConn), sl...)
				emit("haproxy_server_response_errors_total", "Total number of response errors", ct, float64(c.ErrResp), sl...)
				emit("haproxy_server_retry_warnings_total", "Total number of retry warnings", ct, float64(c.Retries), sl...)
				emit("haproxy_server_redispatch_warnings_total", "Total number of redispatch warnings", ct, float64(c.Redispatches), sl...)
				emit("haproxy_server_weight", "Service weight", g, float64(sv.Weight), sl...)
				emit("haproxy_server_check_failures_total", "Total number of failed checks", ct, float64(sv.ChkFail), sl...)
				emit("haproxy_server_check_up_down_total", "Total number of UP->DOWN transitions", ct, float64(sv.ChkDown), sl...)
				emit("haproxy_server_downtime_seconds_total", "Total downtime (in seconds) for the service", ct, sv.Downtime.Seconds(), sl...)
				emit("haproxy_server_loadbalanced_total", "Total number of times a service was selected", ct, float64(c.LBTot), sl...)
				emit("haproxy_server_connection_attempts_total", "Total number of connection establishment attempts", ct, float64(c.Connect), sl...)
				emit("haproxy_server_connection_reuses_total", "Total number of connection reuses", ct, float64(c.Reuse), sl...)
				if sv.CheckEnabled {
					for _, st := range checkStates {
						emit("haproxy_server_check_status", "Status of last health check, per state label value", g, b2f(st == sv.CheckStatus), with("state", st)...)
					}
					emit("haproxy_server_check_code", "layer5-7 code, if available of the last health check", g, float64(sv.CheckCode), sl...)
					emit("haproxy_server_check_duration_seconds", "Total duration of the latest server health check, in seconds", g, sv.CheckDuration.Seconds(), sl...)
				}
				if p.Mode == "http" {
					for k, code := range codes {
						emit("haproxy_server_http_responses_total", "Total number of HTTP responses", ct, float64(c.HRsp[k]), with("code", code)...)
					}
				}
			}
		}
	}
}

var checkStates = []string{"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7OK", "L7OKC", "L7TOUT", "L7RSP", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}

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

func secs(c *stats.Counters) float64 {
	if c.LastSess < 0 {
		return -1
	}
	return c.LastSess.Seconds()
}

// WriteMetrics renders the snapshot in Prometheus' text format.
func WriteMetrics(s *stats.Snapshot) ([]byte, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collector{s}); err != nil {
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
