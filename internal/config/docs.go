package config

import (
	"fmt"
	"sort"
	"strings"
)

// KeywordDoc renders the keyword tables as the Markdown of docs/config.md,
// so that the documentation cannot drift from what the parser accepts.
func KeywordDoc() string {
	var b strings.Builder
	b.WriteString("# haproxy.cfg directives in halo\n\n")
	b.WriteString("Generated from the parser's keyword tables by `make docs` (`go run ./internal/config/gendocs`);\n")
	b.WriteString("a test fails when this file is stale. Status meanings:\n\n")
	b.WriteString("- **supported**: parsed into halo's model and validated.\n")
	b.WriteString("- **accepted, no effect**: accepted, and every use prints a warning saying why it changes nothing.\n")
	b.WriteString("- **not supported yet**: HAProxy has it; halo refuses the configuration with `file:line` and this reason.\n")
	b.WriteString("- **removed from HAProxy**: HAProxy itself dropped it; the error says what to write instead.\n\n")
	b.WriteString("Unix-socket listeners (`bind /path`, `bind unix@...`) are not supported yet: `halo -c` refuses them\n")
	b.WriteString("with `file:line`.\n\n")
	global, proxy := Keywords()
	table := func(title string, kws []Keyword, sections bool) {
		fmt.Fprintf(&b, "## %s\n\n", title)
		if sections {
			b.WriteString("| keyword | sections | status | notes |\n|---|---|---|---|\n")
		} else {
			b.WriteString("| keyword | status | notes |\n|---|---|---|\n")
		}
		for _, k := range kws {
			note := k.Doc
			if k.Note != "" {
				note = k.Note
			}
			note = strings.ReplaceAll(note, "|", "\\|")
			if sections {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, sectionList(k.Sections), k.Status, note)
			} else {
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.Name, k.Status, note)
			}
		}
		b.WriteString("\n")
	}
	table("global section", global, false)
	table("proxy sections (defaults, frontend, listen, backend)", proxy, true)
	table("`option` keywords", OptionKeywords(), true)
	var srv, bind []Keyword
	for name, o := range serverOpts {
		k := Keyword{Name: name, Doc: o.doc}
		if o.apply == nil {
			k.Status = Unsupported
		}
		srv = append(srv, k)
	}
	for name, o := range bindOpts {
		k := Keyword{Name: name, Doc: o.doc}
		if o.apply == nil {
			k.Status = Unsupported
		}
		bind = append(bind, k)
	}
	sortKw(srv)
	sortKw(bind)
	table("`server` / `default-server` options", srv, false)
	table("`bind` options", bind, false)
	table("`cache` section (used by `http-request cache-use` and `http-response cache-store`)", CacheKeywords(), false)
	table("`resolvers` section", ResolversKeywords(), false)
	b.WriteString("## Other sections\n\n`userlist` (`user`, `group`) and `http-errors` (`errorfile`) are supported. ")
	b.WriteString("`peers`, `ring`, `program`, `mailers`, `log-forward` and `fcgi-app` are recognised and refused as not supported yet.\n")
	return b.String()
}

func sortKw(k []Keyword) {
	sort.Slice(k, func(i, j int) bool { return k[i].Name < k[j].Name })
}
