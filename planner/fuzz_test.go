package planner

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// FuzzPrepare feeds random SQL to the front end (rewrite, parse, bind, optimise) and,
// when it plans, executes it: any outcome but a panic is fine, and every Prepare error
// wraps one of the package's sentinels (or the context's error); one that wraps none
// fails the test.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{
		`SELECT * FROM events`,
		`SELECT Image, count(*) FROM events WHERE pid > 1 GROUP BY Image HAVING count(*) > 1 ORDER BY 2 DESC NULLS LAST LIMIT 3`,
		`SELECT e.pid, p.parent FROM events e LEFT JOIN procs p ON e.pid = p.pid`,
		`WITH x AS (SELECT pid FROM events) SELECT * FROM x UNION ALL SELECT pid FROM procs`,
		`SELECT CAST(pid AS VARCHAR), date_trunc('hour', ts), ts + INTERVAL 1 DAY FROM events`,
		`SELECT rule_id, count(*) FROM detect('windows') GROUP BY rule_id`,
		`SELECT * FROM events WHERE sigma('title: t
detection:
  s:
    Image|endswith: cmd.exe
  condition: s')`,
		`EXPLAIN ANALYZE SELECT DISTINCT EventID FROM events`,
		`SELECT CASE WHEN pid > 1 THEN 'a' END, coalesce(pid, 0) FROM events WHERE Image ILIKE '%x%' OR Image REGEXP 'a+'`,
		`SELECT * FROM (SELECT * FROM (SELECT 1) a) b`,
		`SELECT ?, pid FROM events WHERE pid = ?`,
	} {
		f.Add(s)
	}
	p, cat := mustPlanner(f)
	cat.rulesets["windows"] = mustRuleset(f, "windows", testRules)
	cat.addTable("procs", procsBatch(f))
	sentinels := []error{ErrSyntax, ErrUnknownTable, ErrUnknownColumn, ErrUnknownRuleset, ErrUnsupported, ErrType, ErrInvalid, ErrOverflow, ErrMemoryLimit}
	f.Fuzz(func(t *testing.T, sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		// Watchdog: an input that outlives its 2 s context by far ignores it (an
		// unbounded bind, a loop without ctx checks). Crashing the worker makes the
		// fuzzer save the input; a t.Fatal from here could not stop the stuck call.
		watchdog := time.AfterFunc(20*time.Second, func() {
			panic(fmt.Sprintf("FuzzPrepare: %q still running 20 s after it started (its context ended at 2 s)", sql))
		})
		defer watchdog.Stop()
		q, err := p.Prepare(ctx, sql)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			// The binder stops when the context ends (a slow Prepare is a finding
			// of its own: the fuzzer reports it as a hang).
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			t.Fatalf("Prepare(%q) = %v: wraps none of the sentinels", sql, err)
		}
		rr, err := q.Execute(ctx)
		if err != nil {
			return
		}
		defer rr.Release()
		for n := 0; rr.Next() && n < 100; n++ {
		}
	})
}
