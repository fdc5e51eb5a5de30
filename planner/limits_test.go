package planner

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// endlessTable yields batches of distinct strings until the scan's context ends.
type endlessTable struct{ schema *arrow.Schema }

func newEndlessTable() *endlessTable {
	return &endlessTable{schema: arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)}
}

func (t *endlessTable) Schema() *arrow.Schema { return t.schema }
func (t *endlessTable) Scan(ctx context.Context, columns []string) (BatchIterator, error) {
	return &endlessIter{t: t}, nil
}

type endlessIter struct {
	t    *endlessTable
	next int64
	cur  arrow.RecordBatch
}

func (it *endlessIter) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if it.cur != nil {
		it.cur.Release()
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, it.t.schema)
	defer b.Release()
	for i := 0; i < 1024; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("key-%012d", it.next))
		b.Field(1).(*array.Int64Builder).Append(it.next)
		it.next++
	}
	it.cur = b.NewRecordBatch()
	return it.cur, nil
}

func (it *endlessIter) Schema() *arrow.Schema { return it.t.schema }
func (it *endlessIter) Close() {
	if it.cur != nil {
		it.cur.Release()
		it.cur = nil
	}
}

// drain reads a query to the end and returns its row count and error.
func drain(ctx context.Context, p *Planner, sql string) (int64, error) {
	rr, err := p.Query(ctx, sql)
	if err != nil {
		return 0, err
	}
	defer rr.Release()
	var n int64
	for rr.Next() {
		n += rr.RecordBatch().NumRows()
	}
	return n, rr.Err()
}

func TestMemoryLimit(t *testing.T) {
	p := New(&endlessCatalog{memCatalog: newMemCatalog(), endless: newEndlessTable()}, Options{QueryMemoryLimit: 4 << 20, Parallelism: 2})
	before := runtime.NumGoroutine()
	for _, sql := range []string{
		`SELECT k, count(*) FROM endless GROUP BY k`,            // hash aggregation grows without bound
		`SELECT k FROM endless ORDER BY k`,                      // sort buffer
		`SELECT count(DISTINCT k) FROM endless`,                 // distinct set
		`SELECT a.n FROM endless a JOIN endless b ON a.k = b.k`, // join build side
		`SELECT DISTINCT k FROM endless`,                        // distinct keys
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := drain(ctx, p, sql)
		cancel()
		if !errors.Is(err, ErrMemoryLimit) {
			t.Fatalf("%s: got %v; want ErrMemoryLimit", sql, err)
		}
		if !strings.Contains(err.Error(), "limit of 4.0 MiB") {
			t.Fatalf("%s: error %q does not state the limit", sql, err)
		}
	}
	// The planner stays usable and the workers are gone.
	if n, err := drain(context.Background(), p, `SELECT n FROM endless LIMIT 5000`); err != nil || n != 5000 {
		t.Fatalf("after the failures: got %d rows, %v; want 5000 rows", n, err)
	}
	waitGoroutines(t, before)
	rows, err := drain(context.Background(), p, `SELECT query_id FROM sys.queries WHERE state = 'failed' AND error LIKE '%memory limit%'`)
	if err != nil || rows != 5 {
		t.Fatalf("sys.queries: %d failed queries, %v; want 5", rows, err)
	}
}

func TestCancelRunningQuery(t *testing.T) {
	p := New(&endlessCatalog{memCatalog: newMemCatalog(), endless: newEndlessTable()}, Options{Parallelism: 2})
	before := runtime.NumGoroutine()
	for _, sql := range []string{
		`SELECT count(*) FROM endless`,                  // parallel partial aggregation
		`SELECT k FROM endless WHERE n % 2 = 0`,         // streaming
		`SELECT k FROM endless ORDER BY n DESC LIMIT 3`, // parallel top-N
	} {
		ctx, cancel := context.WithCancel(context.Background())
		rr, err := p.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			for rr.Next() {
			}
			done <- rr.Err()
		}()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: got %v; want context.Canceled", sql, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the query did not stop after cancel", sql)
		}
		rr.Release()
	}
	waitGoroutines(t, before)
	if n, err := drain(context.Background(), p, `SELECT query_id FROM sys.queries WHERE state = 'cancelled'`); err != nil || n != 3 {
		t.Fatalf("sys.queries: %d cancelled queries, %v; want 3", n, err)
	}
}

// waitGoroutines fails when goroutines started by a test are still running after a
// grace period.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines still running; want at most %d\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// endlessCatalog adds the table "endless" to a memCatalog.
type endlessCatalog struct {
	*memCatalog
	endless *endlessTable
}

func (c *endlessCatalog) Table(ctx context.Context, schema, name string) (Table, error) {
	if name == "endless" {
		return c.endless, nil
	}
	return c.memCatalog.Table(ctx, schema, name)
}

func TestExplainAnalyze(t *testing.T) {
	cat := newMemCatalog()
	cat.addTable("events", eventsBatch(t))
	p := New(cat, Options{Parallelism: 2})
	rows := runQuery(t, p, `EXPLAIN ANALYZE SELECT EventID, count(*) FROM events WHERE pid > 150 GROUP BY EventID`)
	text := strings.Join(rows, "\n")
	for _, want := range []string{"Aggregate final keys=[\"EventID\"]", "(rows=3 batches=1", "Scan table=events", "(rows=5 batches=1", "workers=2", "Total: rows=3"} {
		if !strings.Contains(text, want) {
			t.Fatalf("EXPLAIN ANALYZE output lacks %q:\n%s", want, text)
		}
	}
}

func TestParallelMatchesSequential(t *testing.T) {
	cat := newMemCatalog()
	var batches []arrow.RecordBatch
	for b := 0; b < 20; b++ {
		var ks, ns []any
		for i := 0; i < 500; i++ {
			ks = append(ks, fmt.Sprintf("k%d", (b*500+i)%37))
			ns = append(ns, b*500+i)
		}
		batches = append(batches, mustBatch(t, col{"k", arrow.BinaryTypes.String, ks}, col{"n", arrow.PrimitiveTypes.Int64, ns}))
	}
	cat.addTable("t", batches...)
	seq := New(cat, Options{Parallelism: 1})
	par := New(cat, Options{Parallelism: 4})
	for _, sql := range []string{
		`SELECT k, count(*), sum(n), min(n), max(n), avg(n) FROM t GROUP BY k ORDER BY k`,
		`SELECT n FROM t ORDER BY n DESC LIMIT 7`,
		`SELECT count(*), sum(n) FROM t WHERE n % 3 = 0`,
		`SELECT DISTINCT k FROM t ORDER BY k`,
	} {
		a, b := runQuery(t, seq, sql), runQuery(t, par, sql)
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Fatalf("%s: parallel %v; sequential %v", sql, b, a)
		}
	}
}

// TestAggregateReleasesMemory checks that a hash aggregation returns its group table's
// bytes to the query's budget once it has emitted its groups: two aggregations run one
// after the other (UNION ALL members) fit a limit that holds one of them with room to
// spare but not both.
func TestAggregateReleasesMemory(t *testing.T) {
	keys := make([]any, 20000)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%012d", i)
	}
	newPlanner := func(limit int64) *Planner {
		cat := newMemCatalog()
		cat.addTable("many", mustBatch(t, col{"k", arrow.BinaryTypes.String, keys}))
		return New(cat, Options{QueryMemoryLimit: limit, Parallelism: 1})
	}
	const one = `SELECT count(*) FROM (SELECT k FROM many GROUP BY k) a`
	p := newPlanner(1 << 40)
	if got := runQuery(t, p, one); !equalRows(got, []string{"20000"}) {
		t.Fatalf("got %v; want [20000]", got)
	}
	peak := runQuery(t, p, `SELECT peak_memory FROM sys.queries WHERE sql_text LIKE 'SELECT count(*)%'`)
	if len(peak) != 1 {
		t.Fatalf("sys.queries: got %v; want one peak", peak)
	}
	var need int64
	if _, err := fmt.Sscan(peak[0], &need); err != nil || need < 100_000 {
		t.Fatalf("peak memory of one aggregation: %q, %v", peak[0], err)
	}
	p = newPlanner(need * 3 / 2)
	got := runQuery(t, p, one+` UNION ALL `+one)
	if !equalRows(got, []string{"20000", "20000"}) {
		t.Fatalf("got %v; want [20000 20000]", got)
	}
}
