package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sigmaflight/sigmaflight/planner"
	"github.com/sigmaflight/sigmaflight/sigmaql"
	"github.com/sigmaflight/sigmaflight/storage"
)

// Catalog names: one catalog, schema "public" for event tables, schema "sys" for
// system tables.
const (
	catalogName  = "sigmaflight"
	publicSchema = "public"
)

// System tables served by the catalog (sys.queries is served by the planner, which
// records the queries; the catalog only describes it for metadata requests).
const (
	sysRules    = "rules"
	sysRulesets = "rulesets"
	sysTables   = "tables"
	sysColumns  = "columns"
	sysQueries  = "queries"
)

// catalog is the planner's view of the node: event tables from storage, the loaded
// rulesets, and the system tables describing both.
type catalog struct {
	store *storage.Store

	mu       sync.RWMutex
	rulesets map[string]*sigmaql.Ruleset
}

func newCatalog(store *storage.Store) *catalog {
	return &catalog{store: store, rulesets: make(map[string]*sigmaql.Ruleset)}
}

// addRuleset registers rs under its name, replacing any ruleset of that name.
func (c *catalog) addRuleset(rs *sigmaql.Ruleset) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rulesets[rs.Name] = rs
}

// rulesetNames returns the names of the loaded rulesets, sorted.
func (c *catalog) rulesetNames() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := make([]string, 0, len(c.rulesets))
	for n := range c.rulesets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RulesetNames implements the planner's optional capability for "did you mean".
func (c *catalog) RulesetNames(ctx context.Context) []string { return c.rulesetNames() }

func (c *catalog) Table(ctx context.Context, schema, name string) (planner.Table, error) {
	if strings.EqualFold(schema, sysSchema) {
		return c.sysTable(strings.ToLower(name))
	}
	if !isPublicSchema(schema) {
		return nil, fmt.Errorf("schema %q: %w (the schemas are %q and %q)", schema, planner.ErrUnknownTable, publicSchema, sysSchema)
	}
	t, err := c.store.Table(name)
	if errors.Is(err, storage.ErrTableNotFound) {
		return nil, fmt.Errorf("table %q: %w", name, planner.ErrUnknownTable)
	}
	if err != nil {
		return nil, err
	}
	return storageTable{t}, nil
}

func (c *catalog) TableNames(ctx context.Context, schema string) []string {
	if strings.EqualFold(schema, sysSchema) {
		return []string{sysColumns, sysQueries, sysRules, sysRulesets, sysTables}
	}
	if !isPublicSchema(schema) {
		return nil
	}
	tables := c.store.Tables()
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name()
	}
	return names
}

func (c *catalog) Ruleset(ctx context.Context, name string) (*sigmaql.Ruleset, error) {
	c.mu.RLock()
	rs, ok := c.rulesets[name]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("ruleset %q: %w (loaded: %s)", name, planner.ErrUnknownRuleset, strings.Join(c.rulesetNames(), ", "))
	}
	return rs, nil
}

func isPublicSchema(s string) bool {
	return s == "" || strings.EqualFold(s, publicSchema)
}

// Schemas of the system tables.
var (
	sysRulesSchema = arrow.NewSchema([]arrow.Field{
		{Name: "ruleset", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "rule_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "title", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "level", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "tags", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "category", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "product", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "service", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "file", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "line", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	sysRulesetsSchema = arrow.NewSchema([]arrow.Field{
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "rule_count", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	sysTablesSchema = arrow.NewSchema([]arrow.Field{
		{Name: "table_schema", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "table_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "table_type", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "columns", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "row_count", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "segments", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "segment_bytes", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	sysColumnsSchema = arrow.NewSchema([]arrow.Field{
		{Name: "table_schema", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "table_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "column_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ordinal_position", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "data_type", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "is_nullable", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
)

// sysTable builds a system table's rows as of now.
func (c *catalog) sysTable(name string) (planner.Table, error) {
	var schema *arrow.Schema
	var fill func(b *array.RecordBuilder)
	switch name {
	case sysQueries:
		return planner.NewStaticTable(planner.SysQueriesSchema()), nil
	case sysRules:
		schema = sysRulesSchema
		fill = func(b *array.RecordBuilder) {
			for _, rsName := range c.rulesetNames() {
				rs, err := c.Ruleset(context.Background(), rsName)
				if err != nil {
					continue
				}
				for _, r := range rs.Rules {
					appendStrings(b, rsName, r.ID, r.Title, r.Level, r.Status, strings.Join(r.Tags, ","),
						r.Logsource.Category, r.Logsource.Product, r.Logsource.Service, r.File)
					b.Field(10).(*array.Int64Builder).Append(int64(r.Line))
				}
			}
		}
	case sysRulesets:
		schema = sysRulesetsSchema
		fill = func(b *array.RecordBuilder) {
			for _, rsName := range c.rulesetNames() {
				rs, err := c.Ruleset(context.Background(), rsName)
				if err != nil {
					continue
				}
				appendStrings(b, rsName)
				b.Field(1).(*array.Int64Builder).Append(int64(len(rs.Rules)))
			}
		}
	case sysTables:
		schema = sysTablesSchema
		fill = func(b *array.RecordBuilder) {
			for _, t := range c.store.Tables() {
				st := t.Stats()
				appendStrings(b, publicSchema, t.Name(), "TABLE")
				b.Field(3).(*array.Int64Builder).Append(int64(t.Schema().NumFields()))
				b.Field(4).(*array.Int64Builder).Append(t.Rows())
				b.Field(5).(*array.Int64Builder).Append(int64(st.Segments))
				b.Field(6).(*array.Int64Builder).Append(st.SegmentBytes)
			}
			for _, n := range []string{sysColumns, sysQueries, sysRules, sysRulesets, sysTables} {
				s := sysSchemaOf(n)
				appendStrings(b, sysSchema, n, "SYSTEM TABLE")
				b.Field(3).(*array.Int64Builder).Append(int64(s.NumFields()))
				b.Field(4).AppendNull()
				b.Field(5).AppendNull()
				b.Field(6).AppendNull()
			}
		}
	case sysColumns:
		schema = sysColumnsSchema
		fill = func(b *array.RecordBuilder) {
			add := func(schemaName, table string, s *arrow.Schema) {
				for i, f := range s.Fields() {
					appendStrings(b, schemaName, table, f.Name)
					b.Field(3).(*array.Int64Builder).Append(int64(i + 1))
					b.Field(4).(*array.StringBuilder).Append(f.Type.String())
					b.Field(5).(*array.BooleanBuilder).Append(f.Nullable)
				}
			}
			for _, t := range c.store.Tables() {
				add(publicSchema, t.Name(), t.Schema())
			}
			for _, n := range []string{sysColumns, sysQueries, sysRules, sysRulesets, sysTables} {
				add(sysSchema, n, sysSchemaOf(n))
			}
		}
	default:
		return nil, fmt.Errorf("system table %q: %w (the system tables are %s)", name, planner.ErrUnknownTable,
			strings.Join([]string{sysColumns, sysQueries, sysRules, sysRulesets, sysTables}, ", "))
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	fill(b)
	rec := b.NewRecordBatch()
	defer rec.Release()
	return planner.NewStaticTable(schema, rec), nil
}

// sysSchemaOf returns a system table's schema.
func sysSchemaOf(name string) *arrow.Schema {
	switch name {
	case sysRules:
		return sysRulesSchema
	case sysRulesets:
		return sysRulesetsSchema
	case sysTables:
		return sysTablesSchema
	case sysColumns:
		return sysColumnsSchema
	}
	return planner.SysQueriesSchema()
}

// appendStrings appends values to the first len(values) (string) fields of b.
func appendStrings(b *array.RecordBuilder, values ...string) {
	for i, v := range values {
		b.Field(i).(*array.StringBuilder).Append(v)
	}
}

// storageTable adapts a storage table to the planner's Table. It implements
// planner.HintedTable: the planner's scan hints become storage scan options, so zone
// maps and the time range skip segments, row groups and head batches.
type storageTable struct{ t *storage.Table }

func (s storageTable) Schema() *arrow.Schema { return s.t.Schema() }

func (s storageTable) Scan(ctx context.Context, columns []string) (planner.BatchIterator, error) {
	return s.t.Scan(ctx, storage.ScanOptions{Columns: columns})
}

// ScanHinted implements planner.HintedTable.
func (s storageTable) ScanHinted(ctx context.Context, h planner.ScanHints) (planner.BatchIterator, error) {
	return s.t.Scan(ctx, scanOptions(h))
}

// scanOptions translates planner hints to storage options. Storage's time range is
// [MinTime, MaxTime), the planner's bounds are inclusive, hence the microsecond added.
// Filters storage cannot use ("<>") are left out: hints only ever narrow what is read,
// the planner filters every row anyway.
func scanOptions(h planner.ScanHints) storage.ScanOptions {
	opts := storage.ScanOptions{Columns: h.Columns}
	if h.TimeColumn == "ts" {
		if h.HasMinTime {
			opts.MinTime = time.UnixMicro(h.MinTime).UTC()
		}
		if h.HasMaxTime {
			opts.MaxTime = time.UnixMicro(h.MaxTime + 1).UTC()
		}
	}
	ops := map[string]storage.Op{"=": storage.OpEq, "<": storage.OpLt, "<=": storage.OpLe, ">": storage.OpGt, ">=": storage.OpGe, "in": storage.OpIn}
	for _, f := range h.Filters {
		op, ok := ops[f.Op]
		if !ok || len(f.Values) == 0 {
			continue
		}
		p := storage.Predicate{Column: f.Column, Op: op}
		if op == storage.OpIn {
			p.Values = f.Values
		} else {
			p.Value = f.Values[0]
		}
		opts.Predicates = append(opts.Predicates, p)
	}
	return opts
}
