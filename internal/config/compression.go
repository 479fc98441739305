package config

// CompAlgo is an HTTP compression algorithm of `compression algo`.
type CompAlgo uint8

// The algorithms HAProxy 2.6 knows.
const (
	CompIdentity   CompAlgo = iota // no coding: the response is only re-chunked
	CompGzip                       // gzip (RFC 1952)
	CompDeflate                    // deflate in its zlib wrapper (RFC 1950)
	CompRawDeflate                 // deflate without the zlib wrapper, announced as "deflate"
)

var compAlgoNames = [...]string{"identity", "gzip", "deflate", "raw-deflate"}

// String returns the algorithm's configuration name.
func (a CompAlgo) String() string { return compAlgoNames[a] }

// Token returns the content-coding the algorithm is negotiated and
// announced with (raw-deflate passes for "deflate").
func (a CompAlgo) Token() string {
	if a == CompRawDeflate {
		return "deflate"
	}
	return a.String()
}

// Compression is a proxy's `compression` settings. A backend's
// algorithms (and its types) win over the frontend's when it has some.
type Compression struct {
	// Algos in HAProxy's preference order: each algorithm named goes in
	// front of those named before it (so "algo deflate gzip" lists gzip
	// first, which is what "Accept-Encoding: *" gets).
	Algos []CompAlgo
	// Types are the Content-Type prefixes compressed, matched ignoring
	// case; none: every type but multipart/*.
	Types   []string
	Offload bool // Accept-Encoding is removed from requests sent to servers
}

func (c *Compression) clone() *Compression {
	if c == nil {
		return nil
	}
	return &Compression{Algos: append([]CompAlgo(nil), c.Algos...), Types: append([]string(nil), c.Types...), Offload: c.Offload}
}

var compressionKeyword = &Keyword{Name: "compression", Sections: inAllProxies,
	Doc:   "HTTP response compression: 'compression algo <identity|gzip|deflate|raw-deflate>...', 'compression type <mime prefix>...', 'compression offload' (ignored with a warning in defaults)",
	parse: (*builder).parseCompression}

func (b *builder) parseCompression(ln *Line) {
	w := ln.Words
	if len(w) < 2 || (w[1] != "algo" && w[1] != "type" && w[1] != "offload") {
		b.errorf(ln.Pos, "'compression' expects 'algo', 'type' or 'offload'")
		return
	}
	c := b.px.Compression
	if c == nil {
		c = &Compression{}
	}
	switch w[1] {
	case "algo":
		if len(w) < 3 {
			b.errorf(ln.Pos, "'compression' expects <algorithm>.")
			return
		}
		for _, name := range w[2:] {
			a, ok := CompAlgo(0), false
			for i, n := range compAlgoNames {
				if n == name {
					a, ok = CompAlgo(i), true
				}
			}
			if !ok {
				b.errorf(ln.Pos, "'compression' : '%s' is not a supported algorithm.", name)
				return
			}
			c.Algos = append([]CompAlgo{a}, c.Algos...)
		}
	case "type":
		if len(w) < 3 {
			b.errorf(ln.Pos, "'compression' expects <type>.")
			return
		}
		// As with algorithms, the last named is tried first; for prefix
		// matching the order does not change the outcome.
		for _, t := range w[2:] {
			c.Types = append([]string{t}, c.Types...)
		}
	case "offload":
		// HAProxy ignores any word after 'offload'.
		if b.sec == secDefaults {
			b.warnf(ln.Pos, "'compression' : 'offload' ignored in 'defaults' section.")
			return
		}
		c.Offload = true
	}
	b.px.Compression = c
}
