package planner

import (
	"testing"
)

// TestPredicates checks each predicate kind against hand-computed rows of eventsBatch
// (rows are identified by pid; NULL pid is row 2). Three-valued logic: a filter keeps
// TRUE rows only, NOT of NULL is NULL.
func TestPredicates(t *testing.T) {
	p, _ := mustPlanner(t)
	f := func(where string, want ...string) {
		t.Helper()
		got := runQuery(t, p, `SELECT pid FROM events WHERE `+where)
		if !equalRows(got, want) {
			t.Fatalf("WHERE %s: got %v; want %v", where, got, want)
		}
	}
	// Comparisons with literals, both sides, across int/float widths.
	f(`EventID = 4688`, "100", "NULL", "400")
	f(`4688 = EventID`, "100", "NULL", "400")
	f(`EventID <> 4688`, "200", "300")
	f(`EventID != 4688`, "200", "300")
	f(`pid < 200`, "100")
	f(`pid <= 200`, "100", "200")
	f(`200 < pid`, "300", "400")
	f(`pid >= 300.5`, "400")
	f(`pid > -1e9`, "100", "200", "300", "400")
	f(`score > 1`, "100", "NULL")
	f(`score = 0`, "400")
	f(`score < 1.5`, "300", "400")
	f(`score >= -2`, "100", "NULL", "300", "400")
	// Column against column.
	f(`score < pid`, "100", "300", "400")
	f(`Image = Image`, "100", "200", "300", "400")
	// Strings: case-sensitive.
	f(`Image = '/usr/bin/bash'`, "300")
	f(`Image = '/USR/BIN/BASH'`)
	f(`Image > 'C:\\Windows'`, "100", "200")
	f(`Image <> '/usr/bin/bash'`, "100", "200", "400")
	// Booleans.
	f(`admin`, "100", "300")
	f(`NOT admin`, "200", "400")
	f(`admin = TRUE`, "100", "300")
	f(`admin = false`, "200", "400")
	f(`TRUE`, "100", "200", "NULL", "300", "400")
	f(`FALSE`)
	f(`NULL`)
	// Timestamps against string literals.
	f(`ts >= '2024-05-02'`, "300", "400")
	f(`ts < '2024-05-01T10:30:00Z'`, "100")
	f(`ts = '2024-05-01 11:00:00'`, "200")
	// NULL semantics.
	f(`pid IS NULL`, "NULL")
	f(`pid IS NOT NULL`, "100", "200", "300", "400")
	f(`score IS NULL`, "200")
	f(`Image IS NULL OR score IS NULL`, "200", "NULL")
	f(`pid = NULL`)
	f(`NOT (pid = NULL)`)
	f(`NULL IS NULL`, "100", "200", "NULL", "300", "400")
	f(`NOT (score > 1)`, "300", "400")                  // row 1 (NULL score) is NULL, not TRUE
	f(`NOT (admin AND score > 0)`, "200", "300", "400") // row 2: NULL AND TRUE is NULL
	f(`admin OR score > 3`, "100", "NULL", "300")       // row 2: NULL OR TRUE is TRUE
	f(`NOT (admin OR score > 3)`, "400")                // row 1: FALSE OR NULL is NULL
	f(`(pid > 100 AND pid < 400) OR EventID = 1`, "200", "300")
	f(`1 = 1 AND pid = 100`, "100")
	f(`1 = 2 OR pid = 100`, "100")
	// IN lists.
	f(`pid IN (100, 300, 5)`, "100", "300")
	f(`pid NOT IN (100, 300)`, "200", "400")
	f(`pid IN (100, NULL)`, "100")
	f(`pid NOT IN (100, NULL)`) // never TRUE
	f(`Image IN ('/usr/bin/bash', 'x')`, "300")
	f(`score IN (1.5, 0)`, "100", "400")
	f(`EventID IN (4624.0)`, "200")
	// BETWEEN.
	f(`pid BETWEEN 200 AND 300`, "200", "300")
	f(`pid NOT BETWEEN 200 AND 300`, "100", "400")
	// LIKE: specialised kernels and the generic one, with NULLs and ESCAPE.
	f(`Image LIKE 'C:%'`, "100", "200", "400")
	f(`Image LIKE '%.exe'`, "100", "200", "400")
	f(`Image LIKE '%cmd%'`, "100", "400")
	f(`Image LIKE '/usr/bin/bash'`, "300")
	f(`Image LIKE '%'`, "100", "200", "300", "400")
	f(`Image NOT LIKE '%cmd%'`, "200", "300")
	f(`Image LIKE '%\\___\\_cmd%'`)
	f(`Image LIKE '%evil!_cmd%' ESCAPE '!'`, "400")
	f(`Image LIKE '%evil_cmd%'`, "400")
	f(`Image LIKE '/usr/b_n/%'`, "300")
	f(`Image LIKE 'c:%'`) // case-sensitive
	f(`Image LIKE NULL`)
}

func TestUnionSel(t *testing.T) {
	f := func(a, b, want []int32) {
		t.Helper()
		got := unionSel(nil, a, b)
		if len(got) != len(want) {
			t.Fatalf("got %v; want %v", got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("got %v; want %v", got, want)
			}
		}
	}
	f(nil, nil, nil)
	f([]int32{1, 3}, nil, []int32{1, 3})
	f([]int32{1, 3, 5}, []int32{2, 3, 6}, []int32{1, 2, 3, 5, 6})
}
