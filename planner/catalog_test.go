package planner

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// memCatalog is an in-memory Catalog over record batches, for tests.
type memCatalog struct {
	tables   map[string]*memTable
	rulesets map[string]*sigmaql.Ruleset
}

func newMemCatalog() *memCatalog {
	return &memCatalog{tables: map[string]*memTable{}, rulesets: map[string]*sigmaql.Ruleset{}}
}

func (c *memCatalog) Table(ctx context.Context, schema, name string) (Table, error) {
	if schema != "" && schema != "public" {
		return nil, fmt.Errorf("schema %q: %w", schema, ErrUnknownTable)
	}
	t, ok := c.tables[name]
	if !ok {
		return nil, fmt.Errorf("table %q: %w", name, ErrUnknownTable)
	}
	return t, nil
}

func (c *memCatalog) TableNames(ctx context.Context, schema string) []string {
	var names []string
	for n := range c.tables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *memCatalog) Ruleset(ctx context.Context, name string) (*sigmaql.Ruleset, error) {
	rs, ok := c.rulesets[name]
	if !ok {
		return nil, fmt.Errorf("ruleset %q: %w", name, ErrUnknownRuleset)
	}
	return rs, nil
}

func (c *memCatalog) RulesetNames(ctx context.Context) []string {
	var names []string
	for n := range c.rulesets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// memTable is a table of batches; scans project by name and record what they read.
type memTable struct {
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	scanned [][]string
}

func (t *memTable) Schema() *arrow.Schema { return t.schema }

func (t *memTable) Scan(ctx context.Context, columns []string) (BatchIterator, error) {
	t.scanned = append(t.scanned, columns)
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
				continue // older batch without the column
			}
			fields = append(fields, b.Schema().Field(idx[0]))
			cols = append(cols, b.Column(idx[0]))
		}
		recs = append(recs, array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, b.NumRows()))
	}
	return &memIter{schema: t.schema, recs: recs}, nil
}

type memIter struct {
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	i      int
}

func (it *memIter) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if it.i >= len(it.recs) {
		return nil, io.EOF
	}
	it.i++
	return it.recs[it.i-1], nil
}

func (it *memIter) Schema() *arrow.Schema { return it.schema }

func (it *memIter) Close() {
	for _, r := range it.recs {
		r.Release()
	}
	it.recs = nil
}

// col describes one test column: a name, a type and values (nil for NULL).
type col struct {
	name string
	typ  arrow.DataType
	vals []any
}

// mustBatch builds a record batch from columns of equal length.
func mustBatch(t testing.TB, cols ...col) arrow.RecordBatch {
	t.Helper()
	mem := memory.DefaultAllocator
	var fields []arrow.Field
	var arrs []arrow.Array
	n := -1
	for _, c := range cols {
		if n >= 0 && len(c.vals) != n {
			t.Fatalf("column %s has %d values; want %d", c.name, len(c.vals), n)
		}
		n = len(c.vals)
		fields = append(fields, arrow.Field{Name: c.name, Type: c.typ, Nullable: true})
		var vt arrow.DataType = c.typ
		if d, ok := c.typ.(*arrow.DictionaryType); ok {
			vt = d.ValueType
		}
		b := array.NewBuilder(mem, c.typ)
		for _, v := range c.vals {
			if v == nil {
				b.AppendNull()
				continue
			}
			if db, ok := b.(*array.BinaryDictionaryBuilder); ok {
				if err := db.AppendString(v.(string)); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if err := b.AppendValueFromString(fmt.Sprint(v)); err != nil {
				t.Fatalf("column %s (%s): append %v: %v", c.name, vt, v, err)
			}
		}
		arrs = append(arrs, b.NewArray())
		b.Release()
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// addTable registers a table whose schema is the first batch's.
func (c *memCatalog) addTable(name string, batches ...arrow.RecordBatch) *memTable {
	t := &memTable{schema: batches[0].Schema(), batches: batches}
	c.tables[name] = t
	return t
}

// mustPlanner returns a planner over a catalog with the standard "events" table.
func mustPlanner(t testing.TB) (*Planner, *memCatalog) {
	t.Helper()
	cat := newMemCatalog()
	cat.addTable("events", eventsBatch(t))
	return New(cat, Options{}), cat
}

// eventsBatch is a small table with every kind of column and NULLs.
//
//	row Image                          EventID pid  score  admin  ts
//	0   C:\Windows\System32\cmd.exe    4688    100  1.5    true   2024-05-01T10:00:00Z
//	1   C:\Windows\explorer.exe        4624    200  NULL   false  2024-05-01T11:00:00Z
//	2   NULL                           4688    NULL 3.25   NULL   NULL
//	3   /usr/bin/bash                  1       300  -2     true   2024-05-02T00:00:00Z
//	4   C:\Temp\evil_cmd.exe           4688    400  0      false  2024-05-03T00:00:00Z
func eventsBatch(t testing.TB) arrow.RecordBatch {
	return mustBatch(t,
		col{"Image", arrow.BinaryTypes.String, []any{`C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, nil, "/usr/bin/bash", `C:\Temp\evil_cmd.exe`}},
		col{"EventID", arrow.PrimitiveTypes.Int64, []any{4688, 4624, 4688, 1, 4688}},
		col{"pid", arrow.PrimitiveTypes.Int32, []any{100, 200, nil, 300, 400}},
		col{"score", arrow.PrimitiveTypes.Float64, []any{1.5, nil, 3.25, -2, 0}},
		col{"admin", arrow.FixedWidthTypes.Boolean, []any{true, false, nil, true, false}},
		col{"ts", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, []any{"2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", nil, "2024-05-02T00:00:00Z", "2024-05-03T00:00:00Z"}},
	)
}

// runQuery prepares and executes sql and returns every row rendered as text ("NULL" for
// nulls, columns joined by "|"), checking that every batch has the prepared schema.
func runQuery(t testing.TB, p *Planner, sql string) []string {
	t.Helper()
	q, err := p.Prepare(context.Background(), sql)
	if err != nil {
		t.Fatalf("Prepare(%q): %v", sql, err)
	}
	rows, err := collect(q)
	if err != nil {
		t.Fatalf("Execute(%q): %v", sql, err)
	}
	return rows
}

// collect executes q and renders its rows.
func collect(q *Query) ([]string, error) {
	rr, err := q.Execute(context.Background())
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var rows []string
	for rr.Next() {
		rec := rr.RecordBatch()
		if !rec.Schema().Equal(q.Schema()) {
			return nil, fmt.Errorf("batch schema %s; want %s", rec.Schema(), q.Schema())
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			parts := make([]string, rec.NumCols())
			for j, c := range rec.Columns() {
				if c.IsNull(i) {
					parts[j] = "NULL"
				} else {
					parts[j] = c.ValueStr(i)
				}
			}
			rows = append(rows, strings.Join(parts, "|"))
		}
	}
	return rows, rr.Err()
}

type arrowRecord = arrow.RecordBatch

var (
	arrowInt64 = arrow.PrimitiveTypes.Int64
	arrowUtf8  = arrow.BinaryTypes.String
)
