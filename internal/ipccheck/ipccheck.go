// Package ipccheck checks the flatbuffer metadata of Arrow IPC messages before arrow-go's
// reader decodes it.
//
// arrow-go (v18.8.0) trusts the vector lengths in a schema message: schemaFromFB and
// fieldFromFB make a slice of as many fields, children or key-value pairs as the message
// announces before reading any of them. A few bytes announcing four billion fields ask
// the runtime for hundreds of GiB, which is a fatal out-of-memory that no recover
// catches, and a field whose children vector points back at itself recurses until the
// stack limit, which is fatal too; a string shared by a million key-value tables is
// copied a million times. Message walks the same tree first and refuses a vector that
// runs past the metadata, a tree deeper than MaxDepth, and tables and strings that add up
// to more than the metadata holds (a writer stores each once; only a forged message
// points many offsets at one). Record batch messages are checked too: their custom
// metadata, and view columns' variadic buffer counts (a slice of that capacity is made
// first). Everything else arrow-go reads out of bounds panics, which its readers and ours
// recover. See DESIGN.md.
package ipccheck

import (
	"encoding/binary"
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"
)

// MaxDepth bounds how deeply fields may nest. Real schemas nest a few levels.
const MaxDepth = 64

// Flatbuffer vtable slots of Arrow's format (format/Message.fbs, format/Schema.fbs).
const (
	messageHeaderType = 6 // Message.header_type: MessageHeader
	messageHeader     = 8 // Message.header
	messageBodyLength = 10
	messageMetadata   = 12
	headerSchema      = 1 // MessageHeader.Schema
	headerDictionary  = 2 // MessageHeader.DictionaryBatch
	headerRecordBatch = 3 // MessageHeader.RecordBatch

	dictionaryData = 6 // DictionaryBatch.data: RecordBatch

	recordNodes    = 6  // RecordBatch.nodes: [FieldNode] (structs of 16 bytes)
	recordBuffers  = 8  // RecordBatch.buffers: [Buffer] (structs of 16 bytes)
	recordVariadic = 12 // RecordBatch.variadicBufferCounts: [long]

	schemaFields   = 6
	schemaMetadata = 8

	fieldName     = 4
	fieldTypeType = 8 // Field.type_type: Type
	fieldType     = 10
	fieldChildren = 14
	fieldMetadata = 16

	typeTimestamp     = 10 // Type.Timestamp
	timestampTimezone = 6

	keyValueKey   = 4
	keyValueValue = 6
)

// Message checks meta, the flatbuffer of one IPC message (a Flight DataHeader, or what
// follows the continuation marker and length in a stream).
func Message(meta []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed Arrow IPC message metadata (%d bytes): %v", len(meta), p)
		}
	}()
	if len(meta) < 8 {
		return fmt.Errorf("malformed Arrow IPC message metadata: %d bytes, too short for a flatbuffer", len(meta))
	}
	c := checker{buf: meta, left: len(meta)}
	msg := c.root()
	if err := c.keyValues(msg, messageMetadata, "message"); err != nil {
		return err
	}
	kind := byte(0)
	if o := msg.Offset(messageHeaderType); o != 0 {
		kind = msg.GetByte(flatbuffers.UOffsetT(o) + msg.Pos)
	}
	if kind != headerSchema && kind != headerRecordBatch && kind != headerDictionary {
		return nil
	}
	o := msg.Offset(messageHeader)
	if o == 0 {
		return fmt.Errorf("malformed Arrow IPC message: no header table")
	}
	var header flatbuffers.Table
	msg.Union(&header, flatbuffers.UOffsetT(o))
	c.table(header.Pos)
	switch kind {
	case headerRecordBatch:
		return c.recordBatch(header)
	case headerDictionary:
		o := header.Offset(dictionaryData)
		if o == 0 {
			return nil // arrow-go reports the missing batch
		}
		data := flatbuffers.Table{Bytes: meta, Pos: header.Indirect(flatbuffers.UOffsetT(o) + header.Pos)}
		c.table(data.Pos)
		return c.recordBatch(data)
	}
	if err := c.keyValues(header, schemaMetadata, "schema"); err != nil {
		return err
	}
	return c.fields(header, schemaFields, 0)
}

// recordBatch checks a RecordBatch table: its vectors within the metadata, and each
// variadic buffer count (arrow-go makes a slice of that capacity for a view column
// before reading a buffer) at most the number of buffers the batch lists.
func (c *checker) recordBatch(t flatbuffers.Table) error {
	if _, _, err := c.vectorOf(t, recordNodes, 16); err != nil {
		return err
	}
	nbuf, _, err := c.vectorOf(t, recordBuffers, 16)
	if err != nil {
		return err
	}
	n, start, err := c.vectorOf(t, recordVariadic, 8)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if v := int64(binary.LittleEndian.Uint64(c.buf[int(start)+8*i:])); v < 0 || v > int64(nbuf) {
			return fmt.Errorf("malformed Arrow IPC record batch: a view column announces %d variadic buffers; the batch lists %d buffers", v, nbuf)
		}
	}
	return nil
}

// Stream checks every message of an encapsulated IPC stream, up to its end-of-stream
// marker or its end.
func Stream(stream []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed Arrow IPC stream (%d bytes): %v", len(stream), p)
		}
	}()
	for off, i := 0, 0; len(stream)-off >= 8; i++ {
		n, at := binary.LittleEndian.Uint32(stream[off:]), off+4
		if n == 0xFFFFFFFF {
			n, at = binary.LittleEndian.Uint32(stream[off+4:]), off+8
		}
		if n == 0 {
			return nil // end of stream
		}
		if int64(n) > int64(len(stream)-at) {
			return fmt.Errorf("malformed Arrow IPC stream: message %d's metadata takes %d bytes, %d are left", i, n, len(stream)-at)
		}
		meta := stream[at : at+int(n)]
		if err := Message(meta); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		body := bodyLength(meta)
		if body < 0 || body > int64(len(stream)-at-int(n)) {
			return fmt.Errorf("malformed Arrow IPC stream: message %d announces a body of %d bytes, %d are left", i, body, len(stream)-at-int(n))
		}
		off = at + int(n) + int(body)
	}
	return nil // arrow's reader reports a short stream
}

// bodyLength returns the body length a checked message announces.
func bodyLength(meta []byte) int64 {
	msg := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
	return msg.GetInt64Slot(messageBodyLength, 0)
}

type checker struct {
	buf  []byte
	left int // bytes of the metadata not yet accounted for by a table or string visited
}

// spend accounts for n bytes visited.
func (c *checker) spend(n int64, what string) error {
	if c.left -= int(min(n, int64(len(c.buf))+1)); c.left < 0 {
		return fmt.Errorf("malformed Arrow IPC schema message: its %s add up to more than the %d-byte metadata holds", what, len(c.buf))
	}
	return nil
}

// str checks the string in slot of t and accounts for its bytes.
func (c *checker) str(t flatbuffers.Table, slot flatbuffers.VOffsetT, what string) error {
	o := t.Offset(slot)
	if o == 0 {
		return nil
	}
	at := int64(t.Pos) + int64(o)
	start := at + int64(flatbuffers.GetUOffsetT(c.buf[at:]))
	if start+4 > int64(len(c.buf)) {
		return fmt.Errorf("malformed Arrow IPC schema message: a %s at offset %d past the %d-byte metadata", what, start, len(c.buf))
	}
	n := int64(flatbuffers.GetUOffsetT(c.buf[start:]))
	if start+4+n > int64(len(c.buf)) {
		return fmt.Errorf("malformed Arrow IPC schema message: a %s of %d bytes at offset %d runs past the %d-byte metadata", what, n, start, len(c.buf))
	}
	return c.spend(n, what+"s")
}

func (c *checker) root() flatbuffers.Table {
	pos := flatbuffers.GetUOffsetT(c.buf)
	c.table(pos)
	return flatbuffers.Table{Bytes: c.buf, Pos: pos}
}

// table checks that a table at pos and its vtable lie within the buffer.
func (c *checker) table(pos flatbuffers.UOffsetT) {
	if int64(pos)+4 > int64(len(c.buf)) {
		panic(fmt.Sprintf("a table at offset %d", pos))
	}
	vt := int64(pos) - int64(flatbuffers.GetSOffsetT(c.buf[pos:]))
	if vt < 0 || vt+4 > int64(len(c.buf)) {
		panic(fmt.Sprintf("a table at offset %d has its vtable at %d", pos, vt))
	}
	if n := int64(flatbuffers.GetVOffsetT(c.buf[vt:])); n < 4 || vt+n > int64(len(c.buf)) {
		panic(fmt.Sprintf("a vtable of %d bytes at offset %d", n, vt))
	}
}

// vector returns the length and element start of the vector of 4-byte elements in
// slot of t (0, 0 when absent), checking that it lies within the buffer.
func (c *checker) vector(t flatbuffers.Table, slot flatbuffers.VOffsetT) (int, flatbuffers.UOffsetT, error) {
	return c.vectorOf(t, slot, 4)
}

// vectorOf is vector for elements of size bytes.
func (c *checker) vectorOf(t flatbuffers.Table, slot flatbuffers.VOffsetT, size int64) (int, flatbuffers.UOffsetT, error) {
	o := t.Offset(slot)
	if o == 0 {
		return 0, 0, nil
	}
	at := int64(t.Pos) + int64(o)
	start := at + int64(flatbuffers.GetUOffsetT(c.buf[at:]))
	if start+4 > int64(len(c.buf)) {
		return 0, 0, fmt.Errorf("malformed Arrow IPC schema message: a vector at offset %d past the %d-byte metadata", start, len(c.buf))
	}
	n := int64(flatbuffers.GetUOffsetT(c.buf[start:]))
	if start+4+size*n > int64(len(c.buf)) {
		return 0, 0, fmt.Errorf("malformed Arrow IPC schema message: a vector of %d elements at offset %d runs past the %d-byte metadata", n, start, len(c.buf))
	}
	return int(n), flatbuffers.UOffsetT(start + 4), nil
}

func (c *checker) keyValues(t flatbuffers.Table, slot flatbuffers.VOffsetT, what string) error {
	n, start, err := c.vector(t, slot)
	if err != nil {
		return fmt.Errorf("%w (%s metadata)", err, what)
	}
	if err := c.spend(4*int64(n), what+" key-value pairs"); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		at := start + flatbuffers.UOffsetT(4*i)
		pos := at + flatbuffers.GetUOffsetT(c.buf[at:])
		c.table(pos)
		kv := flatbuffers.Table{Bytes: c.buf, Pos: pos}
		if err := c.str(kv, keyValueKey, what+" metadata key"); err != nil {
			return err
		}
		if err := c.str(kv, keyValueValue, what+" metadata value"); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) fields(t flatbuffers.Table, slot flatbuffers.VOffsetT, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("malformed Arrow IPC schema message: fields nest deeper than %d levels", MaxDepth)
	}
	n, start, err := c.vector(t, slot)
	if err != nil {
		return err
	}
	if err := c.spend(4*int64(n), "fields"); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		at := start + flatbuffers.UOffsetT(4*i)
		pos := at + flatbuffers.GetUOffsetT(c.buf[at:])
		c.table(pos)
		f := flatbuffers.Table{Bytes: c.buf, Pos: pos}
		if err := c.str(f, fieldName, "field name"); err != nil {
			return err
		}
		// The type's strings are copied per field too (a timestamp's time zone).
		if o := f.Offset(fieldTypeType); o != 0 && f.GetByte(flatbuffers.UOffsetT(o)+f.Pos) == typeTimestamp {
			if o := f.Offset(fieldType); o != 0 {
				var ts flatbuffers.Table
				f.Union(&ts, flatbuffers.UOffsetT(o))
				c.table(ts.Pos)
				if err := c.str(ts, timestampTimezone, "time zone"); err != nil {
					return err
				}
			}
		}
		if err := c.keyValues(f, fieldMetadata, "field"); err != nil {
			return err
		}
		if err := c.fields(f, fieldChildren, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// recordCompression is RecordBatch.compression: BodyCompression, present when the
// body's buffers are compressed (each then led by its uncompressed length, -1 for a
// buffer left as it is).
const recordCompression = 10

// BodyBytes returns what the body of a record batch or dictionary batch message (meta
// accepted by Message) decodes to: its size, or with compressed buffers the sum of the
// uncompressed lengths they announce, which arrow-go allocates before decompressing. A
// few kilobytes of ZSTD can announce gigabytes (legitimately: zeros compress that well),
// and a per-buffer cap does not bound their sum; the caller compares this with its
// limit. Other messages return len(body).
func BodyBytes(meta, body []byte) (n int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("malformed Arrow IPC message (%d bytes of metadata): %v", len(meta), p)
		}
	}()
	msg := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
	kind := byte(0)
	if o := msg.Offset(messageHeaderType); o != 0 {
		kind = msg.GetByte(flatbuffers.UOffsetT(o) + msg.Pos)
	}
	o := msg.Offset(messageHeader)
	if (kind != headerRecordBatch && kind != headerDictionary) || o == 0 {
		return int64(len(body)), nil
	}
	var rb flatbuffers.Table
	msg.Union(&rb, flatbuffers.UOffsetT(o))
	if kind == headerDictionary {
		o := rb.Offset(dictionaryData)
		if o == 0 {
			return int64(len(body)), nil
		}
		rb = flatbuffers.Table{Bytes: meta, Pos: rb.Indirect(flatbuffers.UOffsetT(o) + rb.Pos)}
	}
	if rb.Offset(recordCompression) == 0 {
		return int64(len(body)), nil
	}
	c := checker{buf: meta}
	nbuf, start, err := c.vectorOf(rb, recordBuffers, 16)
	if err != nil {
		return 0, err
	}
	for i := 0; i < nbuf; i++ {
		off := int64(binary.LittleEndian.Uint64(meta[int(start)+16*i:]))
		size := int64(binary.LittleEndian.Uint64(meta[int(start)+16*i+8:]))
		if size == 0 {
			continue
		}
		if off < 0 || size < 8 || off > int64(len(body))-size {
			return 0, fmt.Errorf("malformed Arrow IPC record batch: buffer %d at %d of %d bytes, outside the %d-byte body", i, off, size, len(body))
		}
		switch u := int64(binary.LittleEndian.Uint64(body[off:])); {
		case u == -1:
			n += size - 8
		case u < 0:
			return 0, fmt.Errorf("malformed Arrow IPC record batch: buffer %d announces %d uncompressed bytes", i, u)
		default:
			if n += u; n < 0 {
				return 0, fmt.Errorf("malformed Arrow IPC record batch: the buffers' uncompressed lengths overflow")
			}
		}
	}
	return n, nil
}
