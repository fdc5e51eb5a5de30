package planner

import "context"

// filterOp narrows each batch's selection to the rows where pred is TRUE and skips
// batches left empty.
type filterOp struct {
	input operator
	pred  predicate
	out   batch
	buf   []int32
}

func (f *filterOp) next(ctx context.Context) (*batch, error) {
	for {
		in, err := f.input.next(ctx)
		if err != nil {
			return nil, err
		}
		f.buf = f.pred.selectRows(in, in.selection(), true, f.buf[:0])
		if len(f.buf) == 0 {
			continue
		}
		f.out = batch{cols: in.cols, n: in.n, sel: f.buf}
		return &f.out, nil
	}
}

func (f *filterOp) close() { f.input.close() }
