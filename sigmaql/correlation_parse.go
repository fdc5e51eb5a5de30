package sigmaql

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Correlation types (SIGMA.md §2.2).
const (
	CorrEventCount      = "event_count"
	CorrValueCount      = "value_count"
	CorrTemporal        = "temporal"
	CorrTemporalOrdered = "temporal_ordered"
	CorrValueSum        = "value_sum"
	CorrValueAvg        = "value_avg"
	CorrValuePercentile = "value_percentile"
	CorrValueMedian     = "value_median"
)

var correlationTypes = []string{CorrEventCount, CorrValueCount, CorrTemporal, CorrTemporalOrdered,
	CorrValueSum, CorrValueAvg, CorrValuePercentile, CorrValueMedian}

// CorrelationCond is one comparison of a correlation condition (several are ANDed).
type CorrelationCond struct {
	Op    string // gt, gte, lt, lte, eq, neq
	Value float64
}

// Correlation is a parsed correlation rule (meta-rule) over detection rules or other
// correlations, evaluated by a Correlator over a time-ordered event stream.
type Correlation struct {
	ID          string
	Name        string
	Title       string
	Level       string
	Status      string
	Description string
	Tags        []string
	File        string
	Line        int

	Type string
	// Rules are the referenced rules and correlations as written (ids or names).
	Rules   []string
	GroupBy []string
	// Aliases maps an alias field name to the field of each referenced rule, by rule name.
	Aliases  map[string]map[string]string
	Timespan time.Duration
	// Condition holds the comparisons (ANDed); empty for temporal types without one,
	// which then require every referenced rule in the window.
	Condition []CorrelationCond
	// Field is the aggregated field of the value_* types.
	Field string
	// Percentile is the percentile (0-100) of value_percentile; 50 for value_median.
	Percentile float64
	// Generate keeps the referenced rules' own matches (default false: they only feed
	// the correlation).
	Generate bool

	refs []corrRef // resolved Rules, in order
}

// corrRef is one resolved reference: a detection rule (rule >= 0) or a correlation.
type corrRef struct {
	name string // as written
	rule int    // index into Ruleset.Rules, or -1
	corr int    // index into Ruleset.Correlations, or -1
}

// parseCorrelation parses a correlation document.
func parseCorrelation(root *yaml.Node) (*Correlation, *posError) {
	c := &Correlation{Line: root.Line}
	var body, bodyKey *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		switch k.Value {
		case "title":
			c.Title = scalarText(v)
		case "id":
			c.ID = scalarText(v)
		case "name":
			c.Name = scalarText(v)
		case "level":
			c.Level = scalarText(v)
		case "status":
			c.Status = scalarText(v)
		case "description":
			c.Description = scalarText(v)
		case "tags":
			c.Tags = stringList(v)
		case "correlation":
			body, bodyKey = v, k
		case "detection", "logsource":
			return c, errAt(k, "a correlation rule has no '%s'; put the detection in its own rule document and reference it in 'rules'", k.Value)
		case "generate":
			return c, errAt(k, "'generate' belongs inside the 'correlation' mapping")
		}
	}
	if body.Kind != yaml.MappingNode {
		return c, errAt(bodyKey, "'correlation' must be a mapping")
	}
	get := map[string]*yaml.Node{}
	for i := 0; i+1 < len(body.Content); i += 2 {
		k, v := body.Content[i], deref(body.Content[i+1])
		switch k.Value {
		case "type", "rules", "group-by", "timespan", "condition", "aliases", "generate":
			get[k.Value] = v
		case "timeframe":
			return c, errAt(k, "'timeframe' is called 'timespan' in correlation rules")
		default:
			return c, errAt(k, "unknown correlation key '%s' (known: type, rules, group-by, timespan, condition, aliases, generate)", k.Value)
		}
	}
	t := get["type"]
	if t == nil {
		return c, errAt(bodyKey, "correlation has no 'type' (one of %s)", strings.Join(correlationTypes, ", "))
	}
	if !slices.Contains(correlationTypes, t.Value) {
		return c, errAt(t, "unknown correlation type '%s' (one of %s)", t.Value, strings.Join(correlationTypes, ", "))
	}
	c.Type = t.Value
	r := get["rules"]
	if r == nil {
		return c, errAt(bodyKey, "correlation has no 'rules'")
	}
	rules, err := scalarList(r)
	if err != nil {
		return c, err
	}
	c.Rules = rules
	if g := get["group-by"]; g != nil {
		if c.GroupBy, err = scalarList(g); err != nil {
			return c, err
		}
	}
	ts := get["timespan"]
	if ts == nil {
		return c, errAt(bodyKey, "correlation has no 'timespan' (e.g. 5m)")
	}
	d, ok := parseTimespan(ts.Value)
	if !ok {
		return c, errAt(ts, "invalid timespan %q: write a number and a unit s, m, h, d, w, M or y (e.g. 15m)", ts.Value)
	}
	c.Timespan = d
	if g := get["generate"]; g != nil {
		if g.ShortTag() != "!!bool" {
			return c, errAt(g, "'generate' must be true or false")
		}
		c.Generate = strings.EqualFold(g.Value, "true")
	}
	if a := get["aliases"]; a != nil {
		if a.Kind != yaml.MappingNode {
			return c, errAt(a, "'aliases' must map alias names to {rule name: field}")
		}
		c.Aliases = map[string]map[string]string{}
		for i := 0; i+1 < len(a.Content); i += 2 {
			m := deref(a.Content[i+1])
			if m.Kind != yaml.MappingNode {
				return c, errAt(m, "alias '%s' must map rule names to fields", a.Content[i].Value)
			}
			fields := map[string]string{}
			for j := 0; j+1 < len(m.Content); j += 2 {
				fields[m.Content[j].Value] = deref(m.Content[j+1]).Value
			}
			c.Aliases[a.Content[i].Value] = fields
		}
	}
	temporal := c.Type == CorrTemporal || c.Type == CorrTemporalOrdered
	cond := get["condition"]
	if cond == nil {
		if !temporal {
			return c, errAt(bodyKey, "a %s correlation needs a 'condition' (e.g. gte: 10)", c.Type)
		}
	} else {
		if cond.Kind != yaml.MappingNode {
			return c, errAt(cond, "'condition' must be a mapping of comparisons (gt, gte, lt, lte, eq, neq)")
		}
		for i := 0; i+1 < len(cond.Content); i += 2 {
			k, v := cond.Content[i], deref(cond.Content[i+1])
			switch k.Value {
			case "gt", "gte", "lt", "lte", "eq", "neq":
				f, err := strconv.ParseFloat(v.Value, 64)
				if err != nil {
					return c, errAt(v, "'%s' needs a number, got %q", k.Value, v.Value)
				}
				c.Condition = append(c.Condition, CorrelationCond{Op: k.Value, Value: f})
			case "field":
				c.Field = v.Value
			case "percentile":
				f, err := strconv.ParseFloat(v.Value, 64)
				if err != nil || f < 0 || f > 100 {
					return c, errAt(v, "'percentile' needs a number from 0 to 100, got %q", v.Value)
				}
				c.Percentile = f
			default:
				return c, errAt(k, "unknown correlation condition key '%s' (known: gt, gte, lt, lte, eq, neq, field, percentile)", k.Value)
			}
		}
		if len(c.Condition) == 0 {
			return c, errAt(cond, "correlation condition has no comparison (gt, gte, lt, lte, eq, neq)")
		}
	}
	switch c.Type {
	case CorrValueCount, CorrValueSum, CorrValueAvg, CorrValuePercentile, CorrValueMedian:
		if c.Field == "" {
			return c, errAt(cond, "a %s correlation needs 'field' in its condition", c.Type)
		}
	default:
		if c.Field != "" {
			return c, errAt(cond, "'field' has no meaning for a %s correlation", c.Type)
		}
	}
	if c.Type == CorrValueMedian {
		c.Percentile = 50
	}
	if c.Type == CorrValuePercentile && !hasKey(cond, "percentile") {
		return c, errAt(cond, "a value_percentile correlation needs 'percentile' (0-100) in its condition")
	}
	if temporal && len(c.Rules) < 2 {
		return c, errAt(r, "a %s correlation needs at least two rules", c.Type)
	}
	return c, nil
}

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

// parseTimespan reads Ns, Nm, Nh, Nd, Nw, NM (30 days) or Ny (365 days).
func parseTimespan(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, false
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour,
		'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	u, ok := unit[s[len(s)-1]]
	if !ok {
		return 0, false
	}
	return time.Duration(n) * u, true
}
