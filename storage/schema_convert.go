package storage

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// convertArray returns arr converted to type to, which must be reachable on the lattice
// of schema_evolve.go (normalization or a join). The result is owned by the caller.
func convertArray(arr arrow.Array, to arrow.DataType) (arrow.Array, error) {
	from := arr.DataType()
	if arrow.TypeEqual(from, to) {
		arr.Retain()
		return arr, nil
	}
	if from.ID() == arrow.NULL {
		return array.MakeArrayOfNull(mem, to, arr.Len()), nil
	}
	switch to.ID() {
	case arrow.STRING:
		return toString(arr)
	case arrow.BINARY:
		return toBinary(arr)
	case arrow.FLOAT64:
		if a, ok := arr.(*array.Float32); ok {
			return widen[float32, float64](arr, a.Float32Values(), to), nil
		}
	case arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		if out := widenInt(arr, to); out != nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("BUG: no conversion from %s to %s", from, to)
}

// stringValuer is what string-like arrays (utf8, large_utf8, utf8_view) share.
type stringValuer interface {
	arrow.Array
	Value(i int) string
}

// bytesValuer is what binary-like arrays share.
type bytesValuer interface {
	arrow.Array
	Value(i int) []byte
}

// toString converts a string-like or dictionary<string-like> array to utf8.
func toString(arr arrow.Array) (arrow.Array, error) {
	values, indices := arr, arr
	var dict *array.Dictionary
	if d, ok := arr.(*array.Dictionary); ok {
		dict, values = d, d.Dictionary()
		indices = d.Indices()
	}
	sv, ok := values.(stringValuer)
	if !ok {
		return nil, fmt.Errorf("BUG: no conversion from %s to utf8", arr.DataType())
	}
	n := indices.Len()
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.AppendNull()
			continue
		}
		j := i
		if dict != nil {
			j = dict.GetValueIndex(i)
		}
		b.Append(sv.Value(j))
	}
	return b.NewArray(), nil
}

// toBinary converts a binary-like or dictionary<binary-like> array to binary.
func toBinary(arr arrow.Array) (arrow.Array, error) {
	values := arr
	var dict *array.Dictionary
	if d, ok := arr.(*array.Dictionary); ok {
		dict, values = d, d.Dictionary()
	}
	bv, ok := values.(bytesValuer)
	if !ok {
		return nil, fmt.Errorf("BUG: no conversion from %s to binary", arr.DataType())
	}
	n := arr.Len()
	b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		if arr.IsNull(i) {
			b.AppendNull()
			continue
		}
		j := i
		if dict != nil {
			j = dict.GetValueIndex(i)
		}
		b.Append(bv.Value(j))
	}
	return b.NewArray(), nil
}

// widenInt converts an integer array to a wider integer type, or returns nil.
func widenInt(arr arrow.Array, to arrow.DataType) arrow.Array {
	switch to.ID() {
	case arrow.INT16:
		return widenIntTo[int16](arr, to)
	case arrow.INT32:
		return widenIntTo[int32](arr, to)
	case arrow.INT64:
		return widenIntTo[int64](arr, to)
	case arrow.UINT16:
		return widenIntTo[uint16](arr, to)
	case arrow.UINT32:
		return widenIntTo[uint32](arr, to)
	case arrow.UINT64:
		return widenIntTo[uint64](arr, to)
	}
	return nil
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func widenIntTo[D integer](arr arrow.Array, to arrow.DataType) arrow.Array {
	switch a := arr.(type) {
	case *array.Int8:
		return widen[int8, D](arr, a.Int8Values(), to)
	case *array.Int16:
		return widen[int16, D](arr, a.Int16Values(), to)
	case *array.Int32:
		return widen[int32, D](arr, a.Int32Values(), to)
	case *array.Uint8:
		return widen[uint8, D](arr, a.Uint8Values(), to)
	case *array.Uint16:
		return widen[uint16, D](arr, a.Uint16Values(), to)
	case *array.Uint32:
		return widen[uint32, D](arr, a.Uint32Values(), to)
	}
	return nil
}

type number interface {
	integer | ~float32 | ~float64
}

// widen copies the values of arr (src, already offset) into a new array of type to. The
// lattice only asks for conversions that fit, so a plain Go conversion is exact.
func widen[S, D number](arr arrow.Array, src []S, to arrow.DataType) arrow.Array {
	n := arr.Len()
	var zero D
	vals := memory.NewResizableBuffer(mem)
	vals.Resize(n * sizeOf(zero))
	dst := arrow.GetData[D](vals.Bytes())
	for i, v := range src[:n] {
		dst[i] = D(v)
	}
	var validity *memory.Buffer
	if nulls := arr.NullN(); nulls > 0 {
		validity = memory.NewResizableBuffer(mem)
		validity.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(arr.NullBitmapBytes(), arr.Data().Offset(), n, validity.Bytes(), 0)
	}
	data := array.NewData(to, n, []*memory.Buffer{validity, vals}, nil, arr.NullN(), 0)
	vals.Release()
	if validity != nil {
		validity.Release()
	}
	defer data.Release()
	return array.MakeFromData(data)
}

func sizeOf[D number](D) int {
	var v D
	switch any(v).(type) {
	case int8, uint8:
		return 1
	case int16, uint16:
		return 2
	case int32, uint32, float32:
		return 4
	}
	return 8
}
