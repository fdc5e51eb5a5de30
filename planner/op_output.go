package planner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// resultReader is the array.RecordReader Execute returns. It pulls batches from the
// root operator and materialises their live rows in the output schema's client-safe
// types, in chunks of at most maxOutputRows rows and about maxOutputBytes bytes.
// Every record it yields has exactly the Prepare-time schema.
type resultReader struct {
	refs   atomic.Int64
	ctx    context.Context
	mem    memory.Allocator
	schema *arrow.Schema
	root   operator

	cur     *batch
	pending []int32 // live rows of cur not yet emitted
	rec     arrow.RecordBatch
	err     error
	done    bool
	rows    int64
	// onFinish, when set, is called once when the reader finishes or is released.
	onFinish func(rows int64, err error)
}

func newResultReader(ctx context.Context, mem memory.Allocator, schema *arrow.Schema, root operator) *resultReader {
	r := &resultReader{ctx: ctx, mem: mem, schema: schema, root: root}
	r.refs.Store(1)
	return r
}

func (r *resultReader) Retain() { r.refs.Add(1) }

func (r *resultReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.finish()
	}
}

// finish releases the current record and closes the operators.
func (r *resultReader) finish() {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if !r.done {
		r.done = true
		r.root.close()
		if r.onFinish != nil {
			err := r.err
			if err == nil && r.ctx.Err() != nil {
				err = r.ctx.Err()
			}
			r.onFinish(r.rows, err)
		}
	}
}

func (r *resultReader) Schema() *arrow.Schema          { return r.schema }
func (r *resultReader) RecordBatch() arrow.RecordBatch { return r.rec }

// Record returns the current record.
//
// Deprecated: use RecordBatch.
func (r *resultReader) Record() arrow.RecordBatch { return r.rec }
func (r *resultReader) Err() error                { return r.err }

func (r *resultReader) Next() bool {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.done {
		return false
	}
	for len(r.pending) == 0 {
		b, err := r.root.next(r.ctx)
		if errors.Is(err, io.EOF) {
			r.finish()
			return false
		}
		if err != nil {
			r.err = err
			r.finish()
			return false
		}
		r.cur, r.pending = b, b.selection()
	}
	n := r.chunkRows()
	rows := r.pending[:n]
	r.pending = r.pending[n:]
	rec, err := r.materialise(rows)
	if err != nil {
		r.err = err
		r.finish()
		return false
	}
	r.rec = rec
	r.rows += rec.NumRows()
	return true
}

// chunkRows returns how many pending rows fit one output batch, estimating each row's
// size from the buffers of the current batch.
func (r *resultReader) chunkRows() int {
	n := min(len(r.pending), maxOutputRows)
	var bytes int64
	for _, c := range r.cur.cols {
		if c != nil {
			bytes += arraySize(c.Data())
		}
	}
	if r.cur.n > 0 && bytes > 0 {
		perRow := bytes/int64(r.cur.n) + 1
		if fit := int(maxOutputBytes / perRow); fit < n {
			n = max(fit, 1)
		}
	}
	return n
}

// arraySize returns the bytes of an array's buffers (and its dictionary's).
func arraySize(d arrow.ArrayData) int64 {
	var s int64
	for _, b := range d.Buffers() {
		if b != nil {
			s += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		s += arraySize(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		s += arraySize(d.Dictionary())
	}
	return s
}

// materialise builds the output record of rows of the current batch.
func (r *resultReader) materialise(rows []int32) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, r.schema.NumFields())
	for i, f := range r.schema.Fields() {
		src := r.cur.cols[i]
		if src == nil {
			releaseAll(cols[:i])
			return nil, fmt.Errorf("BUG: output column %d (%s) was not produced", i, f.Name)
		}
		a, err := materialise(r.mem, src, rows, r.cur.n, f.Type)
		if err != nil {
			releaseAll(cols[:i])
			return nil, fmt.Errorf("output column %s: %w", quoteName(f.Name), err)
		}
		cols[i] = a
	}
	rec := array.NewRecordBatch(r.schema, cols, int64(len(rows)))
	releaseAll(cols)
	return rec, nil
}

var _ array.RecordReader = (*resultReader)(nil)
