package planner

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestPrepareErrors(t *testing.T) {
	p, cat := mustPlanner(t)
	cat.rulesets["windows"] = mustRuleset(t, "windows", testRules)
	f := func(sql string, sentinel error, want string) {
		t.Helper()
		_, err := p.Prepare(context.Background(), sql)
		if err == nil {
			t.Fatalf("Prepare(%q): got nil error; want %q", sql, want)
		}
		if !errors.Is(err, sentinel) {
			t.Fatalf("Prepare(%q): got %v; want an error wrapping %v", sql, err, sentinel)
		}
		if err.Error() != want {
			t.Fatalf("Prepare(%q):\ngot  %s\nwant %s", sql, err, want)
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("Prepare(%q): got %T; want *Error", sql, err)
		}
	}
	// Unknown names, with suggestions.
	f(`SELECT imge FROM events`, ErrUnknownColumn, `unknown column "imge" (line 1, column 8); did you mean "Image"?`)
	f(`SELECT Image FROM event`, ErrUnknownTable, `unknown table "event" (line 1, column 19); did you mean "events"?`)
	f(`SELECT Image FROM nothing_like_it`, ErrUnknownTable, `unknown table "nothing_like_it" (line 1, column 19)`)
	f("SELECT Image\nFROM events\nWHERE  EvntID = 1", ErrUnknownColumn, `unknown column "EvntID" (line 3, column 8); did you mean "EventID"?`)
	f(`SELECT "image" FROM events`, ErrUnknownColumn, `unknown column "image" (line 1, column 8); did you mean "Image"?`)
	f(`SELECT x.Image FROM events`, ErrUnknownTable, `unknown table "x" in column reference "x.Image" (line 1, column 8); the FROM clause names "events"`)
	f(`SELECT * FROM other.events`, ErrUnknownTable, `unknown table "events" (line 1, column 21); did you mean "events"?`)
	f(`SELECT * FROM other.public.events`, ErrUnknownTable, `unknown catalog "other" (line 1, column 15); did you mean "sigmaflight"?`)
	// detect() errors point at the user's text.
	f(`SELECT * FROM detect('windos')`, ErrUnknownRuleset, `unknown ruleset 'windos' (line 1, column 22); did you mean 'windows'?`)
	f(`SELECT * FROM detect('windows', 'evnts')`, ErrUnknownTable, `unknown table "evnts" (line 1, column 33); did you mean "events"?`)
	f(`SELECT * FROM detect(windows)`, ErrSyntax, `detect() argument 1 must be a string literal in single quotes, got identifier "windows" (line 1, column 22); write detect('ruleset') or detect('ruleset', 'table')`)
	f(`SELECT * FROM detect('windows)`, ErrSyntax, `unterminated string literal (line 1, column 22)`)
	f(`SELECT * FROM detect()`, ErrSyntax, `detect() needs a ruleset: detect('ruleset') or detect('ruleset', 'table') (line 1, column 15)`)
	f(`SELECT * FROM detect('a', 'b', 'c')`, ErrSyntax, `detect() takes 1 or 2 arguments, got 3 (line 1, column 32); write detect('ruleset') or detect('ruleset', 'table')`)
	// Positions after a rewrite that kept lengths: the error after detect() lines up.
	f(`SELECT * FROM detect('windows') WHERE rule_levle = 'high'`, ErrUnknownColumn, `unknown column "rule_levle" (line 1, column 39); did you mean "rule_level"?`)
	f(`SELECT * FROM detect('windows') d WHERE d.Image = 1`, ErrType, `cannot compare string column "Image" (utf8) with integer 1 (line 1, column 41); quote the number to compare text: '4688'`)
	f(`SELECT * FROM detect('windows') WHERE WHERE`, ErrSyntax, `syntax error at or near "WHERE" (line 1, column 39)`)
	// Type errors: no silent coercion.
	f(`SELECT * FROM events WHERE Image = 4688`, ErrType, `cannot compare string column "Image" (utf8) with integer 4688 (line 1, column 28); quote the number to compare text: '4688'`)
	f(`SELECT * FROM events WHERE 4688 = Image`, ErrType, `cannot compare string column "Image" (utf8) with integer 4688 (line 1, column 35); quote the number to compare text: '4688'`)
	f(`SELECT * FROM events WHERE EventID = '4688'`, ErrType, `cannot compare number column "EventID" (int64) with string '4688' (line 1, column 28); compare with a number literal without quotes`)
	f(`SELECT * FROM events WHERE Image = pid`, ErrType, `cannot compare string column "Image" (utf8) with number column "pid" (int32) (line 1, column 28)`)
	f(`SELECT * FROM events WHERE pid LIKE 'x'`, ErrType, `LIKE needs a string column, but "pid" is int32 (line 1, column 28)`)
	f(`SELECT * FROM events WHERE Image`, ErrType, `column "Image" is utf8, not boolean: it cannot be a condition (line 1, column 28); compare it, as in "Image" = ...`)
	f(`SELECT * FROM events WHERE ts > 'yesterday'`, ErrType, `cannot read 'yesterday' as a timestamp for column "ts" (line 1, column 33); write it like '2024-05-01T12:00:00Z' or '2024-05-01 12:00:00'`)
	// Unsupported constructs name themselves and their position.
	f(`SELECT * FROM events WHERE pid > 1 OR pid IN (SELECT pid FROM events)`, ErrUnsupported, `IN (subquery) under OR, NOT or in an expression is not supported yet (line 1, column 39)`)
	f(`SELECT pid IN (SELECT pid FROM events) FROM events`, ErrUnsupported, `IN (subquery) in the select list is not supported yet (line 1, column 8)`)
	f(`SELECT * FROM events WHERE pid IN (SELECT pid, Image FROM events)`, ErrInvalid, `the subquery of IN must return one column, not 2 (line 1, column 35)`)
	f(`SELECT 1; SELECT 2`, ErrUnsupported, `multiple statements are not supported; send one statement per query (line 1, column 9)`)
	f(`INSERT INTO events (pid) VALUES (1)`, ErrUnsupported, `INSERT statements are not supported yet (line 1, column 1)`)
	f(`WITH RECURSIVE x AS (SELECT 1) SELECT * FROM x`, ErrUnsupported, `WITH RECURSIVE is not supported yet (line 1, column 6)`)
	f(`WITH a AS (SELECT 1), A AS (SELECT 2) SELECT * FROM a`, ErrInvalid, `common table expression "A" is defined twice in one WITH clause (line 1, column 23)`)
	// A decimal literal of 154 digits made TiDB's parser panic (found by FuzzPrepare).
	f(`SELECT 1 + `+strings.Repeat("0", 154)+`.`, ErrUnsupported, `numeric literals of more than 65 digits are not supported (line 1, column 12)`)
	f(`SELECT `+strings.Repeat("9", 66), ErrUnsupported, `numeric literals of more than 65 digits are not supported (line 1, column 8)`)
	f(`SELECT pid FROM events INTERSECT SELECT pid FROM events`, ErrUnsupported, `INTERSECT and EXCEPT are not supported yet (line 1, column 24)`)
	f(`SELECT * FROM events WHERE detect('x')`, ErrUnsupported, `detect() is a table function (line 1, column 28); use it in FROM: SELECT * FROM detect('ruleset')`)
	f(`SELECT CAST(pid AS INTERVAL) FROM events`, ErrUnsupported, `CAST to INTERVAL is not supported yet (line 1, column 8)`)
	f(`SELECT nosuch(pid) FROM events`, ErrUnsupported, `function nosuch() is not supported yet (line 1, column 8)`)
	// Invalid queries.
	f(`SELECT Image, count(*) FROM events`, ErrInvalid, `column "Image" must appear in GROUP BY or be used in an aggregate function (line 1, column 8)`)
	f(`SELECT Image, count(*) FROM events GROUP BY pid`, ErrInvalid, `column "Image" must appear in GROUP BY or be used in an aggregate function (line 1, column 8)`)
	f(`SELECT * FROM events WHERE count(*) > 1`, ErrInvalid, `aggregate functions are not allowed in WHERE (line 1, column 28); use HAVING`)
	f(`SELECT sum(Image) FROM events`, ErrType, `sum() needs a number, but "Image" is utf8 (line 1, column 12)`)
	f(`SELECT Image + 1 FROM events`, ErrType, `operator + needs numbers, but got "Image" (utf8) and 1 (int64) (line 1, column 8); CAST text to a number first; for timestamps use INTERVAL arithmetic or date_trunc`)
	f(`SELECT pid FROM events ORDER BY 3`, ErrInvalid, `ORDER BY position 3 is not in the select list (1 to 1) (line 1, column 33)`)
	f(`SELECT DISTINCT pid FROM events ORDER BY Image`, ErrInvalid, `for SELECT DISTINCT, ORDER BY expressions must appear in the select list (line 1, column 42)`)
	f(`SELECT pid FROM events UNION ALL SELECT pid, Image FROM events`, ErrInvalid, `UNION members have different numbers of columns (1 and 2) (line 1, column 24)`)
	f(`SELECT * FROM events e JOIN events f ON e.pid = f.pid WHERE pid = 1`, ErrUnknownColumn, `column name "pid" is ambiguous: it matches "e.pid" and "f.pid" (line 1, column 61); qualify or quote the name to match it exactly`)
	f(`SELECT x.pid FROM events e`, ErrUnknownTable, `unknown table "x" in column reference "x.pid" (line 1, column 8); the FROM clause names "e"`)
	f(`SELECT * FROM events WHERE sigma('title: x')`, ErrInvalid, `sigma(): rule line 1, column 1: rule has no 'detection' (line 1, column 34)`)
	// Syntax errors.
	f(`SELECT * FROM events WHERE`, ErrSyntax, `syntax error at end of input (line 1, column 27)`)
	f(`SELECT * FROM events WHERE Image = 'x`, ErrSyntax, `unterminated string literal (line 1, column 36)`)
	f(`SELECT * FRM events`, ErrSyntax, `syntax error at or near "FRM" (line 1, column 10)`)
	f(``, ErrSyntax, `empty query`)
	f(`-- nothing`, ErrSyntax, `empty query`)
	f(`SELECT * FROM events WHERE Image LIKE 'abc\'`, ErrSyntax, `unterminated string literal (line 1, column 39)`)
	f(`SELECT * FROM events WHERE Image LIKE 'ab!' ESCAPE '!'`, ErrInvalid, `LIKE pattern 'ab!' must not end with the escape character '!' (line 1, column 39)`)
}

func TestNameResolution(t *testing.T) {
	p, cat := mustPlanner(t)
	cat.addTable("Mixed", mustBatch(t,
		col{"Name", utf8Type, []any{"a"}},
		col{"name", utf8Type, []any{"b"}},
		col{"Only", utf8Type, []any{"c"}},
	))
	f := func(sql string, want ...string) {
		t.Helper()
		got := runQuery(t, p, sql)
		if !equalRows(got, want) {
			t.Fatalf("%s: got %v; want %v", sql, got, want)
		}
	}
	f(`SELECT Name, name, only, ONLY, "Only" FROM mixed`, "a|b|c|c|c")
	f(`SELECT "name" FROM "Mixed"`, "b")
	f(`SELECT m.Only FROM sigmaflight.public.Mixed AS m`, "c")
	f(`SELECT mixed.only FROM public.mixed`, "c")
	f(`SELECT count(*) AS n FROM EVENTS`, "5")
	_, err := p.Prepare(context.Background(), `SELECT NAME FROM mixed`)
	if !errors.Is(err, ErrUnknownColumn) || err.Error() != `column name "NAME" is ambiguous: it matches "Name" and "name" (line 1, column 8); quote the name to match it exactly` {
		t.Fatalf("got %v; want an ambiguity error", err)
	}
	_, err = p.Prepare(context.Background(), `SELECT "ONLY" FROM mixed`)
	if !errors.Is(err, ErrUnknownColumn) {
		t.Fatalf("got %v; want ErrUnknownColumn for a quoted name in the wrong case", err)
	}
}

func TestOutputNames(t *testing.T) {
	p, _ := mustPlanner(t)
	f := func(sql string, want ...string) {
		t.Helper()
		q, err := p.Prepare(context.Background(), sql)
		if err != nil {
			t.Fatalf("Prepare(%q): %v", sql, err)
		}
		var got []string
		for _, fl := range q.Schema().Fields() {
			got = append(got, fl.Name)
		}
		if !equalRows(got, want) {
			t.Fatalf("%s: got %v; want %v", sql, got, want)
		}
	}
	f(`SELECT count(*) FROM events`, "count(*)")
	f(`SELECT COUNT( * ), count(pid) AS n FROM events`, "COUNT( * )", "n")
	f(`SELECT image AS i, eventid, pid = 100 FROM events`, "i", "EventID", "pid = 100")
	f(`SELECT 'x' AS lit FROM events`, "lit")
}

func equalRows(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
