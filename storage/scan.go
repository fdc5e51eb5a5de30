package storage

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Scan returns a consistent snapshot of the table's rows at the time of the call,
// projected to opts.Columns. Batches follow the table's current schema: columns missing
// from older batches read as nulls, and narrower stored types are widened. Rows committed
// after the call are not seen. Scan is safe concurrently with writes; batches with no
// rows are skipped.
func (t *Table) Scan(ctx context.Context, opts ScanOptions) (Iterator, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	schema := t.schema
	batches := make([]arrow.RecordBatch, 0, len(t.batches))
	for _, b := range t.batches {
		if b.NumRows() > 0 {
			b.Retain()
			batches = append(batches, b)
		}
	}
	t.mu.Unlock()
	if schema == nil {
		schema = arrow.NewSchema(nil, nil)
	}

	if opts.Columns != nil {
		fields := make([]arrow.Field, len(opts.Columns))
		for i, name := range opts.Columns {
			ix := schema.FieldIndices(name)
			if len(ix) == 0 {
				releaseAll(batches)
				return nil, fmt.Errorf("scan table %q: no column %q: %w", t.name, name, ErrColumnNotFound)
			}
			fields[i] = schema.Field(ix[0])
		}
		schema = arrow.NewSchema(fields, nil)
	}
	return &headIterator{table: t.name, schema: schema, batches: batches}, nil
}

// headIterator walks a snapshot of the head, converting each batch to the scan schema.
type headIterator struct {
	table   string
	schema  *arrow.Schema
	batches []arrow.RecordBatch // the snapshot; each retained until consumed
	next    int
	cur     arrow.RecordBatch
}

// Schema returns the schema of every batch Next returns.
func (it *headIterator) Schema() *arrow.Schema { return it.schema }

// Next returns the next batch, valid until the next call, or io.EOF.
func (it *headIterator) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if it.cur != nil {
		it.cur.Release()
		it.cur = nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if it.next >= len(it.batches) {
		return nil, io.EOF
	}
	b := it.batches[it.next]
	it.batches[it.next] = nil
	it.next++
	defer b.Release()

	n := int(b.NumRows())
	bs := b.Schema()
	cols := make([]arrow.Array, it.schema.NumFields())
	defer releaseArrays(cols)
	for i, f := range it.schema.Fields() {
		ix := bs.FieldIndices(f.Name)
		if len(ix) == 0 {
			cols[i] = array.MakeArrayOfNull(mem, f.Type, n)
			continue
		}
		c, err := convertArray(b.Column(ix[0]), f.Type)
		if err != nil {
			return nil, fmt.Errorf("scan table %q: column %q: %w", it.table, f.Name, err)
		}
		cols[i] = c
	}
	it.cur = array.NewRecordBatch(it.schema, cols, int64(n))
	return it.cur, nil
}

// Close releases the snapshot; it may be called at any time, more than once.
func (it *headIterator) Close() {
	if it.cur != nil {
		it.cur.Release()
		it.cur = nil
	}
	releaseAll(it.batches[it.next:])
	it.batches = nil
	it.next = 0
}

func releaseArrays(cols []arrow.Array) {
	for _, c := range cols {
		if c != nil {
			c.Release()
		}
	}
}
