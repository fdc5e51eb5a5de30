package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
)

// typeClass groups Arrow types by how they compare; encodings and widths of one class
// are interchangeable (batches may differ in them), classes never mix.
type typeClass uint8

const (
	classOther typeClass = iota
	classNull
	classBool
	classNumber
	classString
	classTime
)

var classText = [...]string{classOther: "other", classNull: "NULL", classBool: "boolean",
	classNumber: "number", classString: "string", classTime: "timestamp"}

// classOf returns the class of dt.
func classOf(dt arrow.DataType) typeClass {
	switch dt.ID() {
	case arrow.BOOL:
		return classBool
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32,
		arrow.UINT64, arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return classNumber
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return classString
	case arrow.TIMESTAMP:
		return classTime
	case arrow.NULL:
		return classNull
	case arrow.DICTIONARY:
		if c := classOf(dt.(*arrow.DictionaryType).ValueType); c == classString {
			return c
		}
	}
	return classOther
}

// literalClass returns the class of a constant.
func literalClass(l *literal) typeClass {
	switch l.val.(type) {
	case nil:
		return classNull
	case bool:
		return classBool
	case int64, float64:
		return classNumber
	case string:
		return classString
	case time.Time:
		return classTime
	}
	return classOther
}

// describeLiteral names a constant and its kind for an error message.
func describeLiteral(l *literal) string {
	switch l.val.(type) {
	case int64:
		return "integer " + l.String()
	case float64:
		return "number " + l.String()
	case string:
		return "string " + l.String()
	case bool:
		return "boolean " + l.String()
	}
	return l.String()
}

// bindPredicate binds an expression used as a condition.
func (b *binder) bindPredicate(n ast.ExprNode) (predicate, error) {
	pos := n.OriginTextPosition()
	if e, handled, err := b.interceptAggregate(n); handled {
		if err != nil {
			return nil, err
		}
		return b.asCondition(e, pos)
	}
	switch e := n.(type) {
	case *ast.ParenthesesExpr:
		return b.bindPredicate(e.Expr)
	case *ast.BinaryOperationExpr:
		switch e.Op {
		case opcode.LogicAnd, opcode.LogicOr:
			l, err := b.bindPredicate(e.L)
			if err != nil {
				return nil, err
			}
			r, err := b.bindPredicate(e.R)
			if err != nil {
				return nil, err
			}
			if e.Op == opcode.LogicAnd {
				return &andExpr{l: l, r: r}, nil
			}
			return &orExpr{l: l, r: r}, nil
		case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE:
			return b.bindCompare(e)
		}
		if e.Op == opcode.LogicXor {
			opPos := pos
			if i := tokenIndexAt(b.rw.toks, e.R.OriginTextPosition()); i > 0 {
				opPos = b.rw.toks[i-1].pos
			}
			return nil, b.unsupported(opPos, "operator "+strings.ToUpper(e.Op.String()))
		}
	case *ast.UnaryOperationExpr:
		if e.Op == opcode.Not || e.Op == opcode.Not2 {
			x, err := b.bindPredicate(e.V)
			if err != nil {
				return nil, err
			}
			return &notExpr{x: x}, nil
		}
	case *ast.IsNullExpr:
		c, err := b.bindColumnOperand(e.Expr, "IS NULL")
		if err != nil {
			return nil, err
		}
		switch x := c.(type) {
		case *literal:
			return &literal{val: (x.val == nil) != e.Not}, nil
		case *colRef:
			return &isNullExpr{x: x, not: e.Not}, nil
		}
		return &isNullScalar{x: c, not: e.Not}, nil
	case *ast.PatternLikeOrIlikeExpr:
		return b.bindLike(e)
	case *ast.PatternInExpr:
		return b.bindIn(e)
	case *ast.BetweenExpr:
		return b.bindBetween(e)
	case *ast.ColumnNameExpr:
		c, err := b.resolveColumn(e)
		if err != nil {
			return nil, err
		}
		if classOf(c.typ) != classBool {
			return nil, b.errAt(ErrType, pos, "column %s is %s, not boolean: it cannot be a condition", quoteName(c.name), c.typ).
				withHint("compare it, as in " + sqlIdent(c.name) + " = ...")
		}
		return c, nil
	case *test_driver.ValueExpr:
		lit, err := b.bindLiteral(e)
		if err != nil {
			return nil, err
		}
		if c := literalClass(lit); c != classBool && c != classNull {
			return nil, b.errAt(ErrType, pos, "%s is not a condition", describeLiteral(lit))
		}
		return lit, nil
	case *ast.FuncCallExpr:
		if e.FnName.L == "detect" {
			return nil, b.errAt(ErrUnsupported, pos, "detect() is a table function").withHint("use it in FROM: SELECT * FROM detect('ruleset')")
		}
		if e.FnName.L == inlineSigmaFunc {
			return b.bindInlineSigma(e)
		}
	case *ast.PatternRegexpExpr:
		return b.bindRegexp(e)
	case *ast.AggregateFuncExpr:
		return nil, b.errAt(ErrInvalid, pos, "aggregate functions are not allowed in WHERE")
	}
	switch n.(type) {
	case *ast.BinaryOperationExpr, *ast.UnaryOperationExpr:
		// Not a condition operator: only arithmetic is left, which bindScalar binds
		// (and which is not Boolean).
		if be, ok := n.(*ast.BinaryOperationExpr); ok {
			if _, arith := arithOpText[be.Op]; !arith {
				return nil, b.unsupported(pos, "operator "+strings.ToUpper(be.Op.String()))
			}
		}
		if ue, ok := n.(*ast.UnaryOperationExpr); ok && ue.Op != opcode.Minus && ue.Op != opcode.Plus {
			return nil, b.unsupported(pos, "operator "+strings.ToUpper(ue.Op.String()))
		}
	}
	v, err := b.bindScalar(n)
	if err != nil {
		return nil, err
	}
	return b.asCondition(v, pos)
}

// asCondition checks that a bound expression is Boolean and makes it a predicate.
func (b *binder) asCondition(e expr, pos int) (predicate, error) {
	switch k := kindOf(e.dataType()); k {
	case vBool, vNull:
		return asPredicate(e), nil
	}
	return nil, b.errAt(ErrType, pos, "%s is %s, not boolean: it cannot be a condition", e, e.dataType()).
		withHint("compare it, as in " + e.String() + " = ...")
}

// bindColumnOperand binds the operand of a predicate: a column or a constant.
func (b *binder) bindColumnOperand(n ast.ExprNode, context string) (expr, error) {
	_ = context // kept for future messages
	if e, handled, err := b.interceptAggregate(n); handled {
		return e, err
	}
	switch e := n.(type) {
	case *ast.ParenthesesExpr:
		return b.bindColumnOperand(e.Expr, context)
	case *ast.ColumnNameExpr:
		return b.resolveColumn(e)
	case *test_driver.ValueExpr, *test_driver.ParamMarkerExpr:
		return b.bindLiteral(n)
	case *ast.UnaryOperationExpr:
		if e.Op == opcode.Minus || e.Op == opcode.Plus {
			if lit, err := b.bindLiteral(n); err == nil {
				return lit, nil
			}
		}
	}
	return b.bindScalar(n)
}

var astCmpOp = map[opcode.Op]cmpOp{opcode.EQ: opEQ, opcode.NE: opNE, opcode.LT: opLT, opcode.LE: opLE, opcode.GT: opGT, opcode.GE: opGE}

// bindCompare binds l <op> r.
func (b *binder) bindCompare(e *ast.BinaryOperationExpr) (predicate, error) {
	op := astCmpOp[e.Op]
	l, err := b.bindColumnOperand(e.L, cmpOpText[op])
	if err != nil {
		return nil, err
	}
	r, err := b.bindColumnOperand(e.R, cmpOpText[op])
	if err != nil {
		return nil, err
	}
	return b.makeCompare(op, l, r, e.L.OriginTextPosition(), e.R.OriginTextPosition())
}

// makeCompare type-checks and normalises a comparison (column on the left).
func (b *binder) makeCompare(op cmpOp, l, r expr, lpos, rpos int) (predicate, error) {
	ll, lIsLit := l.(*literal)
	rl, rIsLit := r.(*literal)
	if lIsLit && rIsLit {
		return b.foldCompare(op, ll, rl, lpos)
	}
	_, lIsCol := l.(*colRef)
	_, rIsCol := r.(*colRef)
	if !(lIsCol || lIsLit) || !(rIsCol || rIsLit) {
		return b.makeScalarCompare(op, l, r, lpos, rpos)
	}
	if lIsLit {
		l, r, lpos, rpos, op = r, l, rpos, lpos, op.flip()
		rl, rIsLit = ll, true
	}
	col := l.(*colRef)
	cc := classOf(col.typ)
	if rIsLit {
		lc := literalClass(rl)
		switch {
		case lc == classNull:
			b.params.hint(rl.param-1, col.typ)
			return &literal{}, nil // x op NULL is NULL
		case cc == classTime && lc == classString:
			t, err := parseTimestamp(rl.val.(string))
			if err != nil {
				return nil, b.errAt(ErrType, rpos, "cannot read %s as a timestamp for column %s", rl, quoteName(col.name)).
					withHint("write it like '2024-05-01T12:00:00Z' or '2024-05-01 12:00:00'")
			}
			return &cmpExpr{op: op, l: col, r: &literal{val: t}}, nil
		case cc == classOther:
			return nil, b.unsupported(lpos, fmt.Sprintf("comparing column %s of type %s", quoteName(col.name), col.typ))
		case cc != lc:
			return nil, b.errAt(ErrType, lpos, "cannot compare %s column %s (%s) with %s",
				classText[cc], quoteName(col.name), col.typ, describeLiteral(rl)).withHint(typeHint(cc, lc))
		}
		return &cmpExpr{op: op, l: col, r: rl}, nil
	}
	rc := r.(*colRef)
	if rcc := classOf(rc.typ); cc != rcc || cc == classOther {
		if cc == classOther || rcc == classOther {
			return nil, b.unsupported(lpos, fmt.Sprintf("comparing %s with %s", col.typ, rc.typ))
		}
		return nil, b.errAt(ErrType, lpos, "cannot compare %s column %s (%s) with %s column %s (%s)",
			classText[cc], quoteName(col.name), col.typ, classText[rcc], quoteName(rc.name), rc.typ)
	}
	return &cmpExpr{op: op, l: col, r: rc}, nil
}

// typeHint suggests how to fix a class mismatch.
func typeHint(col, lit typeClass) string {
	switch {
	case col == classString && lit == classNumber:
		return "quote the number to compare text: '4688'"
	case col == classNumber && lit == classString:
		return "compare with a number literal without quotes"
	}
	return ""
}

// foldCompare evaluates a comparison of two constants at bind time.
func (b *binder) foldCompare(op cmpOp, l, r *literal, pos int) (predicate, error) {
	lc, rc := literalClass(l), literalClass(r)
	if lc == classNull || rc == classNull {
		return &literal{}, nil
	}
	if lc != rc {
		return nil, b.errAt(ErrType, pos, "cannot compare %s with %s", describeLiteral(l), describeLiteral(r))
	}
	var c int
	switch x := l.val.(type) {
	case string:
		c = strings.Compare(x, r.val.(string))
	case bool:
		c = cmpBool(x, r.val.(bool))
	default:
		c = cmpOrdered(toFloat(l.val), toFloat(r.val))
	}
	return &literal{val: op.holds(c)}, nil
}

func toFloat(v any) float64 {
	if i, ok := v.(int64); ok {
		return float64(i)
	}
	return v.(float64)
}

// timestampLayouts are the accepted forms of a timestamp string literal; without a zone
// the time is UTC.
var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

func parseTimestamp(s string) (time.Time, error) {
	var err error
	for _, layout := range timestampLayouts {
		var t time.Time
		if t, err = time.ParseInLocation(layout, strings.TrimSpace(s), time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// bindLike binds x [NOT] LIKE 'pattern' [ESCAPE 'c'].
func (b *binder) bindLike(e *ast.PatternLikeOrIlikeExpr) (predicate, error) {
	pos := e.OriginTextPosition()
	x, err := b.bindColumnOperand(e.Expr, "LIKE")
	if err != nil {
		return nil, err
	}
	p, err := b.bindColumnOperand(e.Pattern, "LIKE")
	if err != nil {
		return nil, err
	}
	pl, ok := p.(*literal)
	if !ok {
		return nil, b.unsupported(e.Pattern.OriginTextPosition(), "a LIKE pattern that is not a constant")
	}
	if pl.val == nil {
		b.params.hint(pl.param-1, utf8Type)
		return &literal{}, nil
	}
	pattern, ok := pl.val.(string)
	if !ok {
		return nil, b.errAt(ErrType, e.Pattern.OriginTextPosition(), "LIKE pattern must be a string, got %s", describeLiteral(pl))
	}
	escape := rune(e.Escape)
	col, ok := x.(*colRef)
	if !ok || !e.IsLike {
		if xl, isLit := x.(*literal); isLit && xl.val == nil {
			return &literal{}, nil
		}
		if k := kindOf(x.dataType()); k != vStr && k != vNull {
			return nil, b.errAt(ErrType, pos, "LIKE needs a string, but %s is %s", x, x.dataType())
		}
		op := "LIKE"
		if !e.IsLike {
			op, pattern = "ILIKE", strings.ToLower(pattern)
		}
		m, err := compileLike(pattern, escape)
		if err != nil {
			return nil, b.errAt(ErrInvalid, e.Pattern.OriginTextPosition(), "%v", err)
		}
		test := m.match
		if !e.IsLike {
			test = func(s string) bool { return m.match(strings.ToLower(s)) }
		}
		return &matchScalar{x: x, op: op, pat: pattern, not: e.Not, test: test}, nil
	}
	if classOf(col.typ) != classString {
		return nil, b.errAt(ErrType, pos, "LIKE needs a string column, but %s is %s", quoteName(col.name), col.typ)
	}
	m, err := compileLike(pattern, escape)
	if err != nil {
		return nil, b.errAt(ErrInvalid, e.Pattern.OriginTextPosition(), "%v", err)
	}
	return &likeExpr{x: col, pattern: pattern, escape: escape, not: e.Not, m: m}, nil
}

// bindIn binds x [NOT] IN (constants).
func (b *binder) bindIn(e *ast.PatternInExpr) (predicate, error) {
	if e.Sel != nil {
		return b.bindInSubquery(e)
	}
	x, err := b.bindColumnOperand(e.Expr, "IN")
	if err != nil {
		return nil, err
	}
	col, ok := x.(*colRef)
	if !ok || !allLiterals(e.List) {
		return b.bindInScalar(e, x)
	}
	cc := classOf(col.typ)
	if cc != classNumber && cc != classString && cc != classBool {
		return b.bindInScalar(e, x)
	}
	var vals []*literal
	hasNull := false
	for _, item := range e.List {
		v, err := b.bindColumnOperand(item, "IN")
		if err != nil {
			return nil, err
		}
		lit, ok := v.(*literal)
		if !ok {
			return nil, b.unsupported(item.OriginTextPosition(), "IN with column references in the list")
		}
		lc := literalClass(lit)
		if lc == classNull {
			b.params.hint(lit.param-1, col.typ)
			hasNull = true
			continue
		}
		if lc != cc {
			return nil, b.errAt(ErrType, item.OriginTextPosition(), "cannot compare %s column %s (%s) with %s",
				classText[cc], quoteName(col.name), col.typ, describeLiteral(lit)).withHint(typeHint(cc, lc))
		}
		vals = append(vals, lit)
	}
	return newInExpr(col, vals, hasNull, e.Not), nil
}

// bindBetween rewrites x BETWEEN a AND b as x >= a AND x <= b (NOT: x < a OR x > b).
func (b *binder) bindBetween(e *ast.BetweenExpr) (predicate, error) {
	x, err := b.bindColumnOperand(e.Expr, "BETWEEN")
	if err != nil {
		return nil, err
	}
	lo, err := b.bindColumnOperand(e.Left, "BETWEEN")
	if err != nil {
		return nil, err
	}
	hi, err := b.bindColumnOperand(e.Right, "BETWEEN")
	if err != nil {
		return nil, err
	}
	xpos := e.Expr.OriginTextPosition()
	if e.Not {
		l, err := b.makeCompare(opLT, x, lo, xpos, e.Left.OriginTextPosition())
		if err != nil {
			return nil, err
		}
		r, err := b.makeCompare(opGT, x, hi, xpos, e.Right.OriginTextPosition())
		if err != nil {
			return nil, err
		}
		return &orExpr{l: l, r: r}, nil
	}
	l, err := b.makeCompare(opGE, x, lo, xpos, e.Left.OriginTextPosition())
	if err != nil {
		return nil, err
	}
	r, err := b.makeCompare(opLE, x, hi, xpos, e.Right.OriginTextPosition())
	if err != nil {
		return nil, err
	}
	return &andExpr{l: l, r: r}, nil
}
