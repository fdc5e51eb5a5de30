package sigmaql

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseCondition(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		c, err := parseCondition(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := c.String(); got != want {
			t.Errorf("%q: got %s; want %s", in, got, want)
		}
	}
	f("sel", "sel")
	f("a or b and c", "(a or (b and c))")
	f("a and b or c", "((a and b) or c)")
	f("not a and b", "(not a and b)")
	f("not (a and b)", "not (a and b)")
	f("not not a", "a"[:0]+"not not a")
	f("a and not b and not c", "(a and not b and not c)")
	f("1 of sel* and not 1 of filter_*", "(1 of sel* and not 1 of filter_*)")
	f("any of sel_*", "1 of sel_*")
	f("all of them", "all of them")
	f("not all of filter* or x", "(not all of filter* or x)")
	f("((a))", "a")
	f("(a or b) and (c or d)", "((a or b) and (c or d))")
	f("sel-1 and sel.2", "(sel-1 and sel.2)")
	f("a\tand\nb", "(a and b)")
}

func TestParseConditionErrors(t *testing.T) {
	f := func(in string, at int, msg string) {
		t.Helper()
		_, err := parseCondition(in)
		var ce *condError
		if !errors.As(err, &ce) {
			t.Fatalf("%q: got %v; want a condError", in, err)
		}
		if ce.at != at || !strings.Contains(ce.msg, msg) {
			t.Errorf("%q: got %d %q; want %d %q", in, ce.at, ce.msg, at, msg)
		}
	}
	f("", 0, "empty condition")
	f("a and", 5, "unexpected end")
	f("a b", 2, "unexpected 'b'")
	f("(a", 0, "unclosed '('")
	f("a)", 1, "unexpected ')'")
	f("and a", 0, "unexpected 'and'")
	f("sel | count() > 5", 4, "legacy Sigma v1 aggregation")
	f("a near b", 2, "'near' is a legacy")
	f("2 of sel*", 0, "'2 of' is not supported")
	f("x of sel*", 0, "expected '1', 'any' or 'all'")
	f("1 of", 4, "expected a pattern")
	f("1 of and", 5, "expected a pattern")
	f("all sel", 0, "'all' must be followed by 'of'")
	f("not", 3, "unexpected end")
	f(strings.Repeat("(", 300)+"a"+strings.Repeat(")", 300), 256, "nested too deeply")
}

func TestOfTargets(t *testing.T) {
	names := []string{"sel", "_x", "sel_2", "filter", "_sel"}
	f := func(pattern string, want ...string) {
		t.Helper()
		if got := ofTargets(names, pattern); !slices.Equal(got, want) {
			t.Errorf("%s: got %v; want %v", pattern, got, want)
		}
	}
	f("them", "sel", "sel_2", "filter")
	f("*", "sel", "sel_2", "filter")
	f("sel*", "sel", "sel_2")
	f("*l*", "sel", "sel_2", "filter")
	f("_*", "_x", "_sel")
	f("*sel", "sel")
	f("s*_*", "sel_2")
	f("filter", "filter")
}

func TestRuleDiagnostics(t *testing.T) {
	f := func(src string, line, col int, msg string) {
		t.Helper()
		rules, diags := ParseRules("r.yml", []byte(src))
		diags = errorsOnly(diags)
		if len(rules) != 0 || len(diags) != 1 {
			t.Fatalf("got %d rules, diagnostics %v; want 1 diagnostic", len(rules), diags)
		}
		d := diags[0]
		if d.File != "r.yml" || d.Line != line || d.Column != col || !strings.Contains(d.Message, msg) {
			t.Errorf("got %s; want r.yml:%d:%d: %s", d, line, col, msg)
		}
	}
	const head = "title: t\nid: 1\nlogsource: {product: windows}\ndetection:\n"
	f(head+"  sel:\n    A|windash|foo: x\n  condition: sel\n", 6, 5, "unknown modifier 'foo'")
	f(head+"  sel:\n    A: x\n    B|base64offset: x\n  condition: sel\n", 7, 5, "'base64offset' must be followed by 'contains'")
	f(head+"  sel:\n    A|expand: '%x%'\n  condition: sel\n", 6, 15, "placeholder without a value: '%x%'")
	f(head+"  sel:\n    A|fieldref: 'B*'\n  condition: sel\n", 6, 17, "cannot contain wildcards")
	f(head+"  sel:\n    A|base64|contains: 'a*'\n  condition: sel\n", 6, 24, "cannot encode the wildcards")
	f(head+"  sel:\n    A|contains|base64: a\n  condition: sel\n", 6, 5, "'base64' must come before 'contains'")
	f(head+"  sel:\n    A|hour: x\n  condition: sel\n", 6, 13, "'hour' needs an integer")
	f(head+"  sel:\n    A|wide|contains: 'é'\n  condition: sel\n", 6, 22, "follow the utf16 modifier with base64")
	f(head+"  sel:\n    A|contains|startswith: B\n  condition: sel\n", 6, 5, "cannot be combined")
	f(head+"  sel:\n    A|i: B\n  condition: sel\n", 6, 5, "only valid after 're'")
	f(head+"  sel:\n    A|re: '(x'\n  condition: sel\n", 6, 11, "invalid regular expression")
	f(head+"  sel:\n    A|cidr: 10.0.0.300/8\n  condition: sel\n", 6, 13, "invalid network")
	f(head+"  sel:\n    A|gt: abc\n  condition: sel\n", 6, 11, "needs a number")
	f(head+"  sel:\n    A|exists: yes please\n  condition: sel\n", 6, 15, "needs true or false")
	f(head+"  sel:\n    A: x\n  condition: sel and nope\n", 7, 22, "unknown search identifier 'nope'")
	f(head+"  sel:\n    A: x\n  condition: 'sel and nope'\n", 7, 23, "unknown search identifier 'nope'")
	f(head+"  sel:\n    A: x\n  condition: 1 of filter*\n", 7, 14, "matches no search identifier")
	f(head+"  sel:\n    A: x\n  condition: sel | count() > 5\n", 7, 18, "correlation rule")
	f(head+"  sel:\n    A: x\n  timeframe: 5m\n  condition: sel\n", 7, 3, "timeframe")
	f(head+"  sel:\n    A: x\n", 5, 3, "no 'condition'")
	f(head+"  sel: []\n  condition: sel\n", 5, 8, "empty list")
	f(head+"  sel:\n    A: {B: c}\n  condition: sel\n", 6, 8, "not a mapping")
	f("title: t\nlogsource: {product: windows}\n", 1, 1, "no 'detection'")
	f("title: t\ncorrelation:\n  type: event_count\n", 2, 1, "correlation has no 'rules'")
	f("title: t\ncorrelation:\n  type: count\n", 3, 9, "unknown correlation type 'count'")
	f("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5x\n  condition: {gte: 2}\n", 5, 13, "invalid timespan")
	f("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 2}\n", 1, 1, "refers to 'a', which is not a loaded rule")
	f("title: t\nlogsource: {product: windows}\nfilter:\n  sel: {A: x}\n  condition: nope\n", 5, 14, "unknown search identifier 'nope'")
	f("title: t\nfilter:\n  sel: {A: x}\n  condition: not sel\n", 1, 1, "a filter needs a 'logsource'")
	f("title: t\naction: global\ndetection:\n  sel: {A: x}\n  condition: sel\n", 2, 1, "legacy Sigma v1")
	f(head+"  sel:\n    A: x\n  condition: sel near other\n", 7, 18, "correlation rule")
	f("title: [\n", 1, 1, "invalid YAML")
}

func TestParseRulesMultiDocument(t *testing.T) {
	src := `title: one
id: a
detection:
  sel: {A: x}
  condition: sel
---
title: broken
id: b
detection:
  sel: {A|foo: x}
  condition: sel
---
title: three
id: c
level: high
tags: [attack.t1059]
logsource: {product: windows, category: process_creation}
detection:
  sel: {A: x}
  condition: sel
`
	rules, diags := ParseRules("m.yml", []byte(src))
	if len(rules) != 2 || len(diags) != 1 {
		t.Fatalf("got %d rules, %d diagnostics; want 2, 1", len(rules), len(diags))
	}
	if d := diags[0]; d.Line != 10 || d.RuleID != "b" {
		t.Errorf("got %s; want line 10 for rule b", d)
	}
	r := rules[1]
	if r.ID != "c" || r.Line != 13 || r.Level != "high" || r.Logsource.Category != "process_creation" || !slices.Equal(r.Tags, []string{"attack.t1059"}) {
		t.Errorf("got %+v; want rule c at line 13 with its metadata", r)
	}
	if got, want := LogsourceCondition(r.Logsource), "Channel = 'Microsoft-Windows-Sysmon/Operational' AND EventID = 1"; got != want {
		t.Errorf("got %s; want %s", got, want)
	}
}
