package storage

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
)

// replayResult says what replay found in one WAL.
type replayResult struct {
	// frames is the number of frames kept.
	frames int
	// size is the end of the last kept frame; the file was truncated to it.
	size int64
	// truncated is the number of bytes dropped from the tail.
	truncated int64
}

// replayWAL reads the WAL at path and calls apply, in order, for every record batch of
// every complete Write call, once per call with the call's batches (apply takes
// ownership of them) and its client batch id ("" if none).
//
// What it trusts: a frame whose header is plausible, whose payload matches its CRC and
// decodes as a one-batch Arrow IPC stream, and only whole Write calls (the call's last
// frame says no frame follows). The tail after the last whole call is what a crash during
// a write leaves (a torn frame, zeros, an unfinished call); it is truncated and the file
// fsynced. Anything a crash cannot produce is refused with ErrCorrupt and a FATAL
// message naming path and offset: a bad frame with a valid frame somewhere after it, a
// frame with a valid CRC that does not decode, frames of a call out of sequence.
func replayWAL(ctx context.Context, path string, apply func(call []arrow.RecordBatch, batchID string) error) (replayResult, error) {
	var res replayResult
	f, err := os.OpenFile(path, os.O_RDWR, filePerm)
	if err != nil {
		return res, fmt.Errorf("open WAL %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("stat WAL %s: %w", path, err)
	}
	fileSize := st.Size()

	r := bufio.NewReaderSize(f, walReadBufferSize)
	var (
		off      int64               // offset of the next frame
		call     []arrow.RecordBatch // batches of the call being read
		callLeft = -1                // frames the current call still expects; -1: none open
		callID   string              // the current call's client batch id
		hdr      [frameHeaderSize]byte
	)
	releaseCall := func() {
		for _, rec := range call {
			rec.Release()
		}
		call = nil
	}
	defer releaseCall()

	bad := int64(-1) // offset of the first frame that is not trusted; -1: clean end
	for {
		if res.frames%256 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				break
			}
			if err == io.ErrUnexpectedEOF {
				bad = off
				break
			}
			return res, fmt.Errorf("read WAL %s at offset %d: %w", path, off, err)
		}
		h := parseFrameHeader(hdr[:])
		if !h.plausible(off, fileSize) {
			bad = off
			break
		}
		payload := make([]byte, h.length)
		if _, err := io.ReadFull(r, payload); err != nil {
			return res, fmt.Errorf("read WAL %s at offset %d: %w", path, off, err)
		}
		if !h.checkPayload(payload) {
			bad = off
			break
		}
		rec, left, id, err := decodePayload(payload)
		if err != nil {
			return res, fmt.Errorf("FATAL: %s: frame at offset %d has a valid CRC but does not decode: %v; refusing to open the table: %w",
				path, off, err, ErrCorrupt)
		}
		if callLeft >= 0 && left != callLeft-1 {
			rec.Release()
			return res, fmt.Errorf("FATAL: %s: frame at offset %d says %d frames of its write follow, the previous frame announced %d more; refusing to open the table: %w",
				path, off, left, callLeft, ErrCorrupt)
		}
		if callLeft < 0 {
			callID = id
		}
		call = append(call, rec)
		callLeft = left
		off += frameHeaderSize + int64(h.length)
		res.frames++
		if left == 0 {
			batches := call
			call = nil
			if err := apply(batches, callID); err != nil {
				return res, fmt.Errorf("FATAL: %s: write ending at offset %d cannot be replayed: %v; refusing to open the table: %w",
					path, off, err, ErrCorrupt)
			}
			call = nil
			callLeft = -1
			res.size = off
		}
	}

	if bad >= 0 {
		next, err := findValidFrame(f, path, bad+1, fileSize)
		if err != nil {
			return res, err
		}
		if next >= 0 {
			return res, fmt.Errorf("FATAL: %s: frame at offset %d is corrupt (bad length or CRC) but a valid frame follows at offset %d; this is not a torn write, refusing to open the table; move its directory aside or restore it: %w",
				path, bad, next, ErrCorrupt)
		}
	}
	// Frames of an unfinished call were counted but are not kept.
	res.frames -= len(call)
	if res.size < fileSize {
		res.truncated = fileSize - res.size
		if err := f.Truncate(res.size); err != nil {
			return res, fmt.Errorf("truncate torn tail of WAL %s to offset %d: %w", path, res.size, err)
		}
		if err := f.Sync(); err != nil {
			return res, fmt.Errorf("fsync WAL %s after truncating its tail: %w", path, err)
		}
	}
	return res, nil
}

// findValidFrame returns the offset of the first valid frame (plausible header, payload
// starting with frameS2DeltaMagic, frameS2BlocksMagic, frameS2Magic or the IPC
// continuation marker, matching CRC) at or after from, or -1. It
// tells a torn tail (nothing valid after the bad frame) from corruption in the middle.
func findValidFrame(f *os.File, path string, from, fileSize int64) (int64, error) {
	const window = 1 << 20
	const probe = frameHeaderSize + 4 // header plus the payload's continuation marker
	buf := make([]byte, window+probe)
	for base := from; base+probe <= fileSize; base += window {
		n, err := f.ReadAt(buf, base)
		if err != nil && !errors.Is(err, io.EOF) {
			return -1, fmt.Errorf("read WAL %s at offset %d: %w", path, base, err)
		}
		for i := 0; i+probe <= n && i < window; i++ {
			if m := binary.LittleEndian.Uint32(buf[i+frameHeaderSize:]); m != frameS2DeltaMagic && m != frameS2BlocksMagic && m != frameS2Magic && m != ipcContinuation {
				continue
			}
			off := base + int64(i)
			h := parseFrameHeader(buf[i:])
			if !h.plausible(off, fileSize) {
				continue
			}
			ok, err := crcMatches(f, off+frameHeaderSize, int64(h.length), h.crc)
			if err != nil {
				return -1, fmt.Errorf("read WAL %s at offset %d: %w", path, off, err)
			}
			if ok {
				return off, nil
			}
		}
	}
	return -1, nil
}

// crcMatches reports whether the n bytes of f at off have CRC32C want.
func crcMatches(f *os.File, off, n int64, want uint32) (bool, error) {
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
		return false, err
	}
	return h.Sum32() == want, nil
}
