package eventfile

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// batchesOf feeds events (JSON objects, one batch per inner slice) to a Builder seeded
// with seed and returns the rendered columns "name:type=v1|v2" of each batch.
func batchesOf(t *testing.T, seed *arrow.Schema, batches ...[]string) []string {
	t.Helper()
	b := NewBuilder(memory.DefaultAllocator, seed)
	var out []string
	for _, batch := range batches {
		for _, text := range batch {
			ev, err := DecodeJSONEvent([]byte(text))
			if err != nil {
				t.Fatalf("%s: %v", text, err)
			}
			b.Add(ev, len(text))
		}
		rec := b.Flush()
		var cols []string
		for i, f := range rec.Schema().Fields() {
			var vals []string
			col := rec.Column(i)
			for r := 0; r < col.Len(); r++ {
				if col.IsNull(r) {
					vals = append(vals, "_")
					continue
				}
				vals = append(vals, col.ValueStr(r))
			}
			cols = append(cols, f.Name+":"+f.Type.String()+"="+strings.Join(vals, "|"))
		}
		rec.Release()
		out = append(out, strings.Join(cols, " "))
	}
	return out
}

func TestBuilderTypes(t *testing.T) {
	f := func(seed *arrow.Schema, batches [][]string, want ...string) {
		t.Helper()
		got := batchesOf(t, seed, batches...)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	b := func(events ...string) []string { return events }
	all := func(bs ...[]string) [][]string { return bs }

	// Inference within one batch.
	f(nil, all(b(`{"n": 1}`, `{"n": 2}`)), "n:int64=1|2")
	f(nil, all(b(`{"n": 1}`, `{"n": 2.5}`)), "n:float64=1|2.5")
	f(nil, all(b(`{"n": 1}`, `{"n": "x"}`)), "n:utf8=1|x")
	f(nil, all(b(`{"n": true}`, `{"n": false}`)), "n:bool=true|false")
	f(nil, all(b(`{"n": "4688"}`)), "n:utf8=4688") // JSON strings stay strings
	f(nil, all(b(`{"n": 18446744073709551615}`)), "n:utf8=18446744073709551615")
	f(nil, all(b(`{"a": [1, 2]}`)), "a:utf8=[1,2]")
	// All-null columns wait for a value.
	f(nil, all(b(`{"a": 1, "z": null}`), b(`{"a": 2, "z": "v"}`)), "a:int64=1", "a:int64=2 z:utf8=v")
	// Types are fixed once emitted: later values convert when lossless...
	f(nil, all(b(`{"n": 1.5}`), b(`{"n": 2}`)), "n:float64=1.5", "n:float64=2")
	f(nil, all(b(`{"n": 1}`), b(`{"n": 3.0}`)), "n:int64=1", "n:int64=3")
	f(nil, all(b(`{"s": "a"}`), b(`{"s": 7}`)), "s:utf8=a", "s:utf8=7")
	f(nil, all(b(`{"n": 1}`), b(`{"n": "12"}`)), "n:int64=1", "n:int64=12")
	// ...and otherwise go to the overflow column, never changing the type.
	f(nil, all(b(`{"n": 1}`), b(`{"n": 2.5}`, `{"n": 3}`)), "n:int64=1", "n:int64=_|3 n__text:utf8=2.5|_")
	f(nil, all(b(`{"n": 1}`), b(`{"n": "007"}`)), "n:int64=1", "n:int64=_ n__text:utf8=007")
	f(nil, all(b(`{"n": 1.5}`), b(`{"n": 9007199254740993}`)), "n:float64=1.5", "n:float64=_ n__text:utf8=9007199254740993")
	// A seed (the table's schema) wins over inference.
	seed := arrow.NewSchema([]arrow.Field{{Name: "EventID", Type: arrow.BinaryTypes.String}, {Name: "n", Type: arrow.PrimitiveTypes.Int32}}, nil)
	f(seed, all(b(`{"EventID": 1, "n": 5}`, `{"n": 3000000000}`)), "EventID:utf8=1|_ n:int32=5|_ n__text:utf8=_|3000000000")
	// An overflow column that cannot hold text (the table's own "<name>__text" column) or
	// that the event fills itself passes the value on to the next suffix: never a panic,
	// never a dropped value.
	seed2 := arrow.NewSchema([]arrow.Field{{Name: "seq", Type: arrow.PrimitiveTypes.Int64}, {Name: "seq__text", Type: arrow.PrimitiveTypes.Int64}}, nil)
	f(seed2, all(b(`{"seq": 1}`, `{"seq": "abc"}`)), "seq:int64=1|_ seq__text:int64=_|_ seq__text__text:utf8=_|abc")
	f(nil, all(b(`{"n": 1}`), b(`{"n": "x", "n__text": "own"}`)), "n:int64=1", "n:int64=_ n__text:utf8=own n__text__text:utf8=x")
}

func TestBuilderCSVText(t *testing.T) {
	f := func(values []string, want string) {
		t.Helper()
		b := NewBuilder(memory.DefaultAllocator, nil)
		for _, v := range values {
			b.Add(map[string]any{"c": Text(v)}, len(v))
		}
		rec := b.Flush()
		defer rec.Release()
		if got := rec.Schema().Field(0).Type.String(); got != want {
			t.Fatalf("%q: got %s; want %s", values, got, want)
		}
	}
	f([]string{"1", "22"}, "int64")
	f([]string{"1", "2.5"}, "float64")
	f([]string{"1.50"}, "utf8")
	f([]string{"007"}, "utf8")
	f([]string{"true", "false"}, "bool")
	f([]string{"True"}, "utf8")
	f([]string{"1", "x"}, "utf8")
}

func TestDecodeJSONEventFlattens(t *testing.T) {
	ev, err := DecodeJSONEvent([]byte(`{"a": {"b": {"c": 1}}, "d": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ev["a.b.c"].(json.Number); !ok || got != "1" {
		t.Fatalf("got a.b.c=%v; want 1", ev["a.b.c"])
	}
	if len(ev) != 2 {
		t.Fatalf("got %v; want two fields", ev)
	}
	if _, err := DecodeJSONEvent([]byte(`"x"`)); err == nil {
		t.Fatal("got no error for a string; want one")
	}
}
