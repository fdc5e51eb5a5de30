package planner

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// General scalar expressions: arithmetic, functions, CASE, CAST, generic comparisons.
// They evaluate into dense vecs over a batch's live rows (evalVec). The specialised
// predicate kernels (cmpExpr, likeExpr, inExpr over Arrow arrays) remain the fast path
// for column-versus-constant filters; everything else goes through here.

// evalError is a value error raised inside a kernel (a failed CAST, a bad regular
// expression in a column, an integer overflow): the operator guard turns it into the
// query's error wrapping sentinel (ErrInvalid when nil).
type evalError struct {
	msg      string
	sentinel error
}

func (e *evalError) Error() string { return e.msg }

func evalFail(format string, args ...any) { panic(&evalError{msg: fmt.Sprintf(format, args...)}) }

// evalOverflow raises an integer overflow (ErrOverflow) from a kernel.
func evalOverflow(format string, args ...any) {
	panic(&evalError{msg: fmt.Sprintf(format, args...), sentinel: ErrOverflow})
}

// addInt64 returns x+y and whether it fits an int64.
func addInt64(x, y int64) (int64, bool) {
	s := x + y
	return s, (x^s)&(y^s) >= 0
}

// subInt64 returns x-y and whether it fits an int64.
func subInt64(x, y int64) (int64, bool) {
	d := x - y
	return d, (x^y)&(x^d) >= 0
}

// mulInt64 returns x*y and whether it fits an int64.
func mulInt64(x, y int64) (int64, bool) {
	if x == 0 || y == 0 {
		return 0, true
	}
	p := x * y
	if p/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
		return p, false
	}
	return p, true
}

// scalar is an expression evaluated into a vec.
type scalar interface {
	expr
	// eval returns the expression's values at the rows sel of b (dense, len(sel)).
	eval(b *batch, sel []int32) *vec
	// children returns the operand expressions.
	children() []expr
}

// evalVec evaluates any expression over the rows sel of b.
func evalVec(e expr, b *batch, sel []int32) *vec {
	switch x := e.(type) {
	case *colRef:
		return readVec(b.cols[x.idx], sel, false)
	case *literal:
		return constVec(x.val, len(sel))
	case scalar:
		return x.eval(b, sel)
	case predicate:
		v := newVec(vBool, len(sel))
		v.nulls = make([]bool, len(sel))
		for j := range v.nulls {
			v.nulls[j] = true
		}
		pos := make(map[int32]int, len(sel))
		for j, r := range sel {
			pos[r] = j
		}
		for _, r := range x.selectRows(b, sel, true, nil) {
			j := pos[r]
			v.b[j], v.nulls[j] = true, false
		}
		for _, r := range x.selectRows(b, sel, false, nil) {
			v.nulls[pos[r]] = false
		}
		return v
	}
	panic(fmt.Sprintf("BUG: cannot evaluate %T", e))
}

// funcExpr is a function or operator applied to its arguments, evaluated argument-wise
// by fn (which must handle NULLs itself).
type funcExpr struct {
	name  string
	infix bool // render as (a name b)
	args  []expr
	typ   arrow.DataType
	fn    func(args []*vec, n int) *vec
}

func (f *funcExpr) dataType() arrow.DataType { return f.typ }
func (f *funcExpr) children() []expr         { return f.args }
func (f *funcExpr) String() string {
	parts := make([]string, len(f.args))
	for i, a := range f.args {
		parts[i] = a.String()
	}
	if f.infix && len(parts) == 2 {
		return "(" + parts[0] + " " + f.name + " " + parts[1] + ")"
	}
	if f.infix && len(parts) == 1 {
		return f.name + parts[0]
	}
	return f.name + "(" + strings.Join(parts, ", ") + ")"
}

func (f *funcExpr) eval(b *batch, sel []int32) *vec {
	args := make([]*vec, len(f.args))
	for i, a := range f.args {
		args[i] = evalVec(a, b, sel)
	}
	return f.fn(args, len(sel))
}

// scalarPred makes a Boolean scalar usable as a filter predicate.
type scalarPred struct{ e expr }

func (p *scalarPred) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (p *scalarPred) String() string           { return p.e.String() }
func (p *scalarPred) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	v := evalVec(p.e, b, sel)
	if v.kind == vNull {
		return out
	}
	for j, r := range sel {
		if !v.isNull(j) && v.b[j] == want {
			out = append(out, r)
		}
	}
	return out
}

// caseExpr is CASE [operand] WHEN ... THEN ... [ELSE ...] END; with an operand, each
// WHEN is a value compared for equality, else a condition.
type caseExpr struct {
	whens []expr // conditions (the binder turns operand forms into equalities)
	thens []expr
	els   expr // nil: NULL
	typ   arrow.DataType
}

func (c *caseExpr) dataType() arrow.DataType { return c.typ }
func (c *caseExpr) children() []expr {
	out := append(append([]expr(nil), c.whens...), c.thens...)
	if c.els != nil {
		out = append(out, c.els)
	}
	return out
}
func (c *caseExpr) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	for i := range c.whens {
		b.WriteString(" WHEN " + c.whens[i].String() + " THEN " + c.thens[i].String())
	}
	if c.els != nil {
		b.WriteString(" ELSE " + c.els.String())
	}
	b.WriteString(" END")
	return b.String()
}

func (c *caseExpr) eval(b *batch, sel []int32) *vec {
	k := kindOf(c.typ)
	out := newVec(k, len(sel))
	done := make([]bool, len(sel))
	remaining := len(sel)
	for i := range c.whens {
		if remaining == 0 {
			break
		}
		cond := evalVec(c.whens[i], b, sel)
		then := castVec(evalVec(c.thens[i], b, sel), k)
		for j := range sel {
			if done[j] || cond.kind != vBool || cond.isNull(j) || !cond.b[j] {
				continue
			}
			done[j] = true
			remaining--
			copyRow(out, j, then, j)
		}
	}
	var els *vec
	if c.els != nil && remaining > 0 {
		els = castVec(evalVec(c.els, b, sel), k)
	}
	for j := range sel {
		if done[j] {
			continue
		}
		if els == nil {
			out.setNull(j)
		} else {
			copyRow(out, j, els, j)
		}
	}
	return out
}

// copyRow sets dst[j] = src[k] (same kind).
func copyRow(dst *vec, j int, src *vec, k int) {
	if src.kind == vNull || src.isNull(k) {
		dst.setNull(j)
		return
	}
	switch dst.kind {
	case vBool:
		dst.b[j] = src.b[k]
	case vInt, vTime:
		dst.i[j] = src.i[k]
	case vFloat:
		dst.f[j] = src.float(k)
	case vStr:
		dst.s[j] = src.s[k]
	}
	if dst.nulls != nil {
		dst.nulls[j] = false
	}
}

// castVec converts v to kind k following CAST semantics; a value that cannot be
// converted is a query error.
func castVec(v *vec, k vkind) *vec {
	if v.kind == k {
		return v
	}
	out := newVec(k, v.n)
	if k == vNull {
		return out
	}
	for j := 0; j < v.n; j++ {
		if v.kind == vNull || v.isNull(j) {
			out.setNull(j)
			continue
		}
		switch k {
		case vStr:
			out.s[j] = v.str(j)
		case vFloat:
			switch v.kind {
			case vInt:
				out.f[j] = float64(v.i[j])
			case vBool:
				out.f[j] = b2f(v.b[j])
			case vStr:
				f, err := strconv.ParseFloat(strings.TrimSpace(v.s[j]), 64)
				if err != nil {
					evalFail("cannot cast %s to DOUBLE", sqlString(v.s[j]))
				}
				out.f[j] = f
			default:
				evalFail("cannot cast a timestamp to DOUBLE")
			}
		case vInt:
			switch v.kind {
			case vFloat:
				f := math.RoundToEven(v.f[j])
				if math.IsNaN(f) || math.Abs(f) > 9.2e18 {
					evalFail("cannot cast %v to BIGINT: out of range", v.f[j])
				}
				out.i[j] = int64(f)
			case vBool:
				out.i[j] = int64(b2f(v.b[j]))
			case vStr:
				s := strings.TrimSpace(v.s[j])
				i, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					evalFail("cannot cast %s to BIGINT", sqlString(v.s[j]))
				}
				out.i[j] = i
			case vTime:
				evalFail("cannot cast a timestamp to BIGINT")
			}
		case vBool:
			switch v.kind {
			case vInt:
				out.b[j] = v.i[j] != 0
			case vFloat:
				out.b[j] = v.f[j] != 0
			case vStr:
				bv, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v.s[j])))
				if err != nil {
					evalFail("cannot cast %s to BOOLEAN", sqlString(v.s[j]))
				}
				out.b[j] = bv
			default:
				evalFail("cannot cast a timestamp to BOOLEAN")
			}
		case vTime:
			switch v.kind {
			case vStr:
				t, err := parseTimestamp(v.s[j])
				if err != nil {
					evalFail("cannot cast %s to TIMESTAMP", sqlString(v.s[j]))
				}
				out.i[j] = t.UnixMicro()
			default:
				evalFail("cannot cast a number to TIMESTAMP")
			}
		}
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// mergeNulls returns a NULL mask that is set where any of the vecs is NULL, or nil.
func mergeNulls(n int, vs ...*vec) []bool {
	var out []bool
	for _, v := range vs {
		if v.kind == vNull {
			out = make([]bool, n)
			for j := range out {
				out[j] = true
			}
			return out
		}
		if v.nulls == nil {
			continue
		}
		if out == nil {
			out = make([]bool, n)
		}
		for j, isNull := range v.nulls {
			out[j] = out[j] || isNull
		}
	}
	return out
}

// compareVecs compares a and b row-wise: -1, 0, 1, or 2 for NULL. Kinds must be of one
// class (numbers mix int and float).
func compareRow(a *vec, j int, b *vec, k int) int {
	if a.kind == vNull || b.kind == vNull || a.isNull(j) || b.isNull(k) {
		return 2
	}
	switch {
	case a.kind == vInt && b.kind == vInt, a.kind == vTime && b.kind == vTime:
		return cmpOrdered(a.i[j], b.i[k])
	case a.kind == vStr:
		return strings.Compare(a.s[j], b.s[k])
	case a.kind == vBool:
		return cmpBool(a.b[j], b.b[k])
	}
	return cmpOrdered(a.float(j), b.float(k))
}

// cmpScalar is a comparison between two general expressions of one class.
type cmpScalar struct {
	op   cmpOp
	l, r expr
}

func (c *cmpScalar) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (c *cmpScalar) children() []expr         { return []expr{c.l, c.r} }
func (c *cmpScalar) String() string {
	return "(" + c.l.String() + " " + cmpOpText[c.op] + " " + c.r.String() + ")"
}
func (c *cmpScalar) eval(b *batch, sel []int32) *vec {
	l, r := evalVec(c.l, b, sel), evalVec(c.r, b, sel)
	out := newVec(vBool, len(sel))
	for j := range sel {
		cmp := compareRow(l, j, r, j)
		if cmp == 2 {
			out.setNull(j)
			continue
		}
		out.b[j] = c.op.holds(cmp)
	}
	return out
}
func (c *cmpScalar) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	return (&scalarPred{e: c}).selectRows(b, sel, want, out)
}

// inScalar is x [NOT] IN (e1, e2, ...) over general expressions.
type inScalar struct {
	x    expr
	list []expr
	not  bool
}

func (e *inScalar) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (e *inScalar) children() []expr         { return append([]expr{e.x}, e.list...) }
func (e *inScalar) String() string {
	parts := make([]string, len(e.list))
	for i, l := range e.list {
		parts[i] = l.String()
	}
	s := " IN ("
	if e.not {
		s = " NOT IN ("
	}
	return e.x.String() + s + strings.Join(parts, ", ") + ")"
}
func (e *inScalar) eval(b *batch, sel []int32) *vec {
	x := evalVec(e.x, b, sel)
	items := make([]*vec, len(e.list))
	for i, l := range e.list {
		items[i] = evalVec(l, b, sel)
	}
	out := newVec(vBool, len(sel))
	for j := range sel {
		found, sawNull := false, false
		for _, it := range items {
			switch compareRow(x, j, it, j) {
			case 0:
				found = true
			case 2:
				sawNull = true
			}
			if found {
				break
			}
		}
		switch {
		case found:
			out.b[j] = !e.not
		case sawNull:
			out.setNull(j)
		default:
			out.b[j] = e.not
		}
	}
	return out
}
func (e *inScalar) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	return (&scalarPred{e: e}).selectRows(b, sel, want, out)
}

// matchScalar is x [NOT] LIKE/ILIKE/REGEXP over a general string expression.
type matchScalar struct {
	x    expr
	op   string // "LIKE", "ILIKE", "REGEXP"
	pat  string
	not  bool
	test func(string) bool
}

func (m *matchScalar) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (m *matchScalar) children() []expr         { return []expr{m.x} }
func (m *matchScalar) String() string {
	op := " " + m.op + " "
	if m.not {
		op = " NOT" + op
	}
	return m.x.String() + op + sqlString(m.pat)
}
func (m *matchScalar) eval(b *batch, sel []int32) *vec {
	x := evalVec(m.x, b, sel)
	out := newVec(vBool, len(sel))
	if x.kind == vNull {
		out.nulls = x.nulls
		return out
	}
	for j := range sel {
		if x.isNull(j) {
			out.setNull(j)
			continue
		}
		out.b[j] = m.test(x.str(j)) != m.not
	}
	return out
}
func (m *matchScalar) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	// Fast path: a string column is tested without building a vec.
	if c, ok := m.x.(*colRef); ok {
		if get, ok := anyStringGetter(b.cols[c.idx]); ok {
			arr := b.cols[c.idx]
			for _, r := range sel {
				if arr.IsNull(int(r)) {
					continue
				}
				if (m.test(get(int(r))) != m.not) == want {
					out = append(out, r)
				}
			}
			return out
		}
	}
	return (&scalarPred{e: m}).selectRows(b, sel, want, out)
}

// isNullScalar is x IS [NOT] NULL over a general expression.
type isNullScalar struct {
	x   expr
	not bool
}

func (e *isNullScalar) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (e *isNullScalar) children() []expr         { return []expr{e.x} }
func (e *isNullScalar) String() string {
	if e.not {
		return e.x.String() + " IS NOT NULL"
	}
	return e.x.String() + " IS NULL"
}
func (e *isNullScalar) eval(b *batch, sel []int32) *vec {
	x := evalVec(e.x, b, sel)
	out := newVec(vBool, len(sel))
	for j := range sel {
		out.b[j] = (x.kind == vNull || x.isNull(j)) != e.not
	}
	return out
}
func (e *isNullScalar) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	return (&scalarPred{e: e}).selectRows(b, sel, want, out)
}

// formatFloat renders a float the way CAST(x AS VARCHAR) does.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
