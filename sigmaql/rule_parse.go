package sigmaql

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlErrLine extracts the line number from a yaml.v3 error message.
var yamlErrLine = regexp.MustCompile(`line (\d+)`)

// parsedFile holds the documents of one YAML file: detection rules (not yet processed by
// a pipeline), correlation rules, filters and the diagnostics of documents that did not
// parse.
type parsedFile struct {
	rules        []*Rule
	correlations []*Correlation
	filters      []*filterDoc
	diags        []Diagnostic
}

// parseFile parses every document of one YAML file. Each document is a detection rule, a
// correlation rule (a 'correlation' key) or a filter (a 'filter' key).
func parseFile(file string, data []byte) parsedFile {
	var out parsedFile
	collectionLine := 0 // line of an 'action: global' document; later documents belong to it
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 1 // yaml.v3 names no line for some errors (control characters)
			if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
			out.diags = append(out.diags, Diagnostic{File: file, Line: line, Column: 1,
				Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
			break // the decoder cannot resynchronise after a syntax error
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := deref(doc.Content[0])
		if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
			continue // empty document
		}
		diag := func(perr *posError, id string) {
			out.diags = append(out.diags, Diagnostic{File: file, Line: perr.line, Column: perr.col, RuleID: id, Message: perr.msg})
		}
		if line := actionLine(root); line > 0 {
			collectionLine = line
		} else if collectionLine > 0 {
			diag(&posError{line: root.Line, col: root.Column, msg: fmt.Sprintf("document is part of a legacy Sigma v1 rule collection ('action' at line %d); "+
				"merge it with the global document into a complete rule, and express cross-event logic as a correlation rule", collectionLine)}, idOf(root))
			continue
		}
		switch documentKind(root) {
		case "correlation":
			c, perr := parseCorrelation(root)
			if perr != nil {
				diag(perr, c.ID)
				continue
			}
			c.File = file
			out.correlations = append(out.correlations, c)
		case "filter":
			f, perr := parseFilter(root)
			if perr != nil {
				diag(perr, f.id)
				continue
			}
			f.file = file
			out.filters = append(out.filters, f)
		default:
			r, perr := parseRule(root)
			if perr != nil {
				id := ""
				if r != nil {
					id = r.ID
				}
				diag(perr, id)
				continue
			}
			r.File = file
			out.rules = append(out.rules, r)
		}
	}
	return out
}

// actionLine returns the line of a document's 'action' key (v1 collections), or 0.
func actionLine(root *yaml.Node) int {
	if root.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "action" {
			return root.Content[i].Line
		}
	}
	return 0
}

// idOf returns a document's id, if any.
func idOf(root *yaml.Node) string {
	if root.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "id" {
			return scalarText(root.Content[i+1])
		}
	}
	return ""
}

// documentKind tells a correlation or filter document from a detection rule by its keys.
func documentKind(root *yaml.Node) string {
	if root.Kind != yaml.MappingNode {
		return "rule"
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "correlation":
			return "correlation"
		case "filter":
			return "filter"
		}
	}
	return "rule"
}

// parseRule parses one rule document. On error it still returns the rule (with its
// metadata) when it got that far, so the diagnostic can name the rule id.
func parseRule(root *yaml.Node) (*Rule, *posError) {
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		return nil, errAt(root, "a rule document must be a mapping")
	}
	r := &Rule{Line: root.Line}
	var detNode *yaml.Node
	var firstErr *posError
	setErr := func(e *posError) {
		if firstErr == nil {
			firstErr = e
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		switch k.Value {
		case "title":
			r.Title = scalarText(v)
		case "id":
			r.ID = scalarText(v)
		case "name":
			r.Name = scalarText(v)
		case "status":
			r.Status = scalarText(v)
		case "level":
			r.Level = scalarText(v)
		case "description":
			r.Description = scalarText(v)
		case "author":
			r.Author = scalarText(v)
		case "date":
			r.Date = scalarText(v)
		case "modified":
			r.Modified = scalarText(v)
		case "tags":
			r.Tags = stringList(v)
		case "references":
			r.References = stringList(v)
		case "falsepositives":
			r.FalsePositives = stringList(v)
		case "logsource":
			if v.Kind != yaml.MappingNode {
				setErr(errAt(v, "'logsource' must be a mapping"))
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				switch v.Content[j].Value {
				case "category":
					r.Logsource.Category = scalarText(v.Content[j+1])
				case "product":
					r.Logsource.Product = scalarText(v.Content[j+1])
				case "service":
					r.Logsource.Service = scalarText(v.Content[j+1])
				}
			}
		case "detection":
			detNode = v
		case "action":
			setErr(errAt(k, "'action: %s' rule collections are legacy Sigma v1; write each rule as a complete document (Sigma v2 bundles related rules in one file with '---' and relates them with correlation rules)", v.Value))
		}
	}
	if firstErr != nil {
		return r, firstErr
	}
	if detNode == nil {
		return r, errAt(root, "rule has no 'detection'")
	}
	det, perr := parseDetection(detNode)
	if perr != nil {
		return r, perr
	}
	r.det = det
	return r, nil
}

func scalarText(v *yaml.Node) string {
	if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
		return ""
	}
	return v.Value
}

func stringList(v *yaml.Node) []string {
	switch v.Kind {
	case yaml.ScalarNode:
		if s := scalarText(v); s != "" {
			return []string{s}
		}
	case yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, c := range v.Content {
			if c.Kind == yaml.ScalarNode {
				out = append(out, c.Value)
			}
		}
		return out
	}
	return nil
}

// parseDetection parses the detection mapping: search identifiers and the condition.
func parseDetection(n *yaml.Node) (*detection, *posError) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, errAt(n, "'detection' must be a mapping")
	}
	d := &detection{searches: map[string]*search{}}
	var condNodes []*yaml.Node
	var condKey *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		switch k.Value {
		case "condition":
			condKey = k
			switch v.Kind {
			case yaml.ScalarNode:
				condNodes = []*yaml.Node{v}
			case yaml.SequenceNode:
				for _, c := range v.Content {
					c = deref(c)
					if c.Kind != yaml.ScalarNode {
						return nil, errAt(c, "a condition list may only hold strings")
					}
					condNodes = append(condNodes, c)
				}
			default:
				return nil, errAt(v, "'condition' must be a string or a list of strings")
			}
		case "timeframe":
			return nil, errAt(k, "'timeframe' is a legacy Sigma v1 aggregation; express it as a correlation rule")
		default:
			if _, dup := d.searches[k.Value]; dup {
				return nil, errAt(k, "search identifier '%s' is defined twice", k.Value)
			}
			s, err := parseSearch(k, v)
			if err != nil {
				return nil, err
			}
			d.searches[k.Value] = s
			d.names = append(d.names, k.Value)
		}
	}
	if len(condNodes) == 0 {
		if condKey != nil {
			return nil, errAt(condKey, "'condition' is empty")
		}
		return nil, errAt(n, "detection has no 'condition'")
	}
	var conds []condNode
	for _, cn := range condNodes {
		c, err := parseConditionNode(cn, d)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	if len(conds) == 1 {
		d.cond = conds[0]
	} else {
		d.cond = &condOr{xs: conds}
	}
	d.lint(condNodes)
	return d, nil
}

// parseSearch parses one search identifier's value.
func parseSearch(k, v *yaml.Node) (*search, *posError) {
	v = deref(v)
	s := &search{name: k.Value, line: k.Line, col: k.Column}
	var parseMap func(m *yaml.Node) ([]*item, *posError)
	parseMap = func(m *yaml.Node) ([]*item, *posError) {
		if len(m.Content) == 0 {
			return nil, errAt(m, "search '%s' has an empty mapping", k.Value)
		}
		var items []*item
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Tag == "!!merge" {
				// YAML merge key: the anchored mapping's items join this one.
				src := deref(m.Content[i+1])
				if src.Kind != yaml.MappingNode {
					return nil, errAt(m.Content[i], "a YAML merge key must refer to a mapping")
				}
				more, err := parseMap(src)
				if err != nil {
					return nil, err
				}
				items = append(items, more...)
				continue
			}
			it, err := parseItem(m.Content[i], m.Content[i+1])
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		}
		return items, nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		items, err := parseMap(v)
		if err != nil {
			return nil, err
		}
		s.alts = [][]*item{items}
	case yaml.SequenceNode:
		if len(v.Content) == 0 {
			return nil, errAt(v, "search '%s' is an empty list", k.Value)
		}
		maps, scalars := 0, 0
		for i, c := range v.Content {
			c = deref(c)
			v.Content[i] = c
			switch c.Kind {
			case yaml.MappingNode:
				maps++
			case yaml.ScalarNode:
				scalars++
			default:
				return nil, errAt(c, "search '%s' may only list mappings or plain values", k.Value)
			}
		}
		if maps > 0 && scalars > 0 {
			return nil, errAt(v, "search '%s' mixes mappings and plain values", k.Value)
		}
		if scalars > 0 {
			it, err := parseItem(nil, v)
			if err != nil {
				return nil, err
			}
			s.alts = [][]*item{{it}}
			break
		}
		for _, c := range v.Content {
			items, err := parseMap(c)
			if err != nil {
				return nil, err
			}
			s.alts = append(s.alts, items)
		}
	case yaml.ScalarNode:
		it, err := parseItem(nil, v)
		if err != nil {
			return nil, err
		}
		s.alts = [][]*item{{it}}
	default:
		return nil, errAt(v, "search '%s' must be a mapping, a list of mappings or a list of values", k.Value)
	}
	return s, nil
}

// parseConditionNode parses one condition string and checks its identifiers against the
// detection's searches; errors are located inside the string.
func parseConditionNode(n *yaml.Node, d *detection) (condNode, *posError) {
	at := func(off int) *posError {
		col := n.Column + off
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			col++
		}
		return &posError{line: n.Line, col: col}
	}
	c, err := parseCondition(n.Value)
	if err != nil {
		var ce *condError
		if errors.As(err, &ce) {
			pe := at(ce.at)
			pe.msg = "condition: " + ce.msg
			return nil, pe
		}
		return nil, &posError{line: n.Line, col: n.Column, msg: "condition: " + err.Error()}
	}
	var check func(condNode) *posError
	check = func(c condNode) *posError {
		switch c := c.(type) {
		case *condAnd:
			for _, x := range c.xs {
				if e := check(x); e != nil {
					return e
				}
			}
		case *condOr:
			for _, x := range c.xs {
				if e := check(x); e != nil {
					return e
				}
			}
		case *condNot:
			return check(c.x)
		case *condIdent:
			if _, ok := d.searches[c.name]; !ok {
				pe := at(c.at)
				pe.msg = "condition: unknown search identifier '" + c.name + "'"
				return pe
			}
		case *condOf:
			if len(ofTargets(d.names, c.pattern)) == 0 {
				pe := at(c.at)
				pe.msg = "condition: '" + c.pattern + "' matches no search identifier"
				return pe
			}
		}
		return nil
	}
	if e := check(c); e != nil {
		return nil, e
	}
	return c, nil
}

// lint collects the warnings of a parsed detection: item warnings, 'all of them', and
// search identifiers the condition never uses.
func (d *detection) lint(condNodes []*yaml.Node) {
	for _, name := range d.names {
		for _, alt := range d.searches[name].alts {
			for _, it := range alt {
				d.warnings = append(d.warnings, it.warnings...)
			}
		}
	}
	used := map[string]bool{}
	var walk func(c condNode)
	walk = func(c condNode) {
		switch c := c.(type) {
		case *condAnd:
			for _, x := range c.xs {
				walk(x)
			}
		case *condOr:
			for _, x := range c.xs {
				walk(x)
			}
		case *condNot:
			walk(c.x)
		case *condIdent:
			used[c.name] = true
		case *condOf:
			if c.all && c.pattern == "them" {
				d.warnings = append(d.warnings, &posError{line: condNodes[0].Line, col: condNodes[0].Column,
					msg: "'all of them' is discouraged: name the searches it combines"})
			}
			for _, n := range ofTargets(d.names, c.pattern) {
				used[n] = true
			}
		}
	}
	walk(d.cond)
	for _, name := range d.names {
		if !used[name] {
			s := d.searches[name]
			d.warnings = append(d.warnings, &posError{line: s.line, col: s.col,
				msg: "search '" + name + "' is never used by the condition"})
		}
	}
}
