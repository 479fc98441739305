package config

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
)

func (b *builder) globalLine(ln *Line) {
	b.dispatch(globalKeywords, ln, "global")
}

var globalKeywords = mkTable(concat(
	[]*Keyword{
		{Name: "maxconn", Sections: InGlobal, Doc: "process-wide limit of concurrent connections", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<maxconn> as argument") {
				if n, err := parseInt(ln.Words[1], 1, 1<<30); err != nil {
					b.errorf(ln.Pos, "'maxconn' %v", err)
				} else {
					b.cfg.Global.MaxConn = n
				}
			}
		}},
		{Name: "daemon", Sections: InGlobal, Doc: "detach and run in the background (as -D)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 0, 0, "no argument") {
				b.cfg.Global.Daemon = true
			}
		}},
		{Name: "pidfile", Sections: InGlobal, Doc: "write the process id to this file (as -p)", parse: gStr(func(g *Global) *string { return &g.PidFile })},
		{Name: "node", Sections: InGlobal, Doc: "node name shown by the stats page", parse: gStr(func(g *Global) *string { return &g.Node })},
		{Name: "description", Sections: InGlobal, Doc: "text shown by the stats page", parse: func(b *builder, ln *Line) {
			b.cfg.Global.Description = strings.Join(ln.Words[1:], " ")
		}},
		{Name: "nbthread", Sections: InGlobal, Doc: "number of threads (sets GOMAXPROCS)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<number> as argument") {
				if n, err := parseInt(ln.Words[1], 1, 4096); err != nil {
					b.errorf(ln.Pos, "'nbthread' %v", err)
				} else {
					b.cfg.Global.NbThread = n
				}
			}
		}},
		{Name: "external-check", Sections: InGlobal, Doc: "allow `option external-check` commands", parse: func(b *builder, ln *Line) {
			if b.noExtraArgs(ln, 1) {
				b.cfg.Global.ExternalCheck = true
			}
		}},
		{Name: "insecure-fork-wanted", Sections: InGlobal, Doc: "allow halo to start processes (external checks); halo never forbids it, the keyword silences HAProxy's warning", parse: func(b *builder, ln *Line) {
			if b.noExtraArgs(ln, 1) {
				b.cfg.Global.InsecureFork = true
			}
		}},
		{Name: "spread-checks", Sections: InGlobal, Doc: "randomise health-check intervals by up to this percentage (0-50)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<percent> as argument") {
				if n, err := parseInt(ln.Words[1], 0, 50); err != nil {
					b.errorf(ln.Pos, "'spread-checks' %v", err)
				} else {
					b.cfg.Global.SpreadChecks = n
				}
			}
		}},
		{Name: "ca-base", Sections: InGlobal, Doc: "directory relative ca-file/crl-file paths are resolved against", parse: gStr(func(g *Global) *string { return &g.CABase })},
		{Name: "crt-base", Sections: InGlobal, Doc: "directory relative crt paths are resolved against", parse: gStr(func(g *Global) *string { return &g.CRTBase })},
		{Name: "hard-stop-after", Sections: InGlobal, Doc: "maximum time a soft stop may take", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<time> as argument") {
				if d, err := parseTime(ln.Words[1]); err != nil {
					b.errorf(ln.Pos, "'hard-stop-after' %v", err)
				} else {
					b.cfg.Global.HardStopAfter = d
				}
			}
		}},
		{Name: "tune.bufsize", Sections: InGlobal, Doc: "buffer size, which bounds HTTP header blocks (default 16384)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<size> as argument") {
				if n, err := parseInt(ln.Words[1], 1024, 1<<26); err != nil {
					b.errorf(ln.Pos, "'tune.bufsize' %v", err)
				} else {
					b.cfg.Global.TuneBufSize = n
				}
			}
		}},
		{Name: "tune.maxrewrite", Sections: InGlobal, Doc: "buffer space reserved for header rewrites: a message head may fill tune.bufsize minus this (default 1024, at most half of tune.bufsize)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<size> as argument") {
				if n, err := parseInt(ln.Words[1], 0, 1<<26); err != nil {
					b.errorf(ln.Pos, "'tune.maxrewrite' %v", err)
				} else {
					b.cfg.Global.TuneMaxRewrite = n
				}
			}
		}},
		{Name: "tune.http.maxhdr", Sections: InGlobal, Doc: "maximum number of headers in a request (default 101)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<number> as argument") {
				if n, err := parseInt(ln.Words[1], 1, 32767); err != nil {
					b.errorf(ln.Pos, "'tune.http.maxhdr' %v", err)
				} else {
					b.cfg.Global.TuneMaxHdr = n
				}
			}
		}},
		{Name: "tune.comp.maxlevel", Sections: InGlobal, Doc: "deflate/gzip compression level, 1 (fastest, the default) to 9 (smallest); haproxy built with libslz, as Debian's, has one level only", parse: func(b *builder, ln *Line) {
			if len(ln.Words) > 2 {
				b.errorf(ln.Pos, "'tune.comp.maxlevel' cannot handle unexpected argument '%s'.", ln.Words[2])
				return
			}
			n := 0
			if len(ln.Words) == 2 {
				n, _ = strconv.Atoi(ln.Words[1])
			}
			if n < 1 || n > 9 {
				b.errorf(ln.Pos, "'tune.comp.maxlevel' expects a numeric value between 1 and 9")
				return
			}
			b.cfg.Global.TuneCompMaxLevel = n
		}},
		{Name: "log", Sections: InGlobal, Doc: "add a log target (address, facility, levels)", parse: func(b *builder, ln *Line) {
			if t, ok := b.parseLog(ln); ok {
				if t.Global {
					b.errorf(ln.Pos, "'log global' is only valid in defaults and proxy sections")
					return
				}
				b.cfg.Global.Logs = append(b.cfg.Global.Logs, t)
			}
		}},
		{Name: "log-tag", Sections: InGlobal, Doc: "syslog tag (default: program name)", parse: gStr(func(g *Global) *string { return &g.LogTag })},
		{Name: "log-send-hostname", Sections: InGlobal, Doc: "put a hostname field in syslog headers", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 0, 1, "at most one <hostname>") {
				h := ""
				if len(ln.Words) == 2 {
					h = ln.Words[1]
				} else {
					h, _ = os.Hostname()
				}
				b.cfg.Global.LogSendHostname = &h
			}
		}},
		{Name: "setenv", Sections: InGlobal, Doc: "set an environment variable for the following lines", parse: envOp("setenv", 2)},
		{Name: "presetenv", Sections: InGlobal, Doc: "set an environment variable unless already set", parse: envOp("presetenv", 2)},
		{Name: "unsetenv", Sections: InGlobal, Doc: "remove environment variables", parse: envOp("unsetenv", -1)},
		{Name: "resetenv", Sections: InGlobal, Doc: "clear the environment except the named variables", parse: envOp("resetenv", -1)},
		{Name: "master-worker", Sections: InGlobal, Doc: "run a master process that reloads workers on SIGUSR2 (as -W)", parse: func(b *builder, ln *Line) { b.cfg.Global.MasterWorker = true }},
		{Name: "default-path", Sections: InGlobal, Doc: "how later relative file names (crt, ca-file, crl-file, crt-list, errorfile, return file, acl -f, map files) resolve: current (working directory, default), config (the directory of the file they are in), parent (its parent), origin <absolute dir>", parse: (*builder).parseDefaultPath},
		{Name: "zero-warning", Sections: InGlobal, Doc: "treat warnings as fatal (as -dW)", parse: func(b *builder, ln *Line) { b.cfg.Global.ZeroWarning = true }},
		{Name: "quiet", Sections: InGlobal, Doc: "print no messages but alerts (as -q)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 0, 0, "no argument") {
				b.cfg.Global.Quiet = true
			}
		}},
		{Name: "user", Sections: InGlobal, Doc: "run as this user once the listeners are bound (its uid; the group stays unless `group` is set, as HAProxy)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<user name>") {
				u, err := user.Lookup(ln.Words[1])
				id := -1
				if err == nil {
					id, err = strconv.Atoi(u.Uid)
				}
				if err != nil {
					b.errorf(ln.Pos, "cannot find user id for '%s' (0:Success)", ln.Words[1])
					return
				}
				b.cfg.Global.User, b.cfg.Global.UID = ln.Words[1], id
			}
		}},
		{Name: "group", Sections: InGlobal, Doc: "run with this group (and no supplementary groups) once the listeners are bound", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<group name>") {
				g, err := user.LookupGroup(ln.Words[1])
				id := -1
				if err == nil {
					id, err = strconv.Atoi(g.Gid)
				}
				if err != nil {
					b.errorf(ln.Pos, "cannot find group id for '%s' (0:Success)", ln.Words[1])
					return
				}
				b.cfg.Global.Group, b.cfg.Global.GID = ln.Words[1], id
			}
		}},
		{Name: "uid", Sections: InGlobal, Doc: "numeric form of `user`", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<number>") {
				b.cfg.Global.UID = b.numericID(ln, "uid", "user")
			}
		}},
		{Name: "gid", Sections: InGlobal, Doc: "numeric form of `group`", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 1, 1, 1, "<number>") {
				b.cfg.Global.GID = b.numericID(ln, "gid", "group")
			}
		}},
		{Name: "chroot", Sections: InGlobal, Doc: "change the root directory once the listeners are bound (file names read later, and unix log sockets, must then be inside it)", parse: gStr(func(g *Global) *string { return &g.Chroot })},
		{Name: "stats socket", Sections: InGlobal, Doc: "runtime API socket: <path>|ipv4@<addr:port> [mode <octal>] [level user|operator|admin] [user|uid <owner>] [group|gid <group>] [maxconn <n>] [expose-fd listeners]; severity-output, name and process have no effect (warned)", parse: (*builder).parseStatsSocket},
		{Name: "stats timeout", Sections: InGlobal, Doc: "idle timeout of runtime API connections (default 10s)", parse: func(b *builder, ln *Line) {
			if b.argCount(ln, 2, 1, 1, "a delay") {
				d, err := parseTime(ln.Words[2])
				if err != nil {
					b.errorf(ln.Pos, "'stats timeout' %v", err)
					return
				}
				b.cfg.Global.StatsTimeout = d
			}
		}},
		{Name: "stats maxconn", Sections: InGlobal, Status: NoEffect, Note: "runtime API connections are not limited separately; global maxconn does not count them either"},
		{Name: "ssl-default-bind-ciphers", Sections: InGlobal, Doc: "TLS 1.2 ciphers of bind lines without 'ciphers'", parse: gStr(func(g *Global) *string { return &g.SSLBindCiphers })},
		{Name: "ssl-default-bind-ciphersuites", Sections: InGlobal, Doc: "TLS 1.3 suites of bind lines without 'ciphersuites' (checked; Go always offers its three TLS 1.3 suites)", parse: gStr(func(g *Global) *string { return &g.SSLBindSuites })},
		{Name: "ssl-default-bind-options", Sections: InGlobal, Doc: "TLS options of every bind line: ssl-min-ver, ssl-max-ver, no-sslv3, no-tlsv1x, no-tls-tickets", parse: sslDefaults(func(g *Global) *[]string { return &g.SSLBindOptions })},
		{Name: "ssl-default-server-ciphers", Sections: InGlobal, Doc: "TLS 1.2 ciphers of server lines without 'ciphers'", parse: gStr(func(g *Global) *string { return &g.SSLServerCiphers })},
		{Name: "ssl-default-server-ciphersuites", Sections: InGlobal, Doc: "TLS 1.3 suites of server lines (Go offers its three suites)", parse: gStr(func(g *Global) *string { return &g.SSLServerSuites })},
		{Name: "ssl-server-verify", Sections: InGlobal, Doc: "verify of server lines without 'verify': required (default) or none", parse: func(b *builder, ln *Line) {
			if !b.argCount(ln, 1, 1, 1, "exactly one argument") {
				return
			}
			if v := ln.Words[1]; v != "none" && v != "required" {
				b.errorf(ln.Pos, "'ssl-server-verify' expects 'none' or 'required', got '%s'", v)
				return
			}
			b.cfg.Global.SSLServerVerify = ln.Words[1]
		}},
		{Name: "ssl-default-server-options", Sections: InGlobal, Doc: "TLS options of every server line: ssl-min-ver, ssl-max-ver, no-sslv3, no-tlsv1x, no-tls-tickets", parse: sslDefaults(func(g *Global) *[]string { return &g.SSLServerOptions })},
		{Name: "server-state-file", Sections: InGlobal, Doc: "file written with `show servers state` before a reload; backends with load-server-state-from-file global start from it", parse: gStr(func(g *Global) *string { return &g.ServerStateFile })},
		{Name: "server-state-base", Sections: InGlobal, Doc: "directory of relative server-state-file paths", parse: gStr(func(g *Global) *string { return &g.ServerStateBase })},
		{Name: "tune.ssl.cachesize", Sections: InGlobal, Status: NoEffect, Note: "Go's TLS server keeps no session-ID cache; it resumes sessions with tickets only (turn them off with no-tls-tickets)"},
		{Name: "tune.ssl.default-dh-param", Sections: InGlobal, Status: NoEffect, Note: "Go's TLS stack offers no finite-field DHE cipher suites, so there are no DH parameters to size"},
		{Name: "ulimit-n", Sections: InGlobal, Status: NoEffect, Note: "halo raises its file-descriptor soft limit to the hard limit at start; set the hard limit with systemd LimitNOFILE="},
		{Name: "nbproc", Sections: InGlobal, Status: Removed, Note: "HAProxy 2.5 (multi-process mode is gone). Use 'nbthread' instead."},
	},
	unsupported(InGlobal, "", "cpu-map", "insecure-setuid-wanted",
		"issuers-chain-path", "localpeer", "lua-load", "lua-load-per-thread", "lua-prepend-path", "mworker-max-reloads",
		"numa-cpu-mapping", "pp2-never-send-local", "set-dumpable", "set-var", "ssl-default-bind-curves",
		"ssl-dh-param-file", "ssl-skip-self-issued-ca", "strict-limits", "thread-group",
		"unix-bind", "busy-polling", "max-spread-checks", "maxconnrate", "maxcomprate", "maxcompcpuusage", "maxpipes",
		"maxsessrate", "maxsslconn", "maxsslrate", "maxzlibmem", "noepoll", "nokqueue", "noevports", "nopoll",
		"nosplice", "nogetaddrinfo", "noreuseport", "profiling.tasks", "ssl-engine", "ssl-mode-async",
		"h1-case-adjust", "h1-case-adjust-file", "h2-workaround-bogus-websocket-clients", "expose-experimental-directives",
		"debug", "tune.ssl.lifetime", "tune.ssl.maxrecord", "tune.ssl.capture-buffer-size",
		"tune.maxaccept", "tune.maxpollevents", "tune.http.cookielen", "tune.http.logurilen",
		"tune.h2.initial-window-size", "tune.h2.max-concurrent-streams", "tune.h2.header-table-size",
		"tune.h2.max-frame-size", "tune.idletimer", "tune.lua.maxmem", "tune.lua.session-timeout",
		"tune.lua.task-timeout", "tune.lua.service-timeout", "tune.pipesize", "tune.rcvbuf.client", "tune.rcvbuf.server",
		"tune.sndbuf.client", "tune.sndbuf.server", "tune.recv_enough", "tune.runqueue-depth",
		"tune.zlib.memlevel", "tune.zlib.windowsize", "tune.vars.global-max-size", "tune.vars.proc-max-size",
		"tune.vars.reqres-max-size", "tune.vars.sess-max-size", "tune.vars.txn-max-size", "tune.buffers.limit",
		"tune.buffers.reserve", "tune.fd.edge-triggered", "tune.listener.multi-queue", "tune.pattern.cache-size",
		"tune.pool-high-fd-ratio", "tune.pool-low-fd-ratio", "tune.sched.low-latency", "tune.ssl.force-private-cache",
		"tune.ssl.keylog", "tune.ssl.ssl-ctx-cache-size", "tune.ssl.ocsp-update.maxdelay", "tune.fail-alloc",
		"tune.idle-pool.shared", "stats bind-process", "hash-balance-factor",
		"tune.ssl.ocsp-update.mindelay", "ssl-load-extra-files", "ssl-load-extra-del-ext", "ssl-propquery", "ssl-provider",
		"ssl-provider-path", "httpclient.resolvers.id", "httpclient.ssl.verify", "httpclient.ssl.ca-file", "log-send-hostname-fmt", "tune.quic.frontend.conn-tx-buffers.limit", "tune.http.maxhdr-size"),
))

func concat(lists ...[]*Keyword) []*Keyword {
	var out []*Keyword
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func gStr(field func(*Global) *string) func(*builder, *Line) {
	return func(b *builder, ln *Line) {
		if b.argCount(ln, 1, 1, 1, "exactly one argument") {
			*field(&b.cfg.Global) = ln.Words[1]
		}
	}
}

// envOp records setenv-like keywords in the model; the parser has
// already applied them to the lines that follow (parse.go).
func envOp(op string, n int) func(*builder, *Line) {
	return func(b *builder, ln *Line) {
		args := ln.Words[1:]
		if n >= 0 && len(args) != n {
			b.errorf(ln.Pos, "'%s' expects <name> and <value> as arguments", op)
			return
		}
		if op == "unsetenv" && len(args) == 0 {
			b.errorf(ln.Pos, "'unsetenv' expects at least one variable name")
			return
		}
		b.cfg.Global.SetEnv = append(b.cfg.Global.SetEnv, EnvOp{Op: op, Name: strings.Join(args, " ")})
	}
}

// sslDefaults parses ssl-default-{bind,server}-options.
func sslDefaults(field func(*Global) *[]string) func(*builder, *Line) {
	return func(b *builder, ln *Line) {
		w := ln.Words[1:]
		for i := 0; i < len(w); i++ {
			switch w[i] {
			case "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "no-tls-tickets", "prefer-client-ciphers", "force-tlsv12", "force-tlsv13":
			case "ssl-min-ver", "ssl-max-ver":
				if i+1 >= len(w) {
					b.errorf(ln.Pos, "'%s' '%s' expects a version", ln.Words[0], w[i])
					return
				}
				i++
			default:
				b.errorf(ln.Pos, "'%s' unknown option '%s' (halo knows ssl-min-ver, ssl-max-ver, no-sslv3, no-tlsv10..no-tlsv13, no-tls-tickets, prefer-client-ciphers)", ln.Words[0], w[i])
				return
			}
		}
		*field(&b.cfg.Global) = append(*field(&b.cfg.Global), w...)
	}
}

// parseStatsSocket parses `stats socket <addr> [options]`.
func (b *builder) parseStatsSocket(ln *Line) {
	w := ln.Words
	if len(w) < 3 {
		b.errorf(ln.Pos, "'stats socket' expects a path or an address")
		return
	}
	s := StatsSocket{Pos: ln.Pos, Address: w[2], Level: "operator", Mode: 0o600, UID: -1, GID: -1}
	switch {
	case strings.HasPrefix(s.Address, "ipv4@"), strings.HasPrefix(s.Address, "ipv6@"), strings.HasPrefix(s.Address, "tcp@"):
		s.Network = "tcp"
		s.Address = s.Address[strings.IndexByte(s.Address, '@')+1:]
		if _, _, err := net.SplitHostPort(s.Address); err != nil {
			b.errorf(ln.Pos, "'stats socket' : invalid address '%s': %v", w[2], err)
			return
		}
	case strings.HasPrefix(s.Address, "unix@"):
		s.Network, s.Address = "unix", s.Address[len("unix@"):]
	case strings.HasPrefix(s.Address, "/") || !strings.Contains(s.Address, "@"):
		s.Network = "unix"
	default:
		b.errorf(ln.Pos, "'stats socket' : address '%s' is not supported (use a path, unix@, ipv4@ or ipv6@)", w[2])
		return
	}
	for i := 3; i < len(w); i++ {
		if i+1 >= len(w) {
			b.errorf(ln.Pos, "'stats socket' : '%s' expects a value", w[i])
			return
		}
		v := w[i+1]
		switch w[i] {
		case "level":
			switch v {
			case "user", "operator", "admin":
				s.Level = v
			default:
				b.errorf(ln.Pos, "'stats socket' : 'level' only supports 'user', 'operator', and 'admin' (got '%s')", v)
				return
			}
		case "mode":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				b.errorf(ln.Pos, "'stats socket' : 'mode' expects an octal permission, got '%s'", v)
				return
			}
			s.Mode = uint32(m)
		case "expose-fd":
			if v != "listeners" {
				b.errorf(ln.Pos, "'stats socket' : 'expose-fd' only supports 'listeners'")
				return
			}
			s.ExposeFD = true
		case "user", "group":
			if s.Network != "unix" {
				b.warnf(ln.Pos, "'stats socket' : '%s' has no effect on a TCP socket", w[i])
				break
			}
			id, err := lookupID(w[i], v)
			if err != nil {
				b.errorf(ln.Pos, "'stats socket' : %v", err)
				return
			}
			if w[i] == "user" {
				s.UID = id
			} else {
				s.GID = id
			}
		case "uid", "gid":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				b.errorf(ln.Pos, "'stats socket' : '%s' expects a numeric id, got '%s'", w[i], v)
				return
			}
			if s.Network != "unix" {
				b.warnf(ln.Pos, "'stats socket' : '%s' has no effect on a TCP socket", w[i])
			} else if w[i] == "uid" {
				s.UID = n
			} else {
				s.GID = n
			}
		case "maxconn":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				b.errorf(ln.Pos, "'stats socket' : 'maxconn' expects a positive number, got '%s'", v)
				return
			}
			s.MaxConn = n
		case "severity-output":
			if v != "none" && v != "number" && v != "string" {
				b.errorf(ln.Pos, "'stats socket' : 'severity-output' expects 'none', 'number' or 'string', got '%s'", v)
				return
			}
			if v != "none" {
				b.warnf(ln.Pos, "'stats socket' : 'severity-output %s' has no effect: halo's runtime API replies carry no severity prefix", v)
			}
		case "name":
			b.warnf(ln.Pos, "'stats socket' : 'name' has no effect: halo does not list the runtime API sockets in its statistics")
		case "process", "thread":
			b.warnf(ln.Pos, "'stats socket' : '%s' has no effect: halo runs one process", w[i])
		default:
			b.errorf(ln.Pos, "'stats socket' : unknown option '%s' (expected level, mode, expose-fd, user, group, uid, gid, maxconn, severity-output, name)", w[i])
			return
		}
		i++
	}
	b.cfg.Global.StatsSockets = append(b.cfg.Global.StatsSockets, s)
}

// lookupID resolves a user or group name to its numeric id.
func lookupID(kind, name string) (int, error) {
	var id string
	if kind == "user" {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, fmt.Errorf("unknown user '%s'", name)
		}
		id = u.Uid
	} else {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, fmt.Errorf("unknown group '%s'", name)
		}
		id = g.Gid
	}
	return strconv.Atoi(id)
}

// numericID reads uid/gid: as HAProxy, trailing junk is warned about and
// the leading digits are used.
func (b *builder) numericID(ln *Line, kw, named string) int {
	w := ln.Words[1]
	n, err := strconv.Atoi(w)
	if err != nil || n < 0 {
		i := 0
		for i < len(w) && w[i] >= '0' && w[i] <= '9' {
			i++
		}
		n, _ = strconv.Atoi(w[:i])
		b.warnf(ln.Pos, " %s: string '%s' is not a number.\n   | You might want to use the '%s' parameter to use a system %s name.", kw, w, named, named)
	}
	return n
}
