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
	'B': {0: {"KNS", "str"}, 1: {"KNS", "str"}, 2: {"MGP", "u32"}, 3: {"MMP", "u32"}, 4: {"MGP", "u32"}, 5: {"MMP", "u32"}, 6: {"CLP", "u32"}, 7: {"MCP", "u64"}, 8: {"MCP", "u64"}, 9: {"MCP", "u64"}, 10: {"MCP", "u64"}, 11: {"MCP", "u64"}, 13: {"MCP", "u64"}, 14: {"MCP", "u64"}, 15: {"MCP", "u64"}, 16: {"MCP", "u64"}, 17: {"SGP", "str"}, 18: {"MaP", "u32"}, 19: {"MGP", "u32"}, 20: {"MGP", "u32"}, 22: {"MCP", "u64"}, 23: {"MAP", "u32"}, 24: {"MCP", "u32"}, 26: {"KGP", "u32"}, 27: {"KGS", "u32"}, 28: {"KGS", "u32"}, 30: {"MCP", "u64"}, 32: {"CGS", "u32"}, 33: {"MGP", "u32"}, 35: {"MGP", "u32"}, 39: {"MCP", "u64"}, 40: {"MCP", "u64"}, 41: {"MCP", "u64"}, 42: {"MCP", "u64"}, 43: {"MCP", "u64"}, 44: {"MCP", "u64"}, 48: {"MCP", "u64"}, 49: {"MCP", "u64"}, 50: {"MCP", "u64"}, 51: {"MCP", "u64"}, 52: {"MCP", "u64"}, 53: {"MCP", "u64"}, 54: {"MCP", "u64"}, 55: {"MAP", "s32"}, 58: {"MaP", "u32"}, 59: {"MaP", "u32"}, 60: {"MaP", "u32"}, 61: {"MaP", "u32"}, 75: {"CGS", "str"}, 76: {"CGS", "str"}, 83: {"MCP", "u64"}, 84: {"MCP", "u64"}, 85: {"MCP", "u64"}, 86: {"MCP", "u64"}, 87: {"MCP", "u64"}, 90: {"MMP", "u32"}, 91: {"MMP", "u32"}, 92: {"MMP", "u32"}, 93: {"MMP", "u32"}, 94: {"MCP", "u64"}, 99: {"MaP", "u32"}, 100: {"MGP", "u32"}, 101: {"MGP", "u32"}, 102: {"MGP", "u32"}, 103: {"MCP", "u64"}, 104: {"MCP", "u64"}, 105: {"MCP", "u64"}, 106: {"MCP", "u64"}, 107: {"MCP", "u64"}, 108: {"MCP", "u64"}, 109: {"MCP", "u64"}, 110: {"MCP", "u64"}, 111: {"MCP", "u64"}, 112: {"MCP", "u64"}, 113: {"MCP", "u64"}, 114: {"MCP", "u64"}, 115: {"MGP", "u64"}, 116: {"MGP", "u64"}, 117: {"MCP", "u64"}, 118: {"MCP", "u64"}, 119: {"MGP", "u64"}, 120: {"MGP", "u64"}, 121: {"MCP", "u64"}, 122: {"MCP", "u64"}, 123: {"MCP", "u64"}, 124: {"MCP", "u64"}, 125: {"MCP", "u64"}, 126: {"MCP", "u64"}},
	'S': {0: {"KNS", "str"}, 1: {"KNS", "str"}, 2: {"MGP", "u32"}, 3: {"MMP", "u32"}, 4: {"MGP", "u32"}, 5: {"MMP", "u32"}, 7: {"MCP", "u64"}, 8: {"MCP", "u64"}, 9: {"MCP", "u64"}, 11: {"MCP", "u64"}, 13: {"MCP", "u64"}, 14: {"MCP", "u64"}, 15: {"MCP", "u64"}, 16: {"MCP", "u64"}, 17: {"SGP", "str"}, 18: {"MaP", "u32"}, 19: {"SGP", "u32"}, 20: {"SGP", "u32"}, 21: {"MCP", "u64"}, 22: {"MCP", "u64"}, 23: {"MAP", "u32"}, 24: {"MCP", "u32"}, 26: {"KGP", "u32"}, 27: {"KGS", "u32"}, 28: {"KGS", "u32"}, 30: {"MCP", "u64"}, 32: {"CGS", "u32"}, 33: {"MRP", "u32"}, 35: {"MMP", "u32"}, 36: {"MOP", "str"}, 37: {"MOP", "u32"}, 38: {"MDP", "u64"}, 39: {"MCP", "u64"}, 40: {"MCP", "u64"}, 41: {"MCP", "u64"}, 42: {"MCP", "u64"}, 43: {"MCP", "u64"}, 44: {"MCP", "u64"}, 48: {"MCP", "u64"}, 49: {"MCP", "u64"}, 50: {"MCP", "u64"}, 55: {"MAP", "s32"}, 56: {"MOP", "str"}, 58: {"MaP", "u32"}, 59: {"MaP", "u32"}, 60: {"MaP", "u32"}, 61: {"MaP", "u32"}, 65: {"MOP", "str"}, 67: {"CGS", "u32"}, 68: {"CGS", "u32"}, 69: {"CGS", "u32"}, 73: {"CGS", "str"}, 75: {"CGS", "str"}, 83: {"MCP", "u64"}, 84: {"MCP", "u64"}, 85: {"MCP", "u64"}, 88: {"MGP", "u32"}, 90: {"MMP", "u32"}, 91: {"MMP", "u32"}, 92: {"MMP", "u32"}, 93: {"MMP", "u32"}, 94: {"MCP", "u64"}, 95: {"MGP", "u32"}, 96: {"MGP", "u32"}, 97: {"MGP", "u32"}, 98: {"MGP", "u32"}, 99: {"MaP", "u32"}, 103: {"MCP", "u64"}, 104: {"MCP", "u64"}, 105: {"MCP", "u64"}},
}

// WriteTyped writes `show stat typed`: one line per non-empty field,
// "<obj>.<iid>.<sid>.<index>.<name>.1:<origin nature scope>:<type>:<value>".
func WriteTyped(w io.Writer, s *Snapshot) error {
	var b strings.Builder
	for _, row := range Rows(s, CSVOptions{Addr: true}) {
		obj := byte('S')
		switch row[1] {
		case "FRONTEND":
			obj = 'F'
		case "BACKEND":
			obj = 'B'
		}
		iid, sid := row[27], row[28]
		for i, v := range row {
			f, ok := typedFields[obj][i]
			if v == "" || !ok {
				continue
			}
			b.WriteByte(obj)
			b.WriteString("." + iid + "." + sid + "." + strconv.Itoa(i) + "." + csvColumns[i] + ".1:" + f[0] + ":" + f[1] + ":" + v + "\n")
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
