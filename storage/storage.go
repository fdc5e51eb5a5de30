// Package storage is the local durable store: tables with evolving Arrow schemas, a WAL
// that is fsynced before an append is acknowledged, an in-memory head readable at once,
// and scans with projection. It imports arrow (and parquet) only.
//
// See DESIGN.md for the on-disk format, the durability invariants and the schema
// evolution lattice.
package storage

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Options configures a Store.
type Options struct {
	// Dir is the data directory; it is created if missing and locked against a second
	// process.
	Dir string

	// TableDefaults applies to every table without an entry in Tables; zero fields take
	// the documented defaults (see TableOptions).
	TableDefaults TableOptions
	// Tables holds per-table options by table name; zero fields fall back to
	// TableDefaults, then to the defaults.
	Tables map[string]TableOptions

	// MaintenanceInterval is how often the background maintenance (sealing, compaction,
	// retention) looks at every table; 0 means defaultMaintenanceInterval, a negative
	// value disables the background loop (Table.Seal, Table.Compact and
	// Table.EnforceRetention still work when called).
	MaintenanceInterval time.Duration

	// VerifySegments makes Open read every segment in full and check its CRC32C (bit rot
	// in a data page), besides the size, footer and row counts it always checks. It costs
	// reading the whole data set at startup; Table.Verify does the same while running.
	VerifySegments bool

	// fs is the file-system seam for fault injection in tests; nil is the real one.
	fs fileSystem
	// now is the clock (ingest time, retention, seal age); nil is time.Now.
	now func() time.Time
}

// TableOptions configure one table's time column, sharding, sealing and retention.
type TableOptions struct {
	// TimeFields are the event fields the ts column is taken from, first present and
	// parseable wins, row by row; a row with none gets the ingest time. Default:
	// DefaultTimeFields. A batch that already has a "ts" column of a timestamp type keeps
	// it (converted to microseconds, UTC), nulls filled as above.
	TimeFields []string
	// PartitionKeys are the fields whose value is hashed to pick a row's shard, first
	// present (non-null) wins. Default: DefaultPartitionKeys.
	PartitionKeys []string
	// Shards is the number of shards a table is split into by partition key. Default
	// defaultShards.
	Shards int
	// Window is the width of a time-window partition: segments never span two windows and
	// retention deletes whole windows. Default defaultWindow.
	Window time.Duration
	// SealRows seals the head into segments once it holds this many rows. Default
	// defaultSealRows.
	SealRows int64
	// SealAge seals the head once its oldest batch is this old. Default defaultSealAge.
	SealAge time.Duration
	// RowGroupRows is the number of rows per Parquet row group. Default
	// defaultRowGroupRows.
	RowGroupRows int64
	// CompactRows: segments of one (window, shard) are merged while they hold fewer rows
	// than this in total. Default defaultCompactRows.
	CompactRows int64
	// RetentionAge deletes windows that ended more than this long ago; 0 keeps them.
	RetentionAge time.Duration
	// RetentionBytes deletes the oldest windows while the table's segments take more than
	// this many bytes; 0 means no limit.
	RetentionBytes int64
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
	// BatchID, when not empty, makes the Write idempotent: a Write whose BatchID was
	// already committed to the table returns the row count of the original Write and
	// stores nothing. Ids are kept durably (in the WAL frames, then in the manifest) for
	// the last maxBatchIDs Writes of each table; an id older than that is forgotten. A
	// retry arriving while the original is still being committed waits for its outcome.
	BatchID string
}

// ScanOptions selects what a scan reads.
//
// Predicates and the time range are used to skip what cannot match (segments, row
// groups, head batches, by their zone maps); they do not filter rows: a batch that is
// read is returned whole, and the caller still applies its filter.
type ScanOptions struct {
	// Columns are the names to read, in order; nil reads every column.
	Columns []string
	// Predicates is a conjunction: only rows satisfying every predicate are wanted.
	Predicates []Predicate
	// MinTime and MaxTime bound the ts column: rows with MinTime <= ts < MaxTime are
	// wanted. A zero value leaves that side open.
	MinTime, MaxTime time.Time
	// Dictionary returns string columns read from segments as dictionary<int32, utf8>
	// arrays (the field type in Schema then says so) instead of decoding them; head
	// batches are dictionary-encoded on the fly so that every batch has one schema.
	Dictionary bool
}

// Iterator yields record batches; each batch returned by Next is valid until the next call.
type Iterator interface {
	Next(ctx context.Context) (arrow.RecordBatch, error) // io.EOF at the end
	Schema() *arrow.Schema
	Close()
}
