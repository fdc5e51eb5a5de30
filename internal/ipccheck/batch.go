package ipccheck

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Batch checks that every column of rec has the batch's length, every buffer is large
// enough for its length and type, and variable-length offsets stay within their data
// (arrow-go's full validation where the array has one). arrow-go's reader checks none of
// it: a batch decoded from a malformed message would otherwise fail, or read out of
// bounds, wherever it is used next.
func Batch(rec arrow.RecordBatch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid batch: %v", r)
		}
	}()
	for i, col := range rec.Columns() {
		if int64(col.Len()) != rec.NumRows() {
			return fmt.Errorf("column %q has %d rows; the batch has %d", rec.Schema().Field(i).Name, col.Len(), rec.NumRows())
		}
		if err := arrayData(col.Data()); err != nil {
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

func arrayData(d arrow.ArrayData) error {
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
		if err := arrayData(c); err != nil {
			return err
		}
	}
	return nil
}
