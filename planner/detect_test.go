package planner

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// testRules are three rules over the events table (see eventsBatch):
//
//	r-cmd    high    Image ends with \cmd.exe      row 0 (not evil_cmd.exe)
//	r-logon  low     EventID 4624                  row 1
//	r-4688   medium  EventID 4688                  rows 0, 2, 4
const testRules = `title: Cmd Launch
id: r-cmd
level: high
tags:
  - attack.execution
  - attack.t1059
logsource:
  product: windows
detection:
  sel:
    Image|endswith: '\cmd.exe'
  condition: sel
---
title: Logon
id: r-logon
level: low
logsource:
  product: windows
detection:
  sel:
    EventID: 4624
  condition: sel
---
title: Process Creation
id: r-4688
level: medium
logsource:
  product: windows
detection:
  sel:
    EventID: 4688
  condition: sel
`

func mustRuleset(t testing.TB, name, yaml string) *sigmaql.Ruleset {
	t.Helper()
	rules, diags := sigmaql.ParseRules(name+".yml", []byte(yaml))
	for _, d := range diags {
		if !d.Warning {
			t.Fatalf("rule diagnostics: %v", d)
		}
	}
	return &sigmaql.Ruleset{Name: name, Rules: rules}
}

func TestDetect(t *testing.T) {
	p, cat := mustPlanner(t)
	cat.rulesets["windows"] = mustRuleset(t, "windows", testRules)
	f := func(sql string, want ...string) {
		t.Helper()
		got := runQuery(t, p, sql)
		if !equalRows(got, want) {
			t.Fatalf("%s:\ngot  %v\nwant %v", sql, got, want)
		}
	}
	// One row per (event, rule), in row then rule order.
	f(`SELECT pid, rule_id, rule_title, rule_level, rule_tags FROM detect('windows')`,
		"100|r-cmd|Cmd Launch|high|attack.execution,attack.t1059",
		"100|r-4688|Process Creation|medium|",
		"200|r-logon|Logon|low|",
		"NULL|r-4688|Process Creation|medium|",
		"400|r-4688|Process Creation|medium|",
	)
	f(`SELECT pid FROM detect('windows', 'events') WHERE rule_level = 'high'`, "100")
	f(`SELECT d.pid, d.rule_id FROM detect('windows') AS d WHERE d.rule_level IN ('low', 'medium') AND pid > 150`,
		"200|r-logon", "400|r-4688")
	f(`SELECT count(*) FROM detect('windows') WHERE rule_level <> 'high'`, "4")
	f(`SELECT pid, rule_id FROM detect('windows') WHERE rule_title LIKE '%Creation' LIMIT 1 OFFSET 1`, "NULL|r-4688")
	f(`SELECT rule_id FROM detect('windows') WHERE rule_level = 'critical'`)

	// SELECT * gives the table's columns, then the rule columns.
	q, err := p.Prepare(context.Background(), `SELECT * FROM detect('windows')`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fl := range q.Schema().Fields() {
		names = append(names, fl.Name)
		if strings.HasPrefix(fl.Name, "rule_") && !arrow.TypeEqual(fl.Type, arrow.BinaryTypes.String) {
			t.Fatalf("column %s is %s; want utf8", fl.Name, fl.Type)
		}
	}
	if got, want := strings.Join(names, ","), "Image,EventID,pid,score,admin,ts,rule_id,rule_title,rule_level,rule_tags"; got != want {
		t.Fatalf("got %v; want %v", got, want)
	}
	rows, err := collect(q)
	if err != nil || len(rows) != 5 {
		t.Fatalf("got %d rows, %v; want 5 rows", len(rows), err)
	}
}

func TestDetectRulePruning(t *testing.T) {
	p, cat := mustPlanner(t)
	cat.rulesets["windows"] = mustRuleset(t, "windows", testRules)
	f := func(where, wantExplain string, want ...string) {
		t.Helper()
		sql := `SELECT pid, rule_id FROM detect('windows') WHERE ` + where
		q, err := p.Prepare(context.Background(), sql)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(q.Explain(), wantExplain) {
			t.Fatalf("%s: explain:\n%s\nwant it to contain %q", sql, q.Explain(), wantExplain)
		}
		got, err := collect(q)
		if err != nil {
			t.Fatal(err)
		}
		if !equalRows(got, want) {
			t.Fatalf("%s: got %v; want %v", sql, got, want)
		}
		// The same rows without pruning: hide the predicate from the pruner with an OR.
		unpruned := runQuery(t, p, `SELECT pid, rule_id FROM detect('windows') WHERE (`+where+`) OR 1 = 0`)
		if !equalRows(unpruned, want) {
			t.Fatalf("%s without pruning: got %v; want %v", sql, unpruned, want)
		}
	}
	f(`rule_level = 'high'`, `rules=1/3 pruned-by=[rule_level = 'high']`, "100|r-cmd")
	f(`rule_level IN ('low', 'high')`, `rules=2/3 pruned-by=[rule_level IN ('low', 'high')]`, "100|r-cmd", "200|r-logon")
	f(`rule_id = 'r-4688' AND pid < 200`, `rules=1/3 pruned-by=[rule_id = 'r-4688']`, "100|r-4688")
	f(`rule_level = 'High'`, `rules=0/3`) // case-sensitive, like the filter
	f(`rule_level = 'high' AND rule_id = 'r-logon'`, `rules=0/3`)
	f(`NOT rule_level = 'high'`, `rules=3/3`, "100|r-4688", "200|r-logon", "NULL|r-4688", "400|r-4688")

}
