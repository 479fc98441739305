// Package kaconf reads the VRRP subset of keepalived.conf into the
// halo-vrrp runtime configuration. It is a stop-gap until the full
// keepalived.conf model (internal/keepalived) is wired in; errors are
// reported as "file:line: reason".
package kaconf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/halo-lb/halo/internal/suggest"
	"io"
	"math"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/halo-lb/halo/internal/vrrp"
	"github.com/halo-lb/halo/internal/vrrp/node"
)

// node in the keyword tree.
type item struct {
	file  string
	line  int
	key   string
	args  []string
	block []*item
	open  bool
}

func (it *item) errf(format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", it.file, it.line, fmt.Sprintf(format, a...))
}

// tokenize splits one line into words, honouring quotes and comments.
func tokenize(s string) []string {
	var out []string
	var cur strings.Builder
	in := false
	var q byte
	quoted := false
	flush := func() {
		if cur.Len() > 0 || quoted {
			out = append(out, cur.String())
		}
		cur.Reset()
		quoted = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == q:
			in = false
		case in:
			if c == '\\' && i+1 < len(s) && q == '"' {
				i++
				c = s[i]
			}
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			in, q, quoted = true, c, true
		case c == '#' || c == '!':
			flush()
			return out
		case c == '{' || c == '}':
			flush()
			out = append(out, string(c))
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

func parseFile(path string, depth int) ([]*item, error) {
	if depth > 8 {
		return nil, fmt.Errorf("%s: include nesting too deep", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f, path, depth)
}

func parse(r io.Reader, path string, depth int) ([]*item, error) {
	root := &item{}
	stack := []*item{root}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	ln := 0
	for sc.Scan() {
		ln++
		words := tokenize(sc.Text())
		var cur *item
		for _, w := range words {
			top := stack[len(stack)-1]
			switch w {
			case "{":
				if cur == nil {
					// "{" on its own line opens the previous statement's block.
					if len(top.block) == 0 {
						return nil, fmt.Errorf("%s:%d: unexpected '{'", path, ln)
					}
					cur = top.block[len(top.block)-1]
				}
				cur.open = true
				stack = append(stack, cur)
				cur = nil
			case "}":
				if len(stack) == 1 {
					return nil, fmt.Errorf("%s:%d: unexpected '}'", path, ln)
				}
				stack = stack[:len(stack)-1]
				cur = nil
			default:
				if cur == nil {
					cur = &item{file: path, line: ln, key: w}
					top.block = append(top.block, cur)
				} else {
					cur.args = append(cur.args, w)
				}
			}
		}
		// include FILE at top level or in a block
		top := stack[len(stack)-1]
		if n := len(top.block); n > 0 && top.block[n-1].key == "include" && top.block[n-1].line == ln {
			inc := top.block[n-1]
			top.block = top.block[:n-1]
			for _, pat := range inc.args {
				if !filepath.IsAbs(pat) {
					pat = filepath.Join(filepath.Dir(path), pat)
				}
				matches, _ := filepath.Glob(pat)
				for _, m := range matches {
					items, err := parseFile(m, depth+1)
					if err != nil {
						return nil, err
					}
					top.block = append(top.block, items...)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(stack) != 1 {
		return nil, fmt.Errorf("%s:%d: there are %d missing '}'s or extra '{'s", path, ln, len(stack)-1)
	}
	return root.block, nil
}

// SecurityViolation is the warning keepalived prints (and `-t` turns into
// exit code 6) when scripts are configured without enable_script_security.
const SecurityViolation = "SECURITY VIOLATION - scripts are being executed but script_security not enabled."

// Load reads path. Warnings (unknown keywords, ignored options) are
// returned separately; they do not stop the daemon.
func Load(path string) (*node.Config, []string, error) {
	items, err := parseFile(path, 0)
	if err != nil {
		return nil, nil, err
	}
	return build(items)
}

// Parse reads a configuration from data; name is used in messages and to
// resolve relative includes.
func Parse(name string, data []byte) (*node.Config, []string, error) {
	items, err := parse(bytes.NewReader(data), name, 0)
	if err != nil {
		return nil, nil, err
	}
	return build(items)
}

func build(items []*item) (*node.Config, []string, error) {
	l := &loader{cfg: &node.Config{}, checks: map[string]*node.Check{}, version: 2,
		garpRepeat: 5, garpDelay: 5 * time.Second}
	// global_defs and scripts first: instances refer to them.
	for _, it := range items {
		switch it.key {
		case "global_defs":
			l.global(it)
		case "vrrp_script", "vrrp_track_process", "vrrp_track_halo":
			l.check(it)
		}
	}
	for _, it := range items {
		switch it.key {
		case "global_defs", "vrrp_script", "vrrp_track_process", "vrrp_track_halo":
		case "vrrp_instance":
			l.instance(it)
		case "vrrp_sync_group":
			l.syncGroup(it)
		case "virtual_server", "virtual_server_group", "SSL":
			l.fail(it, "'%s' (keepalived's LVS/IPVS load balancer) is not supported by halo-vrrp: balance with halo and keep only the VRRP part in this file", it.key)
		case "static_ipaddress", "static_routes", "static_rules", "linkbeat_interfaces", "vrrp_track_file", "track_file", "vrrp_track_bfd", "net_namespace":
			l.fail(it, "'%s' is a keepalived block that halo-vrrp does not support yet", it.key)
		default:
			l.errs = append(l.errs, it.errf("unknown keyword '%s'%s", it.key, suggest.Hint(it.key, names("top level"))))
		}
	}
	def := l.scriptUser
	if !l.userSet {
		// keepalived's default: user keepalived_script if it exists, else its own.
		def, _ = lookupCred([]string{"keepalived_script"})
	}
	for _, c := range l.pendingCred {
		c.Cred = def
	}
	for _, in := range l.cfg.Instances {
		in.Notify.Cred = def
	}
	for _, g := range l.cfg.SyncGroups {
		g.Notify.Cred = def
	}
	for _, c := range l.checks {
		l.cfg.Checks = append(l.cfg.Checks, c)
		if c.Kind == node.CheckScript {
			l.hasScripts = true
		}
	}
	for _, in := range l.cfg.Instances {
		n := in.Notify
		if n.Master != nil || n.Backup != nil || n.Fault != nil || n.Stop != nil || n.Any != nil {
			l.hasScripts = true
		}
	}
	names := map[string]*node.Instance{}
	for _, in := range l.cfg.Instances {
		names[in.Name] = in
	}
	for _, g := range l.cfg.SyncGroups {
		for _, m := range g.Members {
			in := names[m]
			if in == nil {
				l.errs = append(l.errs, fmt.Errorf("vrrp_sync_group %s: unknown vrrp_instance %s", g.Name, m))
				continue
			}
			if !l.syncWeight {
				// keepalived: tracking in a sync group is not weighted; a failure means FAULT.
				for i := range in.TrackChecks {
					in.TrackChecks[i].Weight, in.TrackChecks[i].HasWeight = 0, true
				}
				for i := range in.TrackInterfaces {
					in.TrackInterfaces[i].Weight = 0
				}
			}
		}
	}
	if l.hasScripts && !l.scriptSec {
		l.warns = append(l.warns, SecurityViolation)
	}
	l.checkScriptSecurity()
	return l.cfg, l.warns, errors.Join(l.errs...)
}

type loader struct {
	cfg         *node.Config
	checks      map[string]*node.Check
	version     int
	garpRepeat  int
	garpDelay   time.Duration
	garpRefr    time.Duration
	lowerNoAdv  bool
	checkUcSrc  bool
	scriptSec   bool
	defaultIf   string // global_defs default_interface
	skipAdv     bool
	group4      netip.Addr
	group6      netip.Addr
	scriptUser  *syscall.Credential
	userSet     bool
	syncWeight  bool
	pendingCred []*node.Check // checks using the default script user
	hasScripts  bool
	errs        []error
	warns       []string
	scripts     []scriptRef // every script line, for the security check
}

// unknown reports a keyword the block does not take: "not supported yet"
// for keepalived keywords halo-vrrp lacks, else unknown with a hint.
func (l *loader) unknown(it *item, block string) {
	if unsupportedIn(block, it.key) {
		l.fail(it, "'%s' is a keepalived keyword that halo-vrrp does not support yet", it.key)
		return
	}
	l.fail(it, "unknown keyword '%s' in %s%s", it.key, block, suggest.Hint(it.key, names(block)))
}

func (l *loader) fail(it *item, format string, a ...any) {
	l.errs = append(l.errs, it.errf(format, a...))
}
func (l *loader) warn(it *item, format string, a ...any) {
	l.warns = append(l.warns, it.errf(format, a...).Error())
}

func (l *loader) arg(it *item) (string, bool) {
	if len(it.args) < 1 {
		l.fail(it, "'%s' needs a value", it.key)
		return "", false
	}
	return it.args[0], true
}

func (l *loader) intArg(it *item, lo, hi int) (int, bool) {
	s, ok := l.arg(it)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		l.fail(it, "number '%s' outside range [%d, %d]", s, lo, hi)
		return 0, false
	}
	return n, true
}

func (l *loader) timerArg(it *item, lo, hi float64) (time.Duration, bool) {
	s, ok := l.arg(it)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi {
		l.fail(it, "timer '%s' outside range [%g, %g]", s, lo, hi)
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

func (l *loader) global(g *item) {
	for _, it := range g.block {
		switch it.key {
		case "vrrp_version":
			if n, ok := l.intArg(it, 2, 3); ok {
				l.version = n
			}
		case "vrrp_garp_master_repeat":
			if n, ok := l.intArg(it, 1, 10000); ok {
				l.garpRepeat = n
			}
		case "vrrp_garp_master_delay":
			if d, ok := l.timerArg(it, 0, 1000); ok {
				l.garpDelay = d
			}
		case "vrrp_garp_master_refresh":
			if d, ok := l.timerArg(it, 0, 1e6); ok {
				l.garpRefr = d
			}
		case "vrrp_lower_prio_no_advert":
			l.lowerNoAdv = len(it.args) == 0 || isTrue(it.args[0])
		case "vrrp_check_unicast_src":
			l.checkUcSrc = true
		case "vrrp_skip_check_adv_addr":
			l.skipAdv = len(it.args) == 0 || isTrue(it.args[0])
		case "vrrp_mcast_group4", "vrrp_mcast_group6":
			if s, ok := l.arg(it); ok {
				a, err := netip.ParseAddr(s)
				if err != nil || !a.IsMulticast() || a.Is4() != (it.key == "vrrp_mcast_group4") {
					l.fail(it, "invalid multicast group '%s'", s)
				} else if a.Is4() {
					l.group4 = a
				} else {
					l.group6 = a
				}
			}
		case "enable_script_security":
			l.scriptSec = true
		case "script_user":
			if c, err := lookupCred(it.args); err != nil {
				l.fail(it, "%v", err)
			} else {
				l.scriptUser, l.userSet = c, true
			}
		case "sync_group_tracking_weight":
			l.syncWeight = true
		case "default_interface":
			if v, ok := l.arg(it); ok {
				l.defaultIf = v
			}
		default:
			if why, ok := globalNoEffect[it.key]; ok {
				l.warn(it, "'%s' has no effect in halo-vrrp: %s", it.key, why)
				continue
			}
			l.fail(it, "unknown keyword '%s' in global_defs%s", it.key, suggest.Hint(it.key, append(names("global_defs"), keysOf(globalNoEffect)...)))
		}
	}
}

// globalNoEffect are global_defs keywords keepalived has that change
// nothing in halo-vrrp; they are accepted with a warning saying why.
var globalNoEffect = map[string]string{
	"router_id":                       "it only names the node in keepalived's e-mails and SNMP",
	"notification_email":              "halo-vrrp sends no e-mail; use notify scripts",
	"notification_email_from":         "halo-vrrp sends no e-mail; use notify scripts",
	"smtp_server":                     "halo-vrrp sends no e-mail; use notify scripts",
	"smtp_connect_timeout":            "halo-vrrp sends no e-mail; use notify scripts",
	"smtp_helo_name":                  "halo-vrrp sends no e-mail; use notify scripts",
	"enable_traps":                    "halo-vrrp has no SNMP agent",
	"enable_snmp_vrrp":                "halo-vrrp has no SNMP agent",
	"enable_snmp_keepalived":          "halo-vrrp has no SNMP agent",
	"enable_snmp_rfcv2":               "halo-vrrp has no SNMP agent",
	"enable_snmp_rfcv3":               "halo-vrrp has no SNMP agent",
	"vrrp_garp_interval":              "halo-vrrp sends each gratuitous ARP burst back to back",
	"vrrp_gna_interval":               "halo-vrrp sends each neighbour advertisement burst back to back",
	"vrrp_garp_master_refresh_repeat": "halo-vrrp sends one gratuitous ARP per refresh",
	"vrrp_no_swap":                    "Go's runtime manages memory; nothing to lock",
	"checker_no_swap":                 "Go's runtime manages memory; nothing to lock",
	"vrrp_priority":                   "scheduling priority is set by the service manager (systemd Nice=)",
	"checker_priority":                "scheduling priority is set by the service manager (systemd Nice=)",
	"max_auto_priority":               "scheduling priority is set by the service manager",
	"lvs_id":                          "halo-vrrp has no LVS part",
	"dynamic_interfaces":              "halo-vrrp always follows interfaces that appear and disappear",
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// lookupCred resolves "USER [GROUP]" to a credential; nil when it is the
// current user (no switch needed).
func lookupCred(args []string) (*syscall.Credential, error) {
	if len(args) == 0 {
		return nil, errors.New("user name missing")
	}
	u, err := user.Lookup(args[0])
	if err != nil {
		return nil, fmt.Errorf("unknown user %q", args[0])
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if len(args) > 1 {
		g, err := user.LookupGroup(args[1])
		if err != nil {
			return nil, fmt.Errorf("unknown group %q", args[1])
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if uid == os.Getuid() && gid == os.Getgid() {
		return nil, nil
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "on", "true", "yes":
		return true
	}
	return false
}

func (l *loader) check(b *item) {
	if len(b.args) != 1 {
		l.fail(b, "%s needs a name", b.key)
		return
	}
	c := &node.Check{Name: b.args[0], Interval: time.Second, Rise: 1, Fall: 1}
	userSet := map[*node.Check]bool{}
	defer func() {
		if !userSet[c] {
			l.pendingCred = append(l.pendingCred, c)
		}
	}()
	switch b.key {
	case "vrrp_track_process":
		c.Kind = node.CheckProcess
		c.Interval = 100 * time.Millisecond
	case "vrrp_track_halo":
		c.Kind = node.CheckHalo
		c.Interval = 100 * time.Millisecond
		c.Timeout = 100 * time.Millisecond
	}
	for _, it := range b.block {
		switch it.key {
		case "script":
			if len(it.args) == 0 {
				l.fail(it, "script needs a command")
				continue
			}
			for _, a := range it.args {
				c.Argv = append(c.Argv, strings.Fields(a)...)
			}
			l.scripts = append(l.scripts, scriptRef{it: it, check: c})
		case "process":
			if s, ok := l.arg(it); ok {
				c.Process = s
			}
		case "quorum":
			if n, ok := l.intArg(it, 1, 65535); ok {
				c.Quorum = n
			}
		case "address", "frontend":
			c.Addrs = append(c.Addrs, it.args...)
		case "interval":
			if b.key == "vrrp_script" {
				if n, ok := l.intArg(it, 1, 1<<30); ok {
					c.Interval = time.Duration(n) * time.Second
				}
			} else if d, ok := l.timerArg(it, 0.01, 3600); ok {
				c.Interval = d
			}
		case "timeout":
			if d, ok := l.timerArg(it, 0, 3600); ok {
				c.Timeout = d
			}
		case "weight":
			if n, ok := l.intArg(it, -253, 253); ok {
				c.Weight = n
			}
			if len(it.args) > 1 && it.args[1] == "reverse" {
				c.Reverse = true
			}
		case "rise":
			if n, ok := l.intArg(it, 1, 1<<20); ok {
				c.Rise = n
			}
		case "fall":
			if n, ok := l.intArg(it, 1, 1<<20); ok {
				c.Fall = n
			}
		case "init_fail":
			c.InitFail = true
		case "user":
			if cr, err := lookupCred(it.args); err != nil {
				l.fail(it, "%v", err)
			} else {
				c.Cred = cr
				userSet[c] = true
			}
		case "delay", "fork_delay", "terminate_delay", "param_match", "full_command":
			l.fail(it, "'%s' is a keepalived option that halo-vrrp does not support yet", it.key)
		default:
			l.unknown(it, "vrrp_script")
		}
	}
	switch {
	case c.Kind == node.CheckScript && len(c.Argv) == 0:
		l.fail(b, "vrrp_script %s has no script", c.Name)
		return
	case c.Kind == node.CheckHalo && len(c.Addrs) == 0:
		l.fail(b, "vrrp_track_halo %s has no address", c.Name)
		return
	case c.Kind == node.CheckProcess && c.Process == "":
		l.fail(b, "vrrp_track_process %s has no process", c.Name)
		return
	}
	l.checks[c.Name] = c
}

func parseVIP(it *item, words []string) (vrrp.VIP, error) {
	var v vrrp.VIP
	s := words[0]
	if !strings.Contains(s, "/") {
		if a, err := netip.ParseAddr(s); err == nil {
			s = fmt.Sprintf("%s/%d", s, a.BitLen())
		}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return v, it.errf("invalid virtual ip address %q", words[0])
	}
	v.Prefix = p
	for i := 1; i < len(words); i++ {
		k := words[i]
		val := ""
		if i+1 < len(words) {
			val = words[i+1]
		}
		switch k {
		case "dev", "label", "scope", "brd", "broadcast", "peer", "preferred_lft":
			if val == "" {
				return v, it.errf("'%s' needs a value", k)
			}
			i++
		}
		switch k {
		case "dev":
			v.Dev = val
		case "label":
			v.Label = val
		case "scope":
			v.Scope = val
		case "brd", "broadcast":
			b, err := netip.ParseAddr(val)
			if err != nil {
				return v, it.errf("invalid broadcast %q", val)
			}
			v.Brd = b
		case "peer", "preferred_lft", "home", "-nodad", "nodad", "noprefixroute", "no_track", "autojoin":
		default:
			return v, it.errf("unknown virtual_ipaddress option '%s'", k)
		}
	}
	return v, nil
}

func trackRefs(l *loader, b *item, kind string) []node.TrackRef {
	var out []node.TrackRef
	for _, it := range b.block {
		r := node.TrackRef{Name: it.key}
		for i := 0; i < len(it.args); i++ {
			switch it.args[i] {
			case "weight":
				if i+1 >= len(it.args) {
					l.fail(it, "weight needs a value")
					break
				}
				n, err := strconv.Atoi(it.args[i+1])
				if err != nil || n < -253 || n > 253 {
					l.fail(it, "weight '%s' outside range [-253, 253]", it.args[i+1])
				}
				r.Weight, r.HasWeight = n, true
				i++
			case "reverse":
				r.Reverse = true
			case "no_reverse":
			default:
				l.fail(it, "unknown %s option '%s'", kind, it.args[i])
			}
		}
		if kind != "track_interface" {
			if _, ok := l.checks[r.Name]; !ok {
				l.warn(it, "%s %s not found, ignoring", kind, r.Name)
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func (l *loader) syncGroup(b *item) {
	if len(b.args) != 1 {
		l.fail(b, "vrrp_sync_group needs a name")
		return
	}
	g := &node.SyncGroup{Name: b.args[0]}
	for _, it := range b.block {
		switch it.key {
		case "group":
			for _, m := range it.block {
				g.Members = append(g.Members, m.key)
				g.Members = append(g.Members, m.args...)
			}
		case "notify_master", "notify_backup", "notify_fault", "notify":
			if len(it.args) == 0 {
				l.fail(it, "'%s' needs a command", it.key)
				continue
			}
			argv := strings.Fields(it.args[0])
			switch it.key {
			case "notify_master":
				g.Notify.Master = argv
			case "notify_backup":
				g.Notify.Backup = argv
			case "notify_fault":
				g.Notify.Fault = argv
			case "notify":
				g.Notify.Any = argv
			}
		case "smtp_alert":
			l.warn(it, "'smtp_alert' has no effect in halo-vrrp: it sends no e-mail; use notify scripts")
		case "global_tracking", "sync_group_tracking_weight", "notify_stop":
			l.fail(it, "'%s' in a vrrp_sync_group is not supported by halo-vrrp yet", it.key)
		default:
			l.unknown(it, "vrrp_sync_group")
		}
	}
	if len(g.Members) == 0 {
		l.fail(b, "vrrp_sync_group %s has no group members", g.Name)
		return
	}
	l.cfg.SyncGroups = append(l.cfg.SyncGroups, g)
}

func (l *loader) instance(b *item) {
	if len(b.args) != 1 {
		l.fail(b, "vrrp_instance needs a name")
		return
	}
	in := &node.Instance{InstanceConfig: vrrp.InstanceConfig{Name: b.args[0], Version: l.version, AdvertInterval: 100,
		FastPreempt: true, FastResign: true, GARPRepeat: l.garpRepeat, GARPDelay: l.garpDelay, GARPRefresh: l.garpRefr,
		LowerPrioNoAdvert: l.lowerNoAdv, CheckUnicastSrc: l.checkUcSrc, SkipCheckAdvAddr: l.skipAdv}}
	prioSet := false
	var advert *item
	var version *item
	for _, it := range b.block {
		switch it.key {
		case "state":
			if s, ok := l.arg(it); ok {
				switch s {
				case "MASTER":
					in.StateMaster = true
				case "BACKUP":
				default:
					l.fail(it, "unknown state '%s', expected MASTER or BACKUP", s)
				}
			}
		case "interface":
			if s, ok := l.arg(it); ok {
				in.Interface = s
			}
		case "virtual_router_id":
			if n, ok := l.intArg(it, 1, 255); ok {
				in.VRID = uint8(n)
			}
		case "priority":
			if n, ok := l.intArg(it, 1, 255); ok {
				in.Priority, prioSet = uint8(n), true
			}
		case "advert_int":
			advert = it
		case "version":
			version = it
			if n, ok := l.intArg(it, 2, 3); ok {
				in.Version = n
			}
		case "nopreempt":
			in.NoPreempt = true
		case "preempt":
			in.NoPreempt = false
		case "preempt_delay":
			if d, ok := l.timerArg(it, 0, 1000); ok {
				in.PreemptDelay = d
			}
		case "authentication":
			for _, a := range it.block {
				switch a.key {
				case "auth_type":
					if s, ok := l.arg(a); ok {
						switch s {
						case "PASS":
							in.AuthType = vrrp.AuthPass
						case "AH":
							l.fail(a, "auth_type AH is not supported by halo-vrrp")
						default:
							l.fail(a, "unknown auth_type '%s'", s)
						}
					}
				case "auth_pass":
					if s, ok := l.arg(a); ok {
						in.AuthPass = s
						if len(s) > 8 {
							in.AuthPass = s[:8]
						}
					}
				default:
					l.fail(a, "Unknown keyword '%s'", a.key)
				}
			}
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			for _, a := range it.block {
				v, err := parseVIP(a, append([]string{a.key}, a.args...))
				if err != nil {
					l.errs = append(l.errs, err)
					continue
				}
				if it.key == "virtual_ipaddress" {
					in.VIPs = append(in.VIPs, v)
				} else {
					in.ExcludedVIPs = append(in.ExcludedVIPs, v)
				}
			}
		case "track_script", "track_process", "track_halo":
			in.TrackChecks = append(in.TrackChecks, trackRefs(l, it, it.key)...)
		case "track_interface":
			in.TrackInterfaces = append(in.TrackInterfaces, trackRefs(l, it, it.key)...)
		case "unicast_src_ip", "mcast_src_ip":
			if s, ok := l.arg(it); ok {
				a, err := netip.ParseAddr(s)
				if err != nil {
					l.fail(it, "invalid address '%s'", s)
				}
				in.SrcAddr = a
			}
		case "unicast_peer":
			for _, a := range it.block {
				ip, err := netip.ParseAddr(a.key)
				if err != nil {
					l.fail(a, "invalid unicast_peer '%s'", a.key)
					continue
				}
				in.UnicastPeers = append(in.UnicastPeers, ip)
			}
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			if len(it.args) == 0 {
				l.fail(it, "'%s' needs a command", it.key)
				continue
			}
			argv := strings.Fields(it.args[0])
			if len(it.args) > 1 {
				l.warn(it, "(%s) per-notify user %q not supported: runs as script_user", in.Name, strings.Join(it.args[1:], " "))
			}
			l.scripts = append(l.scripts, scriptRef{it: it, argv: argv, notify: &in.Notify})
			switch it.key {
			case "notify_master":
				in.Notify.Master = argv
			case "notify_backup":
				in.Notify.Backup = argv
			case "notify_fault":
				in.Notify.Fault = argv
			case "notify_stop":
				in.Notify.Stop = argv
			case "notify":
				in.Notify.Any = argv
			}
		case "garp_master_repeat":
			if n, ok := l.intArg(it, 1, 10000); ok {
				in.GARPRepeat = n
			}
		case "garp_master_delay":
			if d, ok := l.timerArg(it, 0, 1000); ok {
				in.GARPDelay = d
			}
		case "garp_master_refresh":
			if d, ok := l.timerArg(it, 0, 1e6); ok {
				in.GARPRefresh = d
			}
		case "lower_prio_no_advert":
			in.LowerPrioNoAdvert = len(it.args) == 0 || isTrue(it.args[0])
		case "check_unicast_src":
			in.CheckUnicastSrc = true
		case "down_timer_adverts":
			if n, ok := l.intArg(it, 1, 100); ok {
				in.DownTimerAdverts = n
			}
		case "skip_check_adv_addr":
			in.SkipCheckAdvAddr = len(it.args) == 0 || isTrue(it.args[0])
		case "unicast_ttl":
			if n, ok := l.intArg(it, 1, 255); ok {
				in.UnicastTTL = n
			}
		case "mcast_dst_ip":
			if s, ok := l.arg(it); ok {
				if a, err := netip.ParseAddr(s); err != nil || !a.IsMulticast() {
					l.fail(it, "invalid multicast address '%s'", s)
				} else {
					in.McastGroup = a
				}
			}
		case "halo_fast_preempt":
			in.FastPreempt = len(it.args) == 0 || isTrue(it.args[0])
		case "halo_fast_resign":
			in.FastResign = len(it.args) == 0 || isTrue(it.args[0])
		case "smtp_alert":
			l.warn(it, "'smtp_alert' has no effect in halo-vrrp: it sends no e-mail; use notify scripts")
		case "debug":
			l.warn(it, "'debug' has no effect in halo-vrrp: use -D/--log-detail")
		case "dont_track_primary", "accept", "no_accept", "garp_lower_prio_repeat", "garp_lower_prio_delay", "promote_secondaries":
			l.fail(it, "'%s' is a keepalived option that halo-vrrp does not support yet", it.key)
		default:
			l.unknown(it, "vrrp_instance")
		}
	}
	if in.IPv6() {
		in.Version = 3
	}
	if version == nil && in.IPv6() {
		in.Version = 3
	}
	if advert != nil {
		if d, ok := l.timerArg(advert, 0.01, 255); ok {
			c := int(math.Round(d.Seconds() * 100))
			if in.Version == 2 {
				s := int(math.Round(d.Seconds()))
				if s < 1 {
					s = 1
				}
				if s*100 != c {
					l.warn(advert, "(%s) VRRPv2 advert_int %v rounded to %d s", in.Name, d, s)
				}
				c = s * 100
			} else if c > vrrp.MaxInterval3 {
				l.fail(advert, "(%s) VRRPv3 advert_int must be at most 40.95 s", in.Name)
			}
			in.AdvertInterval = uint16(max(c, 1))
		}
	}
	if !in.McastGroup.IsValid() {
		if in.IPv6() && l.group6.IsValid() {
			in.McastGroup = l.group6
		} else if !in.IPv6() && l.group4.IsValid() {
			in.McastGroup = l.group4
		}
	}
	if in.McastGroup.IsValid() && in.McastGroup.Is4() == in.IPv6() {
		l.fail(b, "(%s) multicast group %v is not of the instance's address family", in.Name, in.McastGroup)
	}
	if !prioSet {
		in.Priority = 100
		if in.StateMaster {
			in.Priority = 255
		}
	}
	if in.Interface == "" {
		in.Interface = l.defaultIf
	}
	if in.Interface == "" {
		l.fail(b, "(%s) no interface specified (set 'interface' or global_defs 'default_interface')", in.Name)
	}
	if err := in.Validate(); err != nil {
		l.fail(b, "%v", err)
	}
	l.cfg.Instances = append(l.cfg.Instances, in)
}
