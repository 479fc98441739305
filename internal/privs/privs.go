// Package privs gives up the process's privileges once its listeners are
// bound, as HAProxy's global chroot, group/gid and user/uid ask.
package privs

import (
	"fmt"
	"os"
	"syscall"
)

// Spec is what to give up: a directory to chroot to ("" for none) and
// the group and user ids to take (-1 to keep the current ones).
type Spec struct {
	Chroot   string
	UID, GID int
}

// Drop chroots, then sets the group (dropping supplementary groups) and
// the user, in that order, so that each step still has the rights it
// needs. A process that is not root cannot change them: a change it
// would need is skipped, and said in the returned warnings (halo then
// runs as it was started, typically by systemd's User=). An error means
// a step failed as root; the process must not go on.
func Drop(s Spec) (warnings []string, err error) {
	root := os.Geteuid() == 0
	if s.Chroot != "" {
		if !root {
			warnings = append(warnings, fmt.Sprintf("'chroot %s' ignored: halo runs as uid %d, not root.", s.Chroot, os.Geteuid()))
		} else {
			if err := syscall.Chroot(s.Chroot); err != nil {
				return warnings, fmt.Errorf("[haproxy.main()] Cannot chroot(%s): %w.", s.Chroot, err)
			}
			if err := os.Chdir("/"); err != nil {
				return warnings, fmt.Errorf("[haproxy.main()] Cannot chdir(/) after chroot(%s): %w.", s.Chroot, err)
			}
		}
	}
	if root && (s.GID >= 0 || s.UID >= 0) {
		// Root's supplementary groups must not stay with the new identity.
		if err := syscall.Setgroups(nil); err != nil {
			return warnings, fmt.Errorf("[haproxy.main()] Failed to drop supplementary groups: %w.", err)
		}
	}
	if s.GID >= 0 && s.GID != os.Getegid() {
		if !root {
			warnings = append(warnings, fmt.Sprintf("'group'/'gid' %d ignored: halo runs as uid %d, not root.", s.GID, os.Geteuid()))
		} else if err := syscall.Setgid(s.GID); err != nil {
			return warnings, fmt.Errorf("[haproxy.main()] Cannot set gid %d: %w.", s.GID, err)
		}
	}
	if s.UID >= 0 && s.UID != os.Geteuid() {
		if !root {
			warnings = append(warnings, fmt.Sprintf("'user'/'uid' %d ignored: halo runs as uid %d, not root.", s.UID, os.Geteuid()))
		} else if err := syscall.Setuid(s.UID); err != nil {
			return warnings, fmt.Errorf("[haproxy.main()] Cannot set uid %d: %w.", s.UID, err)
		}
	}
	return warnings, nil
}
