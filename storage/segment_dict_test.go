package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// roundTripRow is what TestSealCompactRoundTrip writes per row and expects back.
type roundTripRow struct {
	host, msg, opt, extra *string
	bin                   []byte
	binNull               bool
	n                     *int64
}

func strp(s string) *string { return &s }

// roundTripBatch builds batch b of rows rows: id, ts, host (4 values: a dictionary),
// msg (distinct per row: written plain), opt (mostly null, some empty strings), bin
// (binary), n (int64 with nulls), never (null in every row) and, in odd batches only,
// extra (a column some batches lack).
func roundTripBatch(b, rows int, base time.Time, want map[int64]roundTripRow, long bool) arrow.RecordBatch {
	fields := []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: TSColumn, Type: tsType, Nullable: true},
		{Name: "host", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "msg", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "opt", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "never", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	if b%2 == 1 {
		fields = append(fields, arrow.Field{Name: "extra", Type: arrow.BinaryTypes.String, Nullable: true})
	}
	sc := arrow.NewSchema(fields, nil)
	rb := array.NewRecordBuilder(mem, sc)
	defer rb.Release()
	for i := range rows {
		id := int64(b*rows + i)
		var r roundTripRow
		rb.Field(0).(*array.Int64Builder).Append(id)
		// Rows of a batch arrive out of ts order: segments sort them.
		rb.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(base.Add(time.Duration((id*7919)%100000) * time.Millisecond).UnixMicro()))
		if i%13 == 0 {
			rb.Field(2).AppendNull()
		} else {
			r.host = strp(fmt.Sprintf("host-%d", i%4))
			rb.Field(2).(*array.StringBuilder).Append(*r.host)
		}
		// msg is mostly distinct (written plain), null in some rows, and with long once
		// longer than a zone map keeps (that row group has no bounds for it).
		switch {
		case i%17 == 5:
			rb.Field(3).AppendNull()
		case long && b == 3 && i == 500:
			r.msg = strp("process " + strings.Repeat("x", maxZoneStringLen))
			rb.Field(3).(*array.StringBuilder).Append(*r.msg)
		default:
			r.msg = strp(fmt.Sprintf("process %d started with a long and unique command line %x", id, id*2654435761))
			rb.Field(3).(*array.StringBuilder).Append(*r.msg)
		}
		switch {
		case i%10 == 3:
			r.opt = strp("")
			rb.Field(4).(*array.StringBuilder).Append("")
		case i%10 == 7:
			r.opt = strp("seven")
			rb.Field(4).(*array.StringBuilder).Append("seven")
		default:
			rb.Field(4).AppendNull()
		}
		if i%5 == 0 {
			r.binNull = true
			rb.Field(5).AppendNull()
		} else {
			r.bin = []byte{byte(i), 0, byte(i % 3)}
			rb.Field(5).(*array.BinaryBuilder).Append(r.bin)
		}
		if i%3 == 0 {
			rb.Field(6).AppendNull()
		} else {
			v := id * 3
			r.n = &v
			rb.Field(6).(*array.Int64Builder).Append(v)
		}
		rb.Field(7).AppendNull()
		if b%2 == 1 {
			r.extra = strp(fmt.Sprintf("x%d", i%2))
			rb.Field(8).(*array.StringBuilder).Append(*r.extra)
		}
		want[id] = r
	}
	return rb.NewRecordBatch()
}

// TestSealCompactRoundTrip checks that every value comes back exactly as written after
// sealing (string columns as dictionaries built from the head, mostly-distinct ones
// plain, all-null columns left out of the files) and again after compaction (which
// reads dictionary pages and writes them back through the dictionaries), with 1 and 4
// shards, and that string zone maps still prune.
func TestSealCompactRoundTrip(t *testing.T) {
	for _, c := range []struct {
		shards int
		long   bool
	}{{1, false}, {4, false}, {4, true}} {
		shards := c.shards
		t.Run(fmt.Sprintf("shards=%d/long=%v", shards, c.long), func(t *testing.T) {
			s := openWith(t, t.TempDir(), Options{TableDefaults: TableOptions{Shards: shards, PartitionKeys: []string{"host"}, RowGroupRows: 700}})
			defer mustClose(t, s)
			ctx := context.Background()
			base := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
			want := map[int64]roundTripRow{}
			const batches, rows = 8, 1000
			for b := range batches {
				rec := roundTripBatch(b, rows, base, want, c.long)
				mustWrite(t, s, "events", rec)
				rec.Release()
				if err := mustTable(t, s, "events").Seal(ctx); err != nil {
					t.Fatal(err)
				}
			}
			tbl := mustTable(t, s, "events")
			check := func(stage string) {
				t.Helper()
				got := readRoundTrip(t, tbl, nil)
				if len(got) != len(want) {
					t.Fatalf("%s: %d rows; want %d", stage, len(got), len(want))
				}
				for id, w := range want {
					g, ok := got[id]
					if !ok {
						t.Fatalf("%s: row %d missing", stage, id)
					}
					if d := diffRow(g, w); d != "" {
						t.Fatalf("%s: row %d: %s", stage, id, d)
					}
				}
			}
			check("sealed")
			checkZoneMaps(t, tbl, "sealed", c.long)
			segsBefore := tbl.Stats().Segments
			if err := tbl.Compact(ctx); err != nil {
				t.Fatal(err)
			}
			if st := tbl.Stats(); st.Compactions == 0 || st.Segments >= segsBefore {
				t.Fatalf("compaction did nothing: %d compactions, %d segments (from %d)", st.Compactions, st.Segments, segsBefore)
			}
			check("compacted")
			checkZoneMaps(t, tbl, "compacted", c.long)

			// Zone maps from the dictionaries: no segment holds host "zzz" or a value of
			// the never-written column, every segment may hold host-1.
			for _, p := range []struct {
				pred     Predicate
				wantRead bool
			}{
				{Predicate{Column: "host", Op: OpEq, Value: "zzz"}, false},
				{Predicate{Column: "host", Op: OpLt, Value: "host-0"}, false},
				{Predicate{Column: "never", Op: OpEq, Value: "a"}, false},
				// (With the long value, the segments holding it have no msg bounds.)
				{Predicate{Column: "msg", Op: OpGt, Value: "process 9999 started"}, c.long},
				{Predicate{Column: "host", Op: OpEq, Value: "host-1"}, true},
			} {
				st := scanStats(t, tbl, p.pred)
				if (st.SegmentsScanned > 0) != p.wantRead {
					t.Errorf("predicate %v: %d of %d segments read; want read=%v", p.pred, st.SegmentsScanned, st.Segments, p.wantRead)
				}
			}
		})
	}
}

// checkZoneMaps compares every row group's zone map of every segment of tbl with
// columnStats over that row group's values as pqarrow reads them back; it fails when no
// row group has string bounds, or (wantUnbounded) none lacks them for a utf8 column
// holding values.
func checkZoneMaps(t *testing.T, tbl *Table, stage string, wantUnbounded bool) {
	t.Helper()
	withBounds, without := 0, 0
	for _, seg := range tbl.Segments() {
		data := readParquet(t, filepath.Join(tbl.dir, seg.File))
		for name := range seg.Columns {
			ix := data.Schema().FieldIndices(name)
			if len(ix) != 1 {
				t.Fatalf("%s: %s: column %q in the zone maps, not in the file", stage, seg.File, name)
			}
			col, err := array.Concatenate(data.Column(ix[0]).Data().Chunks(), mem)
			if err != nil {
				t.Fatal(err)
			}
			off := 0
			for g, rg := range seg.RowGroups {
				want := columnStats(col, off, int(rg.Rows))
				got := rg.Columns[name]
				if got == nil || !reflect.DeepEqual(*got, want) {
					t.Fatalf("%s: %s row group %d column %q: zone map %+v; the values read back give %+v", stage, seg.File, g, name, got, want)
				}
				if want.Kind == "s" {
					withBounds++
				} else if want.Nulls < rg.Rows && col.DataType().ID() == arrow.STRING {
					without++
				}
				off += int(rg.Rows)
			}
			col.Release()
		}
		data.Release()
	}
	if withBounds == 0 || wantUnbounded != (without > 0) {
		t.Fatalf("%s: %d row-group string zone maps with bounds, %d without; want some with, and some without: %v", stage, withBounds, without, wantUnbounded)
	}
}

func diffRow(g, w roundTripRow) string {
	eq := func(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	show := func(p *string) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprintf("%q", *p)
	}
	switch {
	case !eq(g.host, w.host):
		return fmt.Sprintf("host %s; want %s", show(g.host), show(w.host))
	case !eq(g.msg, w.msg):
		return fmt.Sprintf("msg %s; want %s", show(g.msg), show(w.msg))
	case !eq(g.opt, w.opt):
		return fmt.Sprintf("opt %s; want %s", show(g.opt), show(w.opt))
	case !eq(g.extra, w.extra):
		return fmt.Sprintf("extra %s; want %s", show(g.extra), show(w.extra))
	case g.binNull != w.binNull || string(g.bin) != string(w.bin):
		return fmt.Sprintf("bin %v (null %v); want %v (null %v)", g.bin, g.binNull, w.bin, w.binNull)
	case (g.n == nil) != (w.n == nil) || (g.n != nil && *g.n != *w.n):
		return fmt.Sprintf("n %v; want %v", g.n, w.n)
	}
	return ""
}

// readRoundTrip scans every row of tbl, by id.
func readRoundTrip(t *testing.T, tbl *Table, preds []Predicate) map[int64]roundTripRow {
	t.Helper()
	it, err := tbl.Scan(context.Background(), ScanOptions{Columns: []string{"id", "host", "msg", "opt", "bin", "n", "never", "extra"}, Predicates: preds})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	got := map[int64]roundTripRow{}
	str := func(a arrow.Array, i int) *string {
		if a.IsNull(i) {
			return nil
		}
		return strp(a.(*array.String).Value(i))
	}
	for {
		rec, err := it.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids := rec.Column(0).(*array.Int64)
		for i := range int(rec.NumRows()) {
			var r roundTripRow
			r.host, r.msg, r.opt, r.extra = str(rec.Column(1), i), str(rec.Column(2), i), str(rec.Column(3), i), str(rec.Column(7), i)
			if v := str(rec.Column(6), i); v != nil {
				t.Fatalf("row %d: column never = %q; want null", ids.Value(i), *v)
			}
			if rec.Column(4).IsNull(i) {
				r.binNull = true
			} else {
				r.bin = append([]byte(nil), rec.Column(4).(*array.Binary).Value(i)...)
			}
			if !rec.Column(5).IsNull(i) {
				v := rec.Column(5).(*array.Int64).Value(i)
				r.n = &v
			}
			if _, dup := got[ids.Value(i)]; dup {
				t.Fatalf("row %d returned twice", ids.Value(i))
			}
			got[ids.Value(i)] = r
		}
	}
	return got
}

func scanStats(t *testing.T, tbl *Table, p Predicate) ScanStats {
	t.Helper()
	it, err := tbl.Scan(context.Background(), ScanOptions{Columns: []string{"id"}, Predicates: []Predicate{p}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for {
		if _, err := it.Next(context.Background()); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return it.(StatsIterator).Stats()
}

// TestDictionaryTooLargeWrittenPlain: a string column whose values could make a
// dictionary page past maxDictPageBytes in a row group (lowered here to 16 KiB; the real
// bound keeps the page's int32 size from overflowing, which arrow-go does not check) is
// written plain even though its values repeat, and reads back whole; under the bound the
// same column gets a dictionary page.
func TestDictionaryTooLargeWrittenPlain(t *testing.T) {
	for _, limit := range []int{16 << 10, 1 << 30} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			defer func(v int) { maxDictPageBytes = v }(maxDictPageBytes)
			maxDictPageBytes = limit
			s := openWith(t, t.TempDir(), Options{TableDefaults: TableOptions{Shards: 1}})
			defer mustClose(t, s)
			b := array.NewStringBuilder(mem)
			ts := array.NewTimestampBuilder(mem, tsType)
			var want []string
			for i := range 2000 {
				v := fmt.Sprintf("%d-%s", i%10, strings.Repeat("x", 1000)) // 10 distinct values of ~1 KB
				want = append(want, v)
				b.Append(v)
				ts.Append(arrow.Timestamp(time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC).UnixMicro()))
			}
			vc, tc := b.NewArray(), ts.NewArray()
			sc := arrow.NewSchema([]arrow.Field{{Name: TSColumn, Type: tsType, Nullable: true}, {Name: "v", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
			rec := array.NewRecordBatch(sc, []arrow.Array{tc, vc}, 2000)
			vc.Release()
			tc.Release()
			mustWrite(t, s, "t", rec)
			rec.Release()
			tbl := mustTable(t, s, "t")
			if err := tbl.Seal(context.Background()); err != nil {
				t.Fatal(err)
			}
			segs := tbl.Segments()
			if len(segs) != 1 {
				t.Fatalf("%d segments; want 1", len(segs))
			}
			f, err := os.Open(filepath.Join(tbl.dir, segs[0].File))
			if err != nil {
				t.Fatal(err)
			}
			pr, err := file.NewParquetReader(f)
			if err != nil {
				t.Fatal(err)
			}
			leaf := pr.MetaData().Schema.ColumnIndexByName("v")
			dict := storedWithDictionary(pr, leaf)
			pr.Close()
			if wantDict := limit > 1<<20; dict != wantDict {
				t.Fatalf("column v stored with a dictionary page: %v; want %v", dict, wantDict)
			}
			var got []string
			for _, r := range scanRows(t, tbl, []string{"v"}) {
				got = append(got, r["v"].(string))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("values read back differ (%d rows; want %d)", len(got), len(want))
			}
		})
	}
}

// TestZoneMapLongStringKeepsNoPointer: a zone whose strings pass maxZoneStringLen keeps
// no bounds and no string pointing into the array (whose buffers a seal reuses: the
// manifest's bytes changed under a later seal, and the race detector saw it).
func TestZoneMapLongStringKeepsNoPointer(t *testing.T) {
	b := array.NewStringBuilder(mem)
	b.AppendValues([]string{"a", strings.Repeat("z", maxZoneStringLen+1), "m"}, nil)
	arr := b.NewArray()
	defer arr.Release()
	cs := columnStats(arr, 0, arr.Len())
	if cs.HasMinMax || cs.MinS != "" || cs.MaxS != "" {
		t.Fatalf("zone map %+v; want no bounds and empty MinS/MaxS", cs)
	}
}

// TestBinaryBoundsSurviveTheManifest: zone-map bounds are kept in the JSON manifest,
// which turns bytes that are not UTF-8 into U+FFFD; a binary column holding such a
// value keeps no bounds, so that after a reopen the segment holding "\xff" is still read
// for b = "\xff" (it was pruned: found in review). Both the plain path (mostly
// distinct values) and the dictionary path (few values).
func TestBinaryBoundsSurviveTheManifest(t *testing.T) {
	for _, distinct := range []bool{true, false} {
		t.Run(fmt.Sprintf("distinct=%v", distinct), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := mustOpen(t, dir)
			bb := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
			for i := 0; i < 100; i++ {
				if distinct {
					bb.Append([]byte{0x01, byte(i)})
				} else {
					bb.Append([]byte{0x01, byte(i % 3)})
				}
			}
			bb.Append([]byte{0xff})
			ba := bb.NewArray()
			rec := mkBatch(col{"id", make([]int64, 101)}, col{"b", ba})
			mustWrite(t, s, "t", rec)
			rec.Release()
			if err := mustTable(t, s, "t").Seal(ctx); err != nil {
				t.Fatal(err)
			}
			mustClose(t, s)
			s = mustOpen(t, dir)
			defer mustClose(t, s)
			st := scanStats(t, mustTable(t, s, "t"), Predicate{Column: "b", Op: OpEq, Value: "\xff"})
			if st.SegmentsScanned == 0 {
				t.Fatalf("after a reopen the segment holding b = 0xff was pruned (%d segments)", st.Segments)
			}
			// The zone maps do prune otherwise (id is 0 in every row).
			if st := scanStats(t, mustTable(t, s, "t"), Predicate{Column: "id", Op: OpEq, Value: int64(5)}); st.SegmentsScanned != 0 {
				t.Fatalf("id = 5 read %d segments; want 0 (the zone maps prune)", st.SegmentsScanned)
			}
		})
	}
}
