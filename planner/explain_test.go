package planner

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestExplainGolden checks EXPLAIN output against testdata/explain/<name>.txt; run
// `go test ./planner -run TestExplainGolden -update` after an intended plan change and
// review the diff.
func TestExplainGolden(t *testing.T) {
	p, cat := mustPlanner(t)
	cat.rulesets["windows"] = mustRuleset(t, "windows", testRules)
	cat.addTable("procs", procsBatch(t))
	f := func(name, sql string) {
		t.Helper()
		q, err := p.Prepare(context.Background(), "EXPLAIN "+sql)
		if err != nil {
			t.Fatalf("%s: Prepare(%q): %v", name, sql, err)
		}
		rows, err := collect(q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := "-- " + sql + "\n" + strings.Join(rows, "\n") + "\n"
		path := filepath.Join("testdata", "explain", name+".txt")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update to create it)", name, err)
		}
		if got != string(want) {
			t.Fatalf("%s: plan changed:\n%s\nwant\n%s", name, got, want)
		}
	}
	f("filter_project_limit", `SELECT Image AS img, pid FROM events WHERE (Image LIKE '%cmd%' OR pid IN (1, 2)) AND NOT admin LIMIT 10 OFFSET 5`)
	f("count_star", `SELECT count(*) FROM events`)
	f("group_by_split", `SELECT EventID, count(*) AS n, avg(score), max(ts) FROM events WHERE pid > 1 GROUP BY EventID HAVING count(*) > 1 ORDER BY n DESC`)
	f("count_distinct_not_split", `SELECT count(DISTINCT Image) FROM events`)
	f("top_n", `SELECT Image, pid FROM events ORDER BY pid DESC NULLS LAST LIMIT 3`)
	f("detect_pruning_pushdown", `SELECT Image, rule_id FROM detect('windows') WHERE rule_level = 'high' AND EventID = 4688 LIMIT 5`)
	f("detect_group_by", `SELECT rule_title, count(*) FROM detect('windows') GROUP BY rule_title`)
	f("subquery_pushdown", `SELECT * FROM (SELECT Image AS img, pid * 2 AS p2 FROM events) AS sub WHERE p2 > 300 AND img LIKE '%.exe'`)
	f("time_range_scan_hints", `SELECT pid FROM events WHERE ts >= '2024-05-01' AND ts < '2024-05-02' AND EventID IN (4688, 4624)`)
	f("join", `SELECT e.Image, p.parent FROM events e JOIN procs p ON e.pid = p.pid WHERE p.parent <> 'x' AND e.EventID = 4688`)
	f("left_join_cte", `WITH p AS (SELECT pid, parent FROM procs) SELECT e.pid, p.parent FROM events e LEFT JOIN p ON e.pid = p.pid`)
	f("union_all", `SELECT pid FROM events WHERE pid > 100 UNION ALL SELECT pid FROM procs ORDER BY 1`)
	f("distinct", `SELECT DISTINCT EventID FROM events`)
	f("scan_limit", `SELECT Image FROM events LIMIT 2`)
	f("in_subquery_semi_join", `SELECT Image FROM events WHERE pid IN (SELECT pid FROM procs WHERE parent = 'x') AND EventID NOT IN (SELECT pid FROM procs WHERE parent IS NULL)`)
	f("constant_folding", `SELECT pid FROM events WHERE 1 + 1 = 2 AND pid > 10 * 10`)
}

// procsBatch is a second table for joins: pid -> parent process name.
func procsBatch(t testing.TB) arrowRecord {
	return mustBatch(t,
		col{"pid", arrowInt64, []any{100, 200, 300, 500}},
		col{"parent", arrowUtf8, []any{"explorer.exe", "services.exe", nil, "x"}},
	)
}
