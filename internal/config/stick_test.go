package config

import (
	"strings"
	"testing"
	"time"

	"github.com/halo-lb/halo/internal/stick"
)

// The stick-table line and the rules that use tables, with haproxy -c's
// messages for the errors.
func TestStickTableConfig(t *testing.T) {
	fe := base + "frontend fe\n  mode http\n  bind :80\n"
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown store", fe + "  stick-table type ip size 1k store foo\n", "t.cfg:9: stick-table: unknown store option 'foo'."},
		{"rate without period", fe + "  stick-table type ip size 1k store http_req_rate\n", "t.cfg:9: stick-table: missing argument to store option 'http_req_rate'."},
		{"no size", fe + "  stick-table type ip\n", "t.cfg:9: stick-table: missing size."},
		{"peers refused", fe + "  stick-table type ip size 1k peers p\n", "t.cfg:9: stick-table: 'peers' is valid in HAProxy but halo does not support peers sections yet"},
		{"two tables", fe + "  stick-table type ip size 1k\n  stick-table type ip size 2k\n", "t.cfg:10: stick-table name 'fe' conflicts with table declared in frontend 'fe' at t.cfg:9."},
		{"no table to track", fe + "  http-request track-sc0 src\n", "t.cfg:9: Proxy 'fe': unable to find table 'fe' referenced by track-sc0."},
		{"unknown table", fe + "  http-request track-sc0 src table nope\n", "t.cfg:9: Proxy 'fe': unable to find table 'nope' referenced by track-sc0."},
		{"src fetch default table", fe + "  http-request deny if { src_conn_cur gt 1 }\n", "t.cfg:9: unable to find table 'fe' referenced in arg 1 of ACL keyword 'src_conn_cur' in proxy 'fe'."},
		{"converter table", fe + "  http-request deny if { src,table_conn_cur(nope) gt 1 }\n", "t.cfg:9: unable to find table 'nope' referenced in arg 1 of conversion keyword 'table_conn_cur' for ACL keyword 'src' in proxy 'fe'."},
		{"track-sc3", fe + "  http-request track-sc3 src\n", "t.cfg:9: error detected in frontend 'fe' while parsing 'http-request track-sc3' rule : 3 track-sc number exceeding 2 (MAX_SESS_STKCTR-1) value."},
		{"sc-inc-gpc0(3)", fe + "  http-request sc-inc-gpc0(3)\n", "t.cfg:9: error detected in frontend 'fe' while parsing 'http-request sc-inc-gpc0(3)' rule : invalid stick table track ID. The max allowed ID is 2."},
		{"in defaults", "defaults\n  stick-table type ip size 1k\n", "t.cfg:2: 'stick-table' is not allowed in a 'defaults' section"},
		{"stick on", base + "backend b\n  stick on src\n", "t.cfg:7: 'stick' is a valid HAProxy keyword that halo does not support yet."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := load(t, tc.text)
			if len(errs) == 0 {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(errs[0].Error(), tc.want) {
				t.Errorf("got  %q\nwant %q", errs[0].Error(), tc.want)
			}
		})
	}

	cfg, errs := load(t, fe+"  stick-table type string len 16 size 200k expire 10s nopurge store gpc0,http_req_rate(10s)\n"+
		"  tcp-request content track-sc1 req.hdr(host) if { always_true }\n"+
		"  http-request track-sc0 src table b\n  http-request sc-set-gpt0(0) 5\n"+
		"backend b\n  stick-table type ip size 1k store gpt0\n")
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	st := cfg.StickTables()
	if len(st) != 2 || st[0].Name != "fe" || st[0].Type != stick.KeyString || st[0].KeyLen != 16 || st[0].Size != 204800 ||
		st[0].Expire != 10*time.Second || !st[0].NoPurge || len(st[0].Store) != 2 || st[0].Store[1] != (stick.Store{Data: stick.HTTPReqRate, Period: 10000}) {
		t.Errorf("tables: %+v", st[0])
	}
	px := cfg.Proxies[0]
	if r := px.TCPRequest[0]; r.Stick == nil || r.Stick.Slot != 1 || r.Stick.Table != "fe" || r.Cond == nil {
		t.Errorf("tcp-request track: %+v", r)
	}
	if r := px.HTTPRequest[0]; r.Action != ActStick || r.Stick.Table != "b" || r.Stick.Kind != StickTrack {
		t.Errorf("http-request track: %+v", r)
	}
	if r := px.HTTPRequest[1]; r.Stick.Kind != StickSetGPT0 || r.Stick.Value != 5 {
		t.Errorf("sc-set-gpt0: %+v", r.Stick)
	}
}
