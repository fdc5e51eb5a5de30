package eventfile

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Text is a value read from a text format without types (a CSV cell). Unlike a JSON
// string, it is inferred as Int64, Float64 or Boolean when its text round-trips exactly.
type Text string

// Builder turns flat events (field name to value) into record batches whose column types
// never change once emitted. Values are json.Number, string, Text, bool, nil, or any other
// JSON-decoded value (arrays, kept as their JSON text).
//
// Type rules (see clients/DESIGN.md):
//   - A column's type is fixed by the first batch in which it has a non-null value (the
//     sample is that batch: up to BatchRows events), or by Options.Schema when the column
//     is there (the table's existing type).
//   - Inference: JSON integers give Int64, other JSON numbers Float64, JSON booleans
//     Boolean, JSON strings Utf8; Text gives the same types only when its text is the
//     canonical rendering of the value ("42", "1.5", "true"; not "007" or "1.50").
//     Int64 mixed with Float64 gives Float64; any other mix gives Utf8.
//   - Once fixed, a value is converted to the column's type only when that loses nothing
//     (integral float to Int64, integer up to 2^53 to Float64, canonical text to a number
//     or boolean, anything to Utf8 as its JSON text). A value that cannot be is stored in
//     the column "<name>__text" as text instead, or, when that column cannot hold it,
//     the next "__text" suffix (never dropped, never a type conflict).
//   - Columns whose values were all null so far are left out until they get a value.
//
// Every batch carries every fixed column, in first-seen order, so successive batches have
// growing, prefix-compatible schemas.
type Builder struct {
	mem       memory.Allocator
	seed      map[string]arrow.DataType
	cols      []*bcolumn
	index     map[string]int
	pending   []map[string]any
	bytes     int
	overflows int
}

type bcolumn struct {
	name string
	typ  arrow.DataType
}

// overflowSuffix names the Utf8 column that keeps values which do not fit their column's
// fixed type.
const overflowSuffix = "__text"

// NewBuilder returns a Builder seeded with the column types of seed (may be nil).
func NewBuilder(mem memory.Allocator, seed *arrow.Schema) *Builder {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	b := &Builder{mem: mem, seed: map[string]arrow.DataType{}, index: map[string]int{}}
	if seed != nil {
		for _, f := range seed.Fields() {
			b.seed[f.Name] = f.Type
		}
	}
	return b
}

// Add queues one flat event; size is its encoded size in bytes, used for byte batching.
func (b *Builder) Add(ev map[string]any, size int) {
	b.pending = append(b.pending, ev)
	b.bytes += size
}

// Len returns the number of queued events.
func (b *Builder) Len() int { return len(b.pending) }

// Bytes returns the encoded size of the queued events.
func (b *Builder) Bytes() int { return b.bytes }

// Overflows returns how many values so far did not fit their column's type and went to a
// "<name>__text" column.
func (b *Builder) Overflows() int { return b.overflows }

// Schema returns the schema of the columns fixed so far.
func (b *Builder) Schema() *arrow.Schema {
	fields := make([]arrow.Field, len(b.cols))
	for i, c := range b.cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// Flush builds a batch of the queued events and clears the queue; it returns nil when no
// event is queued. The caller releases the batch.
func (b *Builder) Flush() arrow.RecordBatch {
	if len(b.pending) == 0 {
		return nil
	}
	b.fixTypes()
	// Pre-pass: a value that does not fit its column moves, as text, to its overflow
	// column before building, so every value appended below fits.
	for _, ev := range b.pending {
		for k, v := range ev {
			if v != nil && !fits(b.cols[b.index[k]].typ, v) {
				b.relocate(ev, k)
			}
		}
	}
	schema := b.Schema()
	rb := array.NewRecordBuilder(b.mem, schema)
	defer rb.Release()
	for _, ev := range b.pending {
		for i, c := range b.cols {
			v, ok := ev[c.name]
			if !ok || v == nil || !appendFitting(rb.Field(i), c.typ, v) {
				rb.Field(i).AppendNull()
			}
		}
	}
	b.pending = b.pending[:0]
	b.bytes = 0
	return rb.NewRecordBatch()
}

// relocate moves ev[k], which does not fit column k, to its overflow column as text:
// "<k>__text", or, when that column's type (fixed earlier or by the table) cannot hold
// text or the event has its own value there, the next "__text" suffix, and so on. The
// value is never dropped and never causes a type conflict.
func (b *Builder) relocate(ev map[string]any, k string) {
	text := textOf(ev[k])
	delete(ev, k)
	name := k + overflowSuffix
	for {
		b.ensure(name, arrow.BinaryTypes.String)
		if _, taken := ev[name]; !taken && fits(b.cols[b.index[name]].typ, text) {
			ev[name] = text
			b.overflows++
			return
		}
		name += overflowSuffix
	}
}

// fixTypes fixes the type of every column first seen with a non-null value in the queue.
func (b *Builder) fixTypes() {
	kinds := map[string]valueKind{}
	var order []string
	for _, ev := range b.pending {
		for k, v := range ev {
			if _, fixed := b.index[k]; fixed || v == nil {
				continue
			}
			prev, seen := kinds[k]
			if !seen {
				order = append(order, k)
			}
			kinds[k] = mergeKind(prev, seen, kindOf(v))
		}
	}
	// Keep the first event's field order where possible: order is first-seen across
	// events but map iteration within one event is random, so sort by first event index
	// then name for determinism.
	sortByFirstSeen(order, b.pending)
	for _, k := range order {
		t, ok := b.seed[k]
		if !ok || !supportedSeed(t) {
			t = kinds[k].arrowType()
		}
		b.ensure(k, t)
	}
}

func (b *Builder) ensure(name string, t arrow.DataType) {
	if _, ok := b.index[name]; ok {
		return
	}
	if st, ok := b.seed[name]; ok && supportedSeed(st) {
		t = st
	}
	b.index[name] = len(b.cols)
	b.cols = append(b.cols, &bcolumn{name: name, typ: t})
}

func sortByFirstSeen(names []string, events []map[string]any) {
	if len(names) < 2 {
		return
	}
	first := make(map[string]int, len(names))
	for _, n := range names {
		for i, ev := range events {
			if v, ok := ev[n]; ok && v != nil {
				first[n] = i
				break
			}
		}
	}
	// Insertion sort is fine: new columns per batch are few after the first batch.
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && less(names[j], names[j-1], first); j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
}

func less(a, b string, first map[string]int) bool {
	if first[a] != first[b] {
		return first[a] < first[b]
	}
	return a < b
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
		if isIntegerText(string(v)) {
			return kindString // beyond int64: only text keeps every digit
		}
		return kindFloat
	case bool:
		return kindBool
	case Text:
		s := string(v)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(n, 10) == s {
			return kindInt
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && strconv.FormatFloat(f, 'g', -1, 64) == s && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return kindFloat
		}
		if s == "true" || s == "false" {
			return kindBool
		}
		return kindString
	case int64, int:
		return kindInt
	case float64:
		return kindFloat
	default:
		return kindString
	}
}

func isIntegerText(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func mergeKind(prev valueKind, seen bool, next valueKind) valueKind {
	switch {
	case !seen || prev == next || prev == kindNull:
		return next
	case next == kindNull:
		return prev
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

// supportedSeed reports whether the builder can convert values to t; a seeded column of
// another type keeps all its values in the overflow column.
func supportedSeed(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.BOOL, arrow.STRING, arrow.LARGE_STRING, arrow.TIMESTAMP:
		return true
	}
	return false
}

// maxExactFloat is 2^53: integers up to it convert to float64 without loss.
const maxExactFloat = 1 << 53

// asInt returns v as an integer when that is lossless.
func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n, true
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err == nil && f == math.Trunc(f) && math.Abs(f) <= maxExactFloat {
			return int64(f), true
		}
	case string:
		return canonicalInt(v)
	case Text:
		return canonicalInt(string(v))
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) <= maxExactFloat {
			return int64(v), true
		}
	}
	return 0, false
}

func canonicalInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && strconv.FormatInt(n, 10) == s
}

// asFloat returns v as a float when that is lossless.
func asFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return float64(n), n >= -maxExactFloat && n <= maxExactFloat
		}
		if isIntegerText(string(v)) {
			return 0, false
		}
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	case string:
		return canonicalFloat(v)
	case Text:
		return canonicalFloat(string(v))
	case float64:
		return v, true
	case int64:
		return float64(v), v >= -maxExactFloat && v <= maxExactFloat
	case int:
		return float64(v), v >= -maxExactFloat && v <= maxExactFloat
	}
	return 0, false
}

func canonicalFloat(s string) (float64, bool) {
	if n, ok := canonicalInt(s); ok {
		return float64(n), n >= -maxExactFloat && n <= maxExactFloat
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && strconv.FormatFloat(f, 'g', -1, 64) == s && !math.IsInf(f, 0) && !math.IsNaN(f)
}

func asBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		return v == "true", v == "true" || v == "false"
	case Text:
		return v == "true", v == "true" || v == "false"
	}
	return false, false
}

func asTime(v any, unit arrow.TimeUnit) (arrow.Timestamp, bool) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case Text:
		s = string(v)
	default:
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	ts, err := arrow.TimestampFromTime(t, unit)
	return ts, err == nil
}

func intRange(id arrow.Type) (int64, int64) {
	switch id {
	case arrow.INT8:
		return math.MinInt8, math.MaxInt8
	case arrow.INT16:
		return math.MinInt16, math.MaxInt16
	case arrow.INT32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// fits reports whether v converts to t without loss.
func fits(t arrow.DataType, v any) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING:
		return true
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		n, ok := asInt(v)
		lo, hi := intRange(t.ID())
		return ok && n >= lo && n <= hi
	case arrow.FLOAT64:
		_, ok := asFloat(v)
		return ok
	case arrow.FLOAT32:
		f, ok := asFloat(v)
		return ok && float64(float32(f)) == f
	case arrow.BOOL:
		_, ok := asBool(v)
		return ok
	case arrow.TIMESTAMP:
		_, ok := asTime(v, t.(*arrow.TimestampType).Unit)
		return ok
	}
	return false
}

// appendFitting appends v converted to t and reports whether it fitted.
func appendFitting(b array.Builder, t arrow.DataType, v any) bool {
	if !fits(t, v) {
		return false
	}
	switch t.ID() {
	case arrow.STRING:
		b.(*array.StringBuilder).Append(textOf(v))
	case arrow.LARGE_STRING:
		b.(*array.LargeStringBuilder).Append(textOf(v))
	case arrow.INT8:
		n, _ := asInt(v)
		b.(*array.Int8Builder).Append(int8(n))
	case arrow.INT16:
		n, _ := asInt(v)
		b.(*array.Int16Builder).Append(int16(n))
	case arrow.INT32:
		n, _ := asInt(v)
		b.(*array.Int32Builder).Append(int32(n))
	case arrow.INT64:
		n, _ := asInt(v)
		b.(*array.Int64Builder).Append(n)
	case arrow.FLOAT32:
		f, _ := asFloat(v)
		b.(*array.Float32Builder).Append(float32(f))
	case arrow.FLOAT64:
		f, _ := asFloat(v)
		b.(*array.Float64Builder).Append(f)
	case arrow.BOOL:
		x, _ := asBool(v)
		b.(*array.BooleanBuilder).Append(x)
	case arrow.TIMESTAMP:
		ts, _ := asTime(v, t.(*arrow.TimestampType).Unit)
		b.(*array.TimestampBuilder).Append(ts)
	default:
		panic(fmt.Sprintf("BUG: eventfile: fits accepted unsupported type %s", t))
	}
	return true
}

// textOf renders a value as the text stored in a Utf8 column: strings as they are,
// numbers and booleans as their JSON text, arrays and objects as JSON.
func textOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case Text:
		return string(v)
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	default:
		data, _ := json.Marshal(v)
		return string(data)
	}
}
