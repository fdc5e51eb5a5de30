package planner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// multiBatchPlanner has a table "nums" of 3 batches (sizes 4, 3, 5) with n = 0..11 and
// NULL where n % 5 == 4.
func multiBatchPlanner(t testing.TB) *Planner {
	cat := newMemCatalog()
	var batches []arrow.RecordBatch
	next := 0
	for _, size := range []int{4, 3, 5} {
		var ns, vs []any
		for i := 0; i < size; i++ {
			ns = append(ns, next)
			if next%5 == 4 {
				vs = append(vs, nil)
			} else {
				vs = append(vs, fmt.Sprintf("v%d", next))
			}
			next++
		}
		batches = append(batches, mustBatch(t, col{"n", arrow.PrimitiveTypes.Int64, ns}, col{"v", utf8Type, vs}))
	}
	cat.addTable("nums", batches...)
	return New(cat, Options{})
}

func TestCountAndLimit(t *testing.T) {
	p := multiBatchPlanner(t)
	f := func(sql string, want ...string) {
		t.Helper()
		got := runQuery(t, p, sql)
		if !equalRows(got, want) {
			t.Fatalf("%s: got %v; want %v", sql, got, want)
		}
	}
	f(`SELECT count(*) FROM nums`, "12")
	f(`SELECT count(v), count(*), count(n) AS c FROM nums`, "10|12|12")
	f(`SELECT count(*) FROM nums WHERE n > 100`, "0")
	f(`SELECT count(v) FROM nums WHERE n >= 3 AND n < 10`, "5")
	f(`SELECT count(*) FROM nums LIMIT 0`)
	// LIMIT and OFFSET across batch boundaries (4 | 3 | 5).
	f(`SELECT n FROM nums LIMIT 3 OFFSET 2`, "2", "3", "4")
	f(`SELECT n FROM nums LIMIT 2 OFFSET 6`, "6", "7")
	f(`SELECT n FROM nums LIMIT 1 OFFSET 11`, "11")
	f(`SELECT n FROM nums LIMIT 5 OFFSET 12`)
	f(`SELECT n FROM nums LIMIT 0`)
	f(`SELECT n FROM nums LIMIT 2, 2`, "2", "3") // MySQL form: offset, count
	f(`SELECT n FROM nums WHERE v IS NULL LIMIT 5`, "4", "9")
}

func TestLimitStopsEarly(t *testing.T) {
	p := multiBatchPlanner(t)
	got := runQuery(t, p, `SELECT n FROM nums WHERE n > 1 LIMIT 2`)
	if !equalRows(got, []string{"2", "3"}) {
		t.Fatalf("got %v; want [2 3]", got)
	}
}

// TestClientSafeOutput checks that views, dictionaries, unsigned and narrow ints,
// Float32 and non-UTC timestamps come out in client-safe types, in the schema and in
// every batch.
func TestClientSafeOutput(t *testing.T) {
	cat := newMemCatalog()
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: utf8Type}
	cat.addTable("odd", mustBatch(t,
		col{"view", arrow.BinaryTypes.StringView, []any{"a", nil, "c"}},
		col{"large", arrow.BinaryTypes.LargeString, []any{"x", "y", nil}},
		col{"dict", dict, []any{"high", nil, "high"}},
		col{"u8", arrow.PrimitiveTypes.Uint8, []any{255, 0, nil}},
		col{"i16", arrow.PrimitiveTypes.Int16, []any{-5, nil, 7}},
		col{"u32", arrow.PrimitiveTypes.Uint32, []any{4294967295, 1, 2}},
		col{"u64", arrow.PrimitiveTypes.Uint64, []any{uint64(math.MaxInt64), 1, nil}},
		col{"f32", arrow.PrimitiveTypes.Float32, []any{1.5, nil, -2}},
		col{"tsns", &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "Europe/Paris"}, []any{"2024-05-01T10:00:00.123456789Z", nil, "2024-05-01T10:00:00Z"}},
	))
	cat.addTable("big", mustBatch(t, col{"u64", arrow.PrimitiveTypes.Uint64, []any{uint64(math.MaxUint64)}}))
	p := New(cat, Options{})
	q, err := p.Prepare(context.Background(), `SELECT * FROM odd`)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, fl := range q.Schema().Fields() {
		if !fl.Nullable {
			t.Fatalf("field %s is not nullable", fl.Name)
		}
		types = append(types, fl.Type.String())
	}
	want := "utf8,utf8,utf8,int32,int32,int64,int64,float64,timestamp[us, tz=UTC]"
	if got := strings.Join(types, ","); got != want {
		t.Fatalf("got %v; want %v", got, want)
	}
	rows, err := collect(q) // collect checks every batch's schema
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []string{
		"a|x|high|255|-5|4294967295|9223372036854775807|1.5|2024-05-01T10:00:00.123456Z",
		"NULL|y|NULL|0|NULL|1|1|NULL|NULL",
		"c|NULL|high|NULL|7|2|NULL|-2|2024-05-01T10:00:00Z",
	}
	if !equalRows(rows, wantRows) {
		t.Fatalf("got %v; want %v", rows, wantRows)
	}
	// Filters work on every encoding.
	f := func(where string, want ...string) {
		t.Helper()
		got := runQuery(t, p, `SELECT i16 FROM odd WHERE `+where)
		if !equalRows(got, want) {
			t.Fatalf("WHERE %s: got %v; want %v", where, got, want)
		}
	}
	f(`view = 'c'`, "7")
	f(`view LIKE '%a%'`, "-5")
	f(`large >= 'y'`, "NULL")
	f(`dict = 'high'`, "-5", "7")
	f(`dict LIKE 'hi%'`, "-5", "7")
	f(`dict IN ('low', 'high')`, "-5", "7")
	f(`dict IS NULL`, "NULL")
	f(`u8 > 200`, "-5")
	f(`u8 > -1`, "-5", "NULL")
	f(`u64 >= 9223372036854775807`, "-5")
	f(`u32 = 4294967295`, "-5")
	f(`f32 < 0`, "7")
	f(`tsns > '2024-05-01T10:00:00Z'`, "-5")
	// uint64 above MaxInt64 fails loudly rather than wrapping.
	qb, err := p.Prepare(context.Background(), `SELECT u64 FROM big`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collect(qb); !errors.Is(err, ErrOverflow) {
		t.Fatalf("got %v; want ErrOverflow", err)
	}
}

func TestOutputBatchLimits(t *testing.T) {
	cat := newMemCatalog()
	const n = 150000
	ns := make([]any, n)
	for i := range ns {
		ns[i] = i
	}
	cat.addTable("many", mustBatch(t, col{"n", arrow.PrimitiveTypes.Int64, ns}))
	p := New(cat, Options{})
	q, err := p.Prepare(context.Background(), `SELECT n FROM many WHERE n >= 10`)
	if err != nil {
		t.Fatal(err)
	}
	rr, err := q.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	total := 0
	for rr.Next() {
		rec := rr.RecordBatch()
		if rec.NumRows() > maxOutputRows {
			t.Fatalf("batch of %d rows; want at most %d", rec.NumRows(), maxOutputRows)
		}
		if !rec.Schema().Equal(q.Schema()) {
			t.Fatalf("batch schema %v; want %v", rec.Schema(), q.Schema())
		}
		total += int(rec.NumRows())
	}
	if rr.Err() != nil || total != n-10 {
		t.Fatalf("got %d rows, %v; want %d", total, rr.Err(), n-10)
	}
}

func TestCancel(t *testing.T) {
	p := multiBatchPlanner(t)
	q, err := p.Prepare(context.Background(), `SELECT n FROM nums`)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rr, err := q.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	if !rr.Next() {
		t.Fatalf("no first batch: %v", rr.Err())
	}
	cancel()
	for rr.Next() {
	}
	if !errors.Is(rr.Err(), context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", rr.Err())
	}
}

// panicOp panics in next, like a kernel bug would.
type panicOp struct{}

func (panicOp) next(context.Context) (*batch, error) { panic("kernel bug") }
func (panicOp) close()                               {}

func TestPanicBecomesError(t *testing.T) {
	g := &guard{name: "filter", op: panicOp{}}
	_, err := g.next(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "filter: internal error: kernel bug") {
		t.Fatalf("got %v; want an internal error naming the operator", err)
	}
}
