package planner

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// exchangeOp runs a fragment in parallel workers and gathers their batches. Every worker
// has its own copy of the fragment's operators; their scans pull batches from one shared
// iterator, so each input batch is processed by exactly one worker. Batches cross the
// exchange with their arrays retained and their selection copied; the channel is bounded
// by the number of workers. Output order across workers is not defined (the planner
// only parallelises fragments whose consumer does not care: aggregation, sort, top-N).
// Close cancels the workers and waits for them.
type exchangeOp struct {
	workers int
	// build returns a fresh copy of the fragment reading from src.
	build  func(src *sharedIter) (operator, error)
	open   func(ctx context.Context) (BatchIterator, error)
	budget *memBudget

	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	ch      chan exchangeMsg
	live    int
	shared  *sharedIter
	held    []arrow.Array
	out     batch
	err     error
}

type exchangeMsg struct {
	b   *batch
	err error
	eof bool
}

func (x *exchangeOp) start(ctx context.Context) error {
	x.started = true
	it, err := x.open(ctx)
	if err != nil {
		return err
	}
	x.shared = &sharedIter{it: it}
	wctx, cancel := context.WithCancel(ctx)
	x.cancel = cancel
	x.ch = make(chan exchangeMsg, x.workers)
	for w := 0; w < x.workers; w++ {
		op, err := x.build(x.shared)
		if err != nil {
			cancel()
			return err
		}
		x.live++
		x.wg.Add(1)
		go x.run(wctx, op)
	}
	return nil
}

// run drives one worker's copy of the fragment.
func (x *exchangeOp) run(ctx context.Context, op operator) {
	defer x.wg.Done()
	defer op.close()
	for {
		b, err := op.next(ctx)
		if errors.Is(err, io.EOF) {
			x.send(ctx, exchangeMsg{eof: true})
			return
		}
		if err != nil {
			x.send(ctx, exchangeMsg{err: err})
			return
		}
		// Detach the batch from the worker's operators: retain its arrays.
		cp := &batch{cols: make([]arrow.Array, len(b.cols)), n: b.n}
		for i, c := range b.cols {
			if c != nil {
				c.Retain()
				cp.cols[i] = c
			}
		}
		if b.sel != nil {
			cp.sel = append([]int32(nil), b.sel...)
		}
		if !x.send(ctx, exchangeMsg{b: cp}) {
			releaseAll(cp.cols)
			return
		}
	}
}

func (x *exchangeOp) send(ctx context.Context, m exchangeMsg) bool {
	select {
	case x.ch <- m:
		return true
	case <-ctx.Done():
		return false
	}
}

func (x *exchangeOp) next(ctx context.Context) (*batch, error) {
	x.held = releaseAll(x.held)
	if !x.started {
		if err := x.start(ctx); err != nil {
			return nil, err
		}
	}
	for x.live > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case m := <-x.ch:
			switch {
			case m.eof:
				x.live--
			case m.err != nil:
				x.live--
				return nil, m.err
			default:
				x.held = append(x.held, m.b.cols...)
				x.out = *m.b
				return &x.out, nil
			}
		}
	}
	return nil, io.EOF
}

func (x *exchangeOp) close() {
	x.held = releaseAll(x.held)
	if x.cancel != nil {
		x.cancel()
		// Drain so that blocked workers exit, releasing what they sent.
		done := make(chan struct{})
		go func() { x.wg.Wait(); close(done) }()
		for {
			select {
			case m := <-x.ch:
				if m.b != nil {
					releaseAll(m.b.cols)
				}
				continue
			case <-done:
			}
			break
		}
		for {
			select {
			case m := <-x.ch:
				if m.b != nil {
					releaseAll(m.b.cols)
				}
				continue
			default:
			}
			break
		}
		x.cancel = nil
	}
	if x.shared != nil {
		x.shared.it.Close()
		x.shared = nil
	}
}

// sharedIter hands the batches of one iterator to several workers.
type sharedIter struct {
	mu   sync.Mutex
	it   BatchIterator
	done bool
}

// workerIter is one worker's view of a sharedIter: it keeps the batch it was last
// given retained until its next call.
type workerIter struct {
	s   *sharedIter
	cur arrow.RecordBatch
}

func (w *workerIter) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if w.cur != nil {
		w.cur.Release()
		w.cur = nil
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.done {
		return nil, io.EOF
	}
	rec, err := w.s.it.Next(ctx)
	if err != nil {
		if errors.Is(err, io.EOF) {
			w.s.done = true
		}
		return nil, err
	}
	rec.Retain()
	w.cur = rec
	return rec, nil
}

func (w *workerIter) Schema() *arrow.Schema { return w.s.it.Schema() }

func (w *workerIter) Close() {
	if w.cur != nil {
		w.cur.Release()
		w.cur = nil
	}
}
