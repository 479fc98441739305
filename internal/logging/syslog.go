// Package logging sends HAProxy-compatible logs: syslog framing in
// HAProxy's formats (rfc3164, rfc5424, local, raw, short, iso, timed,
// priority) to UDP, unix datagram sockets, stdout and stderr, and the
// log-format language that renders traffic logs (option tcplog,
// option httplog, log-format).
//
// Sending never blocks the caller: each target has a bounded queue drained
// by one goroutine owned by the Logger; a full queue drops the message and
// counts it (HAProxy's DroppedLogs).
package logging

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Level is a syslog severity.
type Level int

// Severities, in syslog order.
const (
	Emerg Level = iota
	Alert
	Crit
	Err
	Warning
	Notice
	Info
	Debug
)

var levelNames = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func (l Level) String() string { return levelNames[l] }

// ParseLevel reads a level name.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unknown log level '%s' (expected one of %s)", s, strings.Join(levelNames, ", "))
}

var facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"auth2", "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7"}

// ParseFacility returns the number of a facility name.
func ParseFacility(s string) (int, error) {
	for i, n := range facilities {
		if n == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown log facility '%s'", s)
}

// Framing is a syslog header layout.
type Framing int

// Framings, as HAProxy's `format` log option names them.
const (
	FrameLocal    Framing = iota // <PRI>Mmm dd hh:mm:ss TAG[PID]: (HAProxy's default)
	FrameRFC3164                 // the same with the host name
	FrameRFC5424                 // <PRI>1 ISO-TIME HOST TAG PID - -
	FrameRaw                     // the message alone
	FrameShort                   // <SEV>
	FrameISO                     // ISO-TIME
	FrameTimed                   // <SEV>ISO-TIME
	FramePriority                // <PRI>
)

var framingNames = map[string]Framing{"local": FrameLocal, "rfc3164": FrameRFC3164, "rfc5424": FrameRFC5424,
	"raw": FrameRaw, "short": FrameShort, "iso": FrameISO, "timed": FrameTimed, "priority": FramePriority}

// ParseFraming reads a `format` name.
func ParseFraming(s string) (Framing, error) {
	if f, ok := framingNames[s]; ok {
		return f, nil
	}
	return 0, fmt.Errorf("unknown log format '%s' (expected rfc3164, rfc5424, local, raw, short, iso, timed or priority)", s)
}

// TargetSpec describes one log destination (a parsed `log` line).
type TargetSpec struct {
	Address  string // "127.0.0.1:514", "udp@host:port", "/dev/log", "unix@/path", "stdout", "stderr", "fd@1"
	Network  string // Address resolved by ParseAddress at configuration time: "udp", "udp4", "udp6", "unixgram", "stdout", "stderr"
	Addr     string // host:port or socket path for Network
	Len      int    // maximum line length, default 1024
	Framing  Framing
	Facility int
	MaxLevel Level // messages above it are dropped; default Debug
	MinLevel Level // messages below it are raised to it; default Emerg
}

// Header holds what the syslog header carries besides the message.
type Header struct {
	Tag      string // program name, "halo" unless log-tag says otherwise
	Hostname string // "" unless log-send-hostname
	Pid      int
}

// Dialer opens the datagram sockets; tests may replace it.
type Dialer func(network, addr string) (net.Conn, error)

// target is a running destination.
type target struct {
	spec    TargetSpec
	network string
	addr    string
	w       *os.File // stdout/stderr
	queue   chan []byte
	conn    net.Conn
}

// Sink owns the senders: one queue and one goroutine per destination,
// shared by every Logger it makes, so that messages to one destination
// keep their order whichever proxy logs them. Stop it with Close.
type Sink struct {
	hdr     Header
	dial    Dialer
	now     func() time.Time
	dropped atomic.Int64
	wg      sync.WaitGroup
	mu      sync.RWMutex // held for reading while queueing; Close takes it to close the queues
	closed  bool
	targets map[TargetSpec]*target
	order   []*target
}

// Logger sends to a set of a Sink's destinations.
type Logger struct {
	sink    *Sink
	targets []*target
	own     bool // Close stops the sink (a Logger made by New)
}

// queueLen bounds each target's pending messages.
const queueLen = 1024

// NewSink prepares a sink; dial opens the datagram sockets (net.Dial
// when nil).
func NewSink(hdr Header, dial Dialer) *Sink {
	if dial == nil {
		dial = net.Dial
	}
	if hdr.Tag == "" {
		hdr.Tag = "halo"
	}
	return &Sink{hdr: hdr, dial: dial, now: time.Now, targets: map[TargetSpec]*target{}}
}

// Logger returns a logger for specs; identical specs share one sender.
// Addresses are checked now; sockets are opened lazily so that a syslog
// daemon started later is picked up.
func (s *Sink) Logger(specs []TargetSpec) (*Logger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("log sink closed")
	}
	l := &Logger{sink: s}
	for _, spec := range specs {
		t := s.targets[spec]
		if t == nil {
			var err error
			if t, err = newTarget(spec); err != nil {
				return nil, err
			}
			s.targets[spec] = t
			s.order = append(s.order, t)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.drain(t)
			}()
		}
		l.targets = append(l.targets, t)
	}
	return l, nil
}

// New starts a logger with its own sink for specs.
func New(hdr Header, specs []TargetSpec, dial Dialer) (*Logger, error) {
	s := NewSink(hdr, dial)
	l, err := s.Logger(specs)
	if err != nil {
		s.Close()
		return nil, err
	}
	l.own = true
	return l, nil
}

// Dropped is the number of messages dropped because a target was slow,
// absent or failing.
func (s *Sink) Dropped() int64 {
	if s == nil {
		return 0
	}
	return s.dropped.Load()
}

// Close stops the senders after flushing what is queued.
func (s *Sink) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, t := range s.order {
		close(t.queue)
	}
	s.mu.Unlock()
	s.wg.Wait()
	for _, t := range s.order {
		if t.conn != nil {
			t.conn.Close()
		}
	}
}

// Dropped is the number of messages of this logger's sink dropped.
func (l *Logger) Dropped() int64 {
	if l == nil {
		return 0
	}
	return l.sink.Dropped()
}

// Close stops the sink of a logger made by New; a Sink's loggers are
// stopped with the Sink.
func (l *Logger) Close() {
	if l != nil && l.own {
		l.sink.Close()
	}
}

// Log sends msg at level to every target whose levels accept it.
func (l *Logger) Log(level Level, msg string) {
	if l == nil {
		return
	}
	s := l.sink
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return
	}
	for _, t := range l.targets {
		lv := level
		if lv > t.spec.MaxLevel {
			continue
		}
		if lv < t.spec.MinLevel {
			lv = t.spec.MinLevel
		}
		line := frame(nil, t.spec, s.hdr, lv, now, msg)
		select {
		case t.queue <- line:
		default:
			s.dropped.Add(1)
		}
	}
}

// Enabled reports whether any target would take a message at level.
func (l *Logger) Enabled(level Level) bool {
	if l == nil {
		return false
	}
	for _, t := range l.targets {
		if level <= t.spec.MaxLevel {
			return true
		}
	}
	return false
}

// ParseAddress splits a log address into a network and address as
// HAProxy reads it: an optional family prefix (udp@, udp4@, udp6@,
// ipv4@, ipv6@), then a host and an optional port (514 by default). An
// IPv6 address is written in brackets ("[::1]:514") or bare, in which
// case the last colon starts the port ("::1:514"), so that a bare "::1"
// is refused as HAProxy refuses it.
func ParseAddress(a string) (network, addr string, err error) {
	switch {
	case a == "stdout" || a == "fd@1":
		return "stdout", "", nil
	case a == "stderr" || a == "fd@2":
		return "stderr", "", nil
	case strings.HasPrefix(a, "ring@"):
		return "", "", fmt.Errorf("log target '%s': ring buffers are not supported by halo; log to a UDP or unix socket", a)
	case strings.HasPrefix(a, "tcp@") || strings.HasPrefix(a, "tcp4@") || strings.HasPrefix(a, "tcp6@"):
		return "", "", fmt.Errorf("log target '%s': TCP log servers need a ring buffer in HAProxy and are not supported by halo; use UDP", a)
	case strings.HasPrefix(a, "unix@"):
		return "unixgram", a[len("unix@"):], nil
	case strings.HasPrefix(a, "/"):
		return "unixgram", a, nil
	case strings.HasPrefix(a, "fd@"):
		return "", "", fmt.Errorf("log target '%s': only fd@1 and fd@2 are supported", a)
	}
	network = "udp"
	rest := a
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		switch rest[:i+1] {
		case "udp@":
		case "udp4@", "ipv4@":
			network = "udp4"
		case "udp6@", "ipv6@":
			network = "udp6"
		default:
			return "", "", fmt.Errorf("log target '%s': unknown address family '%s' (expected udp@, udp4@, udp6@, ipv4@, ipv6@, unix@, fd@, stdout or stderr)", a, rest[:i+1])
		}
		rest = rest[i+1:]
	}
	host, port := rest, "514"
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", "", fmt.Errorf("log target '%s': missing ']' after the IPv6 address", a)
		}
		host = rest[1:end]
		switch tail := rest[end+1:]; {
		case tail == "":
		case tail[0] == ':':
			port = tail[1:]
		default:
			return "", "", fmt.Errorf("log target '%s': unexpected '%s' after the address", a, tail)
		}
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() {
			return "", "", fmt.Errorf("log target '%s': invalid IPv6 address '%s'", a, host)
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		host, port = rest[:i], rest[i+1:]
		if strings.Contains(host, ":") {
			if _, err := netip.ParseAddr(host); err != nil {
				return "", "", fmt.Errorf("log target '%s': invalid address '%s' (write an IPv6 address as [addr] or addr:port)", a, host)
			}
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("log target '%s': invalid port '%s'", a, port)
	}
	if host == "" {
		return "", "", fmt.Errorf("log target '%s': missing address", a)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		switch {
		case network == "udp4" && !ip.Is4():
			return "", "", fmt.Errorf("log target '%s': '%s' is not an IPv4 address", a, host)
		case network == "udp6" && !ip.Is6():
			return "", "", fmt.Errorf("log target '%s': '%s' is not an IPv6 address", a, host)
		}
	}
	return network, net.JoinHostPort(host, port), nil
}

func newTarget(s TargetSpec) (*target, error) {
	network, addr := s.Network, s.Addr
	if network == "" {
		var err error
		if network, addr, err = ParseAddress(s.Address); err != nil {
			return nil, err
		}
	}
	if s.Len <= 0 {
		s.Len = 1024
	}
	t := &target{spec: s, network: network, addr: addr, queue: make(chan []byte, queueLen)}
	switch network {
	case "stdout":
		t.w = os.Stdout
	case "stderr":
		t.w = os.Stderr
	}
	return t, nil
}

func (s *Sink) drain(t *target) {
	for line := range t.queue {
		if err := s.send(t, line); err != nil {
			s.dropped.Add(1)
		}
	}
}

func (s *Sink) send(t *target, line []byte) error {
	if t.w != nil {
		_, err := t.w.Write(line)
		return err
	}
	if t.conn == nil {
		c, err := s.dial(t.network, t.addr)
		if err != nil {
			return err
		}
		t.conn = c
	}
	t.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := t.conn.Write(line); err != nil {
		// A unix socket whose reader restarted needs a new connection.
		var ne net.Error
		if t.network == "unixgram" || !(errors.As(err, &ne) && ne.Timeout()) {
			t.conn.Close()
			t.conn = nil
		}
		return err
	}
	return nil
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// frame renders one datagram: header, message truncated to the target's
// length, and the final newline.
func frame(b []byte, s TargetSpec, h Header, lv Level, now time.Time, msg string) []byte {
	pri := s.Facility*8 + int(lv)
	appendPri := func(p int) {
		b = append(b, '<')
		b = strconv.AppendInt(b, int64(p), 10)
		b = append(b, '>')
	}
	iso := func() {
		b = now.AppendFormat(b, "2006-01-02T15:04:05.000000-07:00")
	}
	switch s.Framing {
	case FrameLocal, FrameRFC3164:
		appendPri(pri)
		b = append(b, months[now.Month()-1]...)
		b = append(b, ' ')
		d := now.Day()
		if d < 10 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(d), 10)
		b = now.AppendFormat(b, " 15:04:05 ")
		host := h.Hostname
		if s.Framing == FrameRFC3164 && host == "" {
			host = "localhost" // what haproxy 2.6.12 writes without log-send-hostname
		}
		if host != "" {
			b = append(b, host...)
			b = append(b, ' ')
		}
		b = append(b, h.Tag...)
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(h.Pid), 10)
		b = append(b, "]: "...)
	case FrameRFC5424:
		appendPri(pri)
		b = append(b, "1 "...)
		iso()
		b = append(b, ' ')
		if h.Hostname != "" {
			b = append(b, h.Hostname...)
		} else {
			b = append(b, '-')
		}
		b = append(b, ' ')
		b = append(b, h.Tag...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(h.Pid), 10)
		b = append(b, " - - "...)
	case FrameShort:
		appendPri(int(lv))
	case FrameISO:
		iso()
		b = append(b, ' ')
	case FrameTimed:
		appendPri(int(lv))
		iso()
		b = append(b, ' ')
	case FramePriority:
		appendPri(pri)
	}
	// The length limit covers the header and the message; HAProxy does
	// not count the final newline, except in the raw format, whose
	// datagrams are at most len bytes with it (observed on 2.6.12).
	room := s.Len - len(b)
	if s.Framing == FrameRaw {
		room--
	}
	if room < 0 {
		room = 0
	}
	if len(msg) > room {
		msg = msg[:room]
	}
	b = append(b, msg...)
	return append(b, '\n')
}
