package health

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/halo-lb/halo/internal/config"
)

// httpCheck sends the `option httpchk` request and judges the response:
// 2xx and 3xx pass unless `http-check expect` says otherwise.
func (c *Checker) httpCheck(ctx context.Context) Result {
	start := time.Now()
	conn, fail := c.dial(ctx, c.target())
	if fail != nil {
		return *fail
	}
	defer conn.Close()
	conn.SetDeadline(c.readDeadline(start))
	h := c.p.Spec.HTTP
	method, uri, ver := orDefault(h.Method, "OPTIONS"), orDefault(h.URI, "/"), orDefault(h.Version, "HTTP/1.0")
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s %s\r\n", method, uri, ver)
	for _, hd := range h.Headers {
		fmt.Fprintf(&req, "%s: %s\r\n", hd[0], hd[1])
	}
	if h.Body != "" {
		fmt.Fprintf(&req, "content-length: %d\r\n", len(h.Body))
	}
	req.WriteString("\r\n")
	req.WriteString(h.Body)
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return Result{Status: "L4CON", Desc: "Layer4 connection problem", Info: ioErrInfo(err)}
	}
	br := bufio.NewReaderSize(conn, 4096)
	line, err := br.ReadString('\n')
	if err != nil {
		if isTimeout(err) {
			return Result{Status: "L7TOUT", Desc: "Layer7 timeout"}
		}
		return Result{Status: "L7RSP", Desc: "Layer7 invalid response", Info: "Empty response"}
	}
	line = strings.TrimRight(line, "\r\n")
	parts := strings.SplitN(line, " ", 3)
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "HTTP/") || len(parts[1]) != 3 {
		return Result{Status: "L7RSP", Desc: "Layer7 invalid response", Info: "Invalid response"}
	}
	code, err := strconv.Atoi(parts[1])
	if err != nil {
		return Result{Status: "L7RSP", Desc: "Layer7 invalid response", Info: "Invalid response"}
	}
	reason := ""
	if len(parts) == 3 {
		reason = parts[2]
	}
	e := h.Expect
	if h.DisableOn404 && code == 404 {
		return Result{OK: true, Status: "L7OKC", Code: code, Desc: "Layer7 check conditionally passed", Info: reason}
	}
	if e == nil {
		if code >= 200 && code < 400 {
			return Result{OK: true, Status: "L7OK", Code: code, Desc: "Layer7 check passed"}
		}
		return Result{Status: "L7STS", Code: code, Desc: "Layer7 wrong status", Info: reason}
	}
	var ok bool
	switch e.Match {
	case config.MatchStatus:
		ok = statusIn(code, e.Value)
	case config.MatchRStatus:
		ok = e.Regexp.MatchString(parts[1])
	case config.MatchString, config.MatchRString:
		body, _ := readBody(br)
		if e.Match == config.MatchString {
			ok = strings.Contains(body, e.Value)
		} else {
			ok = e.Regexp.MatchString(body)
		}
		if ok == e.Negate {
			return Result{Status: "L7RSP", Code: code, Desc: "Layer7 invalid response", Info: "HTTP content check did not match" + expectComment(e)}
		}
		return Result{OK: true, Status: "L7OK", Code: code, Desc: "Layer7 check passed"}
	}
	if ok == e.Negate {
		return Result{Status: "L7STS", Code: code, Desc: "Layer7 wrong status", Info: reason + expectComment(e)}
	}
	return Result{OK: true, Status: "L7OK", Code: code, Desc: "Layer7 check passed"}
}

// expectComment ends a failure reason with the expect rule's comment, as
// HAProxy: "Internal Server Error comment: <text>".
func expectComment(e *config.HTTPExpect) string {
	if e.Comment == "" {
		return ""
	}
	return " comment: " + e.Comment
}

func statusIn(code int, spec string) bool {
	for _, part := range strings.Split(spec, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		l, _ := strconv.Atoi(lo)
		h := l
		if isRange {
			h, _ = strconv.Atoi(hi)
		}
		if code >= l && code <= h {
			return true
		}
	}
	return false
}

// readBody reads the rest of the response (headers then body), bounded.
func readBody(br *bufio.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(br, 16384))
	s := string(b)
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		s = s[i+4:]
	}
	return s, err
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
