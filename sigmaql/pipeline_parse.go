package sigmaql

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pipeline is a processing pipeline in a pySigma-compatible YAML subset (docs/sigma.md,
// "Processing pipelines"): named, prioritised transformations that rewrite rules after
// parsing (field names, added conditions, logsource changes, placeholder values, string
// replacements, dropped items, failures). Pipelines are immutable once parsed.
type Pipeline struct {
	Name     string
	Priority int
	// Vars holds placeholder values for 'expand' (pySigma: vars).
	Vars  map[string][]string
	items []*pipelineItem
}

// pipelineItem is one transformation with its conditions.
type pipelineItem struct {
	id, typ   string
	line, col int

	mapping       map[string][]string // field_name_mapping
	prefixMapping map[string]string   // field_name_prefix_mapping
	conditions    *yaml.Node          // add_condition: mapping of detection items
	logsource     Logsource           // change_logsource
	lsSet         [3]bool             // which of category, product, service change_logsource sets
	include       []string            // value_placeholders / wildcard_placeholders
	exclude       []string
	re            *regexp.Regexp // replace_string
	replacement   string
	message       string // rule_failure, detection_item_failure

	ruleConds  []ruleCond
	ruleOr     bool
	ruleNot    bool
	fieldConds []fieldCond
	fieldOr    bool
	fieldNot   bool
	itemConds  []itemCond
	itemOr     bool
	itemNot    bool
}

// ruleCond is a rule condition: logsource, contains_detection_item, tag,
// processing_item_applied, is_sigma_rule, is_sigma_correlation_rule.
type ruleCond struct {
	typ     string
	ls      Logsource
	field   string
	value   string
	tag     string
	applied string
}

// fieldCond is a field name condition: include_fields or exclude_fields, plain names or
// regular expressions (mode: re).
type fieldCond struct {
	include bool
	names   []string
	res     []*regexp.Regexp
}

// itemCond is a detection item condition: match_string (a regular expression any or all
// string values must match), is_null, processing_item_applied.
type itemCond struct {
	typ     string
	re      *regexp.Regexp
	all     bool
	negate  bool
	isNull  bool
	applied string
}

// PipelineError is a pipeline file that cannot be used, located by file, line and column.
type PipelineError struct {
	File         string
	Line, Column int
	Message      string
}

func (e *PipelineError) Error() string {
	return fmt.Sprintf("%s:%d:%d: pipeline: %s", e.File, e.Line, e.Column, e.Message)
}

// LoadPipelineFile reads a pipeline from a YAML file.
func LoadPipelineFile(path string) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load pipeline: %w", err)
	}
	return ParsePipeline(path, data)
}

// ParsePipeline parses a pipeline document. Unknown keys, transformation types and
// condition types are errors: a pipeline that silently skips a mapping changes what rules
// mean.
func ParsePipeline(file string, data []byte) (*Pipeline, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, &PipelineError{File: file, Line: 1, Column: 1, Message: "invalid YAML: " + err.Error()}
	}
	if len(doc.Content) == 0 {
		return nil, &PipelineError{File: file, Line: 1, Column: 1, Message: "empty document"}
	}
	perr := func(e *posError) error {
		return &PipelineError{File: file, Line: e.line, Column: e.col, Message: e.msg}
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, perr(errAt(root, "a pipeline must be a mapping"))
	}
	p := &Pipeline{Vars: map[string][]string{}}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		switch k.Value {
		case "name":
			p.Name = v.Value
		case "priority":
			n, err := strconv.Atoi(v.Value)
			if err != nil {
				return nil, perr(errAt(v, "'priority' must be an integer, got %q", v.Value))
			}
			p.Priority = n
		case "vars":
			if v.Kind != yaml.MappingNode {
				return nil, perr(errAt(v, "'vars' must map placeholder names to values"))
			}
			vars, err := parseVars(v)
			if err != nil {
				return nil, perr(err)
			}
			p.Vars = vars
		case "transformations":
			if v.Kind != yaml.SequenceNode {
				return nil, perr(errAt(v, "'transformations' must be a list"))
			}
			for _, t := range v.Content {
				it, err := parsePipelineItem(deref(t))
				if err != nil {
					return nil, perr(err)
				}
				p.items = append(p.items, it)
			}
		case "allowed_backends", "description":
			// Informational in pySigma; nothing to apply.
		case "postprocessing", "finalizers":
			return nil, perr(errAt(k, "'%s' shapes backend queries and has no meaning for an evaluating engine; remove it", k.Value))
		default:
			return nil, perr(errAt(k, "unknown pipeline key '%s' (known: name, priority, vars, transformations)", k.Value))
		}
	}
	return p, nil
}

// parseVars reads a vars mapping: name to a value or a list of values.
func parseVars(v *yaml.Node) (map[string][]string, *posError) {
	vars := map[string][]string{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], deref(v.Content[i+1])
		vals, err := scalarList(val)
		if err != nil {
			return nil, err
		}
		vars[k.Value] = vals
	}
	return vars, nil
}

// scalarList reads a scalar or a list of scalars as strings.
func scalarList(v *yaml.Node) ([]string, *posError) {
	switch v.Kind {
	case yaml.ScalarNode:
		return []string{v.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, c := range v.Content {
			c = deref(c)
			if c.Kind != yaml.ScalarNode {
				return nil, errAt(c, "expected a value, got a %s", nodeKind(c))
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, errAt(v, "expected a value or a list of values, got a %s", nodeKind(v))
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// transformationKeys lists the parameters each transformation type accepts beside the
// common keys (type, id, and the three condition families).
var transformationKeys = map[string][]string{
	"field_name_mapping":        {"mapping"},
	"field_name_prefix_mapping": {"mapping"},
	"add_condition":             {"conditions", "template"},
	"change_logsource":          {"category", "product", "service"},
	"value_placeholders":        {"include", "exclude"},
	"wildcard_placeholders":     {"include", "exclude"},
	"replace_string":            {"regex", "replacement", "skip_special"},
	"drop_detection_item":       {},
	"rule_failure":              {"message"},
	"detection_item_failure":    {"message"},
}

var commonItemKeys = []string{
	"type", "id", "rule_conditions", "rule_cond_op", "rule_cond_not",
	"field_name_conditions", "field_name_cond_op", "field_name_cond_not",
	"detection_item_conditions", "detection_item_cond_op", "detection_item_cond_not",
}

func parsePipelineItem(n *yaml.Node) (*pipelineItem, *posError) {
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "a transformation must be a mapping")
	}
	it := &pipelineItem{line: n.Line, col: n.Column}
	get := map[string]*yaml.Node{}
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		get[n.Content[i].Value] = deref(n.Content[i+1])
		keys[n.Content[i].Value] = n.Content[i]
	}
	t, ok := get["type"]
	if !ok {
		return nil, errAt(n, "transformation has no 'type'")
	}
	it.typ = t.Value
	allowed, ok := transformationKeys[it.typ]
	if !ok {
		names := make([]string, 0, len(transformationKeys))
		for k := range transformationKeys {
			names = append(names, k)
		}
		slices.Sort(names)
		return nil, errAt(t, "unknown transformation type '%s' (supported: %s)", it.typ, strings.Join(names, ", "))
	}
	for k, kn := range keys {
		if !slices.Contains(allowed, k) && !slices.Contains(commonItemKeys, k) {
			return nil, errAt(kn, "unknown key '%s' in a %s transformation", k, it.typ)
		}
	}
	if v := get["id"]; v != nil {
		it.id = v.Value
	}
	switch it.typ {
	case "field_name_mapping":
		m := get["mapping"]
		if m == nil || m.Kind != yaml.MappingNode {
			return nil, errAt(n, "field_name_mapping needs a 'mapping' of field names")
		}
		it.mapping = map[string][]string{}
		for i := 0; i+1 < len(m.Content); i += 2 {
			vals, err := scalarList(deref(m.Content[i+1]))
			if err != nil {
				return nil, err
			}
			it.mapping[m.Content[i].Value] = vals
		}
	case "field_name_prefix_mapping":
		m := get["mapping"]
		if m == nil || m.Kind != yaml.MappingNode {
			return nil, errAt(n, "field_name_prefix_mapping needs a 'mapping' of prefixes")
		}
		it.prefixMapping = map[string]string{}
		for i := 0; i+1 < len(m.Content); i += 2 {
			it.prefixMapping[m.Content[i].Value] = deref(m.Content[i+1]).Value
		}
	case "add_condition":
		c := get["conditions"]
		if c == nil || c.Kind != yaml.MappingNode || len(c.Content) == 0 {
			return nil, errAt(n, "add_condition needs 'conditions': a mapping of detection items")
		}
		if tv := get["template"]; tv != nil && tv.Value == "true" {
			return nil, errAt(tv, "add_condition templates are not supported; write the values out")
		}
		// Validate the items now so a broken pipeline fails at load, not per rule.
		for i := 0; i+1 < len(c.Content); i += 2 {
			if _, err := parseItem(c.Content[i], c.Content[i+1]); err != nil {
				return nil, err
			}
		}
		it.conditions = c
	case "change_logsource":
		for i, k := range []string{"category", "product", "service"} {
			if v := get[k]; v != nil {
				it.lsSet[i] = true
				switch k {
				case "category":
					it.logsource.Category = v.Value
				case "product":
					it.logsource.Product = v.Value
				case "service":
					it.logsource.Service = v.Value
				}
			}
		}
	case "value_placeholders", "wildcard_placeholders":
		for _, k := range []string{"include", "exclude"} {
			if v := get[k]; v != nil {
				vals, err := scalarList(v)
				if err != nil {
					return nil, err
				}
				if k == "include" {
					it.include = vals
				} else {
					it.exclude = vals
				}
			}
		}
	case "replace_string":
		r := get["regex"]
		if r == nil {
			return nil, errAt(n, "replace_string needs a 'regex'")
		}
		re, err := regexp.Compile(r.Value)
		if err != nil {
			return nil, errAt(r, "invalid regular expression %q: %v", r.Value, err)
		}
		it.re = re
		if v := get["replacement"]; v != nil {
			it.replacement = v.Value
		}
	case "rule_failure", "detection_item_failure":
		m := get["message"]
		if m == nil || m.Value == "" {
			return nil, errAt(n, "%s needs a 'message'", it.typ)
		}
		it.message = m.Value
	}
	var err *posError
	if it.ruleOr, it.ruleNot, err = condOp(get, "rule_cond_op", "rule_cond_not"); err != nil {
		return nil, err
	}
	if it.fieldOr, it.fieldNot, err = condOp(get, "field_name_cond_op", "field_name_cond_not"); err != nil {
		return nil, err
	}
	if it.itemOr, it.itemNot, err = condOp(get, "detection_item_cond_op", "detection_item_cond_not"); err != nil {
		return nil, err
	}
	if v := get["rule_conditions"]; v != nil {
		if it.ruleConds, err = parseRuleConds(v); err != nil {
			return nil, err
		}
	}
	if v := get["field_name_conditions"]; v != nil {
		if it.fieldConds, err = parseFieldConds(v); err != nil {
			return nil, err
		}
	}
	if v := get["detection_item_conditions"]; v != nil {
		if it.itemConds, err = parseItemConds(v); err != nil {
			return nil, err
		}
	}
	return it, nil
}

func condOp(get map[string]*yaml.Node, opKey, notKey string) (or, not bool, err *posError) {
	if v := get[opKey]; v != nil {
		switch v.Value {
		case "and":
		case "or":
			or = true
		default:
			return false, false, errAt(v, "'%s' must be 'and' or 'or', got %q", opKey, v.Value)
		}
	}
	if v := get[notKey]; v != nil {
		not = v.Value == "true"
	}
	return or, not, nil
}

// condList returns the condition mappings of a conditions node (a list of mappings).
func condList(v *yaml.Node) ([]map[string]*yaml.Node, *posError) {
	if v.Kind != yaml.SequenceNode {
		return nil, errAt(v, "conditions must be a list of mappings")
	}
	var out []map[string]*yaml.Node
	for _, c := range v.Content {
		c = deref(c)
		if c.Kind != yaml.MappingNode {
			return nil, errAt(c, "a condition must be a mapping with a 'type'")
		}
		m := map[string]*yaml.Node{}
		for i := 0; i+1 < len(c.Content); i += 2 {
			m[c.Content[i].Value] = deref(c.Content[i+1])
		}
		if m["type"] == nil {
			return nil, errAt(c, "a condition needs a 'type'")
		}
		out = append(out, m)
	}
	return out, nil
}

func checkKeys(m map[string]*yaml.Node, allowed ...string) *posError {
	for k, v := range m {
		if k != "type" && !slices.Contains(allowed, k) {
			return errAt(v, "unknown key '%s' in a %s condition", k, m["type"].Value)
		}
	}
	return nil
}

func parseRuleConds(v *yaml.Node) ([]ruleCond, *posError) {
	list, err := condList(v)
	if err != nil {
		return nil, err
	}
	var out []ruleCond
	for _, m := range list {
		c := ruleCond{typ: m["type"].Value}
		val := func(k string) string {
			if n := m[k]; n != nil {
				return n.Value
			}
			return ""
		}
		switch c.typ {
		case "logsource":
			err = checkKeys(m, "category", "product", "service")
			c.ls = Logsource{Category: val("category"), Product: val("product"), Service: val("service")}
		case "contains_detection_item":
			err = checkKeys(m, "field", "value")
			c.field, c.value = val("field"), val("value")
		case "tag":
			err = checkKeys(m, "tag")
			c.tag = val("tag")
		case "processing_item_applied":
			err = checkKeys(m, "processing_item_id")
			c.applied = val("processing_item_id")
		case "is_sigma_rule", "is_sigma_correlation_rule":
			err = checkKeys(m)
		default:
			return nil, errAt(m["type"], "unknown rule condition type '%s' (supported: logsource, contains_detection_item, tag, processing_item_applied, is_sigma_rule, is_sigma_correlation_rule)", c.typ)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseFieldConds(v *yaml.Node) ([]fieldCond, *posError) {
	list, err := condList(v)
	if err != nil {
		return nil, err
	}
	var out []fieldCond
	for _, m := range list {
		var c fieldCond
		switch m["type"].Value {
		case "include_fields":
			c.include = true
		case "exclude_fields":
		default:
			return nil, errAt(m["type"], "unknown field name condition type '%s' (supported: include_fields, exclude_fields)", m["type"].Value)
		}
		if err := checkKeys(m, "fields", "mode"); err != nil {
			return nil, err
		}
		if m["fields"] == nil {
			return nil, errAt(m["type"], "%s needs 'fields'", m["type"].Value)
		}
		names, err := scalarList(m["fields"])
		if err != nil {
			return nil, err
		}
		if mode := m["mode"]; mode != nil && mode.Value == "re" {
			for _, s := range names {
				re, rerr := regexp.Compile("^(?:" + s + ")$")
				if rerr != nil {
					return nil, errAt(mode, "invalid field regular expression %q: %v", s, rerr)
				}
				c.res = append(c.res, re)
			}
		} else {
			c.names = names
		}
		out = append(out, c)
	}
	return out, nil
}

func parseItemConds(v *yaml.Node) ([]itemCond, *posError) {
	list, err := condList(v)
	if err != nil {
		return nil, err
	}
	var out []itemCond
	for _, m := range list {
		c := itemCond{typ: m["type"].Value}
		switch c.typ {
		case "match_string":
			if err := checkKeys(m, "pattern", "cond", "negate"); err != nil {
				return nil, err
			}
			if m["pattern"] == nil {
				return nil, errAt(m["type"], "match_string needs a 'pattern'")
			}
			re, rerr := regexp.Compile(m["pattern"].Value)
			if rerr != nil {
				return nil, errAt(m["pattern"], "invalid regular expression %q: %v", m["pattern"].Value, rerr)
			}
			c.re = re
			c.all = m["cond"] != nil && m["cond"].Value == "all"
			c.negate = m["negate"] != nil && m["negate"].Value == "true"
		case "is_null":
			if err := checkKeys(m, "value"); err != nil {
				return nil, err
			}
			c.isNull = m["value"] == nil || m["value"].Value != "false"
		case "processing_item_applied":
			if err := checkKeys(m, "processing_item_id"); err != nil {
				return nil, err
			}
			if m["processing_item_id"] != nil {
				c.applied = m["processing_item_id"].Value
			}
		default:
			return nil, errAt(m["type"], "unknown detection item condition type '%s' (supported: match_string, is_null, processing_item_applied)", c.typ)
		}
		out = append(out, c)
	}
	return out, nil
}

// CombinePipelines merges pipelines into one, ordered by priority (lower first, stable),
// with later pipelines' vars overriding earlier ones.
func CombinePipelines(ps ...*Pipeline) *Pipeline {
	sorted := slices.Clone(ps)
	slices.SortStableFunc(sorted, func(a, b *Pipeline) int { return a.Priority - b.Priority })
	out := &Pipeline{Vars: map[string][]string{}}
	var names []string
	for _, p := range sorted {
		if p == nil {
			continue
		}
		names = append(names, p.Name)
		out.items = append(out.items, p.items...)
		for k, v := range p.Vars {
			out.Vars[k] = v
		}
	}
	out.Name = strings.Join(names, "+")
	if len(sorted) > 0 && sorted[0] != nil {
		out.Priority = sorted[0].Priority
	}
	return out
}
