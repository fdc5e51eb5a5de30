package sigmaql

import (
	"slices"
	"strings"
)

// ruleWork is a rule being processed by a pipeline: the logsource the pipeline sees
// (change_logsource rewrites it; Rule.Logsource keeps the rule's own), the processing
// items applied to the rule and to each item, and the placeholder values given to each
// 'expand' item.
type ruleWork struct {
	rule       *Rule
	ls         Logsource
	applied    map[string]bool
	itemApplid map[*item]map[string]bool
	vars       map[*item]map[string][]string
	wildcards  map[*item]map[string]bool
}

// applyPipeline runs every transformation of p over r (parsed, values of 'expand' items
// not yet compiled) and finishes the rule: placeholders resolved from the pipeline, then
// from extra (a placeholder file), else the rule is rejected naming the placeholder.
func applyPipeline(r *Rule, p *Pipeline, extra map[string][]string) *posError {
	w := &ruleWork{rule: r, ls: r.Logsource, applied: map[string]bool{},
		itemApplid: map[*item]map[string]bool{}, vars: map[*item]map[string][]string{},
		wildcards: map[*item]map[string]bool{}}
	d := r.det
	if p != nil {
		for _, pi := range p.items {
			if !w.ruleMatches(pi) {
				continue
			}
			changed := false
			switch pi.typ {
			case "rule_failure":
				return &posError{line: r.Line, col: 1, msg: "pipeline rejects the rule: " + pi.message}
			case "detection_item_failure":
				for _, it := range w.items() {
					if w.itemMatches(pi, it) {
						return &posError{line: it.line, col: it.col, msg: "pipeline rejects the detection item: " + pi.message}
					}
				}
			case "change_logsource":
				if pi.lsSet[0] {
					w.ls.Category = pi.logsource.Category
				}
				if pi.lsSet[1] {
					w.ls.Product = pi.logsource.Product
				}
				if pi.lsSet[2] {
					w.ls.Service = pi.logsource.Service
				}
				changed = true
			case "add_condition":
				var added []*item
				c := pi.conditions
				for i := 0; i+1 < len(c.Content); i += 2 {
					it, err := parseItem(c.Content[i], c.Content[i+1])
					if err != nil {
						return err
					}
					added = append(added, it)
				}
				d.logsource = append(added, d.logsource...)
				changed = true
			case "field_name_mapping", "field_name_prefix_mapping":
				ch, err := w.mapFields(pi)
				if err != nil {
					return err
				}
				changed = ch
			case "value_placeholders", "wildcard_placeholders":
				for _, it := range w.items() {
					if !it.spec.expand || !w.itemMatches(pi, it) {
						continue
					}
					for _, v := range it.src {
						for _, name := range placeholderNames(v.Value) {
							if len(pi.include) > 0 && !slices.Contains(pi.include, name) ||
								slices.Contains(pi.exclude, name) {
								continue
							}
							if pi.typ == "wildcard_placeholders" {
								if w.wildcards[it] == nil {
									w.wildcards[it] = map[string]bool{}
								}
								w.wildcards[it][name] = true
							} else if vals, ok := p.Vars[name]; ok {
								if w.vars[it] == nil {
									w.vars[it] = map[string][]string{}
								}
								w.vars[it][name] = vals
							} else {
								continue
							}
							w.markItem(pi, it)
							changed = true
						}
					}
				}
			case "replace_string":
				for _, it := range w.items() {
					if !w.itemMatches(pi, it) || it.spec.mode == modeExists || it.spec.mode == modeCmp ||
						it.spec.mode == modeCIDR || it.spec.mode == modeTimePart {
						continue
					}
					touched := false
					for i, v := range it.src {
						if v.ShortTag() != "!!str" {
							continue
						}
						nv := it.src[i]
						if s := pi.re.ReplaceAllString(v.Value, pi.replacement); s != v.Value {
							cp := *v
							cp.Value = s
							nv = &cp
							touched = true
						}
						it.src[i] = nv
					}
					if touched {
						w.markItem(pi, it)
						changed = true
						if !it.spec.expand {
							if err := compileItem(it, nil); err != nil {
								return err
							}
						}
					}
				}
			case "drop_detection_item":
				drop := func(items []*item) []*item {
					return slices.DeleteFunc(items, func(it *item) bool {
						if it.field == "" && len(pi.fieldConds) > 0 {
							return false
						}
						if w.itemMatches(pi, it) {
							changed = true
							return true
						}
						return false
					})
				}
				for _, s := range d.searches {
					for i := range s.alts {
						s.alts[i] = drop(s.alts[i])
					}
				}
				d.logsource = drop(d.logsource)
			}
			if changed && pi.id != "" {
				w.applied[pi.id] = true
			}
		}
	}
	// Finish 'expand' items: pipeline values, then the placeholder file, then wildcards.
	// Every unresolved placeholder of the rule is named in one error.
	var missing []string
	var missingAt *item
	for _, it := range w.items() {
		if !it.spec.expand {
			continue
		}
		vars := map[string][]string{}
		for _, v := range it.src {
			for _, name := range placeholderNames(v.Value) {
				if vals, ok := w.vars[it][name]; ok {
					vars[name] = vals
				} else if vals, ok := extra[name]; ok {
					vars[name] = vals
				} else if w.wildcards[it][name] {
					vars[name] = []string{"*"}
				} else if !slices.Contains(missing, "'%"+name+"%'") {
					missing = append(missing, "'%"+name+"%'")
					if missingAt == nil {
						missingAt = it
					}
				}
			}
		}
		if len(missing) > 0 {
			continue
		}
		if err := compileItem(it, vars); err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		v := missingAt.src[0]
		for _, s := range missingAt.src {
			if len(placeholderNames(s.Value)) > 0 {
				v = s
				break
			}
		}
		return errAt(v, "placeholder without a value: %s; give values in a placeholder file (rules check --placeholders FILE) or in a pipeline's value_placeholders vars", strings.Join(missing, ", "))
	}
	return nil
}

// items returns every detection item of the rule: searches in declaration order, then the
// items pipelines added.
func (w *ruleWork) items() []*item {
	var out []*item
	d := w.rule.det
	for _, name := range d.names {
		for _, alt := range d.searches[name].alts {
			out = append(out, alt...)
		}
	}
	return append(out, d.logsource...)
}

func (w *ruleWork) markItem(pi *pipelineItem, it *item) {
	if pi.id == "" {
		return
	}
	if w.itemApplid[it] == nil {
		w.itemApplid[it] = map[string]bool{}
	}
	w.itemApplid[it][pi.id] = true
}

// ruleMatches evaluates the rule conditions of pi (none = true).
func (w *ruleWork) ruleMatches(pi *pipelineItem) bool {
	if len(pi.ruleConds) == 0 {
		return true
	}
	res := combine(len(pi.ruleConds), pi.ruleOr, func(i int) bool { return w.ruleCond(pi.ruleConds[i]) })
	return res != pi.ruleNot
}

func combine(n int, or bool, f func(int) bool) bool {
	for i := 0; i < n; i++ {
		v := f(i)
		if or && v {
			return true
		}
		if !or && !v {
			return false
		}
	}
	return !or
}

func (w *ruleWork) ruleCond(c ruleCond) bool {
	switch c.typ {
	case "logsource":
		eq := func(want, got string) bool { return want == "" || strings.EqualFold(want, got) }
		return eq(c.ls.Category, w.ls.Category) && eq(c.ls.Product, w.ls.Product) && eq(c.ls.Service, w.ls.Service)
	case "contains_detection_item":
		for _, it := range w.items() {
			if it.field != c.field {
				continue
			}
			for _, v := range it.src {
				if v.Value == c.value {
					return true
				}
			}
		}
		return false
	case "tag":
		return slices.Contains(w.rule.Tags, c.tag)
	case "processing_item_applied":
		return w.applied[c.applied]
	case "is_sigma_rule":
		return true
	case "is_sigma_correlation_rule":
		return false
	}
	panic("BUG: unknown rule condition " + c.typ)
}

// itemMatches evaluates the field name and detection item conditions of pi on it.
func (w *ruleWork) itemMatches(pi *pipelineItem, it *item) bool {
	if len(pi.fieldConds) > 0 {
		res := combine(len(pi.fieldConds), pi.fieldOr, func(i int) bool { return fieldCondMatch(pi.fieldConds[i], it) })
		if res == pi.fieldNot {
			return false
		}
	}
	if len(pi.itemConds) > 0 {
		res := combine(len(pi.itemConds), pi.itemOr, func(i int) bool { return w.itemCond(pi.itemConds[i], it) })
		if res == pi.itemNot {
			return false
		}
	}
	return true
}

func fieldCondMatch(c fieldCond, it *item) bool {
	if it.keyword {
		// A keyword has no field: include_fields never selects it, exclude_fields always.
		return !c.include
	}
	in := slices.Contains(c.names, it.field)
	for _, re := range c.res {
		if re.MatchString(it.field) {
			in = true
		}
	}
	return in == c.include
}

func (w *ruleWork) itemCond(c itemCond, it *item) bool {
	switch c.typ {
	case "match_string":
		any, all, n := false, true, 0
		for _, v := range it.src {
			if v.ShortTag() != "!!str" {
				continue
			}
			n++
			if c.re.MatchString(v.Value) {
				any = true
			} else {
				all = false
			}
		}
		res := any
		if c.all {
			res = n > 0 && all
		}
		return res != c.negate
	case "is_null":
		isNull := len(it.src) > 0
		for _, v := range it.src {
			if v.ShortTag() != "!!null" {
				isNull = false
			}
		}
		return isNull == c.isNull
	case "processing_item_applied":
		return w.itemApplid[it][c.applied]
	}
	panic("BUG: unknown detection item condition " + c.typ)
}

// mapFields renames fields. A field mapped to several names turns its item into an OR
// over those names: every alternative holding it is repeated once per name
// ((A and f) = (A and f1) or (A and f2)).
func (w *ruleWork) mapFields(pi *pipelineItem) (bool, *posError) {
	targets := func(it *item) []string {
		if it.keyword || !w.itemMatches(pi, it) {
			return nil
		}
		if pi.mapping != nil {
			return pi.mapping[it.field]
		}
		for pre, repl := range pi.prefixMapping {
			if strings.HasPrefix(it.field, pre) {
				return []string{repl + strings.TrimPrefix(it.field, pre)}
			}
		}
		return nil
	}
	changed := false
	d := w.rule.det
	// fieldref values name fields too: map them like field names (one name only).
	for _, it := range w.items() {
		if it.spec.mode != modeFieldRef || !w.itemMatches(pi, it) {
			continue
		}
		touched := false
		for i, v := range it.src {
			ts := targets(&item{field: v.Value})
			if len(ts) > 1 {
				return false, errAt(v, "fieldref names '%s', which the pipeline maps to several fields; map it to one", v.Value)
			}
			if len(ts) == 1 {
				cp := *v
				cp.Value = ts[0]
				it.src[i] = &cp
				touched = true
			}
		}
		if touched {
			if err := compileItem(it, nil); err != nil {
				return false, err
			}
			w.markItem(pi, it)
			changed = true
		}
	}
	for _, it := range d.logsource {
		ts := targets(it)
		switch len(ts) {
		case 0:
		case 1:
			it.field = ts[0]
			w.markItem(pi, it)
			changed = true
		default:
			return false, &posError{line: it.line, col: it.col,
				msg: "pipeline maps added condition field '" + it.field + "' to several fields; map it to one"}
		}
	}
	for _, name := range d.names {
		s := d.searches[name]
		var alts [][]*item
		for _, alt := range s.alts {
			expanded := [][]*item{nil}
			for _, it := range alt {
				ts := targets(it)
				if len(ts) <= 1 {
					if len(ts) == 1 {
						it.field = ts[0]
						w.markItem(pi, it)
						changed = true
					}
					for i := range expanded {
						expanded[i] = append(expanded[i], it)
					}
					continue
				}
				changed = true
				var next [][]*item
				for _, e := range expanded {
					for _, t := range ts {
						cp := *it
						cp.field = t
						cp.src = slices.Clone(it.src) // later value rewrites are per copy
						w.markItem(pi, &cp)
						next = append(next, append(slices.Clone(e), &cp))
					}
				}
				expanded = next
				if len(expanded) > maxValueVariants {
					return false, &posError{line: s.line, col: s.col, msg: "field mappings expand search '" + name + "' into too many alternatives"}
				}
			}
			alts = append(alts, expanded...)
		}
		s.alts = alts
	}
	return changed, nil
}
