package storage

import "errors"

var (
	// ErrInvalidName is returned for a table name outside [A-Za-z0-9_.-]{1,128} or equal
	// to "." or "..".
	ErrInvalidName = errors.New("invalid table name")

	// ErrTableNotFound is returned when a table does not exist (Table, Drop, or Write with
	// IfNotExistsFail).
	ErrTableNotFound = errors.New("table not found")

	// ErrTableExists is returned by Write with IfExistsFail when the table exists.
	ErrTableExists = errors.New("table already exists")

	// ErrSchemaConflict is returned when a batch has a column whose type cannot be
	// converted losslessly to or from the table's; nothing of the Write call is stored.
	// The error is a *SchemaConflictError.
	ErrSchemaConflict = errors.New("schema conflict")

	// ErrInvalidBatch is returned for a batch the store cannot take: duplicate column
	// names, a batch too large for one WAL frame, or no batches where a schema is needed.
	ErrInvalidBatch = errors.New("invalid batch")

	// ErrColumnNotFound is returned by Scan for a projected column the table lacks.
	ErrColumnNotFound = errors.New("column not found")

	// ErrWriteFailed is returned once a WAL write or fsync of the table failed. It is
	// sticky: the table refuses every later write until the store is reopened, because
	// after a failed fsync the state of the file is unknown. It wraps the cause.
	ErrWriteFailed = errors.New("table write failed")

	// ErrCorrupt is returned by Open when a table's WAL is damaged in a way a crash cannot
	// explain (a bad frame followed by good ones, an undecodable frame with a valid CRC).
	// The message starts with "FATAL: <path>:" and names the offset.
	ErrCorrupt = errors.New("corrupt WAL")

	// ErrLocked is returned by Open when another process (or another Store in this
	// process) holds the data directory.
	ErrLocked = errors.New("data directory is locked")

	// ErrHeadFull is returned by Write when the table's in-memory head holds
	// headLimitFactor × SealRows rows and sealing did not catch up within maxHeadWait (or
	// the caller's context ended first): ingest is faster than sealing, or sealing fails
	// (see the log). Nothing of the call is stored; retry later. It bounds memory instead
	// of growing the head until the process dies.
	ErrHeadFull = errors.New("table head is full: sealing is behind")

	// ErrSegmentTooLarge is returned when a string or binary column of one segment would
	// hold more than 2 GiB of values, which its 32-bit offsets cannot address: the seal or
	// compaction that would build it fails and the rows stay where they were.
	ErrSegmentTooLarge = errors.New("segment too large")

	// ErrClosed is returned by operations on a closed Store.
	ErrClosed = errors.New("store is closed")

	// errAfterRename is wrapped by writeFileSync when the new file was renamed into place
	// but fsyncing its directory failed: the file on disk may be the new one or (after a
	// power loss) the old one. A caller must keep every file either version names and
	// make the table sticky-failed until reopen, whose recovery copes with both.
	errAfterRename = errors.New("renamed into place, but the directory fsync failed")

	// errSegmentCorrupt is wrapped by verifySegment when a segment file is positively
	// damaged or missing (a size, CRC or count that differs from the manifest, a footer
	// that does not parse); only such a segment is quarantined.
	errSegmentCorrupt = errors.New("segment corrupt")
)
