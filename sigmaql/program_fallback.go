package sigmaql

import (
	"regexp"

	"github.com/apache/arrow-go/v18/arrow"
)

// The generic fallback lets a Program evaluate every leaf the AST can express, including
// pred kinds added after the columnar kernels were written (and preds that read more than
// one field of an event, such as fieldref). A fallback leaf is decided row by row through
// the reference evaluator's leaf matcher, on an event built the way ReferenceEval builds
// it, so the Program can never disagree with the reference on such a leaf. The cost is one
// event per row for the batch's fallback leaves together, built only when a batch needs a
// fallback leaf and only for the rows the caller still cares about.

// nativePred reports whether the Program has columnar kernels for p's kind. Every other
// kind is evaluated by the fallback.
func nativePred(p *pred) bool {
	switch p.kind {
	case predGlob, predNum, predBool, predNull, predRegex, predCmp, predExists, predCIDR:
		return true
	}
	return false
}

// fallbackLeafMatch is the seam to the reference evaluator's leaf matcher: it decides p
// against value v of one event (present is false when the field is null or absent).
func fallbackLeafMatch(ev *refEvent, p *pred, v refValue, present bool) bool {
	return ev.match(p, v, present)
}

// fallbackEvents builds, per row and on demand, the reference evaluator's view of an
// event. It is owned by one evalState.
type fallbackEvents struct {
	rec      arrow.RecordBatch
	fieldCol map[string]int
	strCols  []int
	events   []*refEvent // by row; nil until built
	regexps  map[*pred]*regexp.Regexp
}

// fallbackFields returns the field-to-column resolution ReferenceEval uses: an exact
// column name wins, otherwise the first column whose name without spaces is the field.
func (p *Program) fallbackFields() (map[string]int, []int) {
	return p.fieldCol, p.stringCols
}

func (fe *fallbackEvents) event(row int) *refEvent {
	if fe.events == nil {
		fe.events = make([]*refEvent, fe.rec.NumRows())
	}
	if ev := fe.events[row]; ev != nil {
		return ev
	}
	ev := &refEvent{fields: map[string]refValue{}, folded: map[string]string{}, regexps: fe.regexps}
	for name, c := range fe.fieldCol {
		if v, ok := refValueAt(fe.rec.Column(c), row); ok {
			ev.fields[name] = v
		}
	}
	for _, c := range fe.strCols {
		if v, ok := refValueAt(fe.rec.Column(c), row); ok {
			ev.strings = append(ev.strings, v)
		}
	}
	fe.events[row] = ev
	return ev
}

// fallbackLeaf decides a fallback leaf on the rows of care (all rows when care is nil
// and all is set), row by row. The leaf's column is l.col, or -1 when the field is absent
// from the schema.
func (st *evalState) fallbackLeaf(l *leaf, rows []uint64) []uint64 {
	if st.fb == nil {
		fc, sc := st.p.fallbackFields()
		st.fb = &fallbackEvents{rec: st.rec, fieldCol: fc, strCols: sc, regexps: map[*pred]*regexp.Regexp{}}
	}
	var col arrow.Array
	if l.col >= 0 {
		col = st.rec.Column(l.col)
	}
	bm := make([]uint64, bitmapWords(st.n))
	if l.pred.kind == predFieldRef && col != nil {
		// Fast path: a field reference reads two columns, not the whole event; the
		// same resolution (fieldCol) and comparison (fieldRefMatch) as the reference.
		oc, ok := st.p.fieldCol[l.pred.text]
		if !ok {
			return bm
		}
		other := st.rec.Column(oc)
		bitmapForEach(rows, func(row int) {
			v, present := refValueAt(col, row)
			if !present {
				return
			}
			o, ok := refValueAt(other, row)
			if ok && fieldRefMatch(l.pred, refString(v), refString(o)) {
				bitmapSet(bm, row)
			}
		})
		return bm
	}
	bitmapForEach(rows, func(row int) {
		ev := st.fb.event(row)
		var v refValue
		present := false
		if col != nil {
			v, present = refValueAt(col, row)
		}
		if fallbackLeafMatch(ev, l.pred, v, present) {
			bitmapSet(bm, row)
		}
	})
	return bm
}
