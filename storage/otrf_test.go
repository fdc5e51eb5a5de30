package storage

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// otrfDir is where the OTRF recordings live, relative to the package directory.
const otrfDir = "../../shared/data/otrf"

// otrfEvents is one OTRF recording decoded: the events, the union of their keys in order
// of first appearance, and each key's Arrow type (int64 when every value is an integer,
// utf8 otherwise).
type otrfEvents struct {
	events []map[string]any
	keys   []string
	types  map[string]arrow.DataType
}

var otrfCache sync.Map // file name -> *otrfEvents

// loadOTRF reads the JSON-lines recording in the named zip from otrfDir.
func loadOTRF(tb testing.TB, name string) *otrfEvents {
	tb.Helper()
	if v, ok := otrfCache.Load(name); ok {
		return v.(*otrfEvents)
	}
	oe := decodeOTRF(tb, name)
	otrfCache.Store(name, oe)
	return oe
}

// decodeOTRF reads the JSON-lines recording in the named zip from otrfDir, uncached.
func decodeOTRF(tb testing.TB, name string) *otrfEvents {
	tb.Helper()
	zr, err := zip.OpenReader(filepath.Join(otrfDir, name))
	if err != nil {
		tb.Fatalf("open OTRF recording: %v", err)
	}
	defer zr.Close()
	var jf *zip.File
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".json") && !strings.HasPrefix(f.Name, "__MACOSX/") {
			if jf != nil {
				tb.Fatalf("%s holds more than one JSON file", name)
			}
			jf = f
		}
	}
	if jf == nil {
		tb.Fatalf("%s holds no JSON file", name)
	}
	rc, err := jf.Open()
	if err != nil {
		tb.Fatalf("open %s in %s: %v", jf.Name, name, err)
	}
	defer rc.Close()

	oe := &otrfEvents{types: map[string]arrow.DataType{}}
	isInt := map[string]bool{}
	r := bufio.NewReaderSize(rc, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			dec := json.NewDecoder(bytesReader(line))
			dec.UseNumber()
			var ev map[string]any
			if derr := dec.Decode(&ev); derr != nil {
				tb.Fatalf("%s: decode event %d: %v", name, len(oe.events), derr)
			}
			for k, v := range ev {
				if _, seen := isInt[k]; !seen {
					isInt[k] = true
					oe.keys = append(oe.keys, k)
				}
				if v == nil {
					continue
				}
				n, ok := v.(json.Number)
				if !ok {
					isInt[k] = false
				} else if _, err := strconv.ParseInt(n.String(), 10, 64); err != nil {
					isInt[k] = false
				}
			}
			oe.events = append(oe.events, ev)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("read %s: %v", name, err)
		}
	}
	// Map iteration order made keys random within an event; sort by first appearance
	// deterministically instead: keep the order but make it stable across runs.
	oe.keys = stableKeys(oe)
	for _, k := range oe.keys {
		if isInt[k] {
			oe.types[k] = arrow.PrimitiveTypes.Int64
		} else {
			oe.types[k] = arrow.BinaryTypes.String
		}
	}
	return oe
}

// stableKeys orders keys by the first event holding them, then by name.
func stableKeys(oe *otrfEvents) []string {
	first := map[string]int{}
	for i, ev := range oe.events {
		for k := range ev {
			if _, ok := first[k]; !ok {
				first[k] = i
			}
		}
	}
	keys := append([]string(nil), oe.keys...)
	sortStrings(keys, func(a, b string) bool {
		if first[a] != first[b] {
			return first[a] < first[b]
		}
		return a < b
	})
	return keys
}

// value returns the typed value of key in event i (int64, string or nil), as the store
// should return it.
func (oe *otrfEvents) value(i int, key string) any {
	v, ok := oe.events[i][key]
	if !ok || v == nil {
		return nil
	}
	if oe.types[key].ID() == arrow.INT64 {
		n, _ := strconv.ParseInt(string(v.(json.Number)), 10, 64)
		return n
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// batches converts events[from:to] into record batches of at most size rows. Each batch
// has only the keys its events hold (so writing them exercises schema evolution), with
// the file-wide type of each key.
func (oe *otrfEvents) batches(from, to, size int) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for lo := from; lo < to; lo += size {
		hi := min(lo+size, to)
		present := map[string]bool{}
		for i := lo; i < hi; i++ {
			for k := range oe.events[i] {
				present[k] = true
			}
		}
		var fields []arrow.Field
		var cols []arrow.Array
		for _, k := range oe.keys {
			if !present[k] {
				continue
			}
			dt := oe.types[k]
			fields = append(fields, arrow.Field{Name: k, Type: dt, Nullable: true})
			if dt.ID() == arrow.INT64 {
				b := array.NewInt64Builder(mem)
				for i := lo; i < hi; i++ {
					if v := oe.value(i, k); v == nil {
						b.AppendNull()
					} else {
						b.Append(v.(int64))
					}
				}
				cols = append(cols, b.NewArray())
				b.Release()
			} else {
				b := array.NewStringBuilder(mem)
				for i := lo; i < hi; i++ {
					if v := oe.value(i, k); v == nil {
						b.AppendNull()
					} else {
						b.Append(v.(string))
					}
				}
				cols = append(cols, b.NewArray())
				b.Release()
			}
		}
		out = append(out, array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(hi-lo)))
		releaseArrays(cols)
	}
	return out
}

// bytes returns the encoded size of the events' values, for b.SetBytes.
func recordBytes(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		for _, c := range r.Columns() {
			for _, b := range c.Data().Buffers() {
				if b != nil {
					n += int64(b.Len())
				}
			}
		}
	}
	return n
}
