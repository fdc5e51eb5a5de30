package server

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// emptyBatch returns a batch of zero rows with schema sc.
func emptyBatch(mem memory.Allocator, sc *arrow.Schema) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	return b.NewRecordBatch()
}

// recordBytes returns the size of a batch's buffers, the measure for ingest flushing.
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, col := range rec.Columns() {
		n += dataBytes(col.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	// Dictionary returns a typed nil for non-dictionary arrays.
	if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
		n += dataBytes(dict)
	}
	return n
}

// validateBatch checks that every buffer of rec is large enough for its length and type
// and that variable-length offsets stay within their data, so a batch decoded from a
// malformed client message is refused here instead of failing (or reading out of bounds)
// in storage. Messages that decode are not otherwise trusted by arrow-go's reader.
func validateBatch(rec arrow.RecordBatch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid batch: %v", r)
		}
	}()
	for i, col := range rec.Columns() {
		if int64(col.Len()) != rec.NumRows() {
			return fmt.Errorf("column %q has %d rows; the batch has %d", rec.Schema().Field(i).Name, col.Len(), rec.NumRows())
		}
		if err := validateData(col.Data()); err != nil {
			return fmt.Errorf("column %q: %w", rec.Schema().Field(i).Name, err)
		}
		if v, ok := col.(interface{ ValidateFull() error }); ok {
			if err := v.ValidateFull(); err != nil {
				return fmt.Errorf("column %q: %w", rec.Schema().Field(i).Name, err)
			}
		}
	}
	return nil
}

func validateData(d arrow.ArrayData) error {
	n := int64(d.Offset() + d.Len())
	if d.Offset() < 0 || d.Len() < 0 {
		return fmt.Errorf("negative offset or length")
	}
	bufs := d.Buffers()
	need := func(i int, bytes int64, what string) error {
		if i >= len(bufs) || bufs[i] == nil {
			if bytes == 0 {
				return nil
			}
			return fmt.Errorf("%s buffer missing", what)
		}
		if int64(bufs[i].Len()) < bytes {
			return fmt.Errorf("%s buffer has %d bytes; %d rows need %d", what, bufs[i].Len(), n, bytes)
		}
		return nil
	}
	if d.NullN() < 0 || d.NullN() > d.Len() {
		return fmt.Errorf("null count %d outside 0..%d", d.NullN(), d.Len())
	}
	if d.DataType().ID() == arrow.NULL {
		return nil // no buffers: every row is null
	}
	if d.NullN() > 0 {
		if err := need(0, (n+7)/8, "validity"); err != nil {
			return err
		}
	}
	switch dt := d.DataType().(type) {
	case arrow.FixedWidthDataType:
		bits := int64(dt.BitWidth())
		if dt.ID() == arrow.NULL {
			return nil
		}
		if err := need(1, (n*bits+7)/8, "data"); err != nil {
			return err
		}
	case arrow.BinaryDataType:
		if dt.ID() == arrow.STRING || dt.ID() == arrow.BINARY {
			if err := need(1, (n+1)*4, "offsets"); err != nil {
				return err
			}
		}
		if dt.ID() == arrow.LARGE_STRING || dt.ID() == arrow.LARGE_BINARY {
			if err := need(1, (n+1)*8, "offsets"); err != nil {
				return err
			}
		}
	}
	for _, c := range d.Children() {
		if err := validateData(c); err != nil {
			return err
		}
	}
	return nil
}
