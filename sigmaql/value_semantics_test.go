package sigmaql

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// oneRow builds a one-row batch: string -> Utf8, int -> Int64, float64 -> Float64,
// bool -> Boolean, nil -> a null Utf8 value.
func oneRow(ev map[string]any) arrow.RecordBatch {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mem := memory.DefaultAllocator
	var fields []arrow.Field
	var cols []arrow.Array
	for _, k := range keys {
		var b array.Builder
		switch v := ev[k].(type) {
		case string:
			sb := array.NewStringBuilder(mem)
			sb.Append(v)
			b = sb
		case int:
			ib := array.NewInt64Builder(mem)
			ib.Append(int64(v))
			b = ib
		case float64:
			fb := array.NewFloat64Builder(mem)
			fb.Append(v)
			b = fb
		case bool:
			bb := array.NewBooleanBuilder(mem)
			bb.Append(v)
			b = bb
		case nil:
			sb := array.NewStringBuilder(mem)
			sb.AppendNull()
			b = sb
		default:
			panic("oneRow: unsupported type")
		}
		a := b.NewArray()
		fields = append(fields, arrow.Field{Name: k, Type: a.DataType(), Nullable: true})
		cols = append(cols, a)
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, 1)
}

// mustParseOne parses a rule whose detection has one search "sel" with the given YAML
// value and the condition "sel".
func mustParseOne(t *testing.T, sel string) *Ruleset {
	t.Helper()
	src := "title: t\nlogsource: {product: test}\ndetection:\n  sel: " + sel + "\n  condition: sel\n"
	rules, diags := ParseRules("t.yml", []byte(src))
	if diags = errorsOnly(diags); len(diags) > 0 || len(rules) != 1 {
		t.Fatalf("parse %s: got %d rules, diagnostics %v; want 1 rule", sel, len(rules), diags)
	}
	return &Ruleset{Name: "t", Rules: rules}
}

// evalBoth returns whether the single rule of rs matches the single row of rec in the
// reference evaluator and in the Program, failing when they disagree.
func evalBoth(t *testing.T, rs *Ruleset, rec arrow.RecordBatch) bool {
	t.Helper()
	ref, err := ReferenceEval(rs, rec)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	p, err := rs.Compile(rec.Schema())
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	got, err := p.Eval(context.Background(), rec)
	if err != nil {
		t.Fatalf("eval: %v", err)
	}
	if !slices.Equal(got, ref) {
		t.Fatalf("program got %v; reference %v", got, ref)
	}
	return len(ref) > 0
}

func TestValueSemantics(t *testing.T) {
	f := func(sel string, ev map[string]any, want bool) {
		t.Helper()
		rs := mustParseOne(t, sel)
		if got := evalBoth(t, rs, oneRow(ev)); got != want {
			t.Errorf("%s on %v: got %v; want %v", sel, ev, got, want)
		}
	}
	type ev = map[string]any

	// Plain strings: case-insensitive whole-value equality.
	f(`{A: abc}`, ev{"A": "ABC"}, true)
	f(`{A: abc}`, ev{"A": "abcd"}, false)
	f(`{A: abc}`, ev{"A": "xabc"}, false)

	// Wildcards: '*' any run, '?' exactly one code point.
	f(`{A: 'ab*'}`, ev{"A": "ABC"}, true)
	f(`{A: 'a*c'}`, ev{"A": "a-long-c"}, true)
	f(`{A: 'a*c'}`, ev{"A": "a-long-d"}, false)
	f(`{A: 'a?c'}`, ev{"A": "abc"}, true)
	f(`{A: 'a?c'}`, ev{"A": "aüc"}, true)
	f(`{A: 'a?c'}`, ev{"A": "a😀c"}, true)
	f(`{A: 'a?c'}`, ev{"A": "abbc"}, false)
	f(`{A: 'a?c'}`, ev{"A": "ac"}, false)
	f(`{A: '*'}`, ev{"A": ""}, true)
	f(`{A: '*'}`, ev{"A": nil}, false)

	// Escapes: \* \? \\ are literals; a backslash before anything else is literal.
	f(`{A: 'a\*b'}`, ev{"A": "a*b"}, true)
	f(`{A: 'a\*b'}`, ev{"A": "axb"}, false)
	f(`{A: 'a\?b'}`, ev{"A": "a?b"}, true)
	f(`{A: 'a\?b'}`, ev{"A": "axb"}, false)
	f(`{A: 'a\\*'}`, ev{"A": `a\anything`}, true)
	f(`{A: 'a\\*'}`, ev{"A": `a*`}, false)
	f(`{A: 'a\\\*'}`, ev{"A": `a\*`}, true)
	f(`{A: 'a\\\*'}`, ev{"A": `a\x`}, false)
	f(`{A: 'C:\Windows\*'}`, ev{"A": `c:\windows*`}, true) // '\*' is a literal star
	f(`{A: 'C:\Windows\*'}`, ev{"A": `c:\windows\system32`}, false)
	f(`{A: 'C:\Windows\\*'}`, ev{"A": `c:\windows\system32`}, true)
	f(`{A: '\\server\share'}`, ev{"A": `\server\share`}, true)
	f(`{A: '\\\\server'}`, ev{"A": `\\server`}, true)
	f(`{A: 'abc\'}`, ev{"A": `abc\`}, true)

	// Unicode case folding.
	f(`{A: 'ÄÖÜ'}`, ev{"A": "äöü"}, true)
	f(`{A: 'ΣΊΣΥΦΟΣ'}`, ev{"A": "σίσυφος"}, true)
	f(`{A: 'k'}`, ev{"A": "\u212a"}, true) // KELVIN SIGN
	f(`{A|contains: 'straße'}`, ev{"A": "STRAẞE 5"}, true)
	f(`{A|cased: 'Abc'}`, ev{"A": "abc"}, false)
	f(`{A|cased: 'Abc'}`, ev{"A": "Abc"}, true)
	f(`{A|contains|cased: 'Bc'}`, ev{"A": "aBcd"}, true)

	// Numbers, both ways.
	f(`{EventID: 4688}`, ev{"EventID": 4688}, true)
	f(`{EventID: 4688}`, ev{"EventID": "4688"}, true)
	f(`{EventID: '4688'}`, ev{"EventID": 4688}, true)
	f(`{EventID: 4688}`, ev{"EventID": "04688"}, false)
	f(`{EventID: 4688}`, ev{"EventID": 4689}, false)
	f(`{EventID: [1, 4688]}`, ev{"EventID": 4688}, true)
	f(`{N: 1}`, ev{"N": 1.0}, true)
	f(`{N: 1.5}`, ev{"N": 1.5}, true)
	f(`{N: 1.5}`, ev{"N": 1}, false)
	f(`{N: '4*'}`, ev{"N": 42}, true)
	f(`{N|startswith: 4}`, ev{"N": 42}, true)
	f(`{N: 1}`, ev{"N": true}, false)

	// Booleans.
	f(`{B: true}`, ev{"B": true}, true)
	f(`{B: true}`, ev{"B": false}, false)
	f(`{B: true}`, ev{"B": "True"}, true)
	f(`{B: 'true'}`, ev{"B": true}, true)
	f(`{B: false}`, ev{"B": 0}, false)

	// null means null or absent; '' means the empty string.
	f(`{A: null}`, ev{"Other": "x"}, true)
	f(`{A: null}`, ev{"A": nil}, true)
	f(`{A: null}`, ev{"A": ""}, false)
	f(`{A: null}`, ev{"A": "x"}, false)
	f(`{A: ''}`, ev{"A": ""}, true)
	f(`{A: ''}`, ev{"A": nil}, false)
	f(`{A: ''}`, ev{"Other": "x"}, false)
	f(`{A: [null, x]}`, ev{"A": "x"}, true)

	// Modifiers.
	f(`{A|contains: bc}`, ev{"A": "ABCD"}, true)
	f(`{A|contains: '*bc'}`, ev{"A": "ABCD"}, true)
	f(`{A|startswith: ab}`, ev{"A": "ABCD"}, true)
	f(`{A|startswith: bc}`, ev{"A": "ABCD"}, false)
	f(`{A|endswith: '\cmd.exe'}`, ev{"A": `C:\Windows\CMD.EXE`}, true)
	f(`{A|endswith: '\cmd.exe'}`, ev{"A": `C:\Windows\xcmd.exe`}, false)
	f(`{A|contains: [x, y]}`, ev{"A": "aya"}, true)
	f(`{A|contains|all: [a, b]}`, ev{"A": "xbxa"}, true)
	f(`{A|contains|all: [a, b]}`, ev{"A": "xxa"}, false)
	f(`{A|re: 'ab+c'}`, ev{"A": "xxabbbcxx"}, true)
	f(`{A|re: 'ab+c'}`, ev{"A": "ABC"}, false)
	f(`{A|re|i: 'ab+c'}`, ev{"A": "ABC"}, true)
	f(`{A|re: '^ab$'}`, ev{"A": "x\nab"}, false)
	f(`{A|re|m: '^ab$'}`, ev{"A": "x\nab"}, true)
	f(`{A|re: 'a.b'}`, ev{"A": "a\nb"}, false)
	f(`{A|re|s: 'a.b'}`, ev{"A": "a\nb"}, true)
	f(`{N|re: '^46\d\d$'}`, ev{"N": 4688}, true)
	f(`{A|exists: true}`, ev{"A": ""}, true)
	f(`{A|exists: true}`, ev{"A": nil}, false)
	f(`{A|exists: true}`, ev{"Other": "x"}, false)
	f(`{A|exists: false}`, ev{"Other": "x"}, true)
	f(`{A|exists: false}`, ev{"A": "x"}, false)
	f(`{N|gt: 5}`, ev{"N": 6}, true)
	f(`{N|gt: 5}`, ev{"N": 5}, false)
	f(`{N|gte: 5}`, ev{"N": 5}, true)
	f(`{N|lt: 5}`, ev{"N": 4.5}, true)
	f(`{N|lte: 5}`, ev{"N": "5"}, true)
	f(`{N|gt: 5}`, ev{"N": "seven"}, false)
	f(`{N|gt: 5}`, ev{"N": true}, false)
	f(`{IP|cidr: 10.0.0.0/8}`, ev{"IP": "10.1.2.3"}, true)
	f(`{IP|cidr: 10.0.0.0/8}`, ev{"IP": "11.1.2.3"}, false)
	f(`{IP|cidr: [192.168.0.0/16, '2001:db8::/32']}`, ev{"IP": "2001:db8::1"}, true)
	f(`{IP|cidr: '2001:db8::/32'}`, ev{"IP": "2001:db9::1"}, false)
	f(`{IP|cidr: 10.0.0.0/8}`, ev{"IP": "not an ip"}, false)
	f(`{A|contains|windash: ' -enc '}`, ev{"A": "powershell /enc AAA"}, true)
	f(`{A|contains|windash: ' -enc '}`, ev{"A": "powershell \u2013enc AAA"}, true)
	f(`{A|contains|windash: ' -enc '}`, ev{"A": "powershell +enc AAA"}, false)
	f(`{A|windash: '-a'}`, ev{"A": "/a"}, true)

	// Keywords: case-insensitive substring of any string column, never of numbers.
	f(`[evil, bad]`, ev{"A": "x", "B": "an EVIL thing"}, true)
	f(`[evil, bad]`, ev{"A": "x", "B": "good"}, false)
	f(`['4688']`, ev{"EventID": 4688}, false)
	f(`'evil'`, ev{"A": "evil"}, true)
	f(`{'|all': [evil, bad]}`, ev{"A": "evil", "B": "bad"}, true)
	f(`{'|all': [evil, bad]}`, ev{"A": "evil"}, false)

	// Field names: spaces in column names are ignored.
	f(`{SourceName: x}`, ev{"Source Name": "x"}, true)
	f(`{Missing: x}`, ev{"A": "x"}, false)

	// Maps AND, lists of maps OR.
	f(`{A: x, B: y}`, ev{"A": "x", "B": "y"}, true)
	f(`{A: x, B: y}`, ev{"A": "x", "B": "z"}, false)
	f(`[{A: x}, {B: y}]`, ev{"A": "q", "B": "y"}, true)
	f(`[{A: x}, {B: y}]`, ev{"A": "q", "B": "q"}, false)
}

func TestConditionSemantics(t *testing.T) {
	rec := oneRow(map[string]any{"A": "a", "B": "b"})
	f := func(cond string, want bool) {
		t.Helper()
		src := "title: t\ndetection:\n  sel_a: {A: a}\n  sel_b: {B: x}\n  _hidden: {A: nope}\n  other: {B: b}\n  condition: " + cond + "\n"
		rules, diags := ParseRules("t.yml", []byte(src))
		if diags = errorsOnly(diags); len(diags) > 0 {
			t.Fatalf("%s: %v", cond, diags)
		}
		if got := evalBoth(t, &Ruleset{Rules: rules}, rec); got != want {
			t.Errorf("%s: got %v; want %v", cond, got, want)
		}
	}
	f("sel_a", true)
	f("sel_b", false)
	f("sel_a and sel_b", false)
	f("sel_a or sel_b", true)
	f("not sel_b", true)
	f("not sel_a or other", true)
	f("not (sel_a or other)", false)
	f("sel_b and sel_a or other", true)
	f("sel_b and (sel_a or other)", false)
	f("1 of sel_*", true)
	f("all of sel_*", false)
	f("any of sel*", true)
	f("all of them", false) // sel_b fails
	f("1 of them", true)    // _hidden excluded
	f("all of _*", false)   // _hidden only
	f("not 1 of _*", true)  // _hidden does not match
	f("all of *a", true)    // sel_a
	f("1 of them and not sel_b", true)
}
