package storage

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TestNullColumnsLeftOutOfFrames: a column null in every row of a batch, which the
// table already has with that type, is left out of the batch's WAL frame and head entry
// (dropKnownNullColumns) without changing what anyone sees: scans return nulls for it
// before and after a restart that replays the WAL, a column new to the table stays in
// the schema across the restart even when its first batch holds only nulls, and a null
// column of a conflicting type is still refused.
func TestNullColumnsLeftOutOfFrames(t *testing.T) {
	dir := t.TempDir()
	s := openWith(t, dir, Options{TableDefaults: TableOptions{SealRows: 1 << 40}})
	mustWrite(t, s, "t", mkBatch(col{"id", []int64{1, 2}}, col{"host", []string{"a", "b"}}, col{"msg", []string{"x", "y"}}))
	// host and msg known, null in every row; fresh is new and null in every row.
	mustWrite(t, s, "t", mkBatch(col{"id", []int64{3, 4}}, col{"host", []any{nil, nil}}, col{"msg", []any{nil, "z"}}, col{"fresh", []any{nil, nil}}))
	tbl := mustTable(t, s, "t")
	tbl.mu.Lock()
	last := tbl.batches[len(tbl.batches)-1].Schema()
	tbl.mu.Unlock()
	if len(last.FieldIndices("host")) != 0 || len(last.FieldIndices("msg")) != 1 || len(last.FieldIndices("fresh")) != 1 {
		t.Fatalf("head batch schema %s: want host left out, msg and fresh kept", last)
	}
	want := "1 a x <nil>|2 b y <nil>|3 <nil> <nil> <nil>|4 <nil> z <nil>"
	check := func(when string, s *Store) {
		t.Helper()
		tbl := mustTable(t, s, "t")
		for _, c := range []string{"host", "msg", "fresh"} {
			if ix := tbl.Schema().FieldIndices(c); len(ix) != 1 || !arrow.TypeEqual(tbl.Schema().Field(ix[0]).Type, arrow.BinaryTypes.String) {
				t.Fatalf("%s: schema %s: want %s as utf8", when, tbl.Schema(), c)
			}
		}
		var rows []string
		for _, r := range scanRows(t, tbl, []string{"id", "host", "msg", "fresh"}) {
			rows = append(rows, fmt.Sprintf("%v %v %v %v", r["id"], r["host"], r["msg"], r["fresh"]))
		}
		sort.Strings(rows)
		if got := strings.Join(rows, "|"); got != want {
			t.Fatalf("%s: rows %q, want %q", when, got, want)
		}
	}
	check("before restart", s)
	_, err := s.Write(t.Context(), "t", appendOpts, []arrow.RecordBatch{mkBatch(col{"id", []int64{5}}, col{"host", array.MakeArrayOfNull(mem, arrow.PrimitiveTypes.Int64, 1)})})
	var conflict *SchemaConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("all-null host of type int64 into a utf8 column: %v, want a schema conflict", err)
	}
	mustClose(t, s)
	s = openWith(t, dir, Options{TableDefaults: TableOptions{SealRows: 1 << 40}})
	defer mustClose(t, s)
	check("after replaying the WAL", s)
}

// TestDroppedColumnCheckedUnderLock: a Write that left a column out as all null, because
// the table had it, is refused by the table (errDroppedColumnGone, nothing stored) when
// the table no longer has the column by the time the write is queued (a Replace came in
// between), so that Write makes it again with every column (found in review: the column
// vanished from the schema).
func TestDroppedColumnCheckedUnderLock(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{TableDefaults: TableOptions{SealRows: 1 << 40}})
	defer mustClose(t, s)
	mustWrite(t, s, "t", mkBatch(col{"id", []int64{1}}, col{"x", []string{"a"}}))
	// What Store.Write would have done before the Replace: x known, left out.
	b := mkBatch(col{"id", []int64{2}}, col{"x", []any{nil}})
	defer b.Release()
	rec, err := withTS("t", b, DefaultTimeFields, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	rec, gone := dropKnownNullColumns(rec, mustTable(t, s, "t").Schema())
	if len(gone) != 1 || gone[0].Name != "x" {
		t.Fatalf("left out %v, want x", gone)
	}
	fr, err := encodeFrame(rec, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	// The Replace that wins the race: the table no longer has x.
	if _, err := s.Write(t.Context(), "t", WriteOptions{IfExists: IfExistsReplace}, []arrow.RecordBatch{mkBatch(col{"id", []int64{9}})}); err != nil {
		t.Fatal(err)
	}
	tbl := mustTable(t, s, "t")
	if _, err := tbl.write(t.Context(), []arrow.RecordBatch{rec}, []*arrow.Schema{b.Schema()}, [][]byte{fr}, false, "", gone); !errors.Is(err, errDroppedColumnGone) {
		t.Fatalf("write leaving out a column the table lost: %v, want errDroppedColumnGone", err)
	}
	// Write itself, now: x is not known, so it is kept and evolves the schema.
	if _, err := s.Write(t.Context(), "t", appendOpts, []arrow.RecordBatch{b}); err != nil {
		t.Fatal(err)
	}
	if ix := tbl.Schema().FieldIndices("x"); len(ix) != 1 {
		t.Fatalf("schema after the write: %s; want x", tbl.Schema())
	}
}
