package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/halo-lb/halo/internal/config"
)

// Listening sockets are handed from an old process to its successor
// (`halo -sf <oldpid>`) over a per-process abstract unix socket, so the
// accept queue is never closed during a reload: connections that arrive
// while the processes swap are accepted by one or the other, none is
// refused. (HAProxy needs `-x` and `expose-fd listeners` for this; halo
// does it whenever -sf/-st names the old process.)

func handoverName(pid int) string { return "@halo-listeners-" + strconv.Itoa(pid) }

func bindKey(bd *config.Bind, port int) string {
	return bd.Network + "|" + bd.Host + "|" + strconv.Itoa(port) + "|" + bd.Interface
}

// serveHandover answers successors asking for our listening sockets,
// until ctx is done.
func (rt *Runtime) serveHandover(ctx context.Context) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: handoverName(os.Getpid()), Net: "unix"})
	if err != nil {
		rt.logf(LevelWarning, "listener hand-over socket unavailable: %v", err)
		return
	}
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		rt.sendListeners(c)
		c.Close()
	}
}

func (rt *Runtime) sendListeners(c *net.UnixConn) {
	// Only our own user (or root) may take our sockets.
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if err != nil || (cred.Uid != 0 && int(cred.Uid) != os.Getuid()) {
		return
	}
	var keys []string
	var fds []int
	rt.mu.Lock()
	for _, fe := range rt.frontends {
		for _, bl := range fe.listeners {
			tl, ok := bl.Listener.(*net.TCPListener)
			if !ok || bl.key == "" {
				continue
			}
			// Duplicate the descriptor under the raw connection rather
			// than through tl.File(): os.File.Fd would switch the shared
			// open file description to blocking mode, and our own
			// accept loop would then sleep in accept(2) past Close.
			if fd, err := dupListener(tl); err == nil {
				keys = append(keys, bl.key)
				fds = append(fds, fd)
			}
		}
	}
	rt.mu.Unlock()
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	c.WriteMsgUnix([]byte(strings.Join(keys, "\n")), unix.UnixRights(fds...), nil)
}

// dupListener returns a close-on-exec duplicate of the listener's
// descriptor, leaving its non-blocking mode alone.
func dupListener(tl *net.TCPListener) (int, error) {
	raw, err := tl.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, dupErr := -1, error(nil)
	if err := raw.Control(func(s uintptr) { fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return fd, dupErr
}

// fetchListeners asks the process pid for its listening sockets, keyed
// by bind specification. A missing or unreachable process yields none.
func fetchListeners(pid int) (map[string]*os.File, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: handoverName(pid), Net: "unix"})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64*1024)
	oob := make([]byte, unix.CmsgSpace(4*250))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		r, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, r...)
		}
	}
	keys := strings.Split(string(buf[:n]), "\n")
	if n == 0 {
		keys = nil
	}
	if len(keys) != len(fds) {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return nil, errors.New("malformed listener hand-over")
	}
	out := map[string]*os.File{}
	for i, k := range keys {
		out[k] = os.NewFile(uintptr(fds[i]), k)
	}
	return out, nil
}

// Inherit takes over the listening sockets of old processes (-sf/-st);
// Listen then uses them instead of binding the same addresses again.
func (rt *Runtime) Inherit(pids []int) {
	for _, pid := range pids {
		files, err := fetchListeners(pid)
		if err != nil {
			continue
		}
		if rt.inherited == nil {
			rt.inherited = map[string]*os.File{}
		}
		for k, f := range files {
			if _, dup := rt.inherited[k]; dup {
				f.Close()
				continue
			}
			rt.inherited[k] = f
		}
	}
}

// takeInherited returns an inherited listener for key, if any.
func (rt *Runtime) takeInherited(key string) (net.Listener, error) {
	f, ok := rt.inherited[key]
	if !ok {
		return nil, nil
	}
	delete(rt.inherited, key)
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("inherited listener %s: %w", key, err)
	}
	return ln, nil
}
