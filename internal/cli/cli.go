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
				level = s.run(&payloadWriter{w, *payload}, args, level)
				continue
			}
			level = s.run(w, args, level)
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
		{[]string{"set", "server"}, "set server <bk>/<srv> [opts]", "change a server's state or weight", LevelAdmin, cmdSetServer},
		{[]string{"set", "weight"}, "set weight <bk>/<srv>  (DEPRECATED)", "change a server's weight (use 'set server' instead)", LevelAdmin, cmdSetWeight},
		{[]string{"show", "backend"}, "show backend", "list backends in the current running config", LevelUser, cmdShowBackend},
		{[]string{"show", "cli", "level"}, "show cli level", "display the level of the current CLI session", LevelUser, nil},
		{[]string{"show", "info"}, "show info", "report information about the running process", LevelUser, cmdShowInfo},
		{[]string{"show", "servers", "state"}, "show servers state [<backend>]", "dump volatile server information (all or for a single backend)", LevelUser, cmdServersState},
		{[]string{"show", "stat"}, "show stat [typed]", "report counters for each proxy and server", LevelUser, cmdShowStat},
		{[]string{"show", "version"}, "show version", "show version of the current process", LevelUser, cmdShowVersion},
		{[]string{"shutdown", "sessions", "server"}, "shutdown sessions server <bk>/<srv>", "kill sessions on a server", LevelAdmin, cmdShutdownSessions},
		{[]string{"user"}, "user", "lower the level of the current CLI session to user", LevelUser, nil},
		{[]string{"prompt"}, "prompt", "toggle interactive mode with prompt", LevelUser, nil},
		{[]string{"quit"}, "quit", "disconnect", LevelUser, nil},
	}
	commands = append(commands, sslCommands()...)
}

func helpLine(c command) string { return fmt.Sprintf("  %-39s : %s\n", c.usage, c.help) }

// run executes one command and returns the session's (possibly lowered)
// level.
func (s *Server) run(w io.Writer, args []string, level Level) Level {
	var best *command
	for i := range commands {
		c := &commands[i]
		if len(args) >= len(c.words) && equalWords(args[:len(c.words)], c.words) && (best == nil || len(c.words) > len(best.words)) {
			best = c
		}
	}
	if best == nil {
		io.WriteString(w, "Unknown command, but maybe one of the following ones is a better match:\n"+suggestions(args)+"\n")
		return level
	}
	if best.level > level {
		io.WriteString(w, "Permission denied\n\n")
		return level
	}
	switch best.words[0] {
	case "help":
		io.WriteString(w, "The following commands are valid at this level:\n"+helpFor(level)+"\n")
		return level
	case "operator":
		return min(level, LevelOperator)
	case "user":
		return LevelUser
	}
	if best.words[0] == "show" && len(best.words) == 3 && best.words[1] == "cli" {
		io.WriteString(w, level.String()+"\n\n")
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

func helpFor(level Level) string {
	var lines []string
	for _, c := range commands {
		if c.level <= level {
			lines = append(lines, helpLine(c))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// suggestions lists the commands sharing a word with args, or all.
func suggestions(args []string) string {
	var out []string
	for _, c := range commands {
		for _, a := range args {
			if contains(c.words, a) {
				out = append(out, helpLine(c))
				break
			}
		}
	}
	if len(out) == 0 {
		return helpFor(LevelAdmin)
	}
	sort.Strings(out)
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

func cmdSetServer(s *Server, w io.Writer, args []string) string {
	be, srv, ok := splitName(args, 2)
	if !ok || len(args) < 4 {
		return "usage: set server <backend>/<server> state | weight\n\n"
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
	case "addr", "agent", "agent-addr", "agent-port", "agent-send", "check-addr", "check-port", "fqdn", "health", "ssl":
		return fmt.Sprintf("'set server ... %s' is not supported by halo yet.\n\n", args[3])
	}
	return "usage: set server <backend>/<server> state | weight\n\n"
}

func cmdSetMaxConn(s *Server, _ io.Writer, args []string) string {
	be, srv, ok := splitName(args, 3)
	if !ok || len(args) < 5 {
		return "Require 'backend/server' and a value.\n\n"
	}
	n, err := strconv.Atoi(args[4])
	if err != nil || n < 0 {
		return "Require a positive integer.\n\n"
	}
	if err := s.Target.SetServerMaxConn(be, srv, n); err != nil {
		return errText(err)
	}
	return "\n"
}

func cmdShowBackend(s *Server, _ io.Writer, _ []string) string {
	return "# name\n" + strings.Join(append(s.Target.BackendNames(), ""), "\n") + "\n"
}

func cmdShowInfo(s *Server, w io.Writer, _ []string) string {
	stats.WriteInfo(w, s.Target.Snapshot())
	return ""
}

func cmdShowStat(s *Server, w io.Writer, args []string) string {
	if len(args) > 2 && args[2] == "typed" {
		stats.WriteTyped(w, s.Target.Snapshot())
		return ""
	}
	if len(args) > 2 && args[2] == "json" {
		return "'show stat json' is not supported by halo yet; use the CSV or typed form.\n\n"
	}
	var b strings.Builder
	stats.WriteCSV(&b, s.Target.Snapshot(), stats.CSVOptions{Addr: true})
	return b.String() + "\n"
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
