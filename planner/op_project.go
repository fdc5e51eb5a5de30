package planner

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// projectOp computes the output columns without copying: a column reference passes its
// input array through, a constant becomes an array of the batch's length, a predicate a
// Boolean array (filled at the live rows only). The selection is kept.
type projectOp struct {
	mem   memory.Allocator
	input operator
	exprs []expr
	owned []arrow.Array
	out   batch
}

func (p *projectOp) next(ctx context.Context) (*batch, error) {
	p.owned = releaseAll(p.owned)
	in, err := p.input.next(ctx)
	if err != nil {
		return nil, err
	}
	cols := make([]arrow.Array, len(p.exprs))
	dense := false
	for _, e := range p.exprs {
		if _, ok := e.(scalar); ok {
			dense = true
		}
		if _, ok := e.(*literal); ok && in.cols == nil {
			dense = true
		}
	}
	if dense {
		// Slow path: computed expressions are evaluated over the live rows into
		// dense arrays; the output has no selection.
		sel := in.selection()
		for i, e := range p.exprs {
			if c, ok := e.(*colRef); ok {
				a, err := materialise(p.mem, in.cols[c.idx], sel, in.n, clientSafeType(in.cols[c.idx].DataType()))
				if err != nil {
					return nil, err
				}
				cols[i] = a
			} else {
				cols[i] = evalVec(e, in, sel).toArrow(p.mem, rebuiltType(e.dataType()))
			}
			p.owned = append(p.owned, cols[i])
		}
		p.out = batch{cols: cols, n: len(sel)}
		return &p.out, nil
	}
	for i, e := range p.exprs {
		switch x := e.(type) {
		case *colRef:
			cols[i] = in.cols[x.idx]
		case *literal:
			cols[i] = constantArray(p.mem, x, in.n)
			p.owned = append(p.owned, cols[i])
		case predicate:
			cols[i] = predicateArray(p.mem, x, in)
			p.owned = append(p.owned, cols[i])
		}
	}
	p.out = batch{cols: cols, n: in.n, sel: in.sel, ident: in.ident}
	return &p.out, nil
}

func (p *projectOp) close() {
	p.owned = releaseAll(p.owned)
	p.input.close()
}

// constantArray returns an array of n copies of a constant.
func constantArray(mem memory.Allocator, l *literal, n int) arrow.Array {
	b := array.NewBuilder(mem, clientSafeType(l.dataType()))
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		switch v := l.val.(type) {
		case nil:
			b.AppendNull()
		case bool:
			b.(*array.BooleanBuilder).Append(v)
		case int64:
			b.(*array.Int64Builder).Append(v)
		case float64:
			b.(*array.Float64Builder).Append(v)
		case string:
			b.(*array.StringBuilder).Append(v)
		case time.Time:
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.UnixMicro()))
		default:
			b.AppendNull()
		}
	}
	return b.NewArray()
}

// predicateArray evaluates a predicate into a Boolean array of the batch's length:
// TRUE and FALSE at the live rows where it is so, NULL elsewhere.
func predicateArray(mem memory.Allocator, p predicate, in *batch) arrow.Array {
	sel := in.selection()
	val := make([]int8, in.n) // 0 NULL, 1 FALSE, 2 TRUE
	for _, r := range p.selectRows(in, sel, true, nil) {
		val[r] = 2
	}
	for _, r := range p.selectRows(in, sel, false, nil) {
		val[r] = 1
	}
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	b.Reserve(in.n)
	for _, v := range val {
		if v == 0 {
			b.UnsafeAppendBoolToBitmap(false)
		} else {
			b.UnsafeAppend(v == 2)
		}
	}
	return b.NewArray()
}
