package clients

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestReadJSONLinesInference(t *testing.T) {
	in := `{"EventID": 1, "Image": "C:\\Windows\\cmd.exe", "n": 1, "ok": true, "Event": {"System": {"Channel": "Security"}}}

{"EventID": 4688, "n": 2.5, "ok": false, "mixed": 1, "list": [1, 2], "nul": null}
{"EventID": 7, "mixed": "x", "Image": null}
`
	j, err := ReadJSONLines(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if j.Len() != 3 {
		t.Fatalf("got %d events; want 3", j.Len())
	}
	f := func(name, want string) {
		t.Helper()
		idx := j.Schema.FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("column %q: got %d fields; want 1 (schema %s)", name, len(idx), j.Schema)
		}
		if got := j.Schema.Field(idx[0]).Type.String(); got != want {
			t.Fatalf("column %q: got type %s; want %s", name, got, want)
		}
	}
	f("EventID", "int64")
	f("Image", "utf8")
	f("n", "float64")
	f("ok", "bool")
	f("Event.System.Channel", "utf8")
	f("mixed", "utf8")
	f("list", "utf8")
	if len(j.Schema.FieldIndices("nul")) != 0 {
		t.Fatalf("a column that is always null should not be inferred")
	}

	batches := j.Batches(memory.DefaultAllocator, 2)
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	if len(batches) != 2 || batches[0].NumRows() != 2 || batches[1].NumRows() != 1 {
		t.Fatalf("got %d batches; want 2 of 2 and 1 rows", len(batches))
	}
	mixed := batches[0].Column(j.Schema.FieldIndices("mixed")[0])
	if got := mixed.ValueStr(1); got != "1" {
		t.Fatalf("mixed[1]: got %q; want \"1\" (number kept as text)", got)
	}
	list := batches[0].Column(j.Schema.FieldIndices("list")[0])
	if got := list.ValueStr(1); got != "[1,2]" {
		t.Fatalf("list[1]: got %q; want [1,2]", got)
	}
}

func TestReadJSONLinesErrorNamesLine(t *testing.T) {
	_, err := ReadJSONLines(strings.NewReader("{\"a\":1}\n[1,2]\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v; want an error naming line 2", err)
	}
}
