package planner

import (
	"strings"
)

// tokKind classifies a token of the SQL text.
type tokKind uint8

const (
	tokIdent       tokKind = iota // unquoted identifier or keyword
	tokQuotedIdent                // "..." (ANSI_QUOTES) or `...`
	tokString                     // '...'
	tokNumber                     // 12, 1.5, .5e3, 0x1f
	tokPunct                      // one operator or punctuation character (or <=, <>, !=, >=, ||...)
)

// token is one lexical token. pos and end are byte offsets into the SQL text; value is
// the decoded identifier or string (quotes and escapes removed) or the raw text.
type token struct {
	kind     tokKind
	pos, end int
	value    string
}

// is reports whether t is the unquoted keyword or identifier kw (case-insensitive).
func (t token) is(kw string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.value, kw)
}

// isPunct reports whether t is the punctuation p.
func (t token) isPunct(p string) bool { return t.kind == tokPunct && t.value == p }

// lexSQL splits sql into tokens the way the TiDB lexer does in ANSI_QUOTES mode, without
// comments and whitespace: '...' strings with ” and backslash escapes, "..." and `...`
// identifiers with doubled-quote escapes, -- comments (followed by whitespace or the
// end), # comments and /* */ comments. It fails only on unterminated strings,
// identifiers and comments, with ErrSyntax at the opening quote.
func lexSQL(sql string) ([]token, *Error) {
	var toks []token
	i := 0
	for i < len(sql) {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#':
			i = skipLine(sql, i)
		case c == '-' && strings.HasPrefix(sql[i:], "--") && (i+2 == len(sql) || isSpace(sql[i+2])):
			i = skipLine(sql, i)
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, newError(ErrSyntax, sql, i, "unterminated comment")
			}
			i += 2 + end + 2
		case c == '\'':
			v, end, ok := scanQuoted(sql, i, '\'', true)
			if !ok {
				return nil, newError(ErrSyntax, sql, i, "unterminated string literal")
			}
			toks = append(toks, token{kind: tokString, pos: i, end: end, value: v})
			i = end
		case c == '"' || c == '`':
			v, end, ok := scanQuoted(sql, i, c, false)
			if !ok {
				return nil, newError(ErrSyntax, sql, i, "unterminated quoted identifier")
			}
			toks = append(toks, token{kind: tokQuotedIdent, pos: i, end: end, value: v})
			i = end
		case isDigit(c) || (c == '.' && i+1 < len(sql) && isDigit(sql[i+1])):
			end := scanNumber(sql, i)
			if end < len(sql) && isIdentByte(sql[end]) && !isDigit(sql[end]) {
				// MySQL identifiers may start with digits (1abc).
				for end < len(sql) && isIdentByte(sql[end]) {
					end++
				}
				toks = append(toks, token{kind: tokIdent, pos: i, end: end, value: sql[i:end]})
			} else {
				toks = append(toks, token{kind: tokNumber, pos: i, end: end, value: sql[i:end]})
			}
			i = end
		case isIdentByte(c):
			end := i
			for end < len(sql) && isIdentByte(sql[end]) {
				end++
			}
			toks = append(toks, token{kind: tokIdent, pos: i, end: end, value: sql[i:end]})
			i = end
		default:
			n := 1
			if i+1 < len(sql) {
				switch sql[i : i+2] {
				case "<=", ">=", "<>", "!=", "||", "&&", "<<", ">>", ":=":
					n = 2
				}
			}
			toks = append(toks, token{kind: tokPunct, pos: i, end: i + n, value: sql[i : i+n]})
			i += n
		}
	}
	return toks, nil
}

// skipLine returns the offset just after the newline that ends the line holding i.
func skipLine(sql string, i int) int {
	nl := strings.IndexByte(sql[i:], '\n')
	if nl < 0 {
		return len(sql)
	}
	return i + nl + 1
}

// scanQuoted scans a quoted token starting at sql[i] == q and returns its decoded value
// and end offset. A doubled quote stands for itself; backslash escapes apply to strings
// only (MySQL's default, which TiDB follows).
func scanQuoted(sql string, i int, q byte, backslash bool) (string, int, bool) {
	var b strings.Builder
	j := i + 1
	for j < len(sql) {
		c := sql[j]
		switch {
		case c == '\\' && backslash && j+1 < len(sql):
			b.WriteString(unescapeMySQL(sql[j+1]))
			j += 2
		case c == q:
			if j+1 < len(sql) && sql[j+1] == q {
				b.WriteByte(q)
				j += 2
				continue
			}
			return b.String(), j + 1, true
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", len(sql), false
}

// unescapeMySQL decodes the character after a backslash in a MySQL string literal.
// \% and \_ keep their backslash so that LIKE patterns see them.
func unescapeMySQL(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	case '%', '_':
		return "\\" + string(c)
	}
	return string(c)
}

// scanNumber returns the end of the numeric literal starting at i.
func scanNumber(sql string, i int) int {
	j := i
	if strings.HasPrefix(sql[i:], "0x") || strings.HasPrefix(sql[i:], "0X") {
		j += 2
		for j < len(sql) && isHex(sql[j]) {
			j++
		}
		return j
	}
	for j < len(sql) && isDigit(sql[j]) {
		j++
	}
	if j < len(sql) && sql[j] == '.' {
		j++
		for j < len(sql) && isDigit(sql[j]) {
			j++
		}
	}
	if j < len(sql) && (sql[j] == 'e' || sql[j] == 'E') {
		k := j + 1
		if k < len(sql) && (sql[k] == '+' || sql[k] == '-') {
			k++
		}
		if k < len(sql) && isDigit(sql[k]) {
			j = k
			for j < len(sql) && isDigit(sql[j]) {
				j++
			}
		}
	}
	return j
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// isIdentByte matches the TiDB lexer's identifier bytes: letters, digits, _, $ and every
// byte of a multi-byte UTF-8 character.
func isIdentByte(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_' || c == '$' || c >= 0x80
}

// tokenIndexAt returns the index of the token starting at byte offset pos, or -1.
func tokenIndexAt(toks []token, pos int) int {
	lo, hi := 0, len(toks)
	for lo < hi {
		m := (lo + hi) / 2
		if toks[m].pos < pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(toks) && toks[lo].pos == pos {
		return lo
	}
	return -1
}

// keywordBefore returns the offset of the last unquoted keyword kw that starts before
// pos, or -1.
func keywordBefore(toks []token, pos int, kw string) int {
	for i := len(toks) - 1; i >= 0; i-- {
		if toks[i].pos < pos && toks[i].is(kw) {
			return toks[i].pos
		}
	}
	return -1
}

// keywordAfter returns the offset of the first unquoted keyword among kws that starts
// at or after pos, or -1.
func keywordAfter(toks []token, pos int, kws ...string) int {
	for _, t := range toks {
		if t.pos < pos {
			continue
		}
		for _, kw := range kws {
			if t.is(kw) {
				return t.pos
			}
		}
	}
	return -1
}
