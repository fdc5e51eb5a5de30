package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// vec is a dense column of computed values in one of the engine's canonical kinds. Scalar
// expressions (arithmetic, functions, CASE...), grouping keys, sort keys and join keys
// are evaluated into vecs over a batch's live rows: typed Go slices, no boxing. Strings
// alias the Arrow buffers they were read from unless the vec was read with own=true
// (operators that keep values across batches: aggregation, sort, join build).
type vec struct {
	kind  vkind
	n     int
	i     []int64 // vInt; vTime in microseconds since the epoch (UTC)
	f     []float64
	s     []string
	b     []bool
	nulls []bool // nil: no NULLs
}

// vkind is the canonical kind of a computed value; its Arrow type is kindType.
type vkind uint8

const (
	vNull vkind = iota
	vBool
	vInt
	vFloat
	vStr
	vTime
)

// kindType is the Arrow type of each kind (client-safe already).
var kindType = [...]arrow.DataType{
	vNull:  arrow.Null,
	vBool:  arrow.FixedWidthTypes.Boolean,
	vInt:   arrow.PrimitiveTypes.Int64,
	vFloat: arrow.PrimitiveTypes.Float64,
	vStr:   arrow.BinaryTypes.String,
	vTime:  timestampUTC,
}

// kindOf returns the kind values of type dt are read as.
func kindOf(dt arrow.DataType) vkind {
	switch dt.ID() {
	case arrow.NULL:
		return vNull
	case arrow.BOOL:
		return vBool
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return vInt
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128:
		return vFloat
	case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return vTime
	case arrow.DICTIONARY:
		return kindOf(dt.(*arrow.DictionaryType).ValueType)
	}
	return vStr
}

func newVec(k vkind, n int) *vec {
	v := &vec{kind: k, n: n}
	switch k {
	case vBool:
		v.b = make([]bool, n)
	case vInt, vTime:
		v.i = make([]int64, n)
	case vFloat:
		v.f = make([]float64, n)
	case vStr:
		v.s = make([]string, n)
	case vNull:
		v.nulls = make([]bool, n)
		for j := range v.nulls {
			v.nulls[j] = true
		}
	}
	return v
}

func (v *vec) isNull(j int) bool { return v.nulls != nil && v.nulls[j] }

// setNull marks row j NULL.
func (v *vec) setNull(j int) {
	if v.nulls == nil {
		v.nulls = make([]bool, v.n)
	}
	v.nulls[j] = true
}

// float returns row j as a float64 (vInt or vFloat).
func (v *vec) float(j int) float64 {
	if v.kind == vFloat {
		return v.f[j]
	}
	return float64(v.i[j])
}

// value returns row j boxed (nil for NULL); slow path for rare uses.
func (v *vec) value(j int) any {
	if v.isNull(j) {
		return nil
	}
	switch v.kind {
	case vBool:
		return v.b[j]
	case vInt:
		return v.i[j]
	case vFloat:
		return v.f[j]
	case vStr:
		return v.s[j]
	case vTime:
		return time.UnixMicro(v.i[j]).UTC()
	}
	return nil
}

// constVec returns a vec of n copies of a constant.
func constVec(val any, n int) *vec {
	switch x := val.(type) {
	case nil:
		return newVec(vNull, n)
	case bool:
		v := newVec(vBool, n)
		for j := range v.b {
			v.b[j] = x
		}
		return v
	case int64:
		v := newVec(vInt, n)
		for j := range v.i {
			v.i[j] = x
		}
		return v
	case float64:
		v := newVec(vFloat, n)
		for j := range v.f {
			v.f[j] = x
		}
		return v
	case string:
		v := newVec(vStr, n)
		for j := range v.s {
			v.s[j] = x
		}
		return v
	case time.Time:
		v := newVec(vTime, n)
		us := x.UnixMicro()
		for j := range v.i {
			v.i[j] = us
		}
		return v
	}
	panic(fmt.Sprintf("BUG: constant of type %T", val))
}

// readVec reads the rows sel of arr into a vec of arr's kind. own copies strings so
// that the vec outlives arr.
func readVec(arr arrow.Array, sel []int32, own bool) *vec {
	k := kindOf(arr.DataType())
	v := newVec(k, len(sel))
	if k == vNull {
		return v
	}
	if arr.NullN() > 0 {
		for j, r := range sel {
			if arr.IsNull(int(r)) {
				v.setNull(j)
			}
		}
	}
	switch a := arr.(type) {
	case *array.Dictionary:
		dict := readVec(a.Dictionary(), identitySel(a.Dictionary().Len()), own)
		for j, r := range sel {
			if v.isNull(j) {
				continue
			}
			d := a.GetValueIndex(int(r))
			if dict.isNull(d) {
				v.setNull(j)
				continue
			}
			switch k {
			case vStr:
				v.s[j] = dict.s[d]
			case vInt, vTime:
				v.i[j] = dict.i[d]
			case vFloat:
				v.f[j] = dict.f[d]
			case vBool:
				v.b[j] = dict.b[d]
			}
		}
		return v
	case *array.Boolean:
		for j, r := range sel {
			v.b[j] = a.Value(int(r))
		}
	case *array.Int64:
		vals := a.Int64Values()
		for j, r := range sel {
			v.i[j] = vals[r]
		}
	case *array.Uint64:
		for j, r := range sel {
			v.i[j] = int64(a.Value(int(r)))
		}
	case *array.Float64:
		vals := a.Float64Values()
		for j, r := range sel {
			v.f[j] = vals[r]
		}
	case *array.Float32:
		for j, r := range sel {
			v.f[j] = float64(a.Value(int(r)))
		}
	case *array.Float16:
		for j, r := range sel {
			v.f[j] = float64(a.Value(int(r)).Float32())
		}
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		for j, r := range sel {
			v.f[j] = a.Value(int(r)).ToFloat64(scale)
		}
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		for j, r := range sel {
			v.i[j] = toMicros(int64(a.Value(int(r))), unit)
		}
	case *array.Date32:
		for j, r := range sel {
			v.i[j] = int64(a.Value(int(r))) * 86400e6
		}
	case *array.Date64:
		for j, r := range sel {
			v.i[j] = int64(a.Value(int(r))) * 1000
		}
	default:
		if k == vInt {
			get := intGetter(arr)
			for j, r := range sel {
				v.i[j] = get(int(r))
			}
			break
		}
		get, ok := stringGetter(arr)
		for j, r := range sel {
			if v.isNull(j) {
				continue
			}
			var s string
			if ok {
				s = get(int(r))
			} else {
				s = arr.ValueStr(int(r))
			}
			if own {
				s = strings.Clone(s)
			}
			v.s[j] = s
		}
	}
	return v
}

// toArrow builds an Arrow array of the vec's values in type out (kindType of the vec's
// kind, or of a kind it widens to: Int64 -> Float64; NULL -> anything).
func (v *vec) toArrow(mem memory.Allocator, out arrow.DataType) arrow.Array {
	b := array.NewBuilder(mem, out)
	defer b.Release()
	b.Reserve(v.n)
	v.appendTo(b, 0, v.n)
	return b.NewArray()
}

// appendTo appends rows [from, to) to b.
func (v *vec) appendTo(b array.Builder, from, to int) {
	for j := from; j < to; j++ {
		if v.isNull(j) || v.kind == vNull {
			b.AppendNull()
			continue
		}
		switch bb := b.(type) {
		case *array.BooleanBuilder:
			bb.Append(v.b[j])
		case *array.Int64Builder:
			if v.kind == vFloat {
				bb.Append(int64(v.f[j]))
			} else {
				bb.Append(v.i[j])
			}
		case *array.Int32Builder:
			bb.Append(int32(v.i[j]))
		case *array.Float64Builder:
			bb.Append(v.float(j))
		case *array.StringBuilder:
			bb.Append(v.str(j))
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(v.i[j]))
		default:
			b.AppendNull()
		}
	}
}

// str renders row j as text (the CAST to VARCHAR rendering).
func (v *vec) str(j int) string {
	switch v.kind {
	case vStr:
		return v.s[j]
	case vInt:
		return fmt.Sprint(v.i[j])
	case vFloat:
		return formatFloat(v.f[j])
	case vBool:
		if v.b[j] {
			return "true"
		}
		return "false"
	case vTime:
		return formatTimestamp(v.i[j])
	}
	return ""
}

// take returns the rows idx of v (-1: NULL).
func (v *vec) take(idx []int32) *vec {
	out := newVec(v.kind, len(idx))
	for j, r := range idx {
		if r < 0 || v.isNull(int(r)) {
			out.setNull(j)
			continue
		}
		switch v.kind {
		case vBool:
			out.b[j] = v.b[r]
		case vInt, vTime:
			out.i[j] = v.i[r]
		case vFloat:
			out.f[j] = v.f[r]
		case vStr:
			out.s[j] = v.s[r]
		}
	}
	return out
}

// appendVec appends w's rows to v (same kind).
func (v *vec) appendVec(w *vec) {
	if w.nulls != nil || v.nulls != nil {
		if v.nulls == nil {
			v.nulls = make([]bool, v.n, v.n+w.n)
		}
		if w.nulls != nil {
			v.nulls = append(v.nulls, w.nulls...)
		} else {
			v.nulls = append(v.nulls, make([]bool, w.n)...)
		}
	}
	v.n += w.n
	v.b = append(v.b, w.b...)
	v.i = append(v.i, w.i...)
	v.f = append(v.f, w.f...)
	v.s = append(v.s, w.s...)
}

// cloneStrings makes v own its strings.
func (v *vec) cloneStrings() {
	for j, s := range v.s {
		v.s[j] = strings.Clone(s)
	}
}

// memSize estimates the bytes v holds, for the query memory limit.
func (v *vec) memSize() int64 {
	s := int64(len(v.i)*8 + len(v.f)*8 + len(v.b) + len(v.nulls) + len(v.s)*16)
	for _, x := range v.s {
		s += int64(len(x))
	}
	return s
}

// formatTimestamp renders microseconds since the epoch the way CAST(ts AS VARCHAR)
// does (like DuckDB): the fraction without trailing zeros, none when zero.
func formatTimestamp(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02 15:04:05.999999")
}
