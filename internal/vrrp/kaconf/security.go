package kaconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/halo-lb/halo/internal/vrrp/node"
)

// scriptSafety checks, as keepalived's enable_script_security does, that
// nobody but root (or the user the script runs as) can change what a
// script runs: the executable itself and every directory above it must
// not be writable by anyone else. The error names the exact path and
// why, which keepalived's message does not.
func scriptSafety(argv []string, runAs *syscall.Credential) error {
	if len(argv) == 0 {
		return nil
	}
	path := argv[0]
	if !filepath.IsAbs(path) {
		p, err := exec.LookPath(path)
		if err != nil {
			return &missingScript{fmt.Sprintf("script '%s' not found in PATH: it will fail every time it runs", path)}
		}
		path = p
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return &missingScript{fmt.Sprintf("script '%s' is not accessible (%v): it will fail every time it runs", path, errors.Unwrap(err))}
	}
	uid := uint32(0)
	if runAs != nil {
		uid = runAs.Uid
	}
	for p := real; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("script '%s': %w", path, err)
		}
		if why := unsafeMode(p, st, uid); why != "" {
			return fmt.Errorf("script '%s' is unsafe: %s", path, why)
		}
		if p == "/" || p == "." {
			return nil
		}
	}
}

func unsafeMode(p string, st fs.FileInfo, uid uint32) string {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	mode := st.Mode()
	if sys.Uid != 0 && sys.Uid != uid {
		return fmt.Sprintf("%s is owned by uid %d, who could change it", p, sys.Uid)
	}
	// A sticky directory (like /tmp) stops others from replacing entries
	// they do not own, so group/other write there is not a threat.
	if st.IsDir() && mode&fs.ModeSticky != 0 {
		return ""
	}
	switch {
	case mode.Perm()&0o002 != 0:
		return fmt.Sprintf("%s is writable by every user (mode %04o)", p, mode.Perm())
	case mode.Perm()&0o020 != 0 && sys.Gid != 0:
		return fmt.Sprintf("%s is writable by group %d (mode %04o)", p, sys.Gid, mode.Perm())
	}
	return ""
}

// missingScript is a script that cannot be found: a warning, since the
// file may be installed after the configuration.
type missingScript struct{ msg string }

func (m *missingScript) Error() string { return m.msg }

// scriptRef is a script line: a vrrp_script's command or a notify.
type scriptRef struct {
	it     *item
	argv   []string
	check  *node.Check  // the vrrp_script, whose Argv and Cred are final after build
	notify *node.Notify // or the notify block
}

// checkScriptSecurity applies scriptSafety to every script line. With
// enable_script_security an unsafe script is an error (it would run as
// root); without it each one is a warning next to keepalived's SECURITY
// VIOLATION line. A script that is not there is always a warning.
func (l *loader) checkScriptSecurity() {
	for _, r := range l.scripts {
		argv, cred := r.argv, (*syscall.Credential)(nil)
		if r.check != nil {
			argv, cred = r.check.Argv, r.check.Cred
		} else if r.notify != nil {
			cred = r.notify.Cred
		}
		err := scriptSafety(argv, cred)
		if err == nil {
			continue
		}
		var missing *missingScript
		if l.scriptSec && !errors.As(err, &missing) {
			l.fail(r.it, "%v", err)
		} else {
			l.warn(r.it, "%v", err)
		}
	}
}
