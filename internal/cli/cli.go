// Package cli serves HAProxy's runtime API ("stats socket") so that
// socat, hatop and HAProxy tooling work with halo: one command line per
// connection (several separated by ';'), or the interactive mode that
// `prompt` starts, with HAProxy's replies byte for byte.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/halo-lb/halo/internal/stats"
)

// Level is a CLI access level.
type Level int

// Access levels, lowest first.
const (
	LevelUser Level = iota
	LevelOperator
	LevelAdmin
)

func (l Level) String() string { return [...]string{"user", "operator", "admin"}[l] }

// ParseLevel reads "user", "operator" or "admin".
func ParseLevel(s string) (Level, error) {
	switch s {
	case "user":
		return LevelUser, nil
	case "operator":
		return LevelOperator, nil
	case "admin":
		return LevelAdmin, nil
	}
	return 0, fmt.Errorf("'level' only supports 'user', 'operator', and 'admin' (got '%s')", s)
}

// Target is what the commands act on; the proxy runtime implements it.
type Target interface {
	Snapshot() *stats.Snapshot
	SetServerState(backend, server string, st stats.AdminState) error
	SetServerWeight(backend, server string, weight int, percent bool) error
	ServerWeight(backend, server string) (cur, initial int, err error)
	SetServerMaxConn(backend, server string, n int) error
	ShutdownServerSessions(backend, server string) (int, error)
	ClearCounters(all bool)
	BackendNames() []string
	// SetServerAddr is `set server ... addr <ip> [port <port>]`; it
	// returns HAProxy's reply line.
	SetServerAddr(backend, server, addr, port string) (string, error)
	// ShowSess lists the client connections for `show sess`, one line
	// each.
	ShowSess() string
}

// CacheTarget is implemented by a Target with `cache` sections: it
// renders `show cache`.
type CacheTarget interface {
	ShowCache() string
}

func cmdShowCache(s *Server, w io.Writer, args []string) string {
	if ct, ok := s.Target.(CacheTarget); ok {
		return ct.ShowCache() + "\n"
	}
	return "\n"
}

// Server serves the runtime API on listeners.
type Server struct {
	Target  Target
	Version string
	Timeout time.Duration // idle timeout, `stats timeout` (default 10s)

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Serve accepts connections on ln with the given level until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener, level Level) error {
	go func() {
		<-ctx.Done()
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		s.mu.Lock()
		if s.conns == nil {
			s.conns = map[net.Conn]struct{}{}
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(c, level)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// session runs one CLI connection.
func (s *Server) session(c net.Conn, level Level) {
	defer c.Close()
	to := s.Timeout
	if to <= 0 {
		to = 10 * time.Second
	}
	br := bufio.NewReaderSize(c, 16384)
	w := bufio.NewWriter(c)
	peer := "unix_stream src=unix:1"
	if _, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer = "tcpv4 src=" + c.RemoteAddr().String()
	}
	prompt := false
	for {
		c.SetReadDeadline(time.Now().Add(to))
		line, err := br.ReadString('\n')
		if err != nil && line == "" {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		// A line ending with "<<" is followed by a payload that ends with
		// an empty line; it goes to the line's last command (ssl.go).
		var payload *string
		if f := strings.Fields(line); len(f) > 0 && f[len(f)-1] == "<<" {
			line = strings.TrimSuffix(strings.TrimRight(line, " \t"), "<<")
			p := readPayload(br, w, prompt)
			payload = &p
		}
		quit := false
		cmds := SplitCommands(line)
		for i, cmd := range cmds {
			args := strings.Fields(cmd)
			if len(args) == 0 {
				continue
			}
			switch args[0] {
			case "prompt":
				prompt = !prompt
				w.WriteString("\n")
				continue
			case "quit":
				quit = true
			}
			if quit {
				break
			}
			if i == len(cmds)-1 && payload != nil {
				level = s.run(&payloadWriter{w, *payload}, args, level, peer)
				continue
			}
			level = s.run(w, args, level, peer)
		}
		if quit {
			w.Flush()
			return
		}
		if prompt {
			w.WriteString("> ")
		}
		w.Flush()
		if !prompt {
			return
		}
	}
}

// SplitCommands splits a line on ';' (a "\;" is a literal semicolon).
func SplitCommands(line string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == ';':
			b.WriteByte(';')
			i++
		case line[i] == ';':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(line[i])
		}
	}
	return append(out, b.String())
}

type command struct {
	words []string // leading keywords
	usage string
	help  string
	level Level
	run   func(s *Server, w io.Writer, args []string) string
}

// commands are listed by `help`; halo lists only what it implements.
var commands []command

func init() {
	commands = []command{
		{[]string{"clear", "counters"}, "clear counters [all]", "clear max statistics counters (or all counters)", LevelOperator, cmdClearCounters},
		{[]string{"disable", "server"}, "disable server (DEPRECATED)", "disable a server for maintenance (use 'set server' instead)", LevelAdmin, cmdEnableDisable(stats.AdminMaint)},
		{[]string{"enable", "server"}, "enable server  (DEPRECATED)", "enable a disabled server (use 'set server' instead)", LevelAdmin, cmdEnableDisable(stats.AdminReady)},
		{[]string{"get", "weight"}, "get weight <bk>/<srv>", "report a server's current weight", LevelUser, cmdGetWeight},
		{[]string{"help"}, "help [<command>]", "list matching or all commands", LevelUser, nil},
		{[]string{"operator"}, "operator", "lower the level of the current CLI session to operator", LevelUser, nil},
		{[]string{"set", "maxconn", "server"}, "set maxconn server <bk>/<srv>", "change a server's maxconn setting", LevelAdmin, cmdSetMaxConn},
		{[]string{"set", "server"}, "set server <bk>/<srv> [opts]", "change a server's state, weight, address or ssl", LevelAdmin, cmdSetServer},
		{[]string{"set", "weight"}, "set weight <bk>/<srv>  (DEPRECATED)", "change a server's weight (use 'set server' instead)", LevelAdmin, cmdSetWeight},
		{[]string{"show", "cache"}, "show cache", "show cache status", LevelAdmin, cmdShowCache},
		{[]string{"show", "backend"}, "show backend", "list backends in the current running config", LevelUser, cmdShowBackend},
		{[]string{"show", "cli", "level"}, "show cli level", "display the level of the current CLI session", LevelUser, nil},
		{[]string{"show", "info"}, "show info [desc|json|typed|float]*", "report information about the running process", LevelUser, cmdShowInfo},
		{[]string{"show", "servers", "state"}, "show servers state [<backend>]", "dump volatile server information (all or for a single backend)", LevelUser, cmdServersState},
		{[]string{"show", "sess"}, "show sess [id]", "report the list of current sessions or dump this exact session", LevelOperator, nil},
		{[]string{"show", "stat"}, "show stat [desc|json|no-maint|typed|up]*", "report counters for each proxy and server", LevelUser, cmdShowStat},
		{[]string{"show", "version"}, "show version", "show version of the current process", LevelUser, cmdShowVersion},
		{[]string{"shutdown", "sessions", "server"}, "shutdown sessions server <bk>/<srv>", "kill sessions on a server", LevelAdmin, cmdShutdownSessions},
		{[]string{"user"}, "user", "lower the level of the current CLI session to user", LevelUser, nil},
		{[]string{"prompt"}, "prompt", "toggle interactive mode with prompt", LevelUser, nil},
		{[]string{"quit"}, "quit", "disconnect", LevelUser, nil},
	}
	commands = append(commands, sslCommands()...)
	commands = append(commands, tableCommands()...)
}

// helpLine is HAProxy's help layout: the usage padded to 40 columns.
func helpLine(c command) string { return fmt.Sprintf("  %-40s: %s\n", c.usage, c.help) }

// argLevels raise the level some arguments of a command need:
// `clear counters all` is for admins, `clear counters` for operators.
var argLevels = map[string]func(args []string) Level{
	"clear counters": func(args []string) Level {
		if len(args) > 2 && args[2] == "all" {
			return LevelAdmin
		}
		return LevelOperator
	},
}

// run executes one command and returns the session's (possibly lowered)
// level. peer describes the CLI connection for `show sess`.
func (s *Server) run(w io.Writer, args []string, level Level, peer string) Level {
	var best *command
	for i := range commands {
		c := &commands[i]
		if len(args) >= len(c.words) && equalWords(args[:len(c.words)], c.words) && (best == nil || len(c.words) > len(best.words)) {
			best = c
		}
	}
	if best == nil {
		io.WriteString(w, "Unknown command, but maybe one of the following ones is a better match:\n"+suggestions(args, level)+"\n")
		return level
	}
	need := best.level
	if f := argLevels[strings.Join(best.words, " ")]; f != nil {
		need = f(args)
	}
	if need > level {
		io.WriteString(w, "Permission denied\n\n")
		return level
	}
	switch strings.Join(best.words, " ") {
	case "help":
		io.WriteString(w, "The following commands are valid at this level:\n"+helpFor(level, args[1:])+"\n")
		return level
	case "operator":
		return min(level, LevelOperator)
	case "user":
		return LevelUser
	case "show cli level":
		io.WriteString(w, level.String()+"\n\n")
		return level
	case "show sess":
		if len(args) > 2 {
			io.WriteString(w, "'show sess <id>' is not supported by halo: it lists sessions but keeps no per-stream detail to dump.\n\n")
			return level
		}
		io.WriteString(w, s.Target.ShowSess()+fmt.Sprintf("0x%08x: proto=%s fe=GLOBAL be=<NONE> srv=<none> ts=00 epoch=0 age=0s\n\n", 0, peer))
		return level
	}
	io.WriteString(w, best.run(s, w, args))
	return level
}

func equalWords(a, b []string) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// alwaysListed close every help listing, in this order, as in HAProxy.
var alwaysListed = []string{"help", "prompt", "quit"}

// helpFor lists the commands the level allows: all of them, or those
// starting with the words of `help <words>` (or sharing a word with
// them when none does), sorted, then help, prompt and quit.
func helpFor(level Level, words []string) string {
	var lines, last []string
	for _, c := range commands {
		if c.level > level {
			continue
		}
		if len(c.words) == 1 && contains(alwaysListed, c.words[0]) {
			continue
		}
		if len(words) > 0 && !startsWith(c.words, words) {
			continue
		}
		lines = append(lines, helpLine(c))
	}
	if len(words) > 0 && len(lines) == 0 {
		return suggestions(words, level)
	}
	sort.Strings(lines)
	for _, name := range alwaysListed {
		for _, c := range commands {
			if len(c.words) == 1 && c.words[0] == name {
				last = append(last, helpLine(c))
			}
		}
	}
	return strings.Join(lines, "") + strings.Join(last, "")
}

// startsWith reports whether a command's words begin with the given
// words (the last one may be a prefix: "help sh" lists show commands).
func startsWith(cmd, words []string) bool {
	if len(words) > len(cmd) {
		return false
	}
	for i, w := range words {
		if i == len(words)-1 {
			return strings.HasPrefix(cmd[i], w)
		}
		if cmd[i] != w {
			return false
		}
	}
	return true
}

// suggestions lists the commands sharing a word with args, or all, then
// help, prompt and quit.
func suggestions(args []string, level Level) string {
	var out []string
	for _, c := range commands {
		if len(c.words) == 1 && contains(alwaysListed, c.words[0]) {
			continue
		}
		for _, a := range args {
			if contains(c.words, a) {
				out = append(out, helpLine(c))
				break
			}
		}
	}
	if len(out) == 0 {
		return helpFor(level, nil)
	}
	sort.Strings(out)
	for _, name := range alwaysListed {
		for _, c := range commands {
			if len(c.words) == 1 && c.words[0] == name {
				out = append(out, helpLine(c))
			}
		}
	}
	return strings.Join(out, "")
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// splitName reads "backend/server".
func splitName(args []string, i int) (string, string, bool) {
	if len(args) <= i {
		return "", "", false
	}
	be, srv, ok := strings.Cut(args[i], "/")
	return be, srv, ok && be != "" && srv != ""
}

func errText(err error) string { return err.Error() + "\n\n" }

func cmdClearCounters(s *Server, _ io.Writer, args []string) string {
	s.Target.ClearCounters(len(args) > 2 && args[2] == "all")
	return "\n"
}

func cmdEnableDisable(st stats.AdminState) func(*Server, io.Writer, []string) string {
	return func(s *Server, _ io.Writer, args []string) string {
		be, srv, ok := splitName(args, 2)
		if !ok {
			return "Require 'backend/server'.\n\n"
		}
		if err := s.Target.SetServerState(be, srv, st); err != nil {
			return errText(err)
		}
		return "\n"
	}
}

func cmdGetWeight(s *Server, _ io.Writer, args []string) string {
	be, srv, ok := splitName(args, 2)
	if !ok {
		return "Require 'backend/server'.\n\n"
	}
	cur, init, err := s.Target.ServerWeight(be, srv)
	if err != nil {
		return errText(err)
	}
	return fmt.Sprintf("%d (initial %d)\n\n", cur, init)
}

func parseWeight(v string) (int, bool, error) {
	pct := strings.HasSuffix(v, "%")
	n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
	if err != nil {
		return 0, false, errors.New("Require <weight> or <weight%>.")
	}
	return n, pct, nil
}

func cmdSetWeight(s *Server, _ io.Writer, args []string) string {
	be, srv, ok := splitName(args, 2)
	if !ok || len(args) < 4 {
		return "Require 'backend/server' and 'weight' or 'weight%'.\n\n"
	}
	n, pct, err := parseWeight(args[3])
	if err == nil {
		err = s.Target.SetServerWeight(be, srv, n, pct)
	}
	if err != nil {
		return errText(err)
	}
	return "\n"
}

// setServerUsage is HAProxy 2.6's answer to an unknown `set server`
// option (including `port`, which it only takes after `addr`).
const setServerUsage = "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n\n"

func cmdSetServer(s *Server, w io.Writer, args []string) string {
	be, srv, ok := splitName(args, 2)
	if !ok {
		return "Require 'backend/server'.\n\n"
	}
	if len(args) < 4 {
		return setServerUsage
	}
	switch args[3] {
	case "state":
		var st stats.AdminState
		switch {
		case len(args) > 4 && args[4] == "ready":
			st = stats.AdminReady
		case len(args) > 4 && args[4] == "drain":
			st = stats.AdminDrain
		case len(args) > 4 && args[4] == "maint":
			st = stats.AdminMaint
		default:
			return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"
		}
		if err := s.Target.SetServerState(be, srv, st); err != nil {
			return errText(err)
		}
		return "\n"
	case "weight":
		if len(args) < 5 {
			return "Require <weight> or <weight%>.\n\n"
		}
		return cmdSetWeight(s, w, []string{"set", "weight", args[2], args[4]})
	case "addr":
		if len(args) < 5 {
			return "set server <b>/<s> addr requires an address and optionally a port.\n\n"
		}
		port := ""
		if len(args) > 6 && args[5] == "port" {
			port = args[6]
		}
		reply, err := s.Target.SetServerAddr(be, srv, args[4], port)
		if err != nil {
			return errText(err)
		}
		return reply + "\n\n"
	case "agent", "agent-addr", "agent-port", "agent-send", "check-addr", "check-port", "fqdn", "health", "ssl":
		return fmt.Sprintf("'set server ... %s' is not supported by halo yet.\n\n", args[3])
	}
	return setServerUsage
}

func cmdSetMaxConn(s *Server, _ io.Writer, args []string) string {
	be, srv, ok := splitName(args, 3)
	if !ok || len(args) < 5 {
		return "Require 'backend/server' and a value.\n\n"
	}
	n, err := strconv.Atoi(args[4])
	if err != nil || n < 0 {
		return "maxconn string empty or preceded by garbage\n" // HAProxy's reply, without the usual empty line
	}
	if err := s.Target.SetServerMaxConn(be, srv, n); err != nil {
		return errText(err)
	}
	return "\n"
}

func cmdShowBackend(s *Server, _ io.Writer, _ []string) string {
	return "# name\n" + strings.Join(append(s.Target.BackendNames(), ""), "\n") + "\n"
}

func cmdShowInfo(s *Server, w io.Writer, args []string) string {
	f, float := stats.InfoPlain, false
	for _, a := range args[2:] {
		switch a {
		case "typed":
			f = stats.InfoTyped
		case "json":
			f = stats.InfoJSON
		case "float":
			float = true
		case "desc":
			return descRefused
		}
	}
	stats.WriteInfo(w, s.Target.Snapshot(), f, float)
	return ""
}

// descRefused answers the `desc` option: the field descriptions are
// HAProxy's own text, which halo does not carry.
const descRefused = "'desc' is not supported by halo: it does not carry HAProxy's field descriptions (the fields, tags and types are the same without it).\n\n"

// cmdShowStat is `show stat [{<iid>|<proxy>} <type> <sid>] [typed|json]
// [desc] [up|no-maint]`.
func cmdShowStat(s *Server, w io.Writer, args []string) string {
	snap := s.Target.Snapshot()
	o := stats.CSVOptions{Addr: true}
	typed, json, desc := false, false, false
	rest := args[2:]
	if len(rest) >= 3 && !isStatWord(rest[0]) {
		iid, err := strconv.Atoi(rest[0])
		if err != nil {
			iid = -2
			for _, p := range snap.Proxies {
				if p.Name == rest[0] {
					iid = p.ID
				}
			}
			if iid == -2 {
				return "No such proxy.\n\n"
			}
		}
		typ, err1 := strconv.Atoi(rest[1])
		sid, err2 := strconv.Atoi(rest[2])
		if err1 != nil || err2 != nil {
			return "Usage: show stat [{<iid>|<proxy>} <type> <sid>] [typed|json] [desc] [up|no-maint]\n\n"
		}
		o.IID, o.Types, o.SID, o.Filtered = iid, typ, sid, true
		rest = rest[3:]
	}
	for _, a := range rest {
		switch a {
		case "typed":
			typed = true
		case "json":
			json = true
		case "desc":
			desc = true
		case "up":
			o.Up = true
		case "no-maint":
			o.NoMaint = true
		}
	}
	switch {
	case desc && (typed || json):
		return descRefused
	case json:
		stats.WriteJSON(w, snap, o)
		return "\n"
	case typed:
		stats.WriteTyped(w, snap, o)
		return ""
	}
	var b strings.Builder
	stats.WriteCSV(&b, snap, o)
	return b.String() + "\n"
}

func isStatWord(a string) bool {
	switch a {
	case "typed", "json", "desc", "up", "no-maint":
		return true
	}
	return false
}

func cmdServersState(s *Server, w io.Writer, args []string) string {
	snap := s.Target.Snapshot()
	be := ""
	if len(args) > 3 {
		be = args[3]
		found := false
		for _, n := range s.Target.BackendNames() {
			found = found || n == be
		}
		if !found {
			return "Can't find backend.\n\n"
		}
	}
	stats.WriteServersState(w, snap, be)
	return ""
}

func cmdShowVersion(s *Server, _ io.Writer, _ []string) string { return s.Version + "\n\n" }

func cmdShutdownSessions(s *Server, _ io.Writer, args []string) string {
	be, srv, ok := splitName(args, 3)
	if !ok {
		return "Require 'backend/server'.\n\n"
	}
	if _, err := s.Target.ShutdownServerSessions(be, srv); err != nil {
		return errText(err)
	}
	return "\n"
}
