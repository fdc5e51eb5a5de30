package planner

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. Every error returned by Prepare wraps exactly one of them (through
// *Error when it has a position); the server maps them to status codes.
var (
	// ErrSyntax reports SQL that does not parse: unterminated strings, misplaced
	// keywords, malformed detect() calls.
	ErrSyntax = errors.New("syntax error")
	// ErrUnknownTable reports a table (or catalog/schema) the Catalog does not know.
	ErrUnknownTable = errors.New("unknown table")
	// ErrUnknownColumn reports a column name that matches no column of the query's
	// relation, or matches several case-insensitively.
	ErrUnknownColumn = errors.New("unknown column")
	// ErrUnknownRuleset reports a detect() ruleset the Catalog does not know.
	ErrUnknownRuleset = errors.New("unknown ruleset")
	// ErrUnsupported reports valid SQL this version does not execute yet (GROUP BY,
	// ORDER BY, joins, subqueries, other statements...). The planner never answers
	// such a query wrongly; it refuses it with this error.
	ErrUnsupported = errors.New("not supported")
	// ErrType reports an expression whose operand types do not fit, such as a string
	// column compared with a number. There is no silent coercion.
	ErrType = errors.New("type mismatch")
	// ErrInvalid reports SQL that parses but is not a valid query, such as a column
	// beside count(*) without GROUP BY or a negative LIMIT.
	ErrInvalid = errors.New("invalid query")
	// ErrOverflow reports a value that does not fit its type at execution time: a
	// uint64 above math.MaxInt64 in a client-safe Int64 output column, an integer
	// +, -, * or sum() outside BIGINT.
	ErrOverflow = errors.New("value out of range")
	// ErrMemoryLimit reports a query that needed more memory than its limit
	// (Options.QueryMemoryLimit) for hash tables, sort buffers or join build sides.
	ErrMemoryLimit = errors.New("query memory limit exceeded")
)

// Error is a planning error located in the user's SQL text. Its message reads
// `<what> (line L, column C)[; did you mean "x"?]`.
type Error struct {
	// Err is the sentinel the error wraps (ErrSyntax, ErrUnknownColumn...).
	Err error
	// Msg says what was wrong, without the position.
	Msg string
	// Hint is an optional suggestion such as `did you mean "Image"?`.
	Hint string
	// Pos is the 0-based byte offset in the SQL text, or -1 when unknown.
	Pos int
	// Line and Col are 1-based; Col counts characters (runes), not bytes. Both are 0
	// when Pos is -1.
	Line, Col int
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.Pos >= 0 {
		fmt.Fprintf(&b, " (line %d, column %d)", e.Line, e.Col)
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// newError builds an *Error at byte offset pos of sql (pos < 0: no position).
func newError(sentinel error, sql string, pos int, format string, args ...any) *Error {
	e := &Error{Err: sentinel, Msg: fmt.Sprintf(format, args...), Pos: -1}
	if pos >= 0 {
		e.Pos = pos
		e.Line, e.Col = lineCol(sql, pos)
	}
	return e
}

// withHint sets e.Hint and returns e.
func (e *Error) withHint(hint string) *Error {
	e.Hint = hint
	return e
}

// lineCol converts a byte offset into a 1-based line and a 1-based column counted in
// runes. An offset past the end points just after the last character.
func lineCol(sql string, pos int) (line, col int) {
	if pos > len(sql) {
		pos = len(sql)
	}
	line = 1 + strings.Count(sql[:pos], "\n")
	start := strings.LastIndexByte(sql[:pos], '\n') + 1
	return line, 1 + utf8.RuneCountInString(sql[start:pos])
}

// quoteName renders a name for an error message.
func quoteName(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
