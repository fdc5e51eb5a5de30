package storage

import (
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// segmentZstd replaces arrow-go's ZSTD codec for encoding Parquet pages: the same
// klauspost/compress encoder and levels, without the xxhash content checksum of every
// frame (a Parquet page has its own optional CRC, and segments carry a CRC32C of the
// whole file in the manifest), and with raw literals (no Huffman coding of the bytes
// no match covers; the match sequences are still FSE-coded). The checksum was ~3 % of
// a seal's CPU; a probe on OTRF JSON compressed 25 % faster without it and with
// WithLowerEncoderMem at the same ratio. Raw literals: the corpus's plain text pages
// (the most CPU of a seal) compress ~20 % faster at 50:1 instead of 62:1
// (BenchmarkPageZstd), because each 128 KiB block no longer builds and writes a
// Huffman table for the few literals such repetitive text leaves. Decoding is arrow-go's
// own: frames without a checksum and with raw literals are standard ZSTD any reader
// takes. Registered once for the process (arrow-go's codec registry is global;
// only the encoder differs, so other Parquet writers in the process are unaffected in
// what they can read).
type segmentZstd struct {
	compress.Codec // arrow-go's codec: decoding, streams, bounds
}

var zstdEncoders sync.Map // zstd.EncoderLevel -> *sync.Pool of *zstd.Encoder

func zstdEncoder(level zstd.EncoderLevel) (*zstd.Encoder, *sync.Pool) {
	if p, ok := zstdEncoders.Load(level); ok {
		pool := p.(*sync.Pool)
		return pool.Get().(*zstd.Encoder), pool
	}
	p, _ := zstdEncoders.LoadOrStore(level, &sync.Pool{New: func() any {
		enc, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(level),
			zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true),
			zstd.WithNoEntropyCompression(true))
		if err != nil {
			panic(err) // only on invalid options, fixed above
		}
		return enc
	}})
	pool := p.(*sync.Pool)
	return pool.Get().(*zstd.Encoder), pool
}

func (c segmentZstd) Encode(dst, src []byte) []byte {
	return c.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

func (segmentZstd) EncodeLevel(dst, src []byte, level int) []byte {
	l := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		l = zstd.EncoderLevelFromZstd(level)
	}
	enc, pool := zstdEncoder(l)
	defer pool.Put(enc)
	return enc.EncodeAll(src, dst[:0])
}

func init() {
	if base, err := compress.GetCodec(compress.Codecs.Zstd); err == nil {
		compress.RegisterCodec(compress.Codecs.Zstd, segmentZstd{Codec: base})
	}
}
