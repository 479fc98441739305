package stats

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PageOptions are the `stats` settings of the proxy serving the page.
type PageOptions struct {
	URI         string
	Refresh     time.Duration
	NodeName    string // shown in the title when ShowNode
	ShowNode    bool
	ShowLegends bool
	ShowDesc    string
	HideVersion bool
	Admin       bool     // the user may change server states
	Scope       []string // proxies to show; empty shows all
	Version     string
	Message     string // result of the last admin action, shown on top
}

type pageData struct {
	PageOptions
	Title   string
	Info    Info
	Uptime  string
	Proxies []pageProxy
}

type pageProxy struct {
	Proxy
	Rows []pageRow
}

type pageRow struct {
	Class      string
	Name       string
	Server     *Server
	C          *Counters
	Status     string
	LastChk    string
	Weight     string
	Act        string
	Bck        string
	Chk        string
	Dwn        string
	Dwntme     string
	Thrtle     string
	Limit      string
	QLimit     string
	IsSrv      bool
	Selectable bool
}

var page = template.Must(template.New("stats").Funcs(template.FuncMap{
	"n":     func(v int64) string { return strconv.FormatInt(v, 10) },
	"bytes": func(v int64) string { return strconv.FormatInt(v, 10) },
	"since": func(d time.Duration) string {
		if d < 0 {
			return ""
		}
		return human(d)
	},
}).Parse(`<!DOCTYPE html>
<html><head><title>{{.Title}}</title>
<meta charset="utf-8">
<style>
body { font-family: sans-serif; font-size: 12px; margin: 1em; }
h1 { font-size: 20px; color: #5a1e8c; margin: 0 0 .3em 0; }
table.tbl { border-collapse: collapse; margin-bottom: 1.2em; }
table.tbl td, table.tbl th { border: 1px solid #999; padding: 2px 4px; font-size: 11px; text-align: right; white-space: nowrap; }
table.tbl th.pxname { background: #a0103c; color: #fff; text-align: left; }
table.tbl th.hdr { background: #3cc; }
td.name { text-align: left !important; }
.frontend, .backend { background: #eeeed8; }
.active_up { background: #c4f7c4; } .active_down { background: #f99; } .active_going_up { background: #fc3; }
.active_going_down { background: #ffa; } .active_draining { background: #3af; } .active_no_check { background: #ddd; }
.backup_up { background: #b4d4ff; } .backup_down { background: #f99; } .backup_no_check { background: #ddd; }
.backup_draining { background: #c93; } .maintain { background: #c27a26; }
table.lgd td { padding: 2px 6px; border: 1px solid #999; }
.msg { background: #ffc; border: 1px solid #cc0; padding: 4px; margin-bottom: 1em; }
</style></head><body>
<h1>{{.Title}}</h1>
{{if .Message}}<div class="msg">{{.Message}}</div>{{end}}
<p>{{if not .HideVersion}}halo version {{.Version}}, {{end}}pid = {{.Info.Pid}}, uptime = {{.Uptime}}, current connections = {{.Info.CurrConns}}, maxconn = {{.Info.MaxConn}}{{if .ShowDesc}} &mdash; {{.ShowDesc}}{{end}}
<br><a href="{{.URI}};csv">CSV export</a> &middot; {{if .Refresh}}<a href="{{.URI}};norefresh">Disable refresh</a>{{else}}<a href="{{.URI}}">Refresh now</a>{{end}}</p>
{{if .ShowLegends}}<table class="lgd"><tr>
<td class="active_up">active UP</td><td class="backup_up">backup UP</td><td class="active_going_down">active UP, going down</td>
<td class="active_going_up">active DOWN, going up</td><td class="active_down">active or backup DOWN</td>
<td class="active_draining">DRAIN</td><td class="maintain">MAINT</td><td class="active_no_check">not checked</td></tr></table><br>{{end}}
{{range $p := .Proxies}}
<form method="post" action="{{$.URI}}">
<table class="tbl">
<tr><th class="pxname" colspan="30"><a name="{{$p.Name}}"></a>{{$p.Name}}{{if $p.Desc}} ({{$p.Desc}}){{end}}</th></tr>
<tr><th class="hdr" rowspan="2">{{if $.Admin}}&#x2611;{{end}}</th><th class="hdr" colspan="3">Queue</th><th class="hdr" colspan="3">Session rate</th><th class="hdr" colspan="6">Sessions</th>
<th class="hdr" colspan="2">Bytes</th><th class="hdr" colspan="2">Denied</th><th class="hdr" colspan="3">Errors</th><th class="hdr" colspan="2">Warnings</th><th class="hdr" colspan="9">Server</th></tr>
<tr><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th>
<th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th>
<th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th></tr>
{{range $r := $p.Rows}}<tr class="{{$r.Class}}">
<td class="name">{{if $r.Selectable}}<input type="checkbox" name="s" value="{{$r.Name}}"> {{end}}{{$r.Name}}</td>
<td>{{if $r.IsSrv}}{{n $r.C.QCur}}{{end}}</td><td>{{if $r.IsSrv}}{{n $r.C.QMax}}{{end}}</td><td>{{$r.QLimit}}</td>
<td>{{n $r.C.Rate}}</td><td>{{n $r.C.RateMax}}</td><td></td>
<td>{{n $r.C.SCur}}</td><td>{{n $r.C.SMax}}</td><td>{{$r.Limit}}</td><td>{{n $r.C.STot}}</td><td>{{if $r.IsSrv}}{{n $r.C.LBTot}}{{end}}</td><td>{{since $r.C.LastSess}}</td>
<td>{{bytes $r.C.BytesIn}}</td><td>{{bytes $r.C.BytesOut}}</td><td>{{n $r.C.DeniedReq}}</td><td>{{n $r.C.DeniedResp}}</td>
<td>{{n $r.C.ErrReq}}</td><td>{{n $r.C.ErrConn}}</td><td>{{n $r.C.ErrResp}}</td><td>{{n $r.C.Retries}}</td><td>{{n $r.C.Redispatches}}</td>
<td class="ac">{{$r.Status}}</td><td>{{$r.LastChk}}</td><td>{{$r.Weight}}</td><td>{{$r.Act}}</td><td>{{$r.Bck}}</td><td>{{$r.Chk}}</td><td>{{$r.Dwn}}</td><td>{{$r.Dwntme}}</td><td>{{$r.Thrtle}}</td></tr>
{{end}}</table>
{{if and $.Admin $p.Servers}}<p>Choose the action to perform on the checked servers:
<select name="action"><option value="">---</option><option value="ready">Set state to READY</option><option value="drain">Set state to DRAIN</option><option value="maint">Set state to MAINT</option></select>
<input type="hidden" name="b" value="#{{$p.ID}}"><input type="submit" value="Apply"></p>{{end}}
</form>
{{end}}
</body></html>
`))

// WriteHTML renders the statistics page.
func WriteHTML(w io.Writer, s *Snapshot, o PageOptions) error {
	title := "Statistics Report for halo"
	if o.ShowNode {
		node := o.NodeName
		if node == "" {
			node = s.Info.Node
		}
		title += " on " + node
	}
	d := pageData{PageOptions: o, Title: title, Info: s.Info, Uptime: human(s.Info.Now.Sub(s.Info.Start))}
	for _, p := range s.Proxies {
		if len(o.Scope) > 0 && !contains(o.Scope, p.Name) {
			continue
		}
		pp := pageProxy{Proxy: p}
		if p.Frontend != nil {
			pp.Rows = append(pp.Rows, pageRow{Class: "frontend", Name: "Frontend", C: p.Frontend, Status: p.Status, Limit: itoa(p.MaxConn)})
		}
		if p.Backend != nil {
			for i := range p.Servers {
				sv := &p.Servers[i]
				r := pageRow{Class: serverClass(sv), Name: sv.Name, Server: sv, C: &sv.Counters, Status: sv.Status, IsSrv: true,
					Weight: itoa(sv.Weight), Selectable: o.Admin, Dwntme: human(sv.Downtime)}
				if sv.SLim > 0 {
					r.Limit = itoa(sv.SLim)
				}
				if sv.Throttle >= 0 {
					r.Thrtle = itoa(sv.Throttle) + " %"
				}
				if sv.QLimit > 0 {
					r.QLimit = itoa(sv.QLimit)
				}
				if sv.Backup {
					r.Act, r.Bck = "-", "Y"
				} else {
					r.Act, r.Bck = "Y", "-"
				}
				if sv.CheckEnabled {
					r.LastChk = fmt.Sprintf("%s in %dms", sv.CheckStatus, sv.CheckDuration.Milliseconds())
					if sv.CheckCode > 0 {
						r.LastChk = fmt.Sprintf("%s/%d in %dms", sv.CheckStatus, sv.CheckCode, sv.CheckDuration.Milliseconds())
					}
					r.Chk, r.Dwn = strconv.FormatInt(sv.ChkFail, 10), strconv.FormatInt(sv.ChkDown, 10)
				}
				pp.Rows = append(pp.Rows, r)
			}
			pp.Rows = append(pp.Rows, pageRow{Class: "backend", Name: "Backend", C: p.Backend, Status: p.BEStatus,
				Weight: itoa(p.Weight), Act: itoa(p.Act), Bck: itoa(p.Bck), Limit: itoa(p.FullConn), Dwntme: human(p.Downtime)})
		}
		d.Proxies = append(d.Proxies, pp)
	}
	return page.Execute(w, d)
}

// serverClass is the CSS class for a server's state, as HAProxy's page
// colours them.
func serverClass(s *Server) string {
	kind := "active_"
	if s.Backup {
		kind = "backup_"
	}
	switch {
	case s.Admin == AdminMaint:
		return "maintain"
	case s.Admin == AdminDrain:
		return kind + "draining"
	case !s.CheckEnabled:
		return kind + "no_check"
	case strings.HasPrefix(s.Status, "UP "):
		return kind + "going_down"
	case strings.HasPrefix(s.Status, "DOWN "):
		return kind + "going_up"
	case strings.HasPrefix(s.Status, "UP"):
		return kind + "up"
	}
	return kind + "down"
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// human formats a duration as HAProxy's page does: 1d2h, 3h4m, 5m6s, 7s.
func human(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s >= 86400:
		return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
	case s >= 3600:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	case s >= 60:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}

// AdminRequest is an action posted from the page's admin form.
type AdminRequest struct {
	BackendID int // from b=#<iid>
	Action    AdminState
	Servers   []string
}

// ParseAdminForm reads the page's POST body: s=<server> (repeated),
// action=ready|drain|maint, b=#<backend id>.
func ParseAdminForm(body []byte) (AdminRequest, error) {
	var r AdminRequest
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return r, fmt.Errorf("malformed form: %w", err)
	}
	b := strings.TrimPrefix(v.Get("b"), "#")
	if r.BackendID, err = strconv.Atoi(b); err != nil || r.BackendID <= 0 {
		return r, errors.New("missing or invalid backend (b=#<id>)")
	}
	switch v.Get("action") {
	case "ready":
		r.Action = AdminReady
	case "drain":
		r.Action = AdminDrain
	case "maint":
		r.Action = AdminMaint
	default:
		return r, fmt.Errorf("unsupported action '%s' (ready, drain, maint)", v.Get("action"))
	}
	r.Servers = v["s"]
	if len(r.Servers) == 0 {
		return r, errors.New("no server selected")
	}
	return r, nil
}
