package sigmaql

import (
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// intEqPass decides every integer-equality leaf of integer group gi in one pass over the
// column's non-null rows: each value is looked up once in the group's intEq map (a run
// of equal neighbouring values once), instead of each leaf reading every row. On an
// integer column every value is an int64, so equality with an integer literal is exactly
// typedLeaf's v.i == p.i.
func (st *evalState) intEqPass(gi int) {
	g := st.p.groups[gi]
	col := st.rec.Column(g.col)
	valid := st.validity(gi)
	words := bitmapWords(st.n)
	if valid != nil {
		var last int64
		var lastLeaves []int32
		haveLast := false
		for wi, w := range valid {
			for w != 0 {
				row := wi*bitmapWordBits + bits.TrailingZeros64(w)
				w &= w - 1
				v := intAt(col, row)
				if !haveLast || v != last {
					last, lastLeaves, haveLast = v, g.intEq[v], true
				}
				for _, lid := range lastLeaves {
					bm := st.leafBits[lid]
					if bm == nil {
						bm = make([]uint64, words)
						st.leafBits[lid] = bm
					}
					bitmapSet(bm, row)
				}
			}
		}
	}
	for _, ids := range g.intEq {
		for _, lid := range ids {
			st.leafDone[lid] = true
		}
	}
}

// intAt reads a signed integer column's value.
func intAt(col any, i int) int64 {
	switch a := col.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int8:
		return int64(a.Value(i))
	}
	panic("BUG: not a signed integer column")
}
