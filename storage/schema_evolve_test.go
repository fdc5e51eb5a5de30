package storage

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestJoinTypes(t *testing.T) {
	f := func(a, b arrow.DataType, want arrow.DataType) {
		t.Helper()
		for _, pair := range [][2]arrow.DataType{{a, b}, {b, a}} {
			got, ok := joinTypes(pair[0], pair[1])
			if want == nil {
				if ok {
					t.Fatalf("joinTypes(%s, %s): got %s; want conflict", pair[0], pair[1], got)
				}
				continue
			}
			if !ok || !arrow.TypeEqual(got, want) {
				t.Fatalf("joinTypes(%s, %s): got %v, %v; want %s", pair[0], pair[1], got, ok, want)
			}
		}
	}
	p := arrow.PrimitiveTypes
	s := arrow.BinaryTypes
	f(p.Int64, p.Int64, p.Int64)
	f(p.Int8, p.Int64, p.Int64)
	f(p.Int16, p.Int32, p.Int32)
	f(p.Uint8, p.Uint32, p.Uint32)
	f(p.Uint8, p.Int8, p.Int16)
	f(p.Uint16, p.Int8, p.Int32)
	f(p.Uint32, p.Int64, p.Int64)
	f(p.Uint32, p.Int8, p.Int64)
	f(p.Uint64, p.Int64, nil)
	f(p.Float32, p.Float64, p.Float64)
	f(p.Float32, p.Float32, p.Float32)
	f(p.Int32, p.Float64, nil)
	f(p.Int64, s.String, nil)
	f(s.String, s.Binary, nil)
	f(arrow.Null, s.String, s.String)
	f(arrow.Null, p.Int8, p.Int8)
	f(arrow.FixedWidthTypes.Boolean, p.Int8, nil)
	f(arrow.FixedWidthTypes.Timestamp_us, arrow.FixedWidthTypes.Timestamp_us, arrow.FixedWidthTypes.Timestamp_us)
	f(arrow.FixedWidthTypes.Timestamp_us, arrow.FixedWidthTypes.Timestamp_ms, nil)
}

func TestNormalizeType(t *testing.T) {
	f := func(in, want arrow.DataType) {
		t.Helper()
		if got := normalizeType(in); !arrow.TypeEqual(got, want) {
			t.Fatalf("normalizeType(%s): got %s; want %s", in, got, want)
		}
	}
	s := arrow.BinaryTypes
	f(s.String, s.String)
	f(s.LargeString, s.String)
	f(arrow.BinaryTypes.StringView, s.String)
	f(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: s.String}, s.String)
	f(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint32, ValueType: s.LargeString}, s.String)
	f(s.LargeBinary, s.Binary)
	f(arrow.BinaryTypes.BinaryView, s.Binary)
	f(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Int64},
		&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Int64})
	f(arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int8)
}

// stringKinds returns the same strings (with a null) as utf8, large_utf8, utf8_view and
// dictionary<int16, utf8> arrays.
func stringKinds() []arrow.Array {
	vals := []string{"alpha", "", "a string longer than twelve bytes"}
	valid := []bool{true, false, true}
	sb := array.NewStringBuilder(mem)
	sb.AppendValues(vals, valid)
	lb := array.NewLargeStringBuilder(mem)
	lb.AppendValues(vals, valid)
	vb := array.NewStringViewBuilder(mem)
	vb.AppendValues(vals, valid)
	db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
	for i, v := range vals {
		if valid[i] {
			db.AppendString(v)
		} else {
			db.AppendNull()
		}
	}
	return []arrow.Array{sb.NewArray(), lb.NewArray(), vb.NewArray(), db.NewArray()}
}

func TestSchemaEvolution(t *testing.T) {
	f := func(calls [][]arrow.RecordBatch, wantSchema string, wantRows []map[string]any) {
		t.Helper()
		dir := t.TempDir()
		s := mustOpen(t, dir)
		for _, c := range calls {
			mustWrite(t, s, "t", c...)
			releaseAll(c)
		}
		check := func(when string) {
			t.Helper()
			tbl := mustTable(t, s, "t")
			if got := schemaString(tbl.Schema()); got != wantSchema {
				t.Fatalf("%s: schema %s; want %s", when, got, wantSchema)
			}
			for _, fl := range tbl.Schema().Fields() {
				if !fl.Nullable {
					t.Fatalf("%s: column %q is not nullable", when, fl.Name)
				}
			}
			if got := scanRows(t, tbl, nil); !reflect.DeepEqual(got, wantRows) {
				t.Fatalf("%s: rows %v; want %v", when, got, wantRows)
			}
		}
		check("before reopen")
		mustClose(t, s)
		s = mustOpen(t, dir)
		check("after reopen")
		mustClose(t, s)
	}
	b := func(cols ...col) arrow.RecordBatch { return mkBatch(cols...) }

	// New columns are appended in arrival order; missing ones read as null.
	f([][]arrow.RecordBatch{
		{b(col{"a", []int64{1}}, col{"b", []string{"x"}})},
		{b(col{"c", []string{"y"}}, col{"a", []int64{2}})},
		{b(col{"b", []string{"z"}})},
	}, "a:int64, b:utf8, c:utf8", []map[string]any{
		{"a": int64(1), "b": "x", "c": nil},
		{"a": int64(2), "b": nil, "c": "y"},
		{"a": nil, "b": "z", "c": nil},
	})
	// Narrower integers go into a wider column; a wider batch widens the table.
	f([][]arrow.RecordBatch{
		{b(col{"a", []int32{-1}})},
		{b(col{"a", []int8{-2}})},
		{b(col{"a", []int64{1 << 40}})},
		{b(col{"a", []uint8{255}})},
	}, "a:int64", []map[string]any{{"a": int64(-1)}, {"a": int64(-2)}, {"a": int64(1 << 40)}, {"a": int64(255)}})
	f([][]arrow.RecordBatch{
		{b(col{"u", []uint8{200}})},
		{b(col{"u", []int8{-5}})},
	}, "u:int16", []map[string]any{{"u": int16(200)}, {"u": int16(-5)}})
	f([][]arrow.RecordBatch{
		{b(col{"x", []float32{1.5}})},
		{b(col{"x", []float64{2.25}})},
	}, "x:float64", []map[string]any{{"x": 1.5}, {"x": 2.25}})
	// Every string kind is stored as utf8.
	kinds := stringKinds()
	var calls [][]arrow.RecordBatch
	var rows []map[string]any
	for _, k := range kinds {
		calls = append(calls, []arrow.RecordBatch{b(col{"s", k})})
		k.Release()
		rows = append(rows, map[string]any{"s": "alpha"}, map[string]any{"s": nil}, map[string]any{"s": "a string longer than twelve bytes"})
	}
	f(calls, "s:utf8", rows)
	// An all-null column takes the type of the next batch.
	nulls := array.MakeArrayOfNull(mem, arrow.Null, 2)
	f([][]arrow.RecordBatch{
		{b(col{"n", nulls}), b(col{"n", []int64{7}})},
	}, "n:int64", []map[string]any{{"n": nil}, {"n": nil}, {"n": int64(7)}})
	nulls.Release()
	// Empty batches evolve the schema too.
	f([][]arrow.RecordBatch{
		{b(col{"a", []int64{}})},
		{b(col{"b", []string{"q"}})},
	}, "a:int64, b:utf8", []map[string]any{{"a": nil, "b": "q"}})
}

func TestSchemaConflict(t *testing.T) {
	ctx := context.Background()
	f := func(table string, existing, call []arrow.RecordBatch, want string) {
		t.Helper()
		dir := t.TempDir()
		s := mustOpen(t, dir)
		defer func() { mustClose(t, s) }()
		if existing != nil {
			mustWrite(t, s, table, existing...)
			releaseAll(existing)
		}
		before := ""
		var rows int64
		if tbl, err := s.Table(table); err == nil {
			before, rows = schemaString(tbl.Schema()), tbl.Rows()
		}
		_, err := s.Write(ctx, table, appendOpts, call)
		releaseAll(call)
		if !errors.Is(err, ErrSchemaConflict) {
			t.Fatalf("Write: got %v; want ErrSchemaConflict", err)
		}
		if got := err.Error(); got != want {
			t.Fatalf("error: got %q; want %q", got, want)
		}
		var sce *SchemaConflictError
		if !errors.As(err, &sce) {
			t.Fatalf("error %T is not a *SchemaConflictError", err)
		}
		// Nothing of the call is stored, not even its new columns.
		for _, st := range []*Store{s, nil} {
			if st == nil {
				mustClose(t, s)
				s = mustOpen(t, dir)
				st = s
			}
			tbl, err := st.Table(table)
			if existing == nil {
				if err == nil {
					t.Fatalf("table %q exists after a refused first write", table)
				}
				continue
			}
			if got := schemaString(tbl.Schema()); got != before || tbl.Rows() != rows {
				t.Fatalf("after refused write: schema %s, %d rows; want %s, %d rows", got, tbl.Rows(), before, rows)
			}
		}
	}
	b := func(cols ...col) arrow.RecordBatch { return mkBatch(cols...) }
	f("events",
		[]arrow.RecordBatch{b(col{"EventID", []int64{4688}})},
		[]arrow.RecordBatch{b(col{"EventID", []string{"4688"}})},
		`table "events": column "EventID" has type int64, batch has type utf8`)
	// The first batch of the call is fine and adds a column, the second conflicts.
	f("events",
		[]arrow.RecordBatch{b(col{"EventID", []int64{4688}})},
		[]arrow.RecordBatch{b(col{"Image", []string{"x"}}, col{"EventID", []int64{1}}), b(col{"EventID", []float64{1}})},
		`table "events": column "EventID" has type int64, batch has type float64`)
	// Conflicts between batches of one call are caught before the table is created.
	f("fresh", nil,
		[]arrow.RecordBatch{b(col{"a", []uint64{1}}), b(col{"a", []int64{1}})},
		`table "fresh": column "a" has type uint64, batch has type int64`)
	// The batch type is reported as sent, not as stored.
	kinds := stringKinds()
	f("events",
		[]arrow.RecordBatch{b(col{"EventID", []int64{1}})},
		[]arrow.RecordBatch{b(col{"EventID", kinds[3]})},
		`table "events": column "EventID" has type int64, batch has type dictionary<values=utf8, indices=int16, ordered=false>`)
	releaseArrays(kinds)
}

func TestDuplicateColumnsRefused(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer mustClose(t, s)
	rec := mkBatch(col{"a", []int64{1}}, col{"a", []int64{2}})
	defer rec.Release()
	_, err := s.Write(context.Background(), "t", appendOpts, []arrow.RecordBatch{rec})
	if !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("Write: got %v; want ErrInvalidBatch", err)
	}
	if want := `table "t": batch 0 has column "a" more than once; column names must be unique in a batch: invalid batch`; err.Error() != want {
		t.Fatalf("error: got %q; want %q", err, want)
	}
}
