package planner

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Output types. Results leave the planner in client-safe types only (shared/FLIGHTSQL.md
// item 9, pitfall 13): Utf8, Binary, Boolean, Int32, Int64, Float64, Decimal128 and
// Timestamp(us, "UTC"). The mapping, applied to each output column at Prepare time:
//
//	Utf8, LargeUtf8, Utf8View, Dictionary<*, utf8-like>  -> Utf8
//	Binary, LargeBinary, BinaryView, FixedSizeBinary      -> Binary
//	Int8, Int16, Int32, Uint8, Uint16                     -> Int32
//	Int64, Uint32                                         -> Int64
//	Uint64                                                -> Int64; a value above
//	                                                         math.MaxInt64 fails the query
//	                                                         with ErrOverflow (we chose
//	                                                         Int64 over Decimal128 because
//	                                                         every client reads it and event
//	                                                         fields such as pids, ports and
//	                                                         counters fit)
//	Float16, Float32, Float64                             -> Float64
//	Timestamp(any unit, any zone), Date32, Date64         -> Timestamp(us, "UTC")
//	Decimal128                                            -> Decimal128
//	Null and everything else (lists, structs, intervals)  -> Utf8, rendered by ValueStr
//
// Every output field is nullable, so that the schema at Prepare time never has to be
// revised when a later batch brings a null.

// timestampUTC is the client-safe timestamp type.
var timestampUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// clientSafeType returns the output type for a column of type dt.
func clientSafeType(dt arrow.DataType) arrow.DataType {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return arrow.BinaryTypes.String
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return arrow.BinaryTypes.Binary
	case arrow.BOOL:
		return arrow.FixedWidthTypes.Boolean
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.UINT8, arrow.UINT16:
		return arrow.PrimitiveTypes.Int32
	case arrow.INT64, arrow.UINT32, arrow.UINT64:
		return arrow.PrimitiveTypes.Int64
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return arrow.PrimitiveTypes.Float64
	case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return timestampUTC
	case arrow.DECIMAL128:
		return dt
	case arrow.DICTIONARY:
		return clientSafeType(dt.(*arrow.DictionaryType).ValueType)
	}
	return arrow.BinaryTypes.String
}

// clientSafeSchema builds the output schema: client-safe types, every field nullable.
func clientSafeSchema(names []string, types []arrow.DataType) *arrow.Schema {
	fields := make([]arrow.Field, len(names))
	for i := range names {
		fields[i] = arrow.Field{Name: names[i], Type: clientSafeType(types[i]), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// materialise gathers the rows sel (nil: rows 0..n-1) of arr into a new array of type
// out, converting to it in the same pass. out must be clientSafeType of arr's type (or
// of the type the column was bound with: batches of one table may differ in encoding).
// The caller releases the result.
func materialise(mem memory.Allocator, arr arrow.Array, sel []int32, n int, out arrow.DataType) (arrow.Array, error) {
	// Fast path: same type, every row or a contiguous run: zero-copy.
	if arrow.TypeEqual(arr.DataType(), out) {
		if sel == nil {
			if arr.Len() == n {
				arr.Retain()
				return arr, nil
			}
			return array.NewSlice(arr, 0, int64(n)), nil
		}
		if len(sel) == 0 {
			return array.NewSlice(arr, 0, 0), nil
		}
		if isRun(sel) {
			return array.NewSlice(arr, int64(sel[0]), int64(sel[len(sel)-1])+1), nil
		}
	}
	if sel == nil {
		sel = identitySel(n)
	}
	b := array.NewBuilder(mem, out)
	defer b.Release()
	b.Reserve(len(sel))
	if err := gatherInto(b, arr, sel); err != nil {
		return nil, err
	}
	return b.NewArray(), nil
}

// gatherInto appends arr[sel[i]] to b, converting to b's type.
func gatherInto(b array.Builder, arr arrow.Array, sel []int32) error {
	if d, ok := arr.(*array.Dictionary); ok {
		// Decode: gather the dictionary indices, then the values they point at.
		idx := make([]int32, 0, len(sel))
		nulls := make([]bool, 0, len(sel))
		for _, r := range sel {
			if d.IsNull(int(r)) {
				idx = append(idx, 0)
				nulls = append(nulls, true)
				continue
			}
			idx = append(idx, int32(d.GetValueIndex(int(r))))
			nulls = append(nulls, false)
		}
		dict := d.Dictionary()
		if d.NullN() == 0 && dict.NullN() == 0 {
			// Fast path: one gather through the dictionary.
			return gatherInto(b, dict, idx)
		}
		for i, k := range idx {
			if nulls[i] || dict.IsNull(int(k)) {
				b.AppendNull()
				continue
			}
			if err := gatherInto(b, dict, idx[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	switch ob := b.(type) {
	case *array.StringBuilder:
		return gatherString(ob, arr, sel)
	case *array.BinaryBuilder:
		return gatherBinary(ob, arr, sel)
	case *array.BooleanBuilder:
		a, ok := arr.(*array.Boolean)
		if !ok {
			break
		}
		for _, r := range sel {
			if a.IsNull(int(r)) {
				ob.AppendNull()
			} else {
				ob.UnsafeAppend(a.Value(int(r)))
			}
		}
		return nil
	case *array.Int32Builder:
		switch a := arr.(type) {
		case *array.Int8:
			gatherNum(ob, a, a.Int8Values(), sel)
		case *array.Int16:
			gatherNum(ob, a, a.Int16Values(), sel)
		case *array.Int32:
			gatherNum(ob, a, a.Int32Values(), sel)
		case *array.Uint8:
			gatherNum(ob, a, a.Uint8Values(), sel)
		case *array.Uint16:
			gatherNum(ob, a, a.Uint16Values(), sel)
		default:
			return convErr(arr, b)
		}
		return nil
	case *array.Int64Builder:
		switch a := arr.(type) {
		case *array.Int64:
			gatherNum(ob, a, a.Int64Values(), sel)
		case *array.Uint32:
			gatherNum(ob, a, a.Uint32Values(), sel)
		case *array.Uint64:
			vals := a.Uint64Values()
			for _, r := range sel {
				if a.IsNull(int(r)) {
					ob.AppendNull()
					continue
				}
				if v := vals[r]; v > math.MaxInt64 {
					return fmt.Errorf("uint64 value %d does not fit the Int64 output column: %w", v, ErrOverflow)
				}
				ob.UnsafeAppend(int64(vals[r]))
			}
		// Narrower ints can meet an Int64 output when batches of one table differ.
		case *array.Int32:
			gatherNum(ob, a, a.Int32Values(), sel)
		case *array.Int16:
			gatherNum(ob, a, a.Int16Values(), sel)
		case *array.Int8:
			gatherNum(ob, a, a.Int8Values(), sel)
		case *array.Uint16:
			gatherNum(ob, a, a.Uint16Values(), sel)
		case *array.Uint8:
			gatherNum(ob, a, a.Uint8Values(), sel)
		default:
			return convErr(arr, b)
		}
		return nil
	case *array.Float64Builder:
		switch a := arr.(type) {
		case *array.Float64:
			gatherNum(ob, a, a.Float64Values(), sel)
		case *array.Float32:
			gatherNum(ob, a, a.Float32Values(), sel)
		case *array.Float16:
			for _, r := range sel {
				if a.IsNull(int(r)) {
					ob.AppendNull()
				} else {
					ob.UnsafeAppend(float64(a.Value(int(r)).Float32()))
				}
			}
		default:
			return convErr(arr, b)
		}
		return nil
	case *array.TimestampBuilder:
		var conv func(i int) int64
		switch a := arr.(type) {
		case *array.Timestamp:
			unit := a.DataType().(*arrow.TimestampType).Unit
			conv = func(i int) int64 { return toMicros(int64(a.Value(i)), unit) }
		case *array.Date32:
			conv = func(i int) int64 { return int64(a.Value(i)) * 86400 * 1e6 }
		case *array.Date64:
			conv = func(i int) int64 { return int64(a.Value(i)) * 1000 }
		default:
			return convErr(arr, b)
		}
		for _, r := range sel {
			if arr.IsNull(int(r)) {
				ob.AppendNull()
			} else {
				ob.UnsafeAppend(arrow.Timestamp(conv(int(r))))
			}
		}
		return nil
	case *array.Decimal128Builder:
		a, ok := arr.(*array.Decimal128)
		if !ok {
			break
		}
		for _, r := range sel {
			if a.IsNull(int(r)) {
				ob.AppendNull()
			} else {
				ob.Append(a.Value(int(r)))
			}
		}
		return nil
	}
	return convErr(arr, b)
}

// toMicros converts a timestamp value in unit to microseconds.
func toMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v * 1e6
	case arrow.Millisecond:
		return v * 1e3
	case arrow.Nanosecond:
		return v / 1e3
	}
	return v
}

func convErr(arr arrow.Array, b array.Builder) error {
	return fmt.Errorf("BUG: planner: no conversion from %s to %s", arr.DataType(), b.Type())
}

// numBuilder is the part of a numeric builder gatherNum needs.
type numBuilder[O int32 | int64 | float64] interface {
	UnsafeAppend(O)
	AppendNull()
}

// gatherNum appends vals[sel[i]] converted to O, with nulls from a.
func gatherNum[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | float32 | float64, O int32 | int64 | float64](b numBuilder[O], a arrow.Array, vals []T, sel []int32) {
	if a.NullN() == 0 {
		// Fast path: no nulls.
		for _, r := range sel {
			b.UnsafeAppend(O(vals[r]))
		}
		return
	}
	for _, r := range sel {
		if a.IsNull(int(r)) {
			b.AppendNull()
		} else {
			b.UnsafeAppend(O(vals[r]))
		}
	}
}

// gatherString appends the rows sel of arr as Utf8.
func gatherString(b *array.StringBuilder, arr arrow.Array, sel []int32) error {
	get, ok := stringGetter(arr)
	if !ok {
		// Slow path: any other type renders as text.
		if arr.DataType().ID() == arrow.NULL {
			b.AppendNulls(len(sel))
			return nil
		}
		get = arr.ValueStr
	}
	size := 0
	for _, r := range sel {
		if !arr.IsNull(int(r)) {
			size += len(get(int(r)))
		}
	}
	b.ReserveData(size)
	for _, r := range sel {
		if arr.IsNull(int(r)) {
			b.AppendNull()
		} else {
			b.Append(get(int(r)))
		}
	}
	return nil
}

// gatherBinary appends the rows sel of a binary-like arr as Binary.
func gatherBinary(b *array.BinaryBuilder, arr arrow.Array, sel []int32) error {
	var get func(int) []byte
	switch a := arr.(type) {
	case *array.Binary:
		get = a.Value
	case *array.LargeBinary:
		get = a.Value
	case *array.BinaryView:
		get = a.Value
	case *array.FixedSizeBinary:
		get = a.Value
	default:
		return convErr(arr, b)
	}
	for _, r := range sel {
		if arr.IsNull(int(r)) {
			b.AppendNull()
		} else {
			b.Append(get(int(r)))
		}
	}
	return nil
}

// stringGetter returns a zero-copy accessor for the string-like arr (not dictionaries).
func stringGetter(arr arrow.Array) (func(int) string, bool) {
	switch a := arr.(type) {
	case *array.String:
		return a.Value, true
	case *array.LargeString:
		return a.Value, true
	case *array.StringView:
		return a.Value, true
	}
	return nil, false
}

// identitySel returns [0, 1, ..., n-1].
func identitySel(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// utf8Type is the Utf8 type of rule metadata columns and string constants.
var utf8Type = arrow.BinaryTypes.String

// isRun reports whether sel is a run of consecutive rows (sel may hold duplicates, as
// detect's does, so the endpoints alone do not tell).
func isRun(sel []int32) bool {
	if int(sel[len(sel)-1]-sel[0]) != len(sel)-1 {
		return false
	}
	for i, r := range sel {
		if r != sel[0]+int32(i) {
			return false
		}
	}
	return true
}
