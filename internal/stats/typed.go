package stats

import (
	"io"
	"strconv"
	"strings"
)

// typedFields are, per row kind, the origin/nature/scope letters and
// the type of each field in `show stat typed`, as haproxy 2.6.12 prints them.
var typedFields = map[byte]map[int][2]string{
	'F': {0: {"KNS", "str"}, 1: {"KNS", "str"}, 4: {"MGP", "u32"}, 5: {"MMP", "u32"}, 6: {"CLP", "u32"}, 7: {"MCP", "u64"}, 8: {"MCP", "u64"}, 9: {"MCP", "u64"}, 10: {"MCP", "u64"}, 11: {"MCP", "u64"}, 12: {"MCP", "u64"}, 17: {"SGP", "str"}, 26: {"KGP", "u32"}, 27: {"KGS", "u32"}, 28: {"KGS", "u32"}, 32: {"CGS", "u32"}, 33: {"MRP", "u32"}, 34: {"CLP", "u32"}, 35: {"MMP", "u32"}, 39: {"MCP", "u64"}, 40: {"MCP", "u64"}, 41: {"MCP", "u64"}, 42: {"MCP", "u64"}, 43: {"MCP", "u64"}, 44: {"MCP", "u64"}, 46: {"MRP", "u32"}, 47: {"MMP", "u32"}, 48: {"MCP", "u64"}, 51: {"MCP", "u64"}, 52: {"MCP", "u64"}, 53: {"MCP", "u64"}, 54: {"MCP", "u64"}, 75: {"CGS", "str"}, 77: {"MRP", "u32"}, 78: {"MMP", "u32"}, 79: {"MCP", "u64"}, 80: {"MCP", "u64"}, 81: {"MCP", "u64"}, 82: {"MCP", "u64"}, 83: {"MCP", "u64"}, 86: {"MCP", "u64"}, 87: {"MCP", "u64"}, 94: {"MCP", "u64"}, 103: {"MCP", "u64"}, 104: {"MCP", "u64"}, 105: {"MCP", "u64"}, 106: {"MCP", "u64"}, 107: {"MCP", "u64"}, 108: {"MCP", "u64"}, 109: {"MCP", "u64"}, 110: {"MCP", "u64"}, 111: {"MCP", "u64"}, 112: {"MCP", "u64"}, 113: {"MCP", "u64"}, 114: {"MCP", "u64"}, 115: {"MGP", "u64"}, 116: {"MGP", "u64"}, 117: {"MCP", "u64"}, 118: {"MCP", "u64"}, 119: {"MGP", "u64"}, 120: {"MGP", "u64"}, 121: {"MCP", "u64"}, 122: {"MCP", "u64"}, 123: {"MCP", "u64"}, 124: {"MCP", "u64"}, 125: {"MCP", "u64"}, 126: {"MCP", "u64"}},
	'B': {74: {"CNS", "str"}, 0: {"KNS", "str"}, 1: {"KNS", "str"}, 2: {"MGP", "u32"}, 3: {"MMP", "u32"}, 4: {"MGP", "u32"}, 5: {"MMP", "u32"}, 6: {"CLP", "u32"}, 7: {"MCP", "u64"}, 8: {"MCP", "u64"}, 9: {"MCP", "u64"}, 10: {"MCP", "u64"}, 11: {"MCP", "u64"}, 13: {"MCP", "u64"}, 14: {"MCP", "u64"}, 15: {"MCP", "u64"}, 16: {"MCP", "u64"}, 17: {"SGP", "str"}, 18: {"MaP", "u32"}, 19: {"MGP", "u32"}, 20: {"MGP", "u32"}, 22: {"MCP", "u64"}, 23: {"MAP", "u32"}, 24: {"MCP", "u32"}, 26: {"KGP", "u32"}, 27: {"KGS", "u32"}, 28: {"KGS", "u32"}, 30: {"MCP", "u64"}, 32: {"CGS", "u32"}, 33: {"MGP", "u32"}, 35: {"MGP", "u32"}, 39: {"MCP", "u64"}, 40: {"MCP", "u64"}, 41: {"MCP", "u64"}, 42: {"MCP", "u64"}, 43: {"MCP", "u64"}, 44: {"MCP", "u64"}, 48: {"MCP", "u64"}, 49: {"MCP", "u64"}, 50: {"MCP", "u64"}, 51: {"MCP", "u64"}, 52: {"MCP", "u64"}, 53: {"MCP", "u64"}, 54: {"MCP", "u64"}, 55: {"MAP", "s32"}, 58: {"MaP", "u32"}, 59: {"MaP", "u32"}, 60: {"MaP", "u32"}, 61: {"MaP", "u32"}, 75: {"CGS", "str"}, 76: {"CGS", "str"}, 83: {"MCP", "u64"}, 84: {"MCP", "u64"}, 85: {"MCP", "u64"}, 86: {"MCP", "u64"}, 87: {"MCP", "u64"}, 90: {"MMP", "u32"}, 91: {"MMP", "u32"}, 92: {"MMP", "u32"}, 93: {"MMP", "u32"}, 94: {"MCP", "u64"}, 99: {"MaP", "u32"}, 100: {"MGP", "u32"}, 101: {"MGP", "u32"}, 102: {"MGP", "u32"}, 103: {"MCP", "u64"}, 104: {"MCP", "u64"}, 105: {"MCP", "u64"}, 106: {"MCP", "u64"}, 107: {"MCP", "u64"}, 108: {"MCP", "u64"}, 109: {"MCP", "u64"}, 110: {"MCP", "u64"}, 111: {"MCP", "u64"}, 112: {"MCP", "u64"}, 113: {"MCP", "u64"}, 114: {"MCP", "u64"}, 115: {"MGP", "u64"}, 116: {"MGP", "u64"}, 117: {"MCP", "u64"}, 118: {"MCP", "u64"}, 119: {"MGP", "u64"}, 120: {"MGP", "u64"}, 121: {"MCP", "u64"}, 122: {"MCP", "u64"}, 123: {"MCP", "u64"}, 124: {"MCP", "u64"}, 125: {"MCP", "u64"}, 126: {"MCP", "u64"}},
	'S': {6: {"CLP", "u32"}, 74: {"CNS", "str"}, 0: {"KNS", "str"}, 1: {"KNS", "str"}, 2: {"MGP", "u32"}, 3: {"MMP", "u32"}, 4: {"MGP", "u32"}, 5: {"MMP", "u32"}, 7: {"MCP", "u64"}, 8: {"MCP", "u64"}, 9: {"MCP", "u64"}, 11: {"MCP", "u64"}, 13: {"MCP", "u64"}, 14: {"MCP", "u64"}, 15: {"MCP", "u64"}, 16: {"MCP", "u64"}, 17: {"SGP", "str"}, 18: {"MaP", "u32"}, 19: {"SGP", "u32"}, 20: {"SGP", "u32"}, 21: {"MCP", "u64"}, 22: {"MCP", "u64"}, 23: {"MAP", "u32"}, 24: {"MCP", "u32"}, 26: {"KGP", "u32"}, 27: {"KGS", "u32"}, 28: {"KGS", "u32"}, 30: {"MCP", "u64"}, 32: {"CGS", "u32"}, 33: {"MRP", "u32"}, 35: {"MMP", "u32"}, 36: {"MOP", "str"}, 37: {"MOP", "u32"}, 38: {"MDP", "u64"}, 39: {"MCP", "u64"}, 40: {"MCP", "u64"}, 41: {"MCP", "u64"}, 42: {"MCP", "u64"}, 43: {"MCP", "u64"}, 44: {"MCP", "u64"}, 48: {"MCP", "u64"}, 49: {"MCP", "u64"}, 50: {"MCP", "u64"}, 55: {"MAP", "s32"}, 56: {"MOP", "str"}, 58: {"MaP", "u32"}, 59: {"MaP", "u32"}, 60: {"MaP", "u32"}, 61: {"MaP", "u32"}, 65: {"MOP", "str"}, 67: {"CGS", "u32"}, 68: {"CGS", "u32"}, 69: {"CGS", "u32"}, 73: {"CGS", "str"}, 75: {"CGS", "str"}, 83: {"MCP", "u64"}, 84: {"MCP", "u64"}, 85: {"MCP", "u64"}, 88: {"MGP", "u32"}, 90: {"MMP", "u32"}, 91: {"MMP", "u32"}, 92: {"MMP", "u32"}, 93: {"MMP", "u32"}, 94: {"MCP", "u64"}, 95: {"MGP", "u32"}, 96: {"MGP", "u32"}, 97: {"MGP", "u32"}, 98: {"MGP", "u32"}, 99: {"MaP", "u32"}, 103: {"MCP", "u64"}, 104: {"MCP", "u64"}, 105: {"MCP", "u64"}},
}

// typedPos is the field number of CSV column i in typed and JSON output:
// HAProxy numbers its extra (module) columns without the "-" separator.
func typedPos(i int) (int, bool) {
	switch {
	case i < dashColumn:
		return i, true
	case i == dashColumn:
		return 0, false
	}
	return i - 1, true
}

// dashColumn is the index of the "-" separator among the CSV columns.
var dashColumn = func() int {
	for i, c := range csvColumns {
		if c == "-" {
			return i
		}
	}
	return len(csvColumns)
}()

// typedField is one field of a row in typed and JSON output.
type typedField struct {
	pos        int
	name, tags string // tags: origin, nature, scope letters
	typ, value string
}

// typedRow lists the fields of row that HAProxy prints: those the row
// has, with their tags and types.
func typedRow(row Row) []typedField {
	var out []typedField
	for i, c := range row.Cells {
		pos, ok := typedPos(i)
		if !ok || !c.Present {
			continue
		}
		f, ok := typedFields[row.Obj][pos]
		if !ok {
			continue
		}
		out = append(out, typedField{pos, csvColumns[i], f[0], f[1], c.Value})
	}
	return out
}

// WriteTyped writes `show stat typed`: one line per field the row has,
// "<obj>.<iid>.<sid>.<pos>.<name>.1:<origin nature scope>:<type>:<value>".
func WriteTyped(w io.Writer, s *Snapshot, o CSVOptions) error {
	var b strings.Builder
	for _, row := range Rows(s, o) {
		iid, sid := strconv.Itoa(row.IID), strconv.Itoa(row.SID)
		for _, f := range typedRow(row) {
			b.WriteByte(row.Obj)
			b.WriteString("." + iid + "." + sid + "." + strconv.Itoa(f.pos) + "." + f.name + ".1:" + f.tags + ":" + f.typ + ":" + f.value + "\n")
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Tag letters of typed output, spelt out in JSON output.
var (
	originNames = map[byte]string{'K': "Key", 'M': "Metric", 'S': "Status", 'C': "Config", 'P': "Product"}
	natureNames = map[byte]string{'N': "Name", 'G': "Gauge", 'M': "Max", 'L': "Limit", 'C': "Counter", 'R': "Rate",
		'A': "Age", 'a': "Avg", 'O': "Output", 'D': "Duration", 'T': "Time"}
	scopeNames = map[byte]string{'S': "Service", 'P': "Process", 'C': "Cluster", 's': "System"}
	objNames   = map[byte]string{'F': "Frontend", 'B': "Backend", 'S': "Server"}
)

// appendJSONValue writes {"type":T,"value":V}, V a JSON number for the
// numeric types and a string otherwise.
func appendJSONValue(b []byte, typ, v string) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","value":`...)
	if typ == "str" {
		return append(appendJSONString(b, v), '}')
	}
	if _, err := strconv.ParseFloat(v, 64); err != nil {
		v = "0"
	}
	b = append(b, v...)
	return append(b, '}')
}

func appendTags(b []byte, tags string) []byte {
	b = append(b, `"tags":{"origin":"`...)
	b = append(b, originNames[tags[0]]...)
	b = append(b, `","nature":"`...)
	b = append(b, natureNames[tags[1]]...)
	b = append(b, `","scope":"`...)
	b = append(b, scopeNames[tags[2]]...)
	return append(b, `"}`...)
}

// WriteJSON writes `show stat json` (and the stats page's ;json): an
// array of rows, each an array of the fields `show stat typed` prints,
// in HAProxy 2.6's schema.
func WriteJSON(w io.Writer, s *Snapshot, o CSVOptions) error {
	b := []byte{'['}
	for i, row := range Rows(s, o) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, f := range typedRow(row) {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"objType":"`...)
			b = append(b, objNames[row.Obj]...)
			b = append(b, `","proxyId":`...)
			b = strconv.AppendInt(b, int64(row.IID), 10)
			b = append(b, `,"id":`...)
			b = strconv.AppendInt(b, int64(row.SID), 10)
			b = append(b, `,"field":{"pos":`...)
			b = strconv.AppendInt(b, int64(f.pos), 10)
			b = append(b, `,"name":`...)
			b = appendJSONString(b, f.name)
			b = append(b, `},"processNum":1,`...)
			b = appendTags(b, f.tags)
			b = append(b, `,"value":`...)
			b = appendJSONValue(b, f.typ, f.value)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, "]\n"...)
	_, err := w.Write(b)
	return err
}

// appendJSONString writes v as a JSON string.
func appendJSONString(b []byte, v string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
