package planner

import (
	"regexp"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions
)

// parseSQL parses the rewritten text with the TiDB parser in ANSI_QUOTES mode and returns
// its single statement. orig is the user's text, for positions; rewritten has the same
// length. A TiDB parser is not safe for concurrent use, so each call makes its own.
func parseSQL(orig, rewritten string, toks []token) (stmt ast.StmtNode, err error) {
	if len(toks) == 0 {
		return nil, newError(ErrSyntax, orig, -1, "empty query")
	}
	for _, t := range toks {
		// TiDB's test_driver decimal panics on more than 81 digits; MySQL's DECIMAL
		// holds 65.
		if t.kind == tokNumber && !strings.ContainsAny(t.value, "eExXbB") && decimalDigits(t.value) > maxDecimalDigits {
			return nil, newError(ErrUnsupported, orig, t.pos, "numeric literals of more than %d digits are not supported", maxDecimalDigits)
		}
	}
	defer func() {
		// The TiDB parser is third-party code on a path any reader reaches: a panic in
		// it is a refused query, not a crashed node.
		if r := recover(); r != nil {
			stmt, err = nil, newError(ErrSyntax, orig, -1, "the SQL parser failed on this text: %v", r)
		}
	}()
	p := parser.New()
	p.SetSQLMode(mysql.ModeANSIQuotes | mysql.ModePipesAsConcat)
	stmts, _, err := p.Parse(rewritten, "", "")
	if err != nil {
		return nil, syntaxError(orig, rewritten, toks, err)
	}
	switch len(stmts) {
	case 0:
		return nil, newError(ErrSyntax, orig, -1, "empty query")
	case 1:
		return stmts[0], nil
	}
	// The second statement starts after the first top-level ';'.
	pos := -1
	for _, t := range toks {
		if t.isPunct(";") {
			pos = t.pos
			break
		}
	}
	return nil, newError(ErrUnsupported, orig, pos, "multiple statements are not supported; send one statement per query")
}

// tidbErrRE matches the position prefix of TiDB parser errors.
var tidbErrRE = regexp.MustCompile(`^line \d+ column \d+ near "`)

// syntaxError converts a TiDB parser error into an *Error at the token where parsing
// stopped. TiDB reports `line L column C near "<rest of the text>"`; the rest of the
// text locates the offset exactly, whatever TiDB counts as a column.
func syntaxError(orig, rewritten string, toks []token, err error) error {
	msg := err.Error()
	loc := tidbErrRE.FindStringIndex(msg)
	if loc == nil {
		return newError(ErrSyntax, orig, -1, "%s", msg)
	}
	rest := msg[loc[1]:]
	pos := -1
	for off := 0; off <= len(rewritten); off++ {
		tail := rewritten[off:]
		if len(tail) > 2048 {
			tail = tail[:2048]
		}
		if strings.HasPrefix(rest, tail+`"`) {
			pos = off
			break
		}
	}
	if pos < 0 {
		return newError(ErrSyntax, orig, -1, "%s", msg)
	}
	// Skip whitespace and comments to the token TiDB stopped at.
	for _, t := range toks {
		if t.pos >= pos {
			pos = t.pos
			return newError(ErrSyntax, orig, pos, "syntax error at or near %s", nearText(orig, t))
		}
	}
	return newError(ErrSyntax, orig, len(orig), "syntax error at end of input")
}

// nearText renders a token of the user's text for an error message.
func nearText(sql string, t token) string {
	s := sql[t.pos:t.end]
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return `"` + s + `"`
}

// decimalDigits counts the digits of a numeric literal.
func decimalDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}
