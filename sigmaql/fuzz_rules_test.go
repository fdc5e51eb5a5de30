package sigmaql

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseRules checks that the YAML rule parser never panics on any input, that every
// diagnostic is located, and that every rule it loads evaluates without panicking.
func FuzzParseRules(f *testing.F) {
	seeds := []string{
		"title: t\ndetection:\n  sel: {A: x}\n  condition: sel\n",
		"title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    - {A|contains|all: [a, b]}\n    - B|re|i: 'x.*'\n  kw: [foo, bar]\n  condition: 1 of sel* or kw\n",
		"title: t\ndetection:\n  a: &x {A|expand: '%p%'}\n  b: *x\n  condition: a and not b\n",
		"title: c\ncorrelation:\n  type: event_count\n  rules: [r]\n  timespan: 5m\n  condition: {gte: 2}\n---\ntitle: r\nname: r\ndetection:\n  s: {A: 1}\n  condition: s\n",
		"title: f\nlogsource: {product: x}\nfilter:\n  rules: any\n  s: {A: 1}\n  condition: not s\n",
		"action: global\ntitle: x\n---\ndetection: {}\n",
		"title: t\ndetection:\n  sel: {A|wide|base64offset|contains: abc, T|hour: 5, C|fieldref|neq: D}\n  condition: sel\n",
		"title: t\ndetection:\n  sel:\n    <<: {A: 1}\n  condition: sel | count() > 3\n",
		"- [", "{", "title: [", "\x00",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	row := oneRow(map[string]any{"A": "abc", "B": "x", "C": "7", "D": "7", "T": "2026-01-01T05:00:00Z", "EventID": 1})
	f.Fuzz(func(t *testing.T, src string) {
		rs, diags := BuildRuleset("fuzz", []SourceFile{{Path: "f.yml", Data: []byte(src)}}, LoadOptions{})
		for _, d := range diags {
			if d.File != "f.yml" || d.Message == "" {
				t.Fatalf("diagnostic without file or reason: %+v", d)
			}
		}
		if _, err := ReferenceEval(rs, row); err != nil {
			t.Fatalf("reference eval: %v", err)
		}
		if len(rs.Correlations) > 0 {
			NewCorrelator(rs).Observe(time.Time{}, map[string]any{"A": "abc"}, []int{0})
		}
	})
}

// fuzzChainMods are the modifiers FuzzModifierChain strings together.
var fuzzChainMods = []string{
	"contains", "startswith", "endswith", "all", "re", "i", "m", "s", "cased", "exists", "lt",
	"gte", "cidr", "windash", "base64", "base64offset", "wide", "utf16le", "utf16be", "utf16",
	"fieldref", "expand", "neq", "minute", "hour", "day", "week", "month", "year", "bogus", "",
}

// FuzzModifierChain checks the value/modifier compiler: any chain of up to four
// modifiers on any value either loads or is rejected with a located reason, and a rule
// that loads gives the same answer in the Program and the reference evaluator.
func FuzzModifierChain(f *testing.F) {
	f.Add(uint32(0x0102), "abc", "xxabcxx")
	f.Add(uint32(0x10f), "%p%", "v")
	f.Add(uint32(0x0f10), "New-Object", "TmV3LU9iamVjdA==")
	f.Add(uint32(0x16), "B", "same")
	f.Add(uint32(0x18), "5", "2026-01-01T05:00:00Z")
	f.Add(uint32(0x0d01), " -enc ", " /enc ")
	f.Fuzz(func(t *testing.T, chain uint32, value, event string) {
		if !utf8.ValidString(value) || !utf8.ValidString(event) {
			return
		}
		var mods []string
		for i := 0; i < 4; i++ {
			b := int(chain>>(8*i)) & 0xff
			if b == 0 {
				break
			}
			mods = append(mods, fuzzChainMods[b%len(fuzzChainMods)])
		}
		key := "A"
		if len(mods) > 0 {
			key += "|" + strings.Join(mods, "|")
		}
		src := "title: fuzz\ndetection:\n  sel:\n    '" + key + "': '" + strings.ReplaceAll(value, "'", "''") + "'\n  condition: sel\n"
		rs, diags := BuildRuleset("fuzz", []SourceFile{{Path: "f.yml", Data: []byte(src)}},
			LoadOptions{Placeholders: map[string][]string{"p": {"v", "w*"}}})
		for _, d := range diags {
			if !d.Warning && (d.Line <= 0 || d.Column <= 0) {
				t.Fatalf("%s: diagnostic without a location: %+v", key, d)
			}
		}
		if len(rs.Rules) != 1 {
			return
		}
		evalBoth(t, rs, oneRow(map[string]any{"A": event, "B": event}))
		evalBoth(t, rs, oneRow(map[string]any{"B": event}))
	})
}

// FuzzParsePipeline checks that the pipeline parser never panics and that a parsed
// pipeline applies to a rule without panicking.
func FuzzParsePipeline(f *testing.F) {
	f.Add(sysmonPipelineYAML)
	f.Add("name: p\nvars: {a: [1]}\ntransformations:\n  - type: field_name_mapping\n    mapping: {A: [B, C]}\n  - type: drop_detection_item\n    detection_item_conditions:\n      - type: match_string\n        pattern: x\n")
	f.Add("name: p\ntransformations:\n  - type: replace_string\n    regex: a\n    replacement: b\n  - type: value_placeholders\n  - type: wildcard_placeholders\n")
	const rule = "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {A: a, B|expand: '%a%'}\n  condition: sel\n"
	f.Fuzz(func(t *testing.T, src string) {
		p, err := ParsePipeline("p.yml", []byte(src))
		if err != nil {
			return
		}
		rs, _ := BuildRuleset("fuzz", []SourceFile{{Path: "r.yml", Data: []byte(rule)}}, LoadOptions{Pipeline: p})
		if _, err := ReferenceEval(rs, oneRow(map[string]any{"A": "a", "B": "1"})); err != nil {
			t.Fatalf("reference eval: %v", err)
		}
	})
}
