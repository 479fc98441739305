package cli

import (
	"io"
	"strconv"
	"strings"

	"github.com/halo-lb/halo/internal/stick"
)

// TableTarget is implemented by targets with stick tables.
type TableTarget interface {
	// StickTables returns the tables in declaration order.
	StickTables() []*stick.Table
}

func tableCommands() []command {
	return []command{
		{[]string{"show", "table"}, "show table <table> [<filter>]*", "report table usage stats or dump this table's contents", LevelOperator, cmdShowTable},
		{[]string{"clear", "table"}, "clear table <table> [<filter>]*", "remove an entry from a table (filter: data/key)", LevelOperator, cmdClearTable},
		{[]string{"set", "table"}, "set table <table> key <k> [data.* <v>]*", "update or create a table entry's data", LevelAdmin, cmdSetTable},
	}
}

func (s *Server) tables() []*stick.Table {
	if tt, ok := s.Target.(TableTarget); ok {
		return tt.StickTables()
	}
	return nil
}

func (s *Server) table(name string) *stick.Table {
	for _, t := range s.tables() {
		if t.Name() == name {
			return t
		}
	}
	return nil
}

// tableArgs parses `key <k>` or `data.<type> <op> <value>` filters.
func tableArgs(t *stick.Table, args []string) (key string, hasKey bool, filters []stick.Filter, msg string) {
	if len(args) >= 2 && args[0] == "key" {
		k, err := stick.ParseCLIKey(t.Config().Type, t.Config().KeyLen, args[1])
		if err != nil {
			return "", true, nil, ""
		}
		return k, true, nil, ""
	}
	for i, n := 0, 1; i < len(args); i, n = i+3, n+1 {
		name, ok := strings.CutPrefix(args[i], "data.")
		if !ok {
			return "", false, nil, "Optional argument only supports \"data.<store_data_type>\" and key <key>\n"
		}
		d, ok := stick.ParseData(name)
		if !ok || !t.Stores(d) {
			return "", false, nil, "Filter entry #" + strconv.Itoa(n) + ": Unknown data type\n"
		}
		op := ""
		if i+1 < len(args) {
			op = args[i+1]
		}
		switch op {
		case "eq", "ne", "le", "ge", "lt", "gt":
		default:
			return "", false, nil, "Filter entry #" + strconv.Itoa(n) + ": Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n"
		}
		if i+2 >= len(args) {
			return "", false, nil, "Filter entry #" + strconv.Itoa(n) + ": Require a valid integer value to compare against\n"
		}
		v, err := strconv.ParseInt(args[i+2], 10, 64)
		if err != nil {
			return "", false, nil, "Filter entry #" + strconv.Itoa(n) + ": Require a valid integer value to compare against\n"
		}
		filters = append(filters, stick.Filter{Data: d, Op: op, Value: v})
	}
	return "", false, filters, ""
}

// cmdShowTable lists the tables (the last declared first, as HAProxy),
// or dumps one.
func cmdShowTable(s *Server, w io.Writer, args []string) string {
	ts := s.tables()
	if len(args) == 2 {
		for i := len(ts) - 1; i >= 0; i-- {
			ts[i].WriteHeader(w)
		}
		return "\n"
	}
	t, msg := s.namedTable(args)
	if t == nil {
		return msg
	}
	key, hasKey, filters, msg := tableArgs(t, args[3:])
	if msg != "" {
		return msg + "\n"
	}
	if hasKey {
		// A key not in the table prints nothing, not even the header.
		if key == "" || t.Lookup(key) == nil {
			return "\n"
		}
	}
	t.Dump(w, key, filters)
	return "\n"
}

func cmdClearTable(s *Server, w io.Writer, args []string) string {
	t, msg := s.namedTable(args)
	if t == nil {
		return msg
	}
	key, hasKey, filters, msg := tableArgs(t, args[3:])
	if msg != "" {
		return msg + "\n"
	}
	if hasKey {
		if key != "" && !t.Delete(key) {
			return "Entry currently in use, cannot remove\n\n"
		}
		return "\n"
	}
	t.ClearAll(filters)
	return "\n"
}

func cmdSetTable(s *Server, w io.Writer, args []string) string {
	t, msg := s.namedTable(args)
	if t == nil {
		return msg
	}
	if len(args) < 5 || args[3] != "key" {
		return "Require 'key' followed by a key value\n\n"
	}
	key, err := stick.ParseCLIKey(t.Config().Type, t.Config().KeyLen, args[4])
	if err != nil {
		return "Invalid key\n\n"
	}
	type set struct {
		d stick.Data
		v int64
	}
	var sets []set
	rest := args[5:]
	for i := 0; i < len(rest); i += 2 {
		name, ok := strings.CutPrefix(rest[i], "data.")
		if !ok {
			return "\"data.<type>\" followed by a value expected\n\n"
		}
		d, ok := stick.ParseData(name)
		if !ok || !t.Stores(d) {
			return "Unknown data type\n\n"
		}
		if i+1 >= len(rest) {
			return "Require a valid integer value to store\n\n"
		}
		v, err := strconv.ParseInt(rest[i+1], 10, 64)
		if err != nil {
			return "Require a valid integer value to store\n\n"
		}
		sets = append(sets, set{d, v})
	}
	e := t.Upsert(key)
	if e == nil {
		return "Unable to allocate a new entry\n\n"
	}
	for _, x := range sets {
		t.Set(e, x.d, x.v)
	}
	return "\n"
}

// namedTable is the table named by args[2], or the CLI's answer when
// there is none.
func (s *Server) namedTable(args []string) (*stick.Table, string) {
	if len(args) < 3 {
		return nil, "Missing table name.\n\n"
	}
	if t := s.table(args[2]); t != nil {
		return t, ""
	}
	return nil, "No such table\n\n"
}
