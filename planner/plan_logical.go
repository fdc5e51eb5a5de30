package planner

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// The logical plan is a tree of nodes. Each node produces a relation (columns()) and
// column references in its expressions hold ordinals of its input's relation (a join's
// expressions: of the left columns followed by the right ones). A scan keeps the table's
// ordinals stable through projection pruning: a pruned column is simply absent (nil)
// from the batches, so scan, detect and filter share one ordinal space.
//
//	scanNode    leaf: a table (or sys table)
//	detectNode  a ruleset over its input; appends the rule columns
//	filterNode  keeps the rows where a predicate is TRUE
//	projectNode computes new columns
//	aggregateNode  GROUP BY keys and aggregates (phase: single, partial, final); also
//	            DISTINCT (keys only)
//	sortNode    ORDER BY, optionally keeping only the first limit rows (top-N)
//	limitNode   OFFSET / LIMIT
//	joinNode    inner/left hash join on equi-keys, with a residual predicate
//	unionNode   UNION ALL
//	valuesNode  one row without columns (SELECT without FROM)
//	exchangeNode  a fragment boundary: its input runs as a separate fragment, in
//	            parallel workers, and the exchange gathers their output

// logicalNode is a node of the logical plan.
type logicalNode interface {
	// explain writes the node's one-line description (without indentation).
	explain() string
	// inputs returns the input nodes (none for a leaf).
	inputs() []logicalNode
	// columns returns the relation the node produces.
	columns() []relColumn
}

// relColumn is a column of a relation.
type relColumn struct {
	name string
	typ  arrow.DataType
}

// scanNode reads a table. columns lists the ordinals to read after pruning (nil: all).
type scanNode struct {
	table     Table
	tableName string
	schema    string
	cols      []relColumn // every column of the table, by ordinal
	columns_  []int
	// pushed are the filter conjuncts offered to the storage scan (it may use them to
	// skip data; the filter above still applies them), timeRange the bounds on the
	// table's time column derived from them.
	pushed    []string
	scanHints ScanHints
}

func (n *scanNode) inputs() []logicalNode { return nil }
func (n *scanNode) columns() []relColumn  { return n.cols }
func (n *scanNode) explain() string {
	name := n.tableName
	if n.schema != "" {
		name = n.schema + "." + name
	}
	cols := "all"
	if n.columns_ != nil {
		names := make([]string, len(n.columns_))
		for i, c := range n.columns_ {
			names[i] = sqlIdent(n.cols[c].name)
		}
		cols = "[" + strings.Join(names, ", ") + "]"
	}
	s := fmt.Sprintf("Scan table=%s columns=%s", sqlIdent(name), cols)
	if len(n.pushed) > 0 {
		s += " pushed=[" + strings.Join(n.pushed, " AND ") + "]"
	}
	if n.scanHints.Limit > 0 {
		s += fmt.Sprintf(" limit=%d", n.scanHints.Limit)
	}
	return s
}

// detectNode runs a ruleset over its input and emits one row per (row, matching rule),
// the input's columns followed by the rule metadata columns.
type detectNode struct {
	input   logicalNode
	ruleset *sigmaql.Ruleset // after pruning
	// totalRules is the size of the ruleset before pruning; prunedBy lists the
	// predicates that pruned it.
	totalRules int
	prunedBy   []string
	// tableCols is the number of table columns; rule columns follow them.
	tableCols int
	// needed lists the table columns consumers read (set by projection pruning; nil:
	// all): detect gathers only those at the matched rows.
	needed map[int]bool
}

func (n *detectNode) inputs() []logicalNode { return []logicalNode{n.input} }
func (n *detectNode) columns() []relColumn {
	return append(append([]relColumn(nil), n.input.columns()...), ruleColumns()...)
}
func (n *detectNode) explain() string {
	s := fmt.Sprintf("Detect ruleset=%s rules=%d/%d", sqlString(n.ruleset.Name), len(n.ruleset.Rules), n.totalRules)
	if len(n.prunedBy) > 0 {
		s += " pruned-by=[" + strings.Join(n.prunedBy, " AND ") + "]"
	}
	return s + " adds=[rule_id, rule_title, rule_level, rule_tags]"
}

// filterNode keeps the rows for which pred is TRUE.
type filterNode struct {
	input logicalNode
	pred  predicate
}

func (n *filterNode) inputs() []logicalNode { return []logicalNode{n.input} }
func (n *filterNode) columns() []relColumn  { return n.input.columns() }
func (n *filterNode) explain() string       { return "Filter " + n.pred.String() }

// projectNode computes the output columns.
type projectNode struct {
	input logicalNode
	exprs []expr
	names []string
}

func (n *projectNode) inputs() []logicalNode { return []logicalNode{n.input} }
func (n *projectNode) columns() []relColumn {
	cols := make([]relColumn, len(n.exprs))
	for i, e := range n.exprs {
		cols[i] = relColumn{name: n.names[i], typ: e.dataType()}
	}
	return cols
}
func (n *projectNode) explain() string {
	parts := make([]string, len(n.exprs))
	for i, e := range n.exprs {
		parts[i] = e.String()
		if c, ok := e.(*colRef); !ok || c.name != n.names[i] {
			parts[i] += " AS " + sqlIdent(n.names[i])
		}
	}
	return "Project [" + strings.Join(parts, ", ") + "]"
}

// aggPhase says which part of a split aggregation a node computes.
type aggPhase uint8

const (
	aggSingle  aggPhase = iota // the whole aggregation
	aggPartial                 // per-fragment states
	aggFinal                   // merges states
)

// aggregateNode groups its input by keys and computes aggs per group; its output is the
// keys followed by the aggregates. Without keys it emits exactly one row.
type aggregateNode struct {
	input    logicalNode
	keys     []expr
	keyNames []string
	aggs     []aggCall
	names    []string
	phase    aggPhase
	distinct bool // SELECT DISTINCT (for explain)
}

func (n *aggregateNode) inputs() []logicalNode { return []logicalNode{n.input} }
func (n *aggregateNode) columns() []relColumn {
	cols := make([]relColumn, 0, len(n.keys)+len(n.aggs))
	for i, k := range n.keys {
		cols = append(cols, relColumn{name: n.keyNames[i], typ: canonicalType(k.dataType())})
	}
	for i, a := range n.aggs {
		cols = append(cols, relColumn{name: n.names[i], typ: a.typ})
	}
	return cols
}
func (n *aggregateNode) explain() string {
	name := "Aggregate"
	if n.distinct {
		name = "Distinct"
	}
	switch n.phase {
	case aggPartial:
		name += " partial"
	case aggFinal:
		name += " final"
	}
	keys := make([]string, len(n.keys))
	for i, k := range n.keys {
		keys[i] = k.String()
	}
	parts := make([]string, len(n.aggs))
	for i, a := range n.aggs {
		parts[i] = a.String()
		if a.String() != n.names[i] {
			parts[i] += " AS " + sqlIdent(n.names[i])
		}
	}
	s := name
	if len(keys) > 0 {
		s += " keys=[" + strings.Join(keys, ", ") + "]"
	}
	if len(parts) > 0 || len(keys) == 0 {
		s += " aggs=[" + strings.Join(parts, ", ") + "]"
	}
	return s
}

// sortKey is one ORDER BY key over the input's columns.
type sortKey struct {
	e          expr
	desc       bool
	nullsFirst bool
}

func (k sortKey) String() string {
	s := k.e.String()
	if k.desc {
		s += " DESC"
	}
	if k.nullsFirst {
		s += " NULLS FIRST"
	} else {
		s += " NULLS LAST"
	}
	return s
}

// sortNode orders its input; limit >= 0 keeps only the first limit rows (top-N).
type sortNode struct {
	input logicalNode
	keys  []sortKey
	limit int64
}

func (n *sortNode) inputs() []logicalNode { return []logicalNode{n.input} }
func (n *sortNode) columns() []relColumn  { return n.input.columns() }
func (n *sortNode) explain() string {
	parts := make([]string, len(n.keys))
	for i, k := range n.keys {
		parts[i] = k.String()
	}
	if n.limit >= 0 {
		return fmt.Sprintf("TopN limit=%d [%s]", n.limit, strings.Join(parts, ", "))
	}
	return "Sort [" + strings.Join(parts, ", ") + "]"
}

// limitNode skips offset rows and then passes at most count (-1: unlimited).
type limitNode struct {
	input         logicalNode
	count, offset int64
}

func (n *limitNode) inputs() []logicalNode { return []logicalNode{n.input} }
func (n *limitNode) columns() []relColumn  { return n.input.columns() }
func (n *limitNode) explain() string {
	if n.count < 0 {
		return fmt.Sprintf("Limit offset=%d", n.offset)
	}
	return fmt.Sprintf("Limit count=%d offset=%d", n.count, n.offset)
}

// joinKind is the kind of a join.
type joinKind uint8

const (
	joinInner joinKind = iota
	joinLeft
	// joinSemi keeps the left rows with a match (x IN (subquery)); joinAnti keeps the
	// left rows for which x NOT IN (subquery) is TRUE. Both output the left columns only.
	joinSemi
	joinAnti
)

// joinNode joins left and right on lkeys[i] = rkeys[i] (over each side's columns; none:
// a cross join) and the residual predicate over the combined row (left then right
// columns). A left join emits unmatched left rows with NULL right columns.
type joinNode struct {
	left, right  logicalNode
	kind         joinKind
	lkeys, rkeys []expr
	residual     predicate // nil: none
}

func (n *joinNode) inputs() []logicalNode { return []logicalNode{n.left, n.right} }
func (n *joinNode) columns() []relColumn {
	if n.kind == joinSemi || n.kind == joinAnti {
		return n.left.columns()
	}
	return append(append([]relColumn(nil), n.left.columns()...), n.right.columns()...)
}
func (n *joinNode) explain() string {
	kind := [...]string{joinInner: "inner", joinLeft: "left", joinSemi: "semi", joinAnti: "anti (NOT IN)"}[n.kind]
	var conds []string
	for i := range n.lkeys {
		conds = append(conds, "left."+n.lkeys[i].String()+" = right."+n.rkeys[i].String())
	}
	s := "HashJoin " + kind + " on=[" + strings.Join(conds, ", ") + "]"
	if n.residual != nil {
		s += " residual=" + n.residual.String()
	}
	return s
}

// unionNode concatenates its inputs (UNION ALL); cols are the unified columns.
type unionNode struct {
	ins  []logicalNode
	cols []relColumn
}

func (n *unionNode) inputs() []logicalNode { return n.ins }
func (n *unionNode) columns() []relColumn  { return n.cols }
func (n *unionNode) explain() string       { return "UnionAll" }

// valuesNode produces one row without columns.
type valuesNode struct{}

func (n *valuesNode) inputs() []logicalNode { return nil }
func (n *valuesNode) columns() []relColumn  { return nil }
func (n *valuesNode) explain() string       { return "Values rows=1" }

// exchangeNode marks a fragment boundary: its input subtree is a fragment run by
// workers in parallel (each pulling batches from the shared leaf scan); the exchange
// gathers their batches, in scan order when ordered is set.
type exchangeNode struct {
	input    logicalNode
	fragment int
	ordered  bool
}

func (n *exchangeNode) inputs() []logicalNode { return []logicalNode{n.input} }
func (n *exchangeNode) columns() []relColumn  { return n.input.columns() }
func (n *exchangeNode) explain() string {
	mode := "gather"
	if n.ordered {
		mode = "gather ordered"
	}
	return fmt.Sprintf("Exchange %s from fragment %d", mode, n.fragment)
}

// explainPlan renders the plan root first, each input indented below its consumer;
// an exchange's input starts a new fragment, marked by a header line.
func explainPlan(root logicalNode, stats map[logicalNode]*opStats) string {
	var b strings.Builder
	b.WriteString("Fragment 0 (root)\n")
	var walk func(n logicalNode, depth int)
	walk = func(n logicalNode, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(n.explain())
		if st := stats[n]; st != nil {
			b.WriteString(st.String())
		}
		b.WriteByte('\n')
		if x, ok := n.(*exchangeNode); ok {
			b.WriteString(strings.Repeat("  ", depth+1))
			kind := "leaf, in scan order"
			if x.parallel() {
				kind = "leaf, parallel"
			}
			fmt.Fprintf(&b, "Fragment %d (%s)\n", x.fragment, kind)
		}
		for _, in := range n.inputs() {
			walk(in, depth+1)
		}
	}
	walk(root, 0)
	return b.String()
}

// canonicalType is the type a value of dt has once computed (vec kinds).
func canonicalType(dt arrow.DataType) arrow.DataType {
	return kindType[kindOf(dt)]
}

// parallel reports whether the fragment may run in several workers (its consumer does
// not depend on row order).
func (n *exchangeNode) parallel() bool { return !n.ordered }
