package planner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

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

	// The relation in scope: its columns by ordinal and the names it answers to.
	cols       []relColumn
	qualifiers []string
	detect     *detectNode
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

// bindStatement binds a statement into a logical plan.
func (b *binder) bindStatement(stmt ast.StmtNode) (logicalNode, error) {
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok {
		first := 0
		if len(b.rw.toks) > 0 {
			first = b.rw.toks[0].pos
		}
		return nil, b.unsupported(first, statementName(stmt)+" statements are")
	}
	return b.bindSelect(sel)
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

func (b *binder) bindSelect(sel *ast.SelectStmt) (logicalNode, error) {
	switch {
	case sel.Kind != ast.SelectStmtKindSelect:
		return nil, b.unsupported(b.rw.toks[0].pos, "VALUES and TABLE statements are")
	case sel.With != nil:
		return nil, b.unsupported(b.kwPos("WITH"), "WITH (common table expressions)")
	case sel.Distinct:
		return nil, b.unsupported(b.kwPos("DISTINCT"), "SELECT DISTINCT")
	case sel.From == nil:
		return nil, b.unsupported(b.rw.toks[0].pos, "SELECT without FROM")
	case sel.SelectIntoOpt != nil:
		return nil, b.unsupported(b.kwPos("INTO"), "SELECT INTO")
	case sel.LockInfo != nil && sel.LockInfo.LockType != ast.SelectLockNone:
		return nil, b.unsupported(b.kwPos("FOR"), "SELECT ... FOR UPDATE")
	case len(sel.TableHints) > 0:
		return nil, b.unsupported(-1, "optimizer hints")
	}
	plan, err := b.bindFrom(sel.From)
	if err != nil {
		return nil, err
	}
	// Clauses that need operators this version does not have yet.
	if sel.GroupBy != nil {
		return nil, b.unsupported(b.kwPos("GROUP"), "GROUP BY")
	}
	if sel.Having != nil {
		return nil, b.unsupported(b.kwPos("HAVING"), "HAVING")
	}
	if len(sel.WindowSpecs) > 0 {
		return nil, b.unsupported(b.kwPos("WINDOW"), "WINDOW")
	}
	if sel.OrderBy != nil {
		pos := -1
		if len(sel.OrderBy.Items) > 0 {
			pos = keywordBefore(b.rw.toks, sel.OrderBy.Items[0].Expr.OriginTextPosition(), "ORDER")
		}
		return nil, b.unsupported(pos, "ORDER BY")
	}
	if sel.Where != nil {
		pred, err := b.bindPredicate(sel.Where)
		if err != nil {
			return nil, err
		}
		plan = &filterNode{input: plan, pred: pred}
	}
	plan, err = b.bindFields(plan, sel.Fields)
	if err != nil {
		return nil, err
	}
	if sel.Limit != nil {
		lim := &limitNode{input: plan, count: -1}
		if lim.count, err = b.bindLimitValue(sel.Limit.Count); err != nil {
			return nil, err
		}
		if sel.Limit.Offset != nil {
			if lim.offset, err = b.bindLimitValue(sel.Limit.Offset); err != nil {
				return nil, err
			}
		}
		plan = lim
	}
	return plan, nil
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

// bindFrom resolves the FROM clause: one table or one detect() call.
func (b *binder) bindFrom(from *ast.TableRefsClause) (logicalNode, error) {
	fromIdx := b.topLevelToken("FROM")
	fromPos := -1
	if fromIdx >= 0 {
		fromPos = b.rw.toks[fromIdx].pos
	}
	join := from.TableRefs
	if join.Right != nil {
		pos := keywordAfter(b.rw.toks, fromPos, "JOIN", "STRAIGHT_JOIN")
		if pos < 0 {
			pos = fromPos
			for _, t := range b.rw.toks {
				if t.pos > fromPos && t.isPunct(",") {
					pos = t.pos
					break
				}
			}
		}
		return nil, b.unsupported(pos, "joins are")
	}
	ts, ok := join.Left.(*ast.TableSource)
	if !ok {
		return nil, b.unsupported(fromPos, "this FROM clause")
	}
	tn, ok := ts.Source.(*ast.TableName)
	if !ok {
		return nil, b.unsupported(fromPos+len("FROM")+1, "subqueries in FROM are")
	}
	// The table name's tokens: the last identifier of the dotted chain after FROM.
	nameIdx := fromIdx + 1
	for nameIdx+2 < len(b.rw.toks) && b.rw.toks[nameIdx+1].isPunct(".") && isIdentTok(b.rw.toks[nameIdx+2]) {
		nameIdx += 2
	}
	nameTok := b.rw.toks[nameIdx]
	var scan *scanNode
	if tf, ok := b.rw.funcs[tn.Name.O]; ok && tn.Schema.O == "" {
		var err error
		scan, err = b.bindDetect(tf)
		if err != nil {
			return nil, err
		}
	} else {
		table, name, err := b.resolveTable(tn.Schema.O, tn.Name.O, nameTok.kind == tokQuotedIdent, nameTok.pos)
		if err != nil {
			return nil, err
		}
		scan = newScanNode(table, tn.Schema.O, name)
		b.qualifiers = []string{name, tn.Name.O}
	}
	if ts.AsName.O != "" {
		b.qualifiers = []string{ts.AsName.O}
	}
	b.cols = scan.cols
	if b.detect != nil {
		b.detect.input = scan
		b.detect.tableCols = len(scan.cols)
		b.cols = append(append([]relColumn(nil), scan.cols...), ruleColumns()...)
		return b.detect, nil
	}
	return scan, nil
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
	e := b.errAt(ErrUnknownTable, pos, "unknown table %s", quoteName(name))
	if s := suggest(name, names); s != "" {
		e.withHint(fmt.Sprintf("did you mean %s?", quoteName(s)))
	}
	return nil, "", e
}

// bindDetect resolves a detect() call: its ruleset and its table.
func (b *binder) bindDetect(tf *tableFunc) (*scanNode, error) {
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
		return nil, e
	}
	schema, name, pos := "", tf.table, tf.tablePos
	if name == "" {
		name, pos = defaultDetectTable, tf.rulesetPos
	} else if i := strings.LastIndexByte(name, '.'); i > 0 {
		schema, name = name[:i], name[i+1:]
		schema = strings.TrimPrefix(schema, catalogName+".")
	}
	table, resolved, err := b.resolveTable(schema, name, false, pos)
	if err != nil {
		return nil, err
	}
	b.detect = &detectNode{ruleset: rs, totalRules: len(rs.Rules)}
	b.qualifiers = []string{"detect", resolved}
	return newScanNode(table, schema, resolved), nil
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

// bindFields binds the select list into a projectNode, or an aggregateNode when it
// holds aggregates.
func (b *binder) bindFields(input logicalNode, fields *ast.FieldList) (logicalNode, error) {
	var aggs []aggCall
	var aggNames []string
	firstPlain := -1
	proj := &projectNode{input: input}
	for _, f := range fields.Fields {
		if f.WildCard != nil {
			if firstPlain < 0 {
				firstPlain = f.Offset
			}
			if q := f.WildCard.Table.O; q != "" && !b.matchesQualifier(q) {
				return nil, b.errAt(ErrUnknownTable, f.Offset, "unknown table %s in %s.*", quoteName(q), q).
					withHint(fmt.Sprintf("the FROM clause names %s", quoteName(b.qualifiers[0])))
			}
			for i, c := range b.cols {
				proj.exprs = append(proj.exprs, &colRef{idx: i, name: c.name, typ: c.typ})
				proj.names = append(proj.names, c.name)
			}
			continue
		}
		name := f.AsName.O
		if name == "" {
			name = strings.TrimSpace(f.Text())
		}
		if agg, ok := f.Expr.(*ast.AggregateFuncExpr); ok {
			call, err := b.bindAggregate(agg)
			if err != nil {
				return nil, err
			}
			aggs = append(aggs, call)
			aggNames = append(aggNames, name)
			continue
		}
		if firstPlain < 0 {
			firstPlain = f.Offset
		}
		e, err := b.bindValue(f.Expr)
		if err != nil {
			return nil, err
		}
		if c, ok := e.(*colRef); ok && f.AsName.O == "" {
			name = c.name
		}
		proj.exprs = append(proj.exprs, e)
		proj.names = append(proj.names, name)
	}
	if len(aggs) == 0 {
		return proj, nil
	}
	if firstPlain >= 0 {
		return nil, b.errAt(ErrInvalid, firstPlain, "a column beside an aggregate needs GROUP BY, which is not supported yet").
			withHint("select only aggregates such as count(*)")
	}
	return &aggregateNode{input: input, aggs: aggs, names: aggNames}, nil
}

// bindAggregate binds count(*) and count(col).
func (b *binder) bindAggregate(agg *ast.AggregateFuncExpr) (aggCall, error) {
	pos := agg.OriginTextPosition()
	if !strings.EqualFold(agg.F, "count") {
		return aggCall{}, b.unsupported(pos, "aggregate function "+strings.ToLower(agg.F)+"()")
	}
	if agg.Distinct {
		return aggCall{}, b.unsupported(pos, "count(DISTINCT ...)")
	}
	if len(agg.Args) != 1 {
		return aggCall{}, b.unsupported(pos, "count() with several arguments")
	}
	switch arg := agg.Args[0].(type) {
	case *test_driver.ValueExpr:
		if arg.GetValue() == nil {
			return aggCall{}, b.unsupported(pos, "count(NULL)")
		}
		return aggCall{}, nil // count(*) and count(<constant>) count rows
	case *ast.ColumnNameExpr:
		c, err := b.resolveColumn(arg)
		if err != nil {
			return aggCall{}, err
		}
		return aggCall{arg: c}, nil
	}
	return aggCall{}, b.unsupported(agg.Args[0].OriginTextPosition(), "count() of an expression")
}

// matchesQualifier reports whether q names the relation in scope.
func (b *binder) matchesQualifier(q string) bool {
	for _, n := range b.qualifiers {
		if n == q || strings.EqualFold(n, q) {
			return true
		}
	}
	return false
}

// resolveColumn resolves a column reference: exact match first, then (unquoted names
// only) a unique case-insensitive match.
func (b *binder) resolveColumn(e *ast.ColumnNameExpr) (*colRef, error) {
	pos := e.OriginTextPosition()
	// Find the column name's own token: the last identifier of the dotted chain.
	idx := tokenIndexAt(b.rw.toks, pos)
	quoted := false
	if idx >= 0 {
		for idx+2 < len(b.rw.toks) && b.rw.toks[idx+1].isPunct(".") && isIdentTok(b.rw.toks[idx+2]) {
			idx += 2
		}
		quoted = b.rw.toks[idx].kind == tokQuotedIdent
	}
	if q := e.Name.Table.O; q != "" && !b.matchesQualifier(q) {
		return nil, b.errAt(ErrUnknownTable, pos, "unknown table %s in column reference %s", quoteName(q), quoteName(q+"."+e.Name.Name.O)).
			withHint(fmt.Sprintf("the FROM clause names %s", quoteName(b.qualifiers[0])))
	}
	namePos := pos
	if idx >= 0 {
		namePos = b.rw.toks[idx].pos
	}
	name := e.Name.Name.O
	var exact, folded []int
	for i, c := range b.cols {
		if c.name == name {
			exact = append(exact, i)
		} else if !quoted && strings.EqualFold(c.name, name) {
			folded = append(folded, i)
		}
	}
	match := exact
	if len(match) == 0 {
		match = folded
	}
	switch len(match) {
	case 1:
		c := b.cols[match[0]]
		return &colRef{idx: match[0], name: c.name, typ: c.typ}, nil
	case 0:
		names := make([]string, len(b.cols))
		for i, c := range b.cols {
			names[i] = c.name
		}
		err := b.errAt(ErrUnknownColumn, namePos, "unknown column %s", quoteName(name))
		if s := suggest(name, names); s != "" {
			err.withHint(fmt.Sprintf("did you mean %s?", quoteName(s)))
		}
		return nil, err
	}
	names := make([]string, len(match))
	for i, m := range match {
		names[i] = b.cols[m].name
	}
	return nil, b.errAt(ErrUnknownColumn, namePos, "column name %s is ambiguous: it matches %s", quoteName(name), quoteList(names)).
		withHint("quote the name to match it exactly")
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

// bindValue binds an expression used as a value: a column, a constant or a predicate.
func (b *binder) bindValue(n ast.ExprNode) (expr, error) {
	switch e := n.(type) {
	case *ast.ParenthesesExpr:
		return b.bindValue(e.Expr)
	case *ast.ColumnNameExpr:
		return b.resolveColumn(e)
	case *test_driver.ValueExpr, *ast.UnaryOperationExpr:
		if lit, err := b.bindLiteral(n); err == nil {
			return lit, nil
		} else if _, isUnary := n.(*ast.UnaryOperationExpr); !isUnary {
			return nil, err
		}
	}
	return b.bindPredicate(n)
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

// ruleColumn returns the rule metadata column a colRef names, or "".
func (b *binder) ruleColumn(c *colRef) string {
	if b.detect == nil || c.idx < len(b.cols)-4 {
		return ""
	}
	return c.name
}
