package stats

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The CSV columns of HAProxy 2.6 in their order, and which of them each
// kind of row fills (x) or leaves empty (.), as observed from haproxy
// 2.6.12's `;csv` output: tools index these columns by position.
var csvColumns = []string{"pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout", "dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act", "bck", "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle", "lbtot", "tracked", "type", "rate", "rate_lim", "rate_max", "check_status", "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot", "cli_abrt", "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk", "last_agt", "qtime", "ctime", "rtime", "ttime", "agent_status", "agent_code", "agent_duration", "check_desc", "agent_desc", "check_rise", "check_fall", "check_health", "agent_rise", "agent_fall", "agent_health", "addr", "cookie", "mode", "algo", "conn_rate", "conn_rate_max", "conn_tot", "intercepted", "dcon", "dses", "wrew", "connect", "reuse", "cache_lookups", "cache_hits", "srv_icur", "src_ilim", "qtime_max", "ctime_max", "rtime_max", "ttime_max", "eint", "idle_conn_cur", "safe_conn_cur", "used_conn_cur", "need_conn_est", "uweight", "agg_server_status", "agg_server_check_status", "agg_check_status", "-", "ssl_sess", "ssl_reused_sess", "ssl_failed_handshake", "h2_headers_rcvd", "h2_data_rcvd", "h2_settings_rcvd", "h2_rst_stream_rcvd", "h2_goaway_rcvd", "h2_detected_conn_protocol_errors", "h2_detected_strm_protocol_errors", "h2_rst_stream_resp", "h2_goaway_resp", "h2_open_connections", "h2_backend_open_streams", "h2_total_connections", "h2_backend_total_streams", "h1_open_connections", "h1_open_streams", "h1_total_connections", "h1_total_streams", "h1_bytes_in", "h1_bytes_out", "h1_spliced_bytes_in", "h1_spliced_bytes_out"}

// fe
const maskFrontend = "xx..xxxxxxxxx....x........xxx...xxxx...xxxxxx.xxx..xxxx....................x.xxxxxxx..xx......x........xxxxxxxxxxxxxxxxxxxxxxxxx"

// be
const maskBackend = "xxxxxxxxxxxx.xxxxxxxx.xxx.xxx.x.xx.x...xxxxxx...xxxxxxxx..xxxx.............x.......xxxxx..xxxxx....xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

// srv
const maskServer = "xxxxxx.xxx.x.xxxxxxxxxxxx.xxx.x.xx.xxxxxxxxxx...xxx....x..xxxx...x.xxx.....x.......xxx..x.xxxxxxxxxx...xxxx....................."

// srvnc
const maskServerNoCheck = "xxxxxx.xxx.x.xxxxxxxx..x..xxx.x.xx.x...xxxxxx...xxx....x..xxxx.............x.......xxx..x.xxxxxxxxxx...xxxx....................."

// maskServerMaint is a checked server in maintenance: its checks are
// paused, so the check columns are empty while chkfail, chkdown and
// downtime stay (haproxy 2.6.12).
var maskServerMaint = func() string {
	m := []byte(maskServer)
	for i, c := range csvColumns {
		switch c {
		case "check_status", "check_code", "check_duration", "last_chk", "check_desc", "check_rise", "check_fall", "check_health":
			m[i] = '.'
		}
	}
	return string(m)
}()

var downtimeColumn = Column("downtime")

// CSVOptions tune WriteCSV and the typed and JSON renderings.
type CSVOptions struct {
	// Addr fills the addr column of server rows and the algo column of
	// backend rows (the runtime API does, the web page does not).
	Addr bool
	// Up shows only the servers that are up (`show stat up`); NoMaint
	// hides those in maintenance (`show stat no-maint`). Both make the
	// backend status say "(usable/total)", as HAProxy does.
	Up, NoMaint bool
	// Scope lists the proxies to show (`stats scope`); empty shows all.
	Scope []string
	// IID, Types and SID select rows as `show stat <iid> <type> <sid>`
	// does: a proxy id (-1 any), a bit field of 1 frontends, 2 backends,
	// 4 servers (-1 all), a server id (-1 any). The zero value selects
	// everything.
	IID, Types, SID int
	Filtered        bool // IID, Types and SID are set
}

// Column returns the index of a CSV column by name, -1 when unknown.
func Column(name string) int {
	for i, c := range csvColumns {
		if c == name {
			return i
		}
	}
	return -1
}

// CSVHeader is the first line of the CSV output.
func CSVHeader() string { return "# " + strings.Join(csvColumns, ",") + ",\n" }

// WriteCSV writes the header and one row per frontend, server and
// backend, in HAProxy's order.
func WriteCSV(w io.Writer, s *Snapshot, o CSVOptions) error {
	var b strings.Builder
	b.WriteString(CSVHeader())
	for _, row := range Rows(s, o) {
		for _, c := range row.Cells {
			b.WriteString(csvQuote(c.Value))
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Row is one stats row: a frontend, a server or a backend.
type Row struct {
	Obj      byte // 'F', 'B' or 'S', as in `show stat typed`
	IID, SID int
	Cells    []Cell // every CSV column, in order
}

// Cell is one column of a row. Present tells a value that exists but is
// empty (a server's last_chk) from a column the row does not have.
type Cell struct {
	Value   string
	Present bool
}

// Rows returns the selected stats rows in HAProxy's order.
func Rows(s *Snapshot, o CSVOptions) []Row {
	var out []Row
	for i := range s.Proxies {
		p := &s.Proxies[i]
		if !o.inScope(p) {
			continue
		}
		if p.Frontend != nil && o.wants(p, 1, 0) {
			out = append(out, Row{'F', p.ID, 0, forMode(p, 'F', masked(frontendRow(s, p), maskFrontend))})
		}
		if p.Backend == nil {
			continue
		}
		for j := range p.Servers {
			sv := &p.Servers[j]
			if !o.wants(p, 4, sv.ID) || (o.Up && !sv.isUp()) || (o.NoMaint && sv.Admin == AdminMaint) {
				continue
			}
			m := maskServerNoCheck
			switch {
			case sv.CheckEnabled && sv.Admin == AdminMaint:
				m = maskServerMaint
			case sv.CheckEnabled:
				m = maskServer
			}
			out = append(out, Row{'S', p.ID, sv.ID, forMode(p, 'S', masked(serverRow(s, p, sv, o), m))})
		}
		if o.wants(p, 2, 0) {
			cells := forMode(p, 'B', masked(backendRow(s, p, o), maskBackend))
			if len(p.Servers) == 0 {
				cells[downtimeColumn] = Cell{} // HAProxy leaves it empty without servers
			}
			out = append(out, Row{'B', p.ID, 0, cells})
		}
	}
	return out
}

func (o CSVOptions) inScope(p *Proxy) bool {
	if len(o.Scope) == 0 {
		return true
	}
	for _, n := range o.Scope {
		if n == p.Name {
			return true
		}
	}
	return false
}

// wants applies the `show stat <iid> <type> <sid>` filter.
func (o CSVOptions) wants(p *Proxy, typ, sid int) bool {
	if !o.Filtered {
		return true
	}
	if o.IID != -1 && o.IID != p.ID {
		return false
	}
	if o.Types != -1 && o.Types&typ == 0 {
		return false
	}
	return typ != 4 || o.SID == -1 || o.SID == sid
}

// isUp is what `show stat up` keeps: servers usable or draining (HAProxy
// hides DOWN and MAINT ones).
func (sv *Server) isUp() bool {
	return sv.Admin != AdminMaint && (strings.HasPrefix(sv.Status, "UP") || sv.Status == "no check" || sv.Status == "DRAIN")
}

// csvQuote quotes a value only when it is ambiguous, doubling quotes.
func csvQuote(v string) string {
	if !strings.ContainsAny(v, ",\"\n\r") {
		return v
	}
	return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
}

// dynamic columns are filled or left empty by the row's own values.
var dynamic = map[string]bool{"addr": true, "algo": true, "last_chk": true, "check_code": true, "cookie": true, "slim": true, "qlimit": true, "throttle": true, "hanafail": true}

// httpOnly are the columns a tcp-mode row leaves empty (haproxy 2.6.12).
var httpOnly = map[byte][]string{
	'F': {"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "intercepted", "cache_lookups", "cache_hits"},
	'B': {"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "req_tot", "cache_lookups", "cache_hits"},
	'S': {"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "req_tot"},
}

// forMode empties the HTTP columns of a tcp-mode row.
func forMode(p *Proxy, obj byte, cells []Cell) []Cell {
	if p.Mode != "tcp" {
		return cells
	}
	for _, c := range httpOnly[obj] {
		cells[Column(c)] = Cell{}
	}
	return cells
}

func masked(vals map[string]string, mask string) []Cell {
	row := make([]Cell, len(csvColumns))
	for i, c := range csvColumns {
		if dynamic[c] && (c != "slim" || mask[i] == '.') {
			v, ok := vals[c]
			row[i] = Cell{v, ok}
			continue
		}
		if mask[i] == '.' {
			continue
		}
		if v, ok := vals[c]; ok {
			row[i] = Cell{v, true}
		} else {
			// Counters of features halo does not have (compression,
			// caches, HTTP/2 ...) are zero.
			row[i] = Cell{"0", true}
		}
	}
	return row
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
func itoa(n int) string  { return strconv.Itoa(n) }
func ms(d time.Duration) string {
	return strconv.FormatInt(d.Milliseconds(), 10)
}
func secs(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

func common(s *Snapshot, p *Proxy, c *Counters, svname string, typ ObjType) map[string]string {
	v := map[string]string{
		"pxname": p.Name, "svname": svname, "qcur": i64(c.QCur), "qmax": i64(c.QMax), "scur": i64(c.SCur),
		"smax": i64(c.SMax), "stot": i64(c.STot), "bin": i64(c.BytesIn), "bout": i64(c.BytesOut),
		"dcon": i64(c.DeniedConn), "dreq": i64(c.DeniedReq), "dresp": i64(c.DeniedResp), "ereq": i64(c.ErrReq), "econ": i64(c.ErrConn),
		"eresp": i64(c.ErrResp), "wretr": i64(c.Retries), "wredis": i64(c.Redispatches), "pid": "1",
		"iid": itoa(p.ID), "sid": "0", "lbtot": i64(c.LBTot), "type": itoa(int(typ)), "rate": i64(c.Rate),
		"rate_max": i64(c.RateMax), "rate_lim": "0",
		"hrsp_1xx": i64(c.HRsp[0]), "hrsp_2xx": i64(c.HRsp[1]), "hrsp_3xx": i64(c.HRsp[2]), "hrsp_4xx": i64(c.HRsp[3]),
		"hrsp_5xx": i64(c.HRsp[4]), "hrsp_other": i64(c.HRsp[5]), "req_rate": i64(c.ReqRate),
		"req_rate_max": i64(c.ReqRateMax), "req_tot": i64(c.ReqTot), "cli_abrt": i64(c.CliAbrt), "srv_abrt": i64(c.SrvAbrt),
		"lastsess": lastSess(c.LastSess), "qtime": ms(c.QTime), "ctime": ms(c.CTime), "rtime": ms(c.RTime), "ttime": ms(c.TTime),
		"mode": p.Mode, "conn_rate": i64(c.ConnRate), "conn_rate_max": i64(c.ConnRateMax), "conn_tot": i64(c.ConnTot),
		"intercepted": i64(c.Intercepted), "connect": i64(c.Connect), "reuse": i64(c.Reuse),
		"qtime_max": ms(c.QTimeMax), "ctime_max": ms(c.CTimeMax), "rtime_max": ms(c.RTimeMax), "ttime_max": ms(c.TTimeMax),
		"idle_conn_cur": i64(c.IdleConnCur), "ssl_sess": i64(c.SSLSess), "ssl_reused_sess": i64(c.SSLReusedSess),
		"ssl_failed_handshake": i64(c.SSLFailedHS), "-": "-",
		"comp_in": i64(c.CompIn), "comp_out": i64(c.CompOut), "comp_byp": i64(c.CompByp), "comp_rsp": i64(c.CompRsp),
		"h1_open_connections": i64(c.SCur), "h1_open_streams": i64(c.SCur), "h1_total_connections": i64(c.STot),
		"h1_total_streams": i64(c.ReqTot), "h1_bytes_in": i64(c.BytesIn), "h1_bytes_out": i64(c.BytesOut),
	}
	return v
}

func lastSess(d time.Duration) string {
	if d < 0 {
		return "-1"
	}
	return secs(d)
}

func frontendRow(s *Snapshot, p *Proxy) map[string]string {
	v := common(s, p, p.Frontend, "FRONTEND", TypeFrontend)
	v["slim"], v["status"] = itoa(p.MaxConn), p.Status
	return v
}

func backendRow(s *Snapshot, p *Proxy, o CSVOptions) map[string]string {
	v := common(s, p, p.Backend, "BACKEND", TypeBackend)
	v["slim"], v["status"], v["weight"] = itoa(p.FullConn), p.BEStatus, itoa(p.Weight)
	if o.Up || o.NoMaint {
		up := 0
		for i := range p.Servers {
			if sv := &p.Servers[i]; sv.Admin != AdminMaint && !strings.HasPrefix(sv.Status, "DOWN") {
				up++
			}
		}
		v["status"] = fmt.Sprintf("%s (%d/%d)", p.BEStatus, up, len(p.Servers))
	}
	v["act"], v["bck"], v["lastchg"], v["downtime"] = itoa(p.Act), itoa(p.Bck), secs(p.LastChg), secs(p.Downtime)
	v["chkdown"] = "0"
	if p.Cookie != "" {
		v["cookie"] = p.Cookie
	}
	if o.Addr {
		v["algo"] = p.Algo
	}
	v["uweight"] = itoa(p.Weight)
	v["agg_server_status"], v["agg_server_check_status"], v["agg_check_status"] = "0", "0", "0"
	return v
}

func serverRow(s *Snapshot, p *Proxy, sv *Server, o CSVOptions) map[string]string {
	v := common(s, p, &sv.Counters, sv.Name, TypeServer)
	act, bck := "1", "0"
	if sv.Backup {
		act, bck = "0", "1"
	}
	v["sid"], v["status"], v["weight"], v["act"], v["bck"] = itoa(sv.ID), sv.Status, itoa(sv.Weight), act, bck
	v["chkfail"], v["chkdown"], v["lastchg"], v["downtime"] = i64(sv.ChkFail), i64(sv.ChkDown), secs(sv.LastChg), secs(sv.Downtime)
	v["lbtot"], v["uweight"] = i64(sv.Counters.LBTot), itoa(sv.UWeight)
	if sv.Cookie != "" {
		v["cookie"] = sv.Cookie
	}
	if sv.SLim > 0 {
		v["slim"] = itoa(sv.SLim)
	}
	if sv.Throttle >= 0 {
		v["throttle"] = itoa(sv.Throttle)
	}
	if sv.Observe {
		v["hanafail"] = i64(sv.HanaFail)
	}
	if sv.QLimit > 0 {
		v["qlimit"] = itoa(sv.QLimit)
	}
	if o.Addr {
		v["addr"] = sv.Addr
	}
	if sv.CheckEnabled && sv.Admin != AdminMaint {
		v["check_status"], v["check_duration"], v["check_desc"] = sv.CheckStatus, ms(sv.CheckDuration), sv.CheckDesc
		if sv.CheckRunning && sv.CheckStatus != "" {
			v["check_status"] = "* " + sv.CheckStatus
		}
		v["check_rise"], v["check_fall"], v["check_health"] = itoa(sv.CheckRise), itoa(sv.CheckFall), itoa(sv.CheckHealth)
		if sv.CheckCode > 0 {
			v["check_code"] = itoa(sv.CheckCode)
		}
		v["last_chk"] = sv.LastChk
	}
	return v
}
