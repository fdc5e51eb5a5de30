package storage

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// textPages returns the long text columns of recs (Message, CallTrace, ContextInfo:
// in the OTRF corpus the mostly distinct ones a seal writes plain, and most of its
// ZSTD work) as PLAIN byte-array pages of about 1 MiB ([uint32 length][bytes] per
// non-null value), batch by batch.
func textPages(tb testing.TB, recs []arrow.RecordBatch) [][]byte {
	var pages [][]byte
	var cur []byte
	for _, r := range recs {
		for i, col := range r.Columns() {
			switch r.ColumnName(i) {
			case "Message", "CallTrace", "ContextInfo":
			default:
				continue
			}
			s, ok := col.(*array.String)
			if !ok {
				continue
			}
			for j := range s.Len() {
				if s.IsNull(j) {
					continue
				}
				v := s.Value(j)
				cur = binary.LittleEndian.AppendUint32(cur, uint32(len(v)))
				cur = append(cur, v...)
				if len(cur) >= 1<<20 {
					pages = append(pages, cur)
					cur = nil
				}
			}
		}
	}
	if cur != nil {
		pages = append(pages, cur)
	}
	if len(pages) == 0 {
		tb.Fatal("no text pages in the recordings")
	}
	return pages
}

// TestSegmentZstdDecodes checks that pages encoded by segmentZstd (raw literals, no
// checksum) are standard ZSTD: arrow-go's Parquet codec and klauspost's decoder both
// give back every byte of the text pages of an OTRF recording.
func TestSegmentZstdDecodes(t *testing.T) {
	oe := loadOTRF(t, benchRecording)
	recs := fullBatches(oe, 4096)
	defer releaseAll(recs)
	pages := textPages(t, recs)
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := codec.(segmentZstd); !ok {
		t.Fatalf("the registered ZSTD codec is %T, not segmentZstd", codec)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var in, out int
	for i, p := range pages {
		enc := codec.EncodeLevel(nil, p, segmentZstdLevel)
		in, out = in+len(p), out+len(enc)
		if got := codec.Decode(make([]byte, len(p)), enc); !bytes.Equal(got, p) {
			t.Fatalf("page %d: arrow-go's codec decoded %d bytes, not the %d encoded", i, len(got), len(p))
		}
		got, err := dec.DecodeAll(enc, nil)
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("page %d: klauspost's decoder: %d bytes, %v", i, len(got), err)
		}
	}
	// Raw literals cost ratio, not correctness; a ratio this low would mean the pages
	// were no longer compressed at all.
	if ratio := float64(in) / float64(out); ratio < 10 {
		t.Errorf("text pages compressed only %.1f:1", ratio)
	}
}

// BenchmarkPageZstd compresses the OTRF corpus's text pages (textPages) as a seal
// does: literals=raw is segmentZstd's encoder, literals=huffman (the baseline) the same
// with Huffman-coded literals, as arrow-go's codec and klauspost's default have them.
// It reports the input MB/s and the compression ratio.
func BenchmarkPageZstd(b *testing.B) {
	pages := textPages(b, loadCorpus(b).recs)
	var total int64
	for _, p := range pages {
		total += int64(len(p))
	}
	huffman, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(segmentZstdLevel)),
		zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		encode func(dst, src []byte) []byte
	}{
		{"literals=huffman", func(dst, src []byte) []byte { return huffman.EncodeAll(src, dst[:0]) }},
		{"literals=raw", func(dst, src []byte) []byte { return segmentZstd{}.EncodeLevel(dst, src, segmentZstdLevel) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]byte, 0, 4<<20)
			var out int64
			b.SetBytes(total)
			b.ResetTimer()
			for range b.N {
				out = 0
				for _, p := range pages {
					out += int64(len(bc.encode(dst, p)))
				}
			}
			b.ReportMetric(float64(total)/float64(out), "ratio")
		})
	}
}
