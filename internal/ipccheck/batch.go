package ipccheck

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Batch checks a batch decoded from a client's message: every column has the batch's
// length, every buffer is large enough for its length and type, variable-length offsets
// stay within their data, a dictionary's indices are within it and its values pass the
// same checks, and arrow-go's full validation (UTF-8, offsets order) passes where the
// top-level array has one (not for zero-length arrays: arrow-go's union validation
// dereferences the offsets a zero-row dense union comes without). arrow-go's reader
// checks none of it: a batch decoded from a malformed message would otherwise fail, or
// read out of bounds, wherever it is used next.
func Batch(rec arrow.RecordBatch) error { return batch(rec, true) }

// Structure checks only what reading rec's buffers safely needs: column lengths and
// buffer sizes (and a dictionary's values). WAL replay uses it, and it must never refuse
// what the storage's own writer produced: a refused CRC-valid frame makes the table
// unopenable. Content rules (UTF-8, index ranges) are Batch's, checked when data comes
// in, so that a rule added later cannot lock up data already acknowledged.
func Structure(rec arrow.RecordBatch) error { return batch(rec, false) }

func batch(rec arrow.RecordBatch, full bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid batch: %v", r)
		}
	}()
	for i, col := range rec.Columns() {
		name := rec.Schema().Field(i).Name
		if int64(col.Len()) != rec.NumRows() {
			return fmt.Errorf("column %q has %d rows; the batch has %d", name, col.Len(), rec.NumRows())
		}
		if err := arrayData(col.Data()); err != nil {
			return fmt.Errorf("column %q: %w", name, err)
		}
		if !full || col.Len() == 0 {
			continue
		}
		if v, ok := col.(interface{ ValidateFull() error }); ok {
			if err := v.ValidateFull(); err != nil {
				return fmt.Errorf("column %q: %w", name, err)
			}
		}
		if d, ok := col.(*array.Dictionary); ok {
			if err := dictionary(d); err != nil {
				return fmt.Errorf("column %q: %w", name, err)
			}
		}
	}
	return nil
}

// dictionary checks a dictionary array's indices against its dictionary and the
// dictionary's values in full.
func dictionary(d *array.Dictionary) error {
	dict := d.Dictionary()
	if v, ok := dict.(interface{ ValidateFull() error }); ok && dict.Len() > 0 {
		if err := v.ValidateFull(); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
	}
	for i := 0; i < d.Len(); i++ {
		if d.IsNull(i) {
			continue
		}
		if ix := d.GetValueIndex(i); ix < 0 || ix >= dict.Len() {
			return fmt.Errorf("row %d references dictionary entry %d; the dictionary holds %d", i, ix, dict.Len())
		}
	}
	return nil
}

func arrayData(d arrow.ArrayData) error {
	n := int64(d.Offset() + d.Len())
	if d.Offset() < 0 || d.Len() < 0 {
		return fmt.Errorf("negative offset or length")
	}
	if d.Len() == 0 {
		return nil // nothing is read (Java writes zero-row offsets buffers empty)
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
		if err := arrayData(c); err != nil {
			return err
		}
	}
	// Dictionary returns a typed nil for non-dictionary arrays.
	if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
		if err := arrayData(dict); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
	}
	return nil
}
