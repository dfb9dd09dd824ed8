package mysqlddl

import (
	"strings"
)

// tok is one lexical token of a statement, enough to rewrite MariaDB extensions the grammar
// does not know without touching string literals or quoted names.
type tok struct {
	kind       byte // 'w' word, 'q' quoted string, 'b' backquoted name, 'p' punctuation, 'c' comment
	start, end int
}

func tokenize(s string) []tok {
	var out []tok
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && strings.HasPrefix(s[i:], "-- ") || c == '#':
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				j = len(s) - i
			}
			out = append(out, tok{'c', i, i + j})
			i += j
		case c == '/' && strings.HasPrefix(s[i:], "/*") && !strings.HasPrefix(s[i:], "/*!") && !strings.HasPrefix(s[i:], "/*M!"):
			j := strings.Index(s[i+2:], "*/")
			end := len(s)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			out = append(out, tok{'c', i, end})
			i = end
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(s) {
				if s[j] == '\\' && c != '`' {
					j += 2
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					j++
					break
				}
				j++
			}
			if j > len(s) {
				j = len(s)
			}
			k := byte('q')
			if c == '`' {
				k = 'b'
			}
			out = append(out, tok{k, i, j})
			i = j
		case isWordByte(c) || c >= 0x80 || c == '$':
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] >= 0x80 || s[j] == '$') {
				j++
			}
			out = append(out, tok{'w', i, j})
			i = j
		default:
			out = append(out, tok{'p', i, i + 1})
			i++
		}
	}
	return out
}

// words returns the first n upper-cased words of s (skipping comments), for classifying it.
func leadingWords(s string, n int) []string {
	var w []string
	for _, t := range tokenize(s) {
		if t.kind == 'c' {
			continue
		}
		if t.kind != 'w' {
			break
		}
		w = append(w, strings.ToUpper(s[t.start:t.end]))
		if len(w) == n {
			break
		}
	}
	return w
}

type edit struct {
	start, end int
	repl       string
}

func applyEdits(s string, edits []edit) string {
	if len(edits) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, e := range edits {
		if e.start < last {
			continue
		}
		b.WriteString(s[last:e.start])
		b.WriteString(e.repl)
		last = e.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Marker character sets carry MariaDB-only types through the grammar: the type is rewritten to
// a known one with this charset, and the converter maps it back.
const markerPrefix = "sluice_"

var typeRewrites = map[string]string{
	"uuid":   "char(36) CHARACTER SET sluice_uuid",
	"inet4":  "varchar(15) CHARACTER SET sluice_inet4",
	"inet6":  "varchar(39) CHARACTER SET sluice_inet6",
	"serial": "bigint unsigned NOT NULL AUTO_INCREMENT UNIQUE KEY",
}

var defaultFuncOK = map[string]bool{"CURRENT_TIMESTAMP": true, "NOW": true, "LOCALTIME": true, "LOCALTIMESTAMP": true}

var notNameWords = map[string]bool{
	"DEFAULT": true, "COLUMN": true, "ADD": true, "TABLE": true, "MODIFY": true, "CHANGE": true,
	"AS": true, "SELECT": true, "FROM": true, "WHERE": true, "ON": true, "AND": true, "OR": true,
	"NOT": true, "NULL": true, "SET": true, "CHECK": true, "IN": true, "RETURNS": true,
}

// rewrite turns the MariaDB extensions the grammar does not know into forms it does.
func rewrite(s string) string {
	toks := tokenize(s)
	text := func(t tok) string { return s[t.start:t.end] }
	upper := func(i int) string {
		if i < 0 || i >= len(toks) || toks[i].kind != 'w' {
			return ""
		}
		return strings.ToUpper(text(toks[i]))
	}
	isPunct := func(i int, p byte) bool {
		return i >= 0 && i < len(toks) && toks[i].kind == 'p' && s[toks[i].start] == p
	}
	// indexes of the non-comment tokens
	var idx []int
	for i, t := range toks {
		if t.kind != 'c' {
			idx = append(idx, i)
		}
	}
	first := ""
	if len(idx) > 0 {
		first = upper(idx[0])
	}
	var edits []edit
	depth := 0
	for k := 0; k < len(idx); k++ {
		i := idx[k]
		t := toks[i]
		if t.kind == 'p' {
			switch s[t.start] {
			case '(':
				depth++
			case ')':
				depth--
			}
			continue
		}
		if t.kind != 'w' {
			continue
		}
		w := strings.ToUpper(text(t))
		prev := func(n int) int {
			if k-n < 0 {
				return -1
			}
			return idx[k-n]
		}
		next := func(n int) int {
			if k+n >= len(idx) {
				return -1
			}
			return idx[k+n]
		}
		switch {
		case w == "IF" && (first == "ALTER" || first == "CREATE" && depth == 0 && (upper(prev(1)) == "INDEX" || upper(prev(1)) == "KEY") || first == "DROP" && upper(prev(1)) == "INDEX"):
			// IF [NOT] EXISTS inside ALTER TABLE clauses and on CREATE/DROP INDEX (MariaDB).
			if first == "ALTER" && upper(prev(1)) == "TABLE" {
				// ALTER TABLE IF EXISTS t
			} else if first == "ALTER" && depth != 0 {
				continue
			}
			j := k + 1
			if upper(idx0(idx, j)) == "NOT" {
				j++
			}
			if upper(idx0(idx, j)) == "EXISTS" {
				edits = append(edits, edit{t.start, toks[idx[j]].end, ""})
				k = j
			}
		case w == "CHECK" && isPunct(next(1), '(') && depth >= 1 && (first == "CREATE" || first == "ALTER"):
			// A column-level CHECK follows a column definition; a table-level one starts an
			// element (after "," "(" or ADD, optionally with CONSTRAINT [name]).
			p := k - 1
			if upper(idx0(idx, p)) != "CONSTRAINT" && p >= 1 && upper(idx0(idx, p-1)) == "CONSTRAINT" {
				p -= 2
			} else if upper(idx0(idx, p)) == "CONSTRAINT" {
				p--
			}
			if p >= 0 {
				pt := idx[p]
				if isPunct(pt, ',') || isPunct(pt, '(') || upper(pt) == "ADD" {
					continue
				}
			}
			start := t.start
			if upper(idx0(idx, k-1)) == "CONSTRAINT" {
				start = toks[idx[k-1]].start
			} else if k >= 2 && upper(idx0(idx, k-2)) == "CONSTRAINT" {
				start = toks[idx[k-2]].start
			}
			// skip the balanced parenthesis
			d := 0
			j := k + 1
			for ; j < len(idx); j++ {
				tt := toks[idx[j]]
				if tt.kind == 'p' && s[tt.start] == '(' {
					d++
				} else if tt.kind == 'p' && s[tt.start] == ')' {
					d--
					if d == 0 {
						break
					}
				}
			}
			if j >= len(idx) {
				continue
			}
			edits = append(edits, edit{start, toks[idx[j]].end, ""})
			k = j
		case w == "PRECISION" && upper(prev(1)) == "DOUBLE":
			edits = append(edits, edit{t.start, t.end, ""})
		case w == "DEFAULT" && (first == "CREATE" || first == "ALTER") && upper(next(1)) != "" && isPunct(next(2), '(') && !defaultFuncOK[upper(next(1))]:
			// MariaDB allows DEFAULT f(…) without the parentheses MySQL requires.
			d := 0
			j := k + 2
			for ; j < len(idx); j++ {
				tt := toks[idx[j]]
				if tt.kind == 'p' && s[tt.start] == '(' {
					d++
				} else if tt.kind == 'p' && s[tt.start] == ')' {
					d--
					if d == 0 {
						break
					}
				}
			}
			if j >= len(idx) {
				continue
			}
			edits = append(edits, edit{toks[next(1)].start, toks[next(1)].start, "("}, edit{toks[idx[j]].end, toks[idx[j]].end, ")"})
			k = j
		case synonymStarts[w] && (first == "CREATE" || first == "ALTER"):
			n, syn := matchSynonym(func(j int) string { return upper(idx0(idx, k+j)) })
			if syn == nil || isPunct(prev(1), '.') || isPunct(next(n), '.') || !typePosition(upper, prev, toks) {
				continue
			}
			end := toks[idx[k+n-1]].end
			repl := syn.canon
			if syn.national {
				// The length stays where it was; the national character set follows it.
				if j := k + n; isPunct(idx0(idx, j), '(') {
					for j < len(idx) && !isPunct(idx[j], ')') {
						j++
					}
					if j == len(idx) {
						continue
					}
					repl += s[end:toks[idx[j]].end]
					end = toks[idx[j]].end
					n = j - k + 1
				}
				repl += " CHARACTER SET utf8mb3"
			}
			edits = append(edits, edit{t.start, end, repl})
			k += n - 1
		case typeRewrites[strings.ToLower(w)] != "" && (first == "CREATE" || first == "ALTER"):
			if isPunct(next(1), '(') || isPunct(next(1), '.') || isPunct(prev(1), '.') {
				continue
			}
			pi := prev(1)
			if pi < 0 || (toks[pi].kind != 'w' && toks[pi].kind != 'b') || notNameWords[upper(pi)] {
				continue
			}
			edits = append(edits, edit{t.start, t.end, typeRewrites[strings.ToLower(w)]})
		}
	}
	return applyEdits(s, edits)
}

// typeSynonym is another spelling of a column type that the grammar does not know, and what
// the server makes of it (information_schema.COLUMNS.COLUMN_TYPE): the catalog must build the
// same column from either, or a table created while streaming would read differently from the
// same table read by a snapshot.
type typeSynonym struct {
	words    []string // upper case, CHARACTER spelled CHAR and VARCHARACTER spelled VARCHAR
	canon    string
	national bool // NCHAR and friends: the national character set, utf8mb3
}

// typeSynonyms lists the longer phrases first so that the longest spelling wins.
var typeSynonyms = []typeSynonym{
	{[]string{"NATIONAL", "CHAR", "VARYING"}, "varchar", true},
	{[]string{"NATIONAL", "VARCHAR"}, "varchar", true},
	{[]string{"NATIONAL", "CHAR"}, "char", true},
	{[]string{"NCHAR", "VARCHAR"}, "varchar", true},
	{[]string{"NCHAR", "VARYING"}, "varchar", true},
	{[]string{"NCHAR"}, "char", true},
	{[]string{"NVARCHAR"}, "varchar", true},
	{[]string{"LONG", "CHAR", "VARYING"}, "mediumtext", false},
	{[]string{"LONG", "VARCHAR"}, "mediumtext", false},
	{[]string{"LONG", "VARBINARY"}, "mediumblob", false},
	{[]string{"LONG", "BYTE"}, "mediumblob", false},
	{[]string{"LONG"}, "mediumtext", false},
	{[]string{"CHAR", "VARYING"}, "varchar", false},
	{[]string{"CHAR"}, "char", false}, // only as CHARACTER or VARCHARACTER (the grammar knows CHAR)
	{[]string{"VARCHAR"}, "varchar", false},
	{[]string{"DEC"}, "decimal", false},
	{[]string{"FIXED"}, "decimal", false},
	{[]string{"INT1"}, "tinyint", false},
	{[]string{"INT2"}, "smallint", false},
	{[]string{"INT3"}, "mediumint", false},
	{[]string{"MIDDLEINT"}, "mediumint", false},
	{[]string{"INT4"}, "int", false},
	{[]string{"INT8"}, "bigint", false},
	// BOOL and BOOLEAN are TINYINT(1) to the server, and so in information_schema and to a
	// snapshot: the same column whichever way the table was read.
	{[]string{"BOOL"}, "tinyint(1)", false},
	{[]string{"BOOLEAN"}, "tinyint(1)", false},
}

// synonymStarts holds the words a synonym may start with, as written.
var synonymStarts = map[string]bool{"NATIONAL": true, "NCHAR": true, "NVARCHAR": true, "LONG": true, "CHARACTER": true,
	"CHAR": true, "VARCHARACTER": true, "DEC": true, "FIXED": true, "INT1": true, "INT2": true, "INT3": true,
	"MIDDLEINT": true, "INT4": true, "INT8": true, "BOOL": true, "BOOLEAN": true}

// matchSynonym finds the synonym spelled by the words word(0), word(1), …, and how many words it
// takes. CHAR alone, CHAR BYTE and a CHARACTER SET clause are left to the grammar.
func matchSynonym(word func(int) string) (int, *typeSynonym) {
	spell := func(j int) string {
		switch w := word(j); w {
		case "CHARACTER":
			return "CHAR"
		case "VARCHARACTER":
			return "VARCHAR"
		default:
			return w
		}
	}
	if w := word(0); w == "CHAR" && spell(1) != "VARYING" || (w == "CHARACTER" || w == "CHAR") && word(1) == "SET" {
		return 0, nil
	}
	if word(0) == "VARCHAR" {
		return 0, nil
	}
next:
	for i := range typeSynonyms {
		syn := &typeSynonyms[i]
		for j, w := range syn.words {
			if spell(j) != w {
				continue next
			}
		}
		return len(syn.words), syn
	}
	return 0, nil
}

// typePosition reports whether the word at hand follows a column name (CREATE TABLE's column
// list, ADD/MODIFY/CHANGE): where a type is, not a table option such as ROW_FORMAT FIXED, and
// not the new name in CHANGE old new.
func typePosition(upper func(int) string, prev func(int) int, toks []tok) bool {
	pi := prev(1)
	if pi < 0 || (toks[pi].kind != 'w' && toks[pi].kind != 'b') || notNameWords[upper(pi)] || upper(pi) == "ROW_FORMAT" {
		return false
	}
	if p2 := upper(prev(2)); p2 == "CHANGE" || p2 == "COLUMN" && upper(prev(3)) == "CHANGE" {
		return false
	}
	return true
}

func idx0(idx []int, k int) int {
	if k < 0 || k >= len(idx) {
		return -1
	}
	return idx[k]
}

// guessTables returns the names a statement seems to mention after TABLE, TABLES, INTO, FROM,
// JOIN, UPDATE, ON, LIKE and TO: a best guess for statements the grammar cannot read.
func guessTables(s string) []string {
	toks := tokenize(s)
	var out []string
	name := func(t tok) string {
		v := s[t.start:t.end]
		if t.kind == 'b' {
			v = strings.ReplaceAll(v[1:len(v)-1], "``", "`")
		}
		return v
	}
	for i := 0; i < len(toks); i++ {
		if toks[i].kind != 'w' {
			continue
		}
		switch strings.ToUpper(s[toks[i].start:toks[i].end]) {
		case "TABLE", "TABLES", "INTO", "FROM", "JOIN", "UPDATE", "ON", "LIKE", "TO", "EXISTS":
		default:
			continue
		}
		j := i + 1
		for j < len(toks) && toks[j].kind == 'c' {
			j++
		}
		if j >= len(toks) || (toks[j].kind != 'w' && toks[j].kind != 'b') {
			continue
		}
		n := name(toks[j])
		if j+2 < len(toks) && toks[j+1].kind == 'p' && s[toks[j+1].start] == '.' && (toks[j+2].kind == 'w' || toks[j+2].kind == 'b') {
			n += "." + name(toks[j+2])
		}
		out = append(out, n)
	}
	return out
}
