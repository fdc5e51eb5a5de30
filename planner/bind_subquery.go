package planner

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// inSubquery is x [NOT] IN (SELECT ...) with an uncorrelated subquery. It only lives
// between binding and the end of bindSelect, which turns each top-level WHERE conjunct
// of this kind into a semi (IN) or anti (NOT IN) hash join; anywhere else it is refused.
type inSubquery struct {
	x   expr
	sub logicalNode
	not bool
	pos int
}

func (s *inSubquery) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (s *inSubquery) String() string {
	if s.not {
		return s.x.String() + " NOT IN (subquery)"
	}
	return s.x.String() + " IN (subquery)"
}
func (s *inSubquery) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	panic("BUG: IN (subquery) was not planned as a join")
}

// bindInSubquery binds x [NOT] IN (SELECT one column ...).
func (b *binder) bindInSubquery(e *ast.PatternInExpr) (predicate, error) {
	pos := e.OriginTextPosition()
	if b.agg != nil {
		return nil, b.unsupported(pos, "IN (subquery) in HAVING or the select list")
	}
	x, err := b.bindScalar(e.Expr)
	if err != nil {
		return nil, err
	}
	sq, ok := e.Sel.(*ast.SubqueryExpr)
	if !ok {
		return nil, b.unsupported(e.Sel.OriginTextPosition(), "this IN list")
	}
	sub, err := b.bindResultSet(sq.Query)
	if err != nil {
		return nil, err
	}
	cols := sub.columns()
	if len(cols) != 1 {
		return nil, b.errAt(ErrInvalid, e.Sel.OriginTextPosition(), "the subquery of IN must return one column, not %d", len(cols))
	}
	if !sameClass(kindOf(x.dataType()), kindOf(cols[0].typ)) {
		return nil, b.errAt(ErrType, pos, "cannot compare %s (%s) with the subquery's %s (%s)", x, x.dataType(), quoteName(cols[0].name), cols[0].typ)
	}
	return &inSubquery{x: x, sub: sub, not: e.Not, pos: pos}, nil
}

// planSubqueries turns the top-level IN (subquery) conjuncts of pred into semi/anti
// joins over plan and returns the new plan and the remaining predicate (nil: none).
func (b *binder) planSubqueries(plan logicalNode, pred predicate) (logicalNode, predicate, error) {
	var rest []predicate
	for _, c := range conjuncts(pred) {
		s, ok := c.(*inSubquery)
		if !ok {
			if p := findSubquery(c); p != nil {
				return nil, nil, b.unsupported(p.pos, "IN (subquery) under OR, NOT or in an expression")
			}
			rest = append(rest, c)
			continue
		}
		kind := joinSemi
		if s.not {
			kind = joinAnti
		}
		rc := s.sub.columns()[0]
		plan = &joinNode{left: plan, right: s.sub, kind: kind, lkeys: []expr{s.x},
			rkeys: []expr{&colRef{idx: 0, name: rc.name, typ: rc.typ}}}
	}
	return plan, andAll(rest), nil
}

// findSubquery returns an inSubquery nested in a predicate, or nil.
func findSubquery(p expr) *inSubquery {
	switch x := p.(type) {
	case *inSubquery:
		return x
	case *andExpr:
		if s := findSubquery(x.l); s != nil {
			return s
		}
		return findSubquery(x.r)
	case *orExpr:
		if s := findSubquery(x.l); s != nil {
			return s
		}
		return findSubquery(x.r)
	case *notExpr:
		return findSubquery(x.x)
	case *truthPred:
		return findSubquery(x.x)
	case *scalarPred:
		return findSubquery(x.e)
	case scalar:
		for _, c := range x.children() {
			if s := findSubquery(c); s != nil {
				return s
			}
		}
	}
	return nil
}
