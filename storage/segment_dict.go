package storage

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// dictColumn builds the string and binary columns of a segment's row groups as
// dictionary arrays (int32 indices + the distinct values in the order build meets them:
// batch by batch, not row order; nothing depends on it) straight
// from the head batches, in the sorted row order, without copying a row's value more
// than once per distinct value. pqarrow writes such an array as the column chunk's
// dictionary page and its indices (PutDictionary + WriteDictIndices): no per-row
// []parquet.ByteArray over every row (nulls included), no second hashing of each value
// by the encoder's memo table, no copy of the column into a gathered array first. This
// is what made sealing ~4x cheaper (DESIGN.md, "Performance"). The zone map comes from
// the dictionary: its entries are exactly the column's distinct non-null values.
//
// Its buffers are reused from row group to row group; two builders alternate between
// consecutive columns, because pqarrow keeps a reference to the last dictionary it was
// given until the column writer after it is opened.
type dictColumn struct {
	ids     map[string]int32
	idx     []int32 // each row's entry (0 for a null row)
	dense   []int32 // the entries of the non-null rows, in order (what a data page holds)
	valid   []byte
	offsets []int32
	values  []byte
}

// refRun is a run of a row group's rows taken from one batch: rows k..k+n-1 of the row
// group are rows of batch b (refs[k+j].i), consecutive ones (i, i+1, ...) when contig.
// Rows sorted by (shard, ts) come in such runs when batches arrive in time order, and a
// column null in a whole batch, as most columns of a wide table of Windows events are
// in the batches of another channel, then costs nothing per row; a contiguous run of a
// batch without nulls is copied in one piece.
type refRun struct {
	b, k, n, i int
	contig     bool
}

// refRuns returns the runs of part (appended to dst[:0]).
func refRuns(dst []refRun, part []rowRef) []refRun {
	dst = dst[:0]
	for k := 0; k < len(part); {
		b, i := part[k].b, part[k].i
		n := 1
		contig := true
		for k+n < len(part) && part[k+n].b == b {
			contig = contig && part[k+n].i == i+uint32(n)
			n++
		}
		dst = append(dst, refRun{b: int(b), k: k, n: n, i: int(i), contig: contig})
		k += n
	}
	return dst
}

// stringSource is one batch's string or binary column, unpacked for direct access:
// plain (offsets and values of each row) or, from a compaction reading dictionary
// pages, dictionary-encoded (indices of each row into offsets and values).
type stringSource struct {
	offsets []int32 // plain: per row, shifted by the array's offset; dict: per dictionary entry; nil: every row null
	values  []byte
	valid   []byte  // nil when the array has no nulls
	voff    int     // bit offset of row 0 in valid
	idx     []int32 // dict: each row's entry (shifted by the array's offset); nil for plain
	remap   []int32 // dict: entry -> id in the dictionary being built, -1 unset
}

// stringSources unpacks column c of recs, or returns false when a batch holds it in
// another layout (the caller then gathers it the general way).
func stringSources(recs []arrow.RecordBatch, c int) ([]stringSource, bool) {
	src := make([]stringSource, len(recs))
	for b, r := range recs {
		col := r.Column(c)
		var s stringSource
		d := col.Data()
		if col.NullN() > 0 && col.NullN() < col.Len() {
			s.valid, s.voff = d.Buffers()[0].Bytes(), d.Offset()
		}
		values := col
		if da, ok := col.(*array.Dictionary); ok {
			ix, ok := da.Indices().(*array.Int32)
			if !ok {
				return nil, false
			}
			s.idx = ix.Int32Values()
			values = da.Dictionary()
		}
		switch a := values.(type) {
		case *array.String:
			s.offsets = a.ValueOffsets()
		case *array.Binary:
			s.offsets = a.ValueOffsets()
		default:
			return nil, false
		}
		if vb := values.Data().Buffers()[2]; vb != nil {
			s.values = vb.Bytes()
		}
		if col.NullN() == col.Len() {
			s.offsets, s.idx = nil, nil // every row null
		}
		if s.idx != nil {
			s.remap = make([]int32, len(s.offsets)-1)
		}
		src[b] = s
	}
	return src, true
}

// value returns row i's value (pointing into the batch) and whether it is not null.
func (s *stringSource) value(i int) (string, bool) {
	if s.offsets == nil || (s.valid != nil && !bitutil.BitIsSet(s.valid, s.voff+i)) {
		return "", false
	}
	if s.idx != nil {
		i = int(s.idx[i])
	}
	lo, hi := s.offsets[i], s.offsets[i+1]
	if hi == lo {
		return "", true
	}
	return unsafe.String(&s.values[lo], int(hi-lo)), true
}

// batchRows lists a row group's rows by batch: the positions (into the row group's
// refs) of batch b's rows are k[start[b]:start[b+1]], in row order. A dictionary column
// visits only the batches that hold it through it: in ts order the rows of batches from
// many collectors interleave (on the OTRF corpus nearly every row is a run of its own),
// and a sparse column is absent from most batches, so walking the rows for every column
// cost more than building the dictionaries (a quarter of a seal's CPU).
//
// For columns with nulls it also maps back: pos[base[b]+i] is the position of batch b's
// row i in the row group, -1 when the row group does not hold it, and lo[b]..hi[b] the
// range of batch b's rows it holds. A sparse column then walks the set bits of each
// batch's validity bitmap over that range instead of every row (on the OTRF corpus, 82 %
// of the rows a dictionary column visited were nulls).
type batchRows struct {
	start  []int32
	k      []int32
	next   []int32
	pos    []int32 // -1 outside the row group being written (reset by build)
	set    []int   // the entries of pos build set, for the next build to reset
	base   []int   // first index of each batch in pos
	lo, hi []int32 // rows of batch b held: i in [lo[b], hi[b]]
}

// build lists the rows of part, whose batch indexes are below len(sizes) (sizes: each
// batch's rows).
func (br *batchRows) build(part []rowRef, sizes []int64) {
	batches := len(sizes)
	br.start = grow(br.start, batches+1)
	clear(br.start)
	for _, r := range part {
		br.start[r.b+1]++
	}
	for b := 1; b <= batches; b++ {
		br.start[b] += br.start[b-1]
	}
	br.next = append(br.next[:0], br.start[:batches]...)
	br.k = grow(br.k, len(part))
	for k, r := range part {
		br.k[br.next[r.b]] = int32(k)
		br.next[r.b]++
	}
	// The map back, reset where the previous row group set it.
	for _, j := range br.set {
		br.pos[j] = -1
	}
	br.set = br.set[:0]
	br.base = grow(br.base, batches)
	total := 0
	for b, n := range sizes {
		br.base[b] = total
		total += int(n)
	}
	if len(br.pos) < total {
		br.pos = make([]int32, total, total+total/4)
		for j := range br.pos {
			br.pos[j] = -1
		}
	}
	br.lo, br.hi = grow(br.lo, batches), grow(br.hi, batches)
	for b := range batches {
		br.lo[b], br.hi[b] = math.MaxInt32, -1
	}
	for k, r := range part {
		j := br.base[r.b] + int(r.i)
		br.pos[j] = int32(k)
		br.set = append(br.set, j)
		br.lo[r.b] = min(br.lo[r.b], int32(r.i))
		br.hi[r.b] = max(br.hi[r.b], int32(r.i))
	}
}

// add interns batch s's row i (not null) and returns its entry. last and lastID are
// the value and entry of the plain row added before: rows of one batch in ts order
// repeat the previous row's value often (the same host, channel, image in a run), so
// it is compared before hashing. A dictionary source looks each of its entries up once
// per build (remap).
func (d *dictColumn) add(s *stringSource, i int, last *string, lastID *int32) (int32, error) {
	if s.idx != nil {
		e := s.idx[i]
		id := s.remap[e]
		if id < 0 {
			var err error
			if id, err = d.intern(s, int(e)); err != nil {
				return 0, err
			}
			s.remap[e] = id
		}
		return id, nil
	}
	lo, hi := s.offsets[i], s.offsets[i+1]
	if *lastID >= 0 && int(hi-lo) == len(*last) && string(s.values[lo:hi]) == *last {
		return *lastID, nil
	}
	id, err := d.intern(s, i)
	if err != nil {
		return 0, err
	}
	*lastID = id
	if hi > lo {
		*last = unsafe.String(&s.values[lo], int(hi-lo))
	} else {
		*last = ""
	}
	return id, nil
}

// build returns rows refs of src (rows: refs listed by batch) as a dictionary array of
// type dt (utf8 or binary values), and the zone map of those rows; d.dense holds the
// entries of the non-null rows in row order. A column null in every row gets a one-entry
// dictionary ("") that no row references, so that every column chunk has a dictionary
// page of the usual shape.
func (d *dictColumn) build(src []stringSource, refs []rowRef, rows *batchRows, dt arrow.DataType) (arrow.Array, ColumnStats, error) {
	n := len(refs)
	if d.ids == nil {
		d.ids = make(map[string]int32)
	}
	clear(d.ids)
	d.idx = grow(d.idx, n)
	clear(d.idx) // null rows reference entry 0
	d.valid = grow(d.valid, int(bitutil.BytesForBits(int64(n))))
	clear(d.valid)
	d.offsets = append(d.offsets[:0], 0)
	d.values = d.values[:0]
	for b := range src {
		for j := range src[b].remap {
			src[b].remap[j] = -1
		}
	}
	nulls := 0
	var last string // the value of the last plain row interned, lastID its id
	lastID := int32(-1)
	for b := range src {
		ks := rows.k[rows.start[b]:rows.start[b+1]]
		if len(ks) == 0 {
			continue
		}
		s := &src[b]
		if s.offsets == nil { // null in the whole batch
			nulls += len(ks)
			continue
		}
		if s.valid == nil {
			for _, k32 := range ks {
				k := int(k32)
				bitutil.SetBit(d.valid, k)
				id, err := d.add(s, int(refs[k].i), &last, &lastID)
				if err != nil {
					return nil, ColumnStats{}, err
				}
				d.idx[k] = id
			}
			continue
		}
		// Only the set bits of the validity bitmap over the rows held.
		pos := rows.pos[rows.base[b]:]
		lo, hi := s.voff+int(rows.lo[b]), s.voff+int(rows.hi[b])
		nonNull := 0
		for j := lo >> 3; j <= hi>>3; j++ {
			v := s.valid[j]
			if j == lo>>3 {
				v &= 0xff << (lo & 7)
			}
			if j == hi>>3 {
				v &= 0xff >> (7 - hi&7)
			}
			for ; v != 0; v &= v - 1 {
				i := j<<3 + bits.TrailingZeros8(v) - s.voff
				k := int(pos[i])
				if k < 0 {
					continue // a row of another row group or segment
				}
				nonNull++
				bitutil.SetBit(d.valid, k)
				id, err := d.add(s, i, &last, &lastID)
				if err != nil {
					return nil, ColumnStats{}, err
				}
				d.idx[k] = id
			}
		}
		nulls += len(ks) - nonNull
	}
	// The non-null rows' entries in row order, a byte of the validity bitmap at a time
	// (eight rows at once where none is null).
	d.dense = grow(d.dense, n-nulls)
	p := 0
	for j, v := range d.valid {
		switch v {
		case 0:
		case 0xff:
			copy(d.dense[p:p+8], d.idx[j*8:j*8+8])
			p += 8
		default:
			for ; v != 0; v &= v - 1 {
				d.dense[p] = d.idx[j*8+bits.TrailingZeros8(v)]
				p++
			}
		}
	}
	cs := ColumnStats{Nulls: int64(nulls)}
	if nulls == n {
		d.offsets = append(d.offsets, 0) // the one "" entry
	} else {
		cs = dictStats(d.offsets, d.values, int64(nulls), dt.ID() != arrow.STRING)
	}

	idxData := array.NewData(arrow.PrimitiveTypes.Int32, n,
		[]*memory.Buffer{memory.NewBufferBytes(d.valid), memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(d.idx[:n]))},
		nil, nulls, 0)
	defer idxData.Release()
	dictData := array.NewData(dt, len(d.offsets)-1,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(d.offsets)), memory.NewBufferBytes(d.values)},
		nil, 0, 0)
	defer dictData.Release()
	indices := array.MakeFromData(idxData)
	defer indices.Release()
	dict := array.MakeFromData(dictData)
	defer dict.Release()
	return array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: dt}, indices, dict), cs, nil
}

// intern returns the id of s's value at position i of its offsets (a row of a plain
// source, an entry of a dictionary source), adding it to the dictionary if new.
func (d *dictColumn) intern(s *stringSource, i int) (int32, error) {
	lo, hi := s.offsets[i], s.offsets[i+1]
	var key string
	if hi > lo {
		key = unsafe.String(&s.values[lo], int(hi-lo))
	}
	if id, ok := d.ids[key]; ok {
		return id, nil
	}
	id := int32(len(d.offsets) - 1)
	// The key points into the source batch, which outlives this build.
	d.ids[key] = id
	d.values = append(d.values, key...)
	if len(d.values) > maxGatherBytes {
		return 0, fmt.Errorf("%w: the distinct values of a column exceed 2 GiB in one row group", ErrSegmentTooLarge)
	}
	d.offsets = append(d.offsets, int32(len(d.values)))
	return id, nil
}

// plainColumn is the scratch of gatherStrings, reused from row group to row group and
// segment to segment by one worker: pqarrow copies a plain column's values into its
// pages before WriteColumnData returns, so the buffers are free again after it.
type plainColumn struct {
	valid   []byte
	offsets []int32
	values  []byte
}

// gatherStrings returns rows refs of src (runs: refRuns of refs) as a plain utf8 or
// binary array (dt) in p's buffers (valid until the next call), for columns written
// without a dictionary. A run from a batch without nulls is copied in one piece.
func (p *plainColumn) gatherStrings(src []stringSource, refs []rowRef, runs []refRun, dt arrow.DataType) (arrow.Array, ColumnStats, error) {
	n := len(refs)
	// The offsets first, so that the values are copied into a buffer of their exact
	// size: appending grew it by doubling, copying the values again and again (a tenth
	// of the seal's CPU; the pool does not keep them across the frequent GCs of a busy
	// ingest).
	total, nulls, err := p.rowEnds(src, refs, runs)
	if err != nil {
		return nil, ColumnStats{}, err
	}
	if cap(p.values) < total {
		p.values = make([]byte, 0, total)
	}
	p.values = p.values[:0]
	for _, run := range runs {
		s := &src[run.b]
		switch {
		case s.offsets == nil:
		case run.contig && s.valid == nil && s.idx == nil:
			p.values = append(p.values, s.values[s.offsets[run.i]:s.offsets[run.i+run.n]]...)
		default:
			for k := run.k; k < run.k+run.n; k++ {
				v, _ := s.value(int(refs[k].i))
				p.values = append(p.values, v...)
			}
		}
	}
	var vb *memory.Buffer
	if nulls > 0 {
		vb = memory.NewBufferBytes(p.valid)
	}
	data := array.NewData(dt, n, []*memory.Buffer{vb, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(p.offsets[:n+1])), memory.NewBufferBytes(p.values)}, nil, nulls, 0)
	defer data.Release()
	arr := array.MakeFromData(data)
	return arr, columnStats(arr, 0, n), nil
}

// rowEnds sets p.valid and p.offsets for rows refs of src (runs: refRuns of refs): the
// validity bitmap and each row's end in the values' running total, without copying a
// value; it returns the total and the nulls. Scans read a row group's column back as
// one Arrow array (int32 offsets): a total past 2 GiB is ErrSegmentTooLarge.
func (p *plainColumn) rowEnds(src []stringSource, refs []rowRef, runs []refRun) (total, nulls int, err error) {
	n := len(refs)
	p.valid = grow(p.valid, int(bitutil.BytesForBits(int64(n))))
	clear(p.valid)
	p.offsets = grow(p.offsets, n+1)
	p.offsets[0] = 0
	for _, run := range runs {
		s := &src[run.b]
		switch {
		case s.offsets == nil:
			for k := run.k; k < run.k+run.n; k++ {
				p.offsets[k+1] = int32(total)
			}
			nulls += run.n
		case run.contig && s.valid == nil && s.idx == nil:
			base := total - int(s.offsets[run.i])
			for j := range run.n {
				p.offsets[run.k+j+1] = int32(int(s.offsets[run.i+j+1]) + base)
			}
			total += int(s.offsets[run.i+run.n] - s.offsets[run.i])
			bitutil.SetBitsTo(p.valid, int64(run.k), int64(run.n), true)
		default:
			for k := run.k; k < run.k+run.n; k++ {
				v, ok := s.value(int(refs[k].i))
				if ok {
					bitutil.SetBit(p.valid, k)
					total += len(v)
				} else {
					nulls++
				}
				p.offsets[k+1] = int32(total)
			}
		}
		if total > maxGatherBytes {
			return 0, 0, fmt.Errorf("%w: the values of a column exceed 2 GiB in one row group", ErrSegmentTooLarge)
		}
	}
	return total, nulls, nil
}

// writePlain writes rows refs of src (runs: refRuns of refs) as a plain column chunk of
// pf straight from the head batches, and returns its zone map (columnStats's rules: no
// bounds when a value is not boundable). Gathering the values into an Arrow array
// first, then encoding that, copied every value twice and walked the rows three times
// (the gather, the zone map, the page); of a seal of the OTRF corpus, whose mostly
// distinct text columns take this path, the gather was about a tenth.
func (p *plainColumn) writePlain(pf *pageFile, src []stringSource, refs []rowRef, runs []refRun, dt arrow.DataType) (ColumnStats, error) {
	n := len(refs)
	// First the validity bitmap and each row's end in the values' running total, which
	// decide the pages' row ranges and definition levels; no value is copied.
	_, nulls, err := p.rowEnds(src, refs, runs)
	if err != nil {
		return ColumnStats{}, err
	}
	valid := p.valid
	if nulls == 0 {
		valid = nil
	}
	cs := ColumnStats{Nulls: int64(nulls)}
	bounds := nulls < n // utf8 or binary: bounds as byte strings, like dictStats
	checkUTF8 := dt.ID() != arrow.STRING
	var lo, hi string
	first := true
	err = pf.writePlainRows(n, valid, p.offsets, func(dst []byte, start, end int) []byte {
		for k := start; k < end; k++ {
			if valid != nil && !bitutil.BitIsSet(valid, k) {
				continue
			}
			r := refs[k]
			s := &src[r.b]
			i := int(r.i)
			if s.idx != nil {
				i = int(s.idx[i])
			}
			v := s.values[s.offsets[i]:s.offsets[i+1]]
			dst = binary.LittleEndian.AppendUint32(dst, uint32(len(v)))
			dst = append(dst, v...)
			if bounds {
				sv := unsafe.String(unsafe.SliceData(v), len(v))
				if !boundable(sv, checkUTF8) {
					bounds = false
					continue
				}
				if first || sv < lo {
					lo = sv
				}
				if first || sv > hi {
					hi = sv
				}
				first = false
			}
		}
		return dst
	})
	if err != nil {
		return ColumnStats{}, err
	}
	if bounds {
		cs.Kind, cs.HasMinMax = "s", true
		cs.MinS, cs.MaxS = cloneString(lo), cloneString(hi)
	}
	return cs, nil
}

// dictStats is the zone map of a column whose distinct non-null values are the entries
// of a dictionary (columnStats's rules: no bounds when a value is longer than
// maxZoneStringLen).
func dictStats(offsets []int32, values []byte, nulls int64, checkUTF8 bool) ColumnStats {
	cs := ColumnStats{Nulls: nulls}
	var lo, hi string
	for j := 0; j+1 < len(offsets); j++ {
		v := unsafe.String(unsafe.SliceData(values[offsets[j]:]), int(offsets[j+1]-offsets[j]))
		if !boundable(v, checkUTF8) {
			return cs
		}
		if j == 0 || v < lo {
			lo = v
		}
		if j == 0 || v > hi {
			hi = v
		}
	}
	cs.Kind, cs.HasMinMax = "s", true
	cs.MinS, cs.MaxS = cloneString(lo), cloneString(hi)
	return cs
}

// grow returns s resized to n elements, reallocating only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

// mergeStats folds a row group's zone map (of rows rows) into its segment's.
// poisoned[c] records that some row group of the column had values but no bounds, so
// the segment has none either.
func mergeStats(seg *ColumnStats, rg ColumnStats, rows int64, first bool, poisoned *bool) {
	if first {
		*seg = ColumnStats{}
	}
	seg.Nulls += rg.Nulls
	if rg.Nulls == rows {
		return // no values: bounds unchanged
	}
	if !rg.HasMinMax || *poisoned {
		*poisoned = true
		seg.HasMinMax, seg.Kind = false, ""
		seg.MinI, seg.MaxI, seg.MinF, seg.MaxF, seg.MinS, seg.MaxS = 0, 0, 0, 0, "", ""
		return
	}
	if !seg.HasMinMax {
		nulls := seg.Nulls
		*seg = rg
		seg.Nulls = nulls
		return
	}
	switch seg.Kind {
	case "i":
		seg.MinI, seg.MaxI = min(seg.MinI, rg.MinI), max(seg.MaxI, rg.MaxI)
	case "f":
		seg.MinF, seg.MaxF = min(seg.MinF, rg.MinF), max(seg.MaxF, rg.MaxF)
	case "s":
		seg.MinS, seg.MaxS = min(seg.MinS, rg.MinS), max(seg.MaxS, rg.MaxS)
	}
}

// dictSample is how many non-null values mostlyDistinct looks at.
const dictSample = 512

// mostlyDistinct samples up to dictSample non-null values of the column, at an even
// stride over refs, and reports whether more than half of them are distinct: a column such as
// a rendered message or a command line, better written plain than as a dictionary.
func mostlyDistinct(src []stringSource, refs []rowRef, seen map[string]struct{}) bool {
	// seen is the caller's, reused (a map per column per segment was a tenth of a
	// seal's allocations) and left empty: its keys point into head batches.
	stride := max(1, len(refs)/dictSample)
	defer clear(seen)
	sampled := 0
	for k := 0; k < len(refs) && sampled < dictSample; k += stride {
		ref := refs[k]
		key, ok := src[ref.b].value(int(ref.i))
		if !ok {
			continue
		}
		seen[key] = struct{}{}
		sampled++
	}
	return sampled >= 16 && len(seen)*2 > sampled
}

// maxDictPageBytes bounds what a dictionary column may hold in one row group: its
// distinct values plus 4 bytes per entry make the dictionary page, whose size Parquet
// keeps in an int32 (arrow-go does not check it: a page past 2 GiB is written with a
// negative size no reader opens). pqarrow's own fallback to plain never happens on the
// dictionary path, so a column that might pass this is written plain (dictionaryFits).
// A variable so tests can lower it.
var maxDictPageBytes = 1 << 30

// dictionaryFits reports whether a dictionary of the column over refs surely stays
// under maxDictPageBytes in any row group: a bound from the value bytes of the batches
// refs take rows from (used[b]; a dictionary holds each distinct value once), plus 4
// bytes per row.
func dictionaryFits(src []stringSource, refs []rowRef, used []bool) bool {
	bound := 4 * len(refs)
	for b, s := range src {
		if used[b] && s.offsets != nil {
			bound += int(s.offsets[len(s.offsets)-1] - s.offsets[0])
			if bound > maxDictPageBytes {
				return false
			}
		}
	}
	return bound <= maxDictPageBytes
}
