package sigmaql

import "strings"

// LogsourceCondition describes the condition the default pipeline adds to rules of ls,
// for EXPLAIN and documentation, e.g. "Channel = 'Security'"; it is empty when the
// default pipeline does not map ls.
func LogsourceCondition(ls Logsource) string {
	r := &Rule{Logsource: ls, det: &detection{searches: map[string]*search{}}}
	if err := applyPipeline(r, DefaultPipeline(), nil); err != nil {
		return ""
	}
	lit := func(p *pred) string {
		if p.kind == predNum {
			return p.text
		}
		return "'" + p.text + "'"
	}
	var parts []string
	for _, it := range r.det.logsource {
		if len(it.values) == 1 {
			parts = append(parts, it.field+" = "+lit(it.values[0][0]))
			continue
		}
		var vs []string
		for _, v := range it.values {
			vs = append(vs, lit(v[0]))
		}
		parts = append(parts, it.field+" IN ("+strings.Join(vs, ", ")+")")
	}
	return strings.Join(parts, " AND ")
}
