package planner

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
)

// cmpExpr is col <op> literal or col <op> col. The binder normalises a literal to the
// right side and folds literal-to-literal comparisons away, and it has checked that the
// operand classes match (number/number, string/string, bool/bool, timestamp/timestamp).
// Kernels dispatch on the array types of each batch, since batches of one table may
// differ in encoding (Utf8 vs dictionary) or width.
type cmpExpr struct {
	op cmpOp
	l  *colRef
	r  expr // *colRef or *literal (never NULL)
}

func (e *cmpExpr) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (e *cmpExpr) String() string {
	return e.l.String() + " " + cmpOpText[e.op] + " " + e.r.String()
}

func (e *cmpExpr) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	if rc, ok := e.r.(*colRef); ok {
		return cmpColCol(b.cols[e.l.idx], b.cols[rc.idx], e.op, sel, want, out)
	}
	return cmpColLit(b.cols[e.l.idx], e.op, e.r.(*literal).val, sel, want, out)
}

// number is every Go type behind a numeric Arrow array.
type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// selCmp appends the rows r of sel where arr is valid and (U(vals[r]) op c) == want.
func selCmp[T number, U int64 | uint64 | float64](arr arrow.Array, vals []T, c U, op cmpOp, sel []int32, want bool, out []int32) []int32 {
	hasNulls := arr.NullN() > 0
	for _, r := range sel {
		if hasNulls && arr.IsNull(int(r)) {
			continue
		}
		v := U(vals[r])
		var ok bool
		switch op {
		case opEQ:
			ok = v == c
		case opNE:
			ok = v != c
		case opLT:
			ok = v < c
		case opLE:
			ok = v <= c
		case opGT:
			ok = v > c
		default:
			ok = v >= c
		}
		if ok == want {
			out = append(out, r)
		}
	}
	return out
}

// selNumLit dispatches a numeric column against an int64 or float64 constant.
func selNumLit[T number](arr arrow.Array, vals []T, lit any, op cmpOp, sel []int32, want bool, out []int32) []int32 {
	switch c := lit.(type) {
	case int64:
		var zero T
		if zero-1 > 0 { // unsigned
			if c < 0 {
				// Every unsigned value is greater than a negative constant.
				return selConst(arr, op.holds(1), sel, want, out)
			}
			return selCmp(arr, vals, uint64(c), op, sel, want, out)
		}
		if isFloatType[T]() {
			return selCmp(arr, vals, float64(c), op, sel, want, out)
		}
		return selCmp(arr, vals, c, op, sel, want, out)
	case float64:
		return selCmp(arr, vals, c, op, sel, want, out)
	}
	panic(fmt.Sprintf("BUG: numeric comparison with %T", lit))
}

func isFloatType[T number]() bool {
	var half T = 1
	half /= 2
	return half != 0
}

// selConst appends the valid rows of sel when the comparison result res equals want.
func selConst(arr arrow.Array, res bool, sel []int32, want bool, out []int32) []int32 {
	if res != want {
		return out
	}
	if arr.NullN() == 0 {
		return append(out, sel...)
	}
	for _, r := range sel {
		if arr.IsValid(int(r)) {
			out = append(out, r)
		}
	}
	return out
}

// cmpColLit compares a column with a non-NULL constant.
func cmpColLit(arr arrow.Array, op cmpOp, lit any, sel []int32, want bool, out []int32) []int32 {
	switch a := arr.(type) {
	case *array.Int8:
		return selNumLit(a, a.Int8Values(), lit, op, sel, want, out)
	case *array.Int16:
		return selNumLit(a, a.Int16Values(), lit, op, sel, want, out)
	case *array.Int32:
		return selNumLit(a, a.Int32Values(), lit, op, sel, want, out)
	case *array.Int64:
		return selNumLit(a, a.Int64Values(), lit, op, sel, want, out)
	case *array.Uint8:
		return selNumLit(a, a.Uint8Values(), lit, op, sel, want, out)
	case *array.Uint16:
		return selNumLit(a, a.Uint16Values(), lit, op, sel, want, out)
	case *array.Uint32:
		return selNumLit(a, a.Uint32Values(), lit, op, sel, want, out)
	case *array.Uint64:
		return selNumLit(a, a.Uint64Values(), lit, op, sel, want, out)
	case *array.Float32:
		return selNumLit(a, a.Float32Values(), lit, op, sel, want, out)
	case *array.Float64:
		return selNumLit(a, a.Float64Values(), lit, op, sel, want, out)
	case *array.Float16:
		f := float16Values(a)
		return selNumLit(a, f, lit, op, sel, want, out)
	case *array.Boolean:
		c := lit.(bool)
		for _, r := range sel {
			if a.IsValid(int(r)) && op.holds(cmpBool(a.Value(int(r)), c)) == want {
				out = append(out, r)
			}
		}
		return out
	case *array.Timestamp:
		t := lit.(time.Time)
		unit := a.DataType().(*arrow.TimestampType).Unit
		return selCmp(a, a.TimestampValues(), timeIn(t, unit), op, sel, want, out)
	case *array.Dictionary:
		return selectDict(a, sel, want, out, func(dict arrow.Array, dsel []int32, w bool, o []int32) []int32 {
			return cmpColLit(dict, op, lit, dsel, w, o)
		})
	}
	if get, ok := stringGetter(arr); ok {
		c := lit.(string)
		hasNulls := arr.NullN() > 0
		for _, r := range sel {
			if hasNulls && arr.IsNull(int(r)) {
				continue
			}
			if op.holds(strings.Compare(get(int(r)), c)) == want {
				out = append(out, r)
			}
		}
		return out
	}
	panic(fmt.Sprintf("BUG: no comparison kernel for %s", arr.DataType()))
}

// float16Values widens a Float16 array's values.
func float16Values(a *array.Float16) []float32 {
	vals := a.Values()
	f := make([]float32, len(vals))
	for i, v := range vals {
		f[i] = float16.Num.Float32(v)
	}
	return f
}

// timeIn converts t to an int64 timestamp in unit.
func timeIn(t time.Time, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return t.Unix()
	case arrow.Millisecond:
		return t.UnixMilli()
	case arrow.Microsecond:
		return t.UnixMicro()
	}
	return t.UnixNano()
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// selectDict evaluates a kernel once per dictionary value and maps the result through
// the indices: each distinct value is tested once per batch.
func selectDict(d *array.Dictionary, sel []int32, want bool, out []int32,
	kernel func(dict arrow.Array, dsel []int32, want bool, out []int32) []int32) []int32 {
	dict := d.Dictionary()
	hit := make([]bool, dict.Len())
	for _, k := range kernel(dict, identitySel(dict.Len()), want, nil) {
		hit[k] = true
	}
	hasNulls := d.NullN() > 0
	for _, r := range sel {
		if hasNulls && d.IsNull(int(r)) {
			continue
		}
		if hit[d.GetValueIndex(int(r))] {
			out = append(out, r)
		}
	}
	return out
}

// cmpColCol compares two columns row by row. Numbers compare as int64 when both are
// integers below 2^63 and as float64 otherwise; strings by bytes; timestamps in
// microseconds.
func cmpColCol(a, b arrow.Array, op cmpOp, sel []int32, want bool, out []int32) []int32 {
	var cmp func(i int) int
	switch {
	case isIntArray(a) && isIntArray(b):
		x, y := intGetter(a), intGetter(b)
		cmp = func(i int) int { return cmpOrdered(x(i), y(i)) }
	case isNumArray(a) && isNumArray(b):
		x, y := floatGetter(a), floatGetter(b)
		cmp = func(i int) int { return cmpOrdered(x(i), y(i)) }
	case a.DataType().ID() == arrow.TIMESTAMP && b.DataType().ID() == arrow.TIMESTAMP:
		x, y := a.(*array.Timestamp), b.(*array.Timestamp)
		ux, uy := x.DataType().(*arrow.TimestampType).Unit, y.DataType().(*arrow.TimestampType).Unit
		cmp = func(i int) int { return cmpOrdered(toMicros(int64(x.Value(i)), ux), toMicros(int64(y.Value(i)), uy)) }
	case a.DataType().ID() == arrow.BOOL && b.DataType().ID() == arrow.BOOL:
		x, y := a.(*array.Boolean), b.(*array.Boolean)
		cmp = func(i int) int { return cmpBool(x.Value(i), y.Value(i)) }
	default:
		x, okx := anyStringGetter(a)
		y, oky := anyStringGetter(b)
		if !okx || !oky {
			panic(fmt.Sprintf("BUG: no comparison kernel for %s and %s", a.DataType(), b.DataType()))
		}
		cmp = func(i int) int { return strings.Compare(x(i), y(i)) }
	}
	for _, r := range sel {
		if a.IsNull(int(r)) || b.IsNull(int(r)) {
			continue
		}
		if op.holds(cmp(int(r))) == want {
			out = append(out, r)
		}
	}
	return out
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func isIntArray(a arrow.Array) bool {
	switch a.DataType().ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32:
		return true
	}
	return false
}

func isNumArray(a arrow.Array) bool {
	switch a.DataType().ID() {
	case arrow.UINT64, arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return true
	}
	return isIntArray(a)
}

// intGetter reads an integer array (not Uint64) as int64.
func intGetter(arr arrow.Array) func(int) int64 {
	switch a := arr.(type) {
	case *array.Int8:
		return func(i int) int64 { return int64(a.Value(i)) }
	case *array.Int16:
		return func(i int) int64 { return int64(a.Value(i)) }
	case *array.Int32:
		return func(i int) int64 { return int64(a.Value(i)) }
	case *array.Int64:
		return a.Value
	case *array.Uint8:
		return func(i int) int64 { return int64(a.Value(i)) }
	case *array.Uint16:
		return func(i int) int64 { return int64(a.Value(i)) }
	case *array.Uint32:
		return func(i int) int64 { return int64(a.Value(i)) }
	}
	panic(fmt.Sprintf("BUG: %s is not an integer array", arr.DataType()))
}

// floatGetter reads a numeric array as float64.
func floatGetter(arr arrow.Array) func(int) float64 {
	switch a := arr.(type) {
	case *array.Uint64:
		return func(i int) float64 { return float64(a.Value(i)) }
	case *array.Float16:
		return func(i int) float64 { return float64(a.Value(i).Float32()) }
	case *array.Float32:
		return func(i int) float64 { return float64(a.Value(i)) }
	case *array.Float64:
		return a.Value
	}
	get := intGetter(arr)
	return func(i int) float64 { return float64(get(i)) }
}

// anyStringGetter reads a string-like array or a dictionary of strings.
func anyStringGetter(arr arrow.Array) (func(int) string, bool) {
	if d, ok := arr.(*array.Dictionary); ok {
		get, ok := stringGetter(d.Dictionary())
		if !ok {
			return nil, false
		}
		return func(i int) string { return get(d.GetValueIndex(i)) }, true
	}
	return stringGetter(arr)
}

// inExpr is x [NOT] IN (v1, v2, ...) over constants of x's class. A NULL in the list
// makes a non-matching row NULL rather than FALSE (SQL three-valued logic).
type inExpr struct {
	x       *colRef
	vals    []*literal
	hasNull bool
	not     bool
	strs    map[string]struct{}
	ints    map[int64]struct{}
	floats  map[float64]struct{}
	bools   [2]bool
}

func (e *inExpr) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (e *inExpr) String() string {
	parts := make([]string, 0, len(e.vals)+1)
	for _, v := range e.vals {
		parts = append(parts, v.String())
	}
	if e.hasNull {
		parts = append(parts, "NULL")
	}
	kw := " IN ("
	if e.not {
		kw = " NOT IN ("
	}
	return e.x.String() + kw + strings.Join(parts, ", ") + ")"
}

// newInExpr builds the membership sets.
func newInExpr(x *colRef, vals []*literal, hasNull, not bool) *inExpr {
	e := &inExpr{x: x, vals: vals, hasNull: hasNull, not: not}
	for _, v := range vals {
		switch c := v.val.(type) {
		case string:
			if e.strs == nil {
				e.strs = map[string]struct{}{}
			}
			e.strs[c] = struct{}{}
		case int64:
			if e.ints == nil {
				e.ints = map[int64]struct{}{}
			}
			e.ints[c] = struct{}{}
			if e.floats == nil {
				e.floats = map[float64]struct{}{}
			}
			e.floats[float64(c)] = struct{}{}
		case float64:
			if e.floats == nil {
				e.floats = map[float64]struct{}{}
			}
			e.floats[c] = struct{}{}
			if c == math.Trunc(c) && math.Abs(c) < 1<<63 {
				if e.ints == nil {
					e.ints = map[int64]struct{}{}
				}
				e.ints[int64(c)] = struct{}{}
			}
		case bool:
			if c {
				e.bools[1] = true
			} else {
				e.bools[0] = true
			}
		}
	}
	return e
}

func (e *inExpr) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	// x IN (...) is TRUE when found, FALSE when not found and no NULL in the list.
	wantFound := want != e.not
	if !wantFound && e.hasNull {
		return out
	}
	return e.selectFound(b.cols[e.x.idx], sel, wantFound, out)
}

// selectFound appends the valid rows whose membership equals found.
func (e *inExpr) selectFound(arr arrow.Array, sel []int32, found bool, out []int32) []int32 {
	var in func(i int) bool
	switch {
	case arr.DataType().ID() == arrow.DICTIONARY:
		return selectDict(arr.(*array.Dictionary), sel, found, out, func(dict arrow.Array, dsel []int32, w bool, o []int32) []int32 {
			return e.selectFound(dict, dsel, w, o)
		})
	case isIntArray(arr):
		get := intGetter(arr)
		in = func(i int) bool { _, ok := e.ints[get(i)]; return ok }
	case isNumArray(arr):
		get := floatGetter(arr)
		in = func(i int) bool { _, ok := e.floats[get(i)]; return ok }
	case arr.DataType().ID() == arrow.BOOL:
		a := arr.(*array.Boolean)
		in = func(i int) bool {
			if a.Value(i) {
				return e.bools[1]
			}
			return e.bools[0]
		}
	default:
		get, ok := stringGetter(arr)
		if !ok {
			panic(fmt.Sprintf("BUG: no IN kernel for %s", arr.DataType()))
		}
		in = func(i int) bool { _, ok := e.strs[get(i)]; return ok }
	}
	for _, r := range sel {
		if arr.IsValid(int(r)) && in(int(r)) == found {
			out = append(out, r)
		}
	}
	return out
}
