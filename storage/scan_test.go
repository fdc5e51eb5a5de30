package storage

import (
	"context"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestScanProjection(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer mustClose(t, s)
	r1 := mkBatch(col{"a", []int64{1, 2}}, col{"b", []string{"x", "y"}})
	r2 := mkBatch(col{"c", []string{"z"}}, col{"a", []int32{3}})
	mustWrite(t, s, "t", r1, r2)
	releaseAll([]arrow.RecordBatch{r1, r2})
	tbl := mustTable(t, s, "t")

	f := func(cols []string, wantSchema string, want []map[string]any) {
		t.Helper()
		it, err := tbl.Scan(context.Background(), ScanOptions{Columns: cols})
		if err != nil {
			t.Fatalf("Scan(%v): %v", cols, err)
		}
		defer it.Close()
		if got := scanSchemaString(cols, it.Schema()); got != wantSchema {
			t.Fatalf("Scan(%v) schema: got %s; want %s", cols, got, wantSchema)
		}
		if got := drain(t, it); !reflect.DeepEqual(got, want) {
			t.Fatalf("Scan(%v): got %v; want %v", cols, got, want)
		}
	}
	f(nil, "a:int64, b:utf8, c:utf8", []map[string]any{
		{"a": int64(1), "b": "x", "c": nil}, {"a": int64(2), "b": "y", "c": nil}, {"a": int64(3), "b": nil, "c": "z"},
	})
	f([]string{"c", "a"}, "c:utf8, a:int64", []map[string]any{
		{"c": nil, "a": int64(1)}, {"c": nil, "a": int64(2)}, {"c": "z", "a": int64(3)},
	})
	f([]string{"b"}, "b:utf8", []map[string]any{{"b": "x"}, {"b": "y"}, {"b": nil}})
	f([]string{}, "", []map[string]any{{}, {}, {}}) // no columns still count rows (count(*))

	_, err := tbl.Scan(context.Background(), ScanOptions{Columns: []string{"a", "nope"}})
	if !errors.Is(err, ErrColumnNotFound) || !strings.Contains(err.Error(), `table "t"`) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("Scan of an unknown column: got %v; want ErrColumnNotFound naming table and column", err)
	}
}

func TestScanSnapshot(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, t.TempDir())
	defer mustClose(t, s)
	r1 := mkBatch(col{"a", []int64{1, 2}})
	defer r1.Release()
	mustWrite(t, s, "t", r1)
	tbl := mustTable(t, s, "t")
	it, err := tbl.Scan(ctx, ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()

	// Rows and columns written after the scan started are not seen, even after a replace.
	r2 := mkBatch(col{"a", []int64{3}}, col{"b", []string{"new"}})
	defer r2.Release()
	mustWrite(t, s, "t", r2)
	if _, err := s.Write(ctx, "t", WriteOptions{IfExists: IfExistsReplace}, []arrow.RecordBatch{r2}); err != nil {
		t.Fatal(err)
	}
	if got, want := schemaString(it.Schema()), "a:int64"; got != want {
		t.Fatalf("snapshot schema: got %s; want %s", got, want)
	}
	if got, want := drain(t, it), []map[string]any{{"a": int64(1)}, {"a": int64(2)}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot: got %v; want %v", got, want)
	}
	if got, want := scanRows(t, tbl, nil), []map[string]any{{"a": int64(3), "b": "new"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("new scan: got %v; want %v", got, want)
	}
}

func TestScanHonoursContext(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer mustClose(t, s)
	r := mkBatch(col{"a", []int64{1}})
	defer r.Release()
	mustWrite(t, s, "t", r)
	mustWrite(t, s, "t", r)
	it, err := mustTable(t, s, "t").Scan(context.Background(), ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := it.Next(ctx); err != nil {
		t.Fatalf("Next: %v", err)
	}
	cancel()
	if _, err := it.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: got %v; want context.Canceled", err)
	}
	if _, err := mustTable(t, s, "t").Scan(ctx, ScanOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan with a cancelled context: got %v; want context.Canceled", err)
	}
}

// TestScanDuringWrites runs scans while writers append: every scan sees a prefix of whole
// writes and never fails (run with -race).
func TestScanDuringWrites(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, t.TempDir())
	defer mustClose(t, s)
	r := mkBatch(col{"a", []int64{1, 2, 3, 4}})
	defer r.Release()
	mustWrite(t, s, "t", r)
	tbl := mustTable(t, s, "t")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			if _, err := s.Write(ctx, "t", appendOpts, []arrow.RecordBatch{r}); err != nil {
				t.Errorf("Write: %v", err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			if got := tbl.Rows(); got != 201*4 {
				t.Fatalf("rows: got %d; want %d", got, 201*4)
			}
			return
		default:
		}
		it, err := tbl.Scan(ctx, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			rec, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n += int(rec.NumRows())
		}
		it.Close()
		if n%4 != 0 || n == 0 {
			t.Fatalf("scan saw %d rows; want a positive multiple of 4", n)
		}
	}
}

// scanSchemaString renders a scan's schema: the table schema (without ts) for a scan of
// every column, the projection as is otherwise.
func scanSchemaString(cols []string, s *arrow.Schema) string {
	if cols == nil {
		return schemaString(s)
	}
	return projString(s)
}
