package config

import (
	"path/filepath"
	"regexp"
	"strings"
)

// defaultPath is the state of the global `default-path` directive: how
// relative file names written after it are resolved. HAProxy 2.6 keeps
// the mode for the following files too; "config" and "parent" follow the
// file each line is in.
type defaultPath struct {
	mode   string // "" (current: the working directory), "config", "parent", "origin"
	origin string // the absolute directory of "origin"
	file   string // the configuration file of the line being built
}

// parseDefaultPath parses `default-path current|config|parent|origin <path>`.
func (b *builder) parseDefaultPath(ln *Line) {
	w := ln.Words
	usage := "'default-path' expects 'current', 'config', 'parent' or 'origin <path>'"
	if len(w) < 2 {
		b.errorf(ln.Pos, "%s", usage)
		return
	}
	switch w[1] {
	case "current", "config", "parent":
		if len(w) != 2 {
			b.errorf(ln.Pos, "'default-path %s' takes no argument", w[1])
			return
		}
		b.defPath.mode, b.defPath.origin = w[1], ""
		if w[1] == "current" {
			b.defPath.mode = ""
		}
	case "origin":
		if len(w) != 3 {
			b.errorf(ln.Pos, "'default-path origin' expects a directory")
			return
		}
		if !filepath.IsAbs(w[2]) {
			// HAProxy refuses a relative origin too (it cannot return to it).
			b.errorf(ln.Pos, "couldn't set 'default-path' to origin '%s': halo expects an absolute directory", w[2])
			return
		}
		b.defPath.mode, b.defPath.origin = "origin", filepath.Clean(w[2])
	default:
		b.errorf(ln.Pos, "%s, got '%s'", usage, w[1])
	}
}

// path resolves a relative file name written in the configuration as
// default-path says; absolute names and the default mode keep it as is
// (relative to the working directory).
func (b *builder) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	dir := filepath.Dir(b.defPath.file)
	switch b.defPath.mode {
	case "config":
		return filepath.Join(dir, p)
	case "parent":
		return filepath.Join(dir, "..", p)
	case "origin":
		return filepath.Join(b.defPath.origin, p)
	}
	return p
}

// mapFileArg finds the file argument of the map converters in a sample
// expression or a log-format string.
var mapFileArg = regexp.MustCompile(`\bmap(?:_[a-z]+)?\(([^,)]+)`)

// pathWords rewrites the file names of a line that the ACL and sample
// parsers read themselves, when a default-path mode is on: pattern files
// (`-f <file>` in an acl line or a condition) and map converter files.
func (b *builder) pathWords(words []string) []string {
	if b.defPath.mode == "" {
		return words
	}
	out := append([]string(nil), words...)
	cond := len(out) > 0 && out[0] == "acl"
	for i := range out {
		switch {
		case out[i] == "if" || out[i] == "unless" || out[i] == "{":
			cond = true
		case cond && out[i] == "-f" && i+1 < len(out):
			out[i+1] = b.path(out[i+1])
		}
		if strings.Contains(out[i], "map") {
			out[i] = mapFileArg.ReplaceAllStringFunc(out[i], func(m string) string {
				name, file, _ := strings.Cut(m, "(")
				return name + "(" + b.path(strings.TrimSpace(file))
			})
		}
	}
	return out
}
