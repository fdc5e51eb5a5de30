package planner

import (
	"context"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// aggregateOp computes count(*) and count(col) over its whole input (no GROUP BY yet)
// and emits one row of Int64 columns; on an empty input the counts are 0.
type aggregateOp struct {
	mem    memory.Allocator
	input  operator
	aggs   []aggCall
	counts []int64
	done   bool
	owned  []arrow.Array
	out    batch
}

func (a *aggregateOp) next(ctx context.Context) (*batch, error) {
	a.owned = releaseAll(a.owned)
	if a.done {
		return nil, io.EOF
	}
	a.counts = make([]int64, len(a.aggs))
	for {
		in, err := a.input.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for i, agg := range a.aggs {
			if agg.arg == nil {
				a.counts[i] += int64(in.live())
				continue
			}
			col := in.cols[agg.arg.idx]
			if col.NullN() == 0 {
				// Fast path: every live row counts.
				a.counts[i] += int64(in.live())
				continue
			}
			for _, r := range in.selection() {
				if col.IsValid(int(r)) {
					a.counts[i]++
				}
			}
		}
	}
	a.done = true
	cols := make([]arrow.Array, len(a.aggs))
	for i, c := range a.counts {
		b := array.NewInt64Builder(a.mem)
		b.Append(c)
		cols[i] = b.NewArray()
		b.Release()
		a.owned = append(a.owned, cols[i])
	}
	a.out = batch{cols: cols, n: 1}
	return &a.out, nil
}

func (a *aggregateOp) close() {
	a.owned = releaseAll(a.owned)
	a.input.close()
}
