// Package planner turns SQL text into results: table-function rewriting, parsing with the
// TiDB parser in ANSI_QUOTES mode, binding against a Catalog, a logical plan, and the
// vectorized operators that execute it over Arrow record batches.
package planner

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// Catalog resolves the names a query uses. The server implements it over storage and its
// rulesets; tests may implement it over in-memory tables.
//
// Optional capability: a Catalog that also implements
//
//	RulesetNames(ctx context.Context) []string
//
// gets "did you mean" suggestions for unknown rulesets.
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
type Planner struct {
	cat Catalog
	mem memory.Allocator
}

// New returns a planner over cat.
func New(cat Catalog, opts Options) *Planner {
	mem := opts.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Planner{cat: cat, mem: mem}
}

// Query is a planned statement: its output schema is known before execution.
type Query struct {
	planner *Planner
	sql     string
	plan    logicalNode
	schema  *arrow.Schema
	explain string
	mem     memory.Allocator
	// params holds the placeholder types (nil: Utf8) and paramPos the byte offsets of
	// the `?` tokens in sql; a query with placeholders must be bound before Execute.
	params   []arrow.DataType
	paramPos []int
}

// Prepare parses, binds and plans sql. Errors wrap *Error when they have a position.
func (p *Planner) Prepare(ctx context.Context, sql string) (*Query, error) {
	return p.prepare(ctx, sql, true)
}

// prepare plans sql; allowParams is false for text produced by Bind, in which a `?`
// can only be an error.
func (p *Planner) prepare(ctx context.Context, sql string, allowParams bool) (*Query, error) {
	rw, err := rewriteTableFuncs(sql)
	if err != nil {
		return nil, err
	}
	stmt, err := parseSQL(sql, rw.sql, rw.toks)
	if err != nil {
		return nil, err
	}
	var paramPos []int
	for _, t := range rw.toks {
		if t.isPunct("?") {
			if !allowParams {
				return nil, newError(ErrInvalid, sql, t.pos, "unexpected placeholder in bound query")
			}
			paramPos = append(paramPos, t.pos)
		}
	}
	ps := &paramSet{at: map[int]int{}}
	for i, pos := range paramPos {
		ps.at[pos] = i
	}
	b := &binder{ctx: ctx, cat: p.cat, sql: sql, rw: rw, params: ps}
	plan, err := b.bindStatement(stmt)
	if err != nil {
		return nil, err
	}
	if err := optimise(plan); err != nil {
		return nil, err
	}
	names, types := outputColumns(plan)
	b.params.note(len(paramPos) - 1)
	return &Query{
		planner:  p,
		params:   b.params.types,
		paramPos: paramPos,
		sql:      sql,
		plan:     plan,
		schema:   clientSafeSchema(names, types),
		explain:  explainPlan(plan),
		mem:      p.mem,
	}, nil
}

// outputColumns returns the names and bound types of the plan's output.
func outputColumns(plan logicalNode) ([]string, []arrow.DataType) {
	for n := plan; n != nil; n = n.child() {
		switch x := n.(type) {
		case *projectNode:
			types := make([]arrow.DataType, len(x.exprs))
			for i, e := range x.exprs {
				types[i] = e.dataType()
			}
			return x.names, types
		case *aggregateNode:
			types := make([]arrow.DataType, len(x.aggs))
			for i := range types {
				types[i] = arrow.PrimitiveTypes.Int64
			}
			return x.names, types
		}
	}
	panic("BUG: plan without projection")
}

// Schema returns the output schema in client-safe types (Utf8, Int32/Int64, Float64,
// Boolean, Timestamp(us, UTC), Decimal128; no views, dictionaries or unsigned integers).
// Every field is nullable.
func (q *Query) Schema() *arrow.Schema { return q.schema }

// Execute runs the query; the reader yields batches of exactly Schema(), each of at most
// 64Ki rows and about 4 MiB. The query may be executed any number of times, also
// concurrently. Execution stops when ctx is cancelled (the reader's Err reports it); the
// caller must Release the reader, which closes the table scans.
func (q *Query) Execute(ctx context.Context) (array.RecordReader, error) {
	if len(q.params) > 0 {
		return nil, fmt.Errorf("%w: the query has %d parameters (?); bind values first", ErrInvalid, len(q.params))
	}
	root, err := buildOperators(q.plan, q.mem)
	if err != nil {
		return nil, err
	}
	return newResultReader(ctx, q.mem, q.schema, root), nil
}

// Explain returns the plan as indented text: the root first, each operator's input
// indented below it, with columns and predicates.
func (q *Query) Explain() string { return q.explain }

// SQL returns the statement text the query was prepared from.
func (q *Query) SQL() string { return q.sql }

// Query plans and runs sql in one step; see Prepare and Execute.
func (p *Planner) Query(ctx context.Context, sql string) (array.RecordReader, error) {
	q, err := p.Prepare(ctx, sql)
	if err != nil {
		return nil, err
	}
	return q.Execute(ctx)
}

// IsUnsupported reports whether err means "valid SQL this version cannot run yet", for
// which Flight SQL servers answer Unimplemented rather than InvalidArgument.
func IsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }

// ctx is the context Bind prepares the bound text in: binding resolves the same names
// Prepare already resolved, so it needs no caller deadline.
func (q *Query) ctx() context.Context { return context.Background() }
