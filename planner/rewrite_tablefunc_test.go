package planner

import (
	"strings"
	"testing"
)

func TestRewriteTableFuncs(t *testing.T) {
	f := func(sql, wantSQL string, wantCalls ...string) {
		t.Helper()
		res, err := rewriteTableFuncs(sql)
		if err != nil {
			t.Fatalf("rewrite(%q): %v", sql, err)
		}
		if len(res.sql) != len(sql) {
			t.Fatalf("rewrite(%q): length %d; want %d", sql, len(res.sql), len(sql))
		}
		if res.sql != wantSQL {
			t.Fatalf("rewrite(%q):\ngot  %q\nwant %q", sql, res.sql, wantSQL)
		}
		var calls []string
		for _, tf := range res.funcs {
			calls = append(calls, tf.placeholder+"="+tf.ruleset+"/"+tf.table)
			if got := sql[tf.pos:tf.end]; !strings.HasPrefix(strings.ToLower(got), "detect") || !strings.HasSuffix(got, ")") {
				t.Fatalf("call span %q does not cover the call", got)
			}
		}
		if strings.Join(calls, ",") != strings.Join(wantCalls, ",") {
			t.Fatalf("rewrite(%q): calls %v; want %v", sql, calls, wantCalls)
		}
	}
	f(`SELECT * FROM detect('w')`, `SELECT * FROM "~d0"      `, "~d0=w/")
	f(`SELECT * FROM DETECT ( 'w' , 'events' ) x`, `SELECT * FROM "~d0"                     x`, "~d0=w/events")
	f("SELECT * FROM detect(\n'it''s' -- c\n)", "SELECT * FROM \"~d0\"                 ", "~d0=it's/")
	// Not in table position, or hidden in strings, identifiers and comments.
	f(`SELECT detect('w') FROM t`, `SELECT detect('w') FROM t`)
	f(`SELECT 'FROM detect(''w'')' FROM t`, `SELECT 'FROM detect(''w'')' FROM t`)
	f(`SELECT "FROM detect('w')" FROM t`, `SELECT "FROM detect('w')" FROM t`)
	f("SELECT 1 FROM t -- FROM detect('w')", "SELECT 1 FROM t -- FROM detect('w')")
	f(`SELECT 1 FROM t /* FROM detect('w') */`, `SELECT 1 FROM t /* FROM detect('w') */`)
	f("SELECT * FROM `detect`", "SELECT * FROM `detect`")
	// A placeholder never collides with a name in the text.
	f(`SELECT "~d0" FROM detect('w')`, `SELECT "~d0" FROM "~d1"      `, "~d1=w/")
	// Three-part names lose their catalog.
	f(`SELECT * FROM sigmaflight.public.t`, `SELECT * FROM             public.t`)
	f(`SELECT * FROM "sigmaflight"."public"."t"`, `SELECT * FROM               "public"."t"`)
}

func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		`SELECT * FROM detect('w')`,
		`SELECT * FROM detect('w', 't') WHERE rule_level = 'high'`,
		`SELECT * FROM sigmaflight.public.t, detect('x')`,
		`SELECT 'it''s' FROM "a""b" -- detect(`,
		`SELECT * FROM detect('`,
		`/* unterminated`,
		"SELECT `x` FROM detect('a'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		res, err := rewriteTableFuncs(sql)
		if err != nil {
			pe, ok := err.(*Error)
			if !ok {
				t.Fatalf("rewrite(%q): error %T; want *Error", sql, err)
			}
			if pe.Pos > len(sql) {
				t.Fatalf("rewrite(%q): error position %d past the end", sql, pe.Pos)
			}
			return
		}
		if len(res.sql) != len(sql) {
			t.Fatalf("rewrite(%q): length %d; want %d", sql, len(res.sql), len(sql))
		}
	})
}
