// Command halo is a load balancer that runs haproxy.cfg configurations.
//
// It takes HAProxy's everyday flags: -f, -c, -db, -d, -D, -p, -q, -v,
// -vv, -sf, -st, -dW. See docs/ and `halo -h`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/halo-lb/halo/internal/config"
	"github.com/halo-lb/halo/internal/privs"
	"github.com/halo-lb/halo/internal/proxy"
)

// version is halo's version; -ldflags may override it.
var version = "0.1.0"

const releaseDate = "2026/11/24"

type options struct {
	files        []string
	check        bool
	foreground   bool
	debug        bool
	daemon       bool
	pidfile      string
	quiet        bool
	zeroWarning  bool
	softPids     []int
	hardPids     []int
	master       bool   // -W
	systemd      bool   // -Ws
	xSocket      bool   // -x given (listeners are always taken over)
	masterSocket string // -S <path>[,level,...]: the master CLI
}

const usage = `Usage : halo [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -c ] [ -p <pidfile> ] [ -q ]
        [ -sf/-st [pid ]* ]
        -v displays version ; -vv shows known build options.
        -d enters debug mode ; -db only disables background mode.
        -D goes daemon ; -q quiet mode
        -c check mode : only check config files and exit
        -dW fails if any warning is emitted
        -p writes pids of all children to this file
        -W master-worker mode ; -Ws master-worker mode with systemd notify support.
        -S <path>[,...] master CLI socket (show proc, reload) in master-worker mode.
        -x <socket> accepted for HAProxy scripts; listeners are always taken over.
        -sf/-st [pid ]* finishes/terminates old pids once listening.
`

func parseArgs(args []string) (*options, error) {
	o := &options{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("'%s' expects an argument", a)
			}
			i++
			return args[i], nil
		}
		switch a {
		case "-f":
			v, err := next()
			if err != nil {
				return nil, err
			}
			o.files = append(o.files, v)
		case "-c":
			o.check = true
		case "-W":
			o.master = true
		case "-Ws":
			o.master, o.systemd = true, true
		case "-db":
			o.foreground = true
		case "-d":
			o.foreground, o.debug = true, true
		case "-D":
			o.daemon = true
		case "-p":
			v, err := next()
			if err != nil {
				return nil, err
			}
			o.pidfile = v
		case "-q":
			o.quiet = true
		case "-dW":
			o.zeroWarning = true
		case "-x":
			// HAProxy fetches the old process's listeners from this stats
			// socket; halo always takes them over through its own
			// hand-over socket, so the path is not needed.
			if _, err := next(); err != nil {
				return nil, err
			}
			o.xSocket = true
		case "-S":
			v, err := next()
			if err != nil {
				return nil, err
			}
			o.masterSocket = v
		case "-sf", "-st":
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				pid, err := strconv.Atoi(args[i])
				if err != nil || pid <= 0 {
					return nil, fmt.Errorf("'%s' expects process ids, got '%s'", a, args[i])
				}
				if a == "-sf" {
					o.softPids = append(o.softPids, pid)
				} else {
					o.hardPids = append(o.hardPids, pid)
				}
			}
		case "-v", "-vv", "-V":
			printVersion(os.Stdout, a == "-vv")
			os.Exit(0)
		case "-h", "--help":
			fmt.Print(usage)
			os.Exit(0)
		default:
			if !strings.HasPrefix(a, "-") {
				o.files = append(o.files, a)
				continue
			}
			return nil, fmt.Errorf("unknown option '%s'", a)
		}
	}
	if len(o.files) == 0 {
		return nil, errors.New("no configuration file given (use -f <cfgfile>)")
	}
	return o, nil
}

func printVersion(w io.Writer, verbose bool) {
	fmt.Fprintf(w, "halo version %s %s - haproxy.cfg language of HAProxy 2.6\n", version, releaseDate)
	fmt.Fprintf(w, "Running on: %s %s, %s\n", runtime.GOOS, runtime.GOARCH, runtime.Version())
	if verbose {
		fmt.Fprintf(w, "Build options: pure Go, no cgo required\n")
		fmt.Fprintf(w, "Modes: tcp, http (HTTP/1.1 and HTTP/2 on listeners), TLS termination and origination (Go crypto/tls)\n")
		fmt.Fprintf(w, "Built-in services: stats page, runtime API (stats socket), prometheus-exporter\n")
		fmt.Fprintf(w, "Forwarding: splice(2) between TCP sockets (Go io.Copy)\n")
		fmt.Fprintf(w, "Balancing: roundrobin static-rr leastconn first source random hash-type map-based|consistent\n")
		fmt.Fprintf(w, "Health checks: L4 connect, tcp-check, httpchk, redis-check, smtpchk, pgsql-check, mysql-check, TLS\n")
	}
}

// logger prints messages in HAProxy's layout: "[LEVEL]   (pid) : msg".
type logger struct {
	w     io.Writer
	quiet bool
	pid   int
}

func (l *logger) print(level, msg string) {
	if l.quiet && level != "[ALERT]" {
		return
	}
	fmt.Fprintf(l.w, "%-10s (%d) : %s\n", level, l.pid, msg)
}

func levelName(lv proxy.Level) string {
	switch lv {
	case proxy.LevelAlert:
		return "[ALERT]"
	case proxy.LevelWarning:
		return "[WARNING]"
	}
	return "[NOTICE]"
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	log := &logger{w: os.Stderr, pid: os.Getpid()}
	o, err := parseArgs(args)
	if err != nil {
		log.print("[ALERT]", err.Error())
		fmt.Fprint(os.Stderr, usage)
		return 1
	}
	log.quiet = o.quiet
	cfg, err := config.Load(o.files, config.LoadOptions{})
	if cfg != nil && cfg.Global.Quiet {
		o.quiet, log.quiet = true, true // global `quiet` is -q
	}
	if cfg != nil {
		for _, w := range cfg.Warnings {
			lv := "[WARNING]"
			if w.Severity == config.SevNotice {
				lv = "[NOTICE]"
			}
			log.print(lv, "config : "+w.Error())
		}
	}
	if err != nil {
		var el *config.ErrorList
		if errors.As(err, &el) {
			for _, e := range el.Errs {
				log.print("[ALERT]", "config : "+e.Error())
			}
		} else {
			log.print("[ALERT]", "config : "+err.Error())
		}
		log.print("[ALERT]", "config : Fatal errors found in configuration.")
		return 1
	}
	warned := len(cfg.Warnings) > 0
	if warned && (o.zeroWarning || cfg.Global.ZeroWarning) {
		log.print("[ALERT]", "config : Some warnings were found and 'zero-warning' is set. Aborting.")
		return 1
	}
	if o.check {
		if !cfg.HasListeners() {
			fmt.Println("Configuration file has no error but will not start (no listener) => exit(2).")
			return 2
		}
		if warned && !o.quiet {
			fmt.Println("Warnings were found.")
		}
		if !o.quiet {
			fmt.Println("Configuration file is valid")
		}
		return 0
	}
	if !cfg.HasListeners() {
		log.print("[ALERT]", "config : no listener found: the configuration has no frontend or listen section with a 'bind' line.")
		return 2
	}
	if cfg.Global.NbThread > 0 {
		runtime.GOMAXPROCS(cfg.Global.NbThread)
	}
	if o.pidfile == "" {
		o.pidfile = cfg.Global.PidFile
	}
	daemon := (o.daemon || cfg.Global.Daemon) && !o.foreground
	if daemon && os.Getenv(daemonEnv) == "" {
		return startDaemon(log)
	}
	if (o.master || cfg.Global.MasterWorker) && os.Getenv(workerEnv) == "" {
		if os.Getenv(daemonEnv) != "" {
			signalReady(false)
		}
		return runMaster(o, args, log)
	}
	return serve(cfg, o, log)
}

// daemonEnv marks the re-executed daemon child; its value is the
// descriptor number of the pipe that tells the parent it is listening.
const daemonEnv = "HALO_DAEMON_READY_FD"

// startDaemon re-executes halo detached and exits once the child
// listens (rc 0) or failed (rc 1).
func startDaemon(log *logger) int {
	r, w, err := os.Pipe()
	if err != nil {
		log.print("[ALERT]", "cannot create pipe: "+err.Error())
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		log.print("[ALERT]", "cannot find own executable: "+err.Error())
		return 1
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	cmd.Stdin, cmd.Stdout = devnull, devnull
	cmd.Stderr = os.Stderr // startup errors are still shown; closed once ready
	if err := cmd.Start(); err != nil {
		log.print("[ALERT]", "cannot start daemon: "+err.Error())
		return 1
	}
	w.Close()
	buf := make([]byte, 2)
	n, _ := io.ReadFull(r, buf)
	if n == 2 && string(buf) == "ok" {
		return 0
	}
	return 1
}

// signalReady tells the parent of a daemon (-D) that startup succeeded,
// and detaches stderr when quiet is set.
func signalReady(quiet bool) {
	if n, err := strconv.Atoi(os.Getenv(daemonEnv)); err == nil {
		f := os.NewFile(uintptr(n), "ready")
		f.Write([]byte("ok"))
		f.Close()
	}
	if devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil && quiet {
		syscall.Dup2(int(devnull.Fd()), 2)
	}
}

func writePidfile(path string) error {
	if path == "" {
		return nil
	}
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

func serve(cfg *config.Config, o *options, log *logger) int {
	rt, err := proxy.New(cfg, proxy.Options{Log: func(lv proxy.Level, msg string) { log.print(levelName(lv), msg) }})
	if err != nil {
		var el *config.ErrorList
		if errors.As(err, &el) {
			for _, e := range el.Errs {
				log.print("[ALERT]", "config : "+e.Error())
			}
		} else {
			log.print("[ALERT]", err.Error())
		}
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt.Inherit(append(append([]int(nil), o.softPids...), o.hardPids...))
	if err := rt.Listen(ctx); err != nil {
		log.print("[ALERT]", err.Error())
		return 1
	}
	if err := writePidfile(o.pidfile); err != nil {
		log.print("[ALERT]", "cannot write pid file: "+err.Error())
		return 1
	}
	for _, pid := range o.softPids {
		syscall.Kill(pid, syscall.SIGUSR1)
	}
	for _, pid := range o.hardPids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	// Listeners bound, pid file written, the old processes told: give up
	// what the configuration asks to (chroot, group, user), as HAProxy
	// does at this point.
	warns, err := privs.Drop(privs.Spec{Chroot: cfg.Global.Chroot, UID: cfg.Global.UID, GID: cfg.Global.GID})
	for _, w := range warns {
		log.print("[WARNING]", w)
	}
	if err != nil {
		log.print("[ALERT]", err.Error())
		return 1
	}
	if os.Getenv(workerEnv) != "" {
		if n, err := strconv.Atoi(os.Getenv(workerEnv)); err == nil {
			f := os.NewFile(uintptr(n), "ready")
			f.Write([]byte("ok"))
			f.Close()
		}
	} else if os.Getenv(daemonEnv) != "" {
		signalReady(true)
	}
	// A background job starts with SIGINT ignored: dying of it is then
	// impossible, and the exit code says it instead.
	intIgnored := signal.Ignored(syscall.SIGINT)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	var killedBy atomic.Value // the signal of a hard stop
	go func() {
		for sig := range sigs {
			switch sig {
			case syscall.SIGUSR1:
				rt.Shutdown()
				if d := cfg.Global.HardStopAfter; d > 0 {
					time.AfterFunc(d, cancel)
				}
			case syscall.SIGHUP:
				// As HAProxy: a dump of the servers' states in the logs,
				// the process goes on.
				rt.DumpStates()
			default:
				killedBy.CompareAndSwap(nil, sig)
				cancel()
			}
		}
	}()
	stopProfile := startProfile()
	rt.Serve(ctx)
	stopProfile()
	if o.pidfile != "" && os.Getenv(daemonEnv) != "" {
		os.Remove(o.pidfile)
	}
	if sig, ok := killedBy.Load().(syscall.Signal); ok && !(sig == syscall.SIGINT && intIgnored) {
		// HAProxy dies of SIGTERM/SIGINT: its parent sees 143/130 and the
		// master logs "exited with code 143 (Terminated)".
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig)
		time.Sleep(time.Second)
		return 128 + int(sig)
	} else if ok {
		return 128 + int(sig)
	}
	return 0
}
