package planner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// optimise rewrites the plan, returning the new root:
//
//  1. predicate pushdown: filter conjuncts move as close to the scans as their columns
//     allow: through projections (substituting the projected expressions), below
//     detect() when they only read table columns, into the side of a join they read,
//     below an aggregation when they only read its keys, into every member of a UNION;
//     never through LIMIT or a top-N;
//  2. rule pruning: conjuncts above a detect that constrain a rule column
//     (rule_level/rule_id/rule_title/rule_tags = 'x' or IN (...)) drop the rules that
//     cannot satisfy them before compilation; the filter stays, so results are the same;
//  3. scan hints: the conjuncts directly above a scan (column op constant, IN) and the
//     time range they imply on "ts" are offered to tables that take hints, and a LIMIT
//     with nothing but projections between it and a scan becomes a scan row limit;
//  4. fragments: every leaf chain (scan, detect, filter, project) becomes a fragment
//     behind an exchange. Under an aggregation the aggregation is split into a partial
//     aggregate inside the fragment and a final one above the exchange; under a top-N a
//     local top-N runs inside the fragment; such fragments (and join build sides) run
//     in parallel workers, the others stay in scan order;
//  5. projection pruning: each scan reads only the columns some operator above uses
//     (detect reads every column: Sigma keyword searches look at all of them);
//  6. the rulesets are compiled for their tables, so a broken ruleset fails at Prepare.
//
// Constant folding happens at bind time (foldConstant, foldCompare).
func optimise(root logicalNode) (out logicalNode, err error) {
	root = rewritePushdown(root)
	walk(root, func(n logicalNode) {
		if f, ok := n.(*filterNode); ok {
			if det, ok := f.input.(*detectNode); ok {
				pruneRules(det, f.pred)
			}
			if scan, ok := f.input.(*scanNode); ok {
				hintScan(scan, f.pred)
			}
		}
		if l, ok := n.(*limitNode); ok && l.count >= 0 {
			in := l.input
			for {
				p, ok := in.(*projectNode)
				if !ok {
					break
				}
				in = p.input
			}
			if scan, ok := in.(*scanNode); ok {
				scan.scanHints.Limit = l.count + l.offset
			}
		}
	})
	frag := 0
	root = addExchanges(root, &frag, false)
	prune(root, allCols(root))
	var compileErr error
	walk(root, func(n logicalNode) {
		det, ok := n.(*detectNode)
		if !ok || compileErr != nil {
			return
		}
		scan := fragmentScan(det.input)
		if scan == nil {
			return
		}
		defer func() {
			if r := recover(); r != nil {
				compileErr = fmt.Errorf("compile ruleset %q: internal error: %v", det.ruleset.Name, r)
			}
		}()
		if _, err := det.ruleset.Compile(scan.table.Schema()); err != nil {
			compileErr = fmt.Errorf("compile ruleset %q for table %s: %w", det.ruleset.Name, quoteName(scan.tableName), err)
		}
	})
	if compileErr != nil {
		return nil, compileErr
	}
	return root, nil
}

// walk calls f on every node, parents first.
func walk(n logicalNode, f func(logicalNode)) {
	f(n)
	for _, in := range n.inputs() {
		walk(in, f)
	}
}

func allCols(n logicalNode) map[int]bool {
	m := map[int]bool{}
	for i := range n.columns() {
		m[i] = true
	}
	return m
}

// rewritePushdown applies predicate pushdown bottom-up.
func rewritePushdown(n logicalNode) logicalNode {
	switch x := n.(type) {
	case *filterNode:
		in := rewritePushdown(x.input)
		preds := conjuncts(x.pred)
		// Constant folding: TRUE conjuncts vanish.
		kept := preds[:0]
		for _, p := range preds {
			if l, ok := p.(*literal); ok && l.val == true {
				continue
			}
			kept = append(kept, p)
		}
		return pushDown(in, kept)
	case *detectNode:
		x.input = rewritePushdown(x.input)
	case *projectNode:
		x.input = rewritePushdown(x.input)
	case *aggregateNode:
		x.input = rewritePushdown(x.input)
	case *sortNode:
		x.input = rewritePushdown(x.input)
	case *limitNode:
		x.input = rewritePushdown(x.input)
	case *joinNode:
		x.left = rewritePushdown(x.left)
		x.right = rewritePushdown(x.right)
	case *unionNode:
		for i := range x.ins {
			x.ins[i] = rewritePushdown(x.ins[i])
		}
	case *exchangeNode:
		x.input = rewritePushdown(x.input)
	}
	return n
}

// pushDown returns a plan equal to Filter(AND preds) over n, with each conjunct pushed
// as deep as it can go.
func pushDown(n logicalNode, preds []predicate) logicalNode {
	if len(preds) == 0 {
		return n
	}
	switch x := n.(type) {
	case *filterNode:
		return pushDown(x.input, append(conjuncts(x.pred), preds...))
	case *projectNode:
		var down, stay []predicate
		for _, p := range preds {
			m, ok := mapCols(p, func(c *colRef) expr { return x.exprs[c.idx] })
			if ok {
				down = append(down, asPredicate(m))
			} else {
				stay = append(stay, p)
			}
		}
		x.input = pushDown(x.input, down)
		return wrapFilter(x, stay)
	case *sortNode:
		if x.limit < 0 {
			x.input = pushDown(x.input, preds)
			return x
		}
	case *detectNode:
		var down, stay []predicate
		for _, p := range preds {
			hi, _ := colRange(p)
			if _, isSigma := p.(*sigmaPred); !isSigma && hi < x.tableCols {
				down = append(down, p)
			} else {
				stay = append(stay, p)
			}
		}
		x.input = pushDown(x.input, down)
		return wrapFilter(x, stay)
	case *joinNode:
		nl := len(x.left.columns())
		var left, right, stay []predicate
		for _, p := range preds {
			hi, lo := colRange(p)
			_, isSigma := p.(*sigmaPred)
			switch {
			case isSigma || lo < 0:
				stay = append(stay, p)
			case hi < nl:
				left = append(left, p)
			case lo >= nl && x.kind == joinInner:
				right = append(right, asPredicate(shiftCols(p, -nl)))
			default:
				stay = append(stay, p)
			}
		}
		x.left = pushDown(x.left, left)
		x.right = pushDown(x.right, right)
		return wrapFilter(x, stay)
	case *aggregateNode:
		if x.phase != aggSingle {
			break
		}
		var down, stay []predicate
		for _, p := range preds {
			hi, _ := colRange(p)
			if hi < len(x.keys) {
				if m, ok := mapCols(p, func(c *colRef) expr { return x.keys[c.idx] }); ok {
					down = append(down, asPredicate(m))
					continue
				}
			}
			stay = append(stay, p)
		}
		x.input = pushDown(x.input, down)
		return wrapFilter(x, stay)
	case *unionNode:
		for _, p := range preds {
			if _, isSigma := p.(*sigmaPred); isSigma {
				return wrapFilter(x, preds)
			}
		}
		for i := range x.ins {
			x.ins[i] = pushDown(x.ins[i], preds)
		}
		return x
	}
	return wrapFilter(n, preds)
}

func wrapFilter(n logicalNode, preds []predicate) logicalNode {
	if len(preds) == 0 {
		return n
	}
	return &filterNode{input: n, pred: andAll(preds)}
}

// isLeafChain reports whether n is a chain of filter/project/detect nodes over a scan.
func isLeafChain(n logicalNode) bool {
	for {
		switch x := n.(type) {
		case *scanNode:
			return true
		case *filterNode:
			n = x.input
		case *projectNode:
			n = x.input
		case *detectNode:
			n = x.input
		default:
			return false
		}
	}
}

// addExchanges places the fragment boundaries (see optimise). unordered says whether
// n's consumer ignores row order.
func addExchanges(n logicalNode, frag *int, unordered bool) logicalNode {
	newEx := func(in logicalNode, ordered bool) *exchangeNode {
		*frag++
		return &exchangeNode{input: in, fragment: *frag, ordered: ordered}
	}
	if isLeafChain(n) {
		return newEx(n, !unordered)
	}
	switch x := n.(type) {
	case *aggregateNode:
		if x.phase == aggSingle && isLeafChain(x.input) && splittable(x) {
			partial, final := splitAggregate(x)
			partial.input = x.input
			final.input = newEx(partial, false)
			return final
		}
		x.input = addExchanges(x.input, frag, true)
	case *sortNode:
		if x.limit >= 0 && isLeafChain(x.input) {
			local := &sortNode{input: x.input, keys: x.keys, limit: x.limit}
			x.input = newEx(local, false)
			return x
		}
		x.input = addExchanges(x.input, frag, true)
	case *filterNode:
		x.input = addExchanges(x.input, frag, unordered)
	case *projectNode:
		x.input = addExchanges(x.input, frag, unordered)
	case *detectNode:
		x.input = addExchanges(x.input, frag, unordered)
	case *limitNode:
		x.input = addExchanges(x.input, frag, false)
	case *joinNode:
		x.left = addExchanges(x.left, frag, unordered)
		x.right = addExchanges(x.right, frag, true)
	case *unionNode:
		for i := range x.ins {
			x.ins[i] = addExchanges(x.ins[i], frag, unordered)
		}
	}
	return n
}

// splittable reports whether an aggregation can be computed as partial + final.
func splittable(a *aggregateNode) bool {
	for _, c := range a.aggs {
		if c.distinct {
			return false
		}
	}
	return true
}

// splitAggregate returns the partial and final halves of a; the caller links inputs.
func splitAggregate(a *aggregateNode) (partial, final *aggregateNode) {
	partial = &aggregateNode{keys: a.keys, keyNames: a.keyNames, phase: aggPartial, distinct: a.distinct}
	final = &aggregateNode{keyNames: a.keyNames, names: a.names, phase: aggFinal, distinct: a.distinct}
	nk := len(a.keys)
	for i, k := range a.keys {
		final.keys = append(final.keys, &colRef{idx: i, name: a.keyNames[i], typ: canonicalType(k.dataType())})
	}
	col := func(name string, typ interface{ String() string }) {}
	_ = col
	for i, c := range a.aggs {
		switch c.fn {
		case "avg":
			s := aggCall{fn: "sum", arg: c.arg, typ: tFloat}
			n := aggCall{fn: "count", arg: c.arg, typ: tInt}
			partial.aggs = append(partial.aggs, s, n)
			partial.names = append(partial.names, "~sum"+fmt.Sprint(i), "~count"+fmt.Sprint(i))
			si, ni := nk+len(partial.aggs)-2, nk+len(partial.aggs)-1
			final.aggs = append(final.aggs, aggCall{fn: "avg_merge", arg: &colRef{idx: si, name: "~sum", typ: tFloat},
				arg2: &colRef{idx: ni, name: "~count", typ: tInt}, typ: tFloat})
		default:
			partial.aggs = append(partial.aggs, c)
			partial.names = append(partial.names, a.names[i])
			ref := &colRef{idx: nk + len(partial.aggs) - 1, name: a.names[i], typ: c.typ}
			fn := c.fn
			if fn == "count" {
				fn = "sum"
			}
			final.aggs = append(final.aggs, aggCall{fn: fn, arg: ref, typ: c.typ})
		}
	}
	return partial, final
}

// prune sets each scan's columns to those the plan above uses; need holds the
// ordinals of n's output that its consumer reads.
func prune(n logicalNode, need map[int]bool) {
	switch x := n.(type) {
	case *scanNode:
		var cols []int
		for i := range x.cols {
			if need[i] {
				cols = append(cols, i)
			}
		}
		if len(cols) == 0 {
			// count(*) alone: read one column, preferring a fixed-width one, since
			// not every storage can produce zero-column batches.
			cols = []int{cheapestColumn(x)}
		}
		if len(cols) < len(x.cols) {
			x.columns_ = cols
		} else {
			x.columns_ = nil
		}
	case *detectNode:
		x.needed = map[int]bool{}
		for i := range need {
			if i < x.tableCols {
				x.needed[i] = true
			}
		}
		in := map[int]bool{}
		for i := 0; i < x.tableCols; i++ {
			in[i] = true
		}
		prune(x.input, in)
	case *filterNode:
		in := copySet(need)
		collectCols(x.pred, in)
		prune(x.input, in)
	case *projectNode:
		in := map[int]bool{}
		for i, e := range x.exprs {
			if need[i] || true {
				collectCols(e, in)
			}
		}
		prune(x.input, in)
	case *aggregateNode:
		in := map[int]bool{}
		for _, k := range x.keys {
			collectCols(k, in)
		}
		for _, a := range x.aggs {
			collectCols(a.arg, in)
			collectCols(a.arg2, in)
		}
		prune(x.input, in)
	case *sortNode:
		in := copySet(need)
		for _, k := range x.keys {
			collectCols(k.e, in)
		}
		prune(x.input, in)
	case *limitNode:
		prune(x.input, need)
	case *exchangeNode:
		prune(x.input, need)
	case *joinNode:
		nl := len(x.left.columns())
		all := copySet(need)
		collectCols(x.residual, all)
		l, r := map[int]bool{}, map[int]bool{}
		for i := range all {
			if i < nl {
				l[i] = true
			} else {
				r[i-nl] = true
			}
		}
		for _, k := range x.lkeys {
			collectCols(k, l)
		}
		for _, k := range x.rkeys {
			collectCols(k, r)
		}
		prune(x.left, l)
		prune(x.right, r)
	case *unionNode:
		for _, in := range x.ins {
			prune(in, allCols(in))
		}
	}
}

func copySet(m map[int]bool) map[int]bool {
	out := make(map[int]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
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

// hintScan derives scan hints from the conjuncts of the filter above a scan.
func hintScan(scan *scanNode, pred predicate) {
	h := &scan.scanHints
	for _, p := range conjuncts(pred) {
		switch x := p.(type) {
		case *cmpExpr:
			lit, ok := x.r.(*literal)
			if !ok || lit.val == nil {
				continue
			}
			h.Filters = append(h.Filters, ScanFilter{Column: x.l.name, Op: cmpOpText[x.op], Values: []any{lit.val}})
			scan.pushed = append(scan.pushed, x.String())
			t, isTime := lit.val.(time.Time)
			if !isTime || x.l.name != "ts" {
				continue
			}
			us := t.UnixMicro()
			switch x.op {
			case opGE, opGT, opEQ:
				if !h.HasMinTime || us > h.MinTime {
					h.MinTime, h.HasMinTime = us, true
				}
			}
			switch x.op {
			case opLE, opLT, opEQ:
				if !h.HasMaxTime || us < h.MaxTime {
					h.MaxTime, h.HasMaxTime = us, true
				}
			}
			h.TimeColumn = "ts"
		case *inExpr:
			if x.not {
				continue
			}
			vals := make([]any, 0, len(x.vals))
			for _, v := range x.vals {
				vals = append(vals, v.val)
			}
			h.Filters = append(h.Filters, ScanFilter{Column: x.x.name, Op: "in", Values: vals})
			scan.pushed = append(scan.pushed, x.String())
		}
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
