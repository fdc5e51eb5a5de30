// Package planner turns SQL text into results: table-function rewriting, parsing with the
// TiDB parser in ANSI_QUOTES mode, binding against a Catalog, a logical plan, and the
// vectorized operators that execute it over Arrow record batches.
package planner

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// Catalog resolves the names a query uses. The server implements it over storage and its
// rulesets; tests may implement it over in-memory tables.
type Catalog interface {
	// Table resolves schema.name; schema is "" when the query did not qualify the name.
	// An unknown table returns an error wrapping ErrUnknownTable.
	Table(ctx context.Context, schema, name string) (Table, error)
	// TableNames lists the tables of schema, for "did you mean" suggestions.
	TableNames(ctx context.Context, schema string) []string
	// Ruleset resolves a ruleset by name or returns an error wrapping ErrUnknownRuleset.
	Ruleset(ctx context.Context, name string) (*sigmaql.Ruleset, error)
}

// Table is a scannable table.
type Table interface {
	Schema() *arrow.Schema
	// Scan reads the named columns (nil: all) of a consistent snapshot.
	Scan(ctx context.Context, columns []string) (BatchIterator, error)
}

// BatchIterator yields record batches; a batch is valid until the next call to Next.
type BatchIterator interface {
	Next(ctx context.Context) (arrow.RecordBatch, error) // io.EOF at the end
	Schema() *arrow.Schema
	Close()
}

// Options configures a Planner.
type Options struct {
	Allocator memory.Allocator
}

// Planner plans and runs SQL against a Catalog. It is safe for concurrent use.
type Planner struct{}

// New returns a planner over cat.
func New(cat Catalog, opts Options) *Planner { panic("TODO") }

// Query is a planned statement: its output schema is known before execution.
type Query struct{}

// Prepare parses, binds and plans sql. Errors wrap *Error when they have a position.
func (p *Planner) Prepare(ctx context.Context, sql string) (*Query, error) { panic("TODO") }

// Schema returns the output schema in client-safe types (Utf8, Int32/Int64, Float64,
// Boolean, Timestamp(us, UTC), Decimal128; no views, dictionaries or unsigned integers).
func (q *Query) Schema() *arrow.Schema { panic("TODO") }

// Execute runs the query; the reader yields batches of exactly Schema().
func (q *Query) Execute(ctx context.Context) (array.RecordReader, error) { panic("TODO") }

// Explain returns the plan as indented text.
func (q *Query) Explain() string { panic("TODO") }
