package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/halo-lb/halo/internal/httpx"
)

// HTTP/2 on the client side. Frames and HPACK come from
// golang.org/x/net/http2; each stream is turned into one HTTP/1.1
// exchange served by the same engine, rules and logs as HTTP/1.1 clients
// (serveHTTP on an in-memory connection), and the HTTP/1.1 answer is
// turned back into HEADERS and DATA frames. Servers are reached in
// HTTP/1.1.

const (
	h2MaxStreams   = 100
	h2InitialWin   = 65535
	h2MaxFrameSize = 16384
	h2MaxHeaderLst = 65536
)

// h2conn is one HTTP/2 client connection.
type h2conn struct {
	fe       *frontend
	conn     net.Conn
	fr       *http2.Framer
	accepted time.Time
	ctx      context.Context

	wmu       sync.Mutex // frame writes and the HPACK encoder
	henc      *hpack.Encoder
	hbuf      bytes.Buffer
	finalSent bool // the connection's last GOAWAY is written (under wmu)

	mu        sync.Mutex // below; cond signals window changes and closing
	cond      *sync.Cond
	streams   map[uint32]*h2stream
	last      uint32 // highest stream id opened by the client
	sendWin   int64  // connection send window
	peerWin   int64  // peer's SETTINGS_INITIAL_WINDOW_SIZE
	peerFrame uint32 // peer's SETTINGS_MAX_FRAME_SIZE
	closed    bool
	goaway    bool         // the client sent GOAWAY
	stopping  bool         // a soft stop began: GOAWAY notice sent, idle connections end after stopGrace
	served    atomic.Int64 // streams handed to the engine (http-reuse: first request or not)
	wg        sync.WaitGroup
}

// h2chunk is request bytes for the engine and the flow-control credit
// to give back once it has consumed them.
type h2chunk struct {
	b      []byte
	credit int
}

// h2stream is a request in flight.
type h2stream struct {
	id        uint32
	sendWin   int64
	remoteEnd bool // END_STREAM received
	localEnd  bool // END_STREAM sent: with remoteEnd, the stream is closed
	reset     bool // RST_STREAM sent or received
	inbuf     []h2chunk
	inEnd     bool // no more request data
	chunked   bool // request body re-encoded as chunked HTTP/1.1
	declared  int64
	received  int64
	trailer   []byte   // request trailers as HTTP/1.1 lines
	pipe      net.Conn // our end of the in-memory HTTP/1.1 connection
}

// serveH2 runs an HTTP/2 connection (after ALPN h2, or `proto h2`).
func (fe *frontend) serveH2(ctx context.Context, c net.Conn, accepted time.Time) {
	defer lingeringClose(c)
	to := fe.cfg.Timeouts.Client
	if to == 0 {
		to = 30 * time.Second
	}
	c.SetReadDeadline(time.Now().Add(to))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	h := &h2conn{fe: fe, conn: c, accepted: accepted, ctx: ctx, streams: map[uint32]*h2stream{},
		sendWin: h2InitialWin, peerWin: h2InitialWin, peerFrame: 16384}
	h.cond = sync.NewCond(&h.mu)
	h.fr = http2.NewFramer(c, c)
	h.fr.SetMaxReadFrameSize(h2MaxFrameSize)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.fr.MaxHeaderListSize = h2MaxHeaderLst
	h.henc = hpack.NewEncoder(&h.hbuf)
	h.write(func() error {
		return h.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2InitialWin},
			http2.Setting{ID: http2.SettingMaxFrameSize, Val: h2MaxFrameSize},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: h2MaxHeaderLst})
	})
	st := streamOf(ctx)
	st.setOnStop(h.softStop, fe.rt.isStopping())
	defer st.setOnStop(nil, false)
	err := h.readLoop(to)
	code := http2.ErrCodeNo
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
		code = http2.ErrCode(ce)
	case errors.Is(err, http2.ErrFrameTooLarge):
		code = http2.ErrCodeFrameSize
	}
	h.write(func() error {
		h.finalSent = true
		return h.fr.WriteGoAway(h.lastID(), code, nil)
	})
	h.mu.Lock()
	h.closed = true
	for _, s := range h.streams {
		if s.pipe != nil {
			s.pipe.Close()
		}
	}
	h.cond.Broadcast()
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *h2conn) lastID() uint32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// softStop is the connection's part of a soft stop: as HAProxy, a
// GOAWAY notice (last stream 2^31-1, NO_ERROR) says no more streams
// will be taken soon, while the streams in flight and those already on
// their way are served; then, unlike HAProxy which waits for timeout
// client, the connection ends once it has been without streams for
// stopGrace (the final GOAWAY names the last stream served), so that an
// idle client does not keep the old process alive.
func (h *h2conn) softStop() {
	h.mu.Lock()
	if h.closed || h.stopping {
		h.mu.Unlock()
		return
	}
	h.stopping = true
	h.conn.SetReadDeadline(time.Now().Add(stopGrace)) // the read loop re-arms with the bound
	h.mu.Unlock()
	h.write(func() error {
		if h.finalSent {
			return nil // the last stream id a GOAWAY names must not grow
		}
		return h.fr.WriteGoAway(1<<31-1, http2.ErrCodeNo, nil)
	})
}

// write serialises frame writes.
func (h *h2conn) write(f func() error) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	h.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return f()
}

func connErr(code http2.ErrCode) error { return http2.ConnectionError(code) }

// readLoop reads frames until the connection ends or breaks the protocol.
func (h *h2conn) readLoop(idle time.Duration) error {
	first := true
	for {
		h.mu.Lock() // (softStop sets the deadline under mu too)
		wait := idle
		if h.stopping {
			wait = min(idle, stopGrace)
		}
		h.conn.SetReadDeadline(time.Now().Add(wait))
		h.mu.Unlock()
		f, err := h.fr.ReadFrame()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				h.mu.Lock()
				busy, done := len(h.streams) > 0, (h.goaway || h.stopping) && len(h.streams) == 0
				h.mu.Unlock()
				if busy && !done {
					continue // the client waits for answers: not idle
				}
			}
			var se http2.StreamError
			if errors.As(err, &se) {
				h.resetStream(se.StreamID, se.Code)
				continue
			}
			return err
		}
		if first {
			// The client preface is followed by a SETTINGS frame.
			if _, ok := f.(*http2.SettingsFrame); !ok {
				return connErr(http2.ErrCodeProtocol)
			}
			first = false
		}
		if err := h.handle(f); err != nil {
			return err
		}
	}
}

func (h *h2conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if err := f.ForeachSetting(h.applySetting); err != nil {
			return err
		}
		return h.write(h.fr.WriteSettingsAck)
	case *http2.MetaHeadersFrame:
		return h.onHeaders(f)
	case *http2.DataFrame:
		return h.onData(f)
	case *http2.WindowUpdateFrame:
		return h.onWindowUpdate(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return h.write(func() error { return h.fr.WritePing(true, f.Data) })
	case *http2.RSTStreamFrame:
		h.mu.Lock()
		defer h.mu.Unlock()
		if f.StreamID > h.last {
			return connErr(http2.ErrCodeProtocol) // idle stream
		}
		if s := h.streams[f.StreamID]; s != nil {
			s.reset = true
			if s.pipe != nil {
				s.pipe.Close()
			}
			h.cond.Broadcast()
		}
	case *http2.GoAwayFrame:
		// No new streams will come; the ones in flight finish first.
		h.mu.Lock()
		h.goaway = true
		idle := len(h.streams) == 0
		h.mu.Unlock()
		if idle {
			return io.EOF
		}
	case *http2.PriorityFrame:
		if f.StreamID == f.PriorityParam.StreamDep {
			h.resetStream(f.StreamID, http2.ErrCodeProtocol)
		}
	case *http2.PushPromiseFrame:
		return connErr(http2.ErrCodeProtocol)
	case *http2.ContinuationFrame:
		return connErr(http2.ErrCodeProtocol) // outside a header block
	}
	return nil
}

func (h *h2conn) applySetting(s http2.Setting) error {
	if err := s.Valid(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch s.ID {
	case http2.SettingInitialWindowSize:
		delta := int64(s.Val) - h.peerWin
		h.peerWin = int64(s.Val)
		for _, st := range h.streams {
			st.sendWin += delta
			if st.sendWin > 1<<31-1 {
				return connErr(http2.ErrCodeFlowControl)
			}
		}
		h.cond.Broadcast()
	case http2.SettingMaxFrameSize:
		h.peerFrame = s.Val
	}
	return nil
}

func (h *h2conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		if inc == 0 {
			return connErr(http2.ErrCodeProtocol)
		}
		h.sendWin += inc
		if h.sendWin > 1<<31-1 {
			return connErr(http2.ErrCodeFlowControl)
		}
		h.cond.Broadcast()
		return nil
	}
	if f.StreamID > h.last {
		return connErr(http2.ErrCodeProtocol)
	}
	s := h.streams[f.StreamID]
	if s == nil {
		return nil // closed stream: ignored
	}
	if inc == 0 {
		go h.resetStream(f.StreamID, http2.ErrCodeProtocol)
		return nil
	}
	s.sendWin += inc
	if s.sendWin > 1<<31-1 {
		go h.resetStream(f.StreamID, http2.ErrCodeFlowControl)
		return nil
	}
	h.cond.Broadcast()
	return nil
}

// resetStream sends RST_STREAM and forgets the stream.
func (h *h2conn) resetStream(id uint32, code http2.ErrCode) {
	h.mu.Lock()
	if s := h.streams[id]; s != nil {
		s.reset = true
		if s.pipe != nil {
			s.pipe.Close()
		}
		h.cond.Broadcast()
	}
	h.mu.Unlock()
	h.write(func() error { return h.fr.WriteRSTStream(id, code) })
}

// connection-specific headers are malformed in HTTP/2 (RFC 9113 8.2.2).
var h2Forbidden = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true}

func (h *h2conn) onHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return connErr(http2.ErrCodeProtocol)
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		h.mu.Lock()
		if id > h.last {
			h.last = id
		}
		h.mu.Unlock()
		h.resetStream(id, http2.ErrCodeProtocol)
		return nil
	}
	h.mu.Lock()
	s := h.streams[id]
	if s != nil && s.reset {
		h.mu.Unlock()
		return connErr(http2.ErrCodeStreamClosed)
	}
	if s == nil && id <= h.last {
		h.mu.Unlock()
		return connErr(http2.ErrCodeProtocol) // stream ids only grow
	}
	if s != nil {
		if s.remoteEnd && s.localEnd {
			h.mu.Unlock()
			return connErr(http2.ErrCodeStreamClosed) // a closed stream
		}
		// Trailers: a second HEADERS must end the stream.
		if s.remoteEnd {
			h.mu.Unlock()
			h.resetStream(id, http2.ErrCodeStreamClosed)
			return nil
		}
		if !f.StreamEnded() {
			h.mu.Unlock()
			return connErr(http2.ErrCodeProtocol)
		}
		tr, err := h1Trailers(f)
		if err != nil || f.Truncated {
			h.mu.Unlock()
			h.resetStream(id, http2.ErrCodeProtocol)
			return nil
		}
		if s.declared >= 0 && s.received != s.declared {
			h.mu.Unlock()
			h.resetStream(id, http2.ErrCodeProtocol)
			return nil
		}
		s.remoteEnd = true
		s.trailer = tr // forwarded after the last chunk; dropped with a Content-Length body, as HAProxy does
		h.endInput(s)
		h.mu.Unlock()
		return nil
	}
	h.last = id
	if h.goaway {
		h.mu.Unlock()
		h.resetStream(id, http2.ErrCodeRefusedStream)
		return nil
	}
	if f.Truncated {
		h.mu.Unlock()
		h.resetStream(id, http2.ErrCodeRefusedStream)
		return nil
	}
	if len(h.streams) >= h2MaxStreams {
		h.mu.Unlock()
		h.resetStream(id, http2.ErrCodeRefusedStream)
		return nil
	}
	req, chunked, declared, err := h1Request(f)
	if err != nil {
		h.mu.Unlock()
		h.resetStream(id, http2.ErrCodeProtocol)
		return nil
	}
	s = &h2stream{id: id, sendWin: h.peerWin, chunked: chunked, declared: declared, remoteEnd: f.StreamEnded()}
	if s.remoteEnd && declared > 0 {
		h.mu.Unlock()
		h.resetStream(id, http2.ErrCodeProtocol)
		return nil
	}
	s.inbuf = append(s.inbuf, h2chunk{b: req})
	if s.remoteEnd {
		h.endInput(s)
	}
	h.streams[id] = s
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.serveStream(s)
	}()
	return nil
}

// endInput marks the end of a stream's request body. Called with mu held.
func (h *h2conn) endInput(s *h2stream) {
	if s.chunked {
		last := append(append([]byte("0\r\n"), s.trailer...), "\r\n"...)
		s.inbuf = append(s.inbuf, h2chunk{b: last})
	}
	s.inEnd = true
	h.cond.Broadcast()
}

func (h *h2conn) onData(f *http2.DataFrame) error {
	id := f.StreamID
	h.mu.Lock()
	s := h.streams[id]
	if s == nil {
		h.mu.Unlock()
		if id > h.lastID() {
			return connErr(http2.ErrCodeProtocol)
		}
		// Closed stream: the flow-control credit is given back anyway.
		if n := f.Length; n > 0 {
			h.write(func() error { return h.fr.WriteWindowUpdate(0, n) })
		}
		h.resetStream(id, http2.ErrCodeStreamClosed)
		return nil
	}
	if s.remoteEnd || s.reset {
		h.mu.Unlock()
		h.resetStream(id, http2.ErrCodeStreamClosed)
		return nil
	}
	data := f.Data()
	s.received += int64(len(data))
	if s.declared >= 0 && s.received > s.declared {
		h.mu.Unlock()
		h.resetStream(id, http2.ErrCodeProtocol)
		return nil
	}
	if len(data) > 0 {
		b := append([]byte(nil), data...)
		if s.chunked {
			b = append(append([]byte(strconv.FormatInt(int64(len(data)), 16)+"\r\n"), b...), "\r\n"...)
		}
		s.inbuf = append(s.inbuf, h2chunk{b: b, credit: len(data)})
	}
	padding := int(f.Length) - len(data)
	if f.StreamEnded() {
		s.remoteEnd = true
		if s.declared >= 0 && s.received != s.declared {
			h.mu.Unlock()
			h.resetStream(id, http2.ErrCodeProtocol)
			return nil
		}
		h.endInput(s)
	}
	h.cond.Broadcast()
	h.mu.Unlock()
	if padding > 0 {
		// Padding is not forwarded: give its credit back at once.
		h.write(func() error {
			h.fr.WriteWindowUpdate(0, uint32(padding))
			return h.fr.WriteWindowUpdate(id, uint32(padding))
		})
	}
	return nil
}

// h1Request turns a HEADERS frame into an HTTP/1.1 request head.
func h1Request(f *http2.MetaHeadersFrame) (req []byte, chunked bool, declared int64, err error) {
	var method, scheme, authority, path string
	declared = -1
	var b bytes.Buffer
	var cookies []string
	hasHost := false
	for _, hf := range f.Fields {
		if hf.IsPseudo() {
			switch hf.Name {
			case ":method":
				method = hf.Value
			case ":scheme":
				scheme = hf.Value
			case ":authority":
				authority = hf.Value
			case ":path":
				path = hf.Value
			default:
				return nil, false, 0, errors.New("unknown pseudo-header")
			}
			continue
		}
		if strings.ToLower(hf.Name) != hf.Name || h2Forbidden[hf.Name] || (hf.Name == "te" && hf.Value != "trailers") {
			return nil, false, 0, errors.New("malformed header")
		}
		switch hf.Name {
		case "cookie":
			cookies = append(cookies, hf.Value)
			continue
		case "content-length":
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 {
				return nil, false, 0, errors.New("bad content-length")
			}
			declared = n
		case "host":
			hasHost = true
		case "te", "expect":
			continue
		}
		b.WriteString(hf.Name + ": " + hf.Value + "\r\n")
	}
	if method == "" || scheme == "" || path == "" || method == "CONNECT" {
		return nil, false, 0, errors.New("missing pseudo-header")
	}
	if len(cookies) > 0 {
		b.WriteString("cookie: " + strings.Join(cookies, "; ") + "\r\n")
	}
	head := method + " " + path + " HTTP/1.1\r\n"
	if !hasHost && authority != "" {
		head += "host: " + authority + "\r\n"
	}
	chunked = declared < 0 && !f.StreamEnded()
	if chunked {
		b.WriteString("transfer-encoding: chunked\r\n")
	}
	b.WriteString("connection: close\r\n\r\n")
	return append([]byte(head), b.Bytes()...), chunked, declared, nil
}

// serveStream runs one stream through the HTTP/1.1 engine.
func (h *h2conn) serveStream(s *h2stream) {
	ours, theirs := net.Pipe()
	h.mu.Lock()
	s.pipe = ours
	h.mu.Unlock()
	defer func() {
		ours.Close()
		h.mu.Lock()
		delete(h.streams, s.id)
		if h.goaway && len(h.streams) == 0 {
			h.conn.SetReadDeadline(time.Now()) // wake the reader: the connection is done
		}
		h.mu.Unlock()
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.fe.serveHTTP(h.ctx, &h2pipe{Conn: theirs, parent: h.conn, notFirst: h.served.Add(1) > 1}, h.accepted)
		theirs.Close()
	}()
	go h.pumpRequest(s, ours)
	h.relayResponse(s, ours)
	<-done
}

// pumpRequest writes the request head and body into the pipe, giving
// flow-control credit back as the engine consumes the body.
func (h *h2conn) pumpRequest(s *h2stream, w net.Conn) {
	for {
		h.mu.Lock()
		for len(s.inbuf) == 0 && !s.inEnd && !s.reset && !h.closed {
			h.cond.Wait()
		}
		if s.reset || h.closed || (len(s.inbuf) == 0 && s.inEnd) {
			h.mu.Unlock()
			return
		}
		c := s.inbuf[0]
		s.inbuf = s.inbuf[1:]
		h.mu.Unlock()
		if _, err := w.Write(c.b); err != nil {
			return
		}
		if n := uint32(c.credit); n > 0 {
			h.write(func() error {
				h.fr.WriteWindowUpdate(0, n)
				return h.fr.WriteWindowUpdate(s.id, n)
			})
		}
	}
}

// relayResponse reads the HTTP/1.1 answer and sends it as frames.
func (h *h2conn) relayResponse(s *h2stream, r net.Conn) {
	br := bufio.NewReaderSize(r, 16384)
	var res httpx.Response
	for {
		n, err := readResponse(br, "GET", &res, httpx.Limits{MaxHead: h.fe.rt.cfg.Global.TuneBufSize})
		if err != nil {
			h.resetStream(s.id, http2.ErrCodeInternal)
			return
		}
		body := res.Body
		if res.Status >= 100 && res.Status < 200 {
			br.Discard(n)
			continue // interim responses are not relayed
		}
		// Headers.
		h.wmu.Lock()
		h.hbuf.Reset()
		h.henc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(res.Status)})
		for _, hd := range res.Headers {
			name := strings.ToLower(string(hd.Name))
			if h2Forbidden[name] || name == "te" {
				continue
			}
			h.henc.WriteField(hpack.HeaderField{Name: name, Value: string(hd.Value)})
		}
		br.Discard(n)
		end := body == httpx.BodyNone || (body == httpx.BodyLength && res.ContentLength == 0)
		if end {
			h.markLocalEnd(s)
		}
		block := append([]byte(nil), h.hbuf.Bytes()...)
		h.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		err = h.writeHeaderBlock(s.id, block, end)
		h.wmu.Unlock()
		if err != nil || end {
			return
		}
		switch body {
		case httpx.BodyLength:
			h.relayBody(s, &exactReader{r: br, left: res.ContentLength}, nil)
		case httpx.BodyChunked:
			cr := httpx.NewChunkedReader(br)
			h.relayBody(s, cr, cr.Trailers)
		default:
			h.relayBody(s, br, nil)
		}
		return
	}
}

// exactReader reads a body of a known length: io.EOF once it is all
// read, io.ErrUnexpectedEOF when the stream ends before.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case e.left == 0:
		err = io.EOF
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// h2TrailerDrop are the response trailer fields not sent to HTTP/2
// clients, as HAProxy drops them: connection-specific fields and those
// that only frame or route a message.
var h2TrailerDrop = map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "te": true, "host": true, "content-length": true}

// h2TrailerRefused are the request trailer fields that make HAProxy
// refuse the stream (RFC 9110 6.5.1: framing and routing fields do not
// belong in trailers; RFC 9113 8.2.2: connection-specific fields are
// malformed).
var h2TrailerRefused = h2TrailerDrop

// h1Trailers turns the fields of a request's trailing HEADERS frame
// into an HTTP/1.1 trailer section (lines ending in CRLF), or fails on a
// pseudo-header or a field h2TrailerRefused names.
func h1Trailers(f *http2.MetaHeadersFrame) ([]byte, error) {
	var b []byte
	for _, hf := range f.Fields {
		if hf.IsPseudo() || h2TrailerRefused[hf.Name] {
			return nil, errors.New("malformed trailers")
		}
		b = append(append(append(append(b, hf.Name...), ": "...), hf.Value...), "\r\n"...)
	}
	return b, nil
}

// writeHeaderBlock sends HEADERS and CONTINUATION frames (wmu held).
func (h *h2conn) writeHeaderBlock(id uint32, block []byte, end bool) error {
	max := int(h2MaxFrameSize)
	first := true
	for {
		chunk := block
		if len(chunk) > max {
			chunk = chunk[:max]
		}
		block = block[len(chunk):]
		var err error
		if first {
			err = h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: chunk, EndStream: end, EndHeaders: len(block) == 0})
			first = false
		} else {
			err = h.fr.WriteContinuation(id, len(block) == 0, chunk)
		}
		if err != nil || len(block) == 0 {
			return err
		}
	}
}

// relayBody sends DATA frames within the flow-control windows, ending
// the stream with the last one, or with a HEADERS frame when trailers
// (called once src is done) returns trailer fields. A body that ends
// early resets the stream: the client must not take a truncated
// response for a whole one.
func (h *h2conn) relayBody(s *h2stream, src io.Reader, trailers func() []byte) {
	buf := make([]byte, h2MaxFrameSize)
	for {
		n, rerr := src.Read(buf)
		if rerr != nil && rerr != io.EOF {
			h.resetStream(s.id, http2.ErrCodeInternal)
			return
		}
		var tr []hpack.HeaderField
		if rerr == io.EOF && trailers != nil {
			tr = trailerFields(trailers())
		}
		data := buf[:n]
		last := rerr == io.EOF && tr == nil
		if last && n == 0 {
			h.markLocalEnd(s)
			h.write(func() error { return h.fr.WriteData(s.id, true, nil) })
			return
		}
		for len(data) > 0 {
			h.mu.Lock()
			for (h.sendWin <= 0 || s.sendWin <= 0) && !s.reset && !h.closed {
				h.cond.Wait()
			}
			if s.reset || h.closed {
				h.mu.Unlock()
				return
			}
			m := int64(len(data))
			m = min(m, h.sendWin, s.sendWin, int64(h.peerFrame))
			h.sendWin -= m
			s.sendWin -= m
			h.mu.Unlock()
			chunk := data[:m]
			data = data[m:]
			end := last && len(data) == 0
			if end {
				h.markLocalEnd(s)
			}
			if err := h.write(func() error { return h.fr.WriteData(s.id, end, chunk) }); err != nil {
				return
			}
		}
		if tr != nil {
			// Encoded and written under one lock: HPACK blocks must reach
			// the client in the order the encoder produced them.
			h.markLocalEnd(s)
			h.write(func() error {
				h.hbuf.Reset()
				for _, f := range tr {
					h.henc.WriteField(f)
				}
				return h.writeHeaderBlock(s.id, append([]byte(nil), h.hbuf.Bytes()...), true)
			})
			return
		}
		if rerr != nil {
			return
		}
	}
}

// trailerFields returns the fields of a trailer section as
// ChunkedReader.Trailers returns it ("name: value\r\n" lines, names in
// lower case) without those h2TrailerDrop names; nil when none is left.
func trailerFields(tr []byte) []hpack.HeaderField {
	var out []hpack.HeaderField
	for len(tr) > 0 {
		line := tr
		if i := bytes.IndexByte(tr, '\n'); i >= 0 {
			line, tr = tr[:i], tr[i+1:]
		} else {
			tr = nil
		}
		name, value, ok := bytes.Cut(bytes.TrimSuffix(line, []byte("\r")), []byte(": "))
		if ok && !h2TrailerDrop[string(name)] {
			out = append(out, hpack.HeaderField{Name: string(name), Value: string(value)})
		}
	}
	return out
}

// h2pipe is the in-memory connection a stream is served on: it carries
// the client connection's addresses and TLS state.
type h2pipe struct {
	net.Conn
	parent   net.Conn
	notFirst bool // not the connection's first stream (http-reuse safe)
}

func (p *h2pipe) RemoteAddr() net.Addr { return p.parent.RemoteAddr() }
func (p *h2pipe) LocalAddr() net.Addr  { return p.parent.LocalAddr() }

// ConnectionState is the TLS state of the client connection (zero for
// cleartext HTTP/2).
func (p *h2pipe) ConnectionState() tls.ConnectionState {
	if tc, ok := p.parent.(*tls.Conn); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// lingeringClose shuts the write side, then reads what the client still
// sends for a moment before closing, so that unread bytes do not turn
// the close into a reset that could destroy the GOAWAY in flight.
func lingeringClose(c net.Conn) {
	closeWrite(c)
	c.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, io.LimitReader(c, 1<<20))
	c.Close()
}

// markLocalEnd records that END_STREAM is being sent on s, before the
// frame leaves, so that a frame the client sends after it sees a closed
// stream.
func (h *h2conn) markLocalEnd(s *h2stream) {
	h.mu.Lock()
	s.localEnd = true
	h.mu.Unlock()
}
