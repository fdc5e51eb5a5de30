package sigmaql

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The conformance suite has at least one case per row of SIGMA.md §2.1-2.3. Expected
// values are written by hand from the specification and pySigma's documented behaviour
// (base64 strings computed with Python's base64 module); each detection case runs through
// the reference evaluator and the Program (evalBoth fails when they disagree).

// confRule wraps a detection body (indented by two spaces) into a rule with logsource ls.
func confRule(ls, body string) string {
	return "title: conformance\nid: conf-1\nlogsource: " + ls + "\ndetection:\n" + body
}

// mustBuild loads src with the default pipeline and fails on any error diagnostic.
func mustBuild(t *testing.T, src string, opts LoadOptions) *Ruleset {
	t.Helper()
	rs, diags := BuildRuleset("conf", []SourceFile{{Path: "conf.yml", Data: []byte(src)}}, opts)
	if errs := errorsOnly(diags); len(errs) > 0 {
		t.Fatalf("load:\n%s\n%v", src, errs)
	}
	return rs
}

func TestConformanceDetection(t *testing.T) {
	type ev = map[string]any
	// f checks one rule (detection body, test logsource) against one event.
	f := func(row, body string, e ev, want bool) {
		t.Helper()
		rs := mustBuild(t, confRule("{product: test}", body), LoadOptions{})
		if len(rs.Rules) != 1 {
			t.Fatalf("%s: got %d rules; want 1", row, len(rs.Rules))
		}
		if got := evalBoth(t, rs, oneRow(e)); got != want {
			t.Errorf("%s: %q on %v: got %v; want %v", row, body, e, got, want)
		}
	}
	// Search identifier forms.
	f("map = AND", "  sel: {A: x, B: y}\n  condition: sel\n", ev{"A": "x", "B": "y"}, true)
	f("map = AND", "  sel: {A: x, B: y}\n  condition: sel\n", ev{"A": "x", "B": "z"}, false)
	f("list of maps = OR", "  sel:\n    - {A: x}\n    - {B: y}\n  condition: sel\n", ev{"A": "q", "B": "y"}, true)
	f("list of maps = OR", "  sel:\n    - {A: x}\n    - {B: y}\n  condition: sel\n", ev{"A": "q", "B": "q"}, false)
	f("keywords = OR over the event", "  kw: [mimikatz, rubeus]\n  condition: kw\n", ev{"A": "run RUBEUS.exe", "N": 5}, true)
	f("keywords scope: strings only", "  kw: ['5']\n  condition: kw\n", ev{"N": 5}, false)
	f("'|all' keyword map = AND", "  kw:\n    '|all': [foo, bar]\n  condition: kw\n", ev{"A": "foo", "B": "xbarx"}, true)
	f("'|all' keyword map = AND", "  kw:\n    '|all': [foo, bar]\n  condition: kw\n", ev{"A": "foo"}, false)
	f("value list = OR", "  sel: {A: [x, y]}\n  condition: sel\n", ev{"A": "y"}, true)
	// Strings.
	f("plain string: case-insensitive whole value", "  sel: {A: 'CMD.exe'}\n  condition: sel\n", ev{"A": "cmd.EXE"}, true)
	f("plain string: whole value", "  sel: {A: 'cmd.exe'}\n  condition: sel\n", ev{"A": "xcmd.exe"}, false)
	f("plain string: Unicode folding", "  sel: {A: 'ΣΊΣΥΦΟΣ'}\n  condition: sel\n", ev{"A": "σίσυφος"}, true)
	f("* any sequence", "  sel: {A: 'a*c'}\n  condition: sel\n", ev{"A": "abbbc"}, true)
	f("* may be empty", "  sel: {A: 'a*c'}\n  condition: sel\n", ev{"A": "ac"}, true)
	f("? exactly one code point", "  sel: {A: 'a?c'}\n  condition: sel\n", ev{"A": "aéc"}, true)
	f("? exactly one code point", "  sel: {A: 'a?c'}\n  condition: sel\n", ev{"A": "ac"}, false)
	f("\\* literal star", `  sel: {A: 'a\*c'}`+"\n  condition: sel\n", ev{"A": "abc"}, false)
	f("\\* literal star", `  sel: {A: 'a\*c'}`+"\n  condition: sel\n", ev{"A": "a*c"}, true)
	f("\\\\ one backslash", `  sel: {A: 'a\\b'}`+"\n  condition: sel\n", ev{"A": `a\b`}, true)
	f("\\ before other char literal", `  sel: {A: 'C:\Windows'}`+"\n  condition: sel\n", ev{"A": `c:\windows`}, true)
	f("\\\\* = backslash + wildcard", `  sel: {A: 'a\\*'}`+"\n  condition: sel\n", ev{"A": `a\anything`}, true)
	// Types.
	f("number equals int column", "  sel: {EventID: 4688}\n  condition: sel\n", ev{"EventID": 4688}, true)
	f("number equals numeric string", "  sel: {EventID: 4688}\n  condition: sel\n", ev{"EventID": "4688"}, true)
	f("numeric string equals int column", "  sel: {EventID: '4688'}\n  condition: sel\n", ev{"EventID": 4688}, true)
	f("number vs other number", "  sel: {EventID: 4688}\n  condition: sel\n", ev{"EventID": 4689}, false)
	f("boolean equals bool column", "  sel: {B: true}\n  condition: sel\n", ev{"B": true}, true)
	f("boolean equals 'true' string", "  sel: {B: true}\n  condition: sel\n", ev{"B": "true"}, true)
	f("'' is the empty string", "  sel: {A: ''}\n  condition: sel\n", ev{"A": ""}, true)
	f("'' is not null", "  sel: {A: ''}\n  condition: sel\n", ev{"A": nil}, false)
	f("null = null", "  sel: {A: null}\n  condition: sel\n", ev{"A": nil}, true)
	f("null = absent", "  sel: {A: null}\n  condition: sel\n", ev{"B": "x"}, true)
	f("null is not empty", "  sel: {A: null}\n  condition: sel\n", ev{"A": ""}, false)
	f("exists: true on empty value", "  sel: {A|exists: true}\n  condition: sel\n", ev{"A": ""}, true)
	f("exists: false on absent field", "  sel: {A|exists: false}\n  condition: sel\n", ev{"B": "x"}, true)
	// Position modifiers.
	f("contains", "  sel: {A|contains: 'ell'}\n  condition: sel\n", ev{"A": "HELLO"}, true)
	f("contains keeps an existing *", "  sel: {A|contains: '*ell'}\n  condition: sel\n", ev{"A": "hello"}, true)
	f("startswith", "  sel: {A|startswith: 'he'}\n  condition: sel\n", ev{"A": "hello"}, true)
	f("endswith", `  sel: {A|endswith: '\cmd.exe'}`+"\n  condition: sel\n", ev{"A": `C:\Windows\cmd.exe`}, true)
	f("endswith", `  sel: {A|endswith: '\cmd.exe'}`+"\n  condition: sel\n", ev{"A": `C:\Windows\xcmd.exe`}, false)
	f("all = AND of values", "  sel: {A|contains|all: [a, b]}\n  condition: sel\n", ev{"A": "xaxbx"}, true)
	f("all = AND of values", "  sel: {A|contains|all: [a, b]}\n  condition: sel\n", ev{"A": "xaxx"}, false)
	// Expanding and encoding modifiers.
	f("windash: / for -", "  sel: {A|contains|windash: ' -enc '}\n  condition: sel\n", ev{"A": "ps /enc x"}, true)
	f("windash: en dash", "  sel: {A|contains|windash: ' -enc '}\n  condition: sel\n", ev{"A": "ps \u2013enc x"}, true)
	f("windash: only flag dashes", "  sel: {A|windash: 'a-b'}\n  condition: sel\n", ev{"A": "a/b"}, false)
	f("base64", "  sel: {A|base64|contains: 'hello world'}\n  condition: sel\n", ev{"A": "x aGVsbG8gd29ybGQ= y"}, true)
	for _, blob := range []string{
		"SUVYIChOZXctT2JqZWN0IE5ldC5XZWJDbGllbnQp",     // offset 0
		"YUlFWCAoTmV3LU9iamVjdCBOZXQuV2ViQ2xpZW50KQ==", // offset 1
		"YWJJRVggKE5ldy1PYmplY3QgTmV0LldlYkNsaWVudCk=", // offset 2
	} {
		f("base64offset at each offset", "  sel: {A|base64offset|contains: 'New-Object'}\n  condition: sel\n", ev{"A": "powershell -enc " + blob}, true)
	}
	f("base64offset: other text", "  sel: {A|base64offset|contains: 'New-Object'}\n  condition: sel\n", ev{"A": "aGVsbG8gd29ybGQ="}, false)
	for _, blob := range []string{
		"SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
		"YQBJAEUAWAAgACgATgBlAHcALQBPAGIAagBlAGMAdAAgAE4AZQB0AC4AVwBlAGIAQwBsAGkAZQBuAHQAKQA=",
		"YQBiAEkARQBYACAAKABOAGUAdwAtAE8AYgBqAGUAYwB0ACAATgBlAHQALgBXAGUAYgBDAGwAaQBlAG4AdAApAA==",
	} {
		f("wide|base64offset (PowerShell -EncodedCommand)", "  sel: {A|wide|base64offset|contains: 'New-Object'}\n  condition: sel\n", ev{"A": "-enc " + blob}, true)
		f("utf16le = wide", "  sel: {A|utf16le|base64offset|contains: 'New-Object'}\n  condition: sel\n", ev{"A": "-enc " + blob}, true)
	}
	f("utf16be", "  sel: {A|utf16be|base64offset|contains: 'New-Object'}\n  condition: sel\n", ev{"A": "AHoAegAgAE4AZQB3AC0ATwBiAGoAZQBjAHQAIAB4"}, true)
	f("utf16le without base64 on raw bytes", "  sel: {A|wide|contains: 'ab'}\n  condition: sel\n", ev{"A": "x a\x00b\x00 y"}, true)
	for _, blob := range []string{"//5OAGUAdwAtAE8AYgBqAGUAYwB0ACAA", "Yf/+TgBlAHcALQBPAGIAagBlAGMAdAAgAA==", "YWL//k4AZQB3AC0ATwBiAGoAZQBjAHQAIAA="} {
		f("utf16 = BOM + LE", "  sel: {A|utf16|base64offset|contains: 'New-Object'}\n  condition: sel\n", ev{"A": blob}, true)
	}
	f("utf16 BOM is part of the value", "  sel: {A|utf16|base64offset|contains: 'New-Object'}\n  condition: sel\n", ev{"A": "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA"}, false)
	// Regular expressions.
	f("re: unanchored search", "  sel: {A|re: 'b.d'}\n  condition: sel\n", ev{"A": "abcde"}, true)
	f("re: case-sensitive", "  sel: {A|re: 'B.D'}\n  condition: sel\n", ev{"A": "abcde"}, false)
	f("re|i", "  sel: {A|re|i: 'B.D'}\n  condition: sel\n", ev{"A": "abcde"}, true)
	f("re|m", "  sel: {A|re|m: '^b$'}\n  condition: sel\n", ev{"A": "a\nb\nc"}, true)
	f("re|s", "  sel: {A|re|s: 'a.b'}\n  condition: sel\n", ev{"A": "a\nb"}, true)
	f("re without s: . stops at newline", "  sel: {A|re: 'a.b'}\n  condition: sel\n", ev{"A": "a\nb"}, false)
	f("re on a number's text", "  sel: {N|re: '^46'}\n  condition: sel\n", ev{"N": 4688}, true)
	f("cased", "  sel: {A|cased: 'Abc'}\n  condition: sel\n", ev{"A": "abc"}, false)
	f("cased", "  sel: {A|cased: 'Abc'}\n  condition: sel\n", ev{"A": "Abc"}, true)
	f("cidr v4", "  sel: {IP|cidr: 10.0.0.0/8}\n  condition: sel\n", ev{"IP": "10.1.2.3"}, true)
	f("cidr v4", "  sel: {IP|cidr: 10.0.0.0/8}\n  condition: sel\n", ev{"IP": "11.1.2.3"}, false)
	f("cidr v6", "  sel: {IP|cidr: 'fe80::/10'}\n  condition: sel\n", ev{"IP": "fe80::1"}, true)
	f("lt", "  sel: {N|lt: 5}\n  condition: sel\n", ev{"N": 4}, true)
	f("lte", "  sel: {N|lte: 5}\n  condition: sel\n", ev{"N": 5}, true)
	f("gt on a numeric string", "  sel: {N|gt: 5}\n  condition: sel\n", ev{"N": "6"}, true)
	f("gte", "  sel: {N|gte: 5}\n  condition: sel\n", ev{"N": 4}, false)
	// v2.1 modifiers.
	f("neq", "  sel: {A|neq: x}\n  condition: sel\n", ev{"A": "y"}, true)
	f("neq", "  sel: {A|neq: x}\n  condition: sel\n", ev{"A": "X"}, false)
	f("neq list = none of", "  sel: {A|neq: [x, y]}\n  condition: sel\n", ev{"A": "y"}, false)
	f("neq list = none of", "  sel: {A|neq: [x, y]}\n  condition: sel\n", ev{"A": "z"}, true)
	f("neq negates the item: absent field matches", "  sel: {A|neq: x}\n  condition: sel\n", ev{"B": "x"}, true)
	f("neq with contains", "  sel: {A|contains|neq: x}\n  condition: sel\n", ev{"A": "axb"}, false)
	const ts = "2026-03-04T05:06:07Z"
	f("minute", "  sel: {T|minute: 6}\n  condition: sel\n", ev{"T": ts}, true)
	f("hour", "  sel: {T|hour: 5}\n  condition: sel\n", ev{"T": ts}, true)
	f("day", "  sel: {T|day: 4}\n  condition: sel\n", ev{"T": ts}, true)
	f("week (ISO)", "  sel: {T|week: 10}\n  condition: sel\n", ev{"T": ts}, true)
	f("month", "  sel: {T|month: 3}\n  condition: sel\n", ev{"T": ts}, true)
	f("year", "  sel: {T|year: 2026}\n  condition: sel\n", ev{"T": ts}, true)
	f("year mismatch", "  sel: {T|year: 2025}\n  condition: sel\n", ev{"T": ts}, false)
	f("hour of a Sysmon UtcTime", "  sel: {T|hour: [22, 23]}\n  condition: sel\n", ev{"T": "2025-11-27 23:40:10.132"}, true)
	f("time part of a non-timestamp", "  sel: {T|hour: 5}\n  condition: sel\n", ev{"T": "yesterday"}, false)
	f("fieldref equality", "  sel: {A|fieldref: B}\n  condition: sel\n", ev{"A": "Same", "B": "same"}, true)
	f("fieldref equality", "  sel: {A|fieldref: B}\n  condition: sel\n", ev{"A": "one", "B": "two"}, false)
	f("fieldref absent", "  sel: {A|fieldref: B}\n  condition: sel\n", ev{"A": "one"}, false)
	f("fieldref|contains", "  sel: {A|fieldref|contains: B}\n  condition: sel\n", ev{"A": "xxoneyy", "B": "ONE"}, true)
	f("fieldref|startswith", "  sel: {A|fieldref|startswith: B}\n  condition: sel\n", ev{"A": "onexx", "B": "one"}, true)
	f("fieldref|endswith", "  sel: {A|fieldref|endswith: B}\n  condition: sel\n", ev{"A": "onexx", "B": "one"}, false)
	f("fieldref numbers by text", "  sel: {A|fieldref: B}\n  condition: sel\n", ev{"A": 7, "B": "7"}, true)
	f("fieldref|neq", "  sel: {A|fieldref|neq: B}\n  condition: sel\n", ev{"A": "one", "B": "two"}, true)
	// Field names.
	f("field names: spaces stripped from columns", "  sel: {SourceName: x}\n  condition: sel\n", ev{"Source Name": "x"}, true)
	f("field names: dotted names", "  sel: {properties.message: x}\n  condition: sel\n", ev{"properties.message": "x"}, true)
	f("field names are case-sensitive", "  sel: {image: x}\n  condition: sel\n", ev{"Image": "x"}, false)
	// Conditions.
	two := "  a: {A: x}\n  b: {B: y}\n  c: {C: z}\n"
	f("precedence: and before or", two+"  condition: a or b and c\n", ev{"A": "x"}, true)
	f("precedence: not before and", two+"  condition: not a and b\n", ev{"A": "x", "B": "y"}, false)
	f("parentheses", two+"  condition: (a or b) and c\n", ev{"A": "x"}, false)
	f("1 of", two+"  condition: 1 of *\n", ev{"C": "z"}, true)
	f("any of (pySigma alias)", two+"  condition: any of *\n", ev{"C": "z"}, true)
	f("all of with * in the middle", "  sel_1_x: {A: x}\n  sel_2_x: {B: y}\n  condition: all of sel_*_x\n", ev{"A": "x", "B": "y"}, true)
	f("_ identifiers excluded from patterns", "  sel: {A: x}\n  _sel: {B: nope}\n  condition: all of *sel\n", ev{"A": "x"}, true)
	f("_ pattern selects _ identifiers", "  sel: {A: x}\n  _sel: {B: y}\n  condition: 1 of _*\n", ev{"B": "y"}, true)
	f("1 of them", two+"  condition: 1 of them\n", ev{"B": "y"}, true)
	f("all of them", two+"  condition: all of them\n", ev{"A": "x", "B": "y"}, false)
	f("condition list = OR", two+"  condition: [a, c]\n", ev{"C": "z"}, true)
	// YAML features.
	f("YAML anchors and aliases", "  a: &m {A: x}\n  b: *m\n  condition: a and b\n", ev{"A": "x"}, true)
	f("YAML merge keys", "  base: &m {A: x}\n  sel:\n    <<: *m\n    B: y\n  condition: sel\n", ev{"A": "x", "B": "z"}, false)
}

// TestConformanceDiagnostics covers the rows whose conformance is a precise rejection or
// warning.
func TestConformanceDiagnostics(t *testing.T) {
	f := func(row, src string, warning bool, want string) {
		t.Helper()
		_, diags := ParseRules("d.yml", []byte(src))
		for _, d := range diags {
			if d.Warning == warning && strings.Contains(d.Message, want) && d.Line > 0 {
				return
			}
		}
		t.Errorf("%s: got %v; want a diagnostic (warning %v) containing %q", row, diags, warning, want)
	}
	head := "title: t\nlogsource: {product: test}\ndetection:\n"
	f("timeframe is legacy", head+"  sel: {A: x}\n  timeframe: 5m\n  condition: sel\n", false, "correlation rule")
	f("| count() is legacy", head+"  sel: {A: x}\n  condition: sel | count() by B > 3\n", false, "correlation rule")
	f("near is legacy", head+"  sel: {A: x}\n  b: {B: y}\n  condition: sel near b\n", false, "correlation rule")
	f("v1 collection", "action: global\ntitle: t\n---\ndetection:\n  sel: {A: x}\n  condition: sel\n", false, "Sigma v1 rule collection")
	f("unknown modifier", head+"  sel: {A|foo: x}\n  condition: sel\n", false, "unknown modifier 'foo'")
	f("null inside a list warns", head+"  sel: {A: [null, x]}\n  condition: sel\n", true, "null inside a value list")
	f("all of them warns", head+"  a: {A: x}\n  condition: all of them\n", true, "'all of them' is discouraged")
	f("unused search warns", head+"  a: {A: x}\n  b: {B: x}\n  condition: a\n", true, "search 'b' is never used")
	f("expand without a value", head+"  sel: {A|expand: '%admins%'}\n  condition: sel\n", false, "placeholder without a value: '%admins%'")
	f("base64 with wildcards", head+"  sel: {A|base64|contains: 'a*'}\n  condition: sel\n", false, "cannot encode the wildcards")
	f("re with contains", head+"  sel: {A|re|contains: 'a'}\n  condition: sel\n", false, "cannot be combined")
	f("cidr host bits", head+"  sel: {A|cidr: 'x/8'}\n  condition: sel\n", false, "invalid network")
}

// TestBase64OffsetVariants pins the pySigma slicing (values from Python:
// b64encode(b" "*i + v)[(0,2,3)[i] : (None,-3,-2)[(len(v)+i)%3]]).
func TestBase64OffsetVariants(t *testing.T) {
	f := func(v string, want ...string) {
		t.Helper()
		if got := base64OffsetVariants([]byte(v)); !slices.Equal(got, want) {
			t.Errorf("base64offset(%q): got %v; want %v", v, got, want)
		}
	}
	f("New-Object", "TmV3LU9iamVjd", "5ldy1PYmplY3", "OZXctT2JqZWN0")
	f("ab", "YW", "Fi", "hY")
	f("abc", "YWJj", "FiY", "hYm")
}

func TestConformanceExpand(t *testing.T) {
	src := confRule("{product: test}", "  sel: {User|expand: '%Admins%'}\n  other: {Host|expand: 'srv-%Servers%.corp'}\n  condition: sel and other\n")
	opts := LoadOptions{Placeholders: map[string][]string{"Admins": {"root", "adm*"}, "Servers": {"a", "b"}}}
	rs := mustBuild(t, src, opts)
	f := func(e map[string]any, want bool) {
		t.Helper()
		if got := evalBoth(t, rs, oneRow(e)); got != want {
			t.Errorf("expand on %v: got %v; want %v", e, got, want)
		}
	}
	f(map[string]any{"User": "root", "Host": "srv-b.corp"}, true)
	f(map[string]any{"User": "administrator", "Host": "SRV-A.corp"}, true) // wildcards in values stay wildcards
	f(map[string]any{"User": "guest", "Host": "srv-a.corp"}, false)
	f(map[string]any{"User": "root", "Host": "srv-c.corp"}, false)
	// A pipeline's value_placeholders vars and wildcard_placeholders.
	p, err := ParsePipeline("p.yml", []byte("name: p\nvars:\n  Admins: [root]\ntransformations:\n  - type: value_placeholders\n    include: [Admins]\n  - type: wildcard_placeholders\n"))
	if err != nil {
		t.Fatal(err)
	}
	rs = mustBuild(t, src, LoadOptions{Pipeline: p})
	f(map[string]any{"User": "root", "Host": "srv-anything.corp"}, true)
	f(map[string]any{"User": "adm", "Host": "srv-a.corp"}, false)
	// An escaped \% is a literal percent sign.
	rs = mustBuild(t, confRule("{product: test}", `  sel: {A|expand: '100\%'}`+"\n  condition: sel\n"), LoadOptions{})
	f(map[string]any{"A": "100%"}, true)
}

// TestConformanceLogsource covers the logsource row: the default pipeline maps a windows
// category to its Sysmon event and a service to its channel; unmapped logsources select
// every event.
func TestConformanceLogsource(t *testing.T) {
	f := func(ls string, e map[string]any, want bool) {
		t.Helper()
		rs := mustBuild(t, confRule(ls, "  sel: {A: x}\n  condition: sel\n"), LoadOptions{})
		if got := evalBoth(t, rs, oneRow(e)); got != want {
			t.Errorf("logsource %s on %v: got %v; want %v", ls, e, got, want)
		}
	}
	sysmon := "Microsoft-Windows-Sysmon/Operational"
	f("{product: windows, category: process_creation}", map[string]any{"A": "x", "Channel": sysmon, "EventID": 1}, true)
	f("{product: windows, category: process_creation}", map[string]any{"A": "x", "Channel": sysmon, "EventID": 3}, false)
	f("{product: windows, category: process_creation}", map[string]any{"A": "x", "Channel": "Security", "EventID": 1}, false)
	f("{product: windows, category: registry_event}", map[string]any{"A": "x", "Channel": sysmon, "EventID": 14}, true)
	f("{product: windows, service: security}", map[string]any{"A": "x", "Channel": "Security"}, true)
	f("{product: windows, service: security}", map[string]any{"A": "x", "Channel": "System"}, false)
	f("{product: windows, service: applocker}", map[string]any{"A": "x", "Channel": "Microsoft-Windows-AppLocker/EXE and DLL"}, true)
	f("{product: linux, category: process_creation}", map[string]any{"A": "x"}, true)
	if got, want := LogsourceCondition(Logsource{Product: "windows", Category: "process_creation"}),
		"Channel = 'Microsoft-Windows-Sysmon/Operational' AND EventID = 1"; got != want {
		t.Errorf("LogsourceCondition: got %q; want %q", got, want)
	}
	// Without a pipeline a logsource means nothing.
	rs := mustBuild(t, confRule("{product: windows, category: process_creation}", "  sel: {A: x}\n  condition: sel\n"), LoadOptions{NoPipeline: true})
	if !evalBoth(t, rs, oneRow(map[string]any{"A": "x"})) {
		t.Errorf("NoPipeline: got no match; want the rule to see every event")
	}
}

// TestConformanceFilter covers §2.3: a filter applies to the rules it names (or all of
// its logsource), ANDs its condition, and leaves other rules alone.
func TestConformanceFilter(t *testing.T) {
	src := `title: base
id: r-1
name: base_rule
logsource: {product: test, category: proc}
detection:
  sel: {Image|endswith: '\cmd.exe'}
  condition: sel
---
title: other
id: r-2
logsource: {product: test, category: proc}
detection:
  sel: {Image|endswith: '\cmd.exe'}
  condition: 1 of them
---
title: elsewhere
id: r-3
logsource: {product: test, category: net}
detection:
  sel: {Image|endswith: '\cmd.exe'}
  condition: sel
---
title: admins are fine
id: f-1
logsource: {product: test, category: proc}
filter:
  rules: [base_rule]
  admin: {User: admin}
  condition: not admin
---
title: backups are fine
id: f-2
logsource: {product: test, category: proc}
filter:
  rules: any
  backup: {ParentImage|endswith: '\backup.exe'}
  condition: not 1 of backup*
`
	rs := mustBuild(t, src, LoadOptions{})
	if len(rs.Rules) != 3 {
		t.Fatalf("got %d rules; want 3 (filters are not rules)", len(rs.Rules))
	}
	f := func(e map[string]any, want ...string) {
		t.Helper()
		ms, err := ReferenceEval(rs, oneRow(e))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, rs.Rules[m.Rule].ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("on %v: got %v; want %v", e, got, want)
		}
	}
	f(map[string]any{"Image": `C:\cmd.exe`, "User": "bob"}, "r-1", "r-2", "r-3")
	f(map[string]any{"Image": `C:\cmd.exe`, "User": "admin"}, "r-2", "r-3")                        // f-1 names r-1 only
	f(map[string]any{"Image": `C:\cmd.exe`, "User": "bob", "ParentImage": `D:\backup.exe`}, "r-3") // f-2: every proc rule
	if !slices.Equal(rs.Rules[0].Filters, []string{"f-1", "f-2"}) || !slices.Equal(rs.Rules[2].Filters, nil) {
		t.Errorf("got filters %v and %v; want [f-1 f-2] and none", rs.Rules[0].Filters, rs.Rules[2].Filters)
	}
}

// TestConformanceCorrelation covers §2.2: every type, group-by, aliases, sliding
// timespan, range conditions, chaining and generate.
func TestConformanceCorrelation(t *testing.T) {
	base := `title: failed logon
id: d-1
name: failed_logon
logsource: {product: test}
detection:
  sel: {Event: fail}
  condition: sel
---
title: success logon
id: d-2
name: success_logon
logsource: {product: test}
detection:
  sel: {Event: ok}
  condition: sel
---
`
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type event struct {
		sec int
		ev  map[string]any
	}
	// run feeds events through ReferenceEval and a Correlator; it returns the hits as
	// "title@second group-value=aggregate".
	run := func(corr string, events []event) []string {
		t.Helper()
		rs := mustBuild(t, base+corr, LoadOptions{})
		c := NewCorrelator(rs)
		var out []string
		for _, e := range events {
			ms, err := ReferenceEval(rs, oneRow(e.ev))
			if err != nil {
				t.Fatal(err)
			}
			var matched []int
			for _, m := range ms {
				matched = append(matched, int(m.Rule))
			}
			for _, h := range c.Observe(t0.Add(time.Duration(e.sec)*time.Second), e.ev, matched) {
				var g []string
				for _, k := range rs.Correlations[h.Correlation].GroupBy {
					g = append(g, h.Group[k])
				}
				out = append(out, rs.Correlations[h.Correlation].Title+"@"+strconv.Itoa(int(h.Time.Sub(t0)/time.Second))+" "+strings.Join(g, ",")+"="+strconv.FormatFloat(h.Value, 'f', -1, 64))
			}
		}
		return out
	}
	fail := func(sec int, user string) event {
		return event{sec, map[string]any{"Event": "fail", "User": user}}
	}
	ok := func(sec int, user string) event { return event{sec, map[string]any{"Event": "ok", "User": user}} }
	check := func(name string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %q; want %q", name, got, want)
		}
	}

	eventCount := "title: brute\nid: c-1\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [User]\n  timespan: 60s\n  condition: {gte: 3}\n"
	check("event_count with group-by", run(eventCount, []event{fail(0, "a"), fail(10, "b"), fail(20, "a"), fail(30, "a"), fail(40, "b")}),
		"brute@30 a=3")
	check("event_count: sliding window drops old events", run(eventCount, []event{fail(0, "a"), fail(50, "a"), fail(70, "a"), fail(100, "a")}),
		"brute@100 a=3")
	check("event_count: fires once per burst", run(eventCount, []event{fail(0, "a"), fail(1, "a"), fail(2, "a"), fail(3, "a")}),
		"brute@2 a=3")
	rangeCond := "title: some\nid: c-2\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  timespan: 1m\n  condition: {gt: 1, lte: 2}\n"
	check("range condition", run(rangeCond, []event{fail(0, "a"), fail(1, "b")}), "some@1 =2")

	valueCount := "title: spray\nid: c-3\ncorrelation:\n  type: value_count\n  rules: [failed_logon]\n  timespan: 1h\n  condition: {field: User, gte: 3}\n"
	check("value_count counts distinct values", run(valueCount, []event{fail(0, "a"), fail(1, "a"), fail(2, "b"), fail(3, "c")}), "spray@3 =3")

	temporal := "title: fail then ok\nid: c-4\ncorrelation:\n  type: temporal\n  rules: [failed_logon, success_logon]\n  group-by: [User]\n  timespan: 5m\n"
	check("temporal: any order", run(temporal, []event{ok(0, "a"), fail(10, "b"), fail(20, "a")}), "fail then ok@20 a=2")
	check("temporal: outside the timespan", run(temporal, []event{ok(0, "a"), fail(400, "a")}))
	ordered := strings.Replace(strings.Replace(temporal, "temporal\n", "temporal_ordered\n", 1), "c-4", "c-5", 1)
	check("temporal_ordered: wrong order", run(ordered, []event{ok(0, "a"), fail(10, "a")}))
	check("temporal_ordered: right order", run(ordered, []event{ok(0, "a"), fail(10, "a"), ok(20, "a")}), "fail then ok@20 a=2")

	bytes := func(sec int, host string, n any) event {
		return event{sec, map[string]any{"Event": "fail", "Host": host, "Bytes": n}}
	}
	sum := "title: exfil\nid: c-6\ncorrelation:\n  type: value_sum\n  rules: [failed_logon]\n  group-by: [Host]\n  timespan: 1h\n  condition: {field: Bytes, gt: 100}\n"
	check("value_sum", run(sum, []event{bytes(0, "h", 60), bytes(1, "h", "30"), bytes(2, "h", 20)}), "exfil@2 h=110")
	avg := strings.Replace(sum, "value_sum", "value_avg", 1)
	check("value_avg", run(avg, []event{bytes(0, "h", 50), bytes(1, "h", 250)}), "exfil@1 h=150")
	pct := "title: p\nid: c-7\ncorrelation:\n  type: value_percentile\n  rules: [failed_logon]\n  timespan: 1h\n  condition: {field: Bytes, percentile: 90, gte: 100}\n"
	check("value_percentile (nearest rank)", run(pct, []event{bytes(0, "h", 1), bytes(1, "h", 2), bytes(2, "h", 100)}), "p@2 =100")
	median := "title: m\nid: c-8\ncorrelation:\n  type: value_median\n  rules: [failed_logon]\n  timespan: 1h\n  condition: {field: Bytes, gte: 10}\n"
	check("value_median", run(median, []event{bytes(0, "h", 1), bytes(1, "h", 10), bytes(2, "h", 20)}), "m@2 =10")

	aliases := `title: same ip
id: c-9
correlation:
  type: temporal
  rules: [failed_logon, success_logon]
  group-by: [ip]
  aliases:
    ip:
      failed_logon: SrcIP
      success_logon: ClientIP
  timespan: 1m
`
	check("aliases map group-by per rule", run(aliases, []event{
		{0, map[string]any{"Event": "fail", "SrcIP": "1.2.3.4"}},
		{5, map[string]any{"Event": "ok", "ClientIP": "9.9.9.9"}},
		{6, map[string]any{"Event": "ok", "ClientIP": "1.2.3.4"}},
	}), "same ip@6 1.2.3.4=2")

	chain := eventCount + "---\ntitle: brute then ok\nid: c-10\ncorrelation:\n  type: temporal_ordered\n  rules: [c-1, success_logon]\n  group-by: [User]\n  timespan: 5m\n"
	check("chaining: a correlation of a correlation", run(chain, []event{fail(0, "a"), fail(1, "a"), fail(2, "a"), ok(3, "a")}),
		"brute@2 a=3", "brute then ok@3 a=2")

	// generate: referenced rules are correlation-only unless generate is true.
	rs := mustBuild(t, base+eventCount, LoadOptions{})
	if !rs.Rules[0].CorrelationOnly || rs.Rules[1].CorrelationOnly {
		t.Errorf("generate false: got CorrelationOnly %v, %v; want true, false", rs.Rules[0].CorrelationOnly, rs.Rules[1].CorrelationOnly)
	}
	rs = mustBuild(t, base+strings.Replace(eventCount, "  condition:", "  generate: true\n  condition:", 1), LoadOptions{})
	if rs.Rules[0].CorrelationOnly {
		t.Errorf("generate true: got CorrelationOnly; want the rule to alert on its own")
	}
	if c := rs.Correlations[0]; c.Type != CorrEventCount || c.Timespan != time.Minute || !c.Generate || !slices.Equal(c.GroupBy, []string{"User"}) {
		t.Errorf("parsed correlation: got %+v", c)
	}
}

// TestConformanceTimePartArrowTimestamp checks the time-part modifiers on a real Arrow
// timestamp column (the storage `ts` column is Timestamp(us, UTC)).
func TestConformanceTimePartArrowTimestamp(t *testing.T) {
	mem := memory.DefaultAllocator
	typ := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	b := array.NewTimestampBuilder(mem, typ)
	b.Append(arrow.Timestamp(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC).UnixMicro()))
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "ts", Type: typ, Nullable: true}}, nil), []arrow.Array{b.NewArray()}, 1)
	f := func(sel string, want bool) {
		t.Helper()
		rs := mustBuild(t, confRule("{product: test}", "  sel: {"+sel+"}\n  condition: sel\n"), LoadOptions{})
		if got := evalBoth(t, rs, rec); got != want {
			t.Errorf("%s on a timestamp column: got %v; want %v", sel, got, want)
		}
	}
	f("ts|hour: 5", true)
	f("ts|minute: 6", true)
	f("ts|week: 10", true)
	f("ts|year: 2026", true)
	f("ts|day: 5", false)
}
