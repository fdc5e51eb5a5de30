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
// points many offsets at one). Everything else arrow-go reads out of bounds panics, which
// its readers and ours recover.
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
	messageMetadata   = 12
	headerSchema      = 1 // MessageHeader.Schema

	schemaFields   = 6
	schemaMetadata = 8

	fieldName     = 4
	fieldChildren = 14
	fieldMetadata = 16

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
	if o := msg.Offset(messageHeaderType); o == 0 || msg.GetByte(flatbuffers.UOffsetT(o)+msg.Pos) != headerSchema {
		return nil
	}
	o := msg.Offset(messageHeader)
	if o == 0 {
		return fmt.Errorf("malformed Arrow IPC schema message: no schema table")
	}
	var schema flatbuffers.Table
	msg.Union(&schema, flatbuffers.UOffsetT(o))
	c.table(schema.Pos)
	if err := c.keyValues(schema, schemaMetadata, "schema"); err != nil {
		return err
	}
	return c.fields(schema, schemaFields, 0)
}

// Stream checks the first message of an encapsulated IPC stream (the schema, which a
// stream reader decodes first; later messages carry no schema).
func Stream(stream []byte) error {
	if len(stream) < 8 {
		return nil // arrow's reader reports the short stream
	}
	n, at := binary.LittleEndian.Uint32(stream), 4
	if n == 0xFFFFFFFF {
		n, at = binary.LittleEndian.Uint32(stream[4:]), 8
	}
	if int64(n) > int64(len(stream)-at) {
		return fmt.Errorf("malformed Arrow IPC stream: the first message's metadata takes %d bytes, %d are left", n, len(stream)-at)
	}
	return Message(stream[at : at+int(n)])
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
	if start+4+4*n > int64(len(c.buf)) {
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
		if err := c.keyValues(f, fieldMetadata, "field"); err != nil {
			return err
		}
		if err := c.fields(f, fieldChildren, depth+1); err != nil {
			return err
		}
	}
	return nil
}
