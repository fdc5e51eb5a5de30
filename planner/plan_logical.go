package planner

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// The logical plan is a chain of nodes, leaf first in execution order:
//
//	scanNode -> [detectNode] -> [filterNode] -> projectNode | aggregateNode -> [limitNode]
//
// Column references in expressions hold ordinals of the relation produced by the scan
// (and detect, which appends its rule columns after the table's), and those ordinals
// stay stable through projection pruning: a pruned column is simply absent (nil) from
// the batches. Project and aggregate start a new ordinal space, their outputs.

// logicalNode is a node of the logical plan.
type logicalNode interface {
	// explain writes the node's one-line description (without indentation).
	explain() string
	// child returns the input node, or nil for a leaf.
	child() logicalNode
}

// relColumn is a column of the scanned relation.
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
	columns   []int
}

func (n *scanNode) child() logicalNode { return nil }
func (n *scanNode) explain() string {
	name := n.tableName
	if n.schema != "" {
		name = n.schema + "." + name
	}
	cols := "all"
	if n.columns != nil {
		names := make([]string, len(n.columns))
		for i, c := range n.columns {
			names[i] = sqlIdent(n.cols[c].name)
		}
		cols = "[" + strings.Join(names, ", ") + "]"
	}
	return fmt.Sprintf("Scan table=%s columns=%s", sqlIdent(name), cols)
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
}

func (n *detectNode) child() logicalNode { return n.input }
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

func (n *filterNode) child() logicalNode { return n.input }
func (n *filterNode) explain() string    { return "Filter " + n.pred.String() }

// projectNode computes the output columns.
type projectNode struct {
	input logicalNode
	exprs []expr
	names []string
}

func (n *projectNode) child() logicalNode { return n.input }
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

// aggCall is count(*) (arg nil) or count(arg).
type aggCall struct {
	arg *colRef
}

func (a aggCall) String() string {
	if a.arg == nil {
		return "count(*)"
	}
	return "count(" + a.arg.String() + ")"
}

// aggregateNode computes aggregates over its whole input (no GROUP BY yet) and emits
// exactly one row.
type aggregateNode struct {
	input logicalNode
	aggs  []aggCall
	names []string
}

func (n *aggregateNode) child() logicalNode { return n.input }
func (n *aggregateNode) explain() string {
	parts := make([]string, len(n.aggs))
	for i, a := range n.aggs {
		parts[i] = a.String()
		if a.String() != n.names[i] {
			parts[i] += " AS " + sqlIdent(n.names[i])
		}
	}
	return "Aggregate [" + strings.Join(parts, ", ") + "]"
}

// limitNode skips offset rows and then passes at most count (-1: unlimited).
type limitNode struct {
	input         logicalNode
	count, offset int64
}

func (n *limitNode) child() logicalNode { return n.input }
func (n *limitNode) explain() string {
	if n.count < 0 {
		return fmt.Sprintf("Limit offset=%d", n.offset)
	}
	return fmt.Sprintf("Limit count=%d offset=%d", n.count, n.offset)
}

// explainPlan renders the plan root first, each input indented below its consumer.
func explainPlan(root logicalNode) string {
	var b strings.Builder
	depth := 0
	for n := root; n != nil; n = n.child() {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(n.explain())
		b.WriteByte('\n')
		depth++
	}
	return b.String()
}
