package stats

import (
	"fmt"
	"io"
	"strings"
)

// WriteInfo writes `show info`: one "Key: value" per line in HAProxy
// 2.6's order, so that tools reading it by key or by line work.
func WriteInfo(w io.Writer, s *Snapshot) error {
	i := s.Info
	up := i.Now.Sub(i.Start)
	secs := int64(up.Seconds())
	stopping := 0
	if i.Stopping {
		stopping = 1
	}
	kv := [][2]any{
		{"Name", i.Name}, {"Version", i.Version}, {"Release_date", i.ReleaseDate}, {"Nbthread", i.Nbthread},
		{"Nbproc", 1}, {"Process_num", 1}, {"Pid", i.Pid},
		{"Uptime", fmt.Sprintf("%dd %dh%02dm%02ds", secs/86400, secs%86400/3600, secs%3600/60, secs%60)},
		{"Uptime_sec", secs}, {"Memmax_MB", 0}, {"PoolAlloc_MB", 0}, {"PoolUsed_MB", 0}, {"PoolFailed", 0},
		{"Ulimit-n", i.UlimitN}, {"Maxsock", i.MaxSock}, {"Maxconn", i.MaxConn}, {"Hard_maxconn", i.HardMaxConn},
		{"CurrConns", i.CurrConns}, {"CumConns", i.CumConns}, {"CumReq", i.CumReq}, {"MaxSslConns", 0},
		{"CurrSslConns", i.CurrSslConns}, {"CumSslConns", i.CumSslConns}, {"Maxpipes", 0}, {"PipesUsed", 0},
		{"PipesFree", 0}, {"ConnRate", i.ConnRate}, {"ConnRateLimit", 0}, {"MaxConnRate", i.MaxConnRate},
		{"SessRate", i.SessRate}, {"SessRateLimit", 0}, {"MaxSessRate", i.MaxSessRate}, {"SslRate", 0},
		{"SslRateLimit", 0}, {"MaxSslRate", 0}, {"SslFrontendKeyRate", 0}, {"SslFrontendMaxKeyRate", 0},
		{"SslFrontendSessionReuse_pct", 0}, {"SslBackendKeyRate", 0}, {"SslBackendMaxKeyRate", 0},
		{"SslCacheLookups", 0}, {"SslCacheMisses", 0}, {"CompressBpsIn", 0}, {"CompressBpsOut", 0},
		{"CompressBpsRateLim", 0}, {"Tasks", i.Jobs}, {"Run_queue", 0}, {"Idle_pct", 100}, {"node", i.Node},
		{"Stopping", stopping}, {"Jobs", i.Jobs}, {"Unstoppable Jobs", 0}, {"Listeners", i.Listeners},
		{"ActivePeers", 0}, {"ConnectedPeers", 0}, {"DroppedLogs", i.DroppedLogs}, {"BusyPolling", 0},
		{"FailedResolutions", 0}, {"TotalBytesOut", i.BytesOut}, {"TotalSplicdedBytesOut", i.SplicedOut},
		{"BytesOutRate", 0}, {"DebugCommandsIssued", 0}, {"CumRecvLogs", 0}, {"Build info", i.Version},
		{"Memmax_bytes", 0}, {"PoolAlloc_bytes", 0}, {"PoolUsed_bytes", 0}, {"Start_time_sec", i.Start.Unix()},
		{"Tainted", 0},
	}
	if i.Description != "" {
		kv = append(kv[:51], append([][2]any{{"description", i.Description}}, kv[51:]...)...)
	}
	var b strings.Builder
	for _, e := range kv {
		fmt.Fprintf(&b, "%s: %v\n", e[0], e[1])
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteServersState writes `show servers state [backend]` (format 1).
func WriteServersState(w io.Writer, s *Snapshot, backend string) error {
	var b strings.Builder
	b.WriteString("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n")
	for _, p := range s.Proxies {
		if p.Backend == nil || (backend != "" && p.Name != backend) {
			continue
		}
		for _, sv := range p.Servers {
			host, port := sv.Addr, 0
			if i := strings.LastIndexByte(sv.Addr, ':'); i >= 0 {
				host = sv.Addr[:i]
				fmt.Sscan(sv.Addr[i+1:], &port)
			}
			// srv_admin_state flags: 0x01 forced maintenance, 0x04 from
			// the configuration (`disabled`, kept after `ready`), 0x08 drain.
			admin := 0
			switch sv.Admin {
			case AdminMaint:
				admin = 1
			case AdminDrain:
				admin = 8
			}
			if sv.CfgDisabled {
				admin |= 4
			}
			fmt.Fprintf(&b, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d 0 0 0 - %d - 0 0 - - 0\n",
				p.ID, p.Name, sv.ID, sv.Name, strings.Trim(host, "[]"), sv.OpState, admin, sv.UWeight, sv.IWeight,
				int64(sv.LastChg.Seconds()), sv.CheckResultCode(), sv.CheckResult, sv.CheckHealth, sv.CheckState, port)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// checkCodes are HAProxy 2.6's check status numbers (its
// healthcheck_status order; 3 and 14 are internal markers), checked
// against `show servers state` of haproxy 2.6.12: L4OK 6, L4CON 8, L7OK 15.
var checkCodes = map[string]int{"": 1, "INI": 1, "HANA": 4, "SOCKERR": 5, "L4OK": 6, "L4TOUT": 7, "L4CON": 8, "L6OK": 9,
	"L6TOUT": 10, "L6RSP": 11, "L7TOUT": 12, "L7RSP": 13, "L7OK": 15, "L7OKC": 16, "L7STS": 17, "PROCERR": 18,
	"PROCTOUT": 19, "PROCOK": 20}

// CheckResultCode is the numeric check status HAProxy stores in state
// files (HCHK_STATUS_*): 6 L4OK, 8 L4CON, 15 L7OK, 1 when no check ran ...
func (s *Server) CheckResultCode() int {
	if c, ok := checkCodes[s.CheckStatus]; ok {
		return c
	}
	return 1
}
