package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/halo-lb/halo/internal/config"
)

// tcpCheck runs a tcp-check program: an implicit connect to the check
// address first unless the program starts with `tcp-check connect`.
func (c *Checker) tcpCheck(ctx context.Context) Result {
	steps := c.p.Spec.TCPSteps
	_, total := c.timeouts()
	deadline := time.Now().Add(total)
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var buf []byte
	connectAt := func(st *config.TCPCheckStep, n int) *Result {
		if conn != nil {
			conn.Close()
		}
		addr := c.target()
		if st != nil && (st.Port != 0 || st.Addr != "") {
			host, port, _ := net.SplitHostPort(addr)
			if st.Addr != "" {
				host = st.Addr
			}
			if st.Port != 0 {
				port = strconv.Itoa(st.Port)
			}
			addr = net.JoinHostPort(host, port)
		}
		cn, fail := c.dial(ctx, addr)
		if fail != nil {
			where := "at initial connection step of tcp-check"
			if n > 1 {
				where = fmt.Sprintf("at step %d of tcp-check (connect)", n)
			}
			if fail.Info != "" {
				fail.Info += " " + where
			} else {
				fail.Info = where
			}
			return fail
		}
		conn = cn
		conn.SetDeadline(deadline)
		buf = buf[:0]
		return nil
	}
	if len(steps) == 0 || steps[0].Action != config.TCPCheckConnect {
		if r := connectAt(nil, 1); r != nil {
			return *r
		}
	}
	tmp := make([]byte, 4096)
	for i := range steps {
		st := &steps[i]
		n := i + 1
		switch st.Action {
		case config.TCPCheckConnect:
			if r := connectAt(st, n); r != nil {
				return *r
			}
		case config.TCPCheckSend:
			if _, err := conn.Write(st.Data); err != nil {
				return Result{Status: "L4CON", Desc: "Layer4 connection problem", Info: fmt.Sprintf("%s at step %d of tcp-check (send)", ioErrInfo(err), n)}
			}
		case config.TCPCheckExpect:
			for {
				if m := expectMatch(st, buf); m && !st.Negate {
					break
				} else if m {
					return Result{Status: "L7RSP", Desc: "Layer7 invalid response", Info: fmt.Sprintf("TCPCHK matched unwanted content '%s' at step %d", patternText(st), n)}
				}
				k, err := conn.Read(tmp)
				buf = append(buf, tmp[:k]...)
				if err == nil && len(buf) <= 16384 {
					continue
				}
				if expectMatch(st, buf) {
					continue // decided at the top of the loop
				}
				if st.Negate {
					break
				}
				switch {
				case err != nil && isTimeout(err):
					return Result{Status: "L7TOUT", Desc: "Layer7 timeout", Info: fmt.Sprintf("at step %d of tcp-check (expect %s)", n, kindText(st))}
				case len(buf) == 0:
					return Result{Status: "L7RSP", Desc: "Layer7 invalid response", Info: fmt.Sprintf("TCPCHK got an empty response at step %d", n)}
				}
				return Result{Status: "L7RSP", Desc: "Layer7 invalid response", Info: fmt.Sprintf("TCPCHK did not match content '%s' at step %d", patternText(st), n)}
			}
			buf = buf[:0]
		}
	}
	if len(steps) > 0 && steps[len(steps)-1].Action == config.TCPCheckExpect {
		return Result{OK: true, Status: "L7OK", Desc: "Layer7 check passed", Info: "(tcp-check)"}
	}
	return Result{OK: true, Status: "L4OK", Desc: "Layer4 check passed"}
}

func expectMatch(st *config.TCPCheckStep, buf []byte) bool {
	switch st.Match {
	case config.MatchRString:
		return st.Regexp.Match(buf)
	case config.MatchBinaryAt:
		end := st.Offset + len(st.Pattern)
		return len(buf) >= end && bytes.Equal(buf[st.Offset:end], st.Pattern)
	default:
		return bytes.Contains(buf, st.Pattern)
	}
}

func kindText(st *config.TCPCheckStep) string {
	switch st.Match {
	case config.MatchRString:
		return "rstring"
	case config.MatchBinary, config.MatchBinaryAt:
		return "binary"
	}
	return "string"
}

func patternText(st *config.TCPCheckStep) string {
	switch st.Match {
	case config.MatchRString:
		return st.Regexp.String()
	case config.MatchBinary, config.MatchBinaryAt:
		return fmt.Sprintf("%x", st.Pattern)
	}
	return string(st.Pattern)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func ioErrInfo(err error) string {
	if isTimeout(err) {
		return "Timeout"
	}
	return connErrInfo(err)
}
