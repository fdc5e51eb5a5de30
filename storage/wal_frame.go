package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/klauspost/compress/s2"

	"github.com/sigmaflight/sigmaflight/internal/ipccheck"
)

// A WAL frame is
//
//	[uint32 payload length][uint32 CRC32C (Castagnoli) of payload][payload]
//
// little endian, where the payload is frameS2DeltaMagic, the stream's length, S2 blocks
// and the spans of the stream stored as differences (since the seventh session;
// frameS2BlocksMagic frames, the same without spans, before it, frameS2Magic and one S2
// block before that, a bare stream first: all still read) of one complete Arrow IPC
// stream: the batch's schema
// (with metaFramesLeft in its metadata), one record batch and the end-of-stream marker.
// Each frame is thus self-describing: replaying the frames in order rebuilds the table's
// rows and, through schema evolution, its schema, with no other metadata file to keep in
// step.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errFrameTooLarge is returned by encodeFrame for a batch over maxFramePayload.
var errFrameTooLarge = errors.New("batch too large for one WAL frame")

// smallWrites holds the scratch of s2Blocks (the buffer it gathers an IPC stream's
// small pieces in, the offsets buffers it looks for, the spans): reused, so that steady
// ingest neither allocates nor zeroes them per batch.
var smallWrites = sync.Pool{New: func() any { return new(s2Scratch) }}

type s2Scratch struct {
	small   []byte
	offsets []uintptr
	spans   []uint32
}

// frameDeltas stores the value offsets of string and binary columns as differences
// (s2Blocks); BenchmarkFrameEncode turns it off for its baseline (SFS4 frames with no
// spans, the size and cost SFS3 frames had). Only that benchmark changes it, with no
// store open.
var frameDeltas = true

// framePool holds frame buffers given back by the commit goroutine once written
// (releaseFrames), so that steady ingest does not allocate (and zero) a frame per batch.
var framePool sync.Pool

// encodeFrame returns rec as one frame, header included. framesLeft is the number of
// frames of the same Write call that follow it. batchID, when set, is the call's client
// batch id (written on the call's first frame).
//
// The payload is frameS2DeltaMagic, the length of the Arrow IPC stream, the stream as a
// sequence of S2 blocks (s2Blocks) and the spans stored as differences, then their
// number (see DESIGN.md, "WAL frame encoding").
func encodeFrame(rec arrow.RecordBatch, framesLeft int, batchID string) ([]byte, error) {
	keys, vals := []string{metaFramesLeft}, []string{strconv.Itoa(framesLeft)}
	if batchID != "" {
		keys, vals = append(keys, metaBatchID), append(vals, batchID)
	}
	md := arrow.NewMetadata(keys, vals)
	schema := arrow.NewSchema(rec.Schema().Fields(), &md)
	framed := array.NewRecordBatch(schema, rec.Columns(), rec.NumRows())
	defer framed.Release()

	sc := smallWrites.Get().(*s2Scratch)
	defer func() {
		if cap(sc.small) <= maxPooledScratch {
			sc.small, sc.offsets, sc.spans = sc.small[:0], sc.offsets[:0], sc.spans[:0]
			smallWrites.Put(sc)
		}
	}()
	const head = frameHeaderSize + frameMagicSize + 4 // + the stream's length
	// The first guess of the frame's size; s2Blocks grows it when the stream is larger.
	// (frameSizeHint counts whole buffers, a sliced batch's parent's too: uncapped, a
	// small slice of a huge batch asked for more than MaxEncodedLen takes, and panicked.)
	hint := s2.MaxEncodedLen(min(frameSizeHint(rec), maxInitialFrame))
	w := &s2Blocks{frame: getFrameBuffer(head + hint)[:head], small: sc.small[:0], offsets: sc.offsets[:0], spans: sc.spans[:0]}
	if frameDeltas {
		w.offsets = offsetBuffers(w.offsets, rec)
	}
	iw := ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	err := iw.Write(framed)
	if cerr := iw.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.flush()
	}
	if err == nil {
		err = w.appendSpans()
	}
	sc.small, sc.offsets, sc.spans = w.small, w.offsets, w.spans
	if w.total > maxFramePayload {
		return nil, fmt.Errorf("%w: over %d bytes of Arrow IPC", errFrameTooLarge, maxFramePayload)
	}
	if err != nil {
		return nil, fmt.Errorf("encode batch as Arrow IPC: %w", err)
	}
	frame := w.frame
	payload := frame[frameHeaderSize:]
	if len(payload) > maxFramePayload {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d", errFrameTooLarge, len(payload), maxFramePayload)
	}
	binary.LittleEndian.PutUint32(frame[frameHeaderSize:], frameS2DeltaMagic)
	binary.LittleEndian.PutUint32(frame[frameHeaderSize+frameMagicSize:], uint32(w.total))
	binary.LittleEndian.PutUint32(frame[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(frame[4:8], crc32.Checksum(payload, castagnoli))
	return frame, nil
}

// s2Blocks is the io.Writer encodeFrame gives Arrow's IPC writer: it compresses the
// stream as S2 blocks appended to frame, each behind its uint32 compressed length. A
// write of s2DirectMin bytes or more (a column's values) is compressed where it lies,
// as its own block; smaller ones (message headers, offsets and bitmaps of a few
// thousand rows, padding) are gathered into small and compressed together once it holds
// s2SmallBlock bytes. Writing the stream into one buffer first and compressing that
// (the SFS2 frames) copied every byte once more: ~10 % of ingest's CPU.
//
// A write that is the value offsets of a top-level string or binary column (its first
// byte is that of one of offsets, the batch's offsets buffers: Arrow's writer hands them
// over where they lie unless it rebases them, for a slice not starting at row 0) is
// stored as the differences of its consecutive uint32s, the value lengths, copied into
// small whatever its size (and compressed from there, as its own block when it is 64
// KiB or more), and its span of the stream is listed (spans: position and length, in
// stream order).
// Offsets grow with every row and S2 found few matches in them: on the OTRF corpus they
// were a fifth of the stream and, compressed 5.8:1, more than half of the frame; as
// lengths, which repeat, they compress 40:1, and the corpus's frames are 52 % smaller
// (BenchmarkFrameEncode: 167 → 80 bytes per event). Encoding alone measured 0.90–1.09x
// the events/s without spans (the differences cost ~2 ns a value over cold buffers; S2
// spends longer on lengths it finds matches in), but the fsynced writes are half as
// large: sustained corpus ingest gained ~7 % (DESIGN.md, "Sealing, ninth step").
// The decoder adds the differences back up (undoDeltas). Which writes are offsets
// matters only to the size: any span of whole uint32s comes back exactly.
type s2Blocks struct {
	frame   []byte
	small   []byte
	total   int       // bytes of the uncompressed stream
	offsets []uintptr // the first bytes of the batch's offsets buffers, sorted
	spans   []uint32  // position and length of each span stored as differences
}

const (
	s2DirectMin  = 64 << 10
	s2SmallBlock = 1 << 20
	// maxInitialFrame caps the stream size a frame buffer is first made for.
	maxInitialFrame = 16 << 20
)

func (w *s2Blocks) Write(p []byte) (int, error) {
	at := w.total
	w.total += len(p)
	if w.total > maxFramePayload {
		return 0, fmt.Errorf("%w: over %d bytes of Arrow IPC", errFrameTooLarge, maxFramePayload)
	}
	if len(p) >= 8 && w.isOffsets(p) {
		n := len(p) &^ 3
		w.spans = append(w.spans, uint32(at), uint32(n))
		if len(p) >= s2DirectMin {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
		w.small = appendDeltas(w.small, p[:n])
		w.small = append(w.small, p[n:]...)
		if len(p) >= s2DirectMin || len(w.small) >= s2SmallBlock {
			return len(p), w.flush()
		}
		return len(p), nil
	}
	if len(p) < s2DirectMin {
		w.small = append(w.small, p...)
		if len(w.small) >= s2SmallBlock {
			return len(p), w.flush()
		}
		return len(p), nil
	}
	if err := w.flush(); err != nil {
		return 0, err
	}
	return len(p), w.block(p)
}

// isOffsets reports whether p starts at the first byte of one of the batch's offsets
// buffers.
func (w *s2Blocks) isOffsets(p []byte) bool {
	_, found := slices.BinarySearch(w.offsets, uintptr(unsafe.Pointer(&p[0])))
	return found
}

// appendSpans appends the spans and their number to the frame (the payload's tail).
func (w *s2Blocks) appendSpans() error {
	if len(w.spans)/2 > maxFramePayload/8 {
		return fmt.Errorf("%w: %d spans", errFrameTooLarge, len(w.spans)/2)
	}
	for _, v := range w.spans {
		w.frame = binary.LittleEndian.AppendUint32(w.frame, v)
	}
	w.frame = binary.LittleEndian.AppendUint32(w.frame, uint32(len(w.spans)/2))
	return nil
}

// offsetBuffers appends to dst the address of the first byte of every 32-bit offsets
// buffer of rec's string and binary columns (top level), sorted.
func offsetBuffers(dst []uintptr, rec arrow.RecordBatch) []uintptr {
	for _, c := range rec.Columns() {
		switch c.DataType().ID() {
		case arrow.STRING, arrow.BINARY:
		default:
			continue
		}
		if bufs := c.Data().Buffers(); len(bufs) > 1 && bufs[1] != nil && bufs[1].Len() > 0 {
			dst = append(dst, uintptr(unsafe.Pointer(&bufs[1].Bytes()[0])))
		}
	}
	slices.Sort(dst)
	return dst
}

// appendDeltas appends p (whole uint32s, little endian) as the differences of its
// consecutive values, the first from 0 (undoDeltas reverses it).
func appendDeltas(dst, p []byte) []byte {
	at := len(dst)
	dst = slices.Grow(dst, len(p))[:at+len(p)]
	out := dst[at:]
	if src, to := uint32s(p), uint32s(out); src != nil && to != nil {
		// Aligned (as the IPC stream's 8-byte padding keeps them): a word at a time,
		// which is most of what storing offsets as differences costs.
		var prev uint32
		to = to[:len(src)]
		for i, v := range src {
			to[i] = v - prev
			prev = v
		}
		return dst
	}
	var prev uint32
	for i := 0; i+4 <= len(p); i += 4 {
		v := binary.LittleEndian.Uint32(p[i:])
		binary.LittleEndian.PutUint32(out[i:], v-prev)
		prev = v
	}
	return dst
}

// uint32s returns b as its whole native uint32s (little endian on every platform Go
// and Arrow's IPC format share here), or nil when b does not start 4-byte aligned or
// the platform is big endian.
func uint32s(b []byte) []uint32 {
	if len(b) < 4 || uintptr(unsafe.Pointer(&b[0]))%4 != 0 || !littleEndian {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// littleEndian reports whether native uint32s are little endian.
var littleEndian = func() bool {
	x := uint32(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// undoDeltas turns b (whole uint32s stored by appendDeltas) back into the values, in
// place.
func undoDeltas(b []byte) {
	var sum uint32
	if w := uint32s(b); w != nil {
		for i, d := range w {
			sum += d
			w[i] = sum
		}
		return
	}
	for i := 0; i+4 <= len(b); i += 4 {
		sum += binary.LittleEndian.Uint32(b[i:])
		binary.LittleEndian.PutUint32(b[i:], sum)
	}
}

// flush compresses the gathered small writes as one block.
func (w *s2Blocks) flush() error {
	if len(w.small) == 0 {
		return nil
	}
	err := w.block(w.small)
	w.small = w.small[:0]
	return err
}

func (w *s2Blocks) block(p []byte) error {
	bound := s2.MaxEncodedLen(len(p))
	if bound < 0 {
		return fmt.Errorf("%w: a block of %d bytes", errFrameTooLarge, len(p))
	}
	need := 4 + bound
	if cap(w.frame)-len(w.frame) < need {
		grown := make([]byte, len(w.frame), 2*cap(w.frame)+need)
		copy(grown, w.frame)
		w.frame = grown
	}
	at := len(w.frame)
	buf := w.frame[:at+need]
	enc := s2.Encode(buf[at+4:], p)
	binary.LittleEndian.PutUint32(buf[at:], uint32(len(enc)))
	w.frame = buf[:at+4+len(enc)]
	return nil
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

// decodeS2Deltas decodes the body of an SFS4 payload (after the magic): an SFS3 body
// (decodeS2Blocks) followed by the spans stored as differences (position and length,
// uint32 each) and their number. The spans must be whole uint32s, in order, apart and
// within the stream.
func decodeS2Deltas(b []byte) ([]byte, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("S2 blocks with spans: payload of %d bytes has no stream length and span count", len(b))
	}
	// uint64 throughout: on a 32-bit platform int(uint32) can be negative.
	n := uint64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if n > uint64(len(b)-8)/8 {
		return nil, fmt.Errorf("S2 blocks with spans: %d spans in a payload of %d bytes", n, len(b))
	}
	spans := b[len(b)-4-8*int(n) : len(b)-4]
	total := uint64(binary.LittleEndian.Uint32(b))
	if total > maxFramePayload {
		return nil, fmt.Errorf("S2 blocks decode to %d bytes, over the limit of %d", total, maxFramePayload)
	}
	var end uint64
	for i := 0; i < len(spans); i += 8 {
		at, size := uint64(binary.LittleEndian.Uint32(spans[i:])), uint64(binary.LittleEndian.Uint32(spans[i+4:]))
		if at < end || size%4 != 0 || at > total || size > total-at {
			return nil, fmt.Errorf("S2 blocks with spans: span %d (%d bytes at %d) is not whole uint32s after the one before within the stream's %d bytes", i/8, size, at, total)
		}
		end = at + size
	}
	stream, err := decodeS2Blocks(b[:len(b)-4-8*int(n)])
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(spans); i += 8 {
		at, size := int(binary.LittleEndian.Uint32(spans[i:])), int(binary.LittleEndian.Uint32(spans[i+4:]))
		undoDeltas(stream[at : at+size])
	}
	return stream, nil
}

// decodeS2Blocks decodes the body of an SFS3 payload (after the magic): the stream's
// length, then blocks each behind its compressed length, which must decode to exactly
// that many bytes. The blocks' announced lengths must add up to the stream's before
// anything is allocated (a payload that passed its CRC can still announce up to
// maxFramePayload).
func decodeS2Blocks(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("S2 blocks: payload of %d bytes has no stream length", len(b))
	}
	if t := binary.LittleEndian.Uint32(b); t > maxFramePayload {
		return nil, fmt.Errorf("S2 blocks decode to %d bytes, over the limit of %d", t, maxFramePayload)
	}
	total := int(binary.LittleEndian.Uint32(b)) // at most maxFramePayload (1 GiB): an int everywhere
	// The blocks first: they must announce exactly total bytes (a damaged length
	// allocates nothing).
	sum := 0
	for r := b[4:]; len(r) > 0; {
		if len(r) < 4 {
			return nil, fmt.Errorf("S2 blocks: %d bytes left, no block length", len(r))
		}
		n := int(binary.LittleEndian.Uint32(r))
		if n > len(r)-4 {
			return nil, fmt.Errorf("S2 blocks: a block of %d bytes with %d left", n, len(r)-4)
		}
		dn, err := s2.DecodedLen(r[4 : 4+n])
		if err != nil {
			return nil, fmt.Errorf("decode S2 block: %w", err)
		}
		if sum += dn; sum > total {
			return nil, fmt.Errorf("S2 blocks decode past the stream length %d", total)
		}
		r = r[4+n:]
	}
	if sum != total {
		return nil, fmt.Errorf("S2 blocks decode to %d bytes, the stream length is %d", sum, total)
	}
	stream := make([]byte, total)
	off := 0
	for b = b[4:]; len(b) > 0; {
		if len(b) < 4 {
			return nil, fmt.Errorf("S2 blocks: %d bytes left, no block length", len(b))
		}
		n := int(binary.LittleEndian.Uint32(b))
		if n > len(b)-4 {
			return nil, fmt.Errorf("S2 blocks: a block of %d bytes with %d left", n, len(b)-4)
		}
		block := b[4 : 4+n]
		b = b[4+n:]
		dn, err := s2.DecodedLen(block)
		if err != nil {
			return nil, fmt.Errorf("decode S2 block: %w", err)
		}
		if dn > total-off {
			return nil, fmt.Errorf("S2 blocks decode past the stream length %d", total)
		}
		out, err := s2.Decode(stream[off:off+dn], block)
		if err != nil {
			return nil, fmt.Errorf("decode S2 block: %w", err)
		}
		if len(out) != dn {
			return nil, fmt.Errorf("S2 block decoded to %d bytes, %d announced", len(out), dn)
		}
		off += dn
	}
	if off != total {
		return nil, fmt.Errorf("S2 blocks decode to %d bytes, the stream length is %d", off, total)
	}
	return stream, nil
}

func decodeIPC(payload []byte) (arrow.RecordBatch, int, string, error) {
	bare := true // the first format: IPC with LZ4 bodies, no S2 around it
	var magic uint32
	if len(payload) >= frameMagicSize {
		magic = binary.LittleEndian.Uint32(payload)
	}
	if magic == frameS2DeltaMagic || magic == frameS2BlocksMagic {
		bare = false
		decode := decodeS2Blocks
		if magic == frameS2DeltaMagic {
			decode = decodeS2Deltas
		}
		stream, err := decode(payload[frameMagicSize:])
		if err != nil {
			return nil, 0, "", err
		}
		payload = stream
	} else if magic == frameS2Magic {
		bare = false
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
	// Arrow's stream reader allocates what a message announces before it reads it, and
	// an allocation of a terabyte is a fatal out-of-memory no recover catches. The
	// schema's vectors must fit in its metadata (ipccheck), a message's metadata and body
	// in the payload, and everything the reader allocates in what the payload can decode
	// to (ipcBudget).
	if err := ipccheck.Stream(payload); err != nil {
		return nil, 0, "", err
	}
	limit := int64(len(payload))
	alloc := &ipcBudget{Allocator: mem, left: ipcDecodeBudget(len(payload), bare)}
	mr := ipc.NewMessageReader(bytes.NewReader(payload), ipc.WithAllocator(alloc),
		ipc.WithMetadataSizeLimit(limit), ipc.WithBodySizeLimit(limit))
	r, err := ipc.NewReaderFromMessageReader(mr, ipc.WithAllocator(alloc))
	if err != nil {
		mr.Release()
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
	// A CRC-valid frame was written by us; a bug or damage the CRC missed must still not
	// put a batch whose buffers do not match its lengths in the head (it would read out of
	// bounds later, or fail to re-encode). Structure only: content rules (UTF-8) must not
	// refuse what the writer accepted, or the table would not open.
	if err := ipccheck.Structure(rec); err != nil {
		rec.Release()
		return nil, 0, "", fmt.Errorf("decoded record batch: %w", err)
	}
	// Strip the WAL's own metadata so that the head holds the batch as it was written.
	plain := array.NewRecordBatch(arrow.NewSchema(rec.Schema().Fields(), nil), rec.Columns(), rec.NumRows())
	rec.Release()
	return plain, left, id, nil
}

// ipcBudget is the allocator decodeIPC gives Arrow's IPC reader for one payload: an
// allocation past what is left of the budget panics (the reader and decodePayload turn
// the panic into an error) instead of asking the runtime for it.
type ipcBudget struct {
	memory.Allocator
	left int
}

// ipcDecodeBudget is what decoding an IPC stream of n bytes may allocate. Frames we
// write hold uncompressed IPC bodies, read in one buffer of at most n bytes; the bare
// frames of the first format hold LZ4 frames, which decode to at most 255 times their
// size (LZ4's longest match encoding), plus a little per buffer.
func ipcDecodeBudget(n int, bare bool) int {
	if bare {
		return 256*n + 1<<20
	}
	return n + 1<<20
}

func (a *ipcBudget) take(n int) {
	if n > a.left {
		panic(fmt.Sprintf("Arrow IPC reader asked for %d bytes, more than the payload can decode to (%d bytes left)", n, a.left))
	}
	a.left -= n
}

func (a *ipcBudget) Allocate(n int) []byte {
	a.take(n)
	return a.Allocator.Allocate(n)
}

func (a *ipcBudget) Reallocate(n int, b []byte) []byte {
	if n > len(b) {
		a.take(n - len(b))
	}
	return a.Allocator.Reallocate(n, b)
}
