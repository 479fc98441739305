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
// CRLF (or a bare LF, as HAProxy accepts) after each chunk, trailer
// fields read and dropped at the end. Errors are *Error with status 400.
type ChunkedReader struct {
	r      *bufio.Reader
	remain int64
	state  int // 0 = size line next, 1 = data, 2 = done
}

// NewChunkedReader returns a decoder reading from r.
func NewChunkedReader(r *bufio.Reader) *ChunkedReader { return &ChunkedReader{r: r} }

// Reset reuses the decoder for another body.
func (c *ChunkedReader) Reset(r *bufio.Reader) { *c = ChunkedReader{r: r} }

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
	for i := 0; ; i++ {
		l, err := c.line()
		if err != nil {
			return err
		}
		if len(l) == 0 {
			return nil
		}
		if i > 100 {
			return fail(400, "too many trailer fields")
		}
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
