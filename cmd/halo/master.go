package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/halo-lb/halo/internal/cli"
	"github.com/halo-lb/halo/internal/config"
)

// workerEnv tells a worker started by the master which descriptor to
// write "ok" on once it listens.
const workerEnv = "HALO_WORKER_READY_FD"

// worker is a running worker process.
type worker struct {
	start time.Time
	cmd   *exec.Cmd
	done  chan struct{}
	err   error
}

// master runs HAProxy's master-worker mode (-W, -Ws, `master-worker`):
// the master keeps no listener itself; it starts a worker, and on
// SIGUSR2 (or SIGHUP) checks the configuration again and starts a new
// worker that takes the listening sockets over from the old one (see
// proxy.Runtime.Inherit), so a reload never closes a listener. The old
// worker then drains its sessions (hard-stop-after bounds it).
type master struct {
	started time.Time
	reloads int
	args    []string // the worker's command line
	files   []string
	log     *logger
	notify  bool // -Ws: tell systemd READY/RELOADING
	current *worker
	exits   chan *worker
}

func workerArgs(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-W", "-Ws", "-D", "-db":
			continue
		case "-p", "-S", "-x":
			i++
			continue
		case "-sf", "-st":
			for i+1 < len(args) && len(args[i+1]) > 0 && args[i+1][0] != '-' {
				i++
			}
			continue
		}
		out = append(out, args[i])
	}
	return append(out, "-db")
}

func runMaster(o *options, args []string, log *logger) int {
	m := &master{args: workerArgs(args), files: o.files, log: log, notify: o.systemd, exits: make(chan *worker, 8)}
	if err := writePidfile(o.pidfile); err != nil {
		log.print("[ALERT]", "cannot write pid file: "+err.Error())
		return 1
	}
	cliReload := make(chan chan string)
	cliProc := make(chan chan string)
	// The master CLI listens before the worker starts and before systemd
	// hears READY: a wrong -S is refused at once, and whoever was told
	// the service is ready finds the socket there.
	var cliLn net.Listener
	var cliLevel cli.Level
	if o.masterSocket != "" {
		ms, err := parseMasterSocket(o.masterSocket)
		if err != nil {
			log.print("[ALERT]", err.Error())
			return 1
		}
		for _, w := range ms.warnings {
			log.print("[WARNING]", w)
		}
		if cliLn, err = listenMasterCLI(ms); err != nil {
			log.print("[ALERT]", err.Error())
			return 1
		}
		defer cliLn.Close()
		cliLevel = ms.level
	}
	w, err := m.start(o.softPidArgs())
	if err != nil {
		log.print("[ALERT]", err.Error())
		return 1
	}
	m.current = w
	log.print("[NOTICE]", "Loading success.")
	m.sdNotify(fmt.Sprintf("READY=1\nMAINPID=%d", os.Getpid()))
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGUSR2, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	old := map[*worker]bool{}
	if cliLn != nil {
		go serveMasterCLI(cliLn, cliLevel, cliReload, cliProc)
	}
	m.started = time.Now()
	for {
		select {
		case reply := <-cliReload:
			m.reload(old)
			reply <- ""
		case reply := <-cliProc:
			reply <- m.showProc(old)
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR2, syscall.SIGHUP:
				m.reload(old)
			case syscall.SIGUSR1:
				// Soft stop: every worker drains, then the master exits.
				for w := range old {
					w.cmd.Process.Signal(syscall.SIGUSR1)
				}
				m.current.cmd.Process.Signal(syscall.SIGUSR1)
			default:
				return m.stop(old)
			}
		case w := <-m.exits:
			if w == m.current {
				level := "[ALERT]"
				code := exitCode(w.err)
				if code == 0 {
					level = "[NOTICE]"
				}
				log.print(level, fmt.Sprintf("Current worker (%d) exited with code %d (%s)", w.cmd.Process.Pid, code, exitReason(w.err)))
				for o := range old {
					o.cmd.Process.Signal(syscall.SIGTERM)
					<-o.done
				}
				log.print("[WARNING]", fmt.Sprintf("All workers exited. Exiting... (%d)", code))
				if o.pidfile != "" {
					os.Remove(o.pidfile)
				}
				return code
			}
			delete(old, w)
			log.print("[WARNING]", fmt.Sprintf("Former worker (%d) exited with code %d (%s)", w.cmd.Process.Pid, exitCode(w.err), exitReason(w.err)))
		}
	}
}

// softPidArgs passes -sf/-st given to the master on to the first worker.
func (o *options) softPidArgs() []string {
	var out []string
	if len(o.softPids) > 0 {
		out = append(out, "-sf")
		for _, p := range o.softPids {
			out = append(out, strconv.Itoa(p))
		}
	}
	if len(o.hardPids) > 0 {
		out = append(out, "-st")
		for _, p := range o.hardPids {
			out = append(out, strconv.Itoa(p))
		}
	}
	return out
}

// start runs a worker and waits until it listens (or fails).
func (m *master) start(extra []string) (*worker, error) {
	r, wpipe, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append(append([]string{}, m.args...), extra...)...)
	cmd.Env = append(os.Environ(), workerEnv+"=3")
	cmd.ExtraFiles = []*os.File{wpipe}
	// A worker does not outlive its master (killed or crashed): it gets
	// SIGTERM, the hard stop, as HAProxy's workers leave when they lose
	// their master.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		wpipe.Close()
		return nil, fmt.Errorf("cannot start a worker: %w", err)
	}
	wpipe.Close()
	w := &worker{cmd: cmd, done: make(chan struct{}), start: time.Now()}
	m.log.print("[NOTICE]", fmt.Sprintf("New worker (%d) forked", cmd.Process.Pid))
	ready := make(chan bool, 1)
	go func() {
		buf := make([]byte, 2)
		n, _ := io.ReadFull(r, buf)
		ready <- n == 2 && string(buf) == "ok"
	}()
	go func() {
		w.err = cmd.Wait()
		close(w.done)
		m.exits <- w
	}()
	if !<-ready {
		<-w.done
		<-m.exits
		return nil, fmt.Errorf("the new worker (%d) failed to start: exit code %d", cmd.Process.Pid, exitCode(w.err))
	}
	return w, nil
}

// reload checks the configuration and replaces the current worker.
func (m *master) reload(old map[*worker]bool) {
	m.log.print("[NOTICE]", "Reloading halo")
	// systemd 253+ (Type=notify-reload) wants the reload's start time.
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	m.sdNotify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", ts.Nano()/1000))
	defer m.sdNotify("READY=1")
	if _, err := config.Load(m.files, config.LoadOptions{}); err != nil {
		var el *config.ErrorList
		if errors.As(err, &el) {
			for _, e := range el.Errs {
				m.log.print("[ALERT]", "config : "+e.Error())
			}
		} else {
			m.log.print("[ALERT]", "config : "+err.Error())
		}
		m.log.print("[ALERT]", "Failed to load the new configuration: the current worker keeps running.")
		return
	}
	w, err := m.start([]string{"-sf", strconv.Itoa(m.current.cmd.Process.Pid)})
	if err != nil {
		m.log.print("[ALERT]", err.Error()+"; the current worker keeps running.")
		return
	}
	old[m.current] = true
	m.current = w
	m.reloads++
	m.log.print("[NOTICE]", "Loading success.")
}

// stop terminates every worker and exits.
func (m *master) stop(old map[*worker]bool) int {
	m.log.print("[WARNING]", "Exiting Master process...")
	m.sdNotify("STOPPING=1")
	all := []*worker{m.current}
	for w := range old {
		all = append(all, w)
	}
	for _, w := range all {
		w.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(10 * time.Second)
	for _, w := range all {
		select {
		case <-w.done:
		case <-deadline:
			w.cmd.Process.Kill()
			<-w.done
		}
		if w == m.current {
			m.log.print("[ALERT]", fmt.Sprintf("Current worker (%d) exited with code %d (%s)", w.cmd.Process.Pid, exitCode(w.err), exitReason(w.err)))
		}
	}
	m.log.print("[WARNING]", "All workers exited. Exiting... (0)")
	return 0
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			return 128 + int(st.Signal())
		}
		return ee.ExitCode()
	}
	return 0
}

func exitReason(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			s := st.Signal().String()
			return string(s[0]-32) + s[1:]
		}
	}
	return "Exit"
}

// sdNotify sends a state to systemd when running under -Ws with
// NOTIFY_SOCKET set (sd_notify(3) protocol: one datagram).
func (m *master) sdNotify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if !m.notify || path == "" {
		return
	}
	if path[0] == '@' {
		path = "\x00" + path[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		m.log.print("[WARNING]", "sd_notify: "+err.Error())
		return
	}
	defer c.Close()
	c.Write([]byte(state))
}

// masterSocket is a parsed -S argument: "<path>[,<option>,<value>]...",
// the options of a bind line as HAProxy takes them (mode, level, user,
// group, uid, gid).
type masterSocket struct {
	path     string
	mode     os.FileMode // 0 keeps the umask's
	level    cli.Level
	uid, gid int
	warnings []string
}

func parseMasterSocket(arg string) (*masterSocket, error) {
	parts := strings.Split(arg, ",")
	ms := &masterSocket{path: strings.TrimPrefix(parts[0], "unix@"), level: cli.LevelAdmin, uid: -1, gid: -1}
	if ms.path == "" {
		return nil, errors.New("-S: missing socket path")
	}
	if strings.Contains(parts[0], "@") && !strings.HasPrefix(parts[0], "unix@") {
		return nil, fmt.Errorf("-S '%s': only unix sockets are supported for the master CLI", parts[0])
	}
	opts := parts[1:]
	for i := 0; i < len(opts); i++ {
		if i+1 >= len(opts) {
			return nil, fmt.Errorf("-S: option '%s' expects a value", opts[i])
		}
		k, v := opts[i], opts[i+1]
		i++
		switch k {
		case "mode":
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return nil, fmt.Errorf("-S: 'mode' expects an octal permission, got '%s'", v)
			}
			ms.mode = os.FileMode(n)
		case "level":
			l, err := cli.ParseLevel(v)
			if err != nil {
				return nil, fmt.Errorf("-S: %v", err)
			}
			ms.level = l
		case "user", "group":
			var id string
			if k == "user" {
				u, err := user.Lookup(v)
				if err != nil {
					return nil, fmt.Errorf("-S: unknown user '%s'", v)
				}
				id = u.Uid
			} else {
				g, err := user.LookupGroup(v)
				if err != nil {
					return nil, fmt.Errorf("-S: unknown group '%s'", v)
				}
				id = g.Gid
			}
			n, _ := strconv.Atoi(id)
			if k == "user" {
				ms.uid = n
			} else {
				ms.gid = n
			}
		case "uid", "gid":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("-S: '%s' expects a numeric id, got '%s'", k, v)
			}
			if k == "uid" {
				ms.uid = n
			} else {
				ms.gid = n
			}
		case "expose-fd", "severity-output", "name", "maxconn", "process", "thread":
			ms.warnings = append(ms.warnings, fmt.Sprintf("-S: option '%s' has no effect on halo's master CLI", k))
		default:
			return nil, fmt.Errorf("-S: unknown option '%s' (expected mode, level, user, group, uid, gid)", k)
		}
	}
	return ms, nil
}

// listenMasterCLI opens the -S unix socket with its mode and owner.
func listenMasterCLI(ms *masterSocket) (net.Listener, error) {
	os.Remove(ms.path)
	ln, err := net.Listen("unix", ms.path)
	if err == nil && ms.mode != 0 {
		err = os.Chmod(ms.path, ms.mode)
	}
	if err == nil && (ms.uid >= 0 || ms.gid >= 0) {
		err = os.Chown(ms.path, ms.uid, ms.gid)
	}
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return nil, fmt.Errorf("cannot open the master CLI socket '%s': %w", ms.path, err)
	}
	return ln, nil
}

// masterHelp lists the master CLI commands halo has, in HAProxy's layout.
const masterHelp = "The following commands are valid at this level:\n" +
	"  operator                                : lower the level of the current CLI session to operator\n" +
	"  reload                                  : start a new worker on the current configuration\n" +
	"  show cli level                          : display the level of the current CLI session\n" +
	"  show proc                               : show processes status\n" +
	"  show version                            : show version of the current process\n" +
	"  user                                    : lower the level of the current CLI session to user\n" +
	"  help [<command>]                        : list matching or all commands\n" +
	"  prompt                                  : toggle interactive mode with prompt\n" +
	"  quit                                    : disconnect\n\n"

// serveMasterCLI answers `show proc`, `reload`, `show cli level`,
// `show version`, `operator`, `user` and `help` on the master socket
// (several commands may be separated by ';'); the master's loop does
// the work. `reload` needs the operator level, as in HAProxy.
func serveMasterCLI(ln net.Listener, level cli.Level, reload, proc chan chan string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			lv := level
			for _, cmd := range cli.SplitCommands(strings.TrimSpace(line)) {
				reply := make(chan string, 1)
				switch strings.Join(strings.Fields(cmd), " ") {
				case "show proc":
					proc <- reply
					io.WriteString(c, <-reply)
				case "reload":
					if lv < cli.LevelOperator {
						io.WriteString(c, "Permission denied\n\n")
						continue
					}
					reload <- reply
					<-reply
				case "show cli level":
					io.WriteString(c, lv.String()+"\n\n")
				case "show version":
					io.WriteString(c, version+"\n\n")
				case "operator":
					if lv < cli.LevelOperator {
						io.WriteString(c, "Permission denied!\n\n")
						continue
					}
					lv = cli.LevelOperator
				case "user":
					lv = cli.LevelUser
				case "help", "":
					io.WriteString(c, masterHelp)
				default:
					io.WriteString(c, "Unknown command. Use 'help' to list the master CLI commands (halo does not forward @<pid> commands to workers).\n\n")
				}
			}
		}()
	}
}

// showProc renders `show proc` as HAProxy's master CLI does.
func (m *master) showProc(old map[*worker]bool) string {
	up := func(since time.Time) string {
		d := time.Since(since)
		s := int(d.Seconds())
		return fmt.Sprintf("%dd%02dh%02dm%02ds", s/86400, s%86400/3600, s%3600/60, s%60)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#%-14s %-15s %-15s %-15s %-15s\n", "<PID>", "<type>", "<reloads>", "<uptime>", "<version>")
	fmt.Fprintf(&b, "%-15d %-15s %-15s %-15s %s\n", os.Getpid(), "master", fmt.Sprintf("%d [failed: 0]", m.reloads), up(m.started), version)
	b.WriteString("# workers\n")
	fmt.Fprintf(&b, "%-15d %-15s %-15d %-15s %s\n", m.current.cmd.Process.Pid, "worker", 0, up(m.current.start), version)
	if len(old) > 0 {
		b.WriteString("# old workers\n")
		for w := range old {
			fmt.Fprintf(&b, "%-15d %-15s %-15d %-15s %s\n", w.cmd.Process.Pid, "worker", 1, up(w.start), version)
		}
	}
	b.WriteString("# programs\n\n")
	return b.String()
}
