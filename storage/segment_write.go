package storage

import (
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// segName is the file name of segment id.
func segName(id uint64) string { return fmt.Sprintf("%s%016d%s", segPrefix, id, segSuffix) }

// buildSegments writes recs (each already in the table schema, with a ts column) as
// segments: rows are grouped by (window, shard), sorted by ts within a group, and each
// group becomes one Parquet file with ZSTD, dictionary-encoded columns and row groups of
// opts.RowGroupRows rows. Every file is fsynced and the directory too; the metadata is
// returned in (window, shard) order. nextID is the first segment id to use; on error the
// files written so far are removed.
func buildSegments(ctx context.Context, fsys fileSystem, dir string, schema *arrow.Schema, recs []arrow.RecordBatch, opts TableOptions, nextID uint64) ([]SegmentMeta, error) {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	if n == 0 {
		return nil, nil
	}
	// Concatenate the batches column by column.
	cols := make([]arrow.Array, schema.NumFields())
	defer releaseArrays(cols)
	for i := range schema.NumFields() {
		parts := make([]arrow.Array, 0, len(recs))
		for _, r := range recs {
			if r.NumRows() > 0 {
				parts = append(parts, r.Column(i))
			}
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("concatenate column %q: %w", schema.Field(i).Name, err)
		}
		cols[i] = c
	}
	tsIx := schema.FieldIndices(TSColumn)
	if len(tsIx) == 0 {
		return nil, fmt.Errorf("BUG: sealing a table without a %q column", TSColumn)
	}
	ts := cols[tsIx[0]].(*array.Timestamp).TimestampValues()
	shards := shardsOf(schema, cols, opts, int(n))
	win := opts.Window.Microseconds()

	// Sort row indices by (window, shard, ts).
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	windowOf := func(i int32) int64 { return floorDiv(int64(ts[i]), win) * win }
	slices.SortStableFunc(idx, func(a, b int32) int {
		if wa, wb := windowOf(a), windowOf(b); wa != wb {
			return cmpOrdered(wa, wb)
		}
		if shards[a] != shards[b] {
			return int(shards[a]) - int(shards[b])
		}
		return cmpOrdered(int64(ts[a]), int64(ts[b]))
	})
	ib := array.NewInt32Builder(mem)
	ib.AppendValues(idx, nil)
	idxArr := ib.NewArray()
	ib.Release()
	defer idxArr.Release()
	sorted := make([]arrow.Array, len(cols))
	defer releaseArrays(sorted)
	for i, c := range cols {
		s, err := compute.TakeArray(ctx, c, idxArr)
		if err != nil {
			return nil, fmt.Errorf("sort column %q: %w", schema.Field(i).Name, err)
		}
		sorted[i] = s
	}
	all := array.NewRecordBatch(schema, sorted, n)
	defer all.Release()
	sts := sorted[tsIx[0]].(*array.Timestamp).TimestampValues()

	var metas []SegmentMeta
	cleanup := func() {
		for _, m := range metas {
			os.Remove(filepath.Join(dir, m.File))
		}
	}
	for start := int64(0); start < n; {
		w, sh := windowOf(idx[start]), shards[idx[start]]
		end := start + 1
		for end < n && windowOf(idx[end]) == w && shards[idx[end]] == sh {
			end++
		}
		part := all.NewSlice(start, end)
		m, err := writeSegment(fsys, dir, segName(nextID), part, sts[start:end], opts.RowGroupRows)
		part.Release()
		if err != nil {
			cleanup()
			return nil, err
		}
		m.Window, m.Shard = w, int(sh)
		metas = append(metas, m)
		nextID++
		start = end
		if err := ctx.Err(); err != nil {
			cleanup()
			return nil, err
		}
	}
	if err := syncDir(dir); err != nil {
		cleanup()
		return nil, err
	}
	return metas, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// shardsOf returns each row's shard: FNV-1a of the first non-null partition key's value,
// modulo opts.Shards; rows with no key go to shard 0. FNV-1a because it is stable across
// processes and versions (a cluster will route by it).
func shardsOf(schema *arrow.Schema, cols []arrow.Array, opts TableOptions, n int) []uint16 {
	out := make([]uint16, n)
	if opts.Shards <= 1 {
		return out
	}
	done := make([]bool, n)
	for _, key := range opts.PartitionKeys {
		ix := schema.FieldIndices(key)
		if len(ix) == 0 {
			continue
		}
		c := cols[ix[0]]
		for i := range n {
			if done[i] || c.IsNull(i) {
				continue
			}
			var h uint32 = 2166136261
			var v string
			if s, ok := c.(*array.String); ok {
				v = s.Value(i)
			} else {
				v = c.ValueStr(i)
			}
			for j := 0; j < len(v); j++ {
				h ^= uint32(v[j])
				h *= 16777619
			}
			out[i] = uint16(h % uint32(opts.Shards))
			done[i] = true
		}
	}
	return out
}

// writeSegment writes rec (sorted by ts, whose values are ts) as the Parquet file name in
// dir, fsynced, and returns its metadata with zone maps.
func writeSegment(fsys fileSystem, dir, name string, rec arrow.RecordBatch, ts []arrow.Timestamp, rgRows int64) (SegmentMeta, error) {
	path := filepath.Join(dir, name)
	m := SegmentMeta{File: name, Rows: rec.NumRows(), Columns: map[string]*ColumnStats{}}
	f, err := fsys.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return m, fmt.Errorf("create segment %s: %w", path, err)
	}
	cw := &countingWriter{w: f}
	fail := func(err error) (SegmentMeta, error) {
		f.Close()
		os.Remove(path)
		return m, err
	}
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(true),
		parquet.WithMaxRowGroupLength(rgRows),
		parquet.WithStats(true),
		parquet.WithAllocator(mem),
	)
	fw, err := pqarrow.NewFileWriter(rec.Schema(), cw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return fail(fmt.Errorf("write segment %s: %w", path, err))
	}
	n := rec.NumRows()
	for off := int64(0); off < n; off += rgRows {
		end := min(off+rgRows, n)
		part := rec.NewSlice(off, end)
		err := fw.Write(part)
		rg := RowGroupMeta{Rows: end - off, MinTS: int64(ts[off]), MaxTS: int64(ts[end-1]), Columns: map[string]*ColumnStats{}}
		for i, fld := range rec.Schema().Fields() {
			cs := columnStats(rec.Column(i), int(off), int(end-off))
			rg.Columns[fld.Name] = &cs
		}
		part.Release()
		if err != nil {
			return fail(fmt.Errorf("write segment %s: %w", path, err))
		}
		m.RowGroups = append(m.RowGroups, rg)
	}
	if err := fw.Close(); err != nil { // writes the footer; does not close f (countingWriter has no Close)
		return fail(fmt.Errorf("write segment %s: %w", path, err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("fsync segment %s: %w", path, err))
	}
	if err := f.Close(); err != nil {
		return fail(fmt.Errorf("close segment %s: %w", path, err))
	}
	m.Bytes, m.CRC = cw.n, cw.crc
	m.MinTS, m.MaxTS = int64(ts[0]), int64(ts[len(ts)-1])
	for i, fld := range rec.Schema().Fields() {
		cs := columnStats(rec.Column(i), 0, int(n))
		m.Columns[fld.Name] = &cs
	}
	return m, nil
}

// countingWriter counts and checksums the bytes written through it and hides the file's Close from the
// Parquet writer, which would otherwise close it before the fsync.
type countingWriter struct {
	w   interface{ Write([]byte) (int, error) }
	n   int64
	crc uint32 // CRC32C of the bytes written
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	if err == nil && n < len(p) {
		err = fmt.Errorf("short write: %d of %d bytes", n, len(p))
	}
	return n, err
}
