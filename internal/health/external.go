package health

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/halo-lb/halo/internal/config"
)

// ExternalEnv is what an external check command is told about its proxy
// and server, as HAProxy 2.6 tells it (arguments and HAPROXY_*
// environment variables).
type ExternalEnv struct {
	Check     config.ExternalCheck
	ProxyName string
	ProxyID   int
	ProxyAddr string // the proxy's first bind address, "" without one
	ProxyPort string
	ServerID  int
	MaxConn   int
	Proto     string // "h1" in HTTP mode, else "tcp"
	SSL       bool
	CurConn   func() int64 // the server's current connections
	Stdout    *os.File     // where the command's output goes (halo's own)
	Stderr    *os.File
}

// externalCheck runs the command with <proxy address> <proxy port>
// <server address> <server port> and an environment of HAProxy's
// variables only: exit status 0 passes. It is killed, with its process
// group, after min(inter, timeout check).
func (c *Checker) externalCheck(ctx context.Context) Result {
	e := c.p.External
	host, port, err := net.SplitHostPort(c.target())
	if err != nil {
		host, port = c.target(), ""
	}
	pa, pp := e.ProxyAddr, e.ProxyPort
	argAddr, argPort := pa, pp
	if pa == "" {
		argAddr, argPort = "NOT_USED", "NOT_USED"
	}
	limit := c.p.Inter
	if c.p.TimeoutCheck > 0 && c.p.TimeoutCheck < limit {
		limit = c.p.TimeoutCheck
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.Command(e.Check.Command, argAddr, argPort, host, port)
	ssl := "0"
	if e.SSL {
		ssl = "1"
	}
	var cur int64
	if e.CurConn != nil {
		cur = e.CurConn()
	}
	cmd.Env = []string{
		"PATH=" + e.Check.Path,
		"HAPROXY_PROXY_ADDR=" + pa,
		"HAPROXY_PROXY_ID=" + strconv.Itoa(e.ProxyID),
		"HAPROXY_PROXY_NAME=" + e.ProxyName,
		"HAPROXY_PROXY_PORT=" + pp,
		"HAPROXY_SERVER_ADDR=" + host,
		"HAPROXY_SERVER_CURCONN=" + strconv.FormatInt(cur, 10),
		"HAPROXY_SERVER_ID=" + strconv.Itoa(e.ServerID),
		"HAPROXY_SERVER_MAXCONN=" + strconv.Itoa(e.MaxConn),
		"HAPROXY_SERVER_NAME=" + c.p.Server,
		"HAPROXY_SERVER_PORT=" + port,
		"HAPROXY_SERVER_PROTO=" + e.Proto,
		"HAPROXY_SERVER_SSL=" + ssl,
	}
	cmd.Stdout, cmd.Stderr = e.Stdout, e.Stderr
	// Its own process group, so that a timeout kills what it started too;
	// and it dies with halo.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return Result{Status: "PROCERR", Desc: "External check error", Code: 255}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-cctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the command and what it started
		<-done
		if ctx.Err() != nil {
			return Result{Status: "PROCERR", Desc: "External check error"} // stopping
		}
		return Result{Status: "PROCTOUT", Desc: "External check timeout"}
	}
	if err == nil {
		return Result{OK: true, Status: "PROCOK", Desc: "External check passed"}
	}
	var ee *exec.ExitError
	code := 255
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
			code = ws.ExitStatus()
		}
	}
	return Result{Status: "PROCERR", Desc: "External check error", Code: code}
}
