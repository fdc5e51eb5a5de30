package server

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sigmaflight/sigmaflight/internal/ipccheck"
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

// validateBatch checks a batch decoded from a client message (ipccheck.Batch): arrow-go's
// reader does not check buffers against lengths, so a malformed message is refused here
// instead of failing (or reading out of bounds) in storage.
func validateBatch(rec arrow.RecordBatch) error { return ipccheck.Batch(rec) }
