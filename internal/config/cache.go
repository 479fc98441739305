package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Cache is a `cache <name>` section: HAProxy's small object cache, used
// by `http-request cache-use` and `http-response cache-store`.
type Cache struct {
	Name string
	Pos  Pos
	// TotalMaxSize is the memory the cache may use, in bytes
	// (total-max-size, written in megabytes).
	TotalMaxSize int64
	// MaxObjectSize bounds one object, head and body, in bytes; at most
	// half of TotalMaxSize. Zero in the file means a 256th of it.
	MaxObjectSize int64
	// MaxAge caps how long an object is served (max-age, 60 s by default).
	MaxAge time.Duration
	// ProcessVary stores responses that vary on Accept-Encoding (and
	// Referer); off, a response with a Vary header is not stored.
	ProcessVary bool
	// MaxSecondaryEntries bounds the variants of one URL (10 by default).
	MaxSecondaryEntries int

	sizeSet bool
	mosPos  Pos // where max-object-size was set, for the size check
}

// HAProxy's bounds: total-max-size is at most 4095 MB.
const maxCacheMB = 4095

// cacheKeywords is the `cache` section's keyword table.
var cacheKeywords = mkTable([]*Keyword{
	{Name: "total-max-size", Sections: InCache, Doc: "total-max-size <megabytes>: memory the cache may use (1 to 4095; required)", parse: (*builder).cacheTotalMaxSize},
	{Name: "max-object-size", Sections: InCache, Doc: "max-object-size <bytes>: largest object stored, head and body (at most half of total-max-size; 0 or unset: a 256th of it)", parse: (*builder).cacheMaxObjectSize},
	{Name: "max-age", Sections: InCache, Doc: "max-age <seconds>: longest time an object is served from the cache (60 by default); the response's s-maxage, max-age or Expires may shorten it", parse: (*builder).cacheMaxAge},
	{Name: "process-vary", Sections: InCache, Doc: "process-vary on|off: store responses varying on Accept-Encoding and Referer (off by default: a Vary header prevents storing)", parse: (*builder).cacheProcessVary},
	{Name: "max-secondary-entries", Sections: InCache, Doc: "max-secondary-entries <n>: variants kept for one URL with process-vary on (10 by default)", parse: (*builder).cacheMaxSecondary},
})

// CacheKeywords returns the `cache` section's keyword table, sorted by
// name, for documentation.
func CacheKeywords() []Keyword {
	var out []Keyword
	for _, k := range cacheKeywords {
		out = append(out, *k)
	}
	sortKw(out)
	return out
}

func (b *builder) openCache(ln *Line) {
	w := ln.Words
	if len(w) < 2 {
		b.errorf(ln.Pos, "'cache' expects a <name> argument")
		return
	}
	if len(w) > 2 {
		b.errorf(ln.Pos, "'cache' cannot handle unexpected argument '%s'.", w[2])
		return
	}
	if o, dup := b.cfg.Caches[w[1]]; dup {
		b.errorf(ln.Pos, "Duplicate cache name '%s' (first declared at %s).", w[1], o.Pos)
		return
	}
	b.cache = &Cache{Name: w[1], Pos: ln.Pos, MaxAge: 60 * time.Second, MaxSecondaryEntries: 10}
	b.cfg.Caches[w[1]] = b.cache
}

// cacheArg returns the keyword's single argument, reporting extra ones as
// HAProxy does.
func (b *builder) cacheArg(ln *Line) (string, bool) {
	if len(ln.Words) > 2 {
		b.errorf(ln.Pos, "'%s' cannot handle unexpected argument '%s'.", ln.Words[0], ln.Words[2])
		return "", false
	}
	if len(ln.Words) < 2 {
		return "", true
	}
	return ln.Words[1], true
}

func (b *builder) cacheTotalMaxSize(ln *Line) {
	a, ok := b.cacheArg(ln)
	if !ok {
		return
	}
	n, err := strconv.ParseInt(a, 10, 64)
	switch {
	case err != nil && !strings.HasPrefix(a, "-"):
		b.errorf(ln.Pos, "total-max-size wrong value '%s'", a)
	case n > maxCacheMB || n < 0 || err != nil:
		b.errorf(ln.Pos, "\"total-max-size\" (%s) must not be greater than %d", a, maxCacheMB)
	default:
		b.cache.TotalMaxSize, b.cache.sizeSet = n<<20, n > 0
	}
}

func (b *builder) cacheMaxObjectSize(ln *Line) {
	a, ok := b.cacheArg(ln)
	if !ok {
		return
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil && strings.HasPrefix(a, "-") {
		n, err = 1<<62, nil // haproxy reads it unsigned: far too large
	}
	if err != nil {
		b.errorf(ln.Pos, "max-object-size wrong value '%s'", a)
		return
	}
	if n < 0 {
		n = 1 << 62
	}
	b.cache.MaxObjectSize, b.cache.mosPos = n, ln.Pos
}

// atoiWarn reads a number the way HAProxy's atoi does (leading digits,
// anything else is 0), warning when the text is not a plain number.
func (b *builder) atoiWarn(ln *Line, a, what string) int {
	i := 0
	if i < len(a) && (a[i] == '-' || a[i] == '+') {
		i++
	}
	for i < len(a) && a[i] >= '0' && a[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(a[:i])
	if i != len(a) || i == 0 || n < 0 {
		b.warnf(ln.Pos, "'%s %s' is not a number of seconds: HAProxy reads it as %d, and so does halo.", what, a, n)
	}
	return n
}

func (b *builder) cacheMaxAge(ln *Line) {
	a, ok := b.cacheArg(ln)
	if !ok {
		return
	}
	if a == "" {
		b.errorf(ln.Pos, "'max-age' expects an age parameter in seconds.")
		return
	}
	n := b.atoiWarn(ln, a, "max-age")
	if n < 0 {
		n = 0
	}
	b.cache.MaxAge = time.Duration(n) * time.Second
}

func (b *builder) cacheProcessVary(ln *Line) {
	a, ok := b.cacheArg(ln)
	if !ok {
		return
	}
	switch a {
	case "on":
		b.cache.ProcessVary = true
	case "off":
		b.cache.ProcessVary = false
	default:
		// HAProxy warns and keeps the previous setting.
		b.warnf(ln.Pos, "'process-vary' expects \"on\" or \"off\" (enable or disable vary processing); the line is ignored.")
	}
}

func (b *builder) cacheMaxSecondary(ln *Line) {
	a, ok := b.cacheArg(ln)
	if !ok {
		return
	}
	n, err := strconv.Atoi(a)
	if err != nil || n <= 0 {
		b.errorf(ln.Pos, "max-secondary-entries wrong value '%s'", a)
		return
	}
	b.cache.MaxSecondaryEntries = n
}

// parseCacheAction parses `http-request cache-use <name>` and
// `http-response cache-store <name>`; the name is checked in finish (a
// cache section may follow the proxy).
func (b *builder) parseCacheAction(ln *Line, r *HTTPRule, args []string) bool {
	kw, act := ln.Words[0], ln.Words[1]
	r.Action = ActCacheUse
	if act == "cache-store" {
		r.Action = ActCacheStore
	}
	if len(args) == 0 {
		b.errorf(ln.Pos, "error detected in %s '%s' while parsing '%s %s' rule : expects a cache name.", b.pxKind(), b.px.Name, kw, act)
		return false
	}
	if len(args) > 1 {
		b.errorf(ln.Pos, "'%s %s' expects either 'if' or 'unless' followed by a condition but found '%s'.", kw, act, args[1])
		return false
	}
	r.Name = args[0]
	return true
}

// checkCaches validates the cache sections and the rules naming them.
func (b *builder) checkCaches() {
	caches := make([]*Cache, 0, len(b.cfg.Caches))
	for _, c := range b.cfg.Caches {
		caches = append(caches, c)
	}
	sort.Slice(caches, func(i, j int) bool {
		a, c := caches[i].Pos, caches[j].Pos
		return a.File < c.File || a.File == c.File && a.Line < c.Line
	})
	for _, c := range caches {
		if !c.sizeSet {
			b.errorf(c.Pos, "Size not specified for cache '%s'", c.Name)
			continue
		}
		if c.MaxObjectSize == 0 {
			c.MaxObjectSize = c.TotalMaxSize / 256
		}
		if c.MaxObjectSize > c.TotalMaxSize/2 {
			pos := c.mosPos
			if pos.Line == 0 {
				pos = c.Pos
			}
			b.errorf(pos, "\"max-object-size\" is limited to an half of \"total-max-size\" => %d", c.TotalMaxSize/2)
		}
	}
	seen := map[*HTTPRule]bool{}
	for _, px := range b.cfg.Proxies {
		for _, list := range [][]*HTTPRule{px.HTTPRequest, px.HTTPResponse} {
			for _, r := range list {
				if (r.Action != ActCacheUse && r.Action != ActCacheStore) || seen[r] {
					continue
				}
				seen[r] = true
				if b.cfg.Caches[r.Name] == nil {
					b.errorf(r.Pos, "%s '%s': unable to find the cache '%s' referenced by the filter 'cache'.", capName(px.Cap), px.Name, r.Name)
				}
			}
		}
	}
}

// String describes the cache for diagnostics.
func (c *Cache) String() string {
	return fmt.Sprintf("cache '%s' (%d MB, objects up to %d bytes, max-age %s)", c.Name, c.TotalMaxSize>>20, c.MaxObjectSize, c.MaxAge)
}
