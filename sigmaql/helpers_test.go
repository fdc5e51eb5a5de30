package sigmaql

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const (
	otrfDir    = "../../shared/data/otrf"
	sigmahqDir = "../../shared/data/sigmahq"
)

// otrfBatch is one OTRF recording as an Arrow record batch.
type otrfBatch struct {
	rec       arrow.RecordBatch
	jsonBytes int64
}

var (
	otrfMu    sync.Mutex
	otrfCache = map[string]otrfBatch{}
)

// mustLoadOTRF converts a zipped JSON-lines recording into one record batch: the union
// of keys as columns (sorted), int64 for keys whose values are all JSON integers, utf8
// otherwise (non-string values by their JSON text), nulls where a key is absent.
func mustLoadOTRF(t testing.TB, name string) otrfBatch {
	t.Helper()
	otrfMu.Lock()
	defer otrfMu.Unlock()
	if b, ok := otrfCache[name]; ok {
		return b
	}
	zr, err := zip.OpenReader(filepath.Join(otrfDir, name))
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer zr.Close()
	f, err := zr.File[0].Open()
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	var events []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decode %s: %v", name, err)
		}
		if ev, ok := v.(map[string]any); ok {
			events = append(events, ev)
		}
	}
	b := otrfBatch{rec: eventsToBatch(events), jsonBytes: int64(len(data))}
	otrfCache[name] = b
	return b
}

// eventsToBatch builds a record batch from decoded JSON objects (json.Number numbers).
func eventsToBatch(events []map[string]any) arrow.RecordBatch {
	isInt := map[string]bool{}
	for _, ev := range events {
		for k, v := range ev {
			if v == nil {
				if _, ok := isInt[k]; !ok {
					isInt[k] = true
				}
				continue
			}
			n, ok := v.(json.Number)
			_, err := strconv.ParseInt(string(n), 10, 64)
			prev, seen := isInt[k]
			isInt[k] = ok && err == nil && (!seen || prev)
		}
	}
	keys := make([]string, 0, len(isInt))
	for k := range isInt {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mem := memory.DefaultAllocator
	var fields []arrow.Field
	var cols []arrow.Array
	for _, k := range keys {
		if isInt[k] {
			b := array.NewInt64Builder(mem)
			for _, ev := range events {
				if n, ok := ev[k].(json.Number); ok {
					i, _ := strconv.ParseInt(string(n), 10, 64)
					b.Append(i)
				} else {
					b.AppendNull()
				}
			}
			fields = append(fields, arrow.Field{Name: k, Type: arrow.PrimitiveTypes.Int64, Nullable: true})
			cols = append(cols, b.NewArray())
			continue
		}
		b := array.NewStringBuilder(mem)
		for _, ev := range events {
			switch v := ev[k].(type) {
			case nil:
				b.AppendNull()
			case string:
				b.Append(v)
			case json.Number:
				b.Append(string(v))
			default:
				j, _ := json.Marshal(v)
				b.Append(string(j))
			}
		}
		fields = append(fields, arrow.Field{Name: k, Type: arrow.BinaryTypes.String, Nullable: true})
		cols = append(cols, b.NewArray())
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(events)))
}

// withColumnAs returns rec with the named string column re-encoded as a dictionary
// (int16 indices) or a string view.
func withColumnAs(t testing.TB, rec arrow.RecordBatch, name string, dict bool) arrow.RecordBatch {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("column %s not found", name)
	}
	c := idx[0]
	src := rec.Column(c).(*array.String)
	mem := memory.DefaultAllocator
	var arr arrow.Array
	var typ arrow.DataType
	if dict {
		dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}
		b := array.NewDictionaryBuilder(mem, dt).(*array.BinaryDictionaryBuilder)
		for i := 0; i < src.Len(); i++ {
			if src.IsNull(i) {
				b.AppendNull()
			} else if err := b.AppendString(src.Value(i)); err != nil {
				t.Fatalf("dictionary: %v", err)
			}
		}
		arr, typ = b.NewArray(), dt
	} else {
		b := array.NewStringViewBuilder(mem)
		for i := 0; i < src.Len(); i++ {
			if src.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(src.Value(i))
			}
		}
		arr, typ = b.NewArray(), arrow.BinaryTypes.StringView
	}
	fields := slices.Clone(rec.Schema().Fields())
	fields[c] = arrow.Field{Name: name, Type: typ, Nullable: true}
	cols := slices.Clone(rec.Columns())
	cols[c] = arr
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// errorsOnly drops warning diagnostics.
func errorsOnly(diags []Diagnostic) []Diagnostic {
	var out []Diagnostic
	for _, d := range diags {
		if !d.Warning {
			out = append(out, d)
		}
	}
	return out
}
