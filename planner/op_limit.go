package planner

import (
	"context"
	"io"
)

// limitOp skips offset live rows, then passes at most count (count < 0: unlimited). It
// stops pulling its input as soon as the limit is reached.
type limitOp struct {
	input         operator
	count, offset int64
	skipped, done int64
	out           batch
}

func (l *limitOp) next(ctx context.Context) (*batch, error) {
	for {
		if l.count >= 0 && l.done >= l.count {
			return nil, io.EOF
		}
		in, err := l.input.next(ctx)
		if err != nil {
			return nil, err
		}
		sel := in.selection()
		if skip := l.offset - l.skipped; skip > 0 {
			if skip >= int64(len(sel)) {
				l.skipped += int64(len(sel))
				continue
			}
			sel = sel[skip:]
			l.skipped = l.offset
		}
		if l.count >= 0 {
			if rest := l.count - l.done; int64(len(sel)) > rest {
				sel = sel[:rest]
			}
		}
		if len(sel) == 0 {
			continue
		}
		l.done += int64(len(sel))
		l.out = batch{cols: in.cols, n: in.n, sel: sel}
		return &l.out, nil
	}
}

func (l *limitOp) close() { l.input.close() }
