package storage

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ScanStats says what a scan read and what its zone maps let it skip. Counts are final
// once the iterator has returned io.EOF; before that, the Scanned counts grow as it goes.
type ScanStats struct {
	// Segments is the number of segments in the snapshot; SegmentsScanned were read (at
	// least one row group), SegmentsPruned skipped whole by their zone maps.
	Segments, SegmentsScanned, SegmentsPruned int
	// RowGroupsScanned and RowGroupsPruned count row groups of the segments not pruned
	// whole.
	RowGroupsScanned, RowGroupsPruned int
	// HeadBatches is the number of head batches in the snapshot; HeadBatchesPruned were
	// skipped by their ts range.
	HeadBatches, HeadBatchesScanned, HeadBatchesPruned int
	// RowsRead is the number of rows returned.
	RowsRead int64
}

// StatsIterator is implemented by the Iterator a Table's Scan returns: Stats reports
// what the scan read and pruned so far (for EXPLAIN ANALYZE and tests).
type StatsIterator interface {
	Iterator
	Stats() ScanStats
}

// Scan returns a consistent snapshot of the table at the time of the call (its segments
// and a prefix of its head), projected to opts.Columns. Batches follow the table's
// current schema: columns missing from older data read as nulls, and narrower stored
// types are widened. Rows committed after the call are not seen; sealing, compaction and
// retention running meanwhile do not change what the scan returns. Segments, row groups
// and head batches whose zone maps exclude opts.Predicates or the time range are
// skipped; rows of what is read are returned unfiltered (the caller filters). Segments
// are returned first (oldest first), then the head. Batches with no rows are skipped.
// The Iterator is a StatsIterator.
func (t *Table) Scan(ctx context.Context, opts ScanOptions) (Iterator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	plan := newScanPlan(opts)
	t.mu.Lock()
	schema := t.schema
	var st ScanStats
	batches := make([]arrow.RecordBatch, 0, len(t.batches))
	st.HeadBatches = len(t.batches)
	for i, b := range t.batches {
		h := t.heads[i]
		if b.NumRows() == 0 {
			continue
		}
		if !(zone{rows: b.NumRows(), minTS: h.minTS, maxTS: h.maxTS}).mayMatch(plan) {
			st.HeadBatchesPruned++
			continue
		}
		b.Retain()
		batches = append(batches, b)
	}
	st.Segments = len(t.segments)
	var segs []segmentScan
	for _, s := range t.segments {
		if !s.meta.zone().mayMatch(plan) {
			st.SegmentsPruned++
			continue
		}
		var rgs []int
		for i := range s.meta.RowGroups {
			if s.meta.RowGroups[i].zone().mayMatch(plan) {
				rgs = append(rgs, i)
			} else {
				st.RowGroupsPruned++
			}
		}
		if len(rgs) == 0 {
			st.SegmentsPruned++
			continue
		}
		s.acquire()
		segs = append(segs, segmentScan{seg: s, rowGroups: rgs})
	}
	t.mu.Unlock()
	if schema == nil {
		schema = arrow.NewSchema(nil, nil)
	}

	release := func() {
		releaseAll(batches)
		for _, s := range segs {
			s.seg.release()
		}
	}
	fields := schema.Fields()
	if opts.Columns != nil {
		fields = make([]arrow.Field, len(opts.Columns))
		for i, name := range opts.Columns {
			ix := schema.FieldIndices(name)
			if len(ix) == 0 {
				release()
				return nil, fmt.Errorf("scan table %q: no column %q: %w", t.name, name, ErrColumnNotFound)
			}
			fields[i] = schema.Field(ix[0])
		}
	}
	if opts.Dictionary {
		for i, f := range fields {
			if f.Type.ID() == arrow.STRING {
				fields[i].Type = dictStringType
			}
		}
	}
	return &tableIterator{
		tbl:     t,
		table:   t.name,
		schema:  arrow.NewSchema(fields, nil),
		dict:    opts.Dictionary,
		segs:    segs,
		batches: batches,
		stats:   st,
	}, nil
}

// ScanParts is Scan split for parallel readers: it takes one snapshot, prunes it as Scan
// does, and returns n iterators that together return every batch of it exactly once.
// Segments go to part shard%n, so a part reads whole shards (the unit of parallelism),
// and head batches are dealt round-robin. Each iterator must be closed; they are
// independent and may be read from different goroutines. Each one's Stats count what it
// read; Segments and HeadBatches are those of its part.
func (t *Table) ScanParts(ctx context.Context, opts ScanOptions, n int) ([]Iterator, error) {
	if n < 1 {
		return nil, fmt.Errorf("scan table %q: %d parts; want at least 1", t.name, n)
	}
	it, err := t.Scan(ctx, opts)
	if err != nil {
		return nil, err
	}
	whole := it.(*tableIterator)
	parts := make([]*tableIterator, n)
	for i := range parts {
		parts[i] = &tableIterator{tbl: whole.tbl, table: whole.table, schema: whole.schema, dict: whole.dict}
		parts[i].stats.SegmentsPruned = whole.stats.SegmentsPruned
		parts[i].stats.RowGroupsPruned = whole.stats.RowGroupsPruned
		parts[i].stats.HeadBatchesPruned = whole.stats.HeadBatchesPruned
	}
	for _, ss := range whole.segs {
		p := parts[ss.seg.meta.Shard%n]
		p.segs = append(p.segs, ss)
		p.stats.Segments++
	}
	for i, b := range whole.batches {
		p := parts[i%n]
		p.batches = append(p.batches, b)
		p.stats.HeadBatches++
	}
	out := make([]Iterator, n)
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// dictStringType is what string columns are returned as with ScanOptions.Dictionary: the
// type pqarrow reads Parquet dictionary pages into.
var dictStringType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// segmentScan is a segment of a scan's snapshot and the row groups to read.
type segmentScan struct {
	seg       *segment
	rowGroups []int
}

// tableIterator walks a snapshot: the segments' selected row groups, then the head
// batches, converting each batch to the scan schema.
type tableIterator struct {
	tbl     *Table // for suspectSegment when a segment fails to read
	table   string
	schema  *arrow.Schema
	dict    bool
	segs    []segmentScan // each holds a reference until consumed
	nextSeg int
	batches []arrow.RecordBatch // head snapshot; each retained until consumed
	next    int
	cur     arrow.RecordBatch
	rdr     *segmentReader
	stats   ScanStats
}

// Schema returns the schema of every batch Next returns.
func (it *tableIterator) Schema() *arrow.Schema { return it.schema }

// Stats reports what the scan read and pruned so far.
func (it *tableIterator) Stats() ScanStats { return it.stats }

// Next returns the next batch, valid until the next call, or io.EOF.
func (it *tableIterator) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if it.cur != nil {
		it.cur.Release()
		it.cur = nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Segments first.
		if it.rdr == nil && it.nextSeg < len(it.segs) {
			ss := it.segs[it.nextSeg]
			dm := dictNone
			if it.dict {
				dm = dictStrings
			}
			rdr, err := openSegmentReader(ctx, ss.seg, it.schema, ss.rowGroups, dm)
			if err != nil {
				if ctx.Err() == nil {
					it.tbl.suspectSegment(ss.seg)
				}
				return nil, fmt.Errorf("scan table %q: %w", it.table, err)
			}
			it.rdr = rdr
			it.stats.SegmentsScanned++
			it.stats.RowGroupsScanned += len(ss.rowGroups)
		}
		if it.rdr != nil {
			b, err := it.rdr.next()
			if err == io.EOF {
				it.rdr.close()
				it.rdr = nil
				it.segs[it.nextSeg].seg.release()
				it.segs[it.nextSeg].seg = nil
				it.nextSeg++
				continue
			}
			if err != nil {
				if ctx.Err() == nil {
					it.tbl.suspectSegment(it.segs[it.nextSeg].seg)
				}
				return nil, fmt.Errorf("scan table %q: segment %s: %w", it.table, it.segs[it.nextSeg].seg.path, err)
			}
			out, err := projectBatch(it.table, it.schema, b)
			b.Release()
			if err != nil {
				return nil, err
			}
			if out.NumRows() == 0 {
				out.Release()
				continue
			}
			it.cur = out
			it.stats.RowsRead += out.NumRows()
			return out, nil
		}
		// Then the head.
		if it.next >= len(it.batches) {
			return nil, io.EOF
		}
		b := it.batches[it.next]
		it.batches[it.next] = nil
		it.next++
		out, err := projectBatch(it.table, it.schema, b)
		b.Release()
		if err != nil {
			return nil, err
		}
		it.stats.HeadBatchesScanned++
		it.stats.RowsRead += out.NumRows()
		it.cur = out
		return out, nil
	}
}

// Close releases the snapshot; it may be called at any time, more than once.
func (it *tableIterator) Close() {
	if it.cur != nil {
		it.cur.Release()
		it.cur = nil
	}
	if it.rdr != nil {
		it.rdr.close()
		it.rdr = nil
	}
	for i := it.nextSeg; i < len(it.segs); i++ {
		if it.segs[i].seg != nil {
			it.segs[i].seg.release()
			it.segs[i].seg = nil
		}
	}
	it.segs = nil
	releaseAll(it.batches[it.next:])
	it.batches = nil
	it.next = 0
}

// projectBatch converts b to schema: a column b lacks becomes all nulls, a narrower type
// is widened, and string columns become dictionaries where schema says so. The result is
// owned by the caller; b is not released.
func projectBatch(table string, schema *arrow.Schema, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	return project(table, schema, b, nil, false)
}

// nullArrays shares one all-null array per (type, length) between the batches one
// caller projects: a seal of Windows events from many channels projects each head
// batch onto a table of hundreds of columns, most absent from the batch, and built a
// fresh null array (offsets and validity zeroed) for each: hundreds of MB of garbage
// per seal. Arrays are immutable, so sharing them is safe; release drops the cache's
// references.
type nullArrays map[nullKey]arrow.Array

type nullKey struct {
	fp string
	n  int
}

func (c nullArrays) get(dt arrow.DataType, n int) arrow.Array {
	k := nullKey{dt.Fingerprint(), n}
	a, ok := c[k]
	if !ok {
		a = array.MakeArrayOfNull(mem, dt, n)
		c[k] = a
	}
	a.Retain()
	return a
}

func (c nullArrays) release() {
	for _, a := range c {
		a.Release()
	}
}

// project is projectBatch with absent columns from nulls (nil: fresh) and, with
// keepDict, dictionary<int32, T> columns for table columns of type T kept as they are.
func project(table string, schema *arrow.Schema, b arrow.RecordBatch, nulls nullArrays, keepDict bool) (arrow.RecordBatch, error) {
	n := int(b.NumRows())
	bs := b.Schema()
	out := schema
	var fields []arrow.Field // the output's fields, once one differs from schema's
	cols := make([]arrow.Array, schema.NumFields())
	defer releaseArrays(cols)
	for i, f := range schema.Fields() {
		ix := bs.FieldIndices(f.Name)
		if len(ix) == 0 {
			if nulls != nil {
				cols[i] = nulls.get(f.Type, n)
			} else {
				cols[i] = array.MakeArrayOfNull(mem, f.Type, n)
			}
			continue
		}
		c := b.Column(ix[0])
		if dt, ok := c.DataType().(*arrow.DictionaryType); keepDict && ok && dt.IndexType.ID() == arrow.INT32 && arrow.TypeEqual(dt.ValueType, f.Type) {
			c.Retain()
			cols[i] = c
			if fields == nil {
				fields = slices.Clone(schema.Fields())
			}
			fields[i].Type = dt
			continue
		}
		c, err := convertForScan(c, f.Type)
		if err != nil {
			return nil, fmt.Errorf("scan table %q: column %q: %w", table, f.Name, err)
		}
		cols[i] = c
	}
	if fields != nil {
		out = arrow.NewSchema(fields, nil)
	}
	return array.NewRecordBatch(out, cols, int64(n)), nil
}

// convertForScan is convertArray plus dictionary encoding for dictionary targets.
func convertForScan(arr arrow.Array, to arrow.DataType) (arrow.Array, error) {
	dt, ok := to.(*arrow.DictionaryType)
	if !ok {
		if arr.DataType().ID() == arrow.DICTIONARY {
			return toString(arr)
		}
		return convertArray(arr, to)
	}
	if arrow.TypeEqual(arr.DataType(), to) {
		arr.Retain()
		return arr, nil
	}
	plain, err := convertArray(arr, dt.ValueType)
	if err != nil {
		return nil, err
	}
	defer plain.Release()
	b := array.NewDictionaryBuilder(mem, dt)
	defer b.Release()
	if err := b.AppendArray(plain); err != nil {
		return nil, fmt.Errorf("dictionary-encode: %w", err)
	}
	return b.NewArray(), nil
}

// segmentReader reads selected row groups of one segment.
type segmentReader struct {
	path string
	f    *os.File
	rr   pqarrow.RecordReader
	cur  arrow.RecordBatch
}

// dictMode says which string columns a segment reader returns as dictionaries.
type dictMode int

const (
	dictNone    dictMode = iota // none: plain utf8
	dictStrings                 // every string column
	dictStored                  // those stored with a dictionary page in every row group (not the plain ones, which would be hashed for nothing)
)

// openSegmentReader opens seg for reading the columns of want it has, in the row groups
// rgs (nil: all), with string columns as dictionaries as dict says.
func openSegmentReader(ctx context.Context, seg *segment, want *arrow.Schema, rgs []int, dict dictMode) (*segmentReader, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return nil, fmt.Errorf("open segment %s: %w", seg.path, err)
	}
	fail := func(err error) (*segmentReader, error) {
		f.Close()
		return nil, fmt.Errorf("read segment %s: %w", seg.path, err)
	}
	pr, err := file.NewParquetReader(f)
	if err != nil {
		return fail(err)
	}
	props := pqarrow.ArrowReadProperties{BatchSize: scanBatchRows}
	fr, err := pqarrow.NewFileReader(pr, props, mem)
	if err != nil {
		return fail(err)
	}
	var leaves, dictLeaves []int
	for i := range fr.Manifest.Fields {
		sf := &fr.Manifest.Fields[i]
		if want != nil && len(want.FieldIndices(sf.Field.Name)) == 0 {
			continue
		}
		start := len(leaves)
		leaves = collectLeaves(sf, leaves)
		if dict != dictNone && sf.Field.Type.ID() == arrow.STRING && len(leaves) == start+1 &&
			(dict == dictStrings || storedWithDictionary(pr, leaves[start])) {
			dictLeaves = append(dictLeaves, leaves[start])
		}
	}
	if len(dictLeaves) > 0 {
		// The schema manifest bakes the read-as-dictionary choice into its field types,
		// so the reader is built again with it.
		for _, l := range dictLeaves {
			props.SetReadDict(l, true)
		}
		if fr, err = pqarrow.NewFileReader(pr, props, mem); err != nil {
			return fail(err)
		}
	}
	if len(leaves) == 0 {
		// None of the wanted columns is stored here (or none is wanted): read one column
		// for the row counts, projectBatch drops it.
		leaves = []int{0}
	}
	rr, err := fr.GetRecordReader(ctx, leaves, rgs)
	if err != nil {
		return fail(err)
	}
	return &segmentReader{path: seg.path, f: f, rr: rr}, nil
}

// storedWithDictionary reports whether every row group of the file holds column leaf
// with a dictionary page.
func storedWithDictionary(pr *file.Reader, leaf int) bool {
	md := pr.MetaData()
	for rg := 0; rg < md.NumRowGroups(); rg++ {
		cc, err := md.RowGroup(rg).ColumnChunk(leaf)
		if err != nil || !cc.HasDictionaryPage() {
			return false
		}
	}
	return true
}

func collectLeaves(sf *pqarrow.SchemaField, out []int) []int {
	if sf.IsLeaf() {
		return append(out, sf.ColIndex)
	}
	for i := range sf.Children {
		out = collectLeaves(&sf.Children[i], out)
	}
	return out
}

// next returns the next batch (owned by the caller) or io.EOF. A panic in the Parquet
// decoder (a damaged page) is returned as an error, so that one bad segment fails the
// scan with its path instead of killing the process.
func (r *segmentReader) next() (b arrow.RecordBatch, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("decode segment %s: panic: %v", r.path, p)
		}
	}()
	if !r.rr.Next() {
		if err := r.rr.Err(); err != nil && err != io.EOF {
			return nil, err
		}
		return nil, io.EOF
	}
	b = r.rr.RecordBatch()
	b.Retain()
	return b, nil
}

func (r *segmentReader) close() {
	r.rr.Release()
	r.f.Close()
}

// segmentCRC checks the CRC32C of the open segment file f against m. A mismatch wraps
// errSegmentCorrupt; a read error does not (it says nothing about the file's content).
func segmentCRC(f *os.File, m SegmentMeta) error {
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read for CRC: %w", err)
	}
	if got := h.Sum32(); got != m.CRC {
		return fmt.Errorf("%w: CRC32C %08x, manifest says %08x", errSegmentCorrupt, got, m.CRC)
	}
	return nil
}

// verifySegment checks that the segment file matches its metadata: size, a readable
// footer, the row count and the row groups, and with full also the CRC. It is what Open
// runs before trusting one. Only positive evidence of damage wraps errSegmentCorrupt: a
// missing file, a size, CRC, row or row-group count that differs from the manifest, a
// footer that does not parse. Any other error (EMFILE, ENOMEM, EACCES, EIO on open or
// read) says nothing about the file and is returned as is: the caller must not
// quarantine the segment for it.
func verifySegment(fsys fileSystem, dir string, m SegmentMeta, full bool) error {
	path := filepath.Join(dir, m.File)
	f, err := fsys.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: file missing", errSegmentCorrupt)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != m.Bytes {
		return fmt.Errorf("%w: size %d bytes, manifest says %d", errSegmentCorrupt, st.Size(), m.Bytes)
	}
	if full {
		if err := segmentCRC(f, m); err != nil {
			return err
		}
	}
	pr, err := func() (pr *file.Reader, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return file.NewParquetReader(f)
	}()
	if err != nil {
		return fmt.Errorf("%w: parquet footer: %w", errSegmentCorrupt, err)
	}
	defer pr.Close()
	if pr.NumRows() != m.Rows {
		return fmt.Errorf("%w: %d rows, manifest says %d", errSegmentCorrupt, pr.NumRows(), m.Rows)
	}
	if pr.NumRowGroups() != len(m.RowGroups) {
		return fmt.Errorf("%w: %d row groups, manifest says %d", errSegmentCorrupt, pr.NumRowGroups(), len(m.RowGroups))
	}
	return nil
}

func releaseArrays(cols []arrow.Array) {
	for _, c := range cols {
		if c != nil {
			c.Release()
		}
	}
}
