package storage

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// pageFile writes a segment's Parquet file page by page: the column values a seal has
// already laid out (a dictionary's distinct values and each row's entry, a gathered
// plain column, fixed-width values and validity bitmaps) are encoded straight into
// data pages, which arrow-go's page writer compresses, frames and accounts for in the
// column chunk metadata; arrow-go's metadata builders write the footer. So the file is
// what pqarrow writes for the same columns (same schema, ARROW:schema metadata, ZSTD
// pages, one column chunk after another; string columns with the same dictionary or
// plain encoding, but numeric columns PLAIN where pqarrow tries a dictionary first, and
// one data page per fixed-width or dictionary chunk), without pqarrow's per-row
// work: it builds an int16 definition level for every row of every column (nulls
// included: most cells of a table of hundreds of sparse Windows columns), derives the
// validity back from them, RLE-encodes them one value at a time, and allocates and
// zeroes its page buffers per column. Here a definition-level run is read off the
// validity bitmap a byte at a time (a column null in 64k rows is one run), and the
// page buffers are reused. See DESIGN.md, "Sealing, fifth step".
//
// Only flat columns of the types pageColumnOK accepts are written this way; a segment
// with any other column is written by pqarrow (writeSegment decides).
type pageFile struct {
	sink  *countingWriter
	props *parquet.WriterProperties
	fmb   *metadata.FileMetaDataBuilder
	rgb   *metadata.RowGroupMetaDataBuilder
	rgOrd int16
	col   int
	pager file.PageWriter
	codec compress.Codec
	level int

	*pageScratch
}

// pageScratch is what a pageFile reuses, kept in the segment writer's scratch from
// segment to segment.
type pageScratch struct {
	page []byte // the uncompressed page being built
	comp []byte // its compressed form
	vals []byte // a dictionary page's values
}

// maxPageValueBytes is where a plain column's data page is cut (the value bytes of one
// page, before compression): pqarrow's default data page size.
const maxPageValueBytes = 1 << 20

// pageColumnOK reports whether pageFile writes the column fld: nullable (an OPTIONAL
// Parquet column: every page starts with definition levels; a REQUIRED one has none,
// and table schemas are all nullable anyway) of a type whose Parquet physical type holds
// the Arrow values unchanged.
func pageColumnOK(fld arrow.Field) bool {
	if !fld.Nullable {
		return false
	}
	dt := fld.Type
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64, arrow.BOOL:
		return true
	case arrow.TIMESTAMP:
		// Seconds are coerced to milliseconds by pqarrow (Parquet has no seconds).
		return dt.(*arrow.TimestampType).Unit != arrow.Second
	}
	return false
}

// newPageFile starts a Parquet file for the flat schema sc on sink. Columns named in
// plain are written without a dictionary (the props must say so: the column chunk
// metadata lists the encodings the props give).
func newPageFile(sink *countingWriter, sc *arrow.Schema, props *parquet.WriterProperties, level int, scratch *pageScratch) (*pageFile, error) {
	// The column chunk metadata lists the encodings the props name; the pages written
	// here are RLE_DICTIONARY (dictionary pages PLAIN) or PLAIN, the Parquet 2 defaults.
	if props.DictionaryIndexEncoding() != parquet.Encodings.RLEDict || props.DictionaryPageEncoding() != parquet.Encodings.Plain {
		return nil, fmt.Errorf("BUG: page writer given Parquet %s properties", props.Version())
	}
	pqs, err := pqarrow.ToParquet(sc, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	// ARROW:schema as pqarrow stores it: base64 of an IPC stream holding the schema.
	var ser bytes.Buffer
	w := ipc.NewWriter(&ser, ipc.WithSchema(sc), ipc.WithAllocator(mem))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("serialize the Arrow schema: %w", err)
	}
	kv := make(metadata.KeyValueMetadata, 0, 1)
	kv.Append("ARROW:schema", base64.StdEncoding.EncodeToString(ser.Bytes()))
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return nil, err
	}
	f := &pageFile{sink: sink, props: props, fmb: metadata.NewFileMetadataBuilder(pqs, props, kv), rgOrd: -1, codec: codec, level: level, pageScratch: scratch}
	if _, err := sink.Write([]byte("PAR1")); err != nil {
		return nil, err
	}
	return f, nil
}

// startRowGroup begins a row group of rows rows; its columns follow in schema order.
func (f *pageFile) startRowGroup(rows int) error {
	if f.rgb != nil {
		if err := f.endRowGroup(); err != nil {
			return err
		}
	}
	f.rgb = f.fmb.AppendRowGroup()
	f.rgb.SetNumRows(rows)
	f.rgOrd++
	f.col = 0
	return nil
}

func (f *pageFile) endRowGroup() error {
	err := f.rgb.Finish(0, f.rgOrd) // the size argument is unused: computed from the chunks
	f.rgb = nil
	return err
}

// nextColumn returns the page writer for the row group's next column chunk.
func (f *pageFile) nextColumn() (file.PageWriter, error) {
	ccb := f.rgb.NextColumnChunk()
	var err error
	if f.pager == nil {
		f.pager, err = file.NewPageWriter(f.sink, compress.Codecs.Zstd, f.level, ccb, f.rgOrd, int16(f.col), mem, false, nil, nil)
	} else {
		err = f.pager.Reset(f.sink, compress.Codecs.Zstd, f.level, ccb, f.rgOrd, int16(f.col), nil, nil)
	}
	f.col++
	return f.pager, err
}

// writePage compresses f.page (rows definition levels and the values behind them, of
// encoding enc) and writes it as a data page.
func (f *pageFile) writePage(pw file.PageWriter, rows int, enc parquet.Encoding) error {
	if len(f.page) > math.MaxInt32 {
		return fmt.Errorf("%w: a data page of %d bytes", ErrSegmentTooLarge, len(f.page))
	}
	f.comp = f.codec.EncodeLevel(f.comp[:0], f.page, f.level)
	if len(f.comp) > math.MaxInt32 {
		return fmt.Errorf("%w: a compressed data page of %d bytes", ErrSegmentTooLarge, len(f.comp))
	}
	page := file.NewDataPageV1(memory.NewBufferBytes(f.comp), int32(rows), enc, parquet.Encodings.RLE, parquet.Encodings.RLE, int32(len(f.page)))
	_, err := pw.WriteDataPage(page)
	page.Release()
	return err
}

// writeDict writes a dictionary column chunk of n rows: valid (bit k: row k not null),
// dense the entries of the non-null rows in order, the entries given by offsets and
// values.
func (f *pageFile) writeDict(n int, valid []byte, dense []int32, offsets []int32, values []byte) error {
	pw, err := f.nextColumn()
	if err != nil {
		return err
	}
	entries := len(offsets) - 1
	f.vals = f.vals[:0]
	for e := range entries {
		v := values[offsets[e]:offsets[e+1]]
		f.vals = binary.LittleEndian.AppendUint32(f.vals, uint32(len(v)))
		f.vals = append(f.vals, v...)
	}
	if len(f.vals) > math.MaxInt32 {
		return fmt.Errorf("%w: a dictionary page of %d bytes", ErrSegmentTooLarge, len(f.vals))
	}
	dp := file.NewDictionaryPage(memory.NewBufferBytes(f.vals), int32(entries), parquet.Encodings.Plain)
	_, err = pw.WriteDictionaryPage(dp)
	dp.Release()
	if err != nil {
		return err
	}
	width := 1
	if entries > 1 {
		width = bits.Len32(uint32(entries - 1))
	}
	f.page = appendDefLevels(f.page[:0], valid, n)
	f.page = append(f.page, byte(width))
	f.page = appendHybrid(f.page, dense, width)
	if err := f.writePage(pw, n, parquet.Encodings.RLEDict); err != nil {
		return err
	}
	return pw.Close(true, false)
}

// writePlainBinary writes a plain string or binary column chunk of n rows from its
// Arrow layout (valid nil: no nulls; offsets of n+1 entries), cut into pages of about
// maxPageValueBytes of values.
func (f *pageFile) writePlainBinary(n int, valid []byte, offsets []int32, values []byte) error {
	return f.writePlainRows(n, valid, offsets, func(dst []byte, start, end int) []byte {
		for k := start; k < end; k++ {
			if valid == nil || bitutil.BitIsSet(valid, k) {
				v := values[offsets[k]:offsets[k+1]]
				dst = binary.LittleEndian.AppendUint32(dst, uint32(len(v)))
				dst = append(dst, v...)
			}
		}
		return dst
	})
}

// writePlainRows writes a plain string or binary column chunk of n rows (valid nil: no
// nulls; offsets: n+1 running totals of the values' bytes, which decide where pages
// end), cut into pages of about maxPageValueBytes of values; appendRows appends rows
// [start, end)'s non-null values PLAIN-encoded (length, bytes), called once per page in
// row order.
func (f *pageFile) writePlainRows(n int, valid []byte, offsets []int32, appendRows func(dst []byte, start, end int) []byte) error {
	pw, err := f.nextColumn()
	if err != nil {
		return err
	}
	for start := 0; start < n; {
		// Pages start on a multiple of 8 rows, so that each page's definition levels
		// are whole bytes of the bitmap.
		end := start
		for end < n && (int(offsets[end]-offsets[start]) < maxPageValueBytes || end%8 != 0) {
			end++
		}
		f.page = appendDefLevels(f.page[:0], sliceBits(valid, start), end-start)
		f.page = appendRows(f.page, start, end)
		if err := f.writePage(pw, end-start, parquet.Encodings.Plain); err != nil {
			return err
		}
		start = end
	}
	return pw.Close(false, false)
}

// writePlainChunk writes a column chunk of n rows as one PLAIN data page: the
// definition levels read off valid, then the values appendValues appends.
func (f *pageFile) writePlainChunk(n int, valid []byte, appendValues func(dst []byte) []byte) error {
	pw, err := f.nextColumn()
	if err != nil {
		return err
	}
	f.page = appendValues(appendDefLevels(f.page[:0], valid, n))
	if err := f.writePage(pw, n, parquet.Encodings.Plain); err != nil {
		return err
	}
	return pw.Close(false, false)
}

// writePlainFixed writes a fixed-width column chunk of n rows of width bytes each
// (values: the n values, nulls included, little endian), one page per row group.
func (f *pageFile) writePlainFixed(n int, valid []byte, values []byte, width int) error {
	return f.writePlainChunk(n, valid, func(dst []byte) []byte {
		if valid == nil {
			return append(dst, values[:n*width]...)
		}
		for k := 0; k < n; k++ {
			if bitutil.BitIsSet(valid, k) {
				dst = append(dst, values[k*width:(k+1)*width]...)
			}
		}
		return dst
	})
}

// writePlainBool writes a boolean column chunk of n rows (values: a bitmap from bit
// voff).
func (f *pageFile) writePlainBool(n int, valid []byte, values []byte, voff int) error {
	return f.writePlainChunk(n, valid, func(dst []byte) []byte {
		var acc byte
		nb := 0
		for k := 0; k < n; k++ {
			if valid != nil && !bitutil.BitIsSet(valid, k) {
				continue
			}
			if bitutil.BitIsSet(values, voff+k) {
				acc |= 1 << nb
			}
			if nb++; nb == 8 {
				dst = append(dst, acc)
				acc, nb = 0, 0
			}
		}
		if nb > 0 {
			dst = append(dst, acc)
		}
		return dst
	})
}

// close ends the last row group and writes the footer.
func (f *pageFile) close() error {
	if f.rgb != nil {
		if err := f.endRowGroup(); err != nil {
			return err
		}
	}
	fmd, err := f.fmb.Finish()
	if err != nil {
		return err
	}
	n, err := fmd.WriteTo(f.sink, nil)
	if err != nil {
		return err
	}
	var tail [8]byte
	binary.LittleEndian.PutUint32(tail[:4], uint32(n))
	copy(tail[4:], "PAR1")
	_, err = f.sink.Write(tail[:])
	return err
}

// sliceBits returns the bitmap valid from bit start, which must be a multiple of 8
// (nil stays nil).
func sliceBits(valid []byte, start int) []byte {
	if valid == nil {
		return nil
	}
	return valid[start/8:]
}

// appendDefLevels appends the definition levels of n rows of an optional flat column
// (1: the value is there, 0: null) as Parquet v1 page levels: a 4-byte length, then the
// RLE/bit-packed hybrid of bit width 1 read off the validity bitmap valid (nil: no
// nulls), whose bit layout (least significant first) is the bit-packed one. Runs of
// whole 0x00 or 0xff bytes become RLE runs; the rest is bit-packed a byte (8 rows) at
// a time.
func appendDefLevels(dst []byte, valid []byte, n int) []byte {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	if valid == nil {
		dst = appendRLERun(dst, n, 1, 1)
	} else {
		full := n / 8
		lit := -1 // offset of the open literal run's header byte in dst
		groups := 0
		for i := 0; i < full; {
			b := valid[i]
			if b == 0 || b == 0xff {
				j := i + 1
				for j < full && valid[j] == b {
					j++
				}
				if j-i >= 2 || lit < 0 {
					lit = -1
					dst = appendRLERun(dst, (j-i)*8, uint32(b&1), 1)
					i = j
					continue
				}
			}
			if lit < 0 || groups == maxLiteralGroups {
				lit, groups = len(dst), 0
				dst = append(dst, 0)
			}
			dst = append(dst, b)
			groups++
			dst[lit] = byte(groups<<1 | 1)
			i++
		}
		if tail := n % 8; tail > 0 {
			b := valid[full] & (1<<tail - 1)
			switch b {
			case 0:
				dst = appendRLERun(dst, tail, 0, 1)
			case 1<<tail - 1:
				dst = appendRLERun(dst, tail, 1, 1)
			default: // the last run: a group padded with zeros
				dst = append(dst, 1<<1|1, b)
			}
		}
	}
	binary.LittleEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}

// maxLiteralGroups: a bit-packed run's header is written before its groups are known,
// as one byte: at most 63 groups of 8 values.
const maxLiteralGroups = 63

// appendRLERun appends an RLE run of count copies of v, of bit width width.
func appendRLERun(dst []byte, count int, v uint32, width int) []byte {
	dst = binary.AppendUvarint(dst, uint64(count)<<1)
	for b := 0; b < (width+7)/8; b++ {
		dst = append(dst, byte(v>>(8*b)))
	}
	return dst
}

// appendHybrid appends vals as the RLE/bit-packed hybrid of bit width width (no length
// prefix: how dictionary indices follow their bit-width byte): a value repeated over
// a whole group of 8 and beyond becomes an RLE run, other groups are bit-packed, the
// last group padded with zeros.
func appendHybrid(dst []byte, vals []int32, width int) []byte {
	lit := -1
	groups := 0
	i := 0
	for i < len(vals) {
		if len(vals)-i < 8 {
			v := vals[i]
			same := true
			for _, x := range vals[i:] {
				same = same && x == v
			}
			if same {
				return appendRLERun(dst, len(vals)-i, uint32(v), width)
			}
			var g [8]int32
			copy(g[:], vals[i:])
			return packGroup(append(dst, 1<<1|1), g[:], width)
		}
		g := vals[i : i+8]
		v := g[0]
		if g[1] == v && g[2] == v && g[3] == v && g[4] == v && g[5] == v && g[6] == v && g[7] == v {
			j := i + 8
			for j < len(vals) && vals[j] == v {
				j++
			}
			lit = -1
			dst = appendRLERun(dst, j-i, uint32(v), width)
			i = j
			continue
		}
		if lit < 0 || groups == maxLiteralGroups {
			lit, groups = len(dst), 0
			dst = append(dst, 0)
		}
		dst = packGroup(dst, g, width)
		groups++
		dst[lit] = byte(groups<<1 | 1)
		i += 8
	}
	return dst
}

// packGroup appends 8 values bit-packed at width bits each (least significant first):
// exactly width bytes.
func packGroup(dst []byte, g []int32, width int) []byte {
	var acc uint64
	nb := 0
	for _, v := range g[:8] {
		acc |= uint64(uint32(v)) << nb
		nb += width
		for nb >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			nb -= 8
		}
	}
	return dst
}

// writeArrow writes col (offset 0: gathered for the segment) as a plain column chunk.
func (f *pageFile) writeArrow(col arrow.Array) error {
	d := col.Data()
	if d.Offset() != 0 {
		return fmt.Errorf("BUG: page writer given an array at offset %d", d.Offset())
	}
	n := col.Len()
	var valid []byte
	if col.NullN() > 0 {
		valid = d.Buffers()[0].Bytes()
	}
	var values []byte
	if len(d.Buffers()) > 1 && d.Buffers()[1] != nil {
		values = d.Buffers()[1].Bytes()
	}
	switch a := col.(type) {
	case interface{ ValueOffsets() []int32 }: // utf8, binary
		var data []byte
		if b := d.Buffers()[2]; b != nil {
			data = b.Bytes()
		}
		return f.writePlainBinary(n, valid, a.ValueOffsets(), data)
	}
	if col.DataType().ID() == arrow.BOOL {
		return f.writePlainBool(n, valid, values, 0)
	}
	if w := plainWidth(col.DataType()); w > 0 {
		return f.writePlainFixed(n, valid, values, w)
	}
	return fmt.Errorf("BUG: page writer given a %s column", col.DataType())
}

// plainWidth is the byte width of a fixed-width type the page writer writes PLAIN
// (0 for the others).
func plainWidth(dt arrow.DataType) int {
	switch dt.ID() {
	case arrow.INT32, arrow.FLOAT32:
		return 4
	case arrow.INT64, arrow.FLOAT64, arrow.TIMESTAMP:
		return 8
	}
	return 0
}
