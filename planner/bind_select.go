package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
)

// scopeCol is a column of the relation in scope and the qualifiers (table names and
// aliases) it answers to.
type scopeCol struct {
	relColumn
	quals []string
}

// scopeOf builds the scope of a node's output, every column answering to quals.
func scopeOf(n logicalNode, quals ...string) []scopeCol {
	cols := n.columns()
	out := make([]scopeCol, len(cols))
	for i, c := range cols {
		out[i] = scopeCol{relColumn: c, quals: quals}
	}
	return out
}

// aggScope is the state of an aggregating SELECT while its select list, HAVING and
// ORDER BY are bound: expressions are matched against the GROUP BY keys and aggregate
// calls are collected; both become references to the aggregate node's output (keys
// first, then aggregates).
type aggScope struct {
	input    []scopeCol
	keys     []expr
	keyNames []string
	aggs     []aggCall
}

// bindStatement binds a statement into a logical plan.
func (b *binder) bindStatement(stmt ast.StmtNode) (logicalNode, error) {
	switch s := stmt.(type) {
	case *ast.SelectStmt:
		return b.bindSelect(s)
	case *ast.SetOprStmt:
		return b.bindSetOpr(s)
	}
	first := 0
	if len(b.rw.toks) > 0 {
		first = b.rw.toks[0].pos
	}
	return nil, b.unsupported(first, statementName(stmt)+" statements are")
}

// bindResultSet binds a query expression used as a subquery or CTE, in a fresh scope.
func (b *binder) bindResultSet(n ast.ResultSetNode) (logicalNode, error) {
	savedScope, savedAgg := b.scope, b.agg
	defer func() { b.scope, b.agg = savedScope, savedAgg }()
	b.scope, b.agg = nil, nil
	if err := b.ctx.Err(); err != nil {
		return nil, fmt.Errorf("plan query: %w", err)
	}
	b.depth++
	defer func() { b.depth-- }()
	if b.depth > maxQueryDepth {
		return nil, b.errAt(ErrUnsupported, -1, "queries nested deeper than %d levels are not supported", maxQueryDepth)
	}
	switch q := n.(type) {
	case *ast.SelectStmt:
		return b.bindSelect(q)
	case *ast.SetOprStmt:
		return b.bindSetOpr(q)
	case *ast.SubqueryExpr:
		return b.bindResultSet(q.Query)
	}
	return nil, b.unsupported(-1, fmt.Sprintf("%T as a query", n))
}

func (b *binder) bindSelect(sel *ast.SelectStmt) (logicalNode, error) {
	switch {
	case sel.Kind != ast.SelectStmtKindSelect:
		return nil, b.unsupported(b.rw.toks[0].pos, "VALUES and TABLE statements are")
	case sel.SelectIntoOpt != nil:
		return nil, b.unsupported(b.kwPos("INTO"), "SELECT INTO")
	case sel.LockInfo != nil && sel.LockInfo.LockType != ast.SelectLockNone:
		return nil, b.unsupported(b.kwPos("FOR"), "SELECT ... FOR UPDATE")
	case len(sel.TableHints) > 0:
		return nil, b.unsupported(-1, "optimizer hints")
	case len(sel.WindowSpecs) > 0:
		return nil, b.unsupported(b.kwPos("WINDOW"), "WINDOW")
	}
	if sel.With != nil {
		if err := b.pushCTEs(sel.With); err != nil {
			return nil, err
		}
		defer func() { b.ctes = b.ctes[:len(b.ctes)-1] }()
	}
	var plan logicalNode = &valuesNode{}
	b.scope = nil
	if sel.From != nil {
		var err error
		plan, b.scope, err = b.bindTableRef(sel.From.TableRefs)
		if err != nil {
			return nil, err
		}
	}
	if sel.Where != nil {
		if pos := findAggregate(sel.Where); pos >= 0 {
			return nil, b.errAt(ErrInvalid, pos, "aggregate functions are not allowed in WHERE").withHint("use HAVING")
		}
		pred, err := b.bindPredicate(sel.Where)
		if err != nil {
			return nil, err
		}
		if plan, pred, err = b.planSubqueries(plan, pred); err != nil {
			return nil, err
		}
		if pred != nil {
			plan = &filterNode{input: plan, pred: pred}
		}
	}
	aggregating := sel.GroupBy != nil || sel.Having != nil
	for _, f := range sel.Fields.Fields {
		if f.Expr != nil && findAggregate(f.Expr) >= 0 {
			aggregating = true
		}
	}
	if sel.OrderBy != nil {
		for _, it := range sel.OrderBy.Items {
			if findAggregate(it.Expr) >= 0 {
				aggregating = true
			}
		}
	}
	var agg *aggregateNode
	if aggregating {
		var err error
		if agg, err = b.startAggregate(plan, sel); err != nil {
			return nil, err
		}
		plan = agg
	}
	// The select list.
	proj := &projectNode{input: plan}
	for _, f := range sel.Fields.Fields {
		if f.WildCard != nil {
			if b.agg != nil {
				return nil, b.errAt(ErrInvalid, f.Offset, "SELECT * cannot be used with GROUP BY or aggregates").
					withHint("list the grouped columns")
			}
			q := f.WildCard.Table.O
			found := false
			for i, c := range b.scope {
				if q != "" && !hasQual(c.quals, q) {
					continue
				}
				found = true
				proj.exprs = append(proj.exprs, &colRef{idx: i, name: c.name, typ: c.typ})
				proj.names = append(proj.names, c.name)
			}
			if !found && q != "" {
				return nil, b.errAt(ErrUnknownTable, f.Offset, "unknown table %s in %s.*", quoteName(q), q)
			}
			continue
		}
		e, err := b.bindScalar(f.Expr)
		if err != nil {
			return nil, err
		}
		if sq := findSubquery(e); sq != nil {
			return nil, b.unsupported(sq.pos, "IN (subquery) in the select list")
		}
		name := f.AsName.O
		if name == "" {
			if c, ok := f.Expr.(*ast.ColumnNameExpr); ok {
				name = c.Name.Name.O
				if ref, ok := e.(*colRef); ok && strings.EqualFold(ref.name, name) {
					name = ref.name
				}
			} else {
				name = b.fieldText(f)
			}
		}
		proj.exprs = append(proj.exprs, e)
		proj.names = append(proj.names, name)
	}
	if sel.Having != nil {
		pred, err := b.bindPredicate(sel.Having.Expr)
		if err != nil {
			return nil, err
		}
		proj.input = &filterNode{input: plan, pred: pred}
	}
	visible := len(proj.exprs)
	// ORDER BY keys: output ordinals, output names, or expressions (added as hidden
	// output columns when not already selected).
	var keys []sortKey
	if sel.OrderBy != nil {
		var err error
		if keys, err = b.bindOrderBy(sel.OrderBy, proj, sel.Fields, sel.Distinct); err != nil {
			return nil, err
		}
	}
	if agg != nil {
		b.finishAggregate(agg)
	}
	var out logicalNode = proj
	if sel.Distinct {
		out = distinctOver(out)
	}
	if len(keys) > 0 {
		out = &sortNode{input: out, keys: keys, limit: -1}
	}
	out, err := b.bindLimit(out, sel.Limit)
	if err != nil {
		return nil, err
	}
	if len(proj.exprs) > visible {
		out = trimColumns(out, visible)
	}
	return out, nil
}

// fieldText returns the user's text of a select field, for its output name.
func (b *binder) fieldText(f *ast.SelectField) string {
	txt := f.Text()
	if off := f.Offset; off >= 0 && off+len(txt) <= len(b.sql) && b.rw.sql[off:off+len(txt)] == txt {
		txt = b.sql[off : off+len(txt)]
	}
	return strings.TrimSpace(txt)
}

// distinctOver groups n by all its columns.
func distinctOver(n logicalNode) logicalNode {
	cols := n.columns()
	agg := &aggregateNode{input: n, distinct: true}
	for i, c := range cols {
		agg.keys = append(agg.keys, &colRef{idx: i, name: c.name, typ: c.typ})
		agg.keyNames = append(agg.keyNames, c.name)
	}
	return agg
}

// trimColumns projects the first n columns of in.
func trimColumns(in logicalNode, n int) logicalNode {
	cols := in.columns()
	p := &projectNode{input: in}
	for i := 0; i < n; i++ {
		p.exprs = append(p.exprs, &colRef{idx: i, name: cols[i].name, typ: cols[i].typ})
		p.names = append(p.names, cols[i].name)
	}
	return p
}

// bindLimit adds LIMIT/OFFSET above n, and turns a Sort directly below into a top-N.
func (b *binder) bindLimit(n logicalNode, l *ast.Limit) (logicalNode, error) {
	if l == nil {
		return n, nil
	}
	lim := &limitNode{input: n, count: -1}
	var err error
	if l.Count != nil {
		if lim.count, err = b.bindLimitValue(l.Count); err != nil {
			return nil, err
		}
	}
	if l.Offset != nil {
		if lim.offset, err = b.bindLimitValue(l.Offset); err != nil {
			return nil, err
		}
	}
	if s, ok := n.(*sortNode); ok && lim.count >= 0 {
		s.limit = lim.count + lim.offset
	}
	return lim, nil
}

// hasQual reports whether q is one of quals (case-insensitively).
func hasQual(quals []string, q string) bool {
	for _, n := range quals {
		if strings.EqualFold(n, q) {
			return true
		}
	}
	return false
}

// startAggregate binds GROUP BY and enters aggregate mode.
func (b *binder) startAggregate(input logicalNode, sel *ast.SelectStmt) (*aggregateNode, error) {
	as := &aggScope{input: b.scope}
	if sel.GroupBy != nil {
		for _, it := range sel.GroupBy.Items {
			if it.Desc {
				return nil, b.unsupported(it.Expr.OriginTextPosition(), "GROUP BY ... DESC")
			}
			n := b.resolveSelectRef(it.Expr, sel.Fields)
			if pos := findAggregate(n); pos >= 0 {
				return nil, b.errAt(ErrInvalid, pos, "aggregate functions are not allowed in GROUP BY")
			}
			k, err := b.bindScalar(n)
			if err != nil {
				return nil, err
			}
			name := k.String()
			if c, ok := k.(*colRef); ok {
				name = c.name
			}
			as.keys = append(as.keys, k)
			as.keyNames = append(as.keyNames, name)
		}
	}
	b.agg = as
	return &aggregateNode{input: input}, nil
}

// finishAggregate fills the aggregate node from the collected keys and calls and leaves
// aggregate mode: the scope becomes the aggregate's output.
func (b *binder) finishAggregate(agg *aggregateNode) {
	as := b.agg
	agg.keys, agg.keyNames = as.keys, as.keyNames
	agg.aggs = as.aggs
	for _, a := range as.aggs {
		agg.names = append(agg.names, a.String())
	}
	b.agg = nil
	b.scope = scopeOf(agg)
}

// resolveSelectRef resolves a GROUP BY item that names a select-list entry: a positive
// integer (its ordinal) or an alias that is not a column of the input.
func (b *binder) resolveSelectRef(n ast.ExprNode, fields *ast.FieldList) ast.ExprNode {
	switch x := n.(type) {
	case *ast.PositionExpr:
		if x.N >= 1 && x.N <= len(fields.Fields) && fields.Fields[x.N-1].Expr != nil {
			return fields.Fields[x.N-1].Expr
		}
	case *test_driver.ValueExpr:
		if i, ok := x.GetValue().(int64); ok && i >= 1 && int(i) <= len(fields.Fields) && fields.Fields[i-1].Expr != nil {
			return fields.Fields[i-1].Expr
		}
	case *ast.ColumnNameExpr:
		if x.Name.Table.O != "" {
			return n
		}
		for _, c := range b.scope {
			if strings.EqualFold(c.name, x.Name.Name.O) {
				return n // a column of the input wins over an alias
			}
		}
		for _, f := range fields.Fields {
			if f.AsName.O != "" && strings.EqualFold(f.AsName.O, x.Name.Name.O) && f.Expr != nil {
				return f.Expr
			}
		}
	}
	return n
}

// interceptAggregate binds n in aggregate mode when n is an aggregate call or matches
// a GROUP BY key; handled is false when n must be bound structurally (its operands
// will be intercepted in turn).
func (b *binder) interceptAggregate(n ast.ExprNode) (e expr, handled bool, err error) {
	as := b.agg
	if as == nil {
		return nil, false, nil
	}
	switch x := n.(type) {
	case *ast.ParenthesesExpr:
		return nil, false, nil
	case *test_driver.ValueExpr, *test_driver.ParamMarkerExpr:
		return nil, false, nil
	case *ast.WindowFuncExpr:
		return nil, true, b.unsupported(x.OriginTextPosition(), "window functions are")
	case *ast.AggregateFuncExpr:
		b.agg = nil
		savedScope := b.scope
		b.scope = as.input
		call, err := b.bindAggCall(x)
		b.agg, b.scope = as, savedScope
		if err != nil {
			return nil, true, err
		}
		for i, a := range as.aggs {
			if a.String() == call.String() {
				return &colRef{idx: len(as.keys) + i, name: a.String(), typ: a.typ}, true, nil
			}
		}
		as.aggs = append(as.aggs, call)
		return &colRef{idx: len(as.keys) + len(as.aggs) - 1, name: call.String(), typ: call.typ}, true, nil
	}
	// Does n equal a GROUP BY key?
	b.agg = nil
	savedScope := b.scope
	b.scope = as.input
	trial, terr := b.bindScalar(n)
	b.agg, b.scope = as, savedScope
	if terr == nil {
		for i, k := range as.keys {
			if k.String() == trial.String() {
				return &colRef{idx: i, name: as.keyNames[i], typ: canonicalType(k.dataType())}, true, nil
			}
		}
	}
	if c, ok := n.(*ast.ColumnNameExpr); ok {
		if terr != nil {
			return nil, true, terr
		}
		return nil, true, b.errAt(ErrInvalid, c.OriginTextPosition(), "column %s must appear in GROUP BY or be used in an aggregate function", quoteName(c.Name.Name.O))
	}
	return nil, false, nil
}

// bindAggCall binds an aggregate function call over the input scope.
func (b *binder) bindAggCall(agg *ast.AggregateFuncExpr) (aggCall, error) {
	pos := agg.OriginTextPosition()
	fn := strings.ToLower(agg.F)
	for _, a := range agg.Args {
		if p := findAggregate(a); p >= 0 {
			return aggCall{}, b.errAt(ErrInvalid, p, "aggregate function calls cannot be nested")
		}
	}
	switch fn {
	case "count", "sum", "min", "max", "avg":
	default:
		return aggCall{}, b.unsupported(pos, "aggregate function "+fn+"()")
	}
	if len(agg.Args) != 1 {
		return aggCall{}, b.unsupported(pos, fn+"() with several arguments")
	}
	if fn == "count" && !agg.Distinct {
		if v, ok := agg.Args[0].(*test_driver.ValueExpr); ok && v.GetValue() != nil {
			return aggCall{fn: "count", typ: arrow.PrimitiveTypes.Int64}, nil // count(*), count(1)
		}
	}
	arg, err := b.bindScalar(agg.Args[0])
	if err != nil {
		return aggCall{}, err
	}
	call := aggCall{fn: fn, arg: arg, distinct: agg.Distinct}
	k := kindOf(arg.dataType())
	switch fn {
	case "count":
		call.typ = arrow.PrimitiveTypes.Int64
	case "sum", "avg":
		if k != vInt && k != vFloat && k != vNull {
			return aggCall{}, b.errAt(ErrType, agg.Args[0].OriginTextPosition(), "%s() needs a number, but %s is %s", fn, arg, arg.dataType())
		}
		call.typ = arrow.PrimitiveTypes.Float64
		if fn == "sum" && k == vInt {
			call.typ = arrow.PrimitiveTypes.Int64
		}
	default:
		call.typ = kindType[k]
		if k == vNull {
			call.typ = arrow.BinaryTypes.String
		}
	}
	return call, nil
}

// bindOrderBy binds ORDER BY items over the select list; expressions not in it are
// appended to proj as hidden columns.
func (b *binder) bindOrderBy(ob *ast.OrderByClause, proj *projectNode, fields *ast.FieldList, distinct bool) ([]sortKey, error) {
	var keys []sortKey
	for idx, it := range ob.Items {
		k := sortKey{desc: it.Desc}
		end := len(b.sql)
		if idx+1 < len(ob.Items) {
			end = ob.Items[idx+1].Expr.OriginTextPosition()
		}
		for _, m := range b.rw.nulls {
			if m.pos > it.Expr.OriginTextPosition() && m.pos < end {
				k.nullsFirst = m.first
			}
		}
		out := -1
		switch x := it.Expr.(type) {
		case *ast.PositionExpr:
			if x.N < 1 || x.N > len(fields.Fields) {
				return nil, b.errAt(ErrInvalid, b.orderItemPos(it), "ORDER BY position %d is not in the select list (1 to %d)", x.N, len(fields.Fields))
			}
			out = x.N - 1
		case *test_driver.ValueExpr:
			if i, ok := x.GetValue().(int64); ok {
				if i < 1 || int(i) > len(fields.Fields) {
					return nil, b.errAt(ErrInvalid, x.OriginTextPosition(), "ORDER BY position %d is not in the select list (1 to %d)", i, len(fields.Fields))
				}
				out = int(i) - 1
			}
		case *ast.ColumnNameExpr:
			if x.Name.Table.O == "" {
				for i, n := range proj.names {
					if n == x.Name.Name.O || strings.EqualFold(n, x.Name.Name.O) {
						out = i
						break
					}
				}
			}
		}
		if out < 0 {
			e, err := b.bindScalar(it.Expr)
			if err != nil {
				return nil, err
			}
			for i, pe := range proj.exprs {
				if pe.String() == e.String() {
					out = i
					break
				}
			}
			if out < 0 {
				if distinct {
					return nil, b.errAt(ErrInvalid, it.Expr.OriginTextPosition(), "for SELECT DISTINCT, ORDER BY expressions must appear in the select list")
				}
				proj.exprs = append(proj.exprs, e)
				proj.names = append(proj.names, "~order"+strconv.Itoa(idx))
				out = len(proj.exprs) - 1
			}
		}
		k.e = &colRef{idx: out, name: proj.names[out], typ: proj.exprs[out].dataType()}
		keys = append(keys, k)
	}
	return keys, nil
}

// findAggregate returns the offset of the first aggregate call in n (not inside a
// subquery), or -1.
func findAggregate(n ast.Node) int {
	v := &aggFinder{pos: -1}
	n.Accept(v)
	return v.pos
}

type aggFinder struct{ pos int }

func (v *aggFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.AggregateFuncExpr:
		if v.pos < 0 {
			v.pos = x.OriginTextPosition()
		}
		return n, true
	case *ast.SubqueryExpr:
		return n, true
	}
	return n, v.pos >= 0
}

func (v *aggFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// bindSetOpr binds UNION [ALL] chains.
func (b *binder) bindSetOpr(s *ast.SetOprStmt) (logicalNode, error) {
	if s.With != nil {
		if err := b.pushCTEs(s.With); err != nil {
			return nil, err
		}
		defer func() { b.ctes = b.ctes[:len(b.ctes)-1] }()
	}
	plan, err := b.bindSetOprList(s.SelectList)
	if err != nil {
		return nil, err
	}
	b.scope = scopeOf(plan)
	if s.OrderBy != nil {
		var keys []sortKey
		cols := plan.columns()
		for idx, it := range s.OrderBy.Items {
			k := sortKey{desc: it.Desc}
			end := len(b.sql)
			if idx+1 < len(s.OrderBy.Items) {
				end = s.OrderBy.Items[idx+1].Expr.OriginTextPosition()
			}
			for _, m := range b.rw.nulls {
				if m.pos > it.Expr.OriginTextPosition() && m.pos < end {
					k.nullsFirst = m.first
				}
			}
			out := -1
			if p, ok := it.Expr.(*ast.PositionExpr); ok && p.N >= 1 && p.N <= len(cols) {
				out = p.N - 1
			}
			if v, ok := it.Expr.(*test_driver.ValueExpr); ok {
				if i, ok := v.GetValue().(int64); ok && i >= 1 && int(i) <= len(cols) {
					out = int(i) - 1
				}
			}
			if out < 0 {
				e, err := b.bindScalar(it.Expr)
				if err != nil {
					return nil, err
				}
				c, ok := e.(*colRef)
				if !ok {
					return nil, b.unsupported(it.Expr.OriginTextPosition(), "ORDER BY expressions over a UNION (use output names or positions) are")
				}
				out = c.idx
			}
			k.e = &colRef{idx: out, name: cols[out].name, typ: cols[out].typ}
			keys = append(keys, k)
		}
		plan = &sortNode{input: plan, keys: keys, limit: -1}
	}
	return b.bindLimit(plan, s.Limit)
}

// bindSetOprList binds the members of a set operation left to right.
func (b *binder) bindSetOprList(l *ast.SetOprSelectList) (logicalNode, error) {
	if l.With != nil {
		if err := b.pushCTEs(l.With); err != nil {
			return nil, err
		}
		defer func() { b.ctes = b.ctes[:len(b.ctes)-1] }()
	}
	var acc logicalNode
	for i, m := range l.Selects {
		var node logicalNode
		var op *ast.SetOprType
		var err error
		switch x := m.(type) {
		case *ast.SelectStmt:
			op = x.AfterSetOperator
			node, err = b.bindResultSet(x)
		case *ast.SetOprSelectList:
			op = x.AfterSetOperator
			node, err = b.bindSetOprList(x)
		default:
			return nil, b.unsupported(-1, fmt.Sprintf("%T in a set operation", m))
		}
		if err != nil {
			return nil, err
		}
		if i == 0 {
			acc = node
			continue
		}
		if op == nil || (*op != ast.Union && *op != ast.UnionAll) {
			return nil, b.unsupported(b.kwPos("INTERSECT")+b.kwPos("EXCEPT")+1, "INTERSECT and EXCEPT are")
		}
		acc, err = b.union(acc, node)
		if err != nil {
			return nil, err
		}
		if *op == ast.Union {
			acc = distinctOver(acc)
		}
	}
	if l.OrderBy != nil || l.Limit != nil {
		return nil, b.unsupported(-1, "ORDER BY/LIMIT inside a parenthesised set operation")
	}
	return acc, nil
}

// union concatenates two relations of the same width, unifying column types.
func (b *binder) union(l, r logicalNode) (logicalNode, error) {
	lc, rc := l.columns(), r.columns()
	if len(lc) != len(rc) {
		return nil, b.errAt(ErrInvalid, b.kwPos("UNION"), "UNION members have different numbers of columns (%d and %d)", len(lc), len(rc))
	}
	cols := make([]relColumn, len(lc))
	for i := range lc {
		t, ok := unifyTypes(lc[i].typ, rc[i].typ)
		if !ok {
			return nil, b.errAt(ErrType, b.kwPos("UNION"), "UNION column %d is %s on one side and %s on the other", i+1, lc[i].typ, rc[i].typ)
		}
		cols[i] = relColumn{name: lc[i].name, typ: t}
	}
	if u, ok := l.(*unionNode); ok {
		// A new node rather than appending in place: l may be a CTE's bound plan,
		// which later references copy.
		return &unionNode{ins: append(append([]logicalNode(nil), u.ins...), r), cols: cols}, nil
	}
	return &unionNode{ins: []logicalNode{l, r}, cols: cols}, nil
}

// unifyTypes returns the common canonical type of two column types.
func unifyTypes(a, b arrow.DataType) (arrow.DataType, bool) {
	ka, kb := kindOf(a), kindOf(b)
	switch {
	case ka == kb:
		return kindType[ka], true
	case ka == vNull:
		return kindType[kb], true
	case kb == vNull:
		return kindType[ka], true
	case (ka == vInt || ka == vFloat) && (kb == vInt || kb == vFloat):
		return arrow.PrimitiveTypes.Float64, true
	}
	return nil, false
}

// orderItemPos returns the offset of an ORDER BY item (TiDB does not position
// PositionExpr): the first token after ORDER BY or after the preceding comma that
// starts it.
func (b *binder) orderItemPos(it *ast.ByItem) int {
	if p := it.Expr.OriginTextPosition(); p > 0 {
		return p
	}
	if i := b.topLevelToken("ORDER"); i >= 0 && i+2 < len(b.rw.toks) {
		return b.rw.toks[i+2].pos
	}
	return -1
}
