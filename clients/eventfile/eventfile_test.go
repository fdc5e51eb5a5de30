package eventfile

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

const (
	otrfDir       = "../../../shared/data/otrf"
	regressionDir = "../../../shared/data/sigmahq-regression"
)

// readAll reads paths and returns every batch (retained), the sources and the warnings.
func readAll(t *testing.T, paths []string, opts Options) ([]arrow.RecordBatch, []Source, []string) {
	t.Helper()
	var (
		recs  []arrow.RecordBatch
		srcs  []Source
		warns []string
	)
	opts.Warn = func(src Source, msg string) { warns = append(warns, src.String()+": "+msg) }
	err := Read(context.Background(), paths, opts, func(src Source, rec arrow.RecordBatch) error {
		rec.Retain()
		recs = append(recs, rec)
		srcs = append(srcs, src)
		return nil
	})
	if err != nil {
		t.Fatalf("Read(%v): %v", paths, err)
	}
	t.Cleanup(func() {
		for _, r := range recs {
			r.Release()
		}
	})
	return recs, srcs, warns
}

func totalRows(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	return n
}

// zipLines counts the non-empty lines of every .json member of an OTRF zip, without the
// reader under test.
func zipLines(t *testing.T, name string) int64 {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(otrfDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var n int64
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") || strings.HasPrefix(f.Name, "__MACOSX") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				n++
			}
		}
	}
	return n
}

func columnType(t *testing.T, s *arrow.Schema, name string) arrow.DataType {
	t.Helper()
	idx := s.FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("schema has %d columns named %q; want 1 (schema %s)", len(idx), name, s)
	}
	return s.Field(idx[0]).Type
}

func TestReadOTRFZip(t *testing.T) {
	const name = "psh_lsass_memory_dump_comsvcs.zip"
	recs, srcs, warns := readAll(t, []string{filepath.Join(otrfDir, name)}, Options{BatchRows: 100})
	if got, want := totalRows(recs), zipLines(t, name); got != want {
		t.Fatalf("got %d rows; want %d (lines in the zip)", got, want)
	}
	if len(warns) != 0 {
		t.Fatalf("got warnings %v; want none", warns)
	}
	if len(recs) < 2 {
		t.Fatalf("got %d batches; want several with BatchRows 100", len(recs))
	}
	if !strings.HasSuffix(srcs[0].Member, ".json") {
		t.Fatalf("got member %q; want the .json inside the zip", srcs[0].Member)
	}
	last := recs[len(recs)-1].Schema()
	if got := columnType(t, last, "EventID"); got.ID() != arrow.INT64 {
		t.Fatalf("EventID: got %s; want int64", got)
	}
	if got := columnType(t, last, "Channel"); got.ID() != arrow.STRING {
		t.Fatalf("Channel: got %s; want utf8", got)
	}
	// Types never change between batches: every column of an earlier batch has the
	// same type, at the same position, in every later batch.
	for i := 1; i < len(recs); i++ {
		prev, cur := recs[i-1].Schema(), recs[i].Schema()
		for j, f := range prev.Fields() {
			if j >= cur.NumFields() || cur.Field(j).Name != f.Name || !arrow.TypeEqual(cur.Field(j).Type, f.Type) {
				t.Fatalf("batch %d column %d: %v does not extend batch %d's %v", i, j, cur.Field(j), i-1, f)
			}
		}
	}
}

func TestReadSkipsPcapAndMacOSMembers(t *testing.T) {
	recs, _, warns := readAll(t, []string{filepath.Join(otrfDir, "aadinternals_export_adfsdatabaseconfig_remotely.zip")}, Options{})
	if totalRows(recs) != 0 {
		t.Fatalf("got %d rows from a pcap-only zip; want 0", totalRows(recs))
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "packet capture") || !strings.Contains(warns[0], ".pcapng") {
		t.Fatalf("got warnings %q; want one naming the .pcapng as a packet capture", warns)
	}

	const name = "psh_stop_event_logging_controlset_minint_key.zip"
	recs, _, warns = readAll(t, []string{filepath.Join(otrfDir, name)}, Options{})
	if got, want := totalRows(recs), zipLines(t, name); got != want {
		t.Fatalf("got %d rows; want %d", got, want)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "__MACOSX/") {
		t.Fatalf("got warnings %q; want one for the __MACOSX member", warns)
	}
}

func TestReadTarGz(t *testing.T) {
	const name = "covenant_persiststartup.tar.gz"
	recs, srcs, warns := readAll(t, []string{filepath.Join(otrfDir, name)}, Options{})
	if got, want := totalRows(recs), tarLines(t, filepath.Join(otrfDir, name)); got != want {
		t.Fatalf("got %d rows; want %d lines in the archive", got, want)
	}
	if srcs[0].Member != "covenant_persiststartup_2019-12-05044154.json" {
		t.Fatalf("got member %q", srcs[0].Member)
	}
	if len(warns) != 0 {
		t.Fatalf("got warnings %q; want none", warns)
	}
}

// tarLines counts the non-empty lines of every member of a tar.gz with the standard
// library.
func tarLines(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var n int64
	for {
		if _, err := tr.Next(); err == io.EOF {
			return n
		} else if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				n++
			}
		}
	}
}

func TestReadTruncatedGzip(t *testing.T) {
	// A cut-off download: the complete events before the cut are kept, and the
	// truncation is reported as a warning rather than failing the run.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(zw, "{\"i\": %d, \"pad\": \"%s\"}\n", i, strings.Repeat("x", i%50))
	}
	zw.Close()
	cut := buf.Bytes()[:buf.Len()/2]
	p := filepath.Join(t.TempDir(), "cut.jsonl.gz")
	os.WriteFile(p, cut, 0o644)
	recs, _, warns := readAll(t, []string{p}, Options{})
	got := totalRows(recs)
	if got == 0 || got >= 1000 {
		t.Fatalf("got %d rows; want some but not all of the 1000", got)
	}
	// Rows are the first events, in order, with no gap.
	var next int64
	for _, r := range recs {
		col := r.Column(r.Schema().FieldIndices("i")[0]).(*array.Int64)
		for j := 0; j < col.Len(); j++ {
			if col.Value(j) != next {
				t.Fatalf("row %d has i=%d; want %d", next, col.Value(j), next)
			}
			next++
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "truncated") {
		t.Fatalf("got warnings %q; want one truncation warning", warns)
	}
}

// countJSONObjects counts the top-level JSON values in a file with encoding/json.
func countJSONObjects(t *testing.T, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var n int64
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err == io.EOF {
			return n
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		n++
	}
}

func TestReadEvtxDumpRegressionData(t *testing.T) {
	var files []string
	var want int64
	err := filepath.Walk(regressionDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".jsoncls") {
			files = append(files, p)
			want += countJSONObjects(t, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("found %d regression files; want the 202 of the data set", len(files))
	}
	// The whole directory in one call: concatenated objects and nested evtx-dump events.
	recs, _, warns := readAll(t, []string{regressionDir}, Options{})
	if got := totalRows(recs); got != want {
		t.Fatalf("got %d rows; want %d top-level objects in %d files", got, want, len(files))
	}
	for _, w := range warns {
		if !strings.Contains(w, "skipped") {
			t.Fatalf("unexpected warning %q", w)
		}
	}
	last := recs[len(recs)-1].Schema()
	for _, name := range []string{"EventID", "Channel", "Image", "Provider_Name"} {
		columnType(t, last, name) // fails when missing
	}
	if len(last.FieldIndices("Event.System.Channel")) != 0 {
		t.Fatal("evtx events were flattened, not normalised: Event.System.Channel is a column")
	}
}

func TestReadFormats(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jsonl := "{\"a\": 1, \"b\": {\"c\": \"x\"}}\n\n{\"a\": 2, \"b\": {\"c\": \"y\"}, \"d\": true}\n"

	check := func(t *testing.T, recs []arrow.RecordBatch, wantA []int64, wantC []string) {
		t.Helper()
		var gotA []int64
		var gotC []string
		for _, r := range recs {
			ai := r.Schema().FieldIndices("a")
			ci := r.Schema().FieldIndices("b.c")
			if len(ai) != 1 || len(ci) != 1 {
				t.Fatalf("schema %s lacks a or b.c", r.Schema())
			}
			a := r.Column(ai[0]).(*array.Int64)
			c := r.Column(ci[0]).(*array.String)
			for i := 0; i < int(r.NumRows()); i++ {
				gotA = append(gotA, a.Value(i))
				gotC = append(gotC, c.Value(i))
			}
		}
		if strings.Join(gotC, ",") != strings.Join(wantC, ",") || len(gotA) != len(wantA) {
			t.Fatalf("got a=%v c=%v; want a=%v c=%v", gotA, gotC, wantA, wantC)
		}
		for i := range wantA {
			if gotA[i] != wantA[i] {
				t.Fatalf("got a=%v; want %v", gotA, wantA)
			}
		}
	}

	t.Run("jsonl", func(t *testing.T) {
		recs, _, _ := readAll(t, []string{write("e.jsonl", []byte(jsonl))}, Options{})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
	})
	t.Run("gzip", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(jsonl))
		zw.Close()
		recs, srcs, _ := readAll(t, []string{write("e.jsonl.gz", buf.Bytes())}, Options{})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
		if srcs[0].Member != "" {
			t.Fatalf("got member %q for a gzip file; want none", srcs[0].Member)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		recs, srcs, _ := readAll(t, []string{"-"}, Options{Stdin: strings.NewReader(jsonl)})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
		if srcs[0].Path != "-" {
			t.Fatalf("got path %q; want -", srcs[0].Path)
		}
	})
	t.Run("json array", func(t *testing.T) {
		recs, _, _ := readAll(t, []string{write("e.json", []byte(`[{"a": 1, "b": {"c": "x"}}, {"a": 2, "b": {"c": "y"}}]`))}, Options{})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
	})
	t.Run("utf16", func(t *testing.T) {
		var buf bytes.Buffer
		buf.Write([]byte{0xff, 0xfe})
		for _, r := range jsonl {
			buf.WriteByte(byte(r))
			buf.WriteByte(0)
		}
		recs, _, _ := readAll(t, []string{write("e16.json", buf.Bytes())}, Options{})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
	})
	t.Run("csv", func(t *testing.T) {
		recs, _, _ := readAll(t, []string{write("e.csv", []byte("a,b.c,code\n1,x,007\n2,y,12\n"))}, Options{})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
		// "007" does not round-trip as an integer, so the column stays text.
		if got := columnType(t, recs[0].Schema(), "code"); got.ID() != arrow.STRING {
			t.Fatalf("code: got %s; want utf8", got)
		}
	})
	t.Run("zip in directory", func(t *testing.T) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("inner/e.jsonl")
		w.Write([]byte(jsonl))
		w, _ = zw.Create("inner/readme.bin")
		w.Write([]byte{0, 1, 2, 3, 0, 0, 0, 9})
		zw.Close()
		sub := filepath.Join(dir, "zipdir", "nested")
		os.MkdirAll(sub, 0o755)
		os.WriteFile(filepath.Join(sub, "e.zip"), buf.Bytes(), 0o644)
		recs, srcs, warns := readAll(t, []string{filepath.Join(dir, "zipdir")}, Options{})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
		if srcs[0].Member != "inner/e.jsonl" {
			t.Fatalf("got member %q", srcs[0].Member)
		}
		if len(warns) != 1 || !strings.Contains(warns[0], "readme.bin") {
			t.Fatalf("got warnings %q; want one for readme.bin", warns)
		}
	})

	// Typed formats: a batch with known values written by arrow-go's own writers.
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "b.c", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	rb.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	rb.Field(1).(*array.StringBuilder).AppendValues([]string{"x", "y"}, nil)
	rec := rb.NewRecordBatch()
	rb.Release()
	defer rec.Release()

	t.Run("parquet", func(t *testing.T) {
		var buf bytes.Buffer
		if err := pqarrow.WriteTable(array.NewTableFromRecords(schema, []arrow.RecordBatch{rec}), &buf, 1024, nil, pqarrow.DefaultWriterProps()); err != nil {
			t.Fatal(err)
		}
		recs, _, _ := readAll(t, []string{write("e.parquet", buf.Bytes())}, Options{})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
	})
	t.Run("arrow file", func(t *testing.T) {
		var buf bytes.Buffer
		fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(rec)
		fw.Close()
		recs, _, _ := readAll(t, []string{write("e.arrow", buf.Bytes())}, Options{})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
	})
	t.Run("arrow stream", func(t *testing.T) {
		var buf bytes.Buffer
		sw := ipc.NewWriter(&buf, ipc.WithSchema(schema))
		sw.Write(rec)
		sw.Close()
		recs, _, _ := readAll(t, []string{write("e.arrows", buf.Bytes())}, Options{})
		check(t, recs, []int64{1, 2}, []string{"x", "y"})
	})
}

func TestReadErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	f := func(name, content, want string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		err := Read(context.Background(), []string{p}, Options{Warn: func(Source, string) {}}, func(Source, arrow.RecordBatch) error { return nil })
		if err == nil || !strings.Contains(err.Error(), p+": "+want) {
			t.Fatalf("%s: got error %v; want it to contain %q", name, err, p+": "+want)
		}
	}
	f("bad.jsonl", "{\"a\":1}\n{\"a\":2}\n{\"a\": oops}\n", "line 3: invalid JSON")
	f("arr.jsonl", "{\"a\":1}\n[1,2]\n", "line 2: want a JSON object, got an array")
	f("multi.json", "{\n \"a\": 1\n}\n{\n \"a\": \n  ]\n}\n", "line 6: invalid JSON")
	f("bad.csv", "a,b\n1,2\n3,4,5\n", "line 3: 3 fields, but the header has 2")
	if err := Read(context.Background(), []string{filepath.Join(dir, "missing.jsonl")}, Options{}, nil); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Fatalf("got %v; want an error naming missing.jsonl", err)
	}
	if err := Read(context.Background(), nil, Options{Format: "xml"}, nil); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Fatalf("got %v; want an unknown-format error", err)
	}
}
