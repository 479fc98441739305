package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/halo-lb/halo/internal/config"
)

// listenBind opens the listening socket of one port of a bind line, or
// the inherited descriptor of fd@N.
func listenBind(ctx context.Context, bd *config.Bind, port int) ([]net.Listener, error) {
	if bd.Network == "fd" {
		f := os.NewFile(uintptr(bd.FD), "fd@"+strconv.Itoa(bd.FD))
		if f == nil {
			return nil, fmt.Errorf("%s: fd@%d is not an open file descriptor", bd.Pos, bd.FD)
		}
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: cannot use fd@%d as a listening socket: %w", bd.Pos, bd.FD, err)
		}
		return []net.Listener{ln}, nil
	}
	lc := net.ListenConfig{KeepAlive: -1, Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = bindOpts(int(fd), network, bd) })
		if err != nil {
			return err
		}
		return serr
	}}
	addr := net.JoinHostPort(bd.Host, strconv.Itoa(port))
	ln, err := lc.Listen(ctx, bd.Network, addr)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot bind socket (%w) for [%s]", bd.Pos, unwrapSyscall(err), addr)
	}
	if bd.Backlog > 0 {
		setBacklog(ln, bd.Backlog)
	}
	return []net.Listener{ln}, nil
}

// bindOpts sets a bind line's socket options on a listening socket
// before bind(2); network is "tcp4" or "tcp6" (the socket's family).
func bindOpts(fd int, network string, bd *config.Bind) error {
	var serr error
	setInt := func(level, opt, v int, name string) {
		if serr == nil {
			if e := unix.SetsockoptInt(fd, level, opt, v); e != nil {
				serr = fmt.Errorf("%s: %w", name, e)
			}
		}
	}
	set := func(level, opt int, name string) { setInt(level, opt, 1, name) }
	// Several processes may listen at once during a -sf reload.
	set(unix.SOL_SOCKET, unix.SO_REUSEPORT, "SO_REUSEPORT")
	if bd.Transparent {
		if network == "tcp6" {
			set(unix.SOL_IPV6, unix.IPV6_TRANSPARENT, "IPV6_TRANSPARENT")
		} else {
			set(unix.SOL_IP, unix.IP_TRANSPARENT, "IP_TRANSPARENT")
		}
	}
	if bd.FreeBind {
		if network == "tcp6" {
			set(unix.SOL_IPV6, unix.IPV6_FREEBIND, "IPV6_FREEBIND")
		} else {
			set(unix.SOL_IP, unix.IP_FREEBIND, "IP_FREEBIND")
		}
	}
	switch {
	case bd.V6Only && network == "tcp6":
		set(unix.SOL_IPV6, unix.IPV6_V6ONLY, "IPV6_V6ONLY")
	case bd.V4V6 && network == "tcp6":
		// IPv4 too on an IPv6 socket (Go makes ipv6@ sockets v6-only).
		setInt(unix.SOL_IPV6, unix.IPV6_V6ONLY, 0, "IPV6_V6ONLY")
	}
	if bd.Interface != "" && serr == nil {
		if e := unix.BindToDevice(fd, bd.Interface); e != nil {
			serr = fmt.Errorf("SO_BINDTODEVICE %s: %w", bd.Interface, e)
		}
	}
	return serr
}

// setBacklog calls listen(2) again with the configured queue length;
// Linux applies a new backlog to a listening socket.
func setBacklog(ln net.Listener, n int) {
	if tl, ok := ln.(*net.TCPListener); ok {
		if rc, err := tl.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.Listen(int(fd), n) })
		}
	}
}

func unwrapSyscall(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}
