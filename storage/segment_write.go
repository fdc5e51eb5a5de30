package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// segName is the file name of segment id.
func segName(id uint64) string { return fmt.Sprintf("%s%016d%s", segPrefix, id, segSuffix) }

// buildSegments writes recs (each in the table schema, string columns plain or, from a
// compaction, dictionary-encoded; with a ts column) as segments: rows are grouped by
// (window, shard), sorted by ts within a group, and each group becomes one Parquet file
// (with split, a group larger than its share becomes several, consecutive in ts) with
// ZSTD, dictionary or plain string columns (segment_dict.go) and row groups of
// opts.RowGroupRows rows. Every file is fsynced and the directory too; the metadata is
// returned in (window, shard, ts) order. reserve(n) gives the first of n consecutive
// segment ids to use (Table.reserveSegmentIDs); on error
// the files written so far are removed.
func buildSegments(ctx context.Context, fsys fileSystem, dir string, schema *arrow.Schema, recs []arrow.RecordBatch, opts TableOptions, reserve func(n int) uint64, split bool, pace *pacer) ([]SegmentMeta, error) {
	return buildSegmentsNotify(ctx, fsys, dir, schema, recs, opts, reserve, split, pace, func() {})
}

// segmentBuild is a buildSegments running on its own goroutine (startSegmentBuild).
type segmentBuild struct {
	// dispatched is closed once every segment has a worker (or the build ended): from
	// then on the build's workers go idle one by one, and another build may use the
	// cores they leave.
	dispatched chan struct{}
	done       chan struct{} // closed when metas and err are set
	metas      []SegmentMeta
	err        error
	cancel     context.CancelFunc // stops the build (its files are removed)
}

// startSegmentBuild starts buildSegments on a goroutine of its own.
func startSegmentBuild(ctx context.Context, fsys fileSystem, dir string, schema *arrow.Schema, recs []arrow.RecordBatch, opts TableOptions, reserve func(n int) uint64, split bool, pace *pacer) *segmentBuild {
	b := &segmentBuild{dispatched: make(chan struct{}), done: make(chan struct{})}
	ctx, b.cancel = context.WithCancel(ctx)
	var once sync.Once
	notify := func() { once.Do(func() { close(b.dispatched) }) }
	go func() {
		defer notify() // last: a build that ended shows its result (done) before dispatched
		defer close(b.done)
		defer b.cancel()
		b.metas, b.err = buildSegmentsNotify(ctx, fsys, dir, schema, recs, opts, reserve, split, pace, notify)
	}()
	return b
}

// wait waits for the build to end and returns its result.
func (b *segmentBuild) wait() ([]SegmentMeta, error) {
	<-b.done
	return b.metas, b.err
}

// failed reports whether the build has ended with an error.
func (b *segmentBuild) failed() bool {
	select {
	case <-b.done:
		return b.err != nil
	default:
		return false
	}
}

// buildSegmentsNotify is buildSegments calling dispatched once every segment has been
// taken by a worker (it may not be called when the build fails or has nothing to do).
func buildSegmentsNotify(ctx context.Context, fsys fileSystem, dir string, schema *arrow.Schema, recs []arrow.RecordBatch, opts TableOptions, reserve func(n int) uint64, split bool, pace *pacer, dispatched func()) ([]SegmentMeta, error) {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	if n == 0 {
		return nil, nil
	}
	tsIx := schema.FieldIndices(TSColumn)
	if len(tsIx) == 0 {
		return nil, fmt.Errorf("BUG: sealing a table without a %q column", TSColumn)
	}
	win := opts.Window.Microseconds()
	// One reference per row with its sort key; the batches themselves are not copied
	// until each segment's columns are gathered (one copy, one segment at a time).
	keys := make([]keyed, 0, n)
	starts := make([]int64, len(recs))
	var start int64
	for b, r := range recs {
		starts[b] = start
		start += r.NumRows()
		if r.NumRows() == 0 {
			continue
		}
		ts := r.Column(tsIx[0]).(*array.Timestamp).TimestampValues()
		shards := shardsOf(schema, r.Columns(), opts, int(r.NumRows()))
		for i := range int(r.NumRows()) {
			keys = append(keys, keyed{rowRef{uint32(b), uint32(i)}, floorDiv(int64(ts[i]), win) * win, shards[i], int64(ts[i])})
		}
	}
	// The (window, shard) groups, each one segment, written by up to GOMAXPROCS workers
	// (segments are independent; ids follow the group order whatever finishes first).
	// With split, a group holding more than its share of the rows (one host sending
	// most of the events: one shard) is cut into ts ranges of about
	// max(RowGroupRows, rows / workers) rows, so that every worker has a segment to
	// write instead of one writing the whole seal. The rows are only bucketed here; each
	// worker sorts its group (sortKeyed), so that no core waits for one sorting all.
	procs := runtime.GOMAXPROCS(0)
	piece := len(keys)
	if split {
		piece = max(int(opts.RowGroupRows), (len(keys)+procs-1)/procs)
	}
	rows, groups := groupKeys(keys, piece)
	keys = nil
	nextID := reserve(len(groups))
	metas := make([]SegmentMeta, len(groups))
	written := make([]bool, len(groups))
	cleanup := func() {
		for i, m := range metas {
			if written[i] {
				os.Remove(filepath.Join(dir, m.File))
			}
		}
	}
	// The largest groups first, so that the workers finish together.
	order := make([]int, len(groups))
	for g := range order {
		order[g] = g
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return (groups[b].end - groups[b].start) - (groups[a].end - groups[a].start)
	})
	workers := min(len(groups), procs)
	paces := pace.split(workers)
	errs := make([]error, workers)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var refs []rowRef
			var sts []int64
			scratch := scratchPool.Get().(*segScratch) // reused by every segment of this worker
			defer scratchPool.Put(scratch)
			for !failed.Load() {
				o := int(next.Add(1) - 1)
				if o >= len(groups) {
					dispatched()
					return
				}
				g := order[o]
				if err := ctx.Err(); err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
				refs, sts = refs[:0], sts[:0]
				sortKeyed(rows[groups[g].start:groups[g].end])
				for _, r := range rows[groups[g].start:groups[g].end] {
					refs = append(refs, r.ref)
					sts = append(sts, r.ts)
				}
				m, err := writeSegment(ctx, fsys, dir, segName(nextID+uint64(g)), schema, recs, refs, starts, sts, opts.RowGroupRows, scratch, paces[w])
				if err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
				first := rows[groups[g].start]
				m.Window, m.Shard = first.win, int(first.shard)
				metas[g], written[g] = m, true
			}
		}()
	}
	wg.Wait()
	pace.absorb(paces)
	if err := errors.Join(errs...); err != nil {
		cleanup()
		return nil, err
	}
	if err := syncDir(fsys, dir); err != nil {
		cleanup()
		return nil, err
	}
	return metas, nil
}

// keyed is a row of a seal with its sort key: segments hold (window, shard) groups, each
// sorted by ts, ties in arrival order.
type keyed struct {
	ref   rowRef
	win   int64
	shard uint16
	ts    int64
}

// group is rows[start:end] of groupKeys's result: one segment.
type group struct{ start, end int }

// groupKeys returns keys placed group by group, and the groups: the (window, shard)
// buckets in (window, shard) order, a bucket of more than piece rows cut into about
// len/piece pieces of equal size, each holding the rows sortKeyed would put there
// (quickselect: the cut is exactly where sorting the bucket and cutting it would put
// it, so row groups stay full). Within a group the rows are in no particular order;
// sortKeyed orders them. All of it is linear: sorting every row of a seal on one core
// while the other waited was a tenth of the seal's time on the OTRF corpus.
func groupKeys(keys []keyed, piece int) ([]keyed, []group) {
	type bucketKey struct {
		win   int64
		shard uint16
	}
	// Each row's bucket, and the buckets' sizes (consecutive rows mostly share one).
	ids := map[bucketKey]int{}
	var bkeys []bucketKey
	var counts []int
	of := make([]int32, len(keys))
	last, lastID := bucketKey{}, -1
	for i, k := range keys {
		bk := bucketKey{k.win, k.shard}
		if lastID < 0 || bk != last {
			id, ok := ids[bk]
			if !ok {
				id = len(bkeys)
				ids[bk] = id
				bkeys = append(bkeys, bk)
				counts = append(counts, 0)
			}
			last, lastID = bk, id
		}
		of[i] = int32(lastID)
		counts[lastID]++
	}
	border := make([]int, len(bkeys))
	for b := range border {
		border[b] = b
	}
	slices.SortFunc(border, func(a, b int) int {
		if bkeys[a].win != bkeys[b].win {
			return cmpOrdered(bkeys[a].win, bkeys[b].win)
		}
		return int(bkeys[a].shard) - int(bkeys[b].shard)
	})
	// Placed bucket by bucket, in arrival order within each.
	next := make([]int, len(bkeys))
	at := 0
	for _, b := range border {
		next[b] = at
		at += counts[b]
	}
	out := make([]keyed, len(keys))
	for i, k := range keys {
		b := of[i]
		out[next[b]] = k
		next[b]++
	}
	var groups []group
	at = 0
	for _, b := range border {
		start, end := at, at+counts[b]
		at = end
		for n := end - start; start < end; {
			parts := (n + piece - 1) / piece
			cut := min(end, start+(n+parts-1)/parts)
			if cut < end {
				selectKeyed(out[start:end], cut-start)
			}
			groups = append(groups, group{start, cut})
			start = cut
		}
	}
	return out, groups
}

// keyedLess is sortKeyed's order.
func keyedLess(a, b keyed) bool {
	if a.ts != b.ts {
		return a.ts < b.ts
	}
	if a.ref.b != b.ref.b {
		return a.ref.b < b.ref.b
	}
	return a.ref.i < b.ref.i
}

// selectKeyed reorders rows so that rows[k] is the row sortKeyed would put at k, the
// rows before it all ordered before it and those after it after it (quickselect with
// a median-of-three pivot over unique keys; after more rounds than a good pivot needs,
// it sorts what is left instead, so it never goes quadratic).
func selectKeyed(rows []keyed, k int) {
	lo, hi := 0, len(rows)-1
	for rounds := 0; lo < hi; rounds++ {
		if rounds > 64 {
			sortKeyed(rows[lo : hi+1])
			return
		}
		mid := lo + (hi-lo)/2
		if keyedLess(rows[mid], rows[lo]) {
			rows[mid], rows[lo] = rows[lo], rows[mid]
		}
		if keyedLess(rows[hi], rows[lo]) {
			rows[hi], rows[lo] = rows[lo], rows[hi]
		}
		if keyedLess(rows[hi], rows[mid]) {
			rows[hi], rows[mid] = rows[mid], rows[hi]
		}
		p := rows[mid]
		i, j := lo, hi
		for i <= j {
			for keyedLess(rows[i], p) {
				i++
			}
			for keyedLess(p, rows[j]) {
				j--
			}
			if i <= j {
				rows[i], rows[j] = rows[j], rows[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return // j < k < i: rows[k] is the pivot, in place
		}
	}
}

// sortKeyed orders the rows of one group by ts, ties in arrival order: the order a
// stable sort gives, from an unstable one over unique keys (SortStableFunc's merges
// took 5 % of a seal's CPU).
func sortKeyed(rows []keyed) {
	slices.SortFunc(rows, func(a, b keyed) int {
		if a.ts != b.ts {
			return cmpOrdered(a.ts, b.ts)
		}
		if a.ref.b != b.ref.b {
			return cmpOrdered(a.ref.b, b.ref.b)
		}
		return cmpOrdered(a.ref.i, b.ref.i)
	})
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

// writeSegment writes the rows refs of recs (each in schema; refs sorted by ts, whose
// values are ts) as the Parquet file name in dir, fsynced, and returns its metadata with
// zone maps. String and binary columns are written as dictionaries built straight from
// recs (segment_dict.go); other columns are gathered into one array per row group.
func writeSegment(ctx context.Context, fsys fileSystem, dir, name string, schema *arrow.Schema, recs []arrow.RecordBatch, refs []rowRef, starts []int64, ts []int64, rgRows int64, scratch *segScratch, pace *pacer) (SegmentMeta, error) {
	path := filepath.Join(dir, name)
	n := int64(len(refs))
	m := SegmentMeta{File: name, Rows: n, Columns: map[string]*ColumnStats{}}
	f, err := fsys.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return m, fmt.Errorf("create segment %s: %w", path, err)
	}
	if scratch.w == nil {
		scratch.w = newSegmentBuffer(f)
	}
	bw := scratch.w
	sw := newSyncingWriter(f)
	bw.Reset(sw)
	cw := &countingWriter{w: bw}
	fail := func(err error) (SegmentMeta, error) {
		sw.wait() // before closing the file a background fsync may still use
		f.Close()
		os.Remove(path)
		return m, err
	}
	// Only the columns holding a value in some batch this segment takes rows from are
	// written (the ts column always is): a column absent from a segment reads as nulls
	// (scans and compaction project segments onto the table schema) and its zone map
	// says so. Windows events of many channels make tables of hundreds of sparse
	// columns, most of them null in any one shard: writing those cost definition levels,
	// pages and a dictionary per column for nothing.
	var fields []arrow.Field
	var colIx []int                 // index in schema of fields[j]
	used := make([]bool, len(recs)) // the batches refs take rows from
	for _, r := range refs {
		used[r.b] = true
	}
	{
		for i, fld := range schema.Fields() {
			keep := fld.Name == TSColumn
			for b := 0; !keep && b < len(recs); b++ {
				if used[b] {
					c := recs[b].Column(i)
					keep = c.NullN() < c.Len()
				}
			}
			if keep {
				fields = append(fields, fld)
				colIx = append(colIx, i)
			}
		}
	}
	popts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(segmentZstdLevel),
		parquet.WithDictionaryDefault(true),
		parquet.WithMaxRowGroupLength(rgRows),
		// No Parquet min/max statistics: the zone maps are ours (columnStats, kept in the
		// manifest) and nothing reads Parquet's; skipping them saves ~7 % of the seal's CPU
		// and ~9 % of the file (page and chunk min/max of the string columns).
		parquet.WithStats(false),
		parquet.WithAllocator(mem),
	}
	// Per column: its head sources when it is a string or binary column written as a
	// dictionary. A column whose values are mostly distinct (a sample says) is written
	// plain instead: a dictionary would copy and hash every value twice for nothing.
	if scratch.seen == nil {
		scratch.seen = make(map[string]struct{}, dictSample)
	}
	srcs := make([][]stringSource, len(fields))
	plain := make([]bool, len(fields))
	for i, fld := range fields {
		if fld.Type.ID() == arrow.STRING || fld.Type.ID() == arrow.BINARY {
			if s, ok := stringSources(recs, colIx[i]); ok {
				srcs[i] = s
				if !dictionaryFits(s, refs, used) || mostlyDistinct(s, refs, scratch.seen) {
					plain[i] = true
					popts = append(popts, parquet.WithDictionaryFor(fld.Name, false))
				}
			}
		}
	}
	// Flat columns of the common types are encoded page by page (segment_pages.go);
	// pqarrow writes segments holding any other type.
	direct := !pageWriterOff
	for _, fld := range fields {
		direct = direct && pageColumnOK(fld)
	}
	props := parquet.NewWriterProperties(popts...)
	var fw *pqarrow.FileWriter
	var pf *pageFile
	if direct {
		pf, err = newPageFile(cw, arrow.NewSchema(fields, nil), props, segmentZstdLevel, &scratch.pages)
	} else {
		fw, err = pqarrow.NewFileWriter(arrow.NewSchema(fields, nil), cw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	}
	if err != nil {
		return fail(fmt.Errorf("write segment %s: %w", path, err))
	}
	poisoned := make([]bool, len(fields))
	segStats := make([]ColumnStats, len(fields))
	sizes := make([]int64, len(recs))
	for b, r := range recs {
		sizes[b] = r.NumRows()
	}
	for off := int64(0); off < n; off += rgRows {
		end := min(off+rgRows, n)
		part := refs[off:end]
		rg := RowGroupMeta{Rows: end - off, MinTS: ts[off], MaxTS: ts[end-1], Columns: make(map[string]*ColumnStats, len(fields))}
		// Column by column (what fw.Write does inside), pausing in between when paced.
		scratch.runs = refRuns(scratch.runs, part)
		scratch.rows.build(part, sizes)
		var err error
		if direct {
			err = pf.startRowGroup(len(part))
		} else {
			err = fw.NewRowGroupChecked()
		}
		for i := 0; err == nil && i < len(fields); i++ {
			var col arrow.Array
			var cs ColumnStats
			dict := srcs[i] != nil && !plain[i]
			if direct && srcs[i] != nil && plain[i] {
				cs, err = scratch.plain.writePlain(pf, srcs[i], part, scratch.runs, fields[i].Type)
				if err != nil {
					err = fmt.Errorf("column %q: %w", fields[i].Name, err)
					break
				}
				rg.Columns[fields[i].Name] = &cs
				mergeStats(&segStats[i], cs, rg.Rows, off == 0, &poisoned[i])
				pace.step()
				continue
			}
			if srcs[i] != nil && plain[i] {
				col, cs, err = scratch.plain.gatherStrings(srcs[i], part, scratch.runs, fields[i].Type)
			} else if dict {
				col, cs, err = scratch.dicts[i%2].build(srcs[i], part, &scratch.rows, fields[i].Type)
			} else {
				col, err = gatherColumn(ctx, recs, colIx[i], fields[i].Type, part, starts)
				if err == nil {
					cs = columnStats(col, 0, col.Len())
				}
			}
			if err != nil {
				err = fmt.Errorf("column %q: %w", fields[i].Name, err)
				break
			}
			switch {
			case direct && dict:
				d := &scratch.dicts[i%2]
				err = pf.writeDict(len(part), d.valid, d.dense, d.offsets, d.values)
			case direct:
				err = pf.writeArrow(col)
			default:
				err = fw.WriteColumnData(col)
			}
			if err != nil {
				err = fmt.Errorf("column %q: %w", fields[i].Name, err)
			}
			col.Release()
			rg.Columns[fields[i].Name] = &cs
			mergeStats(&segStats[i], cs, rg.Rows, off == 0, &poisoned[i])
			pace.step()
		}
		if err != nil {
			return fail(fmt.Errorf("write segment %s: %w", path, err))
		}
		m.RowGroups = append(m.RowGroups, rg)
	}
	if direct {
		err = pf.close()
	} else {
		err = fw.Close() // writes the footer; does not close f (countingWriter has no Close)
	}
	if err := finishSegmentFile(err, bw, sw, f, path); err != nil {
		return fail(err)
	}
	m.Bytes, m.CRC = cw.n, cw.crc
	m.MinTS, m.MaxTS = ts[0], ts[len(ts)-1]
	for i, fld := range fields {
		cs := segStats[i]
		m.Columns[fld.Name] = &cs
	}
	return m, nil
}

// segScratch is what one segment writer reuses from column to column and segment to
// segment: two dictionary builders (alternating between consecutive columns, because
// pqarrow keeps the last dictionary it was given until the next column starts) and the
// plain gather's buffers.
type segScratch struct {
	dicts [2]dictColumn
	plain plainColumn
	pages pageScratch
	w     *bufio.Writer       // the segment file's write buffer
	runs  []refRun            // the row group's refRuns
	rows  batchRows           // the row group's rows by batch
	seen  map[string]struct{} // mostlyDistinct's sample
}

// scratchPool keeps segment writers' scratch between seals: grown to a row group's
// values once, not at every seal (growing it was a tenth of the seal's CPU).
var scratchPool = sync.Pool{New: func() any { return new(segScratch) }}

// finishSegmentFile ends a segment file whose footer was written with footerErr: the
// write buffer flushed, the file fsynced and closed (the caller removes it on error).
func finishSegmentFile(footerErr error, bw *bufio.Writer, sw *syncingWriter, f writableFile, path string) error {
	if footerErr == nil {
		footerErr = bw.Flush()
	}
	serr := sw.wait()
	if footerErr != nil {
		return fmt.Errorf("write segment %s: %w", path, footerErr)
	}
	if serr != nil {
		return fmt.Errorf("fsync segment %s: %w", path, serr)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync segment %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close segment %s: %w", path, err)
	}
	return nil
}

// newSegmentBuffer returns the write buffer of a segment file.
func newSegmentBuffer(f interface{ Write([]byte) (int, error) }) *bufio.Writer {
	return bufio.NewWriterSize(f, segWriteBuffer)
}

// syncingWriter writes a segment file and starts an fsync of it in the background after
// every segSyncEvery bytes (one at a time), so that the file reaches the disk in steps of
// about a MiB while it is written instead of in one large fsync at the end. ext4 commits
// one journal for the whole file system and, in ordered mode, writes out every newly
// allocated data block with it: a WAL fsync that lands during a large segment fsync
// waited for all of it (17–55 ms), one that lands during a small step waits for at most
// about a MiB. The writer does not wait for the steps; wait does, before the final fsync.
type syncingWriter struct {
	f       writableFile
	since   int64
	running chan struct{} // closed when the background fsync in flight (if any) ends
	err     error         // the first background fsync's failure; read after running closed
}

func newSyncingWriter(f writableFile) *syncingWriter { return &syncingWriter{f: f} }

func (w *syncingWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.since += int64(n)
	if err == nil && segSyncEvery > 0 && w.since >= segSyncEvery && !w.busy() {
		w.since = 0
		done := make(chan struct{})
		w.running = done
		go func() {
			defer close(done)
			if err := w.f.Sync(); err != nil && w.err == nil {
				w.err = err
			}
		}()
	}
	return n, err
}

// busy reports whether a background fsync is still running.
func (w *syncingWriter) busy() bool {
	if w.running == nil {
		return false
	}
	select {
	case <-w.running:
		return false
	default:
		return true
	}
}

// wait waits for the background fsync in flight and returns the first one's error: after
// a failed fsync a later one can succeed without the data being on disk, so the file
// must be given up.
func (w *syncingWriter) wait() error {
	if w.running != nil {
		<-w.running
	}
	return w.err
}

// segSyncEvery is how many bytes of a segment are written between background fsyncs.
var segSyncEvery int64 = 1 << 20

// pageWriterOff makes writeSegment use pqarrow for every segment (tests compare the two).
var pageWriterOff bool

// segWriteBuffer: a segment's small writes (page headers, column chunk metadata) are
// gathered into writes of this size instead of a system call each.
const segWriteBuffer = 256 << 10

// countingWriter counts and checksums the bytes written through it and hides the file's Close from the
// Parquet writer, which would otherwise close it before the fsync.
type countingWriter struct {
	w   interface{ Write([]byte) (int, error) }
	n   int64
	crc uint32 // CRC32C of the bytes written
}

// Tell is the number of bytes written (what arrow-go's page writer asks of its sink).
func (c *countingWriter) Tell() int64 { return c.n }

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	if err == nil && n < len(p) {
		err = fmt.Errorf("short write: %d of %d bytes", n, len(p))
	}
	return n, err
}
