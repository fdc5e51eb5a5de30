package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/klauspost/compress/s2"
)

// A WAL frame is
//
//	[uint32 payload length][uint32 CRC32C (Castagnoli) of payload][payload]
//
// little endian, where the payload is frameS2Magic followed by an S2 block (since the
// second storage iteration; frames written before are a bare stream, still read) of one
// complete Arrow IPC stream: the batch's schema
// (with metaFramesLeft in its metadata), one record batch and the end-of-stream marker.
// Each frame is thus self-describing: replaying the frames in order rebuilds the table's
// rows and, through schema evolution, its schema, with no other metadata file to keep in
// step.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errFrameTooLarge is returned by encodeFrame for a batch over maxFramePayload.
var errFrameTooLarge = errors.New("batch too large for one WAL frame")

// ipcScratch holds the buffers encodeFrame serializes Arrow IPC into before compressing
// it: reused, so that the per-batch megabytes are neither allocated nor zeroed again.
var ipcScratch = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// framePool holds frame buffers given back by the commit goroutine once written
// (releaseFrames), so that steady ingest does not allocate (and zero) a frame per batch.
var framePool sync.Pool

// encodeFrame returns rec as one frame, header included. framesLeft is the number of
// frames of the same Write call that follow it. batchID, when set, is the call's client
// batch id (written on the call's first frame).
//
// The payload is the Arrow IPC stream, uncompressed, compressed as one S2 block behind
// the 4-byte frameS2Magic (see DESIGN.md, "WAL frame encoding": one block for the whole
// stream costs a third of Arrow's per-buffer LZ4 frames in CPU).
func encodeFrame(rec arrow.RecordBatch, framesLeft int, batchID string) ([]byte, error) {
	keys, vals := []string{metaFramesLeft}, []string{strconv.Itoa(framesLeft)}
	if batchID != "" {
		keys, vals = append(keys, metaBatchID), append(vals, batchID)
	}
	md := arrow.NewMetadata(keys, vals)
	schema := arrow.NewSchema(rec.Schema().Fields(), &md)
	framed := array.NewRecordBatch(schema, rec.Columns(), rec.NumRows())
	defer framed.Release()

	buf := ipcScratch.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledScratch {
			buf.Reset()
			ipcScratch.Put(buf)
		}
	}()
	buf.Reset()
	buf.Grow(frameSizeHint(rec))
	w := ipc.NewWriter(buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err := w.Write(framed); err != nil {
		w.Close()
		return nil, fmt.Errorf("encode batch as Arrow IPC: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode batch as Arrow IPC: %w", err)
	}
	stream := buf.Bytes()
	if len(stream) > maxFramePayload {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d", errFrameTooLarge, len(stream), maxFramePayload)
	}
	need := frameHeaderSize + frameMagicSize + s2.MaxEncodedLen(len(stream))
	frame := getFrameBuffer(need)
	binary.LittleEndian.PutUint32(frame[frameHeaderSize:], frameS2Magic)
	enc := s2.Encode(frame[frameHeaderSize+frameMagicSize:], stream)
	frame = frame[:frameHeaderSize+frameMagicSize+len(enc)]
	payload := frame[frameHeaderSize:]
	if len(payload) > maxFramePayload {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d", errFrameTooLarge, len(payload), maxFramePayload)
	}
	binary.LittleEndian.PutUint32(frame[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:8], crc32.Checksum(payload, castagnoli))
	return frame, nil
}

// getFrameBuffer returns a buffer of length n, from the pool when one is large enough.
func getFrameBuffer(n int) []byte {
	if p, ok := framePool.Get().(*[]byte); ok {
		if cap(*p) >= n {
			return (*p)[:n]
		}
	}
	return make([]byte, n)
}

// releaseFrames gives frame buffers back for reuse; the caller must not touch them after.
func releaseFrames(frames [][]byte) {
	for _, fr := range frames {
		if cap(fr) > 0 && cap(fr) <= maxPooledScratch {
			fr := fr[:0]
			framePool.Put(&fr)
		}
	}
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
	if len(payload) >= frameMagicSize && binary.LittleEndian.Uint32(payload) == frameS2Magic {
		block := payload[frameMagicSize:]
		n, err := s2.DecodedLen(block)
		if err != nil {
			return nil, 0, "", fmt.Errorf("decode S2 block: %w", err)
		}
		if n > maxFramePayload {
			return nil, 0, "", fmt.Errorf("S2 block decodes to %d bytes, over the limit of %d", n, maxFramePayload)
		}
		stream, err := s2.Decode(nil, block)
		if err != nil {
			return nil, 0, "", fmt.Errorf("decode S2 block: %w", err)
		}
		payload = stream
	}
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
