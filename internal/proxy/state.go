package proxy

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// loadServerState applies a server state file (the output of `show
// servers state`, saved before a reload) to the backends that ask for it
// with load-server-state-from-file: servers keep their maintenance or
// drain state, their weight, and start DOWN when they were down, so a
// reload does not send traffic to a server the checks had taken out.
func (rt *Runtime) loadServerState() {
	g := rt.cfg.Global
	cache := map[string][][]string{}
	for _, b := range rt.backends {
		var file string
		switch b.cfg.StateFrom {
		case "global":
			file = g.ServerStateFile
		case "local":
			file = b.cfg.StateFileName
			if file == "" || file == "use-backend-name" {
				file = b.cfg.Name
			}
		default:
			continue
		}
		if file == "" {
			rt.logf(LevelWarning, "backend '%s': load-server-state-from-file %s but no server-state-file is set", b.cfg.Name, b.cfg.StateFrom)
			continue
		}
		if !filepath.IsAbs(file) && g.ServerStateBase != "" {
			file = filepath.Join(g.ServerStateBase, file)
		}
		lines, ok := cache[file]
		if !ok {
			var err error
			if lines, err = readStateFile(file); err != nil {
				rt.logf(LevelWarning, "Can't open server state file '%s': %v", file, err)
			}
			cache[file] = lines
		}
		for _, f := range lines {
			if f[1] != b.cfg.Name {
				continue
			}
			for _, s := range b.servers {
				if s.cfg.Name == f[3] {
					applyState(s, f)
				}
			}
		}
		b.refresh()
		b.hadSrv = b.usableCount() > 0
		if b.hadSrv {
			b.downSince.Store(0)
		} else if len(b.servers) > 0 && b.downSince.Load() == 0 {
			b.downSince.Store(time.Now().UnixNano())
		}
	}
}

// readStateFile reads format 1 lines, at least 8 fields each.
func readStateFile(file string) ([][]string, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out [][]string
	sc := bufio.NewScanner(fh)
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if first {
			first = false
			if line != "1" {
				return nil, fmt.Errorf("unsupported server state file version '%s'", line)
			}
			continue
		}
		if f := strings.Fields(line); len(f) >= 8 {
			out = append(out, f)
		}
	}
	return out, sc.Err()
}

// applyState restores one server line: srv_op_state (f[5]),
// srv_admin_state (f[6]: 0x01 maintenance, 0x08 drain), srv_uweight (f[7]).
func applyState(s *server, f []string) {
	op, _ := strconv.Atoi(f[5])
	admin, _ := strconv.Atoi(f[6])
	if w, err := strconv.Atoi(f[7]); err == nil && w >= 0 && w <= 256 {
		s.uweight.Store(int32(w))
		s.weight.Store(int32(w))
	}
	switch {
	case admin&0x01 != 0:
		s.admin.Store(adminMaint)
		s.state.Store(stateMaint)
	case admin&0x08 != 0:
		s.admin.Store(adminDrain)
	}
	if op == 0 && s.cfg.Check {
		s.healthy.Store(false)
		if s.admin.Load() != adminMaint {
			s.state.Store(stateDown)
		}
	}
}
