package planner

import (
	"context"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// StaticTable is a Table over record batches held in memory, for system tables whose
// rows are built when the query is planned (sys.rules, sys.tables...).
type StaticTable struct {
	schema  *arrow.Schema
	batches []arrow.RecordBatch
}

// NewStaticTable returns a table of the batches, which must all have schema. The table
// keeps references to the batches (they are retained).
func NewStaticTable(schema *arrow.Schema, batches ...arrow.RecordBatch) *StaticTable {
	for _, b := range batches {
		b.Retain()
	}
	return &StaticTable{schema: schema, batches: batches}
}

// Schema implements Table.
func (t *StaticTable) Schema() *arrow.Schema { return t.schema }

// Scan implements Table.
func (t *StaticTable) Scan(ctx context.Context, columns []string) (BatchIterator, error) {
	var recs []arrow.RecordBatch
	for _, b := range t.batches {
		if columns == nil {
			b.Retain()
			recs = append(recs, b)
			continue
		}
		var fields []arrow.Field
		var cols []arrow.Array
		for _, name := range columns {
			idx := b.Schema().FieldIndices(name)
			if len(idx) == 0 {
				continue
			}
			fields = append(fields, b.Schema().Field(idx[0]))
			cols = append(cols, b.Column(idx[0]))
		}
		recs = append(recs, array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, b.NumRows()))
	}
	return &staticIter{schema: t.schema, recs: recs}, nil
}

type staticIter struct {
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	i      int
}

func (it *staticIter) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if it.i >= len(it.recs) {
		return nil, io.EOF
	}
	it.i++
	return it.recs[it.i-1], nil
}

func (it *staticIter) Schema() *arrow.Schema { return it.schema }

func (it *staticIter) Close() {
	for _, r := range it.recs[it.i:] {
		r.Release()
	}
	for _, r := range it.recs[:it.i] {
		r.Release()
	}
	it.recs = nil
}

// queryLog records the queries a planner runs, for sys.queries: every running query
// and the last recentQueries finished ones.
type queryLog struct {
	mu      sync.Mutex
	nextID  int64
	running map[int64]*queryEntry
	recent  []*queryEntry
}

type queryEntry struct {
	id       int64
	sql      string
	state    string // running, done, failed, cancelled
	started  time.Time
	ended    time.Time
	rows     int64
	err      string
	peakMem  int64
	analyzed bool
}

func newQueryLog() *queryLog { return &queryLog{running: map[int64]*queryEntry{}} }

// start records a query that begins executing.
func (l *queryLog) start(sql string) *queryEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nextID++
	e := &queryEntry{id: l.nextID, sql: sql, state: "running", started: time.Now()}
	l.running[e.id] = e
	return e
}

// finish records the end of a query.
func (l *queryLog) finish(e *queryEntry, rows int64, peak int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.running[e.id]; !ok {
		return
	}
	delete(l.running, e.id)
	e.ended, e.rows, e.peakMem = time.Now(), rows, peak
	switch {
	case err == nil:
		e.state = "done"
	case isCancel(err):
		e.state, e.err = "cancelled", err.Error()
	default:
		e.state, e.err = "failed", err.Error()
	}
	l.recent = append(l.recent, e)
	if len(l.recent) > recentQueries {
		l.recent = l.recent[len(l.recent)-recentQueries:]
	}
}

// sysQueriesSchema is the schema of sys.queries.
var sysQueriesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "query_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "state", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "sql_text", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "started", Type: timestampUTC, Nullable: true},
	{Name: "duration_ms", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "row_count", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "peak_memory", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// table snapshots the log as a table: running queries first, then the recent ones,
// newest first.
func (l *queryLog) table() Table {
	l.mu.Lock()
	var entries []queryEntry
	for _, e := range l.running {
		entries = append(entries, *e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].id > entries[j].id })
	for i := len(l.recent) - 1; i >= 0; i-- {
		entries = append(entries, *l.recent[i])
	}
	l.mu.Unlock()
	b := array.NewRecordBuilder(memory.DefaultAllocator, sysQueriesSchema)
	defer b.Release()
	now := time.Now()
	for _, e := range entries {
		b.Field(0).(*array.Int64Builder).Append(e.id)
		b.Field(1).(*array.StringBuilder).Append(e.state)
		b.Field(2).(*array.StringBuilder).Append(e.sql)
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(e.started.UnixMicro()))
		end := e.ended
		if e.state == "running" {
			end = now
		}
		b.Field(4).(*array.Float64Builder).Append(float64(end.Sub(e.started).Microseconds()) / 1000)
		b.Field(5).(*array.Int64Builder).Append(e.rows)
		b.Field(6).(*array.Int64Builder).Append(e.peakMem)
		if e.err == "" {
			b.Field(7).AppendNull()
		} else {
			b.Field(7).(*array.StringBuilder).Append(e.err)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return NewStaticTable(sysQueriesSchema, rec)
}

// SysQueriesSchema is the schema of sys.queries, which the planner serves itself (a
// Catalog lists the table for metadata requests; queries never reach it).
func SysQueriesSchema() *arrow.Schema { return sysQueriesSchema }
