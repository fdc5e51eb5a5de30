package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/klauspost/compress/s2"
)

// walFixture writes calls to table "t" in a fresh store and returns the data directory,
// the WAL bytes and the WAL size after each call.
func walFixture(t *testing.T, calls ...[]arrow.RecordBatch) (dir string, wal []byte, ends []int64) {
	t.Helper()
	dir = t.TempDir()
	s := mustOpen(t, dir)
	for _, c := range calls {
		mustWrite(t, s, "t", c...)
		ends = append(ends, mustTable(t, s, "t").Stats().WALBytes)
	}
	mustClose(t, s)
	wal, err := os.ReadFile(walPathOf(dir))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(wal)) != ends[len(ends)-1] {
		t.Fatalf("WAL size %d; want %d", len(wal), ends[len(ends)-1])
	}
	return dir, wal, ends
}

func walPathOf(dir string) string { return filepath.Join(dir, tablesDirName, "t", walName(1)) }

// reopenWith replaces the WAL of table t in dir with data and opens the store.
func reopenWith(t *testing.T, dir string, data []byte) (*Store, error) {
	t.Helper()
	if err := os.WriteFile(walPathOf(dir), data, filePerm); err != nil {
		t.Fatal(err)
	}
	return Open(context.Background(), Options{Dir: dir})
}

func smallCalls() [][]arrow.RecordBatch {
	return [][]arrow.RecordBatch{
		{mkBatch(col{"id", []int64{1, 2}}, col{"msg", []string{"a", "b"}})},
		{mkBatch(col{"id", []int64{3}}, col{"host", []string{"h"}})},
		{mkBatch(col{"id", []int64{4, 5, 6}})},
	}
}

// TestTornTail cuts the WAL at every byte offset within the last frame: reopening keeps
// every earlier row, reports the dropped bytes, truncates the file and accepts writes.
func TestTornTail(t *testing.T) {
	dir, wal, ends := walFixture(t, smallCalls()...)
	good := ends[len(ends)-2]
	for cut := good; cut < int64(len(wal)); cut++ {
		s, err := reopenWith(t, dir, wal[:cut])
		if err != nil {
			t.Fatalf("cut at %d: Open: got %v; want nil", cut, err)
		}
		tbl := mustTable(t, s, "t")
		if got := tbl.Rows(); got != 3 {
			t.Fatalf("cut at %d: rows %d; want 3", cut, got)
		}
		if got, want := s.Recovery()[0].TruncatedBytes, cut-good; got != want {
			t.Fatalf("cut at %d: truncated %d bytes; want %d", cut, got, want)
		}
		st, _ := os.Stat(walPathOf(dir))
		if st.Size() != good {
			t.Fatalf("cut at %d: WAL size after recovery %d; want %d", cut, st.Size(), good)
		}
		if cut == good+1 { // the store still works after a truncated tail
			rec := mkBatch(col{"id", []int64{7}})
			mustWrite(t, s, "t", rec)
			rec.Release()
			mustClose(t, s)
			s = mustOpen(t, dir)
			if got := mustTable(t, s, "t").Rows(); got != 4 {
				t.Fatalf("write after recovery then reopen: rows %d; want 4", got)
			}
		}
		mustClose(t, s)
	}
}

// TestTornMultiBatchCall cuts a three-batch call at every offset: the call is kept whole
// or not at all.
func TestTornMultiBatchCall(t *testing.T) {
	calls := smallCalls()
	calls = append(calls, []arrow.RecordBatch{
		mkBatch(col{"id", []int64{10}}),
		mkBatch(col{"id", []int64{11}}),
		mkBatch(col{"id", []int64{12}}),
	})
	dir, wal, ends := walFixture(t, calls...)
	good := ends[len(ends)-2]
	for cut := good; cut <= int64(len(wal)); cut++ {
		s, err := reopenWith(t, dir, wal[:cut])
		if err != nil {
			t.Fatalf("cut at %d: Open: got %v; want nil", cut, err)
		}
		want := int64(6)
		if cut == int64(len(wal)) {
			want = 9
		}
		if got := mustTable(t, s, "t").Rows(); got != want {
			t.Fatalf("cut at %d: rows %d; want %d", cut, got, want)
		}
		mustClose(t, s)
	}
}

func TestCorruptTailFrameIsTruncated(t *testing.T) {
	dir, wal, ends := walFixture(t, smallCalls()...)
	good := ends[len(ends)-2]
	f := func(off int64) {
		t.Helper()
		data := append([]byte(nil), wal...)
		data[off] ^= 0x40
		s, err := reopenWith(t, dir, data)
		if err != nil {
			t.Fatalf("flip at %d: Open: got %v; want nil", off, err)
		}
		defer mustClose(t, s)
		if got := mustTable(t, s, "t").Rows(); got != 3 {
			t.Fatalf("flip at %d: rows %d; want 3", off, got)
		}
		if got, want := s.Recovery()[0].TruncatedBytes, int64(len(wal))-good; got != want {
			t.Fatalf("flip at %d: truncated %d; want %d", off, got, want)
		}
	}
	f(good + 4)               // the CRC itself
	f(good + frameHeaderSize) // first payload byte
	f(good + 100)             // inside the payload
	f(int64(len(wal)) - 1)    // last byte
	f(good + 1)               // the length: the frame runs past the end of the file
}

func TestCorruptMiddleFrameFailsOpen(t *testing.T) {
	dir, wal, ends := walFixture(t, smallCalls()...)
	f := func(off int64) {
		t.Helper()
		data := append([]byte(nil), wal...)
		data[off] ^= 0x01
		s, err := reopenWith(t, dir, data)
		if err == nil {
			mustClose(t, s)
			t.Fatalf("flip at %d: Open: got nil error; want ErrCorrupt", off)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flip at %d: got %v; want ErrCorrupt", off, err)
		}
		msg := err.Error()
		for _, want := range []string{"FATAL: " + walPathOf(dir) + ":", `table "t"`, "offset"} {
			if !strings.Contains(msg, want) {
				t.Fatalf("flip at %d: error %q lacks %q", off, msg, want)
			}
		}
		// The refused WAL is left untouched for inspection.
		got, _ := os.ReadFile(walPathOf(dir))
		if len(got) != len(data) {
			t.Fatalf("flip at %d: WAL size after refused Open %d; want %d", off, len(got), len(data))
		}
	}
	f(ends[0] + 20) // payload of the second frame
	f(ends[0] + 2)  // length of the second frame
	f(100)          // payload of the first frame
	// The lock is released after a failed Open.
	s, err := reopenWith(t, dir, wal)
	if err != nil {
		t.Fatalf("Open of the intact WAL: %v", err)
	}
	mustClose(t, s)
}

func TestEmptyTableDirIsRemoved(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	mustClose(t, s)
	for _, name := range []string{"nowal", "emptywal"} {
		if err := os.MkdirAll(filepath.Join(dir, tablesDirName, name), dirPerm); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, tablesDirName, "emptywal", walName(1)), []byte{1, 2, 3}, filePerm); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir)
	defer mustClose(t, s)
	if got := len(s.Tables()); got != 0 {
		t.Fatalf("tables: got %d; want 0", got)
	}
	for _, r := range s.Recovery() {
		if !r.Removed {
			t.Fatalf("recovery %+v: want Removed", r)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, tablesDirName)); len(entries) != 0 {
		t.Fatalf("table dirs left: got %d; want 0", len(entries))
	}
}

func TestLeftoverReplaceIsIgnored(t *testing.T) {
	dir, wal, _ := walFixture(t, smallCalls()...)
	if err := os.WriteFile(walPathOf(dir)+tmpSuffix, wal[:50], filePerm); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir)
	defer mustClose(t, s)
	if got := mustTable(t, s, "t").Rows(); got != 6 {
		t.Fatalf("rows: got %d; want 6", got)
	}
	if _, err := os.Stat(walPathOf(dir) + tmpSuffix); !os.IsNotExist(err) {
		t.Fatalf("stat leftover: got %v; want not exist", err)
	}
}

// FuzzReplayWAL checks that replay never panics and either refuses a WAL or keeps a
// prefix of whole frames.
func FuzzReplayWAL(f *testing.F) {
	s := mustOpen(f, f.TempDir())
	for _, c := range smallCalls() {
		mustWrite(f, s, "t", c...)
	}
	tbl := mustTable(f, s, "t")
	wal, err := os.ReadFile(tbl.wal.path)
	if err != nil {
		f.Fatal(err)
	}
	mustClose(f, s)
	f.Add(wal)
	f.Add(wal[:len(wal)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), walName(1))
		if err := os.WriteFile(path, data, filePerm); err != nil {
			t.Fatal(err)
		}
		var recs []arrow.RecordBatch
		res, err := replayWAL(context.Background(), path, func(call []arrow.RecordBatch, _ string) error {
			recs = append(recs, call...)
			return nil
		})
		releaseAll(recs)
		if err != nil {
			return
		}
		st, _ := os.Stat(path)
		if st.Size() != res.size || res.size+res.truncated != int64(len(data)) {
			t.Fatalf("size %d, result %+v; want size == kept and kept+truncated == %d", st.Size(), res, len(data))
		}
	})
}

// legacyFrame encodes rec the way WAL frames were written before S2 (a bare Arrow IPC
// stream with LZ4-compressed bodies, no magic), with arrow's own writer.
func legacyFrame(t testing.TB, rec arrow.RecordBatch, left int) []byte {
	t.Helper()
	return framePayload(ipcFrameStream(t, rec, left, ipc.WithLZ4()))
}

// s2BlockFrame encodes rec as the second format wrote frames (SFS2: the whole IPC
// stream as one S2 block).
func s2BlockFrame(t testing.TB, rec arrow.RecordBatch, left int) []byte {
	t.Helper()
	payload := binary.LittleEndian.AppendUint32(nil, frameS2Magic)
	return framePayload(append(payload, s2.Encode(nil, ipcFrameStream(t, rec, left))...))
}

// ipcFrameStream is rec as the IPC stream of a frame with left frames of its call after
// it, written by arrow's writer with opts.
func ipcFrameStream(t testing.TB, rec arrow.RecordBatch, left int, opts ...ipc.Option) []byte {
	t.Helper()
	md := arrow.NewMetadata([]string{metaFramesLeft}, []string{strconv.Itoa(left)})
	schema := arrow.NewSchema(rec.Schema().Fields(), &md)
	framed := array.NewRecordBatch(schema, rec.Columns(), rec.NumRows())
	defer framed.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, append([]ipc.Option{ipc.WithSchema(schema)}, opts...)...)
	if err := w.Write(framed); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// framePayload puts the frame header (length, CRC32C) in front of payload.
func framePayload(payload []byte) []byte {
	hdr := make([]byte, frameHeaderSize)
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hdr[4:8], crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli)))
	return append(hdr, payload...)
}

// TestLegacyFramesReplay: a WAL written before the current frames (a bare LZ4 IPC
// stream, then one S2 block of the stream, then S2 blocks without spans) followed by
// frames of the current format replays whole, and new frames carry the "SFS4" magic.
func TestLegacyFramesReplay(t *testing.T) {
	calls := append(smallCalls(), []arrow.RecordBatch{mkBatch(col{"id", []int64{7}}, col{"msg", []string{"z"}})})
	dir, wal, ends := walFixture(t, calls...)
	for i, start := range append([]int64{0}, ends[:len(ends)-1]...) {
		if got := string(wal[start+frameHeaderSize : start+frameHeaderSize+4]); got != "SFS4" {
			t.Fatalf("frame %d at offset %d starts with %q; want the S2 blocks with spans magic \"SFS4\"", i, start, got)
		}
	}
	// The first call as a bare IPC frame, the second as one S2 block, the third as S2
	// blocks without spans, the fourth as written today.
	withTS := func(rec arrow.RecordBatch) arrow.RecordBatch {
		r, err := withTS("t", rec, DefaultTimeFields, time.Unix(1700000000, 0))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	var data []byte
	for i, frame := range []func(testing.TB, arrow.RecordBatch, int) []byte{legacyFrame, s2BlockFrame, s2BlocksFrame} {
		r := withTS(calls[i][0])
		data = append(data, frame(t, r, 0)...)
		r.Release()
	}
	data = append(data, wal[ends[2]:]...)
	s, err := reopenWith(t, dir, data)
	if err != nil {
		t.Fatalf("Open over legacy frames: %v", err)
	}
	defer mustClose(t, s)
	if tr := s.Recovery()[0].TruncatedBytes; tr != 0 {
		t.Fatalf("truncated %d bytes of a valid mixed WAL; want 0", tr)
	}
	var ids []int64
	var msgs []string
	for _, row := range scanRows(t, mustTable(t, s, "t"), []string{"id", "msg"}) {
		ids = append(ids, row["id"].(int64))
		if m, ok := row["msg"].(string); ok {
			msgs = append(msgs, m)
		}
	}
	if fmt.Sprint(ids) != "[1 2 3 4 5 6 7]" || fmt.Sprint(msgs) != "[a b z]" {
		t.Fatalf("ids, msgs after replaying bare, S2, S2-blocks and S2-blocks-with-spans frames: %v %v; want [1 2 3 4 5 6 7] [a b z]", ids, msgs)
	}
}

// s2BlocksFrame is rec as a frame of the third format (SFS3): S2 blocks of the IPC
// stream (of 1 MiB, as that encoder gathered small writes), no spans stored as
// differences.
func s2BlocksFrame(t testing.TB, rec arrow.RecordBatch, left int) []byte {
	t.Helper()
	stream := ipcFrameStream(t, rec, left)
	payload := binary.LittleEndian.AppendUint32(nil, frameS2BlocksMagic)
	payload = binary.LittleEndian.AppendUint32(payload, uint32(len(stream)))
	for len(stream) > 0 {
		n := min(len(stream), 1<<20)
		block := s2.Encode(nil, stream[:n])
		payload = append(binary.LittleEndian.AppendUint32(payload, uint32(len(block))), block...)
		stream = stream[n:]
	}
	return framePayload(payload)
}

// FuzzDecodePayload feeds frame payloads (behind the CRC, which replay checks first) to
// the decoder (which turns a decoder panic into an error): a payload it accepts
// re-encodes to the same rows.
// Seeds: real payloads of each format.
func FuzzDecodePayload(f *testing.F) {
	for _, c := range smallCalls() {
		r, err := withTS("t", c[0], DefaultTimeFields, time.Unix(1700000000, 0))
		if err != nil {
			f.Fatal(err)
		}
		fr, err := encodeFrame(r, 0, "id")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr[frameHeaderSize:])
		f.Add(s2BlockFrame(f, r, 0)[frameHeaderSize:])
		f.Add(s2BlocksFrame(f, r, 0)[frameHeaderSize:])
		r.Release()
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		// Lengths announced past 16 MiB are allocated before they can be checked
		// against the data (a valid frame can be that large): out of scope here, where
		// they would make each run take seconds.
		if len(payload) >= 8 {
			switch binary.LittleEndian.Uint32(payload) {
			case frameS2BlocksMagic, frameS2DeltaMagic:
				if binary.LittleEndian.Uint32(payload[4:]) > 16<<20 {
					return
				}
			case frameS2Magic:
				if n, err := s2.DecodedLen(payload[4:]); err == nil && n > 16<<20 {
					return
				}
			}
		}
		rec, _, _, err := decodePayload(payload)
		if err != nil {
			return
		}
		defer rec.Release()
		if rec.NumRows() > 1<<16 {
			return // a forged row count over tiny buffers: validating it takes seconds
		}
		if err := validateBatch(rec); err != nil {
			// Arrow's IPC reader does not check offsets; a payload that passes the CRC
			// was written by encodeFrame from a validated batch.
			return
		}
		fr, err := encodeFrame(rec, 0, "")
		if err != nil {
			t.Fatalf("re-encoding a decoded batch: %v", err)
		}
		back, _, _, err := decodePayload(fr[frameHeaderSize:])
		if err != nil {
			t.Fatalf("decoding a re-encoded batch: %v", err)
		}
		defer back.Release()
		if !array.RecordEqual(rec, back) {
			t.Fatal("re-encoded batch decodes differently")
		}
	})
}

// validateBatch runs Arrow's full validation over every column of rec.
func validateBatch(rec arrow.RecordBatch) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	for _, c := range rec.Columns() {
		if v, ok := c.(interface{ ValidateFull() error }); ok {
			if err := v.ValidateFull(); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestFrameOfSlicedBatch: a small slice of a large batch is framed in a buffer sized for
// the slice, not for its parent's buffers (frameSizeHint counts whole buffers; uncapped,
// a slice of a batch of more than 4 GiB panicked in Write: found in review), and reads
// back as the slice.
func TestFrameOfSlicedBatch(t *testing.T) {
	const n = 20 << 20 // 160 MB of int64
	vals := make([]int64, n)
	for i := range vals {
		vals[i] = int64(i)
	}
	big := mkBatch(col{"id", vals})
	defer big.Release()
	small := big.NewSlice(n-1000, n)
	defer small.Release()
	r, err := withTS("t", small, DefaultTimeFields, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	fr, err := encodeFrame(r, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if limit := frameHeaderSize + 8 + s2.MaxEncodedLen(maxInitialFrame); cap(fr) > limit {
		t.Fatalf("frame buffer of %d bytes for a 1,000-row slice; want at most %d", cap(fr), limit)
	}
	back, _, _, err := decodePayload(fr[frameHeaderSize:])
	if err != nil {
		t.Fatal(err)
	}
	defer back.Release()
	if got := back.Column(back.Schema().FieldIndices("id")[0]).(*array.Int64).Value(0); back.NumRows() != 1000 || got != n-1000 {
		t.Fatalf("decoded %d rows starting at id %d; want 1000 from %d", back.NumRows(), got, n-1000)
	}
}

// TestDecodeForgedIPCLengths: a payload whose Arrow IPC messages announce a body (or
// metadata) far larger than the payload is refused with an error before anything of
// that size is allocated. Arrow's stream reader allocates the announced body first, and
// a terabyte is a fatal out-of-memory that no recover catches (FuzzDecodePayload found
// this; a payload is only decoded after its CRC matched, so it takes damage that the
// CRC misses, or a bug of ours, to get here).
func TestDecodeForgedIPCLengths(t *testing.T) {
	rec := mkBatch(col{"id", []int64{1, 2}}, col{"msg", []string{"a", "b"}})
	defer rec.Release()
	r, err := withTS("t", rec, DefaultTimeFields, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	stream := ipcFrameStream(t, r, 0)
	// The record batch message: the stream's second message. Its body ends 8 bytes
	// (the end-of-stream marker) before the stream does.
	off := 8 + int(binary.LittleEndian.Uint32(stream[4:])) // past the schema message
	metaLen := int(binary.LittleEndian.Uint32(stream[off+4:]))
	meta := stream[off+8 : off+8+metaLen]
	body := len(stream) - 8 - (off + 8 + metaLen)
	want := binary.LittleEndian.AppendUint64(nil, uint64(body))
	at := bytes.Index(meta, want)
	if at < 0 || body == 0 {
		t.Fatalf("body length %d not found in the record batch message's metadata", body)
	}
	// The same batch as a bare frame of the first format (LZ4-compressed buffers, each
	// led by its uncompressed length), the first buffer's length forged.
	lz4 := ipcFrameStream(t, r, 0, ipc.WithLZ4())
	lz4Off := 8 + int(binary.LittleEndian.Uint32(lz4[4:]))
	lz4Body := lz4Off + 8 + int(binary.LittleEndian.Uint32(lz4[lz4Off+4:]))
	if n := int64(binary.LittleEndian.Uint64(lz4[lz4Body:])); n <= 0 || n > 64 {
		t.Fatalf("the LZ4 body's first buffer announces %d uncompressed bytes; want a small length", n)
	}
	for _, c := range []struct {
		name string
		lz4  bool
		edit func(b []byte)
	}{
		{"LZ4 buffer of 1 TiB", true, func(b []byte) {
			binary.LittleEndian.PutUint64(b[lz4Body:], 1<<40)
		}},
		{"body of 1 TiB", false, func(b []byte) {
			binary.LittleEndian.PutUint64(b[off+8+at:], 1<<40)
		}},
		{"body of 300 MiB", false, func(b []byte) {
			binary.LittleEndian.PutUint64(b[off+8+at:], 300<<20)
		}},
		{"metadata of 1 GiB", false, func(b []byte) {
			binary.LittleEndian.PutUint32(b[off+4:], 1<<30)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			forged := bytes.Clone(stream)
			if c.lz4 {
				forged = bytes.Clone(lz4)
			}
			c.edit(forged)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rec, _, _, err := decodePayload(forged)
			runtime.ReadMemStats(&after)
			if err == nil {
				rec.Release()
				t.Fatal("decoded a payload announcing more bytes than it holds; want an error")
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
				t.Fatalf("allocated %d bytes to refuse a %d-byte payload (%v)", got, len(forged), err)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestDecodeChecksEveryMessage: a frame whose record batch message (not its schema)
// carries a custom metadata vector forged to four billion pairs is refused; arrow-go
// would make two slices of that length (fatal). The first version checked only the
// schema message (found in review).
func TestDecodeChecksEveryMessage(t *testing.T) {
	md := arrow.NewMetadata([]string{metaFramesLeft}, []string{"0"})
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, &md)
	b := array.NewInt64Builder(mem)
	b.AppendValues([]int64{1, 2}, nil)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatchWithMetadata(sc, []arrow.Array{col}, 2, arrow.NewMetadata([]string{"k"}, []string{"v"}))
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(sc))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	stream := buf.Bytes()
	if r, _, _, err := decodePayload(bytes.Clone(stream)); err != nil {
		t.Fatalf("the frame as written: %v", err)
	} else {
		r.Release()
	}
	off := 8 + int(binary.LittleEndian.Uint32(stream[4:])) // the record batch message
	meta := stream[off+8 : off+8+int(binary.LittleEndian.Uint32(stream[off+4:]))]
	msg := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
	vec := int(msg.Vector(flatbuffers.UOffsetT(msg.Offset(12)))) // Message.custom_metadata
	if n := binary.LittleEndian.Uint32(meta[vec-4:]); n != 1 {
		t.Fatalf("the record batch message's custom metadata holds %d pairs; want 1", n)
	}
	binary.LittleEndian.PutUint32(meta[vec-4:], 0xFFFFFFF0)
	r, _, _, err := decodePayload(stream)
	if err == nil {
		r.Release()
		t.Fatal("decoded a frame with forged record batch metadata; want an error")
	}
	if !strings.Contains(err.Error(), "message 1") {
		t.Fatalf("error %q; want it to name message 1", err)
	}
}

// TestReplayKeepsWhatWasWritten: replay checks a frame's structure only, never more
// than the writer did: a string column that is not valid UTF-8 (Store.Write does not
// check it; the server refuses it before storage) is acknowledged, so it must replay.
// With content checks on replay the table failed to open with ErrCorrupt (review).
func TestReplayKeepsWhatWasWritten(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	sb := array.NewStringBuilder(mem)
	sb.Append("\xff\xfe")
	sb.Append("ok")
	rec := mkBatch(col{"id", []int64{1, 2}}, col{"msg", sb.NewArray()})
	mustWrite(t, s, "t", rec)
	rec.Release()
	mustClose(t, s)
	s = mustOpen(t, dir)
	defer mustClose(t, s)
	if got := mustTable(t, s, "t").Rows(); got != 2 {
		t.Fatalf("%d rows after replay; want 2", got)
	}
}

// TestFrameOffsetsAsDeltas: a frame stores the value offsets of every string and binary
// column as differences (one span each), which makes a batch of an OTRF recording's
// events smaller than the same frame without spans, and gives back the same batch,
// sliced or not. Damaged spans are an error, not a wrong batch.
func TestFrameOffsetsAsDeltas(t *testing.T) {
	oe := loadOTRF(t, benchRecording)
	recs := fullBatches(oe, 4096)
	defer releaseAll(recs)
	rec := recs[0]
	strs := 0
	for _, c := range rec.Columns() {
		if id := c.DataType().ID(); id == arrow.STRING || id == arrow.BINARY {
			strs++
		}
	}
	fr, err := encodeFrame(rec, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	payload := fr[frameHeaderSize:]
	if m := binary.LittleEndian.Uint32(payload); m != frameS2DeltaMagic {
		t.Fatalf("payload magic %#x; want SFS4 %#x", m, frameS2DeltaMagic)
	}
	spans := int(binary.LittleEndian.Uint32(payload[len(payload)-4:]))
	if spans != strs || strs == 0 {
		t.Fatalf("%d spans stored as differences; want one per string column (%d)", spans, strs)
	}
	if old := len(s2BlocksFrame(t, rec, 0)); len(fr) >= old {
		t.Fatalf("frame with spans %d bytes, without %d; want it smaller", len(fr), old)
	} else {
		t.Logf("%d rows: %d bytes with spans, %d without", rec.NumRows(), len(fr), old)
	}
	for _, r := range []arrow.RecordBatch{rec, rec.NewSlice(1, rec.NumRows()-3)} {
		fr, err := encodeFrame(r, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		back, _, _, err := decodePayload(fr[frameHeaderSize:])
		if err != nil {
			t.Fatal(err)
		}
		if !array.RecordEqual(r, back) {
			t.Fatalf("batch of %d rows decoded differently", r.NumRows())
		}
		back.Release()
		if r != rec {
			r.Release()
		}
	}

	// The spans sit before the count at the payload's end: (position, length) each.
	first := len(payload) - 4 - 8*spans
	for _, bc := range []struct {
		name   string
		damage func(p []byte)
	}{
		{"past the stream", func(p []byte) { binary.LittleEndian.PutUint32(p[first:], 1<<29) }},
		{"not whole uint32s", func(p []byte) { binary.LittleEndian.PutUint32(p[first+4:], 6) }},
		{"out of order", func(p []byte) { copy(p[first+8:first+12], p[first:first+4]) }},
		{"count too large", func(p []byte) { binary.LittleEndian.PutUint32(p[len(p)-4:], uint32(len(p))) }},
		// Negative as an int on 32-bit platforms (GOARCH=386 runs this test too).
		{"length past 2 GiB", func(p []byte) { binary.LittleEndian.PutUint32(p[first+4:], 0xFFFFFFFC) }},
		{"position past 2 GiB", func(p []byte) { binary.LittleEndian.PutUint32(p[first:], 0xFFFFFFF0) }},
	} {
		p := slices.Clone(payload)
		bc.damage(p)
		rec, _, _, err := decodePayload(p)
		if err == nil {
			rec.Release()
			t.Errorf("spans %s: decoded; want an error", bc.name)
		} else if !strings.Contains(err.Error(), "span") {
			t.Errorf("spans %s: %v; want an error naming the spans", bc.name, err)
		}
	}
}

// BenchmarkFrameEncode encodes the OTRF corpus's batches (4,096 events of 28
// recordings) as WAL frames, as Write does before the fsync: offsets=deltas is the
// current encoder, offsets=plain (the baseline) the same with no span (SFS4 frames of
// the size and cost SFS3 frames had). It reports the IPC stream's MB/s and the frame
// bytes per event.
func BenchmarkFrameEncode(b *testing.B) {
	recs := loadCorpus(b).recs
	var stream int64
	for _, r := range recs {
		fr, err := encodeFrame(r, 0, "")
		if err != nil {
			b.Fatal(err)
		}
		stream += int64(binary.LittleEndian.Uint32(fr[frameHeaderSize+frameMagicSize:]))
		releaseFrames([][]byte{fr})
	}
	defer func(v bool) { frameDeltas = v }(frameDeltas)
	for _, bc := range []struct {
		name   string
		deltas bool
	}{{"offsets=plain", false}, {"offsets=deltas", true}} {
		b.Run(bc.name, func(b *testing.B) {
			frameDeltas = bc.deltas
			var events, framed int64
			b.SetBytes(stream)
			b.ResetTimer()
			for range b.N {
				events, framed = 0, 0
				for _, r := range recs {
					fr, err := encodeFrame(r, 0, "")
					if err != nil {
						b.Fatal(err)
					}
					events += r.NumRows()
					framed += int64(len(fr))
					releaseFrames([][]byte{fr})
				}
			}
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(framed)/float64(events), "frame-B/event")
		})
	}
}
