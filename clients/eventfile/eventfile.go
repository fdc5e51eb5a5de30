// Package eventfile turns event files into Arrow record batches: JSON lines, evtx-dump
// JSON (nested, concatenated objects), CSV, Parquet and Arrow IPC (file and stream), with
// zip, tar and gzip read transparently and directories walked recursively. `sigmaflight
// ingest` and `sigmaflight hunt` read their inputs through it.
package eventfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Options configures Read.
type Options struct {
	// BatchRows bounds the rows of one batch (default 8192). The first batch in which a
	// column has a value is also the sample that fixes its type.
	BatchRows int
	// BatchBytes bounds the encoded input bytes of one batch (default 8 MiB) for the
	// formats Read decodes itself (JSON, CSV); Parquet and Arrow batches pass through.
	BatchBytes int
	// Format forces a format ("jsonl", "evtx-json", "csv", "parquet", "arrow"); "" detects
	// it from the name and the first bytes. Archives and compression are always unwrapped.
	Format string
	// Schema seeds column types (for example the target table's schema), so that values
	// are converted to the table's types where that is lossless.
	Schema *arrow.Schema
	// Warn receives a message for every skipped input (a pcap inside a zip, a binary
	// file); nil writes "sigmaflight: warning: ..." lines to standard error.
	Warn func(src Source, msg string)
	// Mem allocates the batches (default memory.DefaultAllocator).
	Mem memory.Allocator
	// Stdin replaces os.Stdin for the path "-" (tests).
	Stdin io.Reader
	// OnRead, when set, is called with the number of bytes read from each file given or
	// found under a directory (compressed bytes for archives; ReadAt included), for
	// progress reporting against the files' sizes.
	OnRead func(n int)
}

// Format names accepted by Options.Format.
const (
	FormatJSONL    = "jsonl"
	FormatEvtxJSON = "evtx-json"
	FormatCSV      = "csv"
	FormatParquet  = "parquet"
	FormatArrow    = "arrow"
)

const (
	defaultBatchRows  = 8192
	defaultBatchBytes = 8 << 20
)

var (
	// ErrUnknownFormat is returned for a forced Format that is not one of the names above.
	ErrUnknownFormat = errors.New("unknown event file format")
)

// Source names where a batch came from: the file path, and the member inside an archive.
type Source struct {
	Path   string
	Member string
}

// String renders the source as "path" or "path!member".
func (s Source) String() string {
	if s.Member == "" {
		return s.Path
	}
	return s.Path + "!" + s.Member
}

// Read reads every file under paths ("-" is standard input) and calls fn with each batch
// in file order. The batch is valid only during the call. Errors name the file (and line,
// where the format has lines). Column types are inferred once per Read call and stay
// the same across files and batches (see Builder).
func Read(ctx context.Context, paths []string, opts Options, fn func(src Source, rec arrow.RecordBatch) error) error {
	switch opts.Format {
	case "", FormatJSONL, FormatEvtxJSON, FormatCSV, FormatParquet, FormatArrow:
	default:
		return fmt.Errorf("format %q: %w (want jsonl, evtx-json, csv, parquet or arrow)", opts.Format, ErrUnknownFormat)
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = defaultBatchRows
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = defaultBatchBytes
	}
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	if opts.Warn == nil {
		opts.Warn = func(src Source, msg string) {
			fmt.Fprintf(os.Stderr, "sigmaflight: warning: %s: %s\n", src, msg)
		}
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	r := &reader{ctx: ctx, opts: opts, fn: fn, b: NewBuilder(opts.Mem, opts.Schema)}
	for _, p := range paths {
		if err := r.path(p); err != nil {
			return err
		}
	}
	return nil
}

// reader is the state of one Read call: the shared Builder keeps types stable across
// every file it reads.
type reader struct {
	ctx  context.Context
	opts Options
	fn   func(Source, arrow.RecordBatch) error
	b    *Builder
}

func (r *reader) path(p string) error {
	if p == "-" {
		return r.stream(Source{Path: "-"}, "", bufio.NewReaderSize(r.opts.Stdin, 1<<16), nil)
	}
	info, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	if !info.IsDir() {
		return r.file(p)
	}
	var files []string
	err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", q, err)
		}
		if d.Type().IsRegular() {
			files = append(files, q)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		if err := r.file(f); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) file(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	var (
		rd io.Reader   = f
		ra io.ReaderAt = f
	)
	if r.opts.OnRead != nil {
		rd, ra = &countingReader{f, r.opts.OnRead}, &countingReaderAt{f, r.opts.OnRead}
	}
	return r.stream(Source{Path: p}, filepath.Base(p), bufio.NewReaderSize(rd, 1<<16), &sizedReaderAt{ra, info.Size()})
}

// emit flushes the builder to fn.
func (r *reader) emit(src Source) error {
	rec := r.b.Flush()
	if rec == nil {
		return nil
	}
	defer rec.Release()
	if err := r.fn(src, rec); err != nil {
		return err
	}
	return nil
}

// sizedReaderAt is random access to a whole input (zip, Parquet and Arrow files need it).
type sizedReaderAt struct {
	io.ReaderAt
	size int64
}

type countingReader struct {
	r  io.Reader
	fn func(int)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.fn(n)
	return n, err
}

type countingReaderAt struct {
	r  io.ReaderAt
	fn func(int)
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.fn(n)
	return n, err
}
