package kaconf

import (
	"fmt"
	"sort"
	"strings"
)

// kwStatus says how halo-vrrp treats a keepalived keyword.
type kwStatus int

const (
	kwSupported   kwStatus = iota
	kwNoEffect             // accepted with a warning that says why it changes nothing
	kwUnsupported          // refused with file:line: keepalived has it, halo-vrrp not yet
	kwHalo                 // halo-vrrp extension, refused by keepalived
)

func (s kwStatus) String() string {
	return [...]string{"supported", "accepted, no effect", "not supported yet", "halo-vrrp extension"}[s]
}

type keyword struct {
	name   string
	status kwStatus
	doc    string
}

// blocks is the keyword table of each keepalived.conf block: what the
// parser accepts, the did-you-mean candidates, and docs/keepalived.md.
// TestKeywordTable keeps it and the parser's cases in step.
var blocks = []struct {
	name string
	kws  []keyword
}{
	{"top level", []keyword{
		{"global_defs", kwSupported, "global settings"},
		{"vrrp_script", kwSupported, "a tracked script"},
		{"vrrp_track_process", kwSupported, "a tracked process (from /proc)"},
		{"vrrp_track_halo", kwHalo, "a TCP probe of the local halo frontends"},
		{"vrrp_instance", kwSupported, "a VRRP instance"},
		{"vrrp_sync_group", kwSupported, "instances that change state together"},
		{"include", kwSupported, "include files (glob, relative to the including file)"},
		{"virtual_server", kwUnsupported, "LVS/IPVS: balance with halo instead"},
		{"virtual_server_group", kwUnsupported, "LVS/IPVS: balance with halo instead"},
		{"SSL", kwUnsupported, "LVS/IPVS checker TLS"},
		{"static_ipaddress", kwUnsupported, ""},
		{"static_routes", kwUnsupported, ""},
		{"static_rules", kwUnsupported, ""},
		{"linkbeat_interfaces", kwUnsupported, ""},
		{"vrrp_track_file", kwUnsupported, ""},
		{"track_file", kwUnsupported, ""},
		{"vrrp_track_bfd", kwUnsupported, ""},
		{"net_namespace", kwUnsupported, ""},
	}},
	{"global_defs", []keyword{
		{"vrrp_version", kwSupported, "2 (default) or 3"},
		{"vrrp_garp_master_repeat", kwSupported, "gratuitous ARPs per burst (5)"},
		{"vrrp_garp_master_delay", kwSupported, "delay of the second burst (5 s)"},
		{"vrrp_garp_master_refresh", kwSupported, "periodic gratuitous ARP while master"},
		{"vrrp_lower_prio_no_advert", kwSupported, "do not answer lower-priority adverts"},
		{"vrrp_check_unicast_src", kwSupported, "accept unicast adverts only from configured peers"},
		{"vrrp_skip_check_adv_addr", kwSupported, "skip the VIP list check on received adverts"},
		{"vrrp_mcast_group4", kwSupported, "IPv4 multicast group (224.0.0.18)"},
		{"vrrp_mcast_group6", kwSupported, "IPv6 multicast group (ff02::12)"},
		{"enable_script_security", kwSupported, "refuse scripts others could modify"},
		{"script_user", kwSupported, "user [group] scripts run as"},
		{"sync_group_tracking_weight", kwSupported, "tracking weights apply in sync groups"},
		{"default_interface", kwSupported, "interface of instances that name none"},
	}},
	{"vrrp_script / vrrp_track_process / vrrp_track_halo", []keyword{
		{"script", kwSupported, "command (run in its own process group)"},
		{"process", kwSupported, "process name (vrrp_track_process)"},
		{"quorum", kwSupported, "processes needed (vrrp_track_process)"},
		{"address", kwHalo, "host:port of a halo frontend (vrrp_track_halo)"},
		{"frontend", kwHalo, "alias of address"},
		{"interval", kwSupported, "seconds between runs"},
		{"timeout", kwSupported, "kill the script after this time"},
		{"weight", kwSupported, "±N added to the priority [reverse]"},
		{"rise", kwSupported, "successes to become OK"},
		{"fall", kwSupported, "failures to become KO"},
		{"init_fail", kwSupported, "start in the failed state"},
		{"user", kwSupported, "user [group] to run as"},
		{"delay", kwUnsupported, ""},
		{"fork_delay", kwUnsupported, ""},
		{"terminate_delay", kwUnsupported, ""},
		{"param_match", kwUnsupported, ""},
		{"full_command", kwUnsupported, ""},
	}},
	{"vrrp_sync_group", []keyword{
		{"group", kwSupported, "the member instances"},
		{"notify_master", kwSupported, "script on MASTER"},
		{"notify_backup", kwSupported, "script on BACKUP"},
		{"notify_fault", kwSupported, "script on FAULT"},
		{"notify", kwSupported, "script on every change, with keepalived's arguments"},
		{"smtp_alert", kwNoEffect, "halo-vrrp sends no e-mail"},
		{"global_tracking", kwUnsupported, ""},
		{"notify_stop", kwUnsupported, "in a sync group"},
		{"sync_group_tracking_weight", kwUnsupported, "in a sync group (global_defs has it)"},
	}},
	{"vrrp_instance", []keyword{
		{"state", kwSupported, "MASTER or BACKUP (initial wish)"},
		{"interface", kwSupported, "interface adverts go out on"},
		{"virtual_router_id", kwSupported, "VRID 1..255"},
		{"priority", kwSupported, "1..255 (MASTER without priority: 255)"},
		{"advert_int", kwSupported, "advert interval, centiseconds with v3"},
		{"version", kwSupported, "2 or 3"},
		{"nopreempt", kwSupported, "a higher priority does not take over"},
		{"preempt", kwSupported, "cancel nopreempt"},
		{"preempt_delay", kwSupported, "wait before preempting after start"},
		{"authentication", kwSupported, "auth_type PASS, auth_pass (v2); AH is not supported"},
		{"virtual_ipaddress", kwSupported, "VIPs: addr[/prefix] [brd] [dev] [scope] [label]"},
		{"virtual_ipaddress_excluded", kwSupported, "VIPs not carried in adverts"},
		{"track_script", kwSupported, "scripts [weight N]"},
		{"track_process", kwSupported, "processes [weight N]"},
		{"track_halo", kwHalo, "halo frontends [weight N]"},
		{"track_interface", kwSupported, "interfaces [weight N] (netlink)"},
		{"unicast_src_ip", kwSupported, "source of unicast adverts"},
		{"mcast_src_ip", kwSupported, "source of multicast adverts"},
		{"unicast_peer", kwSupported, "unicast peers"},
		{"notify_master", kwSupported, "script on MASTER"},
		{"notify_backup", kwSupported, "script on BACKUP"},
		{"notify_fault", kwSupported, "script on FAULT"},
		{"notify_stop", kwSupported, "script at stop"},
		{"notify", kwSupported, "script on every change, with keepalived's arguments"},
		{"garp_master_repeat", kwSupported, "gratuitous ARPs per burst"},
		{"garp_master_delay", kwSupported, "delay of the second burst"},
		{"garp_master_refresh", kwSupported, "periodic gratuitous ARP"},
		{"lower_prio_no_advert", kwSupported, "do not answer lower-priority adverts"},
		{"check_unicast_src", kwSupported, "accept unicast adverts only from peers"},
		{"down_timer_adverts", kwSupported, "adverts missed before MASTER is declared down"},
		{"skip_check_adv_addr", kwSupported, "skip the VIP list check"},
		{"unicast_ttl", kwSupported, "TTL of unicast adverts"},
		{"mcast_dst_ip", kwSupported, "multicast group of this instance"},
		{"halo_fast_preempt", kwHalo, "preempt on the first lower-priority advert (default on)"},
		{"halo_fast_resign", kwHalo, "take over Skew_Time/16 after a priority-0 advert (default on)"},
		{"smtp_alert", kwNoEffect, "halo-vrrp sends no e-mail"},
		{"debug", kwNoEffect, "use -D/--log-detail"},
		{"dont_track_primary", kwUnsupported, ""},
		{"accept", kwUnsupported, ""},
		{"no_accept", kwUnsupported, ""},
		{"garp_lower_prio_repeat", kwUnsupported, ""},
		{"garp_lower_prio_delay", kwUnsupported, ""},
		{"promote_secondaries", kwUnsupported, ""},
		{"use_vmac", kwUnsupported, ""},
		{"vmac_xmit_base", kwUnsupported, ""},
		{"virtual_routes", kwUnsupported, ""},
		{"virtual_rules", kwUnsupported, ""},
		{"track_file", kwUnsupported, ""},
		{"track_bfd", kwUnsupported, ""},
	}},
}

// names returns the keywords of the block whose name starts with prefix.
func names(prefix string) []string {
	var out []string
	for _, b := range blocks {
		if strings.HasPrefix(b.name, prefix) {
			for _, k := range b.kws {
				out = append(out, k.name)
			}
		}
	}
	return out
}

// unsupportedIn reports whether key is a keepalived keyword of the block
// that halo-vrrp refuses.
func unsupportedIn(prefix, key string) bool {
	for _, b := range blocks {
		if strings.HasPrefix(b.name, prefix) {
			for _, k := range b.kws {
				if k.name == key && k.status == kwUnsupported {
					return true
				}
			}
		}
	}
	return false
}

// KeywordDoc renders docs/keepalived.md from the tables.
func KeywordDoc() string {
	var b strings.Builder
	b.WriteString("# keepalived.conf directives in halo-vrrp\n\n")
	b.WriteString("Generated from `internal/vrrp/kaconf/keywords.go` (`make docs`); a test fails when it is stale.\n")
	b.WriteString("Anything not listed is an unknown keyword: an error with `file:line` and a did-you-mean hint.\n")
	b.WriteString("\"not supported yet\" keywords are refused with `file:line`; \"accepted, no effect\" ones print a warning\n")
	b.WriteString("that says why. See [vrrp.md](vrrp.md) for behaviour, timings and the halo-vrrp extensions.\n\n")
	for _, bl := range blocks {
		fmt.Fprintf(&b, "## %s\n\n| keyword | status | notes |\n|---|---|---|\n", bl.name)
		kws := append([]keyword(nil), bl.kws...)
		sort.Slice(kws, func(i, j int) bool { return kws[i].name < kws[j].name })
		for _, k := range kws {
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.name, k.status, k.doc)
		}
		b.WriteString("\n")
	}
	b.WriteString("## global_defs keywords accepted without effect\n\n| keyword | why |\n|---|---|\n")
	var g []string
	for k := range globalNoEffect {
		g = append(g, k)
	}
	sort.Strings(g)
	for _, k := range g {
		fmt.Fprintf(&b, "| `%s` | %s |\n", k, globalNoEffect[k])
	}
	return b.String()
}
