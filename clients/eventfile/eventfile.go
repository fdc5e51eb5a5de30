// Package eventfile turns event files into Arrow record batches: JSON lines, evtx-dump
// JSON (nested, concatenated objects), CSV, Parquet and Arrow IPC (file and stream), with
// zip and gzip read transparently and directories walked recursively. `sigmaflight
// ingest` and `sigmaflight hunt` read their inputs through it.
package eventfile

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Options configures Read.
type Options struct {
	// BatchRows bounds the rows of one batch (default 8192).
	BatchRows int
	// Format forces a format ("jsonl", "evtx-json", "csv", "parquet", "arrow"); "" detects
	// it from the name and the first bytes.
	Format string
}

// Source names where a batch came from: the file path, and the member inside an archive.
type Source struct {
	Path   string
	Member string
}

// Read reads every file under paths ("-" is standard input) and calls fn with each batch
// in file order. The batch is valid only during the call. Errors name the file (and line,
// where the format has lines).
func Read(ctx context.Context, paths []string, opts Options, fn func(src Source, rec arrow.RecordBatch) error) error {
	panic("TODO")
}
