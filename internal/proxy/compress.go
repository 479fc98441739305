package proxy

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/httpx"
)

// HTTP response compression (`compression algo/type/offload`), as
// HAProxy 2.6 does it: the algorithm is chosen on the request's
// Accept-Encoding, the response is compressed when it is eligible, and
// goes out chunked with Content-Encoding, "Vary: Accept-Encoding" and a
// weakened ETag. The backend's algorithms and types win over the
// frontend's when it has some; offload on either side removes
// Accept-Encoding from the request.

// noComp says no algorithm was chosen for the request.
const noComp = -1

// compAlgos returns the algorithms in effect: the backend's when it has
// some, else the frontend's.
func compAlgos(fe, be *config.Proxy) []config.CompAlgo {
	if be.Compression != nil && len(be.Compression.Algos) > 0 {
		return be.Compression.Algos
	}
	if fe.Compression != nil {
		return fe.Compression.Algos
	}
	return nil
}

// compTypes returns the content-type prefixes in effect, as compAlgos.
func compTypes(fe, be *config.Proxy) []string {
	if be.Compression != nil && len(be.Compression.Types) > 0 {
		return be.Compression.Types
	}
	if fe.Compression != nil {
		return fe.Compression.Types
	}
	return nil
}

// selectCompression picks the algorithm for a request from its headers
// (after the http-request rules), or noComp, and removes Accept-Encoding
// when an algorithm was picked and either side has compression offload.
func (tx *httpTxn) selectCompression() {
	tx.compAlgo = noComp
	fe, be := tx.fe.cfg, tx.compBackend()
	if fe.Compression == nil && be.Compression == nil {
		return
	}
	v := &tx.view
	algos := compAlgos(fe, be)
	if len(algos) == 0 || oldUserAgent(v.hdr) {
		return
	}
	best := 0
	for _, h := range v.hdr {
		if !isName(h.name, "accept-encoding") {
			continue
		}
		for _, el := range strings.Split(h.value, ",") {
			tok, q := codingQ(el)
			if tok == "" || q <= best {
				continue
			}
			for _, a := range algos {
				if tok == "*" || strings.EqualFold(tok, a.Token()) {
					tx.compAlgo, best = int(a), q
					break
				}
			}
		}
	}
	if tx.compAlgo == noComp {
		// identity needs no Accept-Encoding.
		for _, a := range algos {
			if a == config.CompIdentity {
				tx.compAlgo = int(a)
				break
			}
		}
	}
	if tx.compAlgo == noComp {
		return
	}
	if (fe.Compression != nil && fe.Compression.Offload) || (be.Compression != nil && be.Compression.Offload) {
		out := v.hdr[:0]
		for _, h := range v.hdr {
			if !isName(h.name, "accept-encoding") {
				out = append(out, h)
			}
		}
		v.hdr = out
	}
}

// oldUserAgent reports a "Mozilla/4" user agent other than MSIE 6 SP2
// and later, to which HAProxy never sends compressed responses.
func oldUserAgent(hs []hdr) bool {
	for _, h := range hs {
		if !isName(h.name, "user-agent") {
			continue
		}
		ua := h.value
		if !strings.HasPrefix(ua, "Mozilla/4") {
			return false
		}
		return len(ua) < 31 || ua[25:30] != "MSIE " || ua[30] < '6' ||
			(ua[30] == '6' && (len(ua) < 54 || ua[51:54] != "SV1"))
	}
	return false
}

// codingQ splits an Accept-Encoding element into its coding and its
// q-value in thousandths (1000 when absent or unreadable).
func codingQ(el string) (string, int) {
	el = strings.TrimLeft(el, " \t")
	i := 0
	for i < len(el) && isTokenChar(el[i]) {
		i++
	}
	tok, rest := el[:i], el[i:]
	for {
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(rest, ";") {
			return tok, 1000
		}
		rest = strings.TrimLeft(rest[1:], " \t")
		if strings.HasPrefix(rest, "q=") {
			return tok, parseQ(rest[2:])
		}
		j := strings.IndexByte(rest, ';')
		if j < 0 {
			return tok, 1000
		}
		rest = rest[j:]
	}
}

// parseQ reads a qvalue: a digit, then up to three decimals; anything
// unreadable counts as 1, and values above 1 as 1.
func parseQ(s string) int {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 1000
	}
	q := int(s[0]-'0') * 1000
	if len(s) > 1 && s[1] == '.' {
		mul := 100
		for i := 2; i < len(s) && i < 5 && s[i] >= '0' && s[i] <= '9'; i++ {
			q += int(s[i]-'0') * mul
			mul /= 10
		}
	}
	return min(q, 1000)
}

func isTokenChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune("()<>@,;:\\\"/[]?={}", rune(c))
}

// compressResponse decides whether the response the server sent (before
// the http-response rules, as HAProxy) is compressed; compressHeaders
// then rewrites its head.
func (tx *httpTxn) compressResponse(res *httpx.Response) bool {
	if tx.compAlgo == noComp || res.Minor < 1 || tx.minor < 1 || tx.view.method == "HEAD" ||
		res.Status < 200 || res.Status > 203 {
		return false
	}
	switch res.Body {
	case httpx.BodyChunked:
	case httpx.BodyLength:
		if res.ContentLength == 0 {
			return false
		}
	default:
		return false // no body, or one that ends with the connection
	}
	v := &tx.view
	etags, ctype, hasCT := 0, "", false
	for _, h := range v.rhdr {
		switch {
		case isName(h.name, "content-encoding"):
			return false
		case isName(h.name, "cache-control"):
			for _, d := range strings.Split(h.value, ",") {
				if strings.EqualFold(strings.TrimSpace(d), "no-transform") {
					return false
				}
			}
		case isName(h.name, "etag"):
			etags++
			if etags > 1 || !validETag(h.value) {
				return false
			}
		case isName(h.name, "content-type") && !hasCT:
			ctype, hasCT = h.value, true
		}
	}
	types := compTypes(tx.fe.cfg, tx.compBackend())
	if hasCT {
		if hasPrefixFold(ctype, "multipart") {
			return false
		}
		if len(types) > 0 {
			ok := false
			for _, t := range types {
				ok = ok || hasPrefixFold(ctype, t)
			}
			if !ok {
				return false
			}
		}
	} else if len(types) > 0 {
		return false
	}
	return true
}

// compBackend is the backend whose compression settings apply with the
// frontend's: the frontend itself while no backend is chosen (a cache
// hit in the frontend's rules).
func (tx *httpTxn) compBackend() *config.Proxy {
	if tx.be != nil {
		return tx.be.cfg
	}
	return tx.fe.cfg
}

// compressHeaders makes the response head that of a compressed
// response: no Content-Length, chunked, Vary and Content-Encoding added,
// a strong ETag weakened. As HAProxy, this comes after the http-response
// rules (they see the server's headers, and a cache-store rule keeps the
// response as the server sent it).
func (tx *httpTxn) compressHeaders(res *httpx.Response) {
	v := &tx.view
	out := v.rhdr[:0]
	for _, h := range v.rhdr {
		switch {
		case isName(h.name, "content-length"):
			continue
		case isName(h.name, "etag") && h.value[0] == '"':
			h.value = "W/" + h.value
		}
		out = append(out, h)
	}
	if !res.Chunked {
		out = append(out, hdr{"transfer-encoding", "chunked"})
	}
	out = append(out, hdr{"vary", "Accept-Encoding"})
	if a := config.CompAlgo(tx.compAlgo); a != config.CompIdentity {
		out = append(out, hdr{"content-encoding", a.Token()})
	}
	v.rhdr = out
}

// validETag reports a strong ("x") or weak (W/"x") entity tag.
func validETag(s string) bool {
	s = strings.TrimPrefix(s, "W/")
	return len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"'
}

// encoder is a pooled compressor with its output buffer.
type encoder struct {
	algo config.CompAlgo
	w    interface {
		io.WriteCloser
		Flush() error
	}
	out chunkSink
}

// encoderPools keep one pool of encoders per algorithm: a deflate
// state is hundreds of kilobytes, made once and reset for every
// response.
type encoderPools struct {
	level int // tune.comp.maxlevel; 0 is HAProxy's default, 1
	pools [4]sync.Pool
}

func (p *encoderPools) get(a config.CompAlgo, dst io.Writer) *encoder {
	e, _ := p.pools[a].Get().(*encoder)
	if e == nil {
		level := max(p.level, 1)
		e = &encoder{algo: a, out: chunkSink{buf: make([]byte, chunkRoom, chunkRoom+compChunk+2)}}
		switch a {
		case config.CompGzip:
			e.w, _ = gzip.NewWriterLevel(&e.out, level)
		case config.CompDeflate:
			e.w, _ = zlib.NewWriterLevel(&e.out, level)
		case config.CompRawDeflate:
			e.w, _ = flate.NewWriter(&e.out, level)
		default:
			e.w = nopCompressor{&e.out}
		}
	}
	e.out.dst, e.out.buf, e.out.n, e.out.err = dst, e.out.buf[:chunkRoom], 0, nil
	switch w := e.w.(type) {
	case *gzip.Writer:
		w.Reset(&e.out)
	case *zlib.Writer:
		w.Reset(&e.out)
	case *flate.Writer:
		w.Reset(&e.out)
	}
	return e
}

func (p *encoderPools) put(e *encoder) {
	e.out.dst = nil
	p.pools[e.algo].Put(e)
}

// nopCompressor is the identity algorithm.
type nopCompressor struct{ w io.Writer }

func (n nopCompressor) Write(p []byte) (int, error) { return n.w.Write(p) }
func (n nopCompressor) Flush() error                { return nil }
func (n nopCompressor) Close() error                { return nil }

const (
	compChunk = 16 << 10 // largest chunk sent
	chunkRoom = 10       // room for the chunk size line in front of the data
)

// chunkSink gathers compressed bytes into chunks, each sent with its
// size line and CRLF in a single write.
type chunkSink struct {
	dst io.Writer
	buf []byte // chunkRoom bytes of room, then data
	n   int64  // data bytes sent (comp_out)
	err error
}

func (c *chunkSink) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 && c.err == nil {
		n := min(len(p), chunkRoom+compChunk-len(c.buf))
		c.buf = append(c.buf, p[:n]...)
		p = p[n:]
		if len(c.buf) == chunkRoom+compChunk {
			c.emit()
		}
	}
	if c.err != nil {
		return 0, c.err
	}
	return total, nil
}

// emit sends the gathered data as one chunk.
func (c *chunkSink) emit() {
	data := len(c.buf) - chunkRoom
	if data == 0 || c.err != nil {
		return
	}
	var line [chunkRoom]byte
	l := strconv.AppendUint(line[:0], uint64(data), 16)
	l = append(l, '\r', '\n')
	start := chunkRoom - len(l)
	copy(c.buf[start:], l)
	c.buf = append(c.buf, '\r', '\n')
	_, c.err = c.dst.Write(c.buf[start:])
	c.n += int64(data)
	c.buf = c.buf[:chunkRoom]
}

// compressBody relays the response body from src through the chosen
// algorithm to the client as chunks, flushing whenever the server has
// nothing more buffered (so that a streamed response streams), then the
// last chunk with the trailers of a chunked response. It returns the
// bytes read and the bytes the encoder produced.
func (tx *httpTxn) compressBody(src io.Reader, sr *bufio.Reader, trailers func() []byte) (in, out int64, err error) {
	e := tx.fe.rt.encoders.get(config.CompAlgo(tx.compAlgo), tx.client)
	defer tx.fe.rt.encoders.put(e)
	buf := tx.copyBuffer()
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			in += int64(n)
			if _, err = e.w.Write(buf[:n]); err != nil {
				return in, e.out.n, err
			}
			if sr != nil && sr.Buffered() == 0 && rerr == nil {
				if err = e.w.Flush(); err == nil {
					e.out.emit()
					err = e.out.err
				}
				if err != nil {
					return in, e.out.n, err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return in, e.out.n, rerr
		}
	}
	if err = e.w.Close(); err != nil {
		return in, e.out.n, err
	}
	e.out.emit()
	if e.out.err != nil {
		return in, e.out.n, e.out.err
	}
	var tr []byte
	if trailers != nil {
		tr = trailers()
	}
	tx.tbuf, err = httpx.ChunkedWriter{W: tx.client}.CloseTrailers(tr, tx.tbuf)
	return in, e.out.n, err
}

// compressed runs compressBody and counts it in the frontend's and the
// backend's compression counters.
func (tx *httpTxn) compressed(src io.Reader, sr *bufio.Reader, trailers func() []byte, be *backend) error {
	in, out, err := tx.compressBody(src, sr, trailers)
	for _, c := range tx.compCounters(be) {
		if config.CompAlgo(tx.compAlgo) == config.CompIdentity {
			c.compByp.Add(in)
		} else {
			c.compIn.Add(in)
			c.compOut.Add(out)
		}
		if err == nil {
			c.compRsp.Add(1)
		}
	}
	return err
}

// compCounters are the counters a compressed response is counted in:
// the frontend's and the backend's (once for a listen section).
func (tx *httpTxn) compCounters(be *backend) []*counters {
	if be == nil || be.cfg == tx.fe.cfg {
		return []*counters{&tx.fe.stats}
	}
	return []*counters{&tx.fe.stats, &be.stats}
}
