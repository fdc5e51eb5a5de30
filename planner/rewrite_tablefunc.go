package planner

import (
	"fmt"
	"strings"
)

// The TiDB parser has no table-valued functions, so detect('ruleset'[, 'table']) is
// rewritten before parsing: the whole call, from "detect" to its closing parenthesis, is
// replaced by a quoted placeholder identifier padded with spaces to exactly the same byte
// length. Every offset the parser reports therefore still points into the user's text,
// and the binder maps the placeholder back to the call through rewriteResult.funcs.
//
// The same pass strips the catalog from three-part table names (sigmaflight.public.t),
// which TiDB does not parse, by blanking "sigmaflight." with spaces.

// tableFunc is one detect() call found by the rewrite.
type tableFunc struct {
	// placeholder is the identifier (unquoted form) that replaced the call.
	placeholder string
	ruleset     string
	// table is the table argument, or "" when the call has one argument.
	table string
	// pos and end delimit the call in the user's text; rulesetPos and tablePos are
	// the offsets of the string arguments.
	pos, end             int
	rulesetPos, tablePos int
}

// rewriteResult is the rewritten SQL and what the binder needs to map it back.
type rewriteResult struct {
	// sql is the text handed to the parser: same length as the original.
	sql string
	// funcs maps placeholder names to their calls.
	funcs map[string]*tableFunc
	// toks are the tokens of the original text, for positions and quoting.
	toks []token
	// nulls and casts record the standard syntax rewritten for TiDB (rewrite_syntax.go).
	nulls []nullsMarker
	casts map[int]castSpec
}

// rewriteTableFuncs finds detect() calls in table position (after FROM or JOIN, or after
// a comma of a FROM list) and three-part table names, and rewrites them as described
// above. Errors in a call point at the user's text.
func rewriteTableFuncs(sql string) (*rewriteResult, error) {
	toks, lerr := lexSQL(sql)
	if lerr != nil {
		return nil, lerr
	}
	res := &rewriteResult{sql: sql, toks: toks, funcs: map[string]*tableFunc{}}
	buf := []byte(sql)
	depth := 0
	inFrom := map[int]bool{} // depth -> inside a FROM list at that depth
	tablePos := false        // the next token is in table position
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		atTable := tablePos
		tablePos = false
		switch {
		case t.isPunct("("):
			depth++
			continue
		case t.isPunct(")"):
			delete(inFrom, depth)
			depth--
			continue
		case t.isPunct(","):
			tablePos = inFrom[depth]
			continue
		case t.is("FROM") || t.is("JOIN"):
			inFrom[depth] = true
			tablePos = true
			continue
		case t.is("WHERE") || t.is("GROUP") || t.is("HAVING") || t.is("ORDER") || t.is("LIMIT") ||
			t.is("UNION") || t.is("EXCEPT") || t.is("INTERSECT") || t.is("WINDOW") || t.is("FOR") ||
			t.is("INTO") || t.is("SELECT"):
			delete(inFrom, depth)
			continue
		}
		if !atTable {
			continue
		}
		// Table function: detect ( ... ).
		if t.is("detect") && i+1 < len(toks) && toks[i+1].isPunct("(") {
			tf, next, err := parseDetectCall(sql, toks, i)
			if err != nil {
				return nil, err
			}
			tf.placeholder = placeholderName(sql, res.funcs)
			repl := `"` + tf.placeholder + `"`
			if len(repl) > tf.end-tf.pos {
				return nil, newError(ErrSyntax, sql, tf.pos, "detect() call too short to rewrite")
			}
			copy(buf[tf.pos:], repl)
			for k := tf.pos + len(repl); k < tf.end; k++ {
				buf[k] = ' '
			}
			res.funcs[tf.placeholder] = tf
			i = next - 1
			continue
		}
		// Three-part name: catalog . schema . table.
		if isIdentTok(t) && i+4 < len(toks) && toks[i+1].isPunct(".") && isIdentTok(toks[i+2]) &&
			toks[i+3].isPunct(".") && isIdentTok(toks[i+4]) {
			if !nameMatches(t, catalogName) {
				return nil, newError(ErrUnknownTable, sql, t.pos, "unknown catalog %s", quoteName(t.value)).
					withHint(fmt.Sprintf("did you mean %s?", quoteName(catalogName)))
			}
			for k := t.pos; k < toks[i+1].end; k++ {
				buf[k] = ' '
			}
			i += 4
		}
	}
	rewriteSyntax(res, buf)
	res.sql = string(buf)
	return res, nil
}

// isIdentTok reports whether t is a quoted or unquoted identifier.
func isIdentTok(t token) bool { return t.kind == tokIdent || t.kind == tokQuotedIdent }

// nameMatches compares an identifier token with a name: exactly when quoted,
// case-insensitively when not.
func nameMatches(t token, name string) bool {
	if t.kind == tokQuotedIdent {
		return t.value == name
	}
	return strings.EqualFold(t.value, name)
}

// parseDetectCall parses detect('ruleset'[, 'table']) starting at toks[i] ("detect")
// and returns the call and the index of the token after its closing parenthesis.
func parseDetectCall(sql string, toks []token, i int) (*tableFunc, int, error) {
	const usage = "detect('ruleset') or detect('ruleset', 'table')"
	start := toks[i].pos
	j := i + 2 // after "("
	var args []token
	for {
		if j >= len(toks) {
			return nil, 0, newError(ErrSyntax, sql, len(sql), "detect() call is not closed: expected %s", usage)
		}
		a := toks[j]
		if a.isPunct(")") && len(args) == 0 {
			return nil, 0, newError(ErrSyntax, sql, start, "detect() needs a ruleset: %s", usage)
		}
		if a.kind != tokString {
			what := fmt.Sprintf("%q", a.value)
			if a.kind == tokQuotedIdent || a.kind == tokIdent {
				what = "identifier " + quoteName(a.value)
			}
			return nil, 0, newError(ErrSyntax, sql, a.pos,
				"detect() argument %d must be a string literal in single quotes, got %s", len(args)+1, what).
				withHint("write " + usage)
		}
		args = append(args, a)
		j++
		if j >= len(toks) {
			return nil, 0, newError(ErrSyntax, sql, len(sql), "detect() call is not closed: expected %s", usage)
		}
		if toks[j].isPunct(")") {
			break
		}
		if !toks[j].isPunct(",") {
			return nil, 0, newError(ErrSyntax, sql, toks[j].pos, "expected , or ) in detect() call, got %q", toks[j].value)
		}
		j++
	}
	if len(args) > 2 {
		return nil, 0, newError(ErrSyntax, sql, args[2].pos, "detect() takes 1 or 2 arguments, got %d", len(args)).
			withHint("write " + usage)
	}
	tf := &tableFunc{pos: start, end: toks[j].end, ruleset: args[0].value, rulesetPos: args[0].pos, tablePos: -1}
	if tf.ruleset == "" {
		return nil, 0, newError(ErrSyntax, sql, args[0].pos, "detect() ruleset name is empty")
	}
	if len(args) == 2 {
		tf.table, tf.tablePos = args[1].value, args[1].pos
		if tf.table == "" {
			return nil, 0, newError(ErrSyntax, sql, args[1].pos, "detect() table name is empty")
		}
	}
	return tf, j + 1, nil
}

// placeholderName returns a placeholder identifier for the n-th call that does not occur
// anywhere in sql, so it cannot collide with a user's name.
func placeholderName(sql string, used map[string]*tableFunc) string {
	for k := len(used); ; k++ {
		name := fmt.Sprintf("~d%d", k)
		if _, dup := used[name]; !dup && !strings.Contains(sql, name) {
			return name
		}
	}
}
