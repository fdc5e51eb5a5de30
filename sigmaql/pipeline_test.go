package sigmaql

import (
	"os"
	"strings"
	"testing"
)

func mustPipeline(t *testing.T, src string) *Pipeline {
	t.Helper()
	p, err := ParsePipeline("p.yml", []byte(src))
	if err != nil {
		t.Fatalf("pipeline:\n%s\n%v", src, err)
	}
	return p
}

// TestPipelineTransformations applies each transformation type to a rule and checks the
// rule's matches on events.
func TestPipelineTransformations(t *testing.T) {
	const rule = `title: t
id: r
tags: [attack.t1059]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\cmd.exe'
    CommandLine|contains: 'whoami'
  condition: sel
`
	type ev = map[string]any
	f := func(name, pipeline string, e ev, want bool) {
		t.Helper()
		rs := mustBuild(t, rule, LoadOptions{Pipeline: mustPipeline(t, pipeline)})
		if len(rs.Rules) != 1 {
			t.Fatalf("%s: got %d rules; want 1", name, len(rs.Rules))
		}
		if got := evalBoth(t, rs, oneRow(e)); got != want {
			t.Errorf("%s on %v: got %v; want %v", name, e, got, want)
		}
	}
	hit := ev{"Image": `C:\cmd.exe`, "CommandLine": "whoami /all"}
	f("empty pipeline: logsource selects nothing", "name: empty\n", hit, true)
	mapping := "name: m\ntransformations:\n  - type: field_name_mapping\n    mapping:\n      Image: NewProcessName\n      CommandLine: [ProcessCommandLine, CmdLine]\n"
	f("field_name_mapping one to one", mapping, ev{"NewProcessName": `C:\cmd.exe`, "CmdLine": "whoami"}, true)
	f("field_name_mapping one to many = OR", mapping, ev{"NewProcessName": `C:\cmd.exe`, "ProcessCommandLine": "whoami"}, true)
	f("field_name_mapping: old name gone", mapping, hit, false)
	f("field_name_mapping renames fieldref targets", "name: m\ntransformations:\n  - type: field_name_mapping\n    mapping: {CommandLine: CmdLine}\n  - type: add_condition\n    conditions: {Parent|fieldref: CommandLine}\n  - type: field_name_mapping\n    mapping: {CommandLine: Cmd2}\n", ev{"Image": `C:\cmd.exe`, "CmdLine": "whoami", "Parent": "x", "Cmd2": "X"}, true)
	f("field_name_prefix_mapping", "name: m\ntransformations:\n  - type: field_name_prefix_mapping\n    mapping:\n      Im: process.im\n", ev{"process.image": `C:\cmd.exe`, "CommandLine": "whoami"}, true)
	security := `name: sec
transformations:
  - id: fourgh
    type: add_condition
    conditions:
      EventID: 4688
    rule_conditions:
      - type: logsource
        category: process_creation
  - type: change_logsource
    service: security
    rule_conditions:
      - type: processing_item_applied
        processing_item_id: fourgh
  - type: add_condition
    conditions:
      Channel: Security
    rule_conditions:
      - type: logsource
        service: security
`
	f("add_condition + change_logsource + processing_item_applied", security, ev{"Image": `C:\cmd.exe`, "CommandLine": "whoami", "EventID": 4688, "Channel": "Security"}, true)
	f("add_condition excludes other events", security, ev{"Image": `C:\cmd.exe`, "CommandLine": "whoami", "EventID": 1, "Channel": "Security"}, false)
	f("rule condition not met", "name: x\ntransformations:\n  - type: add_condition\n    conditions: {EventID: 9}\n    rule_conditions:\n      - type: logsource\n        product: linux\n", hit, true)
	f("rule_cond_not", "name: x\ntransformations:\n  - type: add_condition\n    conditions: {EventID: 9}\n    rule_cond_not: true\n    rule_conditions:\n      - type: logsource\n        product: linux\n", hit, false)
	f("tag rule condition", "name: x\ntransformations:\n  - type: add_condition\n    conditions: {EventID: 9}\n    rule_conditions:\n      - type: tag\n        tag: attack.t1059\n", hit, false)
	f("replace_string", "name: r\ntransformations:\n  - type: replace_string\n    regex: '^\\\\'\n    replacement: '/'\n    field_name_conditions:\n      - type: include_fields\n        fields: [Image]\n", ev{"Image": `C:/cmd.exe`, "CommandLine": "whoami"}, true)
	f("drop_detection_item", "name: d\ntransformations:\n  - type: drop_detection_item\n    field_name_conditions:\n      - type: include_fields\n        fields: [CommandLine]\n", ev{"Image": `C:\cmd.exe`}, true)
	f("drop_detection_item by regex field condition", "name: d\ntransformations:\n  - type: drop_detection_item\n    field_name_conditions:\n      - type: include_fields\n        mode: re\n        fields: ['Command.*']\n", ev{"Image": `C:\cmd.exe`}, true)
	f("exclude_fields", "name: d\ntransformations:\n  - type: drop_detection_item\n    field_name_conditions:\n      - type: exclude_fields\n        fields: [Image]\n", ev{"Image": `C:\cmd.exe`}, true)
	f("match_string detection item condition", "name: d\ntransformations:\n  - type: drop_detection_item\n    detection_item_conditions:\n      - type: match_string\n        pattern: 'who'\n", ev{"Image": `C:\cmd.exe`}, true)

	// Failures reject the rule with the pipeline's message.
	g := func(name, pipeline, want string) {
		t.Helper()
		rs, diags := BuildRuleset("p", []SourceFile{{Path: "r.yml", Data: []byte(rule)}}, LoadOptions{Pipeline: mustPipeline(t, pipeline)})
		if len(rs.Rules) != 0 || len(diags) != 1 || !strings.Contains(diags[0].Message, want) {
			t.Errorf("%s: got %d rules, %v; want the rule rejected with %q", name, len(rs.Rules), diags, want)
		}
	}
	g("rule_failure", "name: f\ntransformations:\n  - type: rule_failure\n    message: no process creation here\n    rule_conditions:\n      - type: logsource\n        category: process_creation\n", "no process creation here")
	g("detection_item_failure", "name: f\ntransformations:\n  - type: detection_item_failure\n    message: CommandLine is not logged\n    field_name_conditions:\n      - type: include_fields\n        fields: [CommandLine]\n", "CommandLine is not logged")
	g("mapping an added condition to two fields", "name: f\ntransformations:\n  - type: add_condition\n    conditions: {X: 1}\n  - type: field_name_mapping\n    mapping: {X: [Y, Z]}\n", "several fields")
}

// TestPipelinePriorities checks that combined pipelines run by priority: a mapping in a
// later pipeline sees the fields an earlier one produced.
func TestPipelinePriorities(t *testing.T) {
	first := mustPipeline(t, "name: first\npriority: 10\ntransformations:\n  - type: field_name_mapping\n    mapping: {A: B}\n")
	second := mustPipeline(t, "name: second\npriority: 20\ntransformations:\n  - type: field_name_mapping\n    mapping: {B: C}\n")
	p := CombinePipelines(second, first)
	if p.Name != "first+second" {
		t.Errorf("combined name: got %q; want first+second", p.Name)
	}
	rs := mustBuild(t, confRule("{product: x}", "  sel: {A: v}\n  condition: sel\n"), LoadOptions{Pipeline: p})
	if !evalBoth(t, rs, oneRow(map[string]any{"C": "v"})) {
		t.Errorf("A -> B -> C: got no match on C")
	}
}

func TestPipelineParseErrors(t *testing.T) {
	f := func(src string, line int, want string) {
		t.Helper()
		_, err := ParsePipeline("p.yml", []byte(src))
		pe, ok := err.(*PipelineError)
		if !ok || pe.Line != line || !strings.Contains(pe.Message, want) {
			t.Errorf("%q: got %v; want p.yml:%d: %s", src, err, line, want)
		}
	}
	f("name: p\nbogus: 1\n", 2, "unknown pipeline key 'bogus'")
	f("name: p\ntransformations:\n  - type: teleport\n", 3, "unknown transformation type 'teleport'")
	f("name: p\ntransformations:\n  - type: field_name_mapping\n    mapping: {A: B}\n    colour: red\n", 5, "unknown key 'colour'")
	f("name: p\ntransformations:\n  - type: add_condition\n    conditions: {A|nope: x}\n", 4, "unknown modifier 'nope'")
	f("name: p\ntransformations:\n  - type: replace_string\n    regex: '('\n", 4, "invalid regular expression")
	f("name: p\ntransformations:\n  - type: drop_detection_item\n    rule_conditions:\n      - type: moon_phase\n", 5, "unknown rule condition type 'moon_phase'")
	f("name: p\npostprocessing: []\n", 2, "backend queries")
	f("name: p\npriority: high\n", 2, "'priority' must be an integer")
	if _, err := ResolvePipeline("sysmon,windows"); err != nil {
		t.Errorf("ResolvePipeline(sysmon,windows): %v", err)
	}
	if _, err := ResolvePipeline("nope"); err == nil || !strings.Contains(err.Error(), "neither a built-in") {
		t.Errorf("ResolvePipeline(nope): got %v", err)
	}
}

// TestDocsExamples loads the YAML examples of docs/sigma.md: the pipeline parses, and the
// filter and correlation load against rules they name.
func TestDocsExamples(t *testing.T) {
	data, err := os.ReadFile("../docs/sigma.md")
	if err != nil {
		t.Fatalf("read docs/sigma.md: %v", err)
	}
	var blocks []string
	for _, part := range strings.Split(string(data), "```yaml\n")[1:] {
		blocks = append(blocks, strings.SplitN(part, "```", 2)[0])
	}
	if len(blocks) != 3 {
		t.Fatalf("got %d yaml examples in docs/sigma.md; want 3 (pipeline, filter, correlation)", len(blocks))
	}
	mustPipeline(t, blocks[0])
	rules := `title: whoami
id: r-w
name: whoami_execution
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\whoami.exe'}
  condition: sel
---
title: failed logon
id: r-f
name: failed_logon
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
`
	rs := mustBuild(t, rules+blocks[1]+"---\n"+blocks[2], LoadOptions{})
	if len(rs.Rules) != 2 || len(rs.Rules[0].Filters) != 1 || len(rs.Correlations) != 1 {
		t.Errorf("got %d rules (filters on the first: %v), %d correlations; want 2, 1 filter, 1", len(rs.Rules), rs.Rules[0].Filters, len(rs.Correlations))
	}
}
