package planner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// paramBatch builds a one-row batch of parameter values.
func paramBatch(t *testing.T, vals ...any) arrow.RecordBatch {
	t.Helper()
	var cols []col
	for i, v := range vals {
		name := string(rune('a' + i))
		switch v.(type) {
		case int, int64:
			cols = append(cols, col{name, arrow.PrimitiveTypes.Int64, []any{v}})
		case float64:
			cols = append(cols, col{name, arrow.PrimitiveTypes.Float64, []any{v}})
		case bool:
			cols = append(cols, col{name, arrow.FixedWidthTypes.Boolean, []any{v}})
		default:
			cols = append(cols, col{name, arrow.BinaryTypes.String, []any{v}})
		}
	}
	if len(cols) == 0 {
		return array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
	}
	return mustBatch(t, cols...)
}

func TestParameterSchema(t *testing.T) {
	p, _ := mustPlanner(t)
	f := func(sql string, want ...string) {
		t.Helper()
		q, err := p.Prepare(context.Background(), sql)
		if err != nil {
			t.Fatalf("Prepare(%q): %v", sql, err)
		}
		var got []string
		for _, f := range q.ParameterSchema().Fields() {
			got = append(got, f.Name+":"+f.Type.String())
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: got %v; want %v", sql, got, want)
		}
	}
	f(`SELECT Image FROM events`)
	f(`SELECT Image FROM events WHERE EventID = ?`, "$1:int64")
	f(`SELECT Image FROM events WHERE ? < score AND Image LIKE ?`, "$1:float64", "$2:utf8")
	f(`SELECT Image FROM events WHERE ts >= ? AND admin = ? LIMIT ?`, "$1:timestamp[us, tz=UTC]", "$2:bool", "$3:int64")
	f(`SELECT Image FROM events WHERE Image IN (?, 'x') AND pid BETWEEN ? AND ?`, "$1:utf8", "$2:int64", "$3:int64")
	f(`SELECT Image FROM events WHERE ? IS NULL`, "$1:utf8")
	f(`SELECT pid + ? FROM events WHERE lower(Image) = ? AND date_trunc('day', ts) = ?`, "$1:int64", "$2:utf8", "$3:timestamp[us, tz=UTC]")
	f(`SELECT count(*) FROM events WHERE pid IN (?, ?) GROUP BY EventID HAVING count(*) > ?`, "$1:int64", "$2:int64", "$3:int64")
	f(`SELECT Image FROM events WHERE Image = '?'`) // a string, not a placeholder
}

func TestBind(t *testing.T) {
	p, _ := mustPlanner(t)
	f := func(sql string, params arrow.RecordBatch, want ...string) {
		t.Helper()
		defer params.Release()
		q, err := p.Prepare(context.Background(), sql)
		if err != nil {
			t.Fatalf("Prepare(%q): %v", sql, err)
		}
		bq, err := q.Bind(params, 0)
		if err != nil {
			t.Fatalf("Bind(%q): %v", sql, err)
		}
		got, err := collect(bq)
		if err != nil {
			t.Fatalf("Execute(%q): %v", sql, err)
		}
		if !equalRows(got, want) {
			t.Fatalf("%s: got %v; want %v", sql, got, want)
		}
	}
	f(`SELECT pid FROM events WHERE EventID = ? AND pid > ?`, paramBatch(t, 4688, 150), "400")
	f(`SELECT pid FROM events WHERE Image = ?`, paramBatch(t, `C:\Windows\explorer.exe`), "200")
	f(`SELECT pid FROM events WHERE Image LIKE ?`, paramBatch(t, `%'%`))
	f(`SELECT pid FROM events WHERE ts >= ? LIMIT ?`, paramBatch(t, "2024-05-02", 5), "300", "400")
	f(`SELECT pid FROM events WHERE EventID = ?`, paramBatch(t, "4624"), "200") // cast from text
	f(`SELECT pid FROM events WHERE score = ?`, paramBatch(t, 1.5), "100")
	f(`SELECT pid FROM events WHERE admin = ? AND pid < ?`, paramBatch(t, true, 250), "100")
	f(`SELECT pid FROM events WHERE EventID = 1`, paramBatch(t), "300")
	f(`SELECT pid + ? FROM events WHERE lower(Image) LIKE ? ORDER BY 1`, paramBatch(t, 1, "%cmd%"), "101", "401")
	// A bound literal never merges with its neighbours: `1 -?AS v` with -5 once
	// became `1 --5AS v` (a comment).
	f(`SELECT 1 -?AS v`, paramBatch(t, -5), "6")
	f(`SELECT 2*?*3 AS v`, paramBatch(t, -1), "-6")
	f(`SELECT pid FROM events WHERE pid IN (?,?) ORDER BY 1`, paramBatch(t, 300, 100), "100", "300")
	f(`SELECT pid FROM events WHERE pid >?AND pid <? ORDER BY 1`, paramBatch(t, 100, 400), "200", "300")
	f(`SELECT pid FROM events WHERE pid IS NOT NULL ORDER BY 1 LIMIT ?,?`, paramBatch(t, 1, 2), "200", "300")
	f(`SELECT pid FROM events WHERE pid IS NOT NULL ORDER BY 1 LIMIT ? OFFSET ?`, paramBatch(t, 1, 3), "400")
	// Text stays one string literal, whatever it holds.
	f(`SELECT pid FROM events WHERE Image = ?`, paramBatch(t, `x') OR ('1'='1`))
	f(`SELECT pid FROM events WHERE Image = ?`, paramBatch(t, `x' OR '1'='1`))

	q, err := p.Prepare(context.Background(), `SELECT pid FROM events WHERE EventID = ?`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Execute(context.Background()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Execute without Bind: got %v; want ErrInvalid", err)
	}
	bad := paramBatch(t, "not a number")
	defer bad.Release()
	if _, err := q.Bind(bad, 0); !errors.Is(err, ErrType) || !strings.Contains(err.Error(), "parameter 1") {
		t.Fatalf("Bind of text to Int64: got %v; want ErrType naming parameter 1", err)
	}
	two := paramBatch(t, 1, 2)
	defer two.Release()
	if _, err := q.Bind(two, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Bind with 2 values for 1 parameter: got %v; want ErrInvalid", err)
	}
	// A NULL parameter compares as NULL: no rows.
	b := array.NewInt64Builder(memory.DefaultAllocator)
	b.AppendNull()
	arr := b.NewArray()
	nullRec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), []arrow.Array{arr}, 1)
	arr.Release()
	defer nullRec.Release()
	bq, err := q.Bind(nullRec, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := collect(bq); err != nil || len(got) != 0 {
		t.Fatalf("NULL parameter: got %v, %v; want no rows", got, err)
	}
	// A Null-typed column (what a client binding None sends; arrow-go's IsNull says
	// false for it) binds NULL too; it failed with "BUG: null is not an integer array".
	nullTyped := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.Null, Nullable: true}}, nil), []arrow.Array{array.NewNull(1)}, 1)
	defer nullTyped.Release()
	bq, err = q.Bind(nullTyped, 0)
	if err != nil {
		t.Fatalf("Bind of a Null-typed column: %v", err)
	}
	if got, err := collect(bq); err != nil || len(got) != 0 {
		t.Fatalf("Null-typed parameter: got %v, %v; want no rows", got, err)
	}
}
