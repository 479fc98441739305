package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/halo-lb/halo/internal/config"
)

// tcpCheck runs a tcp-check program: an implicit connect to the check
// address first unless the program starts with `tcp-check connect`.
// Failures are reported with HAProxy's wording: the step number (comment
// rules count), what the rule did and its comment.
func (c *Checker) tcpCheck(ctx context.Context) Result {
	steps := c.p.Spec.TCPSteps
	start := time.Now()
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
			if st != nil {
				where = fmt.Sprintf("at step %d of tcp-check (connect%s)%s", n, connectArgs(st), quotedComment(st))
			}
			if fail.Info != "" {
				fail.Info += " " + where
			} else {
				fail.Info = where
			}
			return fail
		}
		conn = cn
		conn.SetDeadline(c.readDeadline(start))
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
				return Result{Status: "L4CON", Desc: "Layer4 connection problem", Info: fmt.Sprintf("%s at step %d of tcp-check (send)%s", ioErrInfo(err), n, quotedComment(st))}
			}
		case config.TCPCheckExpect:
			for {
				if m := expectMatch(st, buf); m && !st.Negate {
					break
				} else if m {
					return Result{Status: "L7RSP", Desc: "Layer7 invalid response", Info: fmt.Sprintf("TCPCHK matched unwanted content %s at step %d%s", patternText(st), n, plainComment(st))}
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
					return Result{Status: "L7TOUT", Desc: "Layer7 timeout", Info: fmt.Sprintf(" at step %d of tcp-check (expect %s)%s", n, expectText(st), quotedComment(st))}
				case err != nil && errors.Is(err, syscall.ECONNRESET):
					return Result{Status: "SOCKERR", Desc: "Socket error", Info: fmt.Sprintf("Connection reset by peer at step %d of tcp-check (expect %s)%s", n, expectText(st), quotedComment(st))}
				case len(buf) == 0:
					return Result{Status: "L7RSP", Desc: "Layer7 invalid response", Info: fmt.Sprintf("TCPCHK got an empty response at step %d%s", n, plainComment(st))}
				}
				return Result{Status: "L7RSP", Desc: "Layer7 invalid response", Info: fmt.Sprintf("TCPCHK did not match content %s at step %d%s", patternText(st), n, plainComment(st))}
			}
			buf = buf[:0]
		}
	}
	if len(steps) > 0 && steps[len(steps)-1].Action == config.TCPCheckExpect {
		return Result{OK: true, Status: "L7OK", Desc: "Layer7 check passed", Info: "(tcp-check)"}
	}
	return Result{OK: true, Status: "L4OK", Desc: "Layer4 check passed"}
}

// connectArgs are the port and addr of a connect rule, as HAProxy names
// the rule in a failure: "(connect port 6380)".
func connectArgs(st *config.TCPCheckStep) string {
	s := ""
	if st.Port != 0 {
		s += fmt.Sprintf(" port %d", st.Port)
	}
	if st.Addr != "" {
		s += " addr " + st.Addr
	}
	return s
}

// quotedComment and plainComment end failure messages with the rule's
// comment as HAProxy does: quoted after a rule description, bare after a
// TCPCHK content message.
func quotedComment(st *config.TCPCheckStep) string {
	if st.Comment == "" {
		return ""
	}
	return " comment: '" + st.Comment + "'"
}

func plainComment(st *config.TCPCheckStep) string {
	if st.Comment == "" {
		return ""
	}
	return " comment: " + st.Comment
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

// expectText names an expect rule: "string '+PONG'".
func expectText(st *config.TCPCheckStep) string {
	switch st.Match {
	case config.MatchRString:
		return "rstring '" + st.Regexp.String() + "'"
	case config.MatchBinary, config.MatchBinaryAt:
		return fmt.Sprintf("binary '%x'", st.Pattern)
	}
	return "string '" + string(st.Pattern) + "'"
}

// patternText is the content of a TCPCHK message: the quoted string, or
// "(regex)" and "(binary)" as HAProxy writes them.
func patternText(st *config.TCPCheckStep) string {
	switch st.Match {
	case config.MatchRString:
		return "(regex)"
	case config.MatchBinary, config.MatchBinaryAt:
		return "(binary)"
	}
	return "'" + string(st.Pattern) + "'"
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
