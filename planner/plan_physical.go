package planner

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// buildOperators turns the logical plan into a fresh operator tree (one per Execute),
// each operator wrapped in a guard that turns panics into errors.
func buildOperators(root logicalNode, mem memory.Allocator) (operator, error) {
	var chain []logicalNode
	for n := root; n != nil; n = n.child() {
		chain = append(chain, n)
	}
	var op operator
	width := 0
	var names []string
	for i := len(chain) - 1; i >= 0; i-- {
		switch n := chain[i].(type) {
		case *scanNode:
			width = len(n.cols)
			if _, ok := chain[max(i-1, 0)].(*detectNode); ok && i > 0 {
				width += len(ruleColumns())
			}
			for _, c := range n.cols {
				names = append(names, c.name)
			}
			op = &guard{name: "scan", op: &scanOp{mem: mem, table: n.table, cols: n.cols, width: width, columns: n.columns}}
		case *detectNode:
			op = &guard{name: "detect", op: &detectOp{mem: mem, input: op, ruleset: n.ruleset, names: names,
				tableCols: n.tableCols, width: width}}
		case *filterNode:
			op = &guard{name: "filter", op: &filterOp{input: op, pred: n.pred}}
		case *projectNode:
			op = &guard{name: "project", op: &projectOp{mem: mem, input: op, exprs: n.exprs}}
		case *aggregateNode:
			op = &guard{name: "aggregate", op: &aggregateOp{mem: mem, input: op, aggs: n.aggs}}
		case *limitNode:
			op = &guard{name: "limit", op: &limitOp{input: op, count: n.count, offset: n.offset}}
		default:
			return nil, fmt.Errorf("BUG: no operator for %T", n)
		}
	}
	return op, nil
}
