package httpx

import (
	"bufio"
	"io"
)

// maxChunkSize bounds a chunk-size line's value (2^48 bytes): larger
// values are refused rather than risking overflow games.
const maxChunkSize = 1 << 48

// ChunkedReader decodes a chunked body from r, strictly: hexadecimal
// sizes without sign or leading spaces, extensions after ';' ignored,
// CRLF (or a bare LF, as HAProxy accepts) after each chunk. Trailer
// fields are checked like header lines, within the limits, and kept for
// Trailers. Errors are *Error with status 400.
type ChunkedReader struct {
	r       *bufio.Reader
	remain  int64
	state   int // 0 = size line next, 1 = data, 2 = done
	lim     Limits
	trailer []byte // normalised trailer section, reused between bodies
}

// NewChunkedReader returns a decoder reading from r with the default
// limits.
func NewChunkedReader(r *bufio.Reader) *ChunkedReader { return &ChunkedReader{r: r} }

// Reset reuses the decoder for another body read from r within lim,
// keeping its trailer buffer.
func (c *ChunkedReader) Reset(r *bufio.Reader, lim Limits) {
	*c = ChunkedReader{r: r, lim: lim, trailer: c.trailer[:0]}
}

// Trailers returns the trailer fields received after the last chunk,
// each as "name: value\r\n" with the name in lower case (as HAProxy
// forwards them), or nothing. It is valid once Read returned io.EOF,
// until the next Reset.
func (c *ChunkedReader) Trailers() []byte { return c.trailer }

func (c *ChunkedReader) Read(p []byte) (int, error) {
	for {
		switch c.state {
		case 2:
			return 0, io.EOF
		case 0:
			n, err := c.sizeLine()
			if err != nil {
				return 0, err
			}
			if n == 0 {
				if err := c.trailers(); err != nil {
					return 0, err
				}
				c.state = 2
				return 0, io.EOF
			}
			c.remain, c.state = n, 1
		case 1:
			if int64(len(p)) > c.remain {
				p = p[:c.remain]
			}
			n, err := c.r.Read(p)
			c.remain -= int64(n)
			if c.remain == 0 {
				if err := c.crlf(); err != nil {
					return n, err
				}
				c.state = 0
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			if n > 0 || err != nil {
				return n, err
			}
		}
	}
}

func (c *ChunkedReader) line() ([]byte, error) {
	l, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fail(400, "chunk line too long")
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	l = l[:len(l)-1]
	if len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	return l, nil
}

func (c *ChunkedReader) sizeLine() (int64, error) {
	l, err := c.line()
	if err != nil {
		return 0, err
	}
	var n int64
	i := 0
	for ; i < len(l); i++ {
		d := l[i]
		var v byte
		switch {
		case d >= '0' && d <= '9':
			v = d - '0'
		case d >= 'a' && d <= 'f':
			v = d - 'a' + 10
		case d >= 'A' && d <= 'F':
			v = d - 'A' + 10
		default:
			goto ext
		}
		n = n<<4 | int64(v)
		if n > maxChunkSize {
			return 0, fail(400, "chunk size too large")
		}
	}
ext:
	if i == 0 {
		return 0, fail(400, "invalid chunk size")
	}
	rest := l[i:]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[0] != ';' {
		return 0, fail(400, "invalid character after chunk size")
	}
	for _, ch := range rest {
		if ch < ' ' && ch != '\t' || ch == 0x7f {
			return 0, fail(400, "control character in chunk extension")
		}
	}
	return n, nil
}

func (c *ChunkedReader) crlf() error {
	l, err := c.line()
	if err != nil {
		return err
	}
	if len(l) != 0 {
		return fail(400, "chunk data longer than its size")
	}
	return nil
}

func (c *ChunkedReader) trailers() error {
	lim := c.lim.withDefaults()
	c.trailer = c.trailer[:0]
	for n := 0; ; n++ {
		l, err := c.line()
		if err != nil {
			return err
		}
		if len(l) == 0 {
			return nil
		}
		if n >= lim.MaxHeaders {
			return fail(400, "too many trailer fields")
		}
		if len(c.trailer)+len(l)+2 > lim.MaxHead {
			return fail(400, "trailer section larger than the buffer")
		}
		name, value, err := headerLine(l)
		if err != nil {
			return err
		}
		for _, ch := range name {
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			c.trailer = append(c.trailer, ch)
		}
		c.trailer = append(c.trailer, ':', ' ')
		c.trailer = append(c.trailer, value...)
		c.trailer = append(c.trailer, '\r', '\n')
	}
}

// ChunkedWriter writes a body with the chunked coding.
type ChunkedWriter struct{ W io.Writer }

func (w ChunkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var hdr [20]byte
	h := appendHex(hdr[:0], uint64(len(p)))
	h = append(h, '\r', '\n')
	if _, err := w.W.Write(h); err != nil {
		return 0, err
	}
	n, err := w.W.Write(p)
	if err != nil {
		return n, err
	}
	_, err = w.W.Write([]byte("\r\n"))
	return n, err
}

// Close writes the last chunk and an empty trailer section.
func (w ChunkedWriter) Close() error {
	_, err := w.W.Write([]byte("0\r\n\r\n"))
	return err
}

// CloseTrailers writes the last chunk followed by trailer, a trailer
// section as ChunkedReader.Trailers returns it (lines ending in CRLF).
// buf is scratch space for the single write; the grown buffer is
// returned for reuse.
func (w ChunkedWriter) CloseTrailers(trailer, buf []byte) ([]byte, error) {
	if len(trailer) == 0 {
		return buf, w.Close()
	}
	buf = append(buf[:0], "0\r\n"...)
	buf = append(buf, trailer...)
	buf = append(buf, '\r', '\n')
	_, err := w.W.Write(buf)
	return buf, err
}

func appendHex(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	if v == 0 {
		return append(b, '0')
	}
	var tmp [16]byte
	i := len(tmp)
	for v > 0 {
		i--
		tmp[i] = digits[v&15]
		v >>= 4
	}
	return append(b, tmp[i:]...)
}
