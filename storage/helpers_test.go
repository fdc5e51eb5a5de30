package storage

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func sortStrings(s []string, less func(a, b string) bool) {
	sort.SliceStable(s, func(i, j int) bool { return less(s[i], s[j]) })
}

func mustOpen(tb testing.TB, dir string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), Options{Dir: dir})
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func mustClose(tb testing.TB, s *Store) {
	tb.Helper()
	if err := s.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
}

var appendOpts = WriteOptions{IfExists: IfExistsAppend, IfNotExists: IfNotExistsCreate}

func mustWrite(tb testing.TB, s *Store, table string, recs ...arrow.RecordBatch) int64 {
	tb.Helper()
	n, err := s.Write(context.Background(), table, appendOpts, recs)
	if err != nil {
		tb.Fatalf("Write(%s): %v", table, err)
	}
	return n
}

func mustTable(tb testing.TB, s *Store, name string) *Table {
	tb.Helper()
	t, err := s.Table(name)
	if err != nil {
		tb.Fatalf("Table(%s): %v", name, err)
	}
	return t
}

// col is one column of a test batch: name and values, one of []int64, []int32, []int8,
// []uint8, []uint64, []float32, []float64, []string, []any (strings and nils), or an
// arrow.Array.
type col struct {
	name string
	vals any
}

// mkBatch builds a record batch from columns. It panics on a value type it does not know.
func mkBatch(cols ...col) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	n := -1
	for i, c := range cols {
		var a arrow.Array
		switch v := c.vals.(type) {
		case arrow.Array:
			v.Retain()
			a = v
		case []int64:
			b := array.NewInt64Builder(mem)
			b.AppendValues(v, nil)
			a = b.NewArray()
		case []int32:
			b := array.NewInt32Builder(mem)
			b.AppendValues(v, nil)
			a = b.NewArray()
		case []int8:
			b := array.NewInt8Builder(mem)
			b.AppendValues(v, nil)
			a = b.NewArray()
		case []uint8:
			b := array.NewUint8Builder(mem)
			b.AppendValues(v, nil)
			a = b.NewArray()
		case []uint64:
			b := array.NewUint64Builder(mem)
			b.AppendValues(v, nil)
			a = b.NewArray()
		case []float32:
			b := array.NewFloat32Builder(mem)
			b.AppendValues(v, nil)
			a = b.NewArray()
		case []float64:
			b := array.NewFloat64Builder(mem)
			b.AppendValues(v, nil)
			a = b.NewArray()
		case []string:
			b := array.NewStringBuilder(mem)
			b.AppendValues(v, nil)
			a = b.NewArray()
		case []any:
			b := array.NewStringBuilder(mem)
			for _, x := range v {
				if x == nil {
					b.AppendNull()
				} else {
					b.Append(x.(string))
				}
			}
			a = b.NewArray()
		default:
			panic("mkBatch: unknown values type")
		}
		if n >= 0 && a.Len() != n {
			panic("mkBatch: columns differ in length")
		}
		n = a.Len()
		fields[i] = arrow.Field{Name: c.name, Type: a.DataType(), Nullable: true}
		arrs[i] = a
	}
	if n < 0 {
		n = 0
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(n))
	releaseArrays(arrs)
	return rec
}

// scanRows reads every row of the table's projection as maps from column to value
// (int64, string, float64, ... or nil).
func scanRows(tb testing.TB, t *Table, columns []string) []map[string]any {
	tb.Helper()
	it, err := t.Scan(context.Background(), ScanOptions{Columns: columns})
	if err != nil {
		tb.Fatalf("Scan(%s): %v", t.Name(), err)
	}
	defer it.Close()
	return drain(tb, it)
}

// drain reads every row of it as a map. The ts column is left out (tests of ts read it
// with drainTS); it must be a non-null timestamp where present.
func drain(tb testing.TB, it Iterator) []map[string]any {
	tb.Helper()
	var rows []map[string]any
	for {
		rec, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			tb.Fatalf("Next: %v", err)
		}
		if !rec.Schema().Equal(it.Schema()) {
			tb.Fatalf("batch schema %v; want iterator schema %v", rec.Schema(), it.Schema())
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]any{}
			for j, f := range rec.Schema().Fields() {
				c := rec.Column(j)
				if f.Name == TSColumn {
					if c.IsNull(i) {
						tb.Fatalf("row %d: ts is null", i)
					}
					continue
				}
				if c.IsNull(i) {
					row[f.Name] = nil
				} else {
					row[f.Name] = c.GetOneForMarshal(i)
				}
			}
			rows = append(rows, row)
		}
	}
}

// schemaString renders a table schema as "name:type, ..." for comparisons, without the
// ts column every table has first; a schema lacking it renders as "MISSING ts: ..." so
// that comparisons fail. A projection (which may omit ts) goes through projString.
func schemaString(s *arrow.Schema) string {
	if s.NumFields() == 0 || s.Field(0).Name != TSColumn || !arrow.TypeEqual(s.Field(0).Type, tsType) {
		return "MISSING ts: " + projString(s)
	}
	return projString(arrow.NewSchema(s.Fields()[1:], nil))
}

// projString renders a schema as "name:type, ...".
func projString(s *arrow.Schema) string {
	var b bytes.Buffer
	for i, f := range s.Fields() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name + ":" + f.Type.String())
	}
	return b.String()
}

// TestMain silences the store's recovery warnings, which the tests provoke on purpose,
// unless -v is given.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}
