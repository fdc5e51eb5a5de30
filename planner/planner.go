// Package planner turns SQL text into results: table-function rewriting, parsing with the
// TiDB parser in ANSI_QUOTES mode, binding against a Catalog, a logical plan, and the
// vectorized operators that execute it over Arrow record batches.
package planner

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/pingcap/tidb/pkg/parser/ast"

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
	// QueryMemoryLimit bounds, in bytes, what one query's operators may buffer (hash
	// aggregation tables, sort buffers, join build sides); a query that needs more
	// fails with ErrMemoryLimit. 0 means DefaultQueryMemoryLimit; negative: no limit.
	QueryMemoryLimit int64
	// Parallelism is the number of workers a parallel fragment runs in; 0 means
	// runtime.GOMAXPROCS(0).
	Parallelism int
}

// DefaultQueryMemoryLimit is the per-query memory limit when Options leaves it 0.
const DefaultQueryMemoryLimit = 1 << 30

// Planner plans and runs SQL against a Catalog. It is safe for concurrent use.
type Planner struct {
	cat      Catalog
	mem      memory.Allocator
	memLimit int64
	parallel int
	queries  *queryLog
}

// New returns a planner over cat.
func New(cat Catalog, opts Options) *Planner {
	mem := opts.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	limit := opts.QueryMemoryLimit
	switch {
	case limit == 0:
		limit = DefaultQueryMemoryLimit
	case limit < 0:
		limit = 0
	}
	par := opts.Parallelism
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	return &Planner{cat: cat, mem: mem, memLimit: limit, parallel: par, queries: newQueryLog()}
}

// Query is a planned statement: its output schema is known before execution.
type Query struct {
	planner *Planner
	sql     string
	plan    logicalNode
	schema  *arrow.Schema
	explain string
	mem     memory.Allocator
	// explainMode is 0 for a query, 1 for EXPLAIN, 2 for EXPLAIN ANALYZE.
	explainMode int
	// params holds the placeholder types (nil: Utf8) and paramPos the byte offsets of
	// the `?` tokens in sql; a query with placeholders must be bound before Execute.
	params   []arrow.DataType
	paramPos []int
	// cfg is what Prepare was given; Bind prepares the bound text with it again, so a
	// bound query resolves names exactly as the prepared one did.
	cfg prepareConfig
}

// PrepareOption changes how Prepare resolves one statement (per query, unlike Options,
// which configure the Planner).
type PrepareOption func(*prepareConfig)

// prepareConfig is the per-statement configuration PrepareOptions set.
type prepareConfig struct {
	defaultSchema string
}

// WithDefaultSchema makes schema the schema of the statement's unqualified table names
// (FROM, JOIN and the table argument of detect()): Catalog.Table and TableNames receive
// it instead of "". It is how a Flight SQL session's `schema` option reaches the
// planner. Qualified names, CTE names and detect()'s implicit table (events) are not
// affected; "" keeps the Catalog's default. The schema is not checked here: a name the
// Catalog does not know fails as an unknown table, at the name.
func WithDefaultSchema(schema string) PrepareOption {
	return func(c *prepareConfig) { c.defaultSchema = schema }
}

// Prepare parses, binds and plans sql. Errors wrap *Error when they have a position.
func (p *Planner) Prepare(ctx context.Context, sql string, opts ...PrepareOption) (*Query, error) {
	var cfg prepareConfig
	for _, o := range opts {
		o(&cfg)
	}
	return p.prepare(ctx, sql, true, cfg)
}

// prepare plans sql; allowParams is false for text produced by Bind, in which a `?`
// can only be an error.
func (p *Planner) prepare(ctx context.Context, sql string, allowParams bool, cfg prepareConfig) (*Query, error) {
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
	b := &binder{ctx: ctx, cat: p.cat, sql: sql, rw: rw, params: ps, now: time.Now().UTC(), planner: p,
		defaultSchema: cfg.defaultSchema}
	mode := 0
	if ex, ok := stmt.(*ast.ExplainStmt); ok {
		mode = 1
		if ex.Analyze {
			mode = 2
		}
		if ex.Format != "" && !strings.EqualFold(ex.Format, "row") && !strings.EqualFold(ex.Format, "text") {
			return nil, newError(ErrUnsupported, sql, -1, "EXPLAIN FORMAT=%s is not supported; the plan is text", ex.Format)
		}
		stmt = ex.Stmt
	}
	plan, err := b.bindStatement(stmt)
	if err != nil {
		return nil, err
	}
	if plan, err = optimise(plan); err != nil {
		return nil, err
	}
	names, types := outputColumns(plan)
	schema := clientSafeSchema(names, types)
	if mode > 0 {
		schema = explainSchema
	}
	b.params.note(len(paramPos) - 1)
	return &Query{
		planner:     p,
		params:      b.params.types,
		paramPos:    paramPos,
		sql:         sql,
		plan:        plan,
		schema:      schema,
		explain:     explainPlan(plan, nil),
		explainMode: mode,
		mem:         p.mem,
		cfg:         cfg,
	}, nil
}

// outputColumns returns the names and bound types of the plan's output.
func outputColumns(plan logicalNode) ([]string, []arrow.DataType) {
	cols := plan.columns()
	names := make([]string, len(cols))
	types := make([]arrow.DataType, len(cols))
	for i, c := range cols {
		names[i], types[i] = c.name, c.typ
	}
	return names, types
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
	env := &execEnv{mem: q.mem, budget: &memBudget{limit: q.planner.memLimit}, parallel: q.planner.parallel}
	switch q.explainMode {
	case 1:
		return textReader(q.mem, explainSchema, strings.Split(strings.TrimSuffix(q.explain, "\n"), "\n")), nil
	case 2:
		return q.explainAnalyze(ctx, env)
	}
	root, err := buildOperators(q.plan, env)
	if err != nil {
		return nil, err
	}
	entry := q.planner.queries.start(q.sql)
	r := newResultReader(ctx, q.mem, q.schema, root)
	r.onFinish = func(rows int64, err error) { q.planner.queries.finish(entry, rows, env.budget.peak.Load(), err) }
	return r, nil
}

// Explain returns the plan as indented text: the root first, each operator's input
// indented below it, with columns and predicates.
func (q *Query) Explain() string { return q.explain }

// DefaultSchema returns the schema unqualified table names resolved in (WithDefaultSchema;
// "" when none was given).
func (q *Query) DefaultSchema() string { return q.cfg.defaultSchema }

// SQL returns the statement text the query was prepared from.
func (q *Query) SQL() string { return q.sql }

// Query plans and runs sql in one step; see Prepare and Execute.
func (p *Planner) Query(ctx context.Context, sql string, opts ...PrepareOption) (array.RecordReader, error) {
	q, err := p.Prepare(ctx, sql, opts...)
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

// HintedTable is an optional capability of a Table: a scan that receives what the
// planner knows about the rows it needs. Hints let storage skip data (time windows,
// zone maps, dictionary pages); they never change results, because the planner still
// applies every filter above the scan. A Table without this method is scanned with
// Scan(ctx, columns).
type HintedTable interface {
	ScanHinted(ctx context.Context, h ScanHints) (BatchIterator, error)
}

// ScanHints describe the rows a query needs from a table scan.
type ScanHints struct {
	// Columns are the names to read, in order; nil reads every column.
	Columns []string
	// TimeColumn is the table's time column ("ts") when MinTime or MaxTime is set.
	TimeColumn string
	// MinTime and MaxTime bound TimeColumn (microseconds since the epoch, UTC,
	// inclusive); HasMinTime/HasMaxTime say whether each bound is set.
	MinTime, MaxTime       int64
	HasMinTime, HasMaxTime bool
	// Filters are conjuncts every returned row must satisfy for the query to need it.
	Filters []ScanFilter
	// Limit > 0 means the query needs at most Limit rows from the scan (no filter
	// sits between the scan and the LIMIT).
	Limit int64
}

// ScanFilter is a simple predicate on one column: Op is one of "=", "<>", "<", "<=",
// ">", ">=", "in", and Values holds one value (several for "in") of Go type int64,
// float64, string, bool or time.Time.
type ScanFilter struct {
	Column string
	Op     string
	Values []any
}
