// Package storage is the local durable store: tables with evolving Arrow schemas, a WAL
// that is fsynced before an append is acknowledged, an in-memory head readable at once,
// and scans with projection. It imports arrow (and parquet) only.
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

// Store is the set of tables under one data directory.
type Store struct{}

// Table is one append-only table.
type Table struct{}

// Open opens (creating if needed) the store in opts.Dir and recovers every table.
func Open(ctx context.Context, opts Options) (*Store, error) { panic("TODO") }

// Close flushes and closes every table and releases the directory lock.
func (s *Store) Close() error { panic("TODO") }

// Write appends the batches to table durably: when it returns nil every row is on disk
// (fsynced) and visible to scans. It returns the number of rows written.
func (s *Store) Write(ctx context.Context, table string, opts WriteOptions, batches []arrow.RecordBatch) (int64, error) {
	panic("TODO")
}

// Table returns the named table or ErrTableNotFound.
func (s *Store) Table(name string) (*Table, error) { panic("TODO") }

// Tables returns the tables sorted by name.
func (s *Store) Tables() []*Table { panic("TODO") }

// Name returns the table's name.
func (t *Table) Name() string { panic("TODO") }

// Schema returns the table's current schema.
func (t *Table) Schema() *arrow.Schema { panic("TODO") }

// Rows returns the number of rows in the table.
func (t *Table) Rows() int64 { panic("TODO") }

// ScanOptions selects what a scan reads.
type ScanOptions struct {
	// Columns are the names to read, in order; nil reads every column.
	Columns []string
}

// Scan returns a consistent snapshot of the table's rows at the time of the call,
// projected to opts.Columns. Batches follow the table's current schema: columns missing
// from older batches read as nulls.
func (t *Table) Scan(ctx context.Context, opts ScanOptions) (Iterator, error) { panic("TODO") }

// Iterator yields record batches; each batch returned by Next is valid until the next call.
type Iterator interface {
	Next(ctx context.Context) (arrow.RecordBatch, error) // io.EOF at the end
	Schema() *arrow.Schema
	Close()
}
