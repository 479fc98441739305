package stats

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func testSnapshot() *Snapshot {
	c := Counters{SCur: 1, SMax: 2, STot: 10, BytesIn: 100, BytesOut: 2000, HRsp: [6]int64{0, 9, 1}, ReqTot: 10, LastSess: -1}
	return &Snapshot{
		Info: Info{Name: "halo", Version: "test", Pid: 42, Node: "lb-node-1", Start: time.Unix(1000, 0), Now: time.Unix(1061, 0), MaxConn: 100},
		Proxies: []Proxy{
			{Name: "fe", ID: 2, Mode: "http", Frontend: &c, Status: "OPEN", MaxConn: 3000},
			{Name: `be<script>`, ID: 3, Mode: "http", Algo: "roundrobin", Backend: &c, BEStatus: "UP", Act: 1, Weight: 1,
				Servers: []Server{
					{Name: "s1", ID: 1, Addr: "127.0.0.1:9001", Status: "UP", Weight: 1, CheckEnabled: true, CheckStatus: "L7OK", CheckCode: 200,
						CheckDesc: "Layer7 check passed", CheckRise: 2, CheckFall: 3, CheckHealth: 4, Counters: c},
					{Name: "s2,x", ID: 2, Addr: "127.0.0.1:9002", Status: "MAINT", Admin: AdminMaint, Backup: true, Counters: c},
				}},
		},
	}
}

func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, testSnapshot(), CSVOptions{Addr: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# "))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want header + FRONTEND + 2 servers + BACKEND", len(rows))
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for _, tc := range []struct {
		row       int
		col, want string
	}{
		{1, "svname", "FRONTEND"}, {1, "status", "OPEN"}, {1, "slim", "3000"}, {1, "qcur", ""}, {1, "type", "0"},
		{2, "svname", "s1"}, {2, "check_status", "L7OK"}, {2, "check_code", "200"}, {2, "addr", "127.0.0.1:9001"},
		{2, "sid", "1"}, {2, "type", "2"}, {3, "svname", "s2,x"}, {3, "status", "MAINT"}, {3, "bck", "1"},
		{3, "check_status", ""}, {4, "svname", "BACKEND"}, {4, "pxname", "be<script>"},
		{4, "hrsp_2xx", "9"}, {4, "mode", "http"}, {4, "algo", "roundrobin"}, // socket form
	} {
		if got := rows[tc.row][col[tc.col]]; got != tc.want {
			t.Errorf("row %d %s = %q, want %q", tc.row, tc.col, got, tc.want)
		}
	}
	if !strings.Contains(out, `,"s2,x",`) {
		t.Error("a name with a comma must be quoted")
	}
}

// TestCSVHeaderMatchesHAProxy: the header is the one haproxy 2.6.12
// prints (captured from `show stat`), byte for byte.
func TestCSVHeaderMatchesHAProxy(t *testing.T) {
	want := "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n"
	if got := CSVHeader(); got != want {
		t.Errorf("header:\n%s\nwant\n%s", got, want)
	}
}

func TestHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, testSnapshot(), PageOptions{URI: "/stats", ShowNode: true, Admin: true, Refresh: 5 * time.Second, ShowLegends: true}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<title>Statistics Report for halo on lb-node-1</title>", `class="active_up"`, `class="maintain"`,
		"be&lt;script&gt;", `href="/stats;csv"`, `name="action"`, `value="#3"`, "L7OK/200 in 0ms", "uptime = 1m1s"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "be<script>") {
		t.Error("proxy name not escaped")
	}
}

func TestParseAdminForm(t *testing.T) {
	r, err := ParseAdminForm([]byte("s=web1&s=web2&action=drain&b=%233"))
	if err != nil || r.BackendID != 3 || r.Action != AdminDrain || len(r.Servers) != 2 {
		t.Errorf("%+v %v", r, err)
	}
	for _, bad := range []string{"s=a&action=drain", "s=a&action=explode&b=%231", "action=ready&b=%231", "%zz"} {
		if _, err := ParseAdminForm([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestInfoAndServersState(t *testing.T) {
	var b bytes.Buffer
	WriteInfo(&b, testSnapshot(), InfoPlain, false)
	if !strings.HasPrefix(b.String(), "Name: halo\nVersion: test\nRelease_date: ") || !strings.Contains(b.String(), "\nUptime_sec: 61\n") ||
		!strings.Contains(b.String(), "\nnode: lb-node-1\n") || !strings.HasSuffix(b.String(), "Tainted: 0\n\n") {
		t.Errorf("show info:\n%s", b.String())
	}
	b.Reset()
	WriteServersState(&b, testSnapshot(), "")
	lines := strings.Split(b.String(), "\n")
	if lines[0] != "1" || !strings.HasPrefix(lines[1], "# be_id be_name srv_id") || !strings.HasPrefix(lines[2], "3 be<script> 1 s1 127.0.0.1 ") ||
		!strings.Contains(lines[3], " 9002 ") {
		t.Errorf("show servers state:\n%s", b.String())
	}
}

func FuzzParseAdminForm(f *testing.F) {
	f.Add([]byte("s=web1&action=maint&b=%234"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseAdminForm(b) })
}

func TestTyped(t *testing.T) {
	var b bytes.Buffer
	WriteTyped(&b, testSnapshot(), CSVOptions{Addr: true})
	out := b.String()
	for _, want := range []string{"F.2.0.0.pxname.1:KNS:str:fe\n", "F.2.0.4.scur.1:MGP:u32:1\n", "F.2.0.17.status.1:SGP:str:OPEN\n",
		"S.3.1.1.svname.1:KNS:str:s1\n", "S.3.1.36.check_status.1:MOP:str:L7OK\n", "S.3.1.37.check_code.1:MOP:u32:200\n",
		// An empty last_chk is printed, as haproxy 2.6.12 does for a passing check.
		"S.3.1.56.last_chk.1:MOP:str:\n", "B.3.0.1.svname.1:KNS:str:BACKEND\n",
		// The module columns are numbered without the "-" separator.
		"F.2.0.103.ssl_sess.1:MCP:u64:0\n", "F.2.0.126.h1_spliced_bytes_out.1:MCP:u64:0\n", "B.3.0.76.algo.1:CGS:str:roundrobin\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("typed output lacks %q", want)
		}
	}
	for _, bad := range []string{".-.", "S.3.2.36.check_status", "S.3.1.74.cookie"} {
		if strings.Contains(out, bad) {
			t.Errorf("typed output has %q", bad)
		}
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	WriteJSON(&b, testSnapshot(), CSVOptions{Addr: true})
	var rows [][]struct {
		ObjType string `json:"objType"`
		ProxyID int    `json:"proxyId"`
		ID      int    `json:"id"`
		Field   struct {
			Pos  int
			Name string
		}
		ProcessNum int `json:"processNum"`
		Tags       struct{ Origin, Nature, Scope string }
		Value      struct {
			Type  string
			Value any
		}
	}
	if err := json.Unmarshal(b.Bytes(), &rows); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	f := rows[0][0]
	if f.ObjType != "Frontend" || f.ProxyID != 2 || f.Field.Name != "pxname" || f.Tags.Origin != "Key" || f.Tags.Nature != "Name" ||
		f.Tags.Scope != "Service" || f.Value.Type != "str" || f.Value.Value != "fe" || f.ProcessNum != 1 {
		t.Errorf("first field %+v", f)
	}
	for _, fd := range rows[1] {
		if fd.Field.Name == "scur" && (fd.Value.Type != "u32" || fd.Value.Value != float64(1)) {
			t.Errorf("scur %+v", fd)
		}
		if fd.Field.Name == "svname" && fd.Value.Value != "s1" || fd.ObjType != "Server" || fd.ID != 1 {
			t.Errorf("server field %+v", fd)
		}
	}
}

func TestInfoFormats(t *testing.T) {
	var b bytes.Buffer
	WriteInfo(&b, testSnapshot(), InfoTyped, false)
	for _, want := range []string{"0.Name.1:POS:str:halo\n", "8.Uptime_sec.1:MDP:u32:61\n", "47.Tasks.1:MGP:u32:0\n", "71.Tainted.1:SGP:str:0\n\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("typed info lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	WriteInfo(&b, testSnapshot(), InfoPlain, true)
	if !strings.Contains(b.String(), "\nUptime_sec: 61.000000\n") || !strings.Contains(b.String(), "\nStart_time_sec: 1000.000000\n") {
		t.Errorf("float info:\n%s", b.String())
	}
	b.Reset()
	WriteInfo(&b, testSnapshot(), InfoJSON, true)
	var fields []struct {
		Field struct {
			Pos  int
			Name string
		}
		Value struct {
			Type  string
			Value any
		}
	}
	if err := json.Unmarshal(b.Bytes(), &fields); err != nil {
		t.Fatal(err)
	}
	if fields[8].Field.Name != "Uptime_sec" || fields[8].Value.Type != "flt" || fields[8].Value.Value != 61.0 {
		t.Errorf("json info: %+v", fields[8])
	}
}
