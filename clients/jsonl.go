// Package clients is the Go client side of sigmaflight: turning event files into Arrow
// record batches and talking Flight SQL to a node. The CLI's client commands use it.
package clients

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// maxLineBytes bounds one JSON line; a Windows event with a large script block can exceed
// bufio's 64 KiB default.
const maxLineBytes = 64 << 20

// JSONLines holds decoded JSON-lines events and the schema inferred from all of them:
// nested objects are flattened to dotted names, a column is Int64 when every value is an
// integer, Float64 when every value is a number, Boolean when every value is a boolean,
// and Utf8 otherwise (other values in their JSON text). Columns keep first-seen order.
type JSONLines struct {
	Schema *arrow.Schema
	events []map[string]any
}

// ReadJSONLines decodes every line of r. A line that is not a JSON object is an error that
// names its line number.
func ReadJSONLines(r io.Reader) (*JSONLines, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), maxLineBytes)
	var (
		events []map[string]any
		order  []string
		kinds  = map[string]valueKind{}
		line   int
	)
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("line %d: not a JSON object: %w", line, err)
		}
		flat := make(map[string]any, len(obj))
		flatten("", obj, flat)
		for k, v := range flat {
			if v == nil {
				continue
			}
			prev, seen := kinds[k]
			if !seen {
				order = append(order, k)
			}
			kinds[k] = mergeKind(prev, seen, kindOf(v))
		}
		events = append(events, flat)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	// Columns whose values were all null are typed Utf8.
	fields := make([]arrow.Field, len(order))
	for i, k := range order {
		fields[i] = arrow.Field{Name: k, Type: kinds[k].arrowType(), Nullable: true}
	}
	return &JSONLines{Schema: arrow.NewSchema(fields, nil), events: events}, nil
}

// Len returns the number of events.
func (j *JSONLines) Len() int { return len(j.events) }

// Batches converts the events into record batches of at most batchRows rows each.
func (j *JSONLines) Batches(mem memory.Allocator, batchRows int) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	b := array.NewRecordBuilder(mem, j.Schema)
	defer b.Release()
	for start := 0; start < len(j.events); start += batchRows {
		end := min(start+batchRows, len(j.events))
		for _, ev := range j.events[start:end] {
			for i, f := range j.Schema.Fields() {
				appendValue(b.Field(i), f.Type, ev[f.Name])
			}
		}
		out = append(out, b.NewRecordBatch())
	}
	return out
}

// Reader returns the batches as a record reader; the reader owns them.
func (j *JSONLines) Reader(mem memory.Allocator, batchRows int) (array.RecordReader, error) {
	batches := j.Batches(mem, batchRows)
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	return array.NewRecordReader(j.Schema, batches)
}

func flatten(prefix string, obj map[string]any, out map[string]any) {
	for k, v := range obj {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if nested, ok := v.(map[string]any); ok {
			flatten(name, nested, out)
			continue
		}
		out[name] = v
	}
}

type valueKind int

const (
	kindNull valueKind = iota
	kindInt
	kindFloat
	kindBool
	kindString
)

func kindOf(v any) valueKind {
	switch v := v.(type) {
	case nil:
		return kindNull
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return kindInt
		}
		return kindFloat
	case bool:
		return kindBool
	default:
		return kindString
	}
}

func mergeKind(prev valueKind, seen bool, next valueKind) valueKind {
	switch {
	case !seen || prev == next:
		return next
	case (prev == kindInt && next == kindFloat) || (prev == kindFloat && next == kindInt):
		return kindFloat
	default:
		return kindString
	}
}

func (k valueKind) arrowType() arrow.DataType {
	switch k {
	case kindInt:
		return arrow.PrimitiveTypes.Int64
	case kindFloat:
		return arrow.PrimitiveTypes.Float64
	case kindBool:
		return arrow.FixedWidthTypes.Boolean
	default:
		return arrow.BinaryTypes.String
	}
}

func appendValue(b array.Builder, t arrow.DataType, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch t.ID() {
	case arrow.INT64:
		n, _ := strconv.ParseInt(string(v.(json.Number)), 10, 64)
		b.(*array.Int64Builder).Append(n)
	case arrow.FLOAT64:
		f, _ := strconv.ParseFloat(string(v.(json.Number)), 64)
		b.(*array.Float64Builder).Append(f)
	case arrow.BOOL:
		b.(*array.BooleanBuilder).Append(v.(bool))
	default:
		b.(*array.StringBuilder).Append(textOf(v))
	}
}

// textOf renders a JSON value as the text stored in a Utf8 column.
func textOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	default:
		data, _ := json.Marshal(v)
		return string(data)
	}
}
