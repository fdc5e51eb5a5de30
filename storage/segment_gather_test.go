package storage

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
)

// TestGatherColumnMatchesTake: gathering rows straight from several batches (sliced, with
// nulls, all-null, of every layout the gather handles and one it does not) equals arrow's
// own Concatenate + Take of the same rows.
func TestGatherColumnMatchesTake(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ts", Type: tsType, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "empty", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "dense", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	}, nil)
	var recs []arrow.RecordBatch
	for b := range 5 {
		rb := array.NewRecordBuilder(mem, schema)
		n := 10 + b*7
		for r := range n {
			null := func() bool { return b == 2 || rng.IntN(4) == 0 } // batch 2: all null but dense
			if null() {
				rb.Field(0).AppendNull()
			} else {
				rb.Field(0).(*array.StringBuilder).Append(string(rune('a'+r%26)) + "xyz"[:r%4])
			}
			if null() {
				rb.Field(1).AppendNull()
			} else {
				rb.Field(1).(*array.BinaryBuilder).Append([]byte{byte(r), byte(b)})
			}
			if null() {
				rb.Field(2).AppendNull()
			} else {
				rb.Field(2).(*array.Int64Builder).Append(rng.Int64())
			}
			if null() {
				rb.Field(3).AppendNull()
			} else {
				rb.Field(3).(*array.Int16Builder).Append(int16(r))
			}
			if null() {
				rb.Field(4).AppendNull()
			} else {
				rb.Field(4).(*array.Float64Builder).Append(rng.Float64())
			}
			if null() {
				rb.Field(5).AppendNull()
			} else {
				rb.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(rng.Int64N(1 << 50)))
			}
			if null() {
				rb.Field(6).AppendNull()
			} else {
				rb.Field(6).(*array.BooleanBuilder).Append(r%3 == 0)
			}
			rb.Field(7).AppendNull()
			rb.Field(8).(*array.Int32Builder).Append(int32(r * b))
		}
		full := rb.NewRecordBatch()
		rb.Release()
		// Slice off the first rows so that every array has a non-zero offset.
		recs = append(recs, full.NewSlice(3, full.NumRows()))
		full.Release()
	}
	defer releaseAll(recs)
	starts := make([]int64, len(recs))
	var total int64
	for b, r := range recs {
		starts[b] = total
		total += r.NumRows()
	}
	var refs []rowRef
	var idx []int64
	for range 200 {
		b := rng.IntN(len(recs))
		i := rng.IntN(int(recs[b].NumRows()))
		refs = append(refs, rowRef{uint32(b), uint32(i)})
		idx = append(idx, starts[b]+int64(i))
	}
	ib := array.NewInt64Builder(mem)
	ib.AppendValues(idx, nil)
	idxArr := ib.NewArray()
	ib.Release()
	defer idxArr.Release()
	for c, f := range schema.Fields() {
		got, err := gatherColumn(context.Background(), recs, c, f.Type, refs, starts)
		if err != nil {
			t.Fatalf("column %q: %v", f.Name, err)
		}
		parts := make([]arrow.Array, len(recs))
		for b, r := range recs {
			parts[b] = r.Column(c)
		}
		all, err := array.Concatenate(parts, mem)
		if err != nil {
			t.Fatal(err)
		}
		want, err := compute.TakeArray(context.Background(), all, idxArr)
		all.Release()
		if err != nil {
			t.Fatal(err)
		}
		if !array.Equal(got, want) {
			t.Errorf("column %q: gathered\n%v\nwant (concatenate + take)\n%v", f.Name, got, want)
		}
		if got.NullN() != want.NullN() {
			t.Errorf("column %q: %d nulls; want %d", f.Name, got.NullN(), want.NullN())
		}
		got.Release()
		want.Release()
	}
}
