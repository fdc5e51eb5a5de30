package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// A WAL frame is
//
//	[uint32 payload length][uint32 CRC32C (Castagnoli) of payload][payload]
//
// little endian, where the payload is one complete Arrow IPC stream: the batch's schema
// (with metaFramesLeft in its metadata), one record batch and the end-of-stream marker.
// Each frame is thus self-describing: replaying the frames in order rebuilds the table's
// rows and, through schema evolution, its schema, with no other metadata file to keep in
// step.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errFrameTooLarge is returned by encodeFrame for a batch over maxFramePayload.
var errFrameTooLarge = errors.New("batch too large for one WAL frame")

// encodeFrame returns rec as one frame, header included. framesLeft is the number of
// frames of the same Write call that follow it. batchID, when set, is the call's client
// batch id (written on the call's first frame).
func encodeFrame(rec arrow.RecordBatch, framesLeft int, batchID string) ([]byte, error) {
	keys, vals := []string{metaFramesLeft}, []string{strconv.Itoa(framesLeft)}
	if batchID != "" {
		keys, vals = append(keys, metaBatchID), append(vals, batchID)
	}
	md := arrow.NewMetadata(keys, vals)
	schema := arrow.NewSchema(rec.Schema().Fields(), &md)
	framed := array.NewRecordBatch(schema, rec.Columns(), rec.NumRows())
	defer framed.Release()

	var buf bytes.Buffer
	buf.Grow(frameSizeHint(rec))
	buf.Write(make([]byte, frameHeaderSize))
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem), ipc.WithLZ4())
	if err := w.Write(framed); err != nil {
		w.Close()
		return nil, fmt.Errorf("encode batch as Arrow IPC: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode batch as Arrow IPC: %w", err)
	}
	frame := buf.Bytes()
	payload := frame[frameHeaderSize:]
	if len(payload) > maxFramePayload {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d", errFrameTooLarge, len(payload), maxFramePayload)
	}
	binary.LittleEndian.PutUint32(frame[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:8], crc32.Checksum(payload, castagnoli))
	return frame, nil
}

// frameSizeHint estimates the encoded size of rec so that encodeFrame allocates its
// buffer once: the column buffers plus per-column metadata and padding.
func frameSizeHint(rec arrow.RecordBatch) int {
	n := frameHeaderSize + 1024
	for _, c := range rec.Columns() {
		n += 256
		for _, b := range c.Data().Buffers() {
			if b != nil {
				n += b.Len() + 8
			}
		}
	}
	return n
}

// frameHeader is a decoded frame header.
type frameHeader struct {
	length uint32
	crc    uint32
}

func parseFrameHeader(b []byte) frameHeader {
	return frameHeader{length: binary.LittleEndian.Uint32(b[0:4]), crc: binary.LittleEndian.Uint32(b[4:8])}
}

// plausible reports whether h can start a frame that ends within a file of size bytes
// when it sits at offset.
func (h frameHeader) plausible(offset, size int64) bool {
	return h.length >= minFramePayload && h.length <= maxFramePayload &&
		offset+frameHeaderSize+int64(h.length) <= size
}

// checkPayload reports whether payload matches the header's CRC.
func (h frameHeader) checkPayload(payload []byte) bool {
	return crc32.Checksum(payload, castagnoli) == h.crc
}

// decodePayload decodes a frame payload into its record batch (owned by the caller) and
// the number of frames of the same Write call that follow it. A panic in the IPC decoder
// (a malformed payload that still passed the CRC) is returned as an error, so that a bad
// WAL is reported, not fatal to the process.
func decodePayload(payload []byte) (rec arrow.RecordBatch, left int, id string, err error) {
	defer func() {
		if p := recover(); p != nil {
			if rec != nil {
				rec.Release()
			}
			rec, left, id, err = nil, 0, "", fmt.Errorf("decode Arrow IPC stream: panic: %v", p)
		}
	}()
	return decodeIPC(payload)
}

func decodeIPC(payload []byte) (arrow.RecordBatch, int, string, error) {
	r, err := ipc.NewReader(bytes.NewReader(payload), ipc.WithAllocator(mem))
	if err != nil {
		return nil, 0, "", fmt.Errorf("decode Arrow IPC schema: %w", err)
	}
	defer r.Release()
	left := -1
	id := ""
	if md := r.Schema().Metadata(); md.Len() > 0 {
		if i := md.FindKey(metaFramesLeft); i >= 0 {
			if n, err := strconv.Atoi(md.Values()[i]); err == nil && n >= 0 {
				left = n
			}
		}
		if i := md.FindKey(metaBatchID); i >= 0 {
			id = md.Values()[i]
		}
	}
	if left < 0 {
		return nil, 0, "", fmt.Errorf("frame schema lacks a valid %q metadata value", metaFramesLeft)
	}
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, 0, "", fmt.Errorf("decode Arrow IPC record batch: %w", err)
		}
		return nil, 0, "", fmt.Errorf("Arrow IPC stream holds no record batch")
	}
	rec := r.RecordBatch()
	rec.Retain()
	if r.Next() {
		rec.Release()
		return nil, 0, "", fmt.Errorf("Arrow IPC stream holds more than one record batch")
	}
	if err := r.Err(); err != nil {
		rec.Release()
		return nil, 0, "", fmt.Errorf("decode Arrow IPC stream end: %w", err)
	}
	// Strip the WAL's own metadata so that the head holds the batch as it was written.
	plain := array.NewRecordBatch(arrow.NewSchema(rec.Schema().Fields(), nil), rec.Columns(), rec.NumRows())
	rec.Release()
	return plain, left, id, nil
}
