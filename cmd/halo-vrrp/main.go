// Command halo-vrrp is a VRRP failover daemon that runs keepalived.conf
// configurations and interoperates with keepalived on the wire. Its
// command line follows keepalived(8).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/halo-lb/halo/internal/vrrp/kaconf"
	"github.com/halo-lb/halo/internal/vrrp/node"
)

const version = "halo-vrrp v0.1 (keepalived 2.2 compatible configuration and wire protocol)"

// Exit codes of a configuration test, as keepalived 2.2.7 returns them.
const (
	exitOK        = 0
	exitCannotRun = 4
	exitErrors    = 5
	exitSecurity  = 6
)

type options struct {
	file       string
	test       bool
	foreground bool
	console    bool
	detail     bool
	noSyslog   bool
	facility   syslog.Priority
	pidFile    string
	vrrpPid    string
	version    bool
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: halo-vrrp [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file (default /etc/keepalived/keepalived.conf)
  -t, --config-test[=FILE]     Check the configuration for obvious errors and exit
  -n, --dont-fork              Don't fork the daemon process
  -l, --log-console            Log messages to the local console
  -D, --log-detail             Detailed log messages
  -G, --no-syslog              Don't log via syslog
  -S, --log-facility=[0-7|local0-7]  Set syslog facility to LOG_LOCAL[0-7]
  -p, --pid=FILE               Use specified pidfile for the parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for the VRRP process (same process here)
  -P, --vrrp                   Only run with VRRP subsystem (always the case)
  -v, --version                Display the version number
  -h, --help                   Display this help message
`)
}

func parseFacility(s string) (syslog.Priority, error) {
	s = strings.TrimPrefix(strings.ToLower(s), "local")
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 7 {
		return 0, fmt.Errorf("invalid log facility %q (0-7 or local0-7)", s)
	}
	return syslog.LOG_LOCAL0 + syslog.Priority(n)*8, nil
}

func parseArgs(args []string) (*options, error) {
	o := &options{file: "/etc/keepalived/keepalived.conf", facility: syslog.LOG_DAEMON}
	long := map[string]string{"use-file": "f", "config-test": "t", "dont-fork": "n", "log-console": "l", "log-detail": "D",
		"no-syslog": "G", "log-facility": "S", "pid": "p", "vrrp_pid": "r", "vrrp": "P", "version": "v", "help": "h",
		"dont-respawn": "R", "dump-conf": "d", "release-vips": "X", "no-syslog-console": "G"}
	withArg := map[string]bool{"f": true, "S": true, "p": true, "r": true}
	optArg := map[string]bool{"t": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var flags []string
		var inline string
		hasInline := false
		switch {
		case strings.HasPrefix(a, "--"):
			name, val, eq := strings.Cut(a[2:], "=")
			f, ok := long[name]
			if !ok {
				return nil, fmt.Errorf("unrecognized option '%s'", a)
			}
			flags, inline, hasInline = []string{f}, val, eq
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				f := string(a[j])
				flags = append(flags, f)
				if (withArg[f] || optArg[f]) && j+1 < len(a) {
					inline, hasInline = a[j+1:], true
					break
				}
			}
		default:
			return nil, fmt.Errorf("unexpected argument '%s'", a)
		}
		for _, f := range flags {
			val := inline
			if withArg[f] && !hasInline {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option -%s requires an argument", f)
				}
				i++
				val = args[i]
			}
			switch f {
			case "f":
				o.file = val
			case "t":
				o.test = true
				if hasInline {
					o.file = val
				}
			case "n":
				o.foreground = true
			case "l":
				o.console = true
			case "D":
				o.detail = true
			case "G":
				o.noSyslog = true
			case "S":
				p, err := parseFacility(val)
				if err != nil {
					return nil, err
				}
				o.facility = p
			case "p":
				o.pidFile = val
			case "r":
				o.vrrpPid = val
			case "v":
				o.version = true
			case "h":
				usage(os.Stdout)
				os.Exit(0)
			case "P", "R", "d", "X":
			default:
				return nil, fmt.Errorf("invalid option -- '%s'", f)
			}
		}
	}
	return o, nil
}

// logger writes keepalived-style lines to the console and/or syslog.
type logger struct {
	mu      sync.Mutex
	console io.Writer
	sys     *syslog.Writer
}

func (l *logger) logf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.console != nil {
		fmt.Fprintf(l.console, "%s: %s\n", time.Now().Format("Mon Jan _2 15:04:05.000 2006"), msg)
	}
	if l.sys != nil {
		_ = l.sys.Info(msg)
	}
}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	o, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "halo-vrrp: %v\n", err)
		usage(os.Stderr)
		return 1
	}
	if o.version {
		fmt.Println(version)
		return 0
	}
	if o.test {
		return configTest(o.file)
	}
	if !o.foreground && os.Getenv("HALO_VRRP_DAEMON") == "" {
		return daemonize()
	}
	lg := &logger{}
	if o.console {
		lg.console = os.Stderr
	}
	if !o.noSyslog {
		if w, err := syslog.New(o.facility|syslog.LOG_INFO, "Keepalived_vrrp"); err == nil {
			lg.sys = w
			defer w.Close()
		} else if lg.console == nil {
			lg.console = os.Stderr
		}
	}
	lg.logf("Starting %s", version)
	cfg, err := load(o.file, lg)
	if err != nil {
		lg.logf("%v", err)
		lg.logf("Stopped %s", version)
		return 1
	}
	for _, p := range []string{o.pidFile, o.vrrpPid} {
		if p != "" {
			if err := os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
				lg.logf("pid file: %v", err)
				return 1
			}
			defer os.Remove(p)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan *node.Config)
	go func() {
		for {
			select {
			case <-hup:
				nc, err := load(o.file, lg)
				if err != nil {
					lg.logf("reload: %v (keeping the running configuration)", err)
					continue
				}
				select {
				case reload <- nc:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	d := node.New(node.Options{Logf: lg.logf, Detail: o.detail})
	err = d.Run(ctx, cfg, reload)
	if ctx.Err() != nil {
		lg.logf("Stopping")
	}
	if err != nil {
		lg.logf("%v", err)
		lg.logf("Stopped %s", version)
		return 1
	}
	lg.logf("Stopped %s", version)
	return 0
}

func load(path string, lg *logger) (*node.Config, error) {
	cfg, warns, err := kaconf.Load(path)
	for _, w := range warns {
		lg.logf("%s", w)
	}
	return cfg, err
}

// configTest mirrors keepalived -t: silent and 0 when fine, messages on
// stderr and 5 when there are errors, 0 with a message for a missing file.
func configTest(path string) int {
	_, warns, err := kaconf.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "Config files missing '%s'.\n", path)
		return exitOK
	}
	for _, w := range warns {
		fmt.Fprintln(os.Stderr, w)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitErrors
	}
	_ = exitCannotRun
	if slices.Contains(warns, kaconf.SecurityViolation) {
		return exitSecurity
	}
	return exitOK
}

// daemonize re-executes the program detached (new session, no terminal).
func daemonize() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "halo-vrrp: %v\n", err)
		return 1
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "HALO_VRRP_DAEMON=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "halo-vrrp: %v\n", err)
		return 1
	}
	return 0
}
