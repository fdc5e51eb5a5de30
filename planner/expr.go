package planner

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Bound expressions. The binder turns TiDB AST expressions into these typed nodes; column
// references carry the ordinal of the column in their relation, so they stay valid
// whatever columns projection pruning removes (batches keep columns at their ordinals).
//
// Predicates are evaluated with selection vectors and three-valued logic: selectRows
// returns the rows of sel for which the predicate is TRUE (want=true) or FALSE
// (want=false); rows where it is NULL are in neither. NOT swaps the two, AND and OR
// combine them, and a filter keeps the TRUE rows. No boolean vector is materialised.

// expr is a bound expression.
type expr interface {
	// dataType is the type of the value the expression produces (for projection).
	dataType() arrow.DataType
	// String renders the expression as SQL for Explain.
	String() string
}

// predicate is an expr with a Boolean value that can drive a selection.
type predicate interface {
	expr
	// selectRows appends to out the rows of sel (ascending) for which the predicate
	// is want, and returns out. It must only return rows of sel, in order.
	selectRows(b *batch, sel []int32, want bool, out []int32) []int32
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEQ cmpOp = iota
	opNE
	opLT
	opLE
	opGT
	opGE
)

var cmpOpText = [...]string{opEQ: "=", opNE: "<>", opLT: "<", opLE: "<=", opGT: ">", opGE: ">="}

// flip returns the operator with its operands swapped (a < b == b > a).
func (op cmpOp) flip() cmpOp {
	switch op {
	case opLT:
		return opGT
	case opLE:
		return opGE
	case opGT:
		return opLT
	case opGE:
		return opLE
	}
	return op
}

// holds evaluates op on the result of a three-way comparison c (-1, 0, 1).
func (op cmpOp) holds(c int) bool {
	switch op {
	case opEQ:
		return c == 0
	case opNE:
		return c != 0
	case opLT:
		return c < 0
	case opLE:
		return c <= 0
	case opGT:
		return c > 0
	}
	return c >= 0
}

// colRef is a column of the input relation.
type colRef struct {
	idx  int
	name string
	typ  arrow.DataType
}

func (c *colRef) dataType() arrow.DataType { return c.typ }
func (c *colRef) String() string           { return sqlIdent(c.name) }

// selectRows implements predicate for Boolean columns.
func (c *colRef) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	a, ok := b.cols[c.idx].(*array.Boolean)
	if !ok {
		panic(fmt.Sprintf("BUG: column %s is %s, not Boolean", c.name, b.cols[c.idx].DataType()))
	}
	for _, r := range sel {
		if a.IsValid(int(r)) && a.Value(int(r)) == want {
			out = append(out, r)
		}
	}
	return out
}

// literal is a constant: nil (NULL), bool, int64, float64, string, or time.Time (a
// string literal bound against a timestamp column).
type literal struct {
	val any
	// param is the 1-based number of the `?` placeholder this NULL stands for while a
	// statement with placeholders is planned for its ParameterSchema; 0 otherwise.
	param int
}

func (l *literal) dataType() arrow.DataType {
	switch l.val.(type) {
	case bool:
		return arrow.FixedWidthTypes.Boolean
	case int64:
		return arrow.PrimitiveTypes.Int64
	case float64:
		return arrow.PrimitiveTypes.Float64
	case time.Time:
		return timestampUTC
	case nil:
		return arrow.Null
	}
	return arrow.BinaryTypes.String
}

func (l *literal) String() string {
	switch v := l.val.(type) {
	case nil:
		return "NULL"
	case bool:
		if v {
			return "TRUE"
		}
		return "FALSE"
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return sqlString(v)
	case time.Time:
		return "TIMESTAMP " + sqlString(v.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprint(l.val)
}

// selectRows implements predicate for Boolean and NULL constants.
func (l *literal) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	if v, ok := l.val.(bool); ok && v == want {
		return append(out, sel...)
	}
	return out
}

// andExpr is l AND r.
type andExpr struct{ l, r predicate }

func (e *andExpr) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (e *andExpr) String() string           { return "(" + e.l.String() + " AND " + e.r.String() + ")" }

func (e *andExpr) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	if want {
		// TRUE only where both are TRUE: narrow the selection step by step.
		left := e.l.selectRows(b, sel, true, nil)
		return e.r.selectRows(b, left, true, out)
	}
	// FALSE where either is FALSE.
	return unionSel(out, e.l.selectRows(b, sel, false, nil), e.r.selectRows(b, sel, false, nil))
}

// orExpr is l OR r.
type orExpr struct{ l, r predicate }

func (e *orExpr) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (e *orExpr) String() string           { return "(" + e.l.String() + " OR " + e.r.String() + ")" }

func (e *orExpr) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	if !want {
		left := e.l.selectRows(b, sel, false, nil)
		return e.r.selectRows(b, left, false, out)
	}
	return unionSel(out, e.l.selectRows(b, sel, true, nil), e.r.selectRows(b, sel, true, nil))
}

// notExpr is NOT x.
type notExpr struct{ x predicate }

func (e *notExpr) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (e *notExpr) String() string           { return "NOT " + e.x.String() }

func (e *notExpr) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	return e.x.selectRows(b, sel, !want, out)
}

// isNullExpr is x IS [NOT] NULL; it is never NULL itself.
type isNullExpr struct {
	x   *colRef
	not bool
}

func (e *isNullExpr) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (e *isNullExpr) String() string {
	if e.not {
		return e.x.String() + " IS NOT NULL"
	}
	return e.x.String() + " IS NULL"
}

func (e *isNullExpr) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	a := b.cols[e.x.idx]
	wantNull := want != e.not
	if a.NullN() == 0 {
		// Fast path: no nulls in the batch.
		if wantNull {
			return out
		}
		return append(out, sel...)
	}
	for _, r := range sel {
		if a.IsNull(int(r)) == wantNull {
			out = append(out, r)
		}
	}
	return out
}

// unionSel appends the sorted union of the ascending selections a and b to out.
func unionSel(out, a, b []int32) []int32 {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sqlIdent renders an identifier, quoting it unless it is a plain lower-case word.
func sqlIdent(s string) string {
	plain := s != ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && isDigit(c)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return quoteName(s)
}
