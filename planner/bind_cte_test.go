package planner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// cteChain builds `WITH c0 AS (SELECT pid FROM events), c1 AS (SELECT a.pid FROM c0 a
// JOIN c0 b ON ...), ... SELECT count(*) FROM c<levels-1>`: with refs references to the
// previous level per level, the expanded plan has about refs^levels nodes.
func cteChain(levels, refs int) string {
	var b strings.Builder
	b.WriteString("WITH c0 AS (SELECT pid FROM events)")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, ", c%d AS (SELECT r0.pid FROM c%d r0", i, i-1)
		for r := 1; r < refs; r++ {
			fmt.Fprintf(&b, " JOIN c%d r%d ON r0.pid = r%d.pid", i-1, r, r)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " SELECT count(*) FROM c%d", levels-1)
	return b.String()
}

// TestCTEChainPlansQuickly checks that a long chain of CTEs, each referring to the one
// before, binds each CTE once: it plans (and runs) in well under a second.
func TestCTEChainPlansQuickly(t *testing.T) {
	p, _ := mustPlanner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	n, err := drain(ctx, p, cteChain(60, 1))
	if err != nil {
		t.Fatalf("chain of 60 CTEs: %v", err)
	}
	if n != 1 {
		t.Fatalf("got %d rows; want 1", n)
	}
	// Generous: the chain takes milliseconds; exponential binding took seconds at 19
	// levels of two references.
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("chain of 60 CTEs took %v", d)
	}
}

// TestCTEPlanSizeLimit checks that a chain of CTEs each referring twice to the one
// before (a plan of 2^25 nodes when expanded) is refused at Prepare, quickly, with
// ErrUnsupported naming the limit, and that a small doubling chain still runs.
func TestCTEPlanSizeLimit(t *testing.T) {
	p, _ := mustPlanner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := p.Prepare(ctx, cteChain(25, 2))
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("got %v; want ErrUnsupported", err)
	}
	if want := fmt.Sprintf("more than %d nodes", maxPlanNodes); !strings.Contains(err.Error(), want) {
		t.Fatalf("got %q; want it to contain %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("refusing took %v", d)
	}
	// Four levels of doubling (16 scans) are fine, and answer like the plain join:
	// events has 4 non-NULL pids, each joining itself once per level.
	n, err := drain(ctx, p, cteChain(4, 2))
	if err != nil || n != 1 {
		t.Fatalf("small doubling chain: %d rows, %v", n, err)
	}
}

// TestCTEVisibility checks that a CTE body sees the CTEs defined before it in its WITH
// and the enclosing ones, never a later one or the referencing query's own WITH.
func TestCTEVisibility(t *testing.T) {
	p, _ := mustPlanner(t)
	ctx := context.Background()
	f := func(sql string, wantRows int64, wantErr error) {
		t.Helper()
		n, err := drain(ctx, p, sql)
		if wantErr != nil {
			if !errors.Is(err, wantErr) {
				t.Fatalf("%s: got %v; want %v", sql, err, wantErr)
			}
			return
		}
		if err != nil || n != wantRows {
			t.Fatalf("%s: got %d rows, %v; want %d rows", sql, n, err, wantRows)
		}
	}
	f(`WITH a AS (SELECT pid FROM events), b AS (SELECT * FROM a) SELECT * FROM b`, 5, nil)
	// A later CTE is not visible to an earlier one.
	f(`WITH b AS (SELECT * FROM a), a AS (SELECT pid FROM events) SELECT * FROM b`, 0, ErrUnknownTable)
	// Self-reference is refused as recursion.
	f(`WITH a AS (SELECT * FROM a) SELECT * FROM a`, 0, ErrUnsupported)
	// The body of x resolves "events" at its definition, not in the inner WITH that
	// shadows it where x is referenced.
	f(`WITH x AS (SELECT pid FROM events) SELECT * FROM (WITH events AS (SELECT 1 AS pid) SELECT * FROM x) s`, 5, nil)
	// The same CTE referenced twice, in a join: each reference is its own copy.
	f(`WITH x AS (SELECT pid FROM events WHERE pid > 100) SELECT a.pid FROM x a JOIN x b ON a.pid = b.pid WHERE a.pid < 400`, 2, nil)
}

// TestBindHonoursContext checks that binding stops when the context has ended.
func TestBindHonoursContext(t *testing.T) {
	p, _ := mustPlanner(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Prepare(ctx, cteChain(10, 2))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", err)
	}
}
