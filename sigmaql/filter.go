package sigmaql

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// filterDoc is a parsed filter (meta-filter) document (SIGMA.md §2.3). Its detection is
// kept as YAML and parsed again for every rule it applies to, because pipelines rewrite
// the items of each rule separately.
type filterDoc struct {
	id, title string
	file      string
	line      int
	logsource Logsource
	rules     []string // ids or names; empty (or "any") = every rule of the logsource
	det       *yaml.Node
	seq       int // position among the ruleset's filters, for unique identifiers
}

// parseFilter parses a filter document and checks its detection once.
func parseFilter(root *yaml.Node) (*filterDoc, *posError) {
	f := &filterDoc{line: root.Line}
	var body, bodyKey *yaml.Node
	hasLS := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		switch k.Value {
		case "id":
			f.id = scalarText(v)
		case "title":
			f.title = scalarText(v)
		case "logsource":
			hasLS = true
			if v.Kind != yaml.MappingNode {
				return f, errAt(v, "'logsource' must be a mapping")
			}
			f.logsource = parseLogsource(v)
		case "filter":
			body, bodyKey = v, k
		case "level", "status":
			return f, errAt(k, "a filter has no '%s': it only narrows the rules it applies to", k.Value)
		case "detection":
			return f, errAt(k, "a filter keeps its selections under 'filter', not 'detection'")
		}
	}
	if !hasLS {
		return f, errAt(root, "a filter needs a 'logsource': it applies only to rules of that logsource")
	}
	if body.Kind != yaml.MappingNode {
		return f, errAt(bodyKey, "'filter' must be a mapping with 'rules', selections and 'condition'")
	}
	det := &yaml.Node{Kind: yaml.MappingNode, Line: body.Line, Column: body.Column}
	for i := 0; i+1 < len(body.Content); i += 2 {
		k, v := body.Content[i], deref(body.Content[i+1])
		if k.Value == "rules" {
			switch {
			case v.Kind == yaml.ScalarNode && (v.Value == "any" || v.Value == ""):
			case v.Kind == yaml.ScalarNode || v.Kind == yaml.SequenceNode:
				rules, err := scalarList(v)
				if err != nil {
					return f, err
				}
				for _, r := range rules {
					if r != "any" {
						f.rules = append(f.rules, r)
					}
				}
			default:
				return f, errAt(v, "filter 'rules' must be a rule id or name, a list of them, or 'any'")
			}
			continue
		}
		det.Content = append(det.Content, k, v)
	}
	if _, err := parseDetection(det); err != nil {
		return f, err
	}
	f.det = det
	return f, nil
}

// parseLogsource reads the category, product and service of a logsource mapping.
func parseLogsource(v *yaml.Node) Logsource {
	var ls Logsource
	for j := 0; j+1 < len(v.Content); j += 2 {
		switch v.Content[j].Value {
		case "category":
			ls.Category = scalarText(deref(v.Content[j+1]))
		case "product":
			ls.Product = scalarText(deref(v.Content[j+1]))
		case "service":
			ls.Service = scalarText(deref(v.Content[j+1]))
		}
	}
	return ls
}

// appliesTo reports whether the filter targets r: r is named in its rules (by id or
// name), or its rules are empty; and every logsource field the filter sets equals r's.
func (f *filterDoc) appliesTo(r *Rule) bool {
	eq := func(want, got string) bool { return want == "" || strings.EqualFold(want, got) }
	if !eq(f.logsource.Category, r.Logsource.Category) || !eq(f.logsource.Product, r.Logsource.Product) ||
		!eq(f.logsource.Service, r.Logsource.Service) {
		return false
	}
	if len(f.rules) == 0 {
		return true
	}
	for _, ref := range f.rules {
		if ref == r.ID || (r.Name != "" && ref == r.Name) {
			return true
		}
	}
	return false
}

// apply ANDs the filter's condition onto r's, as pySigma does: the condition becomes
// (original) and (filter condition), the filter's identifiers renamed
// _filt<seq>_<name> so that they cannot collide with the rule's and stay out of the
// rule's '1 of them' and 'x of sel*' patterns.
func (f *filterDoc) apply(r *Rule) *posError {
	fd, err := parseDetection(f.det)
	if err != nil {
		return err
	}
	prefix := "_filt" + strconv.Itoa(f.seq) + "_"
	d := r.det
	for _, name := range fd.names {
		s := fd.searches[name]
		s.name = prefix + name
		d.searches[s.name] = s
		d.names = append(d.names, s.name)
	}
	d.cond = &condAnd{xs: []condNode{d.cond, renameCond(fd.cond, prefix)}}
	return nil
}

// renameCond prefixes every identifier and 'x of' pattern of c.
func renameCond(c condNode, prefix string) condNode {
	switch c := c.(type) {
	case *condAnd:
		xs := make([]condNode, len(c.xs))
		for i, x := range c.xs {
			xs[i] = renameCond(x, prefix)
		}
		return &condAnd{xs: xs}
	case *condOr:
		xs := make([]condNode, len(c.xs))
		for i, x := range c.xs {
			xs[i] = renameCond(x, prefix)
		}
		return &condOr{xs: xs}
	case *condNot:
		return &condNot{x: renameCond(c.x, prefix)}
	case *condIdent:
		return &condIdent{name: prefix + c.name, at: c.at}
	case *condOf:
		pat := prefix + c.pattern
		if c.pattern == "them" {
			pat = prefix + "*"
		}
		return &condOf{all: c.all, pattern: pat, at: c.at}
	}
	panic("BUG: unknown condition node")
}
