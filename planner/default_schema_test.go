package planner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// schemaCatalog has two schemas: the default one (public, "" or "public") and "audit",
// each a memCatalog. Both have a table "events" with different rows, so a result shows
// which schema a name resolved in.
type schemaCatalog struct {
	public, audit *memCatalog
}

func (c *schemaCatalog) pick(schema string) (*memCatalog, error) {
	switch schema {
	case "", "public":
		return c.public, nil
	case "audit":
		return c.audit, nil
	}
	return nil, fmt.Errorf("schema %q: %w", schema, ErrUnknownTable)
}

func (c *schemaCatalog) Table(ctx context.Context, schema, name string) (Table, error) {
	m, err := c.pick(schema)
	if err != nil {
		return nil, err
	}
	return m.Table(ctx, "", name)
}

func (c *schemaCatalog) TableNames(ctx context.Context, schema string) []string {
	m, err := c.pick(schema)
	if err != nil {
		return nil
	}
	return m.TableNames(ctx, "")
}

func (c *schemaCatalog) Ruleset(ctx context.Context, name string) (*sigmaql.Ruleset, error) {
	return c.public.Ruleset(ctx, name)
}

// TestDefaultSchema checks WithDefaultSchema: unqualified names (FROM, JOIN, detect's
// table argument, and after Bind) resolve in the given schema; qualified names, CTE names
// and detect's implicit table do not move; an unknown name says which schema it was
// looked up in.
func TestDefaultSchema(t *testing.T) {
	nBatch := func(vals ...any) arrow.RecordBatch {
		return mustBatch(t, col{"EventID", arrow.PrimitiveTypes.Int64, vals})
	}
	cat := &schemaCatalog{public: newMemCatalog(), audit: newMemCatalog()}
	cat.public.addTable("events", eventsBatch(t))
	cat.public.addTable("only_public", nBatch(7))
	cat.audit.addTable("events", nBatch(4624, 4688))
	cat.audit.addTable("only_audit", nBatch(9))
	cat.public.rulesets["windows"] = mustRuleset(t, "windows", testRules)
	p := New(cat, Options{})

	f := func(schema, sql string, want ...string) {
		t.Helper()
		q, err := p.Prepare(context.Background(), sql, WithDefaultSchema(schema))
		if err != nil {
			t.Fatalf("Prepare(%q) in schema %q: %v", sql, schema, err)
		}
		if q.DefaultSchema() != schema {
			t.Fatalf("DefaultSchema() = %q; want %q", q.DefaultSchema(), schema)
		}
		got, err := collect(q)
		if err != nil {
			t.Fatalf("Execute(%q): %v", sql, err)
		}
		if !equalRows(got, want) {
			t.Fatalf("%s (schema %q):\ngot  %v\nwant %v", sql, schema, got, want)
		}
	}
	f("", "SELECT count(*) FROM events", "5")
	f("audit", "SELECT count(*) FROM events", "2")
	f("audit", "SELECT count(*) FROM public.events", "5")
	f("audit", "SELECT count(*) FROM sigmaflight.public.events", "5")
	f("public", "SELECT count(*) FROM audit.events", "2")
	f("audit", "SELECT EventID FROM only_audit", "9")
	f("audit", "SELECT count(*) FROM events a JOIN public.events b ON a.EventID = b.EventID", "4")
	f("audit", "SELECT count(*) FROM (SELECT * FROM events) s", "2")
	f("audit", "WITH events AS (SELECT 1 AS x) SELECT count(*) FROM events", "1")
	// detect()'s table argument is a table name like any other; its implicit table is
	// the catalog's default.
	f("audit", "SELECT count(*) FROM detect('windows', 'events')", "2")
	f("audit", "SELECT count(*) FROM detect('windows')", "5")
	// sys.queries is served by the planner: a default schema "sys" reaches it too.
	f("sys", "SELECT count(*) >= 0 FROM queries", "true")

	// Bind re-prepares the bound text in the same schema.
	q, err := p.Prepare(context.Background(), "SELECT count(*) FROM events WHERE EventID = ?", WithDefaultSchema("audit"))
	if err != nil {
		t.Fatal(err)
	}
	params := mustBatch(t, col{"$1", arrow.PrimitiveTypes.Int64, []any{4624}})
	defer params.Release()
	bq, err := q.Bind(params, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := collect(bq); err != nil || !equalRows(got, []string{"1"}) {
		t.Fatalf("bound query in schema audit: %v, %v; want [1]", got, err)
	}

	g := func(schema, sql, wantMsg, wantHint string) {
		t.Helper()
		_, err := p.Prepare(context.Background(), sql, WithDefaultSchema(schema))
		var pe *Error
		if !errors.Is(err, ErrUnknownTable) || !errors.As(err, &pe) {
			t.Fatalf("Prepare(%q) in schema %q: %v; want an unknown table *Error", sql, schema, err)
		}
		if !strings.Contains(pe.Error(), wantMsg) || !strings.Contains(pe.Hint, wantHint) {
			t.Fatalf("Prepare(%q) in schema %q: %q (hint %q); want %q (hint %q)", sql, schema, pe.Error(), pe.Hint, wantMsg, wantHint)
		}
	}
	g("audit", "SELECT * FROM only_public", `unknown table "only_public" in the default schema "audit"`, "qualify the name")
	g("audit", "SELECT * FROM only_audt", `in the default schema "audit"`, `did you mean "only_audit"?`)
	g("", "SELECT * FROM only_audit", `unknown table "only_audit"`, "")
	g("nosuch", "SELECT * FROM events", `in the default schema "nosuch"`, "qualify the name")
}
