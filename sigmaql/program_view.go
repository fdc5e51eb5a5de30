package sigmaql

import (
	"hash/maphash"
	"math/bits"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// stringView builds the distinct string forms of a column and, for each non-null row
// (vrows), the index of its value (vidx). Dictionary arrays use their dictionary as the
// distinct values; other columns are deduplicated through the evaluation's dedupTable.
// Only non-null rows are stored: most columns of a mixed Windows batch are null on most
// rows, so a dense row-to-value index (one int32 per row and column) cost more to
// allocate and walk than the values themselves.
func (st *evalState) stringView(gi int, scr *evalScratch) *groupState {
	gs := &st.groups[gi]
	if gs.strReady {
		return gs
	}
	gs.strReady = true
	g := st.p.groups[gi]
	col := st.rec.Column(g.col)
	valid := st.validity(gi)
	if valid == nil {
		return gs
	}
	nv := bitmapCount(valid)
	// The slices keep their capacity from earlier batches (pooled states).
	gs.vrows = slices.Grow(gs.vrows[:0], nv)
	gs.vidx = slices.Grow(gs.vidx[:0], nv)
	if d, ok := col.(*array.Dictionary); ok && g.kind == colString {
		dict := d.Dictionary()
		gs.distinct = make([]string, dict.Len())
		for j := range gs.distinct {
			if dict.IsValid(j) {
				gs.distinct[j] = stringAt(dict, j)
			}
		}
		// valid already excludes rows whose dictionary entry is null.
		bitmapForEach(valid, func(i int) {
			gs.vrows = append(gs.vrows, int32(i))
			gs.vidx = append(gs.vidx, int32(d.GetValueIndex(i)))
		})
		return gs
	}
	t := &scr.dedup
	t.reset(nv)
	last, lastJ := "", int32(-1)
	if a, ok := col.(*array.String); ok {
		// Fast path: the common Utf8 column, read without the per-row type switch.
		for wi, w := range valid {
			for w != 0 {
				i := wi*bitmapWordBits + bits.TrailingZeros64(w)
				w &= w - 1
				s := a.Value(i)
				if lastJ < 0 || s != last {
					last, lastJ = s, t.find(s, &gs.distinct)
				}
				gs.vrows = append(gs.vrows, int32(i))
				gs.vidx = append(gs.vidx, lastJ)
			}
		}
		return gs
	}
	for wi, w := range valid {
		for w != 0 {
			i := wi*bitmapWordBits + bits.TrailingZeros64(w)
			w &= w - 1
			s := stringFormAt(col, i, g.kind, g.f32)
			// Fast path: neighbouring events often repeat a value.
			if lastJ < 0 || s != last {
				last, lastJ = s, t.find(s, &gs.distinct)
			}
			gs.vrows = append(gs.vrows, int32(i))
			gs.vidx = append(gs.vidx, lastJ)
		}
	}
	return gs
}

// dedupTable is an open-addressing hash set of strings, reused across the columns of one
// evaluation (no map allocated and grown per column). A slot holds the value's 32 hash
// bits above its 1-based index into the caller's distinct slice; 0 is empty. The table is
// at least twice the values it may receive, so probes stay short.
type dedupTable struct {
	seed  maphash.Seed
	slots []uint64
	mask  uint64
}

// reset empties the table for at most n values.
func (t *dedupTable) reset(n int) {
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
	}
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(t.slots) < size {
		t.slots = make([]uint64, size)
	} else {
		t.slots = t.slots[:size]
		clear(t.slots)
	}
	t.mask = uint64(size - 1)
}

// find returns the index of s in *distinct, appending it when it is new.
func (t *dedupTable) find(s string, distinct *[]string) int32 {
	h := maphash.String(t.seed, s)
	tag := h >> 32
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		v := t.slots[i]
		if v == 0 {
			*distinct = append(*distinct, s)
			j := len(*distinct)
			t.slots[i] = tag<<32 | uint64(j)
			return int32(j - 1)
		}
		if v>>32 == tag {
			if j := int32(uint32(v)) - 1; (*distinct)[j] == s {
				return j
			}
		}
	}
}

// stringAt reads a string array's value (Utf8, LargeUtf8 or Utf8View).
func stringAt(a arrow.Array, i int) string {
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.StringView:
		return a.Value(i)
	}
	return a.ValueStr(i)
}

// stringFormAt is the string form of a non-null value: how patterns see numbers and
// booleans.
func stringFormAt(col arrow.Array, i int, kind colKind, f32 bool) string {
	switch kind {
	case colString:
		return stringAt(col, i)
	case colInt, colUint, colFloat:
		v := numberAt(col, i)
		switch {
		case kind == colUint:
			return strconv.FormatUint(uint64At(col, i), 10)
		case v.isInt:
			return strconv.FormatInt(v.i, 10)
		case f32:
			return strconv.FormatFloat(v.f, 'f', -1, 32)
		default:
			return strconv.FormatFloat(v.f, 'f', -1, 64)
		}
	case colBool:
		return strconv.FormatBool(col.(*array.Boolean).Value(i))
	}
	return col.ValueStr(i)
}
