package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestSplitStatements(t *testing.T) {
	f := func(text string, want []string, wantRest string) {
		t.Helper()
		got, rest := splitStatements(text)
		if strings.Join(got, "|") != strings.Join(want, "|") || strings.TrimSpace(rest) != wantRest {
			t.Fatalf("splitStatements(%q) = %q, rest %q; want %q, rest %q", text, got, rest, want, wantRest)
		}
	}
	f("SELECT 1;", []string{"SELECT 1"}, "")
	f("SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}, "")
	f("SELECT 1;\nSELECT", []string{"SELECT 1"}, "SELECT")
	f("SELECT ';' FROM t;", []string{"SELECT ';' FROM t"}, "")
	f(`SELECT "a;b" FROM t;`, []string{`SELECT "a;b" FROM t`}, "")
	f("SELECT 'it''s;' ;", []string{"SELECT 'it''s;'"}, "")
	f("SELECT 1 -- no; end\n;", []string{"SELECT 1 -- no; end"}, "")
	f("SELECT /* ; */ 1;", []string{"SELECT /* ; */ 1"}, "")
	f(";;", nil, "")
	f("SELECT\n  Image\nFROM events", nil, "SELECT\n  Image\nFROM events")
}

func TestFormatSQLErrorCaret(t *testing.T) {
	stmt := "SELECT Image\nFROM events WHERE imge = 'x'"
	err := fmt.Errorf("query: %w", status.Error(codes.InvalidArgument, `unknown column "imge" (line 2, column 19); did you mean "Image"?`))
	got := formatSQLError(stmt, err)
	want := "ERROR: unknown column \"imge\" (line 2, column 19); did you mean \"Image\"? [InvalidArgument]\n" +
		"LINE 2: FROM events WHERE imge = 'x'\n" +
		"                          ^\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// The caret is under the 19th character of the line.
	lines := strings.Split(got, "\n")
	if idx := strings.Index(lines[2], "^") - len("LINE 2: "); idx != 18 {
		t.Fatalf("caret at column %d; want 19", idx+1)
	}
	// Errors without a position are shown as they are.
	if got := formatSQLError("SELECT 1", errors.New("connection refused")); got != "ERROR: connection refused\n" {
		t.Fatalf("got %q", got)
	}
}

func testReader(t *testing.T) *arrowReader {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "title", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"Whoami, run", "line\nbreak"}, nil)
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{1, 0}, []bool{true, false})
	b.Field(2).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
	rec := b.NewRecordBatch()
	rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	return &arrowReader{rdr}
}

type arrowReader struct{ array.RecordReader }

func TestWriteResultFormats(t *testing.T) {
	f := func(format, want string) {
		t.Helper()
		var buf bytes.Buffer
		n, err := writeResult(&buf, testReader(t), format)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || buf.String() != want {
			t.Fatalf("%s: got %d rows\n%s\nwant 2 rows\n%s", format, n, buf.String(), want)
		}
	}
	f(formatTable, " title       | n | ok\n"+
		"-------------+---+-------\n"+
		" Whoami, run | 1 | true\n"+
		" line↵break  |   | false\n"+
		"(2 rows)\n")
	f(formatCSV, "title,n,ok\n\"Whoami, run\",1,true\n\"line\nbreak\",,false\n")
	f(formatJSON, `{"title":"Whoami, run","n":1,"ok":true}`+"\n"+`{"title":"line\nbreak","n":null,"ok":false}`+"\n")
	if _, err := writeResult(&bytes.Buffer{}, testReader(t), "xml"); err == nil {
		t.Fatal("got no error for format xml")
	}
}
