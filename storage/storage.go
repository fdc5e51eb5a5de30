// Package storage is the local durable store: tables with evolving Arrow schemas, a WAL
// that is fsynced before an append is acknowledged, an in-memory head readable at once,
// and scans with projection. It imports arrow (and parquet) only.
//
// See DESIGN.md for the on-disk format, the durability invariants and the schema
// evolution lattice.
package storage

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Options configures a Store.
type Options struct {
	// Dir is the data directory; it is created if missing and locked against a second
	// process.
	Dir string
}

// IfExists says what CreateOrAppend does when the table exists.
type IfExists int

const (
	// IfExistsFail refuses the write with ErrTableExists.
	IfExistsFail IfExists = iota
	// IfExistsAppend appends to the table, evolving its schema.
	IfExistsAppend
	// IfExistsReplace drops the table's rows and schema and starts afresh.
	IfExistsReplace
)

// IfNotExists says what a write does when the table does not exist.
type IfNotExists int

const (
	// IfNotExistsCreate creates the table from the first batch's schema.
	IfNotExistsCreate IfNotExists = iota
	// IfNotExistsFail refuses the write with ErrTableNotFound.
	IfNotExistsFail
)

// WriteOptions says how Write treats an existing or missing table.
type WriteOptions struct {
	IfExists    IfExists
	IfNotExists IfNotExists
}

// ScanOptions selects what a scan reads.
type ScanOptions struct {
	// Columns are the names to read, in order; nil reads every column.
	Columns []string
}

// Iterator yields record batches; each batch returned by Next is valid until the next call.
type Iterator interface {
	Next(ctx context.Context) (arrow.RecordBatch, error) // io.EOF at the end
	Schema() *arrow.Schema
	Close()
}
