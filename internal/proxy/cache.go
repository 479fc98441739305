package proxy

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"hash/crc32"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/halo-lb/halo/internal/cache"
	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/httpx"
)

// This file is HAProxy 2.6's small object cache on the HTTP path:
// `http-request cache-use` looks a response up and serves it without
// touching a server, `http-response cache-store` keeps the response as
// it is relayed. What is stored and served follows haproxy 2.6.12 as
// observed side by side (test/integration/cache_test.go).

// txCache is the cache state of one request.
type txCache struct {
	key     cache.Key
	keyed   bool // cache-use computed the key (cache-store needs it)
	ignore  bool // the request may not be served from the cache
	noStore bool // its response may not be stored
	hit     *cache.Entry
	served  bool // the response comes from the cache
	pend    *pendingStore
}

// pendingStore collects a response body being relayed to store it.
type pendingStore struct {
	store *cache.Store
	e     *cache.Entry
	body  []byte
	over  bool // larger than max-object-size: given up
}

// Write collects body bytes (it never fails: the relay goes on).
func (p *pendingStore) Write(b []byte) (int, error) {
	if !p.over {
		if int64(len(p.body)+len(b)) > p.store.MaxObject() {
			p.over, p.body = true, nil
		} else {
			p.body = append(p.body, b...)
		}
	}
	return len(b), nil
}

// newCaches builds a store per cache section.
func newCaches(cfg *config.Config) map[string]*cache.Store {
	out := map[string]*cache.Store{}
	for name, c := range cfg.Caches {
		out[name] = cache.New(cache.Options{MaxBytes: c.TotalMaxSize, MaxObject: c.MaxObjectSize, MaxSecondary: c.MaxSecondaryEntries})
	}
	return out
}

// cacheTokens splits the values of a header on commas, trimmed.
func cacheTokens(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// cacheUse is `http-request cache-use`: it classifies the request,
// computes its key, and looks the response up.
func (tx *httpTxn) cacheUse(r *config.HTTPRule) {
	c := &tx.cache
	s := tx.fe.rt.caches[r.Name]
	v := &tx.view
	if tx.minor == 0 || v.method != "GET" && v.method != "HEAD" {
		c.ignore = true
	}
	pragma, cc := false, false
	for _, h := range v.hdr {
		switch {
		case isName(h.name, "pragma"):
			if len(h.value) >= 8 && strings.EqualFold(h.value[:8], "no-cache") {
				pragma = true
			}
		case isName(h.name, "authorization"):
			c.ignore, c.noStore = true, true
		case isName(h.name, "cache-control"):
			cc = true
			for _, t := range cacheTokens([]string{h.value}) {
				lt := strings.ToLower(t)
				switch {
				case lt == "no-cache":
					c.ignore = true
				case lt == "no-store":
					c.noStore = true
				case strings.HasPrefix(lt, "max-age"), strings.HasPrefix(lt, "max-stale"), strings.HasPrefix(lt, "min-fresh"):
					// haproxy 2.6.12 does not serve these from the cache
					// (observed); the response may still be stored.
					c.ignore = true
				}
			}
		}
	}
	if pragma && !cc {
		c.ignore = true
	}
	host := v.Header("host")
	if len(host) == 0 || v.target == "" {
		return
	}
	// The key is that of the absolute URI, https whatever the scheme
	// (haproxy 2.6 hashes it so: show cache prints the same hash).
	uri := v.target
	if !strings.Contains(uri, "://") {
		uri = "https://" + host[0] + uri
	}
	c.key, c.keyed = sha1.Sum([]byte(uri)), true
	if c.ignore || c.hit != nil || s == nil {
		return
	}
	c.hit = s.Lookup(c.key, v)
}

// knownEncodings are the content codings haproxy 2.6 knows when a
// response varies on Accept-Encoding (the IANA registry); another one
// prevents storing.
var knownEncodings = map[string]bool{"aes128gcm": true, "br": true, "compress": true, "deflate": true, "exi": true,
	"gzip": true, "identity": true, "pack200-gzip": true, "x-compress": true, "x-gzip": true, "zstd": true}

// cacheStore is `http-response cache-store`: when the response may be
// stored, the body is collected as it is relayed (cacheCommit stores it).
func (tx *httpTxn) cacheStore(r *config.HTTPRule) {
	c := &tx.cache
	s := tx.fe.rt.caches[r.Name]
	v := &tx.view
	if s == nil || !c.keyed || c.served || c.pend != nil {
		return
	}
	if v.method != "GET" {
		// A successful unsafe request invalidates the stored URL.
		switch v.method {
		case "HEAD", "OPTIONS", "TRACE":
		default:
			if v.status >= 200 && v.status < 400 {
				s.Delete(c.key)
			}
		}
		return
	}
	if tx.minor == 0 || c.noStore || v.status != 200 {
		return
	}
	fresh, validator := false, false
	smaxage, maxage := -1, -1
	for _, t := range cacheTokens(v.ResHeader("cache-control")) {
		lt := strings.ToLower(t)
		switch {
		case lt == "private" || lt == "no-cache" || lt == "no-store" || lt == "max-age=0" || lt == "s-maxage=0":
			return
		case strings.HasPrefix(lt, "no-cache=\"set-cookie"):
			return
		case strings.HasPrefix(lt, "s-maxage"), strings.HasPrefix(lt, "max-age"):
			fresh = true
			name, val, ok := strings.Cut(lt, "=")
			if !ok {
				continue
			}
			n, ok := leadingInt(strings.Trim(val, "\""))
			if !ok || n < 0 {
				return
			}
			if name == "s-maxage" {
				smaxage = n
			} else {
				maxage = n
			}
		}
	}
	expires := -1
	if exp := v.ResHeader("expires"); len(exp) > 0 {
		fresh = true
		if maxage < 0 && smaxage < 0 {
			expires = 0
			if t, err := http.ParseTime(exp[0]); err == nil && !t.Before(time.Now()) {
				expires = int(time.Until(t) / time.Second)
			}
		}
	}
	if !fresh {
		validator = len(v.ResHeader("etag")) > 0 || len(v.ResHeader("last-modified")) > 0
		if !validator {
			return
		}
	}
	cfg := tx.fe.rt.cfg.Caches[r.Name]
	limit := int(cfg.MaxAge / time.Second)
	effective, trueMax := limit, limit
	switch {
	case smaxage > 0:
		effective, trueMax = min(smaxage, limit), smaxage
	case maxage > 0:
		effective, trueMax = min(maxage, limit), maxage
	case expires >= 0:
		effective, trueMax = min(expires, limit), expires
	}
	if effective <= 0 {
		return
	}
	var age int64
	if a := v.ResHeader("age"); len(a) > 0 {
		if n, err := strconv.ParseInt(a[0], 10, 64); err == nil && n > 0 {
			age = n
		}
	}
	if age > int64(trueMax) {
		return
	}
	variant, sig, ok := tx.cacheVariant(cfg)
	if !ok {
		return
	}
	now := s.Now()
	e := &cache.Entry{Key: c.key, Status: v.status, Reason: v.reason, Chunked: tx.res.Chunked,
		Variant: variant, Vary: sig, Stored: now, Age: age, Expire: now.Add(time.Duration(effective) * time.Second)}
	for _, h := range v.rhdr {
		if isName(h.name, "connection") || isName(h.name, "transfer-encoding") || isName(h.name, "age") {
			continue
		}
		e.Headers = append(e.Headers, cache.Header{Name: h.name, Value: h.value})
	}
	if et := v.ResHeader("etag"); len(et) > 0 {
		e.ETag = et[0]
	}
	e.LastModified = now
	for _, name := range []string{"last-modified", "date"} {
		if lm := v.ResHeader(name); len(lm) > 0 {
			if t, err := http.ParseTime(lm[0]); err == nil {
				e.LastModified = t
				break
			}
		}
	}
	c.pend = &pendingStore{store: s, e: e}
	if e.Size() > s.MaxObject() {
		c.pend.over = true
	}
}

// leadingInt reads the number a directive starts with, as strtol.
func leadingInt(s string) (int, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:i])
	return n, err == nil
}

// cacheVariant handles the response's Vary header: none, or (with
// process-vary on) Accept-Encoding and Referer only, as haproxy 2.6.
// It returns what a later request must match and the variant's
// signature; ok is false when the response may not be stored.
func (tx *httpTxn) cacheVariant(cfg *config.Cache) (func(cache.Request) bool, uint64, bool) {
	v := &tx.view
	var ae, ref bool
	for _, t := range cacheTokens(v.ResHeader("vary")) {
		switch strings.ToLower(t) {
		case "accept-encoding":
			ae = true
		case "referer":
			ref = true
		default:
			return nil, 0, false
		}
	}
	if !ae && !ref {
		return nil, 0, true
	}
	// haproxy 2.6.12 never stores a response varying on Referer alone
	// (observed); with Accept-Encoding as well it does.
	if !cfg.ProcessVary || !ae {
		return nil, 0, false
	}
	enc := "identity"
	if ce := cacheTokens(v.ResHeader("content-encoding")); len(ce) == 1 {
		enc = strings.ToLower(ce[0])
	} else if len(ce) > 1 {
		return nil, 0, false
	}
	if !knownEncodings[enc] {
		return nil, 0, false
	}
	var referer []string
	if ref {
		referer = append(referer, v.Header("referer")...)
	}
	sig := uint64(encodingBit(enc)) << 32
	if len(referer) > 0 {
		sig |= uint64(crc32.ChecksumIEEE([]byte(referer[0])))
	}
	return func(req cache.Request) bool {
		if !acceptsEncoding(req.Header("accept-encoding"), enc) {
			return false
		}
		if ref {
			got := req.Header("referer")
			if len(got) != len(referer) || len(got) > 0 && got[0] != referer[0] {
				return false
			}
		}
		return true
	}, sig, true
}

// encodingBit numbers the known codings for the Vary signature.
func encodingBit(enc string) uint32 {
	names := make([]string, 0, len(knownEncodings))
	for n := range knownEncodings {
		names = append(names, n)
	}
	sort.Strings(names)
	return 1 << sort.SearchStrings(names, enc)
}

// acceptsEncoding reports whether an Accept-Encoding allows a stored
// coding: no header allows any; identity is allowed unless refused.
func acceptsEncoding(vals []string, enc string) bool {
	if len(vals) == 0 {
		return true
	}
	star, identityRefused := false, false
	for _, t := range cacheTokens(vals) {
		name, params, _ := strings.Cut(t, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		refused := false
		if _, q, ok := strings.Cut(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				refused = true
			}
		}
		switch {
		case name == enc || enc == "gzip" && name == "x-gzip" || enc == "x-gzip" && name == "gzip":
			return !refused
		case name == "*":
			star = !refused
		case name == "identity" && refused:
			identityRefused = true
		}
	}
	if enc == "identity" {
		return !identityRefused
	}
	return star
}

// cacheCommit stores the collected response once relayed whole.
func (tx *httpTxn) cacheCommit() {
	p := tx.cache.pend
	tx.cache.pend = nil
	if p == nil || p.over {
		return
	}
	p.e.Body = p.body
	p.store.Insert(p.e)
}

// serveCached answers the request with the cached response: the
// frontend's (and the backend's, when its rule found it) http-response
// rules apply to it, then it goes out with an Age header, as a 304 when
// the request's validators match.
func (tx *httpTxn) serveCached() (bool, bool) {
	fe, e, v := tx.fe, tx.cache.hit, &tx.view
	tx.cache.served = true
	age := e.Age + int64(time.Since(e.Stored)/time.Second)
	notMod := notModified(v, e)
	v.status, v.reason = e.Status, e.Reason
	if notMod {
		v.status, v.reason = 304, "Not Modified"
	}
	v.rhdr = v.rhdr[:0]
	for _, h := range e.Headers {
		v.rhdr = append(v.rhdr, hdr{h.Name, h.Value})
	}
	v.rhdr = append(v.rhdr, hdr{"age", strconv.FormatInt(age, 10)})
	res := &tx.res
	res.Reset()
	res.Major, res.Minor, res.Status, res.Chunked = 1, 1, v.status, e.Chunked
	res.Body, res.ContentLength = httpx.BodyLength, int64(len(e.Body))
	if e.Chunked {
		res.Body = httpx.BodyChunked
	}
	// The cache keeps the server's response; compression, after the
	// cache as in HAProxy, applies to what it serves.
	tx.selectCompression()
	tx.compOn = tx.compressResponse(res)
	tx.term, tx.local = 'L', []byte{}
	pxs := []*config.Proxy{fe.cfg}
	if tx.be != nil && tx.be.cfg != fe.cfg {
		pxs = []*config.Proxy{tx.be.cfg, fe.cfg}
	}
	for _, px := range pxs {
		if tx.applyRules(px, px.HTTPResponse) == ruleLocal {
			tx.reqKeep = false
			tx.state = 'H'
			tx.pxStats(px).deniedResp.Add(1)
			return tx.answerLocal()
		}
	}
	keep := tx.reqKeep && tx.body == httpx.BodyNone && fe.cfg.HTTPConnMode != config.HTTPClose
	tx.status = v.status
	tx.afterResponse()
	if tx.compOn {
		tx.compressHeaders(res)
	}
	out := tx.responseHead(res, keep, false)
	if tx.compOn && !tx.headReq && v.status != 204 && v.status != 304 {
		tx.pbuf = out[:0]
		if _, err := tx.client.Write(out); err != nil {
			return false, false
		}
		if err := tx.compressed(bytes.NewReader(e.Body), nil, nil, tx.be); err != nil {
			return false, false
		}
		return keep, true
	}
	if !tx.headReq && !notMod && v.status != 204 {
		switch {
		case e.Chunked && len(e.Body) > 0:
			out = fmt.Appendf(out, "%x\r\n", len(e.Body))
			out = append(out, e.Body...)
			out = append(out, "\r\n0\r\n\r\n"...)
		case e.Chunked:
			out = append(out, "0\r\n\r\n"...)
		default:
			out = append(out, e.Body...)
		}
	}
	tx.pbuf = out[:0]
	if _, err := tx.client.Write(out); err != nil {
		return false, false
	}
	return keep, true
}

// notModified reports whether the request's If-None-Match (weak
// comparison, or *) or, without it, If-Modified-Since matches the entry.
func notModified(v *httpView, e *cache.Entry) bool {
	if inm := v.Header("if-none-match"); len(inm) > 0 {
		if e.ETag == "" {
			return false
		}
		want := strings.TrimPrefix(e.ETag, "W/")
		for _, t := range cacheTokens(inm) {
			if t == "*" || strings.TrimPrefix(t, "W/") == want {
				return true
			}
		}
		return false
	}
	if ims := v.Header("if-modified-since"); len(ims) > 0 {
		t, err := http.ParseTime(ims[0])
		return err == nil && !e.LastModified.After(t)
	}
	return false
}

// ShowCache renders `show cache` in haproxy 2.6's layout. halo has no
// shared-memory blocks: the addresses are the entries' positions, the
// blocks are 1 kB units of the entries' sizes.
func (rt *Runtime) ShowCache() string {
	var b strings.Builder
	names := make([]string, 0, len(rt.caches))
	for n := range rt.caches {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		return rt.cfg.Caches[names[i]].Pos.Line < rt.cfg.Caches[names[j]].Pos.Line
	})
	now := time.Now()
	for i, n := range names {
		s := rt.caches[n]
		st := s.Stats()
		fmt.Fprintf(&b, "%#x: %s (shctx:%#x, available blocks:%d)\n", 0x1000*(i+1), n, 0x1000*(i+1), (st.Max-st.Used)>>10)
		for j, e := range s.Live() {
			size := e.Size()
			fmt.Fprintf(&b, "%#x hash:%d vary:0x%016x size:%d (%d blocks), refcount:0, expire:%d\n",
				0x1000*(i+1)+0x10*(j+1), e.Key.Hash(), e.Vary, size, (size+1023)>>10, e.Expire.Unix()-now.Unix())
		}
	}
	return b.String()
}
