package planner

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestIntegerOverflow checks that integer arithmetic and sum() fail with ErrOverflow
// instead of wrapping, and that the values around the limits still compute.
func TestIntegerOverflow(t *testing.T) {
	p, cat := mustPlanner(t)
	cat.addTable("big", mustBatch(t,
		col{"n", arrow.PrimitiveTypes.Int64, []any{int64(math.MaxInt64), int64(1), int64(math.MinInt64), int64(-1)}},
		col{"g", arrow.PrimitiveTypes.Int64, []any{1, 1, 2, 2}},
	))
	fail := func(sql string) {
		t.Helper()
		q, err := p.Prepare(context.Background(), sql)
		if err != nil {
			t.Fatalf("Prepare(%q): %v", sql, err)
		}
		rows, err := collect(q)
		if !errors.Is(err, ErrOverflow) {
			t.Fatalf("%s: got %v, %v; want ErrOverflow", sql, rows, err)
		}
		if !strings.Contains(err.Error(), "overflow") {
			t.Fatalf("%s: got %q; want it to say overflow", sql, err)
		}
	}
	ok := func(sql string, want ...string) {
		t.Helper()
		if got := runQuery(t, p, sql); !equalRows(got, want) {
			t.Fatalf("%s: got %v; want %v", sql, got, want)
		}
	}
	fail(`SELECT sum(n) FROM big WHERE n > 0`)
	fail(`SELECT sum(n) FROM big WHERE n < 0`)
	fail(`SELECT g, sum(n) FROM big WHERE n <> -1 GROUP BY g`)
	fail(`SELECT n + 1 FROM big`)
	fail(`SELECT n - 1 FROM big`)
	fail(`SELECT n * 2 FROM big`)
	fail(`SELECT -n FROM big`)
	fail(`SELECT n * -1 FROM big WHERE n < -1`)
	fail(`SELECT 9223372036854775807 + 1`)
	ok(`SELECT sum(n) FROM big`, "-1")
	ok(`SELECT g, sum(n) FROM big WHERE n <> 1 AND n <> -1 GROUP BY g ORDER BY g`, "1|9223372036854775807", "2|-9223372036854775808")
	ok(`SELECT n + 0, n * 1 FROM big WHERE g = 2 ORDER BY n`, "-9223372036854775808|-9223372036854775808", "-1|-1")
	ok(`SELECT avg(n) FROM big WHERE n > 0`, "4.611686018427388e+18")
	ok(`SELECT CAST(n AS DOUBLE) + 1 FROM big WHERE n > 1`, "9.223372036854776e+18")
}
