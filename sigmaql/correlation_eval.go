package sigmaql

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// resolveCorrelations resolves each correlation's rules (ids or names) against the loaded
// detection rules, then other correlations; a correlation with an unknown reference, or
// one referring to a correlation that did not load, or a cycle, is reported and dropped.
// Detection rules referenced without 'generate: true' are marked CorrelationOnly.
func resolveCorrelations(rs *Ruleset, corrs []*Correlation, diags []Diagnostic) ([]*Correlation, []Diagnostic) {
	ruleIdx := map[string]int{}
	for i, r := range rs.Rules {
		if r.ID != "" {
			ruleIdx[r.ID] = i
		}
		if r.Name != "" {
			ruleIdx[r.Name] = i
		}
	}
	alive := slices.Clone(corrs)
	for {
		corrIdx := map[string]int{}
		for i, c := range alive {
			if c.ID != "" {
				corrIdx[c.ID] = i
			}
			if c.Name != "" {
				corrIdx[c.Name] = i
			}
		}
		var next []*Correlation
		dropped := false
		for _, c := range alive {
			c.refs = c.refs[:0]
			var bad string
			for _, ref := range c.Rules {
				if i, ok := ruleIdx[ref]; ok {
					c.refs = append(c.refs, corrRef{name: ref, rule: i, corr: -1})
				} else if j, ok := corrIdx[ref]; ok && alive[j] != c {
					c.refs = append(c.refs, corrRef{name: ref, rule: -1, corr: j})
				} else {
					bad = ref
					break
				}
			}
			if bad == "" {
				for alias, byRule := range c.Aliases {
					for rn := range byRule {
						if !slices.Contains(c.Rules, rn) {
							bad = "alias " + alias + ": " + rn
						}
					}
				}
			}
			if bad != "" {
				diags = append(diags, Diagnostic{File: c.File, Line: c.Line, Column: 1, RuleID: c.ID,
					Message: fmt.Sprintf("correlation refers to '%s', which is not a loaded rule or correlation of this ruleset (refer by id or name)", bad)})
				dropped = true
				continue
			}
			next = append(next, c)
		}
		alive = next
		if !dropped {
			break
		}
	}
	// Cycles: a correlation that reaches itself through its references.
	var out []*Correlation
	for i, c := range alive {
		if reaches(alive, i, i, map[int]bool{}) {
			diags = append(diags, Diagnostic{File: c.File, Line: c.Line, Column: 1, RuleID: c.ID,
				Message: "correlation refers to itself through its chain of correlations"})
			continue
		}
		out = append(out, c)
	}
	if len(out) != len(alive) {
		// Re-resolve indexes against the final list.
		return resolveCorrelations(rs, out, diags)
	}
	for _, c := range out {
		if c.Generate {
			continue
		}
		for _, ref := range c.refs {
			if ref.rule >= 0 {
				rs.Rules[ref.rule].CorrelationOnly = true
			}
		}
	}
	return out, diags
}

func reaches(cs []*Correlation, from, target int, seen map[int]bool) bool {
	for _, ref := range cs[from].refs {
		if ref.corr < 0 {
			continue
		}
		if ref.corr == target {
			return true
		}
		if !seen[ref.corr] {
			seen[ref.corr] = true
			if reaches(cs, ref.corr, target, seen) {
				return true
			}
		}
	}
	return false
}

// CorrelationHit is one firing of a correlation rule.
type CorrelationHit struct {
	// Correlation indexes Ruleset.Correlations.
	Correlation int
	// Time is the timestamp of the event that completed the correlation.
	Time time.Time
	// Group holds the group-by field values of the firing group (missing fields as "").
	Group map[string]string
	// Value is the aggregate compared with the condition: the event count, distinct
	// value count, number of referenced rules seen (temporal), or the sum, mean or
	// percentile of the field.
	Value float64
	// Events is the number of contributing events in the window.
	Events int
}

// Correlator is the reference correlation evaluator: fed events in time order with the
// detection rules each matched, it keeps a sliding window per correlation and group and
// returns the correlations that fire. A correlation's hit feeds the correlations that
// reference it (chaining), as an event whose fields are the hit's group values. Not safe
// for concurrent use.
type Correlator struct {
	rs     *Ruleset
	byRule map[int][]corrUse // detection rule -> correlations referencing it
	byCorr map[int][]corrUse // correlation -> correlations referencing it
	groups []map[string]*corrGroup
}

type corrUse struct {
	corr int // the referencing correlation
	ref  int // position in its refs
}

type corrGroup struct {
	group   map[string]string
	entries []corrEntry
}

type corrEntry struct {
	ts     time.Time
	ref    int
	val    string
	hasVal bool
	num    float64
	hasNum bool
}

// NewCorrelator returns a correlator over rs's correlations.
func NewCorrelator(rs *Ruleset) *Correlator {
	c := &Correlator{rs: rs, byRule: map[int][]corrUse{}, byCorr: map[int][]corrUse{},
		groups: make([]map[string]*corrGroup, len(rs.Correlations))}
	for ci, corr := range rs.Correlations {
		c.groups[ci] = map[string]*corrGroup{}
		for ri, ref := range corr.refs {
			if ref.rule >= 0 {
				c.byRule[ref.rule] = append(c.byRule[ref.rule], corrUse{ci, ri})
			} else {
				c.byCorr[ref.corr] = append(c.byCorr[ref.corr], corrUse{ci, ri})
			}
		}
	}
	return c
}

// Observe feeds one event at ts with the indexes (into Ruleset.Rules) of the detection
// rules it matched, and returns the correlation hits it completes, chained hits after the
// hits that caused them. Events must come in non-decreasing time order: the window of a
// group is [ts - timespan, ts] for the newest ts seen in it.
func (c *Correlator) Observe(ts time.Time, event map[string]any, matched []int) []CorrelationHit {
	var hits []CorrelationHit
	for _, r := range matched {
		for _, use := range c.byRule[r] {
			hits = append(hits, c.feed(use, ts, func(f string) (any, bool) { v, ok := event[f]; return v, ok })...)
		}
	}
	// Chaining: every hit is an event for the correlations that reference it.
	for i := 0; i < len(hits); i++ {
		h := hits[i]
		for _, use := range c.byCorr[h.Correlation] {
			hits = append(hits, c.feed(use, h.Time, func(f string) (any, bool) { v, ok := h.Group[f]; return v, ok })...)
		}
	}
	return hits
}

// feed adds one event of reference use.ref to correlation use.corr.
func (c *Correlator) feed(use corrUse, ts time.Time, get func(string) (any, bool)) []CorrelationHit {
	corr := c.rs.Correlations[use.corr]
	refName := corr.refs[use.ref].name
	field := func(f string) string {
		if byRule, ok := corr.Aliases[f]; ok {
			if real, ok := byRule[refName]; ok {
				return real
			}
		}
		return f
	}
	group := map[string]string{}
	var key strings.Builder
	for _, g := range corr.GroupBy {
		s := ""
		if v, ok := get(field(g)); ok && v != nil {
			s = fmt.Sprint(v)
		}
		group[g] = s
		key.WriteString(strconv.Quote(s))
		key.WriteByte(0)
	}
	e := corrEntry{ts: ts, ref: use.ref}
	if corr.Field != "" {
		if v, ok := get(field(corr.Field)); ok && v != nil {
			e.val, e.hasVal = fmt.Sprint(v), true
			if f, err := strconv.ParseFloat(strings.TrimSpace(e.val), 64); err == nil && !math.IsNaN(f) {
				e.num, e.hasNum = f, true
			}
		}
	}
	g := c.groups[use.corr][key.String()]
	if g == nil {
		g = &corrGroup{group: group}
		c.groups[use.corr][key.String()] = g
	}
	// Sliding window: drop entries older than ts - timespan.
	lo := ts.Add(-corr.Timespan)
	k := 0
	for k < len(g.entries) && g.entries[k].ts.Before(lo) {
		k++
	}
	g.entries = append(g.entries[k:], e)
	val, ok := corrValue(corr, g.entries)
	if !ok || !corrCondition(corr, val) {
		return nil
	}
	hit := CorrelationHit{Correlation: use.corr, Time: ts, Group: g.group, Value: val, Events: len(g.entries)}
	// A group fires once per burst: its window starts afresh after a hit.
	g.entries = nil
	return []CorrelationHit{hit}
}

// corrValue computes the aggregate of a window; false when there is nothing to compare
// (no numeric values for value_sum/avg/percentile).
func corrValue(corr *Correlation, es []corrEntry) (float64, bool) {
	switch corr.Type {
	case CorrEventCount:
		return float64(len(es)), true
	case CorrValueCount:
		seen := map[string]bool{}
		for _, e := range es {
			if e.hasVal {
				seen[e.val] = true
			}
		}
		return float64(len(seen)), true
	case CorrTemporal:
		seen := map[int]bool{}
		for _, e := range es {
			seen[e.ref] = true
		}
		return float64(len(seen)), true
	case CorrTemporalOrdered:
		// The longest prefix of the listed rules seen in order within the window.
		next := 0
		for _, e := range es {
			if next < len(corr.refs) && e.ref == next {
				next++
			}
		}
		return float64(next), true
	}
	var nums []float64
	for _, e := range es {
		if e.hasNum {
			nums = append(nums, e.num)
		}
	}
	if len(nums) == 0 {
		return 0, false
	}
	switch corr.Type {
	case CorrValueSum, CorrValueAvg:
		sum := 0.0
		for _, n := range nums {
			sum += n
		}
		if corr.Type == CorrValueAvg {
			return sum / float64(len(nums)), true
		}
		return sum, true
	}
	// value_percentile, value_median: nearest rank.
	slices.Sort(nums)
	rank := int(math.Ceil(corr.Percentile / 100 * float64(len(nums))))
	if rank < 1 {
		rank = 1
	}
	return nums[rank-1], true
}

// corrCondition applies the correlation's comparisons (ANDed). Temporal correlations
// without a condition need every referenced rule.
func corrCondition(corr *Correlation, v float64) bool {
	if len(corr.Condition) == 0 {
		return v >= float64(len(corr.refs))
	}
	for _, cc := range corr.Condition {
		var ok bool
		switch cc.Op {
		case "gt":
			ok = v > cc.Value
		case "gte":
			ok = v >= cc.Value
		case "lt":
			ok = v < cc.Value
		case "lte":
			ok = v <= cc.Value
		case "eq":
			ok = v == cc.Value
		case "neq":
			ok = v != cc.Value
		}
		if !ok {
			return false
		}
	}
	return true
}
