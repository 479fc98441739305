package stats

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// infoFields are `show info`'s fields in HAProxy 2.6's order with their
// position, tags (origin, nature, scope) and type, as haproxy 2.6.12's
// `show info typed` prints them. Positions 45, 46 (zlib memory) are
// never printed by a build without zlib, 51 only with a description.
var infoFields = []struct {
	pos             int
	name, tags, typ string
}{
	{0, "Name", "POS", "str"}, {1, "Version", "POS", "str"}, {2, "Release_date", "POS", "str"}, {3, "Nbthread", "CGS", "u32"},
	{4, "Nbproc", "CGS", "u32"}, {5, "Process_num", "KGP", "u32"}, {6, "Pid", "SGP", "u32"}, {7, "Uptime", "MDP", "str"},
	{8, "Uptime_sec", "MDP", "u32"}, {9, "Memmax_MB", "CLP", "u32"}, {10, "PoolAlloc_MB", "MGP", "u32"},
	{11, "PoolUsed_MB", "MGP", "u32"}, {12, "PoolFailed", "MCP", "u32"}, {13, "Ulimit-n", "CLP", "u32"},
	{14, "Maxsock", "CLP", "u32"}, {15, "Maxconn", "CLP", "u32"}, {16, "Hard_maxconn", "CLP", "u32"},
	{17, "CurrConns", "MGP", "u32"}, {18, "CumConns", "MCP", "u32"}, {19, "CumReq", "MCP", "u32"},
	{20, "MaxSslConns", "MMP", "u32"}, {21, "CurrSslConns", "MGP", "u32"}, {22, "CumSslConns", "MCP", "u32"},
	{23, "Maxpipes", "CLP", "u32"}, {24, "PipesUsed", "MGP", "u32"}, {25, "PipesFree", "MGP", "u32"},
	{26, "ConnRate", "MRP", "u32"}, {27, "ConnRateLimit", "CLP", "u32"}, {28, "MaxConnRate", "MMP", "u32"},
	{29, "SessRate", "MRP", "u32"}, {30, "SessRateLimit", "CLP", "u32"}, {31, "MaxSessRate", "MRP", "u32"},
	{32, "SslRate", "MRP", "u32"}, {33, "SslRateLimit", "CLP", "u32"}, {34, "MaxSslRate", "MMP", "u32"},
	{35, "SslFrontendKeyRate", "MGP", "u32"}, {36, "SslFrontendMaxKeyRate", "MMP", "u32"},
	{37, "SslFrontendSessionReuse_pct", "MGP", "u32"}, {38, "SslBackendKeyRate", "MRP", "u32"},
	{39, "SslBackendMaxKeyRate", "MMP", "u32"}, {40, "SslCacheLookups", "MCP", "u32"}, {41, "SslCacheMisses", "MCP", "u32"},
	{42, "CompressBpsIn", "MRP", "u32"}, {43, "CompressBpsOut", "MRP", "u32"}, {44, "CompressBpsRateLim", "CLP", "u32"},
	{47, "Tasks", "MGP", "u32"}, {48, "Run_queue", "MGP", "u32"}, {49, "Idle_pct", "MaP", "u32"}, {50, "node", "COS", "str"},
	{51, "description", "COS", "str"}, {52, "Stopping", "MGP", "u32"}, {53, "Jobs", "MGP", "u32"},
	{54, "Unstoppable Jobs", "MGP", "u32"}, {55, "Listeners", "MGP", "u32"}, {56, "ActivePeers", "MGP", "u32"},
	{57, "ConnectedPeers", "MGP", "u32"}, {58, "DroppedLogs", "MGP", "u32"}, {59, "BusyPolling", "MGP", "u32"},
	{60, "FailedResolutions", "MGP", "u32"}, {61, "TotalBytesOut", "MGP", "u64"}, {62, "TotalSplicdedBytesOut", "MGP", "u64"},
	{63, "BytesOutRate", "MRP", "u64"}, {64, "DebugCommandsIssued", "MGP", "u32"}, {65, "CumRecvLogs", "MCP", "u32"},
	{66, "Build info", "POS", "str"}, {67, "Memmax_bytes", "CLP", "u32"}, {68, "PoolAlloc_bytes", "MGP", "u64"},
	{69, "PoolUsed_bytes", "MGP", "u64"}, {70, "Start_time_sec", "MDP", "u32"}, {71, "Tainted", "SGP", "str"},
}

// InfoFormat selects a `show info` rendering.
type InfoFormat int

// `show info` renderings.
const (
	InfoPlain InfoFormat = iota // "Key: value"
	InfoTyped                   // "pos.Key.1:tags:type:value"
	InfoJSON                    // HAProxy's JSON schema
)

// InfoValues returns the `show info` value of every field by name, ""
// for the fields halo has no figure for (they print as 0).
func InfoValues(i Info) map[string]string { return infoValues(i, false) }

// infoValues returns the value of every field by name.
func infoValues(i Info, float bool) map[string]string {
	up := i.Now.Sub(i.Start)
	secs := int64(up.Seconds())
	b2 := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	v := map[string]string{
		"Name": i.Name, "Version": i.Version, "Release_date": i.ReleaseDate, "Nbthread": itoa(i.Nbthread),
		"Nbproc": "1", "Process_num": "1", "Pid": itoa(i.Pid),
		"Uptime":     fmt.Sprintf("%dd %dh%02dm%02ds", secs/86400, secs%86400/3600, secs%3600/60, secs%60),
		"Uptime_sec": i64(secs), "Ulimit-n": itoa(i.UlimitN), "Maxsock": itoa(i.MaxSock), "Maxconn": itoa(i.MaxConn),
		"Hard_maxconn": itoa(i.HardMaxConn), "CurrConns": i64(i.CurrConns), "CumConns": i64(i.CumConns),
		"CumReq": i64(i.CumReq), "CurrSslConns": i64(i.CurrSslConns), "CumSslConns": i64(i.CumSslConns),
		"ConnRate": i64(i.ConnRate), "MaxConnRate": i64(i.MaxConnRate), "SessRate": i64(i.SessRate),
		"MaxSessRate": i64(i.MaxSessRate), "Tasks": i64(i.Jobs), "Idle_pct": "100", "node": i.Node,
		"description": i.Description, "Stopping": b2(i.Stopping), "Jobs": i64(i.Jobs), "Listeners": itoa(i.Listeners),
		"DroppedLogs": i64(i.DroppedLogs), "TotalBytesOut": i64(i.BytesOut), "TotalSplicdedBytesOut": i64(i.SplicedOut),
		"Build info": i.Version, "Start_time_sec": i64(i.Start.Unix()), "Tainted": "0",
	}
	if float {
		v["Uptime_sec"] = strconv.FormatFloat(up.Seconds(), 'f', 6, 64)
		v["Start_time_sec"] = strconv.FormatFloat(float64(i.Start.UnixMicro())/1e6, 'f', 6, 64)
	}
	return v
}

// WriteInfo writes `show info` in HAProxy 2.6's field order, so that
// tools reading it by key, by line or as typed/JSON fields work. float
// prints the uptime and start time with microseconds, as `show info
// float` does.
func WriteInfo(w io.Writer, s *Snapshot, f InfoFormat, float bool) error {
	vals := infoValues(s.Info, float)
	var b []byte
	if f == InfoJSON {
		b = append(b, '[')
	}
	first := true
	for _, fd := range infoFields {
		v, ok := vals[fd.name]
		if !ok {
			v = "0" // counters of features halo does not have
		}
		if fd.name == "description" && v == "" {
			continue
		}
		typ := fd.typ
		if float && (fd.name == "Uptime_sec" || fd.name == "Start_time_sec") {
			typ = "flt"
		}
		switch f {
		case InfoPlain:
			b = append(b, fd.name+": "+v+"\n"...)
		case InfoTyped:
			b = append(b, strconv.Itoa(fd.pos)+"."+fd.name+".1:"+fd.tags+":"+typ+":"+v+"\n"...)
		case InfoJSON:
			if !first {
				b = append(b, ',')
			}
			b = append(b, `{"field":{"pos":`...)
			b = strconv.AppendInt(b, int64(fd.pos), 10)
			b = append(b, `,"name":`...)
			b = appendJSONString(b, fd.name)
			b = append(b, `},"processNum":1,`...)
			b = appendTags(b, fd.tags)
			b = append(b, `,"value":`...)
			b = appendJSONValue(b, typ, v)
			b = append(b, '}')
		}
		first = false
	}
	if f == InfoJSON {
		b = append(b, "]\n"...)
	}
	b = append(b, '\n')
	_, err := w.Write(b)
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
			if sv.RMaint {
				admin = admin&^1 | 0x20
				if sv.Admin == AdminMaint && sv.Status == "MAINT" {
					admin |= 1
				}
			}
			if sv.HostMaint {
				admin |= 0x40
			}
			host = strings.Trim(host, "[]")
			if host == "" {
				host = "-"
			}
			fqdn, rec := sv.FQDN, sv.SRVRecord
			if fqdn == "" {
				fqdn = "-"
			}
			if rec == "" {
				rec = "-"
			}
			fmt.Fprintf(&b, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d 0 0 0 %s %d %s 0 0 - - 0\n",
				p.ID, p.Name, sv.ID, sv.Name, host, sv.OpState, admin, sv.UWeight, sv.IWeight,
				int64(sv.LastChg.Seconds()), sv.CheckResultCode(), sv.CheckResult, sv.CheckHealth, sv.CheckState, fqdn, port, rec)
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
