package planner

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
)

// bindScalar binds any value expression: columns, constants, arithmetic, functions,
// CASE, CAST and conditions used as values.
func (b *binder) bindScalar(n ast.ExprNode) (expr, error) {
	if e, handled, err := b.interceptAggregate(n); handled {
		return e, err
	}
	pos := n.OriginTextPosition()
	switch e := n.(type) {
	case *ast.ParenthesesExpr:
		return b.bindScalar(e.Expr)
	case *ast.ColumnNameExpr:
		return b.resolveColumn(e)
	case *test_driver.ValueExpr, *test_driver.ParamMarkerExpr:
		return b.bindLiteral(n)
	case *ast.UnaryOperationExpr:
		switch e.Op {
		case opcode.Minus, opcode.Plus:
			if lit, err := b.bindLiteral(n); err == nil {
				return lit, nil
			}
			x, err := b.bindScalar(e.V)
			if err != nil {
				return nil, err
			}
			if k := kindOf(x.dataType()); k != vInt && k != vFloat && k != vNull {
				return nil, b.errAt(ErrType, pos, "cannot negate %s (%s)", x, x.dataType())
			}
			if e.Op == opcode.Plus {
				return x, nil
			}
			return b.arith("-", &literal{val: int64(0)}, x, pos)
		case opcode.Not, opcode.Not2:
			return b.bindPredicate(n)
		}
	case *ast.BinaryOperationExpr:
		switch e.Op {
		case opcode.Plus, opcode.Minus, opcode.Mul, opcode.Div, opcode.IntDiv, opcode.Mod:
			l, err := b.bindScalar(e.L)
			if err != nil {
				return nil, err
			}
			r, err := b.bindScalar(e.R)
			if err != nil {
				return nil, err
			}
			return b.arith(arithOpText[e.Op], l, r, pos)
		case opcode.LogicAnd, opcode.LogicOr, opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE:
			return b.bindPredicate(n)
		}
		return nil, b.unsupported(pos, "operator "+strings.ToUpper(e.Op.String()))
	case *ast.IsNullExpr, *ast.PatternLikeOrIlikeExpr, *ast.PatternInExpr, *ast.BetweenExpr, *ast.PatternRegexpExpr:
		return b.bindPredicate(n)
	case *ast.IsTruthExpr:
		x, err := b.bindPredicate(e.Expr)
		if err != nil {
			return nil, err
		}
		// x IS TRUE / IS FALSE is never NULL; IS NOT TRUE is NOT (x IS TRUE).
		want := e.True != 0
		var p predicate = &truthPred{x: x, want: want}
		if e.Not {
			p = &notExpr{x: p}
		}
		return p, nil
	case *ast.FuncCallExpr:
		return b.bindFunc(e)
	case *ast.CaseExpr:
		return b.bindCase(e)
	case *ast.FuncCastExpr:
		return nil, b.unsupported(pos, "this CAST target type")
	case *ast.AggregateFuncExpr:
		return nil, b.errAt(ErrInvalid, pos, "aggregate function %s() is not allowed here", strings.ToLower(e.F))
	}
	return nil, b.unsupported(pos, describeExpr(n))
}

var arithOpText = map[opcode.Op]string{opcode.Plus: "+", opcode.Minus: "-", opcode.Mul: "*", opcode.Div: "/", opcode.IntDiv: "DIV", opcode.Mod: "%"}

// arith binds an arithmetic operator. `/` always divides as DOUBLE (like MySQL and
// DuckDB); DIV is integer division; a zero divisor gives NULL for DIV and %.
func (b *binder) arith(op string, l, r expr, pos int) (expr, error) {
	// A placeholder operand takes the other operand's type (a number).
	for _, pair := range [][2]expr{{l, r}, {r, l}} {
		if lit, ok := pair[0].(*literal); ok && lit.param > 0 {
			t := pair[1].dataType()
			if k := kindOf(t); k != vInt && k != vFloat {
				t = arrow.PrimitiveTypes.Float64
			}
			b.params.hint(lit.param-1, t)
		}
	}
	lk, rk := kindOf(l.dataType()), kindOf(r.dataType())
	isNum := func(k vkind) bool { return k == vInt || k == vFloat || k == vNull }
	if !isNum(lk) || !isNum(rk) {
		return nil, b.errAt(ErrType, pos, "operator %s needs numbers, but got %s (%s) and %s (%s)", op, l, l.dataType(), r, r.dataType()).
			withHint("CAST text to a number first; for timestamps use INTERVAL arithmetic or date_trunc")
	}
	typ := arrow.DataType(arrow.PrimitiveTypes.Int64)
	if lk == vFloat || rk == vFloat || op == "/" {
		typ = arrow.PrimitiveTypes.Float64
	}
	if op == "DIV" {
		typ = arrow.PrimitiveTypes.Int64
	}
	fe := &funcExpr{name: op, infix: true, args: []expr{l, r}, typ: typ, fn: arithKernel(op, typ)}
	return foldConstant(fe), nil
}

// foldConstant evaluates an expression whose operands are all constants.
func foldConstant(e expr) (out expr) {
	s, ok := e.(scalar)
	if !ok {
		return e
	}
	for _, c := range s.children() {
		if _, isLit := c.(*literal); !isLit {
			return e
		}
	}
	if f, ok := e.(*funcExpr); ok && f.name == "now" {
		return e
	}
	defer func() {
		if recover() != nil {
			out = e // a failing constant fails at execution instead
		}
	}()
	v := s.eval(&batch{n: 1}, []int32{0})
	val := v.value(0)
	if val == nil {
		return &literal{}
	}
	if t, ok := val.(time.Time); ok {
		return &literal{val: t}
	}
	return &literal{val: val}
}

// makeScalarCompare binds a comparison where a side is a computed expression.
func (b *binder) makeScalarCompare(op cmpOp, l, r expr, lpos, rpos int) (predicate, error) {
	lk, rk := kindOf(l.dataType()), kindOf(r.dataType())
	// A string constant against a timestamp is read as a timestamp.
	if lk == vTime && rk == vStr {
		if lit, ok := r.(*literal); ok {
			t, err := parseTimestamp(lit.val.(string))
			if err != nil {
				return nil, b.errAt(ErrType, rpos, "cannot read %s as a timestamp", lit)
			}
			r, rk = &literal{val: t}, vTime
		}
	}
	if rk == vTime && lk == vStr {
		if lit, ok := l.(*literal); ok {
			t, err := parseTimestamp(lit.val.(string))
			if err != nil {
				return nil, b.errAt(ErrType, lpos, "cannot read %s as a timestamp", lit)
			}
			l, lk = &literal{val: t}, vTime
		}
	}
	if lit, ok := r.(*literal); ok && lit.val == nil {
		b.params.hint(lit.param-1, l.dataType())
		return &literal{}, nil
	}
	if lit, ok := l.(*literal); ok && lit.val == nil {
		b.params.hint(lit.param-1, r.dataType())
		return &literal{}, nil
	}
	if !sameClass(lk, rk) {
		return nil, b.errAt(ErrType, lpos, "cannot compare %s (%s) with %s (%s)", l, l.dataType(), r, r.dataType()).
			withHint("CAST one side to the other's type")
	}
	return &cmpScalar{op: op, l: l, r: r}, nil
}

// sameClass reports whether values of the two kinds compare (numbers mix).
func sameClass(a, b vkind) bool {
	num := func(k vkind) bool { return k == vInt || k == vFloat }
	return a == b || a == vNull || b == vNull || num(a) && num(b)
}

// allLiterals reports whether every item is a constant.
func allLiterals(items []ast.ExprNode) bool {
	for _, it := range items {
		for {
			p, ok := it.(*ast.ParenthesesExpr)
			if !ok {
				break
			}
			it = p.Expr // a bound parameter is a parenthesised literal
		}
		switch x := it.(type) {
		case *test_driver.ValueExpr, *test_driver.ParamMarkerExpr:
		case *ast.UnaryOperationExpr:
			if _, ok := x.V.(*test_driver.ValueExpr); !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// bindInScalar binds x [NOT] IN (list) over general expressions.
func (b *binder) bindInScalar(e *ast.PatternInExpr, x expr) (predicate, error) {
	xk := kindOf(x.dataType())
	var list []expr
	for _, item := range e.List {
		v, err := b.bindScalar(item)
		if err != nil {
			return nil, err
		}
		if lit, ok := v.(*literal); ok {
			if lit.val == nil {
				b.params.hint(lit.param-1, x.dataType())
			} else if s, isStr := lit.val.(string); isStr && xk == vTime {
				t, err := parseTimestamp(s)
				if err != nil {
					return nil, b.errAt(ErrType, item.OriginTextPosition(), "cannot read %s as a timestamp", lit)
				}
				v = &literal{val: t}
			}
		}
		if !sameClass(xk, kindOf(v.dataType())) {
			return nil, b.errAt(ErrType, item.OriginTextPosition(), "cannot compare %s (%s) with %s (%s)", x, x.dataType(), v, v.dataType())
		}
		list = append(list, v)
	}
	return &inScalar{x: x, list: list, not: e.Not}, nil
}

// bindRegexp binds x [NOT] REGEXP 'pattern' (RE2 syntax, unanchored, case-sensitive).
func (b *binder) bindRegexp(e *ast.PatternRegexpExpr) (predicate, error) {
	x, err := b.bindScalar(e.Expr)
	if err != nil {
		return nil, err
	}
	p, err := b.bindScalar(e.Pattern)
	if err != nil {
		return nil, err
	}
	return b.regexpMatch(x, p, e.Not, e.Pattern.OriginTextPosition())
}

func (b *binder) regexpMatch(x, p expr, not bool, ppos int) (predicate, error) {
	lit, ok := p.(*literal)
	if !ok {
		return nil, b.unsupported(ppos, "a regular expression that is not a constant")
	}
	if lit.val == nil {
		b.params.hint(lit.param-1, utf8Type)
		return &literal{}, nil
	}
	pat, ok := lit.val.(string)
	if !ok {
		return nil, b.errAt(ErrType, ppos, "a regular expression must be a string, got %s", describeLiteral(lit))
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, b.errAt(ErrInvalid, ppos, "bad regular expression %s: %v", sqlString(pat), err)
	}
	if k := kindOf(x.dataType()); k != vStr && k != vNull {
		return nil, b.errAt(ErrType, ppos, "REGEXP needs a string, but %s is %s", x, x.dataType())
	}
	return &matchScalar{x: x, op: "REGEXP", pat: pat, not: not, test: re.MatchString}, nil
}

// bindCase binds CASE [operand] WHEN ... THEN ... [ELSE ...] END.
func (b *binder) bindCase(e *ast.CaseExpr) (expr, error) {
	c := &caseExpr{}
	var operand expr
	if e.Value != nil {
		var err error
		if operand, err = b.bindScalar(e.Value); err != nil {
			return nil, err
		}
	}
	var resultType arrow.DataType = arrow.Null
	unify := func(v expr, pos int) error {
		t, ok := unifyTypes(resultType, v.dataType())
		if !ok {
			return b.errAt(ErrType, pos, "CASE branches have different types: %s and %s", canonicalType(resultType), canonicalType(v.dataType()))
		}
		resultType = t
		return nil
	}
	for _, w := range e.WhenClauses {
		var cond expr
		var err error
		if operand != nil {
			v, err := b.bindScalar(w.Expr)
			if err != nil {
				return nil, err
			}
			if cond, err = b.makeScalarCompare(opEQ, operand, v, e.Value.OriginTextPosition(), w.Expr.OriginTextPosition()); err != nil {
				return nil, err
			}
		} else if cond, err = b.bindPredicate(w.Expr); err != nil {
			return nil, err
		}
		then, err := b.bindScalar(w.Result)
		if err != nil {
			return nil, err
		}
		if err := unify(then, w.Result.OriginTextPosition()); err != nil {
			return nil, err
		}
		c.whens = append(c.whens, cond)
		c.thens = append(c.thens, then)
	}
	if e.ElseClause != nil {
		els, err := b.bindScalar(e.ElseClause)
		if err != nil {
			return nil, err
		}
		if err := unify(els, e.ElseClause.OriginTextPosition()); err != nil {
			return nil, err
		}
		c.els = els
	}
	if resultType.ID() == arrow.NULL {
		resultType = arrow.BinaryTypes.String
	}
	c.typ = resultType
	return c, nil
}

// describeType names a type for messages.
func describeType(dt arrow.DataType) string { return fmt.Sprint(canonicalType(dt)) }

// truthPred is x IS TRUE (want) or x IS FALSE: TRUE where x is want, FALSE elsewhere
// (also where x is NULL).
type truthPred struct {
	x    predicate
	want bool
}

func (t *truthPred) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (t *truthPred) String() string {
	if t.want {
		return t.x.String() + " IS TRUE"
	}
	return t.x.String() + " IS FALSE"
}
func (t *truthPred) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	hit := t.x.selectRows(b, sel, t.want, nil)
	if want {
		return append(out, hit...)
	}
	j := 0
	for _, r := range sel {
		if j < len(hit) && hit[j] == r {
			j++
			continue
		}
		out = append(out, r)
	}
	return out
}
