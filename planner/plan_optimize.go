package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// optimise applies the rewrites this version has, in place:
//
//   - rule pruning: conjuncts of the filter that constrain a rule metadata column
//     (rule_level/rule_id/rule_title/rule_tags = 'x' or IN ('x', ...)) drop the rules
//     that cannot satisfy them before the ruleset is compiled (Ruleset.Subset). The
//     filter stays in the plan, so the result is the same with or without pruning;
//   - projection pruning: the scan reads only the columns the query uses, plus every
//     column the ruleset may read under detect.
//
// It returns an error when the ruleset fails to compile against the table's schema, so
// that a broken ruleset fails at Prepare rather than mid-stream.
func optimise(root logicalNode) (err error) {
	var scan *scanNode
	var det *detectNode
	var filter *filterNode
	used := map[int]bool{}
	for n := root; n != nil; n = n.child() {
		switch x := n.(type) {
		case *scanNode:
			scan = x
		case *detectNode:
			det = x
		case *filterNode:
			filter = x
			collectCols(x.pred, used)
		case *projectNode:
			for _, e := range x.exprs {
				collectCols(e, used)
			}
		case *aggregateNode:
			for _, a := range x.aggs {
				if a.arg != nil {
					used[a.arg.idx] = true
				}
			}
		}
	}
	if det != nil {
		if filter != nil {
			pruneRules(det, filter.pred)
		}
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("compile ruleset %q: internal error: %v", det.ruleset.Name, r)
			}
		}()
		prog, err := det.ruleset.Compile(scan.table.Schema())
		if err != nil {
			return fmt.Errorf("compile ruleset %q for table %s: %w", det.ruleset.Name, quoteName(scan.tableName), err)
		}
		// Optional capability: a program that reports the columns it reads lets the
		// scan skip the others. Without it every column is scanned.
		pc, ok := any(prog).(interface{ Columns() []string })
		if !ok {
			return nil
		}
		for _, name := range pc.Columns() {
			for i, c := range scan.cols {
				if c.name == name {
					used[i] = true
				}
			}
		}
	}
	var cols []int
	for i := range scan.cols {
		if used[i] {
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		// count(*) alone: read one column, preferring a fixed-width one, since not
		// every storage can produce zero-column batches.
		cols = []int{cheapestColumn(scan)}
	}
	if len(cols) < len(scan.cols) {
		scan.columns = cols
	}
	return nil
}

// cheapestColumn picks the column a row count reads.
func cheapestColumn(scan *scanNode) int {
	for i, c := range scan.cols {
		if c.name == "ts" {
			return i
		}
	}
	for i, c := range scan.cols {
		switch classOf(c.typ) {
		case classNumber, classBool, classTime:
			return i
		}
	}
	return 0
}

// collectCols adds the ordinals e references to used.
func collectCols(e expr, used map[int]bool) {
	switch x := e.(type) {
	case *colRef:
		used[x.idx] = true
	case *cmpExpr:
		collectCols(x.l, used)
		collectCols(x.r, used)
	case *andExpr:
		collectCols(x.l, used)
		collectCols(x.r, used)
	case *orExpr:
		collectCols(x.l, used)
		collectCols(x.r, used)
	case *notExpr:
		collectCols(x.x, used)
	case *isNullExpr:
		used[x.x.idx] = true
	case *likeExpr:
		used[x.x.idx] = true
	case *inExpr:
		used[x.x.idx] = true
	}
}

// ruleField returns the metadata a rule column shows for r.
func ruleField(col string, r *sigmaql.Rule) string {
	switch col {
	case colRuleID:
		return r.ID
	case colRuleTitle:
		return r.Title
	case colRuleLevel:
		return r.Level
	}
	return strings.Join(r.Tags, ",")
}

// pruneRules narrows det's ruleset by the filter's conjuncts on rule columns.
func pruneRules(det *detectNode, pred predicate) {
	type constraint struct {
		col  string
		vals []string
	}
	var cons []constraint
	var text []string
	isRuleCol := func(c *colRef) bool { return c.idx >= det.tableCols }
	for _, p := range conjuncts(pred) {
		switch x := p.(type) {
		case *cmpExpr:
			lit, ok := x.r.(*literal)
			if !ok || x.op != opEQ || !isRuleCol(x.l) {
				continue
			}
			if s, ok := lit.val.(string); ok {
				cons = append(cons, constraint{x.l.name, []string{s}})
				text = append(text, x.String())
			}
		case *inExpr:
			if x.not || !isRuleCol(x.x) {
				continue
			}
			var vals []string
			for _, v := range x.vals {
				if s, ok := v.val.(string); ok {
					vals = append(vals, s)
				}
			}
			cons = append(cons, constraint{x.x.name, vals})
			text = append(text, x.String())
		}
	}
	if len(cons) == 0 {
		return
	}
	det.ruleset = det.ruleset.Subset(func(r *sigmaql.Rule) bool {
		for _, c := range cons {
			if !slices.Contains(c.vals, ruleField(c.col, r)) {
				return false
			}
		}
		return true
	})
	det.prunedBy = text
}

// conjuncts flattens a tree of ANDs.
func conjuncts(p predicate) []predicate {
	if a, ok := p.(*andExpr); ok {
		return append(conjuncts(a.l), conjuncts(a.r)...)
	}
	return []predicate{p}
}
