package planner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
)

// binder resolves a parsed statement against the Catalog and builds the logical plan.
// Every error it returns is an *Error located in the user's text.
type binder struct {
	ctx context.Context
	cat Catalog
	sql string // the user's text
	rw  *rewriteResult
	// params records the `?` placeholders and the types their contexts imply.
	params *paramSet

	// scope is the relation in scope: its columns by ordinal and the qualifiers each
	// answers to.
	scope []scopeCol
	// agg is set while binding the select list, HAVING and ORDER BY of an aggregating
	// query: expressions then refer to the aggregate's output.
	agg *aggScope
	// ctes are the WITH clauses in scope, innermost last.
	ctes []cteFrame
	// planNodes counts the logical nodes copied for CTE references beyond the first
	// (see bind_cte.go); it may not pass maxPlanNodes.
	planNodes int
	// now is the statement's time for now()/current_timestamp.
	now time.Time
	// planner serves sys.queries.
	planner *Planner
	// subqueries counts nested SELECTs, for limits on recursion.
	depth int
	// defaultSchema is the schema of unqualified table names (WithDefaultSchema).
	defaultSchema string
}

// qualify returns the schema a table name written with schema (possibly "") resolves in:
// the statement's default schema when the name is unqualified.
func (b *binder) qualify(schema string) string {
	if schema == "" {
		return b.defaultSchema
	}
	return schema
}

// errAt builds an *Error at byte offset pos of the user's text.
func (b *binder) errAt(sentinel error, pos int, format string, args ...any) *Error {
	return newError(sentinel, b.sql, pos, format, args...)
}

// unsupported reports a construct this version does not execute.
func (b *binder) unsupported(pos int, what string) *Error {
	if strings.HasSuffix(what, " are") {
		return b.errAt(ErrUnsupported, pos, "%s not supported yet", what)
	}
	return b.errAt(ErrUnsupported, pos, "%s is not supported yet", what)
}

// statementName names a statement kind for an error message.
func statementName(stmt ast.StmtNode) string {
	switch stmt.(type) {
	case *ast.SetOprStmt:
		return "UNION/INTERSECT/EXCEPT"
	case *ast.InsertStmt:
		return "INSERT"
	case *ast.UpdateStmt:
		return "UPDATE"
	case *ast.DeleteStmt:
		return "DELETE"
	case *ast.ExplainStmt:
		return "EXPLAIN"
	case *ast.ShowStmt:
		return "SHOW"
	case *ast.CreateTableStmt, *ast.CreateViewStmt, *ast.CreateDatabaseStmt, *ast.CreateIndexStmt:
		return "CREATE"
	case *ast.DropTableStmt, *ast.DropDatabaseStmt:
		return "DROP"
	}
	name := fmt.Sprintf("%T", stmt)
	name = strings.TrimPrefix(strings.TrimSuffix(name, "Stmt"), "*ast.")
	return strings.ToUpper(name)
}

// topLevelToken returns the index of the first token at parenthesis depth 0 that is the
// keyword kw, or -1.
func (b *binder) topLevelToken(kw string) int {
	depth := 0
	for i, t := range b.rw.toks {
		switch {
		case t.isPunct("("):
			depth++
		case t.isPunct(")"):
			depth--
		case depth == 0 && t.is(kw):
			return i
		}
	}
	return -1
}

// kwPos returns the offset of the first top-level keyword kw, or -1.
func (b *binder) kwPos(kw string) int {
	if i := b.topLevelToken(kw); i >= 0 {
		return b.rw.toks[i].pos
	}
	return -1
}

// bindLimitValue binds a LIMIT or OFFSET operand: a non-negative integer literal.
func (b *binder) bindLimitValue(e ast.ExprNode) (int64, error) {
	pos := e.OriginTextPosition()
	switch v := e.(type) {
	case *test_driver.ParamMarkerExpr:
		b.params.hint(b.params.index(v.Offset), arrow.PrimitiveTypes.Int64)
		return 0, nil
	case *test_driver.ValueExpr:
		switch x := v.GetValue().(type) {
		case int64:
			if x >= 0 {
				return x, nil
			}
		case uint64:
			if x <= math.MaxInt64 {
				return int64(x), nil
			}
			return math.MaxInt64, nil
		}
	}
	return 0, b.errAt(ErrInvalid, pos, "LIMIT and OFFSET take a non-negative integer")
}

// newScanNode builds a scan of every column of table.
func newScanNode(table Table, schema, name string) *scanNode {
	s := table.Schema()
	cols := make([]relColumn, s.NumFields())
	for i, f := range s.Fields() {
		cols[i] = relColumn{name: f.Name, typ: f.Type}
	}
	return &scanNode{table: table, tableName: name, schema: schema, cols: cols}
}

// resolveTable resolves schema.name through the Catalog: exactly first, then (unquoted
// names only) case-insensitively when exactly one table matches.
func (b *binder) resolveTable(schema, name string, quoted bool, pos int) (Table, string, error) {
	if strings.EqualFold(schema, sysSchema) && strings.EqualFold(name, sysQueries) && b.planner != nil {
		return b.planner.queries.table(), sysQueries, nil
	}
	t, err := b.cat.Table(b.ctx, schema, name)
	if err == nil {
		return t, name, nil
	}
	if !errors.Is(err, ErrUnknownTable) {
		return nil, "", b.errAt(ErrUnknownTable, pos, "resolve table %s: %v", quoteName(name), err)
	}
	names := b.cat.TableNames(b.ctx, schema)
	if !quoted {
		var match []string
		for _, n := range names {
			if strings.EqualFold(n, name) {
				match = append(match, n)
			}
		}
		if len(match) == 1 {
			if t, err2 := b.cat.Table(b.ctx, schema, match[0]); err2 == nil {
				return t, match[0], nil
			}
		}
		if len(match) > 1 {
			return nil, "", b.errAt(ErrUnknownTable, pos, "table name %s is ambiguous: it matches %s", quoteName(name), quoteList(match)).
				withHint("quote the name to match it exactly")
		}
	}
	if schema != "" && schema == b.defaultSchema {
		// Slow path: the name was resolved in a default schema the user may not see in
		// the text; say so, and point at the catalog's default when the table is there.
		e := b.errAt(ErrUnknownTable, pos, "unknown table %s in the default schema %s", quoteName(name), quoteName(schema))
		if _, err := b.cat.Table(b.ctx, "", name); err == nil {
			e.withHint("qualify the name with its schema, or change the session's default schema")
		} else if s := suggest(name, names); s != "" {
			e.withHint(fmt.Sprintf("did you mean %s?", quoteName(s)))
		}
		return nil, "", e
	}
	e := b.errAt(ErrUnknownTable, pos, "unknown table %s", quoteName(name))
	if s := suggest(name, names); s != "" {
		e.withHint(fmt.Sprintf("did you mean %s?", quoteName(s)))
	}
	return nil, "", e
}

// bindDetect resolves a detect() call: its ruleset and its table.
func (b *binder) bindDetect(tf *tableFunc) (*detectNode, []string, error) {
	rs, err := b.cat.Ruleset(b.ctx, tf.ruleset)
	if err != nil || rs == nil {
		e := b.errAt(ErrUnknownRuleset, tf.rulesetPos, "unknown ruleset %s", sqlString(tf.ruleset))
		if lister, ok := b.cat.(interface {
			RulesetNames(ctx context.Context) []string
		}); ok {
			if s := suggest(tf.ruleset, lister.RulesetNames(b.ctx)); s != "" {
				e.withHint(fmt.Sprintf("did you mean %s?", sqlString(s)))
			}
		}
		return nil, nil, e
	}
	schema, name, pos := "", tf.table, tf.tablePos
	if name == "" {
		name, pos = defaultDetectTable, tf.rulesetPos
	} else if i := strings.LastIndexByte(name, '.'); i > 0 {
		schema, name = name[:i], name[i+1:]
		schema = strings.TrimPrefix(schema, catalogName+".")
	} else {
		schema = b.qualify("")
	}
	table, resolved, err := b.resolveTable(schema, name, false, pos)
	if err != nil {
		return nil, nil, err
	}
	scan := newScanNode(table, schema, resolved)
	det := &detectNode{input: scan, ruleset: rs, totalRules: len(rs.Rules), tableCols: len(scan.cols)}
	return det, []string{"detect", resolved}, nil
}

// ruleColumns are the columns detect() appends.
func ruleColumns() []relColumn {
	return []relColumn{
		{name: colRuleID, typ: utf8Type},
		{name: colRuleTitle, typ: utf8Type},
		{name: colRuleLevel, typ: utf8Type},
		{name: colRuleTags, typ: utf8Type},
	}
}

// quoteList renders names as "a", "b" and "c".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteName(n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}

// bindLiteral binds a constant: NULL, TRUE/FALSE, a number (optionally negated) or a
// string.
func (b *binder) bindLiteral(n ast.ExprNode) (*literal, error) {
	pos := n.OriginTextPosition()
	switch e := n.(type) {
	case *ast.ParenthesesExpr:
		return b.bindLiteral(e.Expr)
	case *test_driver.ParamMarkerExpr:
		i := b.params.index(e.Offset)
		if i < 0 {
			return nil, b.errAt(ErrInvalid, pos, "unexpected placeholder")
		}
		return &literal{param: i + 1}, nil
	case *ast.UnaryOperationExpr:
		if e.Op != opcode.Minus && e.Op != opcode.Plus {
			break
		}
		lit, err := b.bindLiteral(e.V)
		if err != nil {
			return nil, err
		}
		if e.Op == opcode.Plus {
			return lit, nil
		}
		switch v := lit.val.(type) {
		case int64:
			if v == math.MinInt64 {
				return nil, b.errAt(ErrInvalid, pos, "integer literal out of range")
			}
			return &literal{val: -v}, nil
		case float64:
			return &literal{val: -v}, nil
		}
		return nil, b.errAt(ErrType, pos, "cannot negate %s", lit)
	case *test_driver.ValueExpr:
		if i := tokenIndexAt(b.rw.toks, pos); i >= 0 {
			if t := b.rw.toks[i]; t.is("TRUE") {
				return &literal{val: true}, nil
			} else if t.is("FALSE") {
				return &literal{val: false}, nil
			}
		}
		switch v := e.GetValue().(type) {
		case nil:
			return &literal{}, nil
		case int64:
			return &literal{val: v}, nil
		case uint64:
			if v > math.MaxInt64 {
				return &literal{val: float64(v)}, nil
			}
			return &literal{val: int64(v)}, nil
		case float32:
			return &literal{val: float64(v)}, nil
		case float64:
			return &literal{val: v}, nil
		case string:
			return &literal{val: v}, nil
		case *test_driver.MyDecimal:
			f, err := strconv.ParseFloat(v.String(), 64)
			if err != nil {
				return nil, b.errAt(ErrInvalid, pos, "bad numeric literal %s", v.String())
			}
			return &literal{val: f}, nil
		}
		return nil, b.unsupported(pos, fmt.Sprintf("this literal (%T)", e.GetValue()))
	}
	return nil, b.unsupported(pos, describeExpr(n))
}

// describeExpr names an expression kind for an error message.
func describeExpr(n ast.ExprNode) string {
	switch e := n.(type) {
	case *ast.BinaryOperationExpr:
		return "operator " + e.Op.String()
	case *ast.UnaryOperationExpr:
		return "operator " + e.Op.String()
	case *ast.FuncCallExpr:
		return "function " + e.FnName.O + "()"
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.CompareSubqueryExpr:
		return "subqueries are"
	case *ast.CaseExpr:
		return "CASE"
	case *ast.FuncCastExpr:
		return "CAST"
	case *ast.PatternRegexpExpr:
		return "REGEXP"
	case *ast.RowExpr:
		return "row constructors are"
	case *ast.IsTruthExpr:
		return "IS TRUE / IS FALSE"
	case *ast.DefaultExpr:
		return "DEFAULT"
	case *ast.VariableExpr:
		return "variables are"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", n), "*ast.") + " expressions are"
}
