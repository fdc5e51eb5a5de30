package ipccheck

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	flatbuffers "github.com/google/flatbuffers/go"
)

// nestedSchema has metadata on the schema and a field, a struct holding a list, and 100
// schema metadata pairs, the first value of 5,000 bytes (so that sharing it 100 times is
// more than the message holds).
func nestedSchema() *arrow.Schema {
	var keys, vals []string
	for i := 0; i < 100; i++ {
		keys = append(keys, fmt.Sprintf("k%03d", i))
		vals = append(vals, string(rune('a'+i%26)))
	}
	vals[0] = strings.Repeat("v", 5000)
	md := arrow.NewMetadata(keys, vals)
	fmd := arrow.NewMetadata([]string{"unit"}, []string{"ms"})
	return arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_ms, Metadata: fmd},
		{Name: "s", Type: arrow.StructOf(
			arrow.Field{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
			arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		), Nullable: true},
		{Name: "t1", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Berlin"}},
		{Name: "t2", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Berlin"}},
		{Name: "t3", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
	}, &md)
}

// stream writes one empty batch of schema as an IPC stream.
func stream(t *testing.T, schema *arrow.Schema) []byte {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// schemaMeta returns the first message's metadata within s (a slice of s, so edits
// show in s) and its Schema table.
func schemaMeta(t *testing.T, s []byte) ([]byte, flatbuffers.Table) {
	t.Helper()
	if binary.LittleEndian.Uint32(s) != 0xFFFFFFFF {
		t.Fatal("no continuation marker")
	}
	meta := s[8 : 8+binary.LittleEndian.Uint32(s[4:])]
	pos := flatbuffers.GetUOffsetT(meta)
	msg := flatbuffers.Table{Bytes: meta, Pos: pos}
	var schema flatbuffers.Table
	msg.Union(&schema, flatbuffers.UOffsetT(msg.Offset(messageHeader)))
	return meta, schema
}

// vectorAt returns the position of the first element of the vector in slot of t.
func vectorAt(t *testing.T, tab flatbuffers.Table, slot flatbuffers.VOffsetT) (flatbuffers.UOffsetT, int) {
	t.Helper()
	o := tab.Offset(slot)
	if o == 0 {
		t.Fatalf("slot %d is empty", slot)
	}
	return tab.Vector(flatbuffers.UOffsetT(o)), tab.VectorLen(flatbuffers.UOffsetT(o))
}

func element(meta []byte, at flatbuffers.UOffsetT) flatbuffers.Table {
	return flatbuffers.Table{Bytes: meta, Pos: at + flatbuffers.GetUOffsetT(meta[at:])}
}

// pointAt makes the offset stored at at point at target (backwards through uint32
// wrap-around, as a forged message would).
func pointAt(meta []byte, at, target flatbuffers.UOffsetT) {
	binary.LittleEndian.PutUint32(meta[at:], uint32(target-at))
}

func TestValidStreamsPass(t *testing.T) {
	for _, schema := range []*arrow.Schema{
		nestedSchema(),
		arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int32}}, nil),
		arrow.NewSchema([]arrow.Field{{Name: "d", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}}}, nil),
		arrow.NewSchema(nil, nil),
	} {
		s := stream(t, schema)
		if err := Stream(s); err != nil {
			t.Fatalf("%v: %v", schema, err)
		}
		// Every message of the stream, record batches included.
		n := 0
		for off := 0; binary.LittleEndian.Uint32(s[off+4:]) != 0; n++ {
			meta := s[off+8 : off+8+int(binary.LittleEndian.Uint32(s[off+4:]))]
			if err := Message(meta); err != nil {
				t.Fatalf("%v: message %d: %v", schema, n, err)
			}
			msg := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
			off += 8 + len(meta) + int(msg.GetInt64Slot(10, 0))
		}
		if n < 2 {
			t.Fatalf("%v: %d messages; want a schema, a record batch and any dictionaries", schema, n)
		}
	}
}

// TestForgedSchemasRefused: each forged schema message would make arrow-go's reader
// allocate without bound or recurse until the stack limit (both fatal); Message refuses it.
func TestForgedSchemasRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		want string
		edit func(t *testing.T, meta []byte, schema flatbuffers.Table)
	}{
		{"four billion fields", "runs past", func(t *testing.T, meta []byte, schema flatbuffers.Table) {
			at, _ := vectorAt(t, schema, schemaFields)
			binary.LittleEndian.PutUint32(meta[at-4:], 0xFFFFFFF0)
		}},
		{"a million schema metadata pairs", "runs past", func(t *testing.T, meta []byte, schema flatbuffers.Table) {
			at, _ := vectorAt(t, schema, schemaMetadata)
			binary.LittleEndian.PutUint32(meta[at-4:], 1<<20)
		}},
		{"a struct that is its own child", "deeper than", func(t *testing.T, meta []byte, schema flatbuffers.Table) {
			at, _ := vectorAt(t, schema, schemaFields)
			s := element(meta, at+4) // field 1, the struct
			kids, _ := vectorAt(t, s, fieldChildren)
			pointAt(meta, kids, s.Pos)
		}},
		{"one metadata value shared by every pair", "add up to more", func(t *testing.T, meta []byte, schema flatbuffers.Table) {
			at, n := vectorAt(t, schema, schemaMetadata)
			var big flatbuffers.UOffsetT // the pair holding the 5,000-byte value
			for i := 0; i < n; i++ {
				kv := element(meta, at+flatbuffers.UOffsetT(4*i))
				if v := kv.Offset(keyValueValue); v != 0 && len(kv.ByteVector(kv.Pos+flatbuffers.UOffsetT(v))) == 5000 {
					big = kv.Pos
				}
			}
			if big == 0 {
				t.Fatal("no 5,000-byte metadata value")
			}
			for i := 0; i < n; i++ {
				pointAt(meta, at+flatbuffers.UOffsetT(4*i), big)
			}
		}},
		{"a field name past the end", "runs past", func(t *testing.T, meta []byte, schema flatbuffers.Table) {
			at, _ := vectorAt(t, schema, schemaFields)
			f := element(meta, at)
			o := f.Offset(fieldName)
			str := f.Pos + flatbuffers.UOffsetT(o)
			str += flatbuffers.GetUOffsetT(meta[str:])
			binary.LittleEndian.PutUint32(meta[str:], 1<<30)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := stream(t, nestedSchema())
			meta, schema := schemaMeta(t, s)
			c.edit(t, meta, schema)
			err := Stream(s)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Stream: %v; want an error saying %q", err, c.want)
			}
		})
	}
}

// FuzzStream: a stream Stream accepts decodes through arrow-go's reader (with the
// message limits and a capped allocator, as the server and the WAL use it) to an error
// or a batch, never a fatal error of the runtime.
func FuzzStream(f *testing.F) {
	f.Add(stream(&testing.T{}, nestedSchema()))
	f.Add(stream(&testing.T{}, arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int32}}, nil)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if Stream(b) != nil {
			return
		}
		func() {
			defer func() { _ = recover() }()
			limit := int64(len(b))
			mr := ipc.NewMessageReader(bytes.NewReader(b), ipc.WithMetadataSizeLimit(limit), ipc.WithBodySizeLimit(limit))
			r, err := ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(capped{memory.DefaultAllocator, 1 << 20}))
			if err != nil {
				return
			}
			defer r.Release()
			for r.Next() {
			}
		}()
	})
}

type capped struct {
	memory.Allocator
	max int
}

func (c capped) Allocate(n int) []byte {
	if n > c.max {
		panic("too large")
	}
	return c.Allocator.Allocate(n)
}

func (c capped) Reallocate(n int, b []byte) []byte {
	if n > c.max {
		panic("too large")
	}
	return c.Allocator.Reallocate(n, b)
}

// sharedTimestampSchema is a schema message whose fields vector holds k offsets to one
// Field table of type Timestamp with a time zone of tzLen bytes: arrow-go copies the
// time zone once per entry (k x tzLen bytes from a message of about tzLen + 4k).
func sharedTimestampSchema(k, tzLen int) []byte {
	b := flatbuffers.NewBuilder(0)
	tz := b.CreateString(strings.Repeat("x", tzLen))
	b.StartObject(2) // Timestamp
	b.PrependInt16Slot(0, 2, 0)
	b.PrependUOffsetTSlot(1, tz, 0)
	ts := b.EndObject()
	b.StartObject(7) // Field
	b.PrependBoolSlot(1, true, false)
	b.PrependByteSlot(2, typeTimestamp, 0)
	b.PrependUOffsetTSlot(3, ts, 0)
	field := b.EndObject()
	b.StartVector(4, k, 4)
	for i := 0; i < k; i++ {
		b.PrependUOffsetT(field)
	}
	vec := b.EndVector(k)
	b.StartObject(4) // Schema
	b.PrependUOffsetTSlot(1, vec, 0)
	schema := b.EndObject()
	b.StartObject(5)            // Message
	b.PrependInt16Slot(0, 4, 0) // V5
	b.PrependByteSlot(1, headerSchema, 0)
	b.PrependUOffsetTSlot(2, schema, 0)
	msg := b.EndObject()
	b.Finish(msg)
	return b.FinishedBytes()
}

// checkedStream writes rec as an IPC stream, which Stream must accept.
func checkedStream(t *testing.T, rec arrow.RecordBatch) []byte {
	t.Helper()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Stream(buf.Bytes()); err != nil {
		t.Fatalf("the stream as written: %v", err)
	}
	return buf.Bytes()
}

// recordBatchTable returns the RecordBatch table of the stream's second message (the
// record batch; meta is a slice of s, so edits show in s).
func recordBatchTable(t *testing.T, s []byte) ([]byte, flatbuffers.Table, flatbuffers.Table) {
	t.Helper()
	off := 8 + int(binary.LittleEndian.Uint32(s[4:]))
	meta := s[off+8 : off+8+int(binary.LittleEndian.Uint32(s[off+4:]))]
	msg := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
	var rb flatbuffers.Table
	msg.Union(&rb, flatbuffers.UOffsetT(msg.Offset(messageHeader)))
	return meta, msg, rb
}

// TestForgedRecordBatchesRefused: the forgeries review found past the first version,
// each fatal to arrow-go's reader (a slice of billions of entries) and accepted then:
// a record batch message's custom metadata (the WAL checked only the schema message),
// a view column's variadic buffer count, and one time zone shared by thousands of
// fields (copied per field: quadratic memory).
func TestForgedRecordBatchesRefused(t *testing.T) {
	t.Run("record batch custom metadata", func(t *testing.T) {
		sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
		b := array.NewInt64Builder(memory.DefaultAllocator)
		b.AppendValues([]int64{1, 2}, nil)
		col := b.NewArray()
		s := checkedStream(t, array.NewRecordBatchWithMetadata(sc, []arrow.Array{col}, 2, arrow.NewMetadata([]string{"k"}, []string{"v"})))
		meta, msg, _ := recordBatchTable(t, s)
		at, n := vectorAt(t, msg, messageMetadata)
		if n != 1 {
			t.Fatalf("custom metadata holds %d pairs; want 1", n)
		}
		binary.LittleEndian.PutUint32(meta[at-4:], 0xFFFFFFF0)
		if err := Stream(s); err == nil || !strings.Contains(err.Error(), "message 1") {
			t.Fatalf("Stream: %v; want an error naming message 1", err)
		}
	})
	t.Run("variadic buffer count", func(t *testing.T) {
		sc := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.StringView}}, nil)
		b := array.NewStringViewBuilder(memory.DefaultAllocator)
		b.Append(strings.Repeat("x", 40)) // longer than a view holds inline
		col := b.NewArray()
		s := checkedStream(t, array.NewRecordBatch(sc, []arrow.Array{col}, 1))
		meta, _, rb := recordBatchTable(t, s)
		at, n := vectorAt(t, rb, recordVariadic)
		if n != 1 {
			t.Fatalf("variadic counts: %d; want 1", n)
		}
		binary.LittleEndian.PutUint64(meta[at:], 1<<36)
		if err := Message(meta); err == nil || !strings.Contains(err.Error(), "variadic") {
			t.Fatalf("Message: %v; want an error about variadic buffers", err)
		}
	})
	t.Run("shared time zone", func(t *testing.T) {
		if err := Message(sharedTimestampSchema(1, 100)); err != nil {
			t.Fatalf("one field with a 100-byte time zone: %v", err)
		}
		meta := sharedTimestampSchema(8192, 32<<10)
		if err := Message(meta); err == nil || !strings.Contains(err.Error(), "add up to more") {
			t.Fatalf("Message: %v; want an error: time zones add up to more than the message", err)
		}
	})
}

// TestBatchRules: Batch (client input) refuses dictionaries with indices past their
// dictionary or values that are not UTF-8, and accepts zero-row batches whatever their
// buffers (a zero-row dense union has no offsets, and arrow-go's union validation then
// panics; Java writes zero-row offsets buffers empty); Structure (replay) checks no
// content.
func TestBatchRules(t *testing.T) {
	batch := func(arr arrow.Array) arrow.RecordBatch {
		sc := arrow.NewSchema([]arrow.Field{{Name: "c", Type: arr.DataType(), Nullable: true}}, nil)
		return array.NewRecordBatch(sc, []arrow.Array{arr}, int64(arr.Len()))
	}
	dictOf := func(idx []int32, vals ...string) arrow.Array {
		ib := array.NewInt32Builder(memory.DefaultAllocator)
		ib.AppendValues(idx, nil)
		sb := array.NewStringBuilder(memory.DefaultAllocator)
		sb.AppendValues(vals, nil)
		return array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, ib.NewArray(), sb.NewArray())
	}
	if err := Batch(batch(dictOf([]int32{0, 1}, "a", "b"))); err != nil {
		t.Fatalf("a valid dictionary: %v", err)
	}
	if err := Batch(batch(dictOf([]int32{0, 5}, "a"))); err == nil || !strings.Contains(err.Error(), "entry 5") {
		t.Fatalf("an index past the dictionary: %v; want an error naming entry 5", err)
	}
	if err := Batch(batch(dictOf([]int32{0}, "\xff\xfe"))); err == nil {
		t.Fatal("a dictionary value that is not UTF-8: accepted; want an error")
	}
	if err := Structure(batch(dictOf([]int32{0}, "\xff\xfe"))); err != nil {
		t.Fatalf("Structure of a dictionary holding non-UTF-8: %v; want nil (content is not its business)", err)
	}
	// Zero rows: a dense union without offsets, a string column with an empty offsets buffer.
	ut := arrow.DenseUnionOf([]arrow.Field{{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, []arrow.UnionTypeCode{0})
	child := array.NewInt64Builder(memory.DefaultAllocator).NewArray()
	ud := array.NewData(ut, 0, []*memory.Buffer{nil, memory.NewBufferBytes(nil), nil}, []arrow.ArrayData{child.Data()}, 0, 0)
	if err := Batch(batch(array.MakeFromData(ud))); err != nil {
		t.Fatalf("a zero-row dense union without offsets: %v", err)
	}
	sd := array.NewData(arrow.BinaryTypes.String, 0, []*memory.Buffer{nil, memory.NewBufferBytes(nil), nil}, nil, 0, 0)
	if err := Batch(batch(array.MakeFromData(sd))); err != nil {
		t.Fatalf("a zero-row string column with an empty offsets buffer: %v", err)
	}
}
