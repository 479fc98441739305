package proxy

import (
	"bytes"
	"io"
	"strconv"
	"strings"

	"github.com/halo-lb/halo/internal/acl"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/httpx"
	"github.com/halo-lb/halo/internal/promex"
	"github.com/halo-lb/halo/internal/stats"
)

// serveStats answers requests for px's statistics page: HTML, ;csv, and
// the admin form's POST. It reports false when the request is not for
// the page.
func (tx *httpTxn) serveStats(px *config.Proxy) bool {
	st := px.Stats
	uri := st.URI
	if uri == "" {
		uri = "/haproxy?stats"
	}
	if !strings.HasPrefix(tx.view.target, uri) {
		return false
	}
	rt := tx.fe.rt
	opts := strings.Split(tx.view.target[len(uri):], ";")
	has := func(o string) bool {
		for _, x := range opts {
			if x == o {
				return true
			}
		}
		return false
	}
	if len(st.Auth) > 0 && !tx.statsAuthOK(st) {
		realm := st.Realm
		if realm == "" {
			realm = "HAProxy Statistics"
		}
		tx.setLocal(401, authResponse(realm), 'P')
		return true
	}
	admin := false
	for _, c := range st.Admin {
		if c.Match(&tx.acl) {
			admin = true
		}
	}
	if tx.view.method == "POST" {
		tx.statsPost(px, uri, admin)
		return true
	}
	snap := rt.Snapshot()
	var body bytes.Buffer
	ctype := "text/html"
	switch {
	case has("csv"):
		ctype = "text/plain"
		stats.WriteCSV(&body, snap, stats.CSVOptions{Scope: st.Scope})
	case has("json"):
		// HAProxy 2.6's JSON schema, the rows `stats scope` allows.
		ctype = "application/json"
		stats.WriteJSON(&body, snap, stats.CSVOptions{Scope: st.Scope})
	default:
		o := stats.PageOptions{URI: uri, Refresh: st.Refresh, ShowNode: st.ShowNode, NodeName: st.NodeName,
			ShowLegends: st.ShowLegends, ShowDesc: st.ShowDesc, HideVersion: st.HideVersion, Admin: admin,
			Scope: st.Scope, Version: Version}
		if has("norefresh") {
			o.Refresh = 0
		}
		for _, x := range opts {
			switch x {
			case "st=DONE":
				o.Message = "Action processed successfully."
			case "st=DENY":
				o.Message = "Action denied."
			case "st=ERR":
				o.Message = "The request could not be processed."
			}
		}
		stats.WriteHTML(&body, snap, o)
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\ncache-control: no-cache\r\ncontent-type: " + ctype + "\r\n")
	if st.Refresh > 0 && !has("norefresh") {
		b.WriteString("refresh: " + strconv.Itoa(int(st.Refresh.Seconds())) + "\r\n")
	}
	b.WriteString("content-length: " + strconv.Itoa(body.Len()) + "\r\n\r\n")
	b.Write(body.Bytes())
	tx.setLocal(200, []byte(b.String()), 'L')
	return true
}

// statsAuthOK checks Basic credentials against `stats auth` lines.
func (tx *httpTxn) statsAuthOK(st *config.Stats) bool {
	h := tx.view.Header("authorization")
	if len(h) == 0 {
		return false
	}
	user, pass, ok := acl.BasicCredentials(h[0])
	if !ok {
		return false
	}
	for _, u := range st.Auth {
		if u.User == user && u.Password == pass {
			return true
		}
	}
	return false
}

// statsPost applies the admin form and redirects back to the page with
// the outcome, as HAProxy does (303 to <uri>;st=DONE).
func (tx *httpTxn) statsPost(px *config.Proxy, uri string, admin bool) {
	result := "DENY"
	if admin && tx.body == httpx.BodyLength && tx.cl <= 16384 {
		body := make([]byte, tx.cl)
		if _, err := io.ReadFull(tx.br, body); err == nil {
			tx.body = httpx.BodyNone // consumed
			result = "ERR"
			if req, err := stats.ParseAdminForm(body); err == nil {
				result = "DONE"
				be := tx.fe.rt.backendByID(req.BackendID)
				if be == nil {
					result = "ERR"
				}
				for _, s := range req.Servers {
					if be == nil || tx.fe.rt.SetServerState(be.cfg.Name, s, req.Action) != nil {
						result = "ERR"
					}
				}
			}
		}
	}
	resp := "HTTP/1.1 303 See Other\r\ncontent-length: 0\r\nlocation: " + uri + ";st=" + result + "\r\ncache-control: no-cache\r\n\r\n"
	tx.setLocal(303, []byte(resp), 'L')
}

func (rt *Runtime) backendByID(id int) *backend {
	for _, b := range rt.backends {
		if b.cfg.ID == id {
			return b
		}
	}
	return nil
}

// prometheus answers `http-request use-service prometheus-exporter`.
func (tx *httpTxn) prometheus() {
	_, query, _ := strings.Cut(tx.view.target, "?")
	opts, err := promex.ParseQuery(query)
	if err != nil {
		tx.setLocal(400, tx.errorPage(tx.fe.cfg, 400), 'I') // as HAProxy's exporter for an unknown scope
		return
	}
	body, err := promex.WriteMetrics(tx.fe.rt.Snapshot(), opts)
	if err != nil {
		tx.setLocal(500, tx.errorPage(tx.fe.cfg, 500), 'I')
		return
	}
	head := "HTTP/1.1 200 OK\r\ncache-control: no-cache\r\ncontent-type: " + promex.ContentType +
		"\r\ncontent-length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	tx.setLocal(200, append([]byte(head), body...), 'L')
}
