package planner

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/apache/arrow-go/v18/arrow"
)

// batch is what physical operators pass to each other: columns of equal length n, by
// relation ordinal (nil for a column pruned from the scan), and a selection vector of
// the live rows. Operators narrow the selection instead of copying rows; rows are
// materialised once, at the output (or by detect, which multiplies rows).
//
// We carry a column slice rather than an arrow.RecordBatch because ordinals must stay
// stable when projection pruning leaves columns out, and a RecordBatch cannot have holes.
type batch struct {
	cols []arrow.Array
	n    int
	// sel lists the live rows in ascending order; nil means all n rows.
	sel []int32
	// ident caches the identity selection for sel == nil.
	ident []int32
}

// selection returns the live rows as an explicit vector.
func (b *batch) selection() []int32 {
	if b.sel != nil {
		return b.sel
	}
	if len(b.ident) != b.n {
		b.ident = identitySel(b.n)
	}
	return b.ident
}

// live returns the number of live rows.
func (b *batch) live() int {
	if b.sel != nil {
		return len(b.sel)
	}
	return b.n
}

// operator is a physical operator. Contract: next returns a batch with at least one live
// row, or io.EOF; the batch and its arrays are valid until the next call to next or
// close; close releases everything the operator holds and closes its input; close is
// idempotent.
type operator interface {
	next(ctx context.Context) (*batch, error)
	close()
}

// guard turns a panic inside an operator (a kernel bug, a bad cast) into an error at
// the operator boundary, naming the operator, and checks cancellation before each call.
type guard struct {
	name  string
	op    operator
	stats *opStats // nil unless EXPLAIN ANALYZE
}

func (g *guard) next(ctx context.Context) (b *batch, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			if ee, ok := r.(*evalError); ok {
				sentinel := ee.sentinel
				if sentinel == nil {
					sentinel = ErrInvalid
				}
				b, err = nil, fmt.Errorf("%s: %w: %s", g.name, sentinel, ee.msg)
				return
			}
			b, err = nil, fmt.Errorf("%s: internal error: %v\n%s", g.name, r, debug.Stack())
		}
	}()
	if g.stats != nil {
		start := timeNow()
		b, err = g.op.next(ctx)
		g.stats.nanos.Add(int64(timeNow().Sub(start)))
		if err == nil {
			g.stats.rows.Add(int64(b.live()))
			g.stats.batches.Add(1)
		}
		return b, err
	}
	return g.op.next(ctx)
}

func (g *guard) close() { g.op.close() }

// releaseAll releases the arrays and clears the slice.
func releaseAll(arrs []arrow.Array) []arrow.Array {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
	return arrs[:0]
}
